#include "web/api_json.h"

#include <charconv>
#include <cmath>

namespace tidemark::web {

using json = nlohmann::ordered_json;

json TimeJson(std::optional<Millis> t) {
  if (!t || *t == kNoTime || !InTimeRange(*t)) return nullptr;
  return FormatRfc3339(*t);
}

namespace {

// A JSON string literal; invalid UTF-8 becomes U+FFFD.
void AppendString(std::string& out, std::string_view text) {
  out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

void AppendTime(std::string& out, std::optional<Millis> t) {
  const json j = TimeJson(t);
  out += j.is_null() ? std::string("null") : '"' + j.get<std::string>() + '"';
}

}  // namespace

std::string WindowJsonText(const WindowRow& w) {
  std::string out;
  out.reserve(160 + w.pipeline.size() + w.device.size() + w.values_json.size());
  out += "{\"pipeline\":";
  AppendString(out, w.pipeline);
  out += ",\"device\":";
  AppendString(out, w.device);
  out += ",\"start\":";
  AppendTime(out, w.start);
  out += ",\"end\":";
  AppendTime(out, w.end);
  const bool final = w.status == WindowStatus::kFinal;
  out += final ? ",\"status\":\"final\"" : ",\"status\":\"open\"";
  if (final) {
    out += ",\"closed_by\":";
    AppendString(out, w.closed_by);
    out += ",\"closed_at\":";
    AppendTime(out, w.closed_at);
  }
  out += ",\"records\":" + std::to_string(w.records) + ",\"values\":";
  // values_json is our own object text (engine ValuesJson, via storage/); anything else is {}.
  const bool object =
      w.values_json.size() >= 2 && w.values_json.front() == '{' && w.values_json.back() == '}';
  out += object ? w.values_json : std::string("{}");
  out += '}';
  return out;
}

json LateJson(const LateRow& l) {
  return {{"pipeline", l.pipeline},
          {"device", l.device},
          {"event_time", TimeJson(l.event_time)},
          {"arrival_time", TimeJson(l.arrival_time)},
          {"watermark", TimeJson(l.watermark)},
          {"window_start", TimeJson(l.window_start)},
          {"window_end", TimeJson(l.window_end)}};
}

json RejectedJson(const RejectedRow& r) {
  json j = {{"reason", r.reason},
            {"topic", r.topic},
            {"device", r.device.empty() ? json(nullptr) : json(r.device)},
            {"arrival_time", TimeJson(r.arrival_time)},
            {"detail", r.detail}};
  j["payload"] = r.payload;  // invalid UTF-8 becomes U+FFFD when the reply is dumped
  return j;
}

json PipelineJson(const PipelineSpec& spec) {
  json window;
  switch (spec.window.kind) {
    case WindowKind::kTumbling:
      window = {{"type", "tumbling"}, {"size", FormatDuration(spec.window.size)}};
      break;
    case WindowKind::kSliding:
      window = {{"type", "sliding"},
                {"size", FormatDuration(spec.window.size)},
                {"slide", FormatDuration(spec.window.slide)}};
      break;
    case WindowKind::kSession:
      window = {{"type", "session"}, {"gap", FormatDuration(spec.window.gap)}};
      break;
  }
  if (spec.window.kind != WindowKind::kSession) {
    window["offset"] = FormatDuration(spec.window.offset);
  }
  json aggregates = json::object();
  json schema =
      json::array({{{"name", "window"}, {"type", "struct<start:timestamp,end:timestamp>"}},
                   {{"name", "device"}, {"type", "string"}}});
  for (const AggregateSpec& a : spec.aggregates) {
    aggregates[a.alias] = a.Expression();
    schema.push_back(
        {{"name", a.alias},
         {"type", std::string(a.OutputType())},
         {"nullable", a.fn != AggregateFn::kCount && a.fn != AggregateFn::kCountField}});
  }
  return {{"name", spec.name},
          {"window", window},
          {"watermark", FormatDuration(spec.watermark_delay)},
          {"watermark_scope", spec.scope == WatermarkScope::kGlobal ? "global" : "device"},
          {"idle_timeout", FormatDuration(spec.idle_timeout)},
          {"time", spec.time == TimeMode::kProcessing ? "processing" : "event"},
          {"dedup", spec.dedup},
          {"aggregates", aggregates},
          {"schema", schema}};
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Sextet(char c) {
  for (int i = 0; i < 64; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

std::string EncodePageToken(const json& key) {
  const std::string raw = key.dump();
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : raw) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<json> DecodePageToken(std::string_view token) {
  if (token.empty() || token.size() > 4096) return std::nullopt;
  std::string raw;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : token) {
    const int v = Sextet(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  json key = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!key.is_array() || key.empty()) return std::nullopt;
  // Only the exact text EncodePageToken makes: no other spelling of the same key (spaces,
  // "5.0", "\u0061", padding, stray low bits in the last character).
  if (EncodePageToken(key) != token) return std::nullopt;
  return key;
}

}  // namespace tidemark::web
