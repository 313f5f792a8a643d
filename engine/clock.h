// Clock: the engine's only source of processing time (arrival time, idle timeouts, future-skew
// checks). The engine never reads a system clock; the gateway injects a real one, tests inject
// ManualClock. Now() may be called from the single engine thread only.
#pragma once

#include "engine/time.h"

namespace tidemark {

class Clock {
 public:
  virtual ~Clock() = default;
  // Processing time now, in milliseconds since the Unix epoch (UTC).
  virtual Millis Now() const = 0;
};

// A clock that moves only when told to: deterministic tests and offline replays.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Millis now = 0) : now_(now) {}
  Millis Now() const override { return now_; }
  void Set(Millis now) { now_ = now; }
  void Advance(Millis by) { now_ += by; }

 private:
  Millis now_;
};

}  // namespace tidemark
