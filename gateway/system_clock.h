// SystemClock: the gateway's real processing-time clock (the engine never reads one itself).
// Now() is thread-safe.
#pragma once

#include <chrono>

#include "engine/clock.h"

namespace tidemark {

class SystemClock final : public Clock {
 public:
  Millis Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace tidemark
