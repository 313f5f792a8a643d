// Fuzz target: the HTTP API's query handling (web/api.h) and page tokens (web/api_json.h),
// without an HTTP server: web::Api's handlers take the decoded query parameters, and the data
// behind them is a fake ApiData that records each query it is asked and answers a page that
// continues from the cursor it was given (so a token goes in, and comes back out as the reply's
// next_page_token).
// Input: a query string: name=value pairs separated by '&' (a pair without '=' has an empty
// value), URL-decoded as the server does (%XX, '+'). The same parameters go to every endpoint;
// the whole input is also decoded as a page token on its own.
// Invariants, beyond "never crashes, never throws":
//  - every reply is 200 or 400 (readyz: 200), JSON replies are valid JSON, a 400 is
//    problem+json with a detail; a parameter the endpoint does not take, or one given twice,
//    is a 400; a 200 reached the data with exactly the page_size, from, to and status given;
//  - a page token the API accepts re-encodes to itself (the data saw the cursor it encodes,
//    and the reply's next_page_token, continuing from it, is the token given), and any token
//    the API hands out is accepted again and decodes to the cursor it was made from;
//  - DecodePageToken(t), when it accepts t, re-encodes to t;
//  - the windows reply cache never answers one query with another's reply.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "web/api.h"
#include "web/api_json.h"

namespace tidemark::web {
namespace {

using json = nlohmann::ordered_json;

const WindowKey kFirstWindowCursor{"pipe-1", "dev-\xE2\x82\xAC", 60000, 120000};
constexpr std::int64_t kFirstId = 42;

class FakeData final : public ApiData {
 public:
  FakeData() {
    live_ = std::make_shared<LiveView>();
    live_->taken_at = 1764072240000;
    live_->pipelines.push_back(PipelineLive{"pipe-1", 1764072000000, 2, 512, {}});
    for (const char* name : {"a", "b", "dev-\xE2\x82\xAC", "z"}) {
      DeviceLive d;
      d.device = name;
      d.records = 3;
      d.last_event_time = 1764072000000;
      d.last_arrival_time = 1764072001000;
      d.pipelines.push_back(DevicePipelineLive{1764072000000, 3, 0, 0});
      live_->devices.push_back(d);
    }
  }

  StatusOr<WindowPage> Windows(const WindowQuery& q) override {
    windows = q;
    WindowPage page;
    // One window that shows the filters it was asked for, so different queries differ.
    page.rows.push_back(WindowRow{q.pipeline, q.device, q.from.value_or(0), q.to.value_or(0),
                                  q.status.value_or(WindowStatus::kOpen), "watermark", q.limit,
                                  q.limit, "{\"n\":1}"});
    page.next = q.after ? *q.after : kFirstWindowCursor;
    return page;
  }
  StatusOr<LatePage> Late(const LateQuery& q) override {
    late = q;
    return LatePage{{}, q.after.value_or(kFirstId)};
  }
  StatusOr<RejectedPage> Rejected(const RejectedQuery& q) override {
    rejected = q;
    return RejectedPage{{}, q.after.value_or(kFirstId)};
  }
  std::optional<std::int64_t> DatabaseBytes() override { return 4096; }
  std::shared_ptr<const LiveView> Live() override { return live_; }
  HealthView Health() override {
    HealthView h;
    h.storage_ok = h.mqtt_connected = true;
    h.commit_latency = {{0.001, 0.01}, {5, 3, 1}, 0.04, 9};
    return h;
  }

  std::optional<WindowQuery> windows;
  std::optional<LateQuery> late;
  std::optional<RejectedQuery> rejected;

 private:
  std::shared_ptr<LiveView> live_;
};

// URL decoding as the HTTP server does it: %XX is a byte, '+' a space; a stray '%' stays.
std::string Decode(std::string_view s) {
  std::string out;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

Params ParseQuery(std::string_view text) {
  Params p;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      p.emplace(Decode(pair.substr(0, eq)),
                eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return p;
}

std::optional<std::string> Get(const Params& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? std::nullopt : std::optional<std::string>(it->second);
}

// Checks the reply's form and returns its body as JSON (null for text replies).
json CheckReply(const Reply& r, const char* endpoint) {
  const std::string where = std::string(endpoint) + " " + std::to_string(r.status) + ": " + r.body;
  FUZZ_CHECK(r.status == 200 || r.status == 400, where);
  if (r.content_type.find("json") == std::string::npos) {
    FUZZ_CHECK(r.status == 200 && r.content_type.starts_with("text/plain"), where);
    return nullptr;
  }
  FUZZ_CHECK(json::accept(r.body), "invalid JSON from " + where);
  json body = json::parse(r.body);
  if (r.status == 400) {
    FUZZ_CHECK(r.content_type == "application/problem+json" && body["status"] == 400 &&
                   body["detail"].is_string() && !body["detail"].get<std::string>().empty(),
               where);
  }
  return body;
}

// The status the parameter names alone allow: 400 for an unknown or a repeated one.
bool NamesOk(const Params& p, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : p) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) return false;
    if (p.count(name) > 1) return false;
  }
  return true;
}

// page_size as the API documents it: an integer 1..1000; 100 when absent.
std::optional<int> ExpectedPageSize(const Params& p) {
  const std::optional<std::string> text = Get(p, "page_size");
  if (!text) return 100;
  std::string_view digits = *text;
  if (digits.starts_with('-')) return std::nullopt;  // never in 1..1000
  if (digits.empty() || digits.find_first_not_of("0123456789") != digits.npos) return {};
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.size() > 4) return std::nullopt;
  const int v = digits.empty() ? 0 : std::stoi(std::string(digits));
  return v >= 1 && v <= kMaxPageSize ? std::optional<int>(v) : std::nullopt;
}

std::optional<Millis> ExpectedTime(const Params& p, const std::string& name, bool& ok) {
  const std::optional<std::string> text = Get(p, name);
  if (!text) return std::nullopt;
  const StatusOr<Millis> t = ParseTimeParam(*text);
  if (!t.ok()) {
    ok = false;
    return std::nullopt;
  }
  FUZZ_CHECK(InTimeRange(*t), *text);
  return *t;
}

std::string NextToken(const json& body) {
  FUZZ_CHECK(body.contains("next_page_token") && body["next_page_token"].is_string(), body.dump());
  return body["next_page_token"].get<std::string>();
}

// /api/v1/windows caches replies for a second: a query that differs from a cached one, but
// spells the same as a query string ("a=b&c=d", split another way), must still get its own
// reply, the one an empty cache gives.
void CheckCache(const Api& warm, const Params& p) {
  std::string text;
  for (const auto& [name, value] : p) text += (text.empty() ? "" : "&") + name + "=" + value;
  const Params other = ParseQuery(text);
  if (other == p) return;
  FakeData data;
  Api cold({}, data);
  const Reply want = cold.Windows(other);
  const Reply got = warm.Windows(other);
  FUZZ_CHECK(
      got.status == want.status && got.body == want.body,
      "query \"" + text + "\": the cache answered " + got.body + "\ninstead of " + want.body);
}

void FuzzWindows(const Params& p) {
  FakeData data;
  Api api({}, data);
  const Reply r = api.Windows(p);
  const json body = CheckReply(r, "windows");
  bool ok = NamesOk(p, {"pipeline", "device", "status", "from", "to", "page_size", "page_token"});
  const std::optional<std::string> status = Get(p, "status");
  ok = ok && (!status || *status == "open" || *status == "final");
  const std::optional<Millis> from = ExpectedTime(p, "from", ok);
  const std::optional<Millis> to = ExpectedTime(p, "to", ok);
  const std::optional<int> page_size = ExpectedPageSize(p);
  ok = ok && page_size.has_value();
  const std::optional<std::string> token = Get(p, "page_token");
  if (r.status == 400) {
    FUZZ_CHECK(!data.windows, "a 400 reached the data");
    FUZZ_CHECK(!ok || token, "400 for a valid query: " + r.body);
    return;
  }
  FUZZ_CHECK(ok && data.windows, "200 for an invalid query");
  const WindowQuery& q = *data.windows;
  FUZZ_CHECK(q.limit == *page_size && q.from == from && q.to == to, "query mismatch");
  FUZZ_CHECK(
      q.pipeline == Get(p, "pipeline").value_or("") && q.device == Get(p, "device").value_or(""),
      "filter mismatch");
  FUZZ_CHECK(
      q.status == (status ? std::optional<WindowStatus>(*status == "final" ? WindowStatus::kFinal
                                                                           : WindowStatus::kOpen)
                          : std::nullopt),
      "status mismatch");
  FUZZ_CHECK(q.after.has_value() == token.has_value(), "page_token lost");
  const std::string next = NextToken(body);
  if (token) FUZZ_CHECK(next == *token, "accepted token " + *token + " re-encodes to " + next);
  CheckCache(api, p);
  const WindowKey made = q.after.value_or(kFirstWindowCursor);
  // A token the API made is accepted and decodes to its cursor.
  Params follow = p;
  follow.erase("page_token");
  follow.emplace("page_token", next);
  FakeData data2;
  Api api2({}, data2);
  const Reply r2 = api2.Windows(follow);
  FUZZ_CHECK(r2.status == 200 && data2.windows && data2.windows->after, r2.body);
  const WindowKey& back = *data2.windows->after;
  FUZZ_CHECK(back.pipeline == made.pipeline && back.device == made.device &&
                 back.start == made.start && back.end == made.end,
             "token " + next + " decodes to another cursor");
}

// Late and rejected pages: an id cursor.
template <typename Query, typename Call>
void FuzzIdPages(const Params& p, const char* endpoint,
                 std::initializer_list<std::string_view> names, bool extra_ok, Call call,
                 std::optional<Query> FakeData::*seen) {
  FakeData data;
  Api api({}, data);
  const Reply r = call(api, p);
  const json body = CheckReply(r, endpoint);
  const std::optional<int> page_size = ExpectedPageSize(p);
  const bool ok = NamesOk(p, names) && page_size && extra_ok;
  const std::optional<std::string> token = Get(p, "page_token");
  if (r.status == 400) {
    FUZZ_CHECK(!(data.*seen), std::string(endpoint) + ": a 400 reached the data");
    FUZZ_CHECK(!ok || token, std::string(endpoint) + ": 400 for a valid query: " + r.body);
    return;
  }
  FUZZ_CHECK(ok && (data.*seen), std::string(endpoint) + ": 200 for an invalid query");
  const Query& q = *(data.*seen);
  FUZZ_CHECK(q.limit == *page_size, "page_size mismatch");
  FUZZ_CHECK(q.after.has_value() == token.has_value(), "page_token lost");
  const std::string next = NextToken(body);
  if (token) FUZZ_CHECK(next == *token, "accepted token " + *token + " re-encodes to " + next);
  Params follow = p;
  follow.erase("page_token");
  follow.emplace("page_token", next);
  FakeData data2;
  Api api2({}, data2);
  const Reply r2 = call(api2, follow);
  FUZZ_CHECK(
      r2.status == 200 && (data2.*seen) && (data2.*seen)->after == q.after.value_or(kFirstId),
      "token " + next + ": " + r2.body);
}

void FuzzDevices(const Params& p) {
  FakeData data;
  Api api({}, data);
  const Reply r = api.Devices(p);
  const json body = CheckReply(r, "devices");
  const bool ok = NamesOk(p, {"device", "page_size", "page_token"}) && ExpectedPageSize(p);
  if (r.status == 400) {
    FUZZ_CHECK(!ok || Get(p, "page_token"), "devices: 400 for a valid query: " + r.body);
    return;
  }
  FUZZ_CHECK(ok, "devices: 200 for an invalid query");
  const json& devices = body["devices"];
  FUZZ_CHECK(devices.is_array() && static_cast<int>(devices.size()) <= *ExpectedPageSize(p),
             body.dump());
  if (!body.contains("next_page_token")) return;
  // The next page starts after the last device of this one.
  FUZZ_CHECK(!devices.empty(), body.dump());
  const std::string last = devices.back()["device"].get<std::string>();
  Params follow = p;
  follow.erase("page_token");
  follow.emplace("page_token", NextToken(body));
  const Reply r2 = api.Devices(follow);
  const json body2 = CheckReply(r2, "devices");
  FUZZ_CHECK(r2.status == 200, r2.body);
  for (const json& d : body2["devices"]) {
    FUZZ_CHECK(d["device"].get<std::string>() > last, "page 2 repeats " + last);
  }
}

void FuzzPlainEndpoints(const Params& p) {
  FakeData data;
  PipelineSpec spec;
  spec.name = "pipe-1";
  spec.window = *WindowSpec::Tumbling(kMinute);
  spec.aggregates.push_back(*ParseAggregate("n", "count()"));
  Api api({spec}, data);
  const bool none = p.empty();
  for (const auto& [name, reply] :
       {std::pair{"state", api.State(p)}, std::pair{"pipelines", api.Pipelines(p)},
        std::pair{"livez", api.Livez(p)}}) {
    CheckReply(reply, name);
    FUZZ_CHECK((reply.status == 200) == none, std::string(name) + ": " + reply.body);
  }
  const Reply ready = api.Readyz(p);
  CheckReply(ready, "readyz");
  FUZZ_CHECK((ready.status == 200) == NamesOk(p, {"verbose"}), ready.body);
}

void FuzzToken(std::string_view token) {
  const std::optional<json> key = DecodePageToken(token);
  if (!key) return;
  FUZZ_CHECK(key->is_array() && !key->empty(), key->dump());
  const std::string again = EncodePageToken(*key);
  FUZZ_CHECK(again == token, "token " + std::string(token) + " re-encodes to " + again);
}

}  // namespace
}  // namespace tidemark::web

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidemark;
  using namespace tidemark::web;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzToken(text);
  const Params p = ParseQuery(text);
  for (const auto& [name, value] : p) FuzzToken(value);
  FuzzWindows(p);
  FuzzIdPages<LateQuery>(
      p, "late", {"pipeline", "device", "page_size", "page_token"}, true,
      [](Api& api, const Params& q) { return api.Late(q); }, &FakeData::late);
  const std::optional<std::string> reason = Get(p, "reason");
  const bool reason_ok =
      !reason || reason->empty() || *reason == "not_json" || *reason == "missing_device" ||
      *reason == "missing_time" || *reason == "bad_time" || *reason == "bad_value" ||
      *reason == "future_time" || *reason == "too_large" || *reason == "bad_device";
  FuzzIdPages<RejectedQuery>(
      p, "rejected", {"reason", "page_size", "page_token"}, reason_ok,
      [](Api& api, const Params& q) { return api.Rejected(q); }, &FakeData::rejected);
  FuzzDevices(p);
  FuzzPlainEndpoints(p);
  return 0;
}
