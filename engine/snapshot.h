// Plain snapshot types: everything an operator (and the engine) holds, as values, so storage/
// can persist it and Restore() can rebuild the exact same state. No behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/aggregate.h"
#include "engine/window.h"

namespace tidemark {

inline constexpr Millis kNoTime = INT64_MIN;  // "never": no event seen, nothing closed

struct WindowSnapshot {
  Window window;
  std::int64_t records = 0;
  std::vector<AggState> states;             // one per aggregate, in spec order
  std::vector<std::uint64_t> fingerprints;  // duplicate suppression (empty when dedup is off)
};

struct DeviceSnapshot {
  std::string device;
  Millis max_event_time = kNoTime;     // newest valid event time seen (watermark source)
  Millis idle_closed_until = kNoTime;  // windows ending at or before this were closed as idle
  Millis last_arrival = kNoTime;       // processing time of the newest record
  std::int64_t records = 0;
  std::int64_t late = 0;
  std::int64_t duplicates = 0;
  std::vector<WindowSnapshot> windows;  // open windows, by start
};

// Counters of one pipeline since its state was created.
struct PipelineCounters {
  std::int64_t records = 0;     // records counted into windows
  std::int64_t late = 0;        // dropped: all their windows were closed
  std::int64_t duplicates = 0;  // dropped: identical to a record already counted
  std::int64_t finalized = 0;   // windows made final (by watermark or idle)
  std::int64_t evicted = 0;     // window states removed from memory (final + merged sessions)
  friend bool operator==(const PipelineCounters&, const PipelineCounters&) = default;
};

struct OperatorSnapshot {
  Millis max_event_time = kNoTime;  // over all devices (global watermark source)
  PipelineCounters counters;
  std::vector<DeviceSnapshot> devices;
};

}  // namespace tidemark
