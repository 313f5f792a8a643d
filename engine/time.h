// Time in tidemark: integer milliseconds since the Unix epoch, UTC (docs/DESIGN.md §2).
// Parsing of durations ("10 minutes", "30s", "500ms", "1 hour"), RFC 3339 timestamps and epoch
// numbers, and RFC 3339 formatting. Pure functions, no state: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace tidemark {

using Millis = std::int64_t;

// The range of event times tidemark accepts: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z.
// Keeping times inside it makes every window computation overflow-free.
inline constexpr Millis kMinTime = -62135596800000;
inline constexpr Millis kMaxTime = 253402300799999;
inline constexpr bool InTimeRange(Millis t) { return t >= kMinTime && t <= kMaxTime; }

inline constexpr Millis kSecond = 1000;
inline constexpr Millis kMinute = 60 * kSecond;
inline constexpr Millis kHour = 60 * kMinute;
inline constexpr Millis kDay = 24 * kHour;

// Parses a non-negative duration: a number (integer or decimal) and a unit, optionally
// separated by spaces, e.g. "10 minutes", "30s", "500ms", "1 hour", "1.5h", "7 days".
// Units: ms, msec, millisecond(s); s, sec, second(s); m, min, minute(s); h, hr, hour(s);
// d, day(s); w, week(s). Case-insensitive. "0" alone (no unit) is accepted as zero.
// Errors name the offending text, e.g. `invalid duration "10 parsecs": unknown unit "parsecs"`.
// A result that does not fit in milliseconds, or is negative, or has sub-millisecond
// precision, is an error.
StatusOr<Millis> ParseDuration(std::string_view text);

// Formats a duration the way ParseDuration reads it, in the largest unit that divides it
// exactly: 600000 -> "10m", 30000 -> "30s", 500 -> "500ms", 3600000 -> "1h", 0 -> "0s".
std::string FormatDuration(Millis duration);

// Parses an RFC 3339 timestamp: "2026-11-25T12:04:00Z", "2026-11-25T12:04:00.123+05:30",
// lower-case 't'/'z' and a space instead of 'T' accepted; fractional seconds of any length are
// truncated to milliseconds. The offset is required. Validates month lengths and leap years.
// Result must lie in [kMinTime, kMaxTime].
StatusOr<Millis> ParseRfc3339(std::string_view text);

// Formats as RFC 3339 UTC: "2026-11-25T12:04:00Z" for whole seconds, otherwise with exactly
// three fractional digits: "2026-11-25T12:04:00.120Z". Works for all of [kMinTime, kMaxTime].
std::string FormatRfc3339(Millis t);

// Interprets an epoch number from a record: |value| < 1e11 is seconds (which covers years up to
// 5138), anything else milliseconds. Fractional seconds are kept to the millisecond (truncated
// toward negative infinity). NaN, infinities, and results outside [kMinTime, kMaxTime] are errors.
StatusOr<Millis> EpochNumberToMillis(double value);

// Parses an event time given as text: RFC 3339, or a decimal epoch number (as
// EpochNumberToMillis) written as a string, e.g. "1764072240" or "1764072240123".
StatusOr<Millis> ParseTimestamp(std::string_view text);

}  // namespace tidemark
