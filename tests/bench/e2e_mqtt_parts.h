// Parts of the end-to-end MQTT benchmark (e2e_mqtt_bench.cc): the record stream, a windowed QoS 1
// publisher (Paho C++), the bare-subscriber baseline (run as a child process of the benchmark),
// /proc sampling and latency percentiles. Nothing here asserts; it measures.
// Threads: Publish() starts its own publisher threads and returns when they are done; the rest
// is called from the benchmark's main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::bench {

// Wall-clock microseconds since the epoch (the same clock the gateway stamps arrivals with).
std::int64_t WallMicros();

// CPU (user + sys) and peak RSS of a live process, from /proc/<pid>/stat and /proc/<pid>/status.
struct ProcSample {
  bool ok = false;
  double cpu_seconds = 0;
  std::int64_t hwm_kib = 0;  // VmHWM
};
ProcSample SampleProc(pid_t pid);

// Nearest-rank percentiles of latencies in milliseconds.
struct LatencyStats {
  std::size_t n = 0;
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};
LatencyStats Summarise(std::vector<std::int64_t> values);

// The record stream. Message i goes to device i % devices on devices/dev-NNNN/telemetry with
// {"deviceId":"dev-NNNN","eventTime":<publish wall time, ms>,"temperature":T}; T changes on each
// message of a device, so no two messages of a device are identical (dedup counts every one).
inline constexpr std::string_view kTopicFilter = "devices/+/telemetry";

// Latencies of a saturated run are taken over its last kLatencyTail messages: the gateway trims
// its ingest log to the newest 100,000 entries (storage redelivery_window) at each checkpoint.
inline constexpr std::int64_t kLatencyTail = 100'000;

struct PublishPlan {
  std::string url;
  std::string client_id = "bench-pub";  // publisher k uses "<client_id>-k"
  std::int64_t first = 0;               // index of the first message (continues the stream)
  std::int64_t count = 0;
  int devices = 1000;
  int publishers = 1;  // connections, one thread each; message i goes through i % publishers
  double rate = 0;     // messages/s over all publishers; 0 = as fast as possible
  int window = 1000;   // QoS 1 messages in flight per publisher before waiting for the oldest
};

struct PublishResult {
  bool ok = false;
  std::string error;
  std::int64_t sent = 0;
  std::int64_t start_us = 0;  // wall time of the first publish
  std::int64_t end_us = 0;    // wall time the last PUBACK arrived
  double Rate() const {
    return end_us > start_us
               ? static_cast<double>(sent) * 1e6 / static_cast<double>(end_us - start_us)
               : 0;
  }
};
PublishResult Publish(const PublishPlan& plan);

// Connects with `client_id` and clean_session=true, then disconnects: the broker drops the
// persistent session (and its subscriptions) a finished consumer left behind.
bool PurgeSession(const std::string& url, const std::string& client_id);

// The baseline consumer, run as `<bench> --bare-subscriber URL CLIENT_ID SATURATED PACED`: a Paho
// C++ async_client with clean_session=false that subscribes at QoS 1 and, in the message
// callback, counts and notes arrival - eventTime (the PUBACK follows the callback, as in the
// gateway). Prints "subscribed", "progress <n>", "phase <p> <last_us>", then one "result" line;
// exits on SIGTERM.
int BareSubscriberMain(int argc, char** argv);

}  // namespace tidemark::bench
