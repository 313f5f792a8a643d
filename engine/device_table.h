// DeviceTable: interns device ids (strings) to dense integers once per message, so every
// pipeline indexes its per-device state by integer (docs/DESIGN.md §7: hash the device id once).
// Also keeps per-device arrival statistics. Not thread-safe: owned by Engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/record.h"
#include "engine/snapshot.h"

namespace tidemark {

struct DeviceStats {
  std::string device;
  std::int64_t records = 0;            // records received with this device id (any outcome)
  std::int64_t rejected = 0;           // of those, rejected
  Millis last_event_time = kNoTime;    // event time of the latest valid record (by arrival)
  Millis last_arrival_time = kNoTime;  // arrival of the latest record
  friend bool operator==(const DeviceStats&, const DeviceStats&) = default;
};

class DeviceTable {
 public:
  DeviceId Intern(std::string_view device);
  std::optional<DeviceId> Find(std::string_view device) const;
  DeviceStats& stats(DeviceId id) { return stats_[id]; }
  const DeviceStats& stats(DeviceId id) const { return stats_[id]; }
  std::size_t size() const { return stats_.size(); }
  const std::vector<DeviceStats>& all() const { return stats_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, DeviceId, Hash, std::equal_to<>> ids_;
  std::vector<DeviceStats> stats_;  // by DeviceId
};

}  // namespace tidemark
