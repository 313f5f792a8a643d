// Fuzz target: gateway/config/config.h — ParseConfig on arbitrary TOML text (the whole input).
// Invariants, beyond "never crashes, never throws":
//  - an error names the source and a line: "fuzz.toml:<line>:...";
//  - an accepted config is within its documented bounds (qos 0/1, version 4/5, at least one
//    pipeline, each passing ValidatePipeline, unique names, reconnect_min <= reconnect_max...);
//  - an accepted config written back as TOML (every key, durations by FormatDuration, strings
//    escaped here) parses to an equal config — so nothing is read differently the second time
//    and FormatDuration/ParseDuration agree on every duration a config can hold;
//  - the decoder the gateway would build from it (DecoderOptionsOf in gateway/ingest/decoder.h)
//  decodes a
//    typical record without trouble.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "gateway/config/config.h"
#include "gateway/ingest/decoder.h"
#include "tests/fuzz/fuzz_check.h"

namespace tidemark {
namespace {

constexpr std::string_view kSource = "fuzz.toml";

// A TOML basic string: quotes, backslashes and control characters escaped, UTF-8 kept.
std::string Str(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Dur(Millis d) { return Str(FormatDuration(d)); }

void Line(std::string& out, std::string_view key, const std::string& value) {
  out.append(key).append(" = ").append(value).append("\n");
}

void WriteConnection(std::string& out, const MqttConfig& c) {
  Line(out, "broker", Str(c.broker));
  Line(out, "client_id", Str(c.client_id));
  Line(out, "version", Str(c.version == 5 ? "5" : "3.1.1"));
  Line(out, "username", Str(c.username));
  Line(out, "password", Str(c.password));
  Line(out, "ca_file", Str(c.ca_file));
  Line(out, "cert_file", Str(c.cert_file));
  Line(out, "key_file", Str(c.key_file));
  Line(out, "keep_alive", Dur(c.keep_alive));
  Line(out, "session_expiry", Dur(c.session_expiry));
  Line(out, "reconnect_min", Dur(c.reconnect_min));
  Line(out, "reconnect_max", Dur(c.reconnect_max));
}

std::string WriteConfig(const Config& c) {
  std::string out = "[mqtt]\n";
  WriteConnection(out, c.mqtt);
  std::string topics = "[";
  for (const std::string& t : c.mqtt.topics) topics += (topics.size() > 1 ? ", " : "") + Str(t);
  Line(out, "topics", topics + "]");
  Line(out, "qos", std::to_string(c.mqtt.qos));
  out += "\n[input]\n";
  Line(out, "device", Str(c.input.device));
  Line(out, "event_time", Str(c.input.event_time));
  Line(out, "max_future_skew", Dur(c.input.max_future_skew));
  Line(out, "max_payload_bytes", std::to_string(c.input.max_payload_bytes));
  out += "\n[storage]\n";
  Line(out, "path", Str(c.storage.path));
  Line(out, "synchronous",
       Str(c.storage.synchronous == sqlite::Synchronous::kFull ? "full" : "normal"));
  Line(out, "retention", Dur(c.storage.retention));
  Line(out, "checkpoint_interval", Dur(c.storage.checkpoint_interval));
  Line(out, "checkpoint_records", std::to_string(c.storage.checkpoint_records));
  Line(out, "late_log_max", std::to_string(c.storage.late_log_max));
  Line(out, "max_size_mb", std::to_string(c.storage.max_size_mb));
  Line(out, "rejected_max", std::to_string(c.storage.rejected_max));
  out += "\n[http]\n";
  Line(out, "listen", Str(c.http.listen));
  Line(out, "token_file", Str(c.http.token_file));
  Line(out, "cert_file", Str(c.http.cert_file));
  Line(out, "key_file", Str(c.http.key_file));
  Line(out, "threads", std::to_string(c.http.threads));
  Line(out, "max_streams", std::to_string(c.http.max_streams));
  std::string hosts = "[";
  for (const std::string& h : c.http.allowed_hosts)
    hosts += (hosts.size() > 1 ? ", " : "") + Str(h);
  Line(out, "allowed_hosts", hosts + "]");
  if (c.output.enabled) {
    out += "\n[output]\n";
    WriteConnection(out, c.output.connection);
    Line(out, "topic", Str(c.output.topic));
    Line(out, "late", c.output.late ? "true" : "false");
    Line(out, "late_topic", Str(c.output.late_topic));
    Line(out, "max_inflight", std::to_string(c.output.max_inflight));
  }
  for (const PipelineSpec& p : c.pipelines) {
    out += "\n[[pipeline]]\n";
    Line(out, "name", Str(p.name));
    if (p.window.kind == WindowKind::kSession) {
      Line(out, "session_gap", Dur(p.window.gap));
    } else {
      Line(out, "window", Dur(p.window.size));
      if (p.window.kind == WindowKind::kSliding) Line(out, "slide", Dur(p.window.slide));
      Line(out, "offset", Dur(p.window.offset));
    }
    Line(out, "watermark", Dur(p.watermark_delay));
    Line(out, "watermark_scope", Str(p.scope == WatermarkScope::kGlobal ? "global" : "device"));
    Line(out, "idle_timeout", Dur(p.idle_timeout));
    Line(out, "time", Str(p.time == TimeMode::kProcessing ? "processing" : "event"));
    Line(out, "dedup", p.dedup ? "true" : "false");
    std::string aggregates = "{ ";
    for (std::size_t i = 0; i < p.aggregates.size(); ++i) {
      if (i) aggregates += ", ";
      aggregates += Str(p.aggregates[i].alias) + " = " + Str(p.aggregates[i].Expression());
    }
    Line(out, "aggregates", aggregates + " }");
  }
  return out;
}

bool SamePipeline(const PipelineSpec& a, const PipelineSpec& b) {
  if (a.aggregates.size() != b.aggregates.size()) return false;
  for (std::size_t i = 0; i < a.aggregates.size(); ++i) {
    const AggregateSpec &x = a.aggregates[i], &y = b.aggregates[i];
    if (x.alias != y.alias || x.fn != y.fn || x.field != y.field) return false;
  }
  return a.name == b.name && a.window.kind == b.window.kind && a.window.size == b.window.size &&
         a.window.slide == b.window.slide && a.window.offset == b.window.offset &&
         a.window.gap == b.window.gap && a.watermark_delay == b.watermark_delay &&
         a.scope == b.scope && a.idle_timeout == b.idle_timeout && a.time == b.time &&
         a.dedup == b.dedup;
}

bool SameConfig(const Config& a, const Config& b) {
  if (a.pipelines.size() != b.pipelines.size()) return false;
  for (std::size_t i = 0; i < a.pipelines.size(); ++i) {
    if (!SamePipeline(a.pipelines[i], b.pipelines[i])) return false;
  }
  return a.mqtt == b.mqtt && a.input == b.input && a.storage == b.storage && a.http == b.http &&
         a.output == b.output;
}

void CheckBounds(const Config& c, const std::string& text) {
  const MqttConfig& m = c.mqtt;
  FUZZ_CHECK(m.qos == 0 || m.qos == 1, text);
  for (const MqttConfig* conn : {&c.mqtt, &c.output.connection}) {
    FUZZ_CHECK(conn->version == 4 || conn->version == 5, text);
    FUZZ_CHECK(!conn->client_id.empty() && !conn->broker.empty(), text);
    FUZZ_CHECK(conn->keep_alive % kSecond == 0 && conn->session_expiry % kSecond == 0, text);
    FUZZ_CHECK(conn->reconnect_min >= 1 && conn->reconnect_min <= conn->reconnect_max &&
                   conn->reconnect_max <= kDay,
               text);
    FUZZ_CHECK(conn->password.empty() || !conn->username.empty(), text);
  }
  FUZZ_CHECK(!m.topics.empty(), text);
  for (const std::string& t : m.topics) FUZZ_CHECK(!t.empty(), text);
  FUZZ_CHECK(c.input.max_payload_bytes >= 1 && c.input.max_payload_bytes <= 268435455, text);
  FUZZ_CHECK(!c.storage.path.empty() && c.storage.retention > 0, text);
  FUZZ_CHECK(c.http.threads >= 1 && c.http.threads <= 64, text);
  FUZZ_CHECK(c.http.listen.empty() || IsLoopbackListen(c.http.listen) || !c.http.token_file.empty(),
             text);
  FUZZ_CHECK(!c.pipelines.empty(), text);
  for (std::size_t i = 0; i < c.pipelines.size(); ++i) {
    const std::optional<Error> e = ValidatePipeline(c.pipelines[i]);
    FUZZ_CHECK(!e, e ? e->message : "");
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(c.pipelines[i].name != c.pipelines[j].name, "duplicate name");
    }
  }
}

// The decoder the gateway builds from this config.
void CheckDecoder(const Config& c) {
  RecordDecoder decoder(DecoderOptionsOf(c));
  const Decoded& r = decoder.Decode(
      "devices/dev-1/telemetry",
      R"({"deviceId":"dev-1","eventTime":"2026-11-25T12:04:00Z","temperature":21.5})");
  if (!r.rejected) FUZZ_CHECK(!r.record.device.empty(), "accepted without a device");
}

}  // namespace
}  // namespace tidemark

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidemark;
  const std::string text(reinterpret_cast<const char*>(data), size);
  StatusOr<Config> c = ParseConfig(text, kSource);
  if (!c.ok()) {
    const std::string& e = c.error();
    const std::string prefix = std::string(kSource) + ":";
    FUZZ_CHECK(e.starts_with(prefix) && e.size() > prefix.size() && e[prefix.size()] >= '1' &&
                   e[prefix.size()] <= '9',
               "error without a line: " + e);
    return 0;
  }
  CheckBounds(*c, text);
  const std::string written = WriteConfig(*c);
  StatusOr<Config> again = ParseConfig(written, kSource);
  FUZZ_CHECK(again.ok(), "the written config does not parse: " +
                             (again.ok() ? std::string() : again.error()) + "\n" + written);
  FUZZ_CHECK(SameConfig(*c, *again), "the written config parses differently:\n" + written);
  CheckDecoder(*c);
  return 0;
}
