#include "gateway/config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>

#include "gateway/config/value_checks.h"
#include "web/host_names.h"

namespace tidemark {
namespace {

using namespace config_checks;

using Keys = std::initializer_list<std::string_view>;

// Reads typed values out of toml++ tables and keeps the first error, formatted as
// "<source>:<line>: <key path>: <what>". Readers leave `out` unchanged when the key is absent
// and return the value's node only when it was read successfully (for further checks).
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}
  const std::optional<Error>& error() const { return error_; }

  void Fail(std::uint32_t line, std::string_view path, std::string_view what) {
    if (error_) return;
    error_ = Error{source_ + ":" + std::to_string(std::max<std::uint32_t>(line, 1)) + ": " +
                   std::string(path) + ": " + std::string(what)};
  }
  void Fail(const toml::source_region& at, std::string_view path, std::string_view what) {
    Fail(at.begin.line, path, what);
  }
  void Fail(const toml::node& at, std::string_view path, std::string_view what) {
    Fail(at.source(), path, what);
  }
  // Unknown keys are errors: a typo must not be silently ignored.
  void CheckKeys(const toml::table& t, std::string_view prefix,
                 const std::vector<std::string_view>& known) {
    for (auto&& [key, node] : t) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      std::string what = "unknown key";
      std::size_t best = key.str().size();
      for (std::string_view k : known) {
        const std::size_t d = EditDistance(key.str(), k);
        if (d < best && d * 3 <= k.size()) {
          best = d;
          what = "unknown key (did you mean " + Quote(k) + "?)";
        }
      }
      Fail(key.source(), Join(prefix, key.str()), what);
    }
  }

  // A sub-table such as [mqtt]; nullptr when absent or not a table.
  const toml::table* Table(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n && !n->is_table()) Fail(*n, key, "expected a table ([" + std::string(key) + "])");
    return n ? n->as_table() : nullptr;
  }

  const toml::node* String(const toml::table& t, std::string_view prefix, std::string_view key,
                           std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_string()) return Mismatch(*n, prefix, key, "a string");
    out = n->as_string()->get();
    return n;
  }

  // A string that must pass `check`.
  const toml::node* String(const toml::table& t, std::string_view prefix, std::string_view key,
                           std::string& out, Problem (*check)(std::string_view)) {
    const toml::node* n = String(t, prefix, key, out);
    if (!n) return nullptr;
    if (Problem problem = check(out)) {
      Fail(*n, Join(prefix, key), *problem);
      return nullptr;
    }
    return n;
  }

  const toml::node* Bool(const toml::table& t, std::string_view prefix, std::string_view key,
                         bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_boolean()) return Mismatch(*n, prefix, key, "true or false");
    out = n->as_boolean()->get();
    return n;
  }

  const toml::node* Integer(const toml::table& t, std::string_view prefix, std::string_view key,
                            std::int64_t& out, std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_integer()) return Mismatch(*n, prefix, key, "an integer");
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      const std::string range = max == kInt64Max ? "at least " + std::to_string(min)
                                                 : std::to_string(min) + ".." + std::to_string(max);
      Fail(*n, Join(prefix, key), "must be " + range + ", got " + std::to_string(v));
      return nullptr;
    }
    out = v;
    return n;
  }

  // A duration string ("10 minutes") within [min, max] and a multiple of `unit`.
  const toml::node* Duration(const toml::table& t, std::string_view prefix, std::string_view key,
                             Millis& out, Millis min = 0, Millis max = kInt64Max, Millis unit = 1) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_string()) return Mismatch(*n, prefix, key, "a duration string like \"10 minutes\"");
    StatusOr<Millis> d = ParseDuration(n->as_string()->get());
    std::string what;
    if (!d) {
      what = d.error();
    } else if (*d < min) {
      what = min == 1 ? "must be greater than 0s" : "must be at least " + FormatDuration(min);
    } else if (*d > max) {
      what = "must be at most " + FormatDuration(max);
    } else if (*d % unit != 0) {
      what = "must be a multiple of " + FormatDuration(unit);
    }
    if (!what.empty()) {
      if (d) what += ", got " + Quote(n->as_string()->get());
      Fail(*n, Join(prefix, key), what);
      return nullptr;
    }
    out = *d;
    return n;
  }

  // A string that must be one of `options`; returns its index.
  std::optional<std::size_t> Choice(const toml::table& t, std::string_view prefix,
                                    std::string_view key, Keys options) {
    std::string list;
    for (std::string_view o : options) list += (list.empty() ? "" : " or ") + Quote(o);
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      Mismatch(*n, prefix, key, "a string: " + list);
      return std::nullopt;
    }
    const std::string& v = n->as_string()->get();
    auto it = std::find(options.begin(), options.end(), v);
    if (it != options.end()) return static_cast<std::size_t>(it - options.begin());
    Fail(*n, Join(prefix, key), "must be " + list + ", got " + Quote(v));
    return std::nullopt;
  }

  // Fails when `key` is absent from `t`, pointing at the table's line.
  bool Require(const toml::table& t, std::string_view prefix, std::string_view key,
               std::string_view hint) {
    if (t.contains(key)) return true;
    Fail(t.source(), Join(prefix, key), "missing (required" + std::string(hint) + ")");
    return false;
  }

 private:
  const toml::node* Mismatch(const toml::node& n, std::string_view prefix, std::string_view key,
                             std::string_view expected) {
    Fail(n, Join(prefix, key), "expected " + std::string(expected));
    return nullptr;
  }

  std::string source_;
  std::optional<Error> error_;
};

// "a" and "b" are both set or both empty; otherwise an error at the one that is set.
void RequireTogether(Reader& r, const toml::table& t, std::string_view prefix, std::string_view a,
                     const std::string& a_value, std::string_view b, const std::string& b_value) {
  if (a_value.empty() == b_value.empty()) return;
  auto [set, missing] = a_value.empty() ? std::pair(b, a) : std::pair(a, b);
  r.Fail(*t.get(set), Join(prefix, set), "needs " + Join(prefix, missing) + " too");
}

// An array of strings under `prefix`.`key`, each passing `check`; at least one `at_least_one`
// unless that is empty.
void ReadStrings(Reader& r, const toml::table& t, std::string_view prefix, std::string_view key,
                 std::string_view at_least_one, Problem (*check)(std::string_view),
                 std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return;
  const std::string path = Join(prefix, key);
  const toml::array* a = n->as_array();
  if (!a) return r.Fail(*n, path, "expected an array of strings");
  if (!at_least_one.empty() && a->empty()) {
    return r.Fail(*n, path, "must list at least one " + std::string(at_least_one));
  }
  out.clear();
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    if (!e.is_string()) return r.Fail(e, path, "expected an array of strings");
    out.push_back(e.as_string()->get());
    if (Problem problem = check(out.back())) {
      return r.Fail(e, path + "[" + std::to_string(i) + "]", *problem);
    }
  }
}

// The keys of a broker connection, shared by [mqtt] (the devices' broker) and [output] (the
// upstream broker).
constexpr std::string_view kConnectionKeys[] = {
    "broker",    "client_id", "version",    "username",       "password",      "ca_file",
    "cert_file", "key_file",  "keep_alive", "session_expiry", "reconnect_min", "reconnect_max"};

void ReadConnection(Reader& r, const toml::table& t, std::string_view p, MqttConfig& c) {
  r.String(t, p, "broker", c.broker, CheckBroker);
  r.String(t, p, "client_id", c.client_id, CheckNotEmpty);
  if (auto v = r.Choice(t, p, "version", {"3.1.1", "5"})) c.version = *v == 0 ? 4 : 5;
  r.String(t, p, "username", c.username);
  r.String(t, p, "password", c.password);
  r.String(t, p, "ca_file", c.ca_file);
  r.String(t, p, "cert_file", c.cert_file);
  r.String(t, p, "key_file", c.key_file);
  r.Duration(t, p, "keep_alive", c.keep_alive, 0, 65535 * kSecond, kSecond);
  r.Duration(t, p, "session_expiry", c.session_expiry, 0, 4294967295 * kSecond, kSecond);
  r.Duration(t, p, "reconnect_min", c.reconnect_min, 1, kDay);
  r.Duration(t, p, "reconnect_max", c.reconnect_max, 1, kDay);

  if (!c.password.empty() && c.username.empty()) {
    r.Fail(*t.get("password"), Join(p, "password"), "needs " + Join(p, "username") + " too");
  }
  if (!IsTlsBroker(c.broker)) {
    for (auto [key, value] :
         {std::pair{"ca_file", &c.ca_file}, std::pair{"cert_file", &c.cert_file},
          std::pair{"key_file", &c.key_file}}) {
      if (!value->empty()) {
        r.Fail(*t.get(key), Join(p, key), "only used with ssl://, mqtts:// or wss:// brokers");
      }
    }
  }
  RequireTogether(r, t, p, "cert_file", c.cert_file, "key_file", c.key_file);
  if (c.reconnect_max < c.reconnect_min) {
    const toml::node* n =
        t.contains("reconnect_max") ? t.get("reconnect_max") : t.get("reconnect_min");
    r.Fail(*n, Join(p, "reconnect_max"), "must not be shorter than " + Join(p, "reconnect_min"));
  }
}

std::vector<std::string_view> KeysOf(std::initializer_list<std::string_view> more) {
  std::vector<std::string_view> keys(std::begin(kConnectionKeys), std::end(kConnectionKeys));
  keys.insert(keys.end(), more);
  return keys;
}

void ReadMqtt(Reader& r, const toml::table& t, MqttConfig& c) {
  constexpr std::string_view p = "mqtt";
  r.CheckKeys(t, p, KeysOf({"topics", "qos"}));
  ReadConnection(r, t, p, c);
  ReadStrings(r, t, "mqtt", "topics", "topic filter", CheckTopicFilter, c.topics);
  std::int64_t qos = c.qos;
  if (const toml::node* n =
          r.Integer(t, p, "qos", qos, std::numeric_limits<int64_t>::min(), kInt64Max)) {
    if (qos != 0 && qos != 1) {
      r.Fail(*n, "mqtt.qos",
             "must be 0 or 1, got " + std::to_string(qos) +
                 (qos == 2 ? " (QoS 2 is not supported; QoS 1 plus deduplication is)" : ""));
    }
    c.qos = static_cast<int>(qos);
  }
}

// [output]: final windows (and optionally late records) to an upstream broker.
void ReadOutput(Reader& r, const toml::table& t, OutputConfig& c) {
  constexpr std::string_view p = "output";
  r.CheckKeys(t, p, KeysOf({"topic", "late", "late_topic", "max_inflight"}));
  c.enabled = true;
  c.connection.client_id = "tidemark-uplink";
  if (!t.contains("broker")) {
    r.Fail(t, "output.broker",
           "is required in [output] (the upstream broker), e.g. "
           "broker = \"tcp://central.example:1883\"");
  }
  ReadConnection(r, t, p, c.connection);
  r.String(t, p, "topic", c.topic, CheckOutputTopic);
  r.Bool(t, p, "late", c.late);
  r.String(t, p, "late_topic", c.late_topic, CheckOutputTopic);
  r.Integer(t, p, "max_inflight", c.max_inflight, 1, 65535);
}

void ReadInput(Reader& r, const toml::table& t, InputConfig& c) {
  constexpr std::string_view p = "input";
  r.CheckKeys(t, p, {"device", "event_time", "max_future_skew", "max_payload_bytes"});
  r.String(t, p, "device", c.device, CheckDeviceSource);
  r.String(t, p, "event_time", c.event_time, CheckFieldPath);
  r.Duration(t, p, "max_future_skew", c.max_future_skew);
  std::int64_t bytes = 0;
  if (r.Integer(t, p, "max_payload_bytes", bytes, 1, kMaxMqttPacket)) {
    c.max_payload_bytes = static_cast<std::size_t>(bytes);
  }
}

void ReadStorage(Reader& r, const toml::table& t, StorageConfig& c) {
  constexpr std::string_view p = "storage";
  r.CheckKeys(t, p,
              {"path", "synchronous", "retention", "checkpoint_interval", "checkpoint_records",
               "late_log_max", "rejected_max", "max_size_mb"});
  r.String(t, p, "path", c.path, CheckNotEmpty);
  if (auto v = r.Choice(t, p, "synchronous", {"normal", "full"})) {
    c.synchronous = *v == 0 ? sqlite::Synchronous::kNormal : sqlite::Synchronous::kFull;
  }
  r.Duration(t, p, "retention", c.retention, 1);
  r.Duration(t, p, "checkpoint_interval", c.checkpoint_interval, 1);
  r.Integer(t, p, "checkpoint_records", c.checkpoint_records, 1, kInt64Max);
  r.Integer(t, p, "late_log_max", c.late_log_max, 1, kInt64Max);
  r.Integer(t, p, "max_size_mb", c.max_size_mb, 0, kInt64Max / (1 << 20));
  r.Integer(t, p, "rejected_max", c.rejected_max, 1, kInt64Max);
}

void ReadHttp(Reader& r, const toml::table& t, HttpConfig& c) {
  constexpr std::string_view p = "http";
  r.CheckKeys(
      t, p,
      {"listen", "token_file", "cert_file", "key_file", "threads", "max_streams", "allowed_hosts"});
  ReadStrings(r, t, p, "allowed_hosts", "", CheckHostName, c.allowed_hosts);
  const toml::node* listen = r.String(t, p, "listen", c.listen, CheckListen);
  r.Integer(t, p, "threads", c.threads, 1, 64);
  r.Integer(t, p, "max_streams", c.max_streams, 0, 1024);
  r.String(t, p, "token_file", c.token_file);
  r.String(t, p, "cert_file", c.cert_file);
  r.String(t, p, "key_file", c.key_file);
  RequireTogether(r, t, p, "cert_file", c.cert_file, "key_file", c.key_file);
  if (listen && !c.listen.empty() && !IsLoopbackListen(c.listen) && c.token_file.empty()) {
    r.Fail(*listen, "http.listen",
           "listening on " + Quote(c.listen) + " (not loopback) requires http.token_file");
  }
}

void ReadAggregates(Reader& r, const toml::table& t, const std::string& p,
                    std::vector<AggregateSpec>& out) {
  const std::string path = p + ".aggregates";
  if (!r.Require(t, p, "aggregates", ", e.g. aggregates = { readings = \"count()\" }")) return;
  const toml::node& n = *t.get("aggregates");
  const toml::table* a = n.as_table();
  if (!a) return r.Fail(n, path, "expected a table of alias = \"function(field)\"");
  if (a->empty()) return r.Fail(n, path, "needs at least one aggregate");
  // toml++ tables iterate in key order; results must keep the file's order.
  std::vector<std::pair<const toml::key*, const toml::node*>> items;
  for (auto&& [key, value] : *a) items.emplace_back(&key, &value);
  std::sort(items.begin(), items.end(), [](const auto& x, const auto& y) {
    const toml::source_position &a_pos = x.first->source().begin, &b_pos = y.first->source().begin;
    return std::tie(a_pos.line, a_pos.column) < std::tie(b_pos.line, b_pos.column);
  });
  for (const auto& [key, value] : items) {
    const std::string key_path = path + "." + std::string(key->str());
    if (!value->is_string()) {
      return r.Fail(*value, key_path, "expected a string like \"avg(temperature)\"");
    }
    StatusOr<AggregateSpec> spec = ParseAggregate(key->str(), value->as_string()->get());
    if (!spec) return r.Fail(*value, key_path, spec.error());
    out.push_back(std::move(spec).value());
  }
}

void ReadWindow(Reader& r, const toml::table& t, const std::string& p, WindowSpec& out) {
  const toml::node* window = t.get("window");
  const toml::node* gap = t.get("session_gap");
  if (!window && !gap) {
    return r.Fail(t.source(), p + ".window",
                  "missing: set window (tumbling or sliding) or session_gap (session windows)");
  }
  if (window && gap) {
    return r.Fail(*gap, p + ".session_gap",
                  "not allowed together with window: a pipeline has one or the other");
  }
  if (gap) {
    for (std::string_view key : {"slide", "offset"}) {
      if (const toml::node* n = t.get(key)) {
        return r.Fail(*n, Join(p, key), "only allowed with window, not with session_gap");
      }
    }
    Millis g = 0;
    if (!r.Duration(t, p, "session_gap", g)) return;
    StatusOr<WindowSpec> spec = WindowSpec::Session(g);
    if (!spec) return r.Fail(*gap, p + ".session_gap", spec.error());
    out = *spec;
    return;
  }
  Millis size = 0, offset = 0;
  if (!r.Duration(t, p, "window", size)) return;
  if (StatusOr<WindowSpec> alone = WindowSpec::Tumbling(size); !alone) {
    return r.Fail(*window, p + ".window", alone.error());
  }
  Millis slide = size;
  const toml::node* slide_node = t.get("slide");
  if (slide_node && !r.Duration(t, p, "slide", slide)) return;
  const toml::node* offset_node = t.get("offset");
  if (offset_node && !r.Duration(t, p, "offset", offset)) return;
  if (offset_node && offset >= slide) {
    return r.Fail(*offset_node, p + ".offset",
                  "must be less than the " + std::string(slide_node ? "slide " : "window size ") +
                      FormatDuration(slide) + ", got " + FormatDuration(offset));
  }
  StatusOr<WindowSpec> spec = WindowSpec::Sliding(size, slide, offset);
  if (!spec) return r.Fail(slide_node ? *slide_node : *window, p + ".slide", spec.error());
  out = *spec;
}

PipelineSpec ReadPipeline(Reader& r, const toml::table& t, const std::string& p) {
  r.CheckKeys(t, p,
              {"name", "window", "slide", "offset", "session_gap", "watermark", "watermark_scope",
               "idle_timeout", "time", "dedup", "aggregates"});
  PipelineSpec s;
  if (r.Require(t, p, "name", "")) r.String(t, p, "name", s.name, CheckPipelineName);
  ReadWindow(r, t, p, s.window);
  r.Duration(t, p, "watermark", s.watermark_delay);
  if (auto v = r.Choice(t, p, "watermark_scope", {"device", "global"})) {
    s.scope = *v == 0 ? WatermarkScope::kDevice : WatermarkScope::kGlobal;
  }
  r.Duration(t, p, "idle_timeout", s.idle_timeout);
  if (auto v = r.Choice(t, p, "time", {"event", "processing"})) {
    s.time = *v == 0 ? TimeMode::kEvent : TimeMode::kProcessing;
  }
  r.Bool(t, p, "dedup", s.dedup);
  ReadAggregates(r, t, p, s.aggregates);
  if (!r.error()) {
    if (std::optional<Error> e = ValidatePipeline(s)) r.Fail(t.source(), p, e->message);
  }
  return s;
}

void ReadPipelines(Reader& r, const toml::table& root, std::vector<PipelineSpec>& out) {
  const toml::node* n = root.get("pipeline");
  constexpr std::string_view kNone = "at least one [[pipeline]] is required";
  if (!n) return r.Fail(1, "pipeline", kNone);
  const toml::array* a = n->as_array();
  if (a && a->empty()) return r.Fail(*n, "pipeline", kNone);
  if (!a || !a->is_array_of_tables()) {
    return r.Fail(*n, "pipeline", "expected [[pipeline]] tables");
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string p = "pipeline[" + std::to_string(i) + "]";
    const toml::table& t = *a->get(i)->as_table();
    PipelineSpec spec = ReadPipeline(r, t, p);
    if (r.error()) return;
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j].name == spec.name) {
        return r.Fail(*t.get("name"), p + ".name",
                      "duplicate pipeline name " + Quote(spec.name) + " (also pipeline[" +
                          std::to_string(j) + "])");
      }
    }
    out.push_back(std::move(spec));
  }
}

StatusOr<Config> FromTable(const toml::table& root, std::string_view source) {
  Reader r(source);
  Config c;
  r.CheckKeys(root, "", {"mqtt", "input", "storage", "http", "output", "pipeline"});
  if (const toml::table* t = r.Table(root, "mqtt")) ReadMqtt(r, *t, c.mqtt);
  if (const toml::table* t = r.Table(root, "input")) ReadInput(r, *t, c.input);
  if (const toml::table* t = r.Table(root, "storage")) ReadStorage(r, *t, c.storage);
  if (const toml::table* t = r.Table(root, "http")) ReadHttp(r, *t, c.http);
  if (const toml::table* t = r.Table(root, "output")) ReadOutput(r, *t, c.output);
  ReadPipelines(r, root, c.pipelines);
  if (r.error()) return *r.error();
  return c;
}

}  // namespace

StatusOr<Config> ParseConfig(std::string_view text, std::string_view source) {
  try {
    const toml::table root = toml::parse(text, source);
    return FromTable(root, source);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return Error{std::string(source) + ":" + std::to_string(at.line) + ":" +
                 std::to_string(at.column) + ": " + std::string(e.description())};
  } catch (const std::exception& e) {
    return Error{std::string(source) + ": " + e.what()};
  }
}

StatusOr<Config> LoadConfig(const std::string& path) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return Error{path + ": is a directory"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{path + ": cannot open: " + std::generic_category().message(errno)};
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) return Error{path + ": cannot read"};
    return ParseConfig(text, path);
  } catch (const std::exception& e) {
    return Error{path + ": " + e.what()};
  }
}

std::vector<std::string> FieldsRead(const Config& config) { return FieldsRead(config.pipelines); }

bool UsesEventTime(const Config& config) { return UsesEventTime(config.pipelines); }

StoreOptions StoreOptionsOf(const StorageConfig& storage) {
  StoreOptions s;
  s.path = storage.path;
  s.synchronous = storage.synchronous;
  s.checkpoint_interval = storage.checkpoint_interval;
  s.checkpoint_records = storage.checkpoint_records;
  s.late_log_max = storage.late_log_max;
  s.rejected_max = storage.rejected_max;
  s.max_bytes = storage.max_size_mb * (std::int64_t{1} << 20);
  return s;
}

web::ServerOptions ServerOptionsOf(const HttpConfig& http) {
  web::ServerOptions o;
  o.host = web::HostPart(http.listen);
  if (o.host == "localhost") o.host = "127.0.0.1";
  o.port = std::stoi(http.listen.substr(http.listen.rfind(':') + 1));
  o.cert_file = http.cert_file;
  o.key_file = http.key_file;
  o.threads = static_cast<int>(http.threads);
  o.max_streams = static_cast<int>(http.max_streams);
  o.allowed_hosts = http.allowed_hosts;
  return o;
}

bool IsLoopbackListen(std::string_view listen) {
  return web::IsLoopbackHost(web::HostPart(listen));
}

std::optional<std::string> CheckListenAddress(std::string_view listen) {
  return config_checks::CheckListen(listen);
}

}  // namespace tidemark
