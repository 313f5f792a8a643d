// SteadyMillis / SteadyNanos: monotonic time for timeouts, rates and latencies (HTTP deadlines,
// the reply cache, the worker queue, reconnect backoff, commit latency, recovery time):
// unaffected by wall-clock steps, meaningful only as a difference. Here, in the lowest layer
// that needs one, so that web/ and gateway/ share it; engine/ reads no clock at all (a Clock is
// injected). Any thread.
#pragma once

#include <chrono>
#include <cstdint>

#include "engine/time.h"

namespace tidemark {

inline Millis SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace tidemark
