// ApiData: everything the HTTP API reads, as an interface web/ declares and the gateway
// implements (docs/DESIGN.md §4: web never links storage or gateway). Window results, the late log
// and rejected samples (engine/read_model.h, the values storage returns) come from SQLite
// through read-only connections; the live view
// (pipelines, devices, counters) is a snapshot of the engine at most a second old; health is
// atomics.
//
// Threading: HTTP worker threads call every method concurrently; implementations must be
// thread-safe and must never hold the ingest thread up for longer than a snapshot copy.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/read_model.h"
#include "engine/record.h"
#include "engine/snapshot.h"
#include "engine/status.h"
#include "engine/time.h"

namespace tidemark::web {

// The engine, as of `taken_at`.
struct PipelineLive {
  std::string name;
  std::optional<Millis> watermark;  // the pipeline (global) watermark; none before any record
  std::int64_t open_windows = 0;
  std::int64_t state_bytes = 0;
  PipelineCounters counters;
};

struct DevicePipelineLive {
  std::optional<Millis> watermark;  // the device's scope watermark in this pipeline
  std::int64_t records = 0, late = 0, duplicates = 0;
};

struct DeviceLive {
  std::string device;
  std::int64_t records = 0;  // messages with this device id, rejected ones included
  std::int64_t rejected = 0;
  std::int64_t late = 0;  // over all pipelines
  std::optional<Millis> last_event_time, last_arrival_time;
  std::vector<std::optional<DevicePipelineLive>> pipelines;  // by pipeline index
};

struct LiveView {
  Millis taken_at = 0;  // processing time of the snapshot
  std::vector<PipelineLive> pipelines;
  std::vector<DeviceLive> devices;                          // by device name
  std::array<std::int64_t, kRejectReasonCount> rejected{};  // by RejectReason
  std::int64_t total = 0;                                   // records seen by the engine
};

// A latency histogram: counts[i] observations <= bounds[i] (not cumulative); the last count is
// the overflow bucket (+Inf).
struct HistogramView {
  std::vector<double> bounds;        // seconds, increasing
  std::vector<std::int64_t> counts;  // bounds.size() + 1
  double sum = 0;                    // seconds
  std::int64_t count = 0;
};

// [output]: the uplink to an upstream broker.
struct OutputView {
  bool connected = false;
  std::int64_t pending = 0;    // outbox messages not yet acknowledged upstream
  std::int64_t published = 0;  // acknowledged since start
  std::int64_t set_aside = 0;  // refused by the upstream broker 3 times in a row, skipped
};

// The gateway's wall clock against the database: while `now` is earlier than the newest
// commit, messages are held unacknowledged (not ready).
struct ClockView {
  bool ok = true;
  Millis now = 0;
  std::optional<Millis> newest_commit;  // none for a new database
};

struct HealthView {
  bool storage_ok = false;
  bool mqtt_connected = false;
  ClockView clock;
  std::int64_t messages = 0;      // committed MQTT messages
  std::int64_t redeliveries = 0;  // recognised as already committed
  std::int64_t storage_errors = 0;
  std::optional<Millis> last_commit;
  HistogramView commit_latency;
  std::optional<OutputView> output;  // none without [output]
};

class ApiData {
 public:
  virtual ~ApiData() = default;
  virtual StatusOr<WindowPage> Windows(const WindowQuery& q) = 0;
  virtual StatusOr<LatePage> Late(const LateQuery& q) = 0;
  virtual StatusOr<RejectedPage> Rejected(const RejectedQuery& q) = 0;
  // Bytes of the database file and its WAL; nullopt when it cannot be read.
  virtual std::optional<std::int64_t> DatabaseBytes() = 0;
  virtual std::shared_ptr<const LiveView> Live() = 0;
  virtual HealthView Health() = 0;
};

}  // namespace tidemark::web
