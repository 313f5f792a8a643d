// Fuzz target: gateway/ingest/decoder.h — one MQTT message (topic + JSON payload) into a Record.
// Input: byte 0 picks the decoder options (bits 0-1 device source: "deviceId", "meta.id",
// "topic[1]", "topic[0]"; bit 2 set: event time not required; bit 3: a 64-byte payload limit;
// bit 4: event time at "t.ms" instead of "eventTime"; bits 5-6: one of four field lists), then
// the topic up to the first '\n', then the payload (everything after it).
// Invariants, beyond "never crashes, never throws":
//  - the decoder (SAX, no DOM) agrees with a reference decode of the same message from
//    nlohmann's DOM parser: the same accept/reject reason, device, event time and fields;
//  - an accepted record's device is 1..256 bytes of valid UTF-8 without control characters
//    (it becomes a JSON string in the API, page tokens and [output] messages), its fields are
//    the configured ones, its payload_hash is HashBytes(payload), and nothing in it points into
//    the caller's topic or payload buffers;
//  - a rejection's detail is non-empty and at most 200 bytes;
//  - decoding is repeatable: the same message again, after another one, gives the same result.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gateway/ingest/decoder.h"
#include "gateway/ingest/message_hash.h"
#include "tests/fuzz/fuzz_check.h"

namespace tidemark {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kFieldLists[] = {
    {"temperature"},
    {"temperature", "humidity", "sensor.temp", "sensor.hum"},
    {"a", "a.b", "a.b.c"},                      // a field that is also the prefix of others
    {"deviceId", "eventTime", "meta.id", "x"},  // fields on the device and time paths
};

DecoderOptions OptionsFor(std::uint8_t flags) {
  DecoderOptions o;
  static constexpr const char* kDevice[] = {"deviceId", "meta.id", "topic[1]", "topic[0]"};
  o.device = kDevice[flags & 3];
  o.require_event_time = (flags & 4) == 0;
  if (flags & 8) o.max_payload_bytes = 64;
  o.event_time = (flags & 16) ? "t.ms" : "eventTime";
  o.fields = kFieldLists[(flags >> 5) & 3];
  return o;
}

// A copy of a decode result that outlives the decoder's buffers.
struct Outcome {
  std::string reason = "accepted";
  std::string device;
  Millis event_time = 0;
  std::vector<std::tuple<std::string, double, bool>> fields;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::string Describe(const Outcome& o) {
  std::string s = o.reason + " device=\"" + o.device + "\" time=" + std::to_string(o.event_time);
  for (const auto& [name, number, is_number] : o.fields) {
    s += " " + name + "=" + (is_number ? std::to_string(number) : std::string("(not a number)"));
  }
  return s;
}

Outcome Copy(const Decoded& d) {
  Outcome o;
  o.device = std::string(d.record.device);
  if (d.rejected) {
    o.reason = std::string(RejectReasonName(*d.rejected));
    return o;  // the record is meaningless except for the device
  }
  o.event_time = d.record.event_time;
  for (const FieldValue& f : d.record.fields) o.fields.emplace_back(f.name, f.number, f.is_number);
  return o;
}

// The value at a dotted path: each segment is a key of an object (the last duplicate wins,
// as in nlohmann's DOM); nullptr when absent.
const json* Lookup(const json& root, std::string_view path) {
  const json* node = &root;
  while (true) {
    const std::size_t dot = path.find('.');
    if (!node->is_object()) return nullptr;
    auto it = node->find(std::string(path.substr(0, dot)));
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string_view::npos) return node;
    path.remove_prefix(dot + 1);
  }
}

// nlohmann's strict serializer refuses invalid UTF-8 (overlong forms and surrogates included).
bool ValidUtf8(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

// The device as the reference reads it: the text, or the rejection reason.
std::optional<std::string> ReferenceDevice(const DecoderOptions& o, std::string_view topic,
                                           const json* root, std::string& reason) {
  std::string device;
  if (o.device.starts_with("topic[")) {
    int level = o.device[6] - '0';
    std::size_t start = 0;
    for (; level > 0; --level) {
      const std::size_t slash = topic.find('/', start);
      if (slash == std::string_view::npos) {
        reason = "missing_device";
        return std::nullopt;
      }
      start = slash + 1;
    }
    device = std::string(topic.substr(start, topic.find('/', start) - start));
    if (device.empty()) {
      reason = "missing_device";
      return std::nullopt;
    }
  } else {
    const json* v = root ? Lookup(*root, o.device) : nullptr;
    if (v == nullptr || v->is_null()) {
      reason = "missing_device";
      return std::nullopt;
    }
    if (v->is_string()) {
      device = v->get<std::string>();
    } else if (v->is_number_integer()) {
      device = v->dump();
    } else {
      reason = "bad_device";
      return std::nullopt;
    }
  }
  bool control = false;
  for (char c : device) control = control || static_cast<unsigned char>(c) < 0x20;
  if (device.empty() || device.size() > o.max_device_bytes || control || !ValidUtf8(device)) {
    reason = "bad_device";
    return std::nullopt;
  }
  return device;
}

Outcome Reference(const DecoderOptions& o, std::string_view topic, std::string_view payload) {
  Outcome out;
  const bool topic_device = o.device.starts_with("topic[");
  auto reject = [&](const char* reason, const json* root) {
    std::string ignored;
    out.reason = reason;
    if (topic_device || root) out.device = ReferenceDevice(o, topic, root, ignored).value_or("");
    return out;
  };
  if (payload.size() > o.max_payload_bytes) return reject("too_large", nullptr);
  const json root = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return reject("not_json", nullptr);
  std::string reason;
  const std::optional<std::string> device = ReferenceDevice(o, topic, &root, reason);
  if (!device) return reject(reason.c_str(), nullptr);
  out.device = *device;

  const json* t = Lookup(root, o.event_time);
  if (t == nullptr || t->is_null()) {
    if (o.require_event_time) return reject("missing_time", &root);
  } else {
    std::optional<Millis> time;
    if (t->is_number()) {
      const StatusOr<Millis> r = EpochNumberToMillis(t->get<double>());
      if (r.ok()) time = *r;
    } else if (t->is_string()) {
      const StatusOr<Millis> r = ParseTimestamp(t->get<std::string>());
      if (r.ok()) time = *r;
    }
    if (time) {
      out.event_time = *time;
    } else if (o.require_event_time) {
      return reject("bad_time", &root);
    }
  }
  for (const std::string& f : o.fields) {
    const json* v = Lookup(root, f);
    if (v == nullptr || v->is_null()) continue;
    if (v->is_number()) {
      out.fields.emplace_back(f, v->get<double>(), true);
    } else {
      out.fields.emplace_back(f, 0, false);
    }
  }
  return out;
}

bool Within(std::string_view inner, std::string_view outer) {
  const auto p = reinterpret_cast<std::uintptr_t>(inner.data());
  const auto begin = reinterpret_cast<std::uintptr_t>(outer.data());
  return !inner.empty() && !outer.empty() && p >= begin && p < begin + outer.size();
}

}  // namespace
}  // namespace tidemark

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidemark;
  if (size == 0) return 0;
  const DecoderOptions options = OptionsFor(data[0]);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t newline = rest.find('\n');
  const std::string_view topic =
      newline == rest.npos ? std::string_view() : rest.substr(0, newline);
  const std::string_view payload = newline == rest.npos ? rest : rest.substr(newline + 1);

  RecordDecoder decoder(options);
  const Decoded& d = decoder.Decode(topic, payload);
  const Outcome got = Copy(d);
  const Outcome want = Reference(options, topic, payload);
  FUZZ_CHECK(got == want, "decoder: " + Describe(got) + "\nreference: " + Describe(want) +
                              "\ndetail: " + d.detail);

  FUZZ_CHECK(!Within(d.record.device, topic) && !Within(d.record.device, payload),
             "the record's device points into the caller's buffers");
  if (d.rejected) {
    FUZZ_CHECK(!d.detail.empty() && d.detail.size() <= 200,
               std::to_string(d.detail.size()) + "-byte detail: " + d.detail);
  } else {
    FUZZ_CHECK(d.detail.empty(), d.detail);
    FUZZ_CHECK(d.record.payload_hash == HashBytes(payload), "payload_hash");
    FUZZ_CHECK(d.record.fields.size() <= options.fields.size(), "too many fields");
    for (const FieldValue& f : d.record.fields) {
      FUZZ_CHECK(!Within(f.name, payload), "a field name points into the payload");
      FUZZ_CHECK(d.record.Find(f.name) == &f, "field listed twice: " + std::string(f.name));
    }
  }

  // Another message in between must leave no trace in the next result.
  const Decoded& other =
      decoder.Decode("devices/dev-7/telemetry",
                     R"({"deviceId":"dev-7","meta":{"id":"dev-7"},"eventTime":1764072240123,)"
                     R"("t":{"ms":1764072240123},"temperature":20.5,"a":{"b":{"c":1}}})");
  if (options.max_payload_bytes >= 1024) {
    FUZZ_CHECK(!other.rejected, "the fixed message was rejected: " + other.detail);
  }
  const Outcome again = Copy(decoder.Decode(topic, payload));
  FUZZ_CHECK(again == got, "first: " + Describe(got) + "\nagain: " + Describe(again));
  return 0;
}
