// The commented default configuration: what `tidemark --print-default-config` prints and the
// package installs as /etc/tidemark/tidemark.toml (tests check it parses to the defaults).
#include "gateway/config/config.h"

namespace tidemark {
namespace {

// What --print-default-config prints. Parses to the struct defaults plus the seed pipeline.
constexpr std::string_view kDefaultConfig = R"toml(# tidemark configuration (TOML).
# Durations are strings: "500ms", "30s", "10 minutes", "7 days".
# Unknown keys are errors. Every key below shows its default; commented-out keys are unset.

[mqtt]
broker = "tcp://127.0.0.1:1883"   # tcp://, mqtt://, ws:// or (TLS) ssl://, mqtts://, wss://
client_id = "tidemark"
topics = ["devices/+/telemetry"]  # subscription filters ('+' = one level, '#' = the rest)
qos = 1                           # 0 or 1 (1: at-least-once, the durable path; 2 unsupported)
version = "3.1.1"                 # "3.1.1" or "5"
# username = ""
# password = ""                   # needs username
# ca_file = ""                    # TLS brokers only: trust store
# cert_file = ""                  # TLS client certificate (with key_file)
# key_file = ""                   # TLS client key (with cert_file)
keep_alive = "30s"
session_expiry = "7 days"         # MQTT 5 session expiry interval
reconnect_min = "1s"              # reconnect back-off starts here...
reconnect_max = "30s"             # ...and doubles up to here

[input]
device = "deviceId"               # a payload field (dotted path), or "topic[N]": topic level N
                                  # (0-based; "topic[1]" is "dev7" in "devices/dev7/telemetry")
event_time = "eventTime"          # a payload field: epoch s, epoch ms, or RFC 3339 string
max_future_skew = "5 minutes"     # records further ahead of the gateway clock are rejected
max_payload_bytes = 65536         # larger payloads are rejected

[storage]
path = "/var/lib/tidemark/tidemark.db"
synchronous = "normal"            # or "full" (fsync on every commit)
retention = "7 days"              # final windows are deleted this long after they closed
                                  # (closed_at, the gateway clock), whatever their event time
checkpoint_interval = "10s"
checkpoint_records = 50000        # checkpoint after this many records, or the interval
late_log_max = 100000             # rows kept in the late-data log
rejected_max = 10000              # rejected-record samples kept
max_size_mb = 0                   # cap the database file; 0: no cap. When full, ingest
                                  # stalls without acknowledging (as on a full disk)

[http]
listen = "127.0.0.1:8080"         # "host:port"; "" disables; non-loopback needs token_file
# token_file = ""                 # file holding the bearer token clients must send
# cert_file = ""                  # HTTPS certificate (with key_file)
# key_file = ""                   # HTTPS key (with cert_file)
threads = 4                       # workers for API requests (a bounded pool; 429 when full)
max_streams = 8                   # concurrent /api/v1/stream clients; 429 beyond
allowed_hosts = []                # without token_file, requests must name 127.0.0.1, [::1] or
                                  # localhost in Host (DNS rebinding); add names a proxy uses

# Publish final windows to an upstream broker (EMQX, HiveMQ, a mosquitto bridge; from there
# Kafka, Spark or Flink). Windows wait in a durable outbox in the database until the upstream
# broker acknowledges them (QoS 1), so an uplink outage loses nothing (at-least-once: a window
# may be sent twice around a crash; its pipeline, device and start identify it).
# [output]
# broker = "tcp://central.example:1883"   # required; also ssl:// with ca_file/cert_file/key_file
# client_id = "tidemark-uplink"           # username, password, version, keep_alive as in [mqtt]
# topic = "tidemark/{pipeline}/{device}"  # {pipeline} and {device} are replaced
# late = false                            # also publish late records, to late_topic
# late_topic = "tidemark/{pipeline}/{device}/late"
# max_inflight = 100                      # QoS 1 messages awaiting acknowledgement

# One [[pipeline]] per windowed aggregation; at least one is required. Names appear in URLs:
# letters, digits, '_', '.' and '-'. Keys left out take the default named in the comment.
[[pipeline]]
name = "avg_temp_10m"
window = "10 minutes"             # tumbling windows, unless slide is given
# slide = "5 minutes"             # sliding windows (slide <= window)
# offset = "0s"                   # shifts window starts (less than the slide)
# session_gap = "5 minutes"       # session windows instead of window/slide/offset
watermark = "30 minutes"          # how late records may arrive; default "0s" (no lateness)
watermark_scope = "device"        # "device" (default) or "global"
idle_timeout = "15 minutes"       # close a quiet device's windows; default "0s" (off)
time = "event"                    # "event" (default) or "processing"
dedup = true                      # count identical redelivered records once
aggregates = { avg_temp = "avg(temperature)", max_temp = "max(temperature)", readings = "count()" }
)toml";

}  // namespace

std::string_view DefaultConfigText() { return kDefaultConfig; }

}  // namespace tidemark
