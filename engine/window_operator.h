// WindowOperator: one pipeline's event-time windowing, keyed by device (docs/DESIGN.md §2, §5.5).
// Lifecycle as in Flink: assign a record to its windows, fire (finalize) a window once the
// close frontier — the scope's watermark, or an idle close — reaches its end, clean it up.
// Lateness is decided by IsLate() in window.h only.
//
// Deterministic and pure: processing time comes in as arguments. Not thread-safe: one thread
// (the ingest thread, through Engine) calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "engine/fingerprint_set.h"
#include "engine/pipeline.h"
#include "engine/record.h"
#include "engine/snapshot.h"

namespace tidemark {

enum class ClosedBy : std::uint8_t { kWatermark, kIdle };
constexpr std::string_view ClosedByName(ClosedBy c) {
  return c == ClosedBy::kIdle ? "idle" : "watermark";
}

// What a record did in one pipeline.
enum class Outcome : std::uint8_t { kAccepted, kLate, kDuplicate };

// A window's current or final values.
struct WindowResult {
  std::uint32_t pipeline = 0;  // index of the pipeline in the engine
  std::string device;
  Window window;
  bool final = false;
  ClosedBy closed_by = ClosedBy::kWatermark;  // meaningful when final
  Millis closed_at = 0;                       // processing time of the close, when final
  std::int64_t records = 0;
  std::vector<std::optional<double>> values;  // one per aggregate, in spec order; nullopt = null
};

// A record dropped because every window it belongs to was closed: the late-data log entry.
struct LateRecord {
  std::uint32_t pipeline = 0;
  std::string device;
  Millis event_time = 0;
  Millis arrival_time = 0;
  Millis watermark = kNoTime;  // the scope's watermark when it arrived
  Window missed;               // its latest window
};

// Collects what operators produce during one call; the caller drains it.
struct Output {
  std::vector<WindowResult> closed;
  std::vector<LateRecord> late;
  void clear() {
    closed.clear();
    late.clear();
  }
};

// One device's progress in one pipeline (for the HTTP API).
struct DeviceSummary {
  Millis watermark = kNoTime;  // the device's scope watermark (the pipeline's, when global)
  std::int64_t records = 0;
  std::int64_t late = 0;
  std::int64_t duplicates = 0;
};

struct PipelineMetrics {
  std::int64_t open_windows = 0;
  std::int64_t state_bytes = 0;  // estimate of memory held: devices, windows, states, dedup
  Millis watermark = kNoTime;    // pipeline (global) watermark
  PipelineCounters counters;
};

class WindowOperator {
 public:
  // `spec` must have passed ValidatePipeline(). `index` tags this operator's output.
  WindowOperator(PipelineSpec spec, std::uint32_t index);

  // Processes one record arriving at processing time `arrival` with arrival sequence number
  // `seq` (strictly increasing; orders ties for first/last). `device` must be a dense id for
  // record.device (Engine interns them). Windows that close as a result go to out.closed.
  Outcome Process(const Record& record, DeviceId device, Millis arrival, std::uint64_t seq,
                  Output& out);

  // Processing time has reached `now`: closes idle devices' windows and, for processing-time
  // pipelines, advances the watermark.
  void AdvanceProcessingTime(Millis now, Output& out);

  const PipelineSpec& spec() const { return spec_; }
  PipelineMetrics Metrics() const;
  Millis Watermark() const;                                      // the pipeline (global) watermark
  std::optional<Millis> DeviceWatermark(DeviceId device) const;  // nullopt if never seen
  // Calls fn for every open window with its provisional values, by device then start.
  void ForEachOpenWindow(const std::function<void(const WindowResult&)>& fn) const;
  // The same for one device's open windows, by start (none for an unknown device).
  void ForEachOpenWindowOf(DeviceId device,
                           const std::function<void(const WindowResult&)>& fn) const;
  // One device's counters in this pipeline; nullopt if it never sent a record here.
  std::optional<DeviceSummary> Summary(DeviceId device) const;

  OperatorSnapshot Snapshot() const;
  // Incremental checkpoints: the devices whose state changed since the last call (each once),
  // the state of one device, and the pipeline-wide part (watermark source, counters) alone.
  std::vector<DeviceId> TakeDirtyDevices();
  DeviceSnapshot SnapshotDevice(DeviceId device) const;
  // The same, except that each window carries only the fingerprints added since the previous
  // call for this device (all of them at the first call, none restored by Restore()), and they
  // count as saved from then on: storage persists fingerprints incrementally. From the first
  // call (or Restore()) on, the device keeps its new fingerprints in a list until the next
  // call. If persisting fails, Restore() from what is durable.
  DeviceSnapshot TakeDeviceCheckpoint(DeviceId device);
  OperatorSnapshot SnapshotHeader() const { return {max_event_time_, counters_, {}}; }
  // Replaces all state with `snapshot`; `intern` maps a device name to its dense id.
  void Restore(const OperatorSnapshot& snapshot,
               const std::function<DeviceId(std::string_view)>& intern);

 private:
  struct OpenWindow {
    Window window;
    std::int64_t records = 0;
    FingerprintSet seen;
    std::vector<std::uint64_t> unsaved;  // added to `seen` since TakeDeviceCheckpoint (if journal)
  };
  struct DeviceState {
    std::string name;
    bool seen = false;
    bool dirty = false;    // listed in dirty_
    bool journal = false;  // keeps unsaved fingerprints (after TakeDeviceCheckpoint or Restore)
    Millis max_event_time = kNoTime;
    Millis idle_closed_until = kNoTime;
    Millis last_arrival = kNoTime;
    std::int64_t records = 0;
    std::int64_t late = 0;
    std::int64_t duplicates = 0;
    std::vector<OpenWindow> windows;  // by start; ends are increasing too
    std::vector<AggState> states;     // windows.size() * aggregates, window-major
  };
  using Timer = std::pair<Millis, DeviceId>;  // (window end, device): global-scope close

  bool UsesGlobalWatermark() const;
  DeviceState& Device(DeviceId id, std::string_view name);
  void MarkDirty(DeviceState& d, DeviceId id);
  Millis ScopeWatermark(const DeviceState& d) const;
  Millis ClosedUntil(const DeviceState& d) const;
  std::optional<double> FieldOf(const Record& r, std::size_t aggregate) const;

  bool IsDuplicate(const DeviceState& d, Millis t, std::uint64_t fp) const;
  void AddToWindows(DeviceState& d, DeviceId id, const Record& r, Millis t, std::uint64_t seq,
                    std::uint64_t fp);
  void AddToSession(DeviceState& d, DeviceId id, const Record& r, Millis t, std::uint64_t seq,
                    std::uint64_t fp);
  std::size_t FindOrInsertWindow(DeviceState& d, DeviceId id, Window w);
  void AddRecordTo(DeviceState& d, std::size_t index, const Record& r, Millis t, std::uint64_t seq);
  void EraseWindows(DeviceState& d, std::size_t first, std::size_t count);

  void ObserveEventTime(DeviceState& d, DeviceId id, Millis t, Millis now, Output& out);
  void CloseDue(DeviceState& d, DeviceId id, ClosedBy by, Millis now, Output& out);
  void FireGlobalTimers(Millis now, Output& out);
  WindowResult ResultOf(const DeviceState& d, std::size_t index) const;

  PipelineSpec spec_;
  std::uint32_t index_;
  std::vector<DeviceState> devices_;  // by DeviceId
  Millis max_event_time_ = kNoTime;
  PipelineCounters counters_;
  std::int64_t open_windows_ = 0;
  std::vector<DeviceId> dirty_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
};

}  // namespace tidemark
