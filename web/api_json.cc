#include "web/api_json.h"

#include <charconv>
#include <cmath>

namespace tidemark::web {

using json = nlohmann::ordered_json;

json TimeJson(std::optional<Millis> t) {
  if (!t || *t == kNoTime || !InTimeRange(*t)) return nullptr;
  return FormatRfc3339(*t);
}

json WindowJson(const WindowItem& w) {
  json j = {{"pipeline", w.pipeline},     {"device", w.device},
            {"start", TimeJson(w.start)}, {"end", TimeJson(w.end)},
            {"status", w.final ? "final" : "open"}};
  if (w.final) {
    j["closed_by"] = w.closed_by;
    j["closed_at"] = TimeJson(w.closed_at);
  }
  j["records"] = w.records;
  json values = json::parse(w.values_json, nullptr, /*allow_exceptions=*/false);
  j["values"] = values.is_object() ? std::move(values) : json::object();
  return j;
}

json LateJson(const LateItem& l) {
  return {{"pipeline", l.pipeline},
          {"device", l.device},
          {"event_time", TimeJson(l.event_time)},
          {"arrival_time", TimeJson(l.arrival_time)},
          {"watermark", TimeJson(l.watermark)},
          {"window_start", TimeJson(l.window_start)},
          {"window_end", TimeJson(l.window_end)}};
}

json RejectedJson(const RejectedItem& r) {
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
  json schema = json::array({{{"name", "window"}, {"type", "struct<start:timestamp,end:timestamp>"}},
                             {{"name", "device"}, {"type", "string"}}});
  for (const AggregateSpec& a : spec.aggregates) {
    aggregates[a.alias] = a.Expression();
    schema.push_back({{"name", a.alias}, {"type", std::string(a.OutputType())}, {"nullable", a.fn != AggregateFn::kCount && a.fn != AggregateFn::kCountField}});
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

std::string ValuesJsonText(const PipelineSpec& spec, const std::vector<std::optional<double>>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size() && i < spec.aggregates.size(); ++i) {
    if (i) out += ',';
    out += json(spec.aggregates[i].alias).dump() + ':';
    if (!v[i] || !std::isfinite(*v[i])) {
      out += "null";
      continue;
    }
    char buf[32];
    auto [end, ec] = spec.aggregates[i].OutputType() == "long"
                         ? std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(*v[i]))
                         : std::to_chars(buf, buf + sizeof buf, *v[i]);
    out.append(buf, end);
  }
  return out + "}";
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
  return key;
}

}  // namespace tidemark::web
