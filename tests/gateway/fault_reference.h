// The fault tests' yardstick (docs/TESTING.md): sequence-numbered readings, their offline
// recomputation (plain arithmetic, no tidemark code) and a comparison with the windows the gateway
// stored. Any record lost or counted twice changes a window's count, sum, min or max of `seq`. One
// test thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace tidemark::testing {

// A tumbling 1-minute pipeline (global watermark 10 minutes) that counts readings and sums,
// minimises and maximises their sequence numbers. Name "faults".
extern const char* const kFaultPipeline;
inline constexpr std::int64_t kFaultWindow = 60'000;  // ms

struct Reading {
  std::string device;
  std::int64_t event_time = 0;  // epoch ms
  std::int64_t seq = 0;
};

// Readings seq = first .. first+count-1, round-robin over `devices` devices ("d0", "d1", ...),
// event time base + seq * step_ms.
std::vector<Reading> MakeReadings(std::int64_t first, std::int64_t count, int devices,
                                  std::int64_t base, std::int64_t step_ms);
// The JSON payload of one reading (fields deviceId, eventTime, seq).
std::string Payload(const Reading& r);
std::vector<std::string> Payloads(const std::vector<Reading>& readings);
// The topic a reading is published on: devices/<device>/telemetry.
std::string Topic(const Reading& r);

// One window of the "faults" pipeline.
struct FaultWindow {
  std::int64_t records = 0;
  double seq_sum = 0;
  double seq_min = 0;
  double seq_max = 0;
  bool operator==(const FaultWindow&) const = default;
};
using WindowKey = std::tuple<std::string, std::int64_t>;  // device, window start
using FaultWindows = std::map<WindowKey, FaultWindow>;

// What the windows must hold if every reading is counted exactly once.
FaultWindows Recompute(const std::vector<Reading>& readings);
// The "faults" pipeline's windows in the database (open and final); `final_only` skips open ones.
FaultWindows StoredWindows(const std::string& db_path, bool final_only = false);
// Empty when equal; otherwise the first differences, one per line (at most `max_lines`).
std::string DiffWindows(const FaultWindows& expected, const FaultWindows& actual,
                        int max_lines = 10);

}  // namespace tidemark::testing
