// Config: the gateway's configuration, loaded from TOML (toml++) — the public contract of
// docs/OPERATING.md "Configuration reference" (keys as written; more are welcome). Every error
// names the source, line and key, e.g. `tidemark.toml:14: pipeline[0].window: invalid duration "10
// parsecs": ...`. Pure values and free functions: safe from any thread; main() loads it once at
// start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pipeline.h"
#include "engine/status.h"
#include "engine/time.h"
#include "storage/sqlite.h"
#include "storage/store_options.h"
#include "web/server_options.h"

namespace tidemark {

struct MqttConfig {
  std::string broker = "tcp://127.0.0.1:1883";  // tcp://, ssl://, mqtt://, mqtts://, ws://, wss://
  std::string client_id = "tidemark";
  std::vector<std::string> topics = {"devices/+/telemetry"};
  int qos = 1;      // 0 or 1 (1: at-least-once, the durable path)
  int version = 4;  // MQTT protocol: 4 = 3.1.1, 5 = 5.0 (config: "3.1.1" or "5")
  std::string username;
  std::string password;
  std::string ca_file;    // TLS: trust store for ssl:// brokers
  std::string cert_file;  // TLS client certificate
  std::string key_file;   // TLS client key
  Millis keep_alive = 30 * kSecond;
  Millis session_expiry = 7 * kDay;  // MQTT 5 session expiry interval
  Millis reconnect_min = 1 * kSecond;
  Millis reconnect_max = 30 * kSecond;
  friend bool operator==(const MqttConfig&, const MqttConfig&) = default;
};

struct InputConfig {
  std::string device = "deviceId";  // payload field (dotted path) or "topic[N]"
  std::string event_time = "eventTime";
  Millis max_future_skew = 5 * kMinute;
  std::size_t max_payload_bytes = 64 * 1024;  // larger payloads are rejected: too_large
  friend bool operator==(const InputConfig&, const InputConfig&) = default;
};

// [storage]: StoreOptions' keys (their defaults are StoreOptions'), the file's path and size
// cap as the TOML spells them, and retention (Ingest's).
struct StorageConfig {
  std::string path = "/var/lib/tidemark/tidemark.db";
  sqlite::Synchronous synchronous = StoreOptions{}.synchronous;
  Millis retention = 7 * kDay;  // final windows are deleted this long after their closed_at
  Millis checkpoint_interval = StoreOptions{}.checkpoint_interval;
  std::int64_t checkpoint_records = StoreOptions{}.checkpoint_records;
  std::int64_t late_log_max = StoreOptions{}.late_log_max;
  std::int64_t max_size_mb = 0;  // cap on the database size (PRAGMA max_page_count); 0 = none
  std::int64_t rejected_max = StoreOptions{}.rejected_max;
  friend bool operator==(const StorageConfig&, const StorageConfig&) = default;
};

// [http]: the listen address and token file as the TOML spells them; the rest are
// web::ServerOptions' keys, with its defaults.
struct HttpConfig {
  std::string listen = "127.0.0.1:8080";  // "" disables the HTTP server
  std::string token_file;
  std::string cert_file;
  std::string key_file;
  std::int64_t threads = web::ServerOptions{}.threads;  // HTTP workers for ordinary requests
  std::int64_t max_streams = web::ServerOptions{}.max_streams;  // concurrent SSE streams
  std::vector<std::string> allowed_hosts;  // Host names served besides loopback (no token)
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

// [output]: final windows (and, with `late`, late records) published to an upstream broker at
// QoS 1 from a durable outbox in the database, so an uplink outage loses nothing.
struct OutputConfig {
  bool enabled = false;   // an [output] table is present
  MqttConfig connection;  // broker, client_id ("tidemark-uplink"), credentials, TLS; topics unused
  std::string topic = "tidemark/{pipeline}/{device}";  // {pipeline}, {device} are replaced
  bool late = false;
  std::string late_topic = "tidemark/{pipeline}/{device}/late";
  std::int64_t max_inflight = 100;  // QoS 1 messages awaiting PUBACK
  friend bool operator==(const OutputConfig&, const OutputConfig&) = default;
};

struct Config {
  MqttConfig mqtt;
  InputConfig input;
  StorageConfig storage;
  HttpConfig http;
  OutputConfig output;
  std::vector<PipelineSpec> pipelines;  // each passed ValidatePipeline()
};

// Parses TOML text. `source` names it in errors (usually the file path). Unknown keys are
// errors. Pipeline keys left out take PipelineSpec's defaults: watermark "0s", watermark_scope
// "device", idle_timeout "0s" (off), time "event", dedup true; slide/offset/session_gap unset.
StatusOr<Config> ParseConfig(std::string_view text, std::string_view source);
// Reads and parses a file; an unreadable file is an error naming it.
StatusOr<Config> LoadConfig(const std::string& path);
// The commented default configuration (what --print-default-config prints); it parses to the
// defaults above plus the seed pipeline avg_temp_10m.
std::string_view DefaultConfigText();

// Every distinct field the pipelines' aggregates read, in first-seen order (the decoder's list).
std::vector<std::string> FieldsRead(const Config& config);
// True when any pipeline uses event time (time = "event"), i.e. records need an event time.
bool UsesEventTime(const Config& config);
// The StateStore's options for [storage] (the outbox format is the caller's to set).
StoreOptions StoreOptionsOf(const StorageConfig& storage);
// The HTTP server's options for a non-empty, validated http.listen and the rest of [http]
// (the token is the caller's to read from token_file).
web::ServerOptions ServerOptionsOf(const HttpConfig& http);
// True when an http.listen address is on loopback: the only case where no bearer token is
// needed (docs/DESIGN.md §6).
// The host is parsed as an address (127.0.0.0/8, ::1, ::ffff:127.x) or is "localhost";
// "127.example.com" is not loopback.
bool IsLoopbackListen(std::string_view listen);
// Why an http.listen value (as --listen gives it) is not "host:port" with a port 1..65535, or
// nothing when it is (an empty value is valid: no HTTP server).
std::optional<std::string> CheckListenAddress(std::string_view listen);

}  // namespace tidemark
