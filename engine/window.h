// Window assignment (docs/DESIGN.md §2): half-open [start, end) windows aligned to the epoch plus
// an offset, exactly as Spark's window(col, size, slide, startTime), and session windows by gap.
// This file is the one place that computes which windows a time belongs to and when a time is
// late ("cleanup time", Flink's term). Pure functions and a value type: safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "engine/status.h"
#include "engine/time.h"

namespace tidemark {

struct Window {
  Millis start = 0;
  Millis end = 0;  // exclusive
  bool Contains(Millis t) const { return start <= t && t < end; }
  friend bool operator==(const Window&, const Window&) = default;
};

enum class WindowKind : std::uint8_t { kTumbling, kSliding, kSession };

// The largest window size, slide or session gap accepted (keeps arithmetic far from overflow).
inline constexpr Millis kMaxWindowSpan = 3660 * kDay;
// The most windows one record may belong to (size / slide) — bounds per-record work.
inline constexpr Millis kMaxWindowsPerRecord = 1000;

// A validated window definition. Build one with Tumbling(), Sliding() or Session().
struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  Millis size = 0;    // tumbling, sliding
  Millis slide = 0;   // == size for tumbling
  Millis offset = 0;  // normalized to [0, slide)
  Millis gap = 0;     // session

  static StatusOr<WindowSpec> Tumbling(Millis size, Millis offset = 0);
  static StatusOr<WindowSpec> Sliding(Millis size, Millis slide, Millis offset = 0);
  static StatusOr<WindowSpec> Session(Millis gap);

  // A short human description, e.g. "tumbling 10m", "sliding 10m every 1m", "session gap 5m".
  std::string Describe() const;
};

// Floor modulo: the result has the sign of m (m > 0), so times before the epoch align too.
inline constexpr Millis FloorMod(Millis a, Millis m) {
  Millis r = a % m;
  return r < 0 ? r + m : r;
}

// The latest window containing t: for tumbling/sliding the one with the largest start, for
// sessions the record's own session [t, t + gap).
inline Window LatestWindow(const WindowSpec& spec, Millis t) {
  if (spec.kind == WindowKind::kSession) return {t, t + spec.gap};
  Millis start = t - FloorMod(t - spec.offset, spec.slide);
  return {start, start + spec.size};
}

// A record at t is late once every window it belongs to is closed, i.e. when the close frontier
// (watermark, or idle close) has reached the end of its latest window. The one place lateness is
// decided.
inline bool IsLate(const WindowSpec& spec, Millis t, Millis closed_until) {
  return LatestWindow(spec, t).end <= closed_until;
}

// Calls fn(Window) for every tumbling/sliding window containing t, latest start first.
template <typename Fn>
void ForEachWindow(const WindowSpec& spec, Millis t, Fn&& fn) {
  Window w = LatestWindow(spec, t);
  for (; w.end > t; w.start -= spec.slide, w.end -= spec.slide) fn(w);
}

}  // namespace tidemark
