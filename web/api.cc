#include "web/api.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <set>

#include "web/api_json.h"
#include "web/reply_cache.h"

namespace tidemark::web {

using json = nlohmann::ordered_json;

namespace {

const char* StatusTitle(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// The checked query parameters of one request.
class Query {
 public:
  Query(const Params& params, std::initializer_list<std::string_view> allowed) : params_(params) {
    for (const auto& [name, value] : params) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Fail("unknown parameter \"" + name + "\"" +
             (list.empty() ? "; this endpoint takes none" : "; allowed: " + list));
        return;
      }
      if (params.count(name) > 1) {
        Fail("parameter \"" + name + "\" is given more than once");
        return;
      }
    }
  }

  bool ok() const { return error_.empty(); }
  Reply error() const { return Problem(400, error_); }

  std::string Text(const std::string& name) const {
    auto it = params_.find(name);
    return it == params_.end() ? std::string() : it->second;
  }
  bool Has(const std::string& name) const { return params_.count(name) > 0; }

  std::optional<Millis> Time(const std::string& name) {
    if (!Has(name)) return std::nullopt;
    StatusOr<Millis> t = ParseTimeParam(Text(name));
    if (!t.ok()) {
      Fail(name + ": " + t.error());
      return std::nullopt;
    }
    return *t;
  }

  int PageSize() {
    if (!Has("page_size")) return 100;
    const std::string text = Text("page_size");
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > kMaxPageSize) {
      Fail("page_size must be an integer from 1 to " + std::to_string(kMaxPageSize) + ", got \"" +
           text + "\"");
      return 100;
    }
    return v;
  }

  // The decoded page_token when it is an array of `kind` followed by `fields` values.
  std::optional<json> Token(std::string_view kind, std::size_t fields) {
    if (!Has("page_token")) return std::nullopt;
    std::optional<json> key = DecodePageToken(Text("page_token"));
    if (!key || key->size() != fields + 1 || !(*key)[0].is_string() || (*key)[0] != kind) {
      Fail("page_token is not a token this endpoint returned (use next_page_token as given)");
      return std::nullopt;
    }
    return key;
  }

  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

 private:
  const Params& params_;
  std::string error_;
};

// A token's integer when an int64 holds it (nlohmann reads integers above INT64_MAX as unsigned;
// converting those would wrap).
std::optional<std::int64_t> TokenInt(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return v.get<std::int64_t>();
}

std::optional<std::int64_t> IdCursor(Query& q, std::string_view kind) {
  std::optional<json> key = q.Token(kind, 1);
  if (!key) return std::nullopt;
  const std::optional<std::int64_t> id = TokenInt((*key)[1]);
  if (!id) {
    q.Fail("page_token is not a token this endpoint returned (use next_page_token as given)");
    return std::nullopt;
  }
  return id;
}

json PageOf(std::string_view field, json items) {
  return json{{std::string(field), std::move(items)}};
}

}  // namespace

Reply Problem(int status, std::string_view detail) {
  json body = {{"type", "about:blank"},
               {"title", StatusTitle(status)},
               {"status", status},
               {"detail", std::string(detail)}};
  return {status, "application/problem+json",
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

Reply JsonReply(const json& body, int status) {
  return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

StatusOr<Millis> ParseTimeParam(std::string_view text) {
  const bool digits = !text.empty() && text.size() <= 20 &&
                      std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(),
                                  [](char c) { return c >= '0' && c <= '9'; }) &&
                      text != "-";
  if (digits) {
    Millis v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size() && InTimeRange(v)) return v;
    return Error{"epoch milliseconds \"" + std::string(text) + "\" are out of range"};
  }
  StatusOr<Millis> t = ParseRfc3339(text);
  if (!t.ok()) {
    return Error{"expected an RFC 3339 time (2026-11-25T12:00:00Z) or epoch milliseconds: " +
                 t.error()};
  }
  return t;
}

Api::Api(std::vector<PipelineSpec> pipelines, ApiData& data)
    : pipelines_(std::move(pipelines)),
      data_(data),
      windows_cache_(std::make_unique<ReplyCache>(kSecond, 256)) {}

Api::~Api() = default;

Reply Api::Windows(const Params& p) const {
  // The query as a key: Params is ordered by name, and repeated names are rejected below. Each
  // name and value is length-prefixed: decoded values may hold '&' and '=', so "a=b&c=d" could
  // otherwise be the key of {a: "b&c=d"} as well as of {a: "b", c: "d"}.
  std::string key;
  for (const auto& [name, value] : p) {
    key += std::to_string(name.size()) + ':' + name + std::to_string(value.size()) + ':' + value;
  }
  if (key.size() <= 4096) {
    if (std::optional<Reply> cached = windows_cache_->Get(key)) return *std::move(cached);
  }
  Reply reply = WindowsUncached(p);
  if (reply.status == 200 && key.size() <= 4096) windows_cache_->Put(key, reply);
  return reply;
}

Reply Api::WindowsUncached(const Params& p) const {
  Query q(p, {"pipeline", "device", "status", "from", "to", "page_size", "page_token"});
  WindowQuery wq;
  wq.pipeline = q.Text("pipeline");
  wq.device = q.Text("device");
  if (q.Has("status")) {
    const std::string status = q.Text("status");
    if (status == "open" || status == "final") {
      wq.status = status == "final" ? WindowStatus::kFinal : WindowStatus::kOpen;
    } else {
      q.Fail("status must be \"open\" or \"final\", got \"" + status + "\"");
    }
  }
  wq.from = q.Time("from");
  wq.to = q.Time("to");
  wq.limit = q.PageSize();
  if (std::optional<json> key = q.Token("w", 4)) {
    const json& k = *key;
    const std::optional<std::int64_t> start = TokenInt(k[3]), end = TokenInt(k[4]);
    if (k[1].is_string() && k[2].is_string() && start && end) {
      wq.after = WindowKey{k[1], k[2], *start, *end};
    } else {
      q.Fail("page_token is not a token this endpoint returned (use next_page_token as given)");
    }
  }
  // A pipeline not in the config is no error: results of a removed pipeline stay queryable.
  if (!q.ok()) return q.error();
  StatusOr<WindowPage> page = data_.Windows(wq);
  if (!page.ok()) return Problem(500, page.error());
  std::string body = "{\"windows\":[";
  for (std::size_t i = 0; i < page->rows.size(); ++i) {
    if (i) body += ',';
    body += WindowJsonText(page->rows[i]);
  }
  body += ']';
  if (page->next) {
    const WindowKey& c = *page->next;
    body += ",\"next_page_token\":\"" +
            EncodePageToken(json::array({"w", c.pipeline, c.device, c.start, c.end})) + '"';
  }
  body += '}';
  return {200, "application/json", std::move(body)};
}

Reply Api::Devices(const Params& p) const {
  Query q(p, {"device", "page_size", "page_token"});
  const int limit = q.PageSize();
  std::optional<std::string> after;
  if (std::optional<json> key = q.Token("d", 1)) {
    if ((*key)[1].is_string()) {
      after = (*key)[1].get<std::string>();
    } else {
      q.Fail("page_token is not a token this endpoint returned (use next_page_token as given)");
    }
  }
  if (!q.ok()) return q.error();
  const std::string only = q.Text("device");
  std::shared_ptr<const LiveView> live = data_.Live();
  json items = json::array();
  const auto& devices = live->devices;
  auto it = devices.begin();
  if (after) {
    it = std::upper_bound(
        devices.begin(), devices.end(), *after,
        [](const std::string& name, const DeviceLive& d) { return name < d.device; });
  }
  std::optional<std::string> next;
  for (; it != devices.end(); ++it) {
    const DeviceLive& d = *it;
    if (!only.empty() && d.device != only) continue;
    if (static_cast<int>(items.size()) == limit) {
      next = items.back()["device"].get<std::string>();
      break;
    }
    json per = json::object();
    for (std::size_t i = 0; i < d.pipelines.size() && i < live->pipelines.size(); ++i) {
      if (!d.pipelines[i]) continue;
      const DevicePipelineLive& dp = *d.pipelines[i];
      per[live->pipelines[i].name] = {{"watermark", TimeJson(dp.watermark)},
                                      {"records", dp.records},
                                      {"late", dp.late},
                                      {"duplicates", dp.duplicates}};
    }
    json lag = nullptr;
    if (d.last_event_time && d.last_arrival_time) lag = *d.last_arrival_time - *d.last_event_time;
    items.push_back({{"device", d.device},
                     {"last_event_time", TimeJson(d.last_event_time)},
                     {"last_arrival_time", TimeJson(d.last_arrival_time)},
                     {"lag_ms", lag},
                     {"records", d.records},
                     {"late", d.late},
                     {"rejected", d.rejected},
                     {"pipelines", per}});
  }
  json body = PageOf("devices", std::move(items));
  if (next) body["next_page_token"] = EncodePageToken(json::array({"d", *next}));
  body["as_of"] = TimeJson(live->taken_at);
  return JsonReply(body);
}

Reply Api::State(const Params& p) const {
  Query q(p, {});
  if (!q.ok()) return q.error();
  std::shared_ptr<const LiveView> live = data_.Live();
  const HealthView health = data_.Health();
  json pipelines = json::array();
  for (const PipelineLive& pl : live->pipelines) {
    pipelines.push_back({{"name", pl.name},
                         {"watermark", TimeJson(pl.watermark)},
                         {"open_windows", pl.open_windows},
                         {"final_windows", pl.counters.finalized},
                         {"state_bytes", pl.state_bytes},
                         {"records", pl.counters.records},
                         {"late", pl.counters.late},
                         {"duplicates", pl.counters.duplicates},
                         {"evicted", pl.counters.evicted}});
  }
  json rejected = json::object();
  std::int64_t rejected_total = 0;
  for (int r = 0; r < kRejectReasonCount; ++r) {
    rejected[std::string(RejectReasonName(static_cast<RejectReason>(r)))] =
        live->rejected[static_cast<std::size_t>(r)];
    rejected_total += live->rejected[static_cast<std::size_t>(r)];
  }
  const HistogramView& h = health.commit_latency;
  const std::optional<std::int64_t> db_bytes = data_.DatabaseBytes();
  json storage = {
      {"db_bytes", db_bytes ? json(*db_bytes) : json(nullptr)},
      {"ok", health.storage_ok},
      {"last_commit", TimeJson(health.last_commit)},
      {"commits", h.count},
      {"commit_latency_ms",
       {{"mean", h.count ? json(h.sum / static_cast<double>(h.count) * 1e3) : json(nullptr)}}},
      {"errors", health.storage_errors}};
  // Percentiles from the histogram: the upper bound of the bucket holding the rank.
  for (const auto& [name, fraction] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
    json value = nullptr;
    if (h.count > 0) {
      const auto rank = static_cast<std::int64_t>(fraction * static_cast<double>(h.count - 1)) + 1;
      std::int64_t seen = 0;
      for (std::size_t i = 0; i < h.counts.size(); ++i) {
        seen += h.counts[i];
        if (seen >= rank) {
          value = i < h.bounds.size() ? json(h.bounds[i] * 1e3) : json(nullptr);
          break;
        }
      }
    }
    storage["commit_latency_ms"][name] = value;
  }
  json body = {{"as_of", TimeJson(live->taken_at)},
               {"records", live->total},
               {"pipelines", pipelines},
               {"rejected", rejected},
               {"rejected_total", rejected_total},
               {"messages", health.messages},
               {"redeliveries", health.redeliveries},
               {"storage", storage},
               {"mqtt", {{"connected", health.mqtt_connected}}},
               {"clock",
                {{"ok", health.clock.ok},
                 {"now", TimeJson(health.clock.now)},
                 {"newest_commit", TimeJson(health.clock.newest_commit)}}}};
  if (health.output) {
    body["output"] = {{"connected", health.output->connected},
                      {"pending", health.output->pending},
                      {"published", health.output->published},
                      {"set_aside", health.output->set_aside}};
  }
  return JsonReply(body);
}

Reply Api::Late(const Params& p) const {
  Query q(p, {"pipeline", "device", "page_size", "page_token"});
  LateQuery lq{q.Text("pipeline"), q.Text("device"), q.PageSize(), IdCursor(q, "l")};
  if (!q.ok()) return q.error();
  StatusOr<LatePage> page = data_.Late(lq);
  if (!page.ok()) return Problem(500, page.error());
  json items = json::array();
  for (const LateRow& l : page->rows) items.push_back(LateJson(l));
  json body = PageOf("late", std::move(items));
  if (page->next) body["next_page_token"] = EncodePageToken(json::array({"l", *page->next}));
  return JsonReply(body);
}

Reply Api::Rejected(const Params& p) const {
  Query q(p, {"reason", "page_size", "page_token"});
  RejectedQuery rq{q.Text("reason"), q.PageSize(), IdCursor(q, "r")};
  if (!rq.reason.empty()) {
    bool known = false;
    std::string names;
    for (int r = 0; r < kRejectReasonCount; ++r) {
      const std::string_view name = RejectReasonName(static_cast<RejectReason>(r));
      known = known || name == rq.reason;
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
    if (!known) q.Fail("reason must be one of " + names + ", got \"" + rq.reason + "\"");
  }
  if (!q.ok()) return q.error();
  StatusOr<RejectedPage> page = data_.Rejected(rq);
  if (!page.ok()) return Problem(500, page.error());
  json items = json::array();
  for (const RejectedRow& r : page->rows) items.push_back(RejectedJson(r));
  json body = PageOf("rejected", std::move(items));
  if (page->next) body["next_page_token"] = EncodePageToken(json::array({"r", *page->next}));
  return JsonReply(body);
}

Reply Api::Pipelines(const Params& p) const {
  Query q(p, {});
  if (!q.ok()) return q.error();
  json items = json::array();
  for (const PipelineSpec& spec : pipelines_) items.push_back(PipelineJson(spec));
  return JsonReply(PageOf("pipelines", std::move(items)));
}

Reply Api::Livez(const Params& p) const {
  Query q(p, {});
  if (!q.ok()) return q.error();
  return {200, "text/plain; charset=utf-8", "ok\n"};
}

Reply Api::Readyz(const Params& p) const {
  Query q(p, {"verbose"});
  if (!q.ok()) return q.error();
  const HealthView h = data_.Health();
  const bool ready = h.storage_ok && h.mqtt_connected && h.clock.ok;
  std::string body;
  if (q.Has("verbose")) {
    body += std::string("[") + (h.storage_ok ? "+" : "-") + "]storage " +
            (h.storage_ok ? "ok" : "failing (commits roll back; ingest stalls)") + "\n";
    body += std::string("[") + (h.mqtt_connected ? "+" : "-") + "]mqtt " +
            (h.mqtt_connected ? "ok" : "not subscribed") + "\n";
    body += h.clock.ok ? std::string("[+]clock ok\n")
                       : "[-]clock behind: " + FormatRfc3339(h.clock.now) +
                             " is earlier than the newest commit " +
                             (h.clock.newest_commit ? FormatRfc3339(*h.clock.newest_commit) : "") +
                             " (messages held unacknowledged)\n";
    body += "[+]http ok\n";
  }
  body += ready ? "ok\n" : "not ready\n";
  return {ready ? 200 : 503, "text/plain; charset=utf-8", body};
}

}  // namespace tidemark::web
