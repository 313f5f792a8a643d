// Engine: all pipelines of one gateway over one record stream. It validates a decoded record
// once (time range, future skew, non-numeric values), interns the device once, stamps the
// arrival time and sequence number, and hands the record to every pipeline's WindowOperator.
// It owns the rejection counters and per-device arrival statistics, and snapshots/restores all
// of it for storage/.
//
// Deterministic: processing time comes only from the injected Clock (or explicit arguments on
// replay). Not thread-safe: the ingest thread calls it; other threads go through the gateway's
// lock.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/device_table.h"
#include "engine/window_operator.h"

namespace tidemark {

struct EngineOptions {
  // Records stamped further than this ahead of processing time are rejected (future_time).
  std::optional<Millis> max_future_skew = 5 * kMinute;
};

// What happened to one record: rejected (with a reason), or an outcome per pipeline.
struct IngestResult {
  std::optional<RejectReason> rejected;
  std::span<const Outcome> outcomes;  // by pipeline index; valid until the next call
};

using RejectCounts = std::array<std::int64_t, kRejectReasonCount>;

struct EngineSnapshot {
  std::uint64_t next_seq = 0;
  std::int64_t total = 0;
  RejectCounts rejected{};
  std::vector<DeviceStats> devices;
  std::vector<std::string> pipeline_names;  // parallel to pipelines
  std::vector<OperatorSnapshot> pipelines;
};

class Engine {
 public:
  // Every spec must have passed ValidatePipeline(). `clock` must outlive the engine.
  Engine(std::vector<PipelineSpec> pipelines, const Clock& clock, EngineOptions options = {});

  // Processes a record arriving now (clock.Now()). Closed windows and late records go to `out`.
  IngestResult Process(const Record& record, Output& out);
  // The same at an explicit arrival time (replay of a logged record).
  IngestResult ProcessAt(const Record& record, Millis arrival, Output& out);
  // Counts a record the decoder rejected before it became a Record; `device` may be empty.
  void CountRejected(RejectReason reason, std::string_view device, Millis arrival);

  // Lets processing time act (idle close, processing-time windows) at clock.Now() / at `now`.
  void Tick(Output& out);
  void TickAt(Millis now, Output& out);

  std::size_t pipeline_count() const { return operators_.size(); }
  const WindowOperator& pipeline(std::size_t i) const { return operators_[i]; }
  const DeviceTable& devices() const { return devices_; }
  std::int64_t total() const { return total_; }
  std::uint64_t next_seq() const { return next_seq_; }
  const RejectCounts& rejected() const { return rejected_; }
  const Clock& clock() const { return clock_; }

  // For incremental checkpoints: the devices of pipeline `i` changed since the last call.
  std::vector<DeviceId> TakeDirtyDevices(std::size_t i) { return operators_[i].TakeDirtyDevices(); }
  // A device of pipeline `i` with only its fingerprints not yet taken (WindowOperator).
  DeviceSnapshot TakeDeviceCheckpoint(std::size_t i, DeviceId device) {
    return operators_[i].TakeDeviceCheckpoint(device);
  }

  EngineSnapshot Snapshot() const;
  // Replaces all state with `snapshot`. Pipelines are matched by name; a snapshot pipeline with
  // no configured counterpart is ignored, a configured one missing from the snapshot starts
  // empty. Returns the names of ignored snapshot pipelines.
  std::vector<std::string> Restore(const EngineSnapshot& snapshot);

 private:
  std::optional<RejectReason> Validate(const Record& record, Millis arrival) const;

  const Clock& clock_;
  EngineOptions options_;
  std::vector<WindowOperator> operators_;
  std::vector<std::string> fields_read_;  // every field any aggregate reads, once
  bool uses_event_time_ = false;
  DeviceTable devices_;
  std::vector<Outcome> outcomes_;
  std::uint64_t next_seq_ = 0;
  std::int64_t total_ = 0;
  RejectCounts rejected_{};
};

}  // namespace tidemark
