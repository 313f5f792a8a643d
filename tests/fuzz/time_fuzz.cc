// Fuzz target: engine/time.h — durations ("10 minutes"), RFC 3339 timestamps, epoch numbers and
// timestamp strings. The input is parsed as text by every parser; its first 8 bytes are also
// read as a double (an epoch number from a record) and as an int64 (a time or duration).
// Invariants, beyond "never crashes, never throws":
//  - ParseDuration agrees with an independent exact reference (128-bit arithmetic), and every
//    accepted duration re-formats (FormatDuration) and re-parses to the same value;
//  - ParseRfc3339 agrees with a reference built on std::chrono's civil calendar, and an
//    accepted time re-formats (FormatRfc3339) and re-parses to itself;
//  - ParseTimestamp of a short decimal equals EpochNumberToMillis of the same number as a
//    double (the record's two spellings of one epoch time), and lies in the supported range;
//  - EpochNumberToMillis stays within a millisecond of value * 1000 (seconds) or floor(value)
//    (milliseconds), and FormatRfc3339/FormatDuration round-trip any representable value.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "engine/time.h"
#include "tests/fuzz/fuzz_check.h"

namespace tidemark {
namespace {

__extension__ typedef unsigned __int128 U128;

bool Digit(char c) { return c >= '0' && c <= '9'; }

// The duration grammar of time.h, evaluated exactly: nullopt when it is not a valid duration.
std::optional<Millis> ReferenceDuration(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  if (s == "0") return 0;
  std::size_t i = 0;
  U128 whole = 0;
  bool huge = false;
  for (; i < s.size() && Digit(s[i]); ++i) {
    whole = whole * 10 + static_cast<unsigned>(s[i] - '0');
    if (whole > (U128{1} << 64)) huge = true, whole = U128{1} << 64;  // saturate
  }
  if (i == 0) return std::nullopt;
  std::string frac;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    for (; i < s.size() && Digit(s[i]); ++i) frac += s[i];
    if (i == start) return std::nullopt;
  }
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  while (i < s.size() && blank(s[i])) ++i;
  std::string unit(s.substr(i));
  for (char& c : unit) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  const std::int64_t ms =
      unit == "ms" || unit == "msec" || unit == "millisecond" || unit == "milliseconds" ? 1
      : unit == "s" || unit == "sec" || unit == "second" || unit == "seconds"           ? 1000
      : unit == "m" || unit == "min" || unit == "minute" || unit == "minutes"           ? 60'000
      : unit == "h" || unit == "hr" || unit == "hour" || unit == "hours"                ? 3'600'000
      : unit == "d" || unit == "day" || unit == "days"                                  ? 86'400'000
      : unit == "w" || unit == "week" || unit == "weeks" ? 604'800'000
                                                         : 0;
  if (ms == 0) return std::nullopt;
  // A fraction whose last significant digit is at 10^-k needs 2^k and 5^k from the unit (it
  // cannot supply both itself, or its last digit would be 0); no unit has 5^6. So beyond 25
  // digits nothing is whole milliseconds, and below that 128 bits hold every product.
  if (frac.size() > 25) return std::nullopt;
  U128 num = 0, den = 1;
  for (char c : frac) num = num * 10 + static_cast<unsigned>(c - '0'), den *= 10;
  if (num * static_cast<unsigned>(ms) % den != 0) return std::nullopt;
  const U128 total = whole * static_cast<unsigned>(ms) + num * static_cast<unsigned>(ms) / den;
  if (huge || total > static_cast<U128>(std::numeric_limits<Millis>::max())) return std::nullopt;
  return static_cast<Millis>(total);
}

// RFC 3339 as time.h describes it, on std::chrono's calendar: nullopt when invalid.
std::optional<Millis> ReferenceRfc3339(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!Digit(s[i])) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') return {};
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
             sec = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 59) return {};
  using namespace std::chrono;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)},
                            day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && Digit(s[pos])) ++pos;
    if (pos == start) return std::nullopt;
    const std::string digits = std::string(s.substr(start, pos - start)) + "00";
    millis = std::stoi(digits.substr(0, 3));
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (s[pos] == '-' ? -1 : 1) * (*oh * 3'600'000LL + *om * 60'000LL);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t t = sys_days(date).time_since_epoch().count() * 86'400'000LL +
                         *h * 3'600'000LL + *mi * 60'000LL + *sec * 1000LL + millis - offset;
  if (t < kMinTime || t > kMaxTime) return std::nullopt;
  return t;
}

std::string Show(const StatusOr<Millis>& r) {
  return r.ok() ? std::to_string(*r) : "error: " + r.error();
}

std::string Show(const std::optional<Millis>& r) {
  return r ? std::to_string(*r) : std::string("invalid");
}

void CheckDuration(std::string_view text) {
  const StatusOr<Millis> d = ParseDuration(text);
  const std::optional<Millis> want = ReferenceDuration(text);
  FUZZ_CHECK(
      d.ok() == want.has_value() && (!d.ok() || *d == *want),
      "ParseDuration(\"" + std::string(text) + "\") = " + Show(d) + ", reference " + Show(want));
  if (!d.ok()) {
    FUZZ_CHECK(d.error().starts_with("invalid duration \""), d.error());
    return;
  }
  FUZZ_CHECK(*d >= 0, Show(d));
  const std::string formatted = FormatDuration(*d);
  const StatusOr<Millis> again = ParseDuration(formatted);
  FUZZ_CHECK(again.ok() && *again == *d, formatted + " -> " + Show(again));
}

void CheckRfc3339(std::string_view text) {
  const StatusOr<Millis> t = ParseRfc3339(text);
  const std::optional<Millis> want = ReferenceRfc3339(text);
  FUZZ_CHECK(
      t.ok() == want.has_value() && (!t.ok() || *t == *want),
      "ParseRfc3339(\"" + std::string(text) + "\") = " + Show(t) + ", reference " + Show(want));
  if (!t.ok()) return;
  FUZZ_CHECK(InTimeRange(*t), Show(t));
  const std::string formatted = FormatRfc3339(*t);
  const StatusOr<Millis> again = ParseRfc3339(formatted);
  FUZZ_CHECK(again.ok() && *again == *t, formatted + " -> " + Show(again));
}

// A decimal epoch written as a string and the same number as a JSON number must agree, as long
// as the double holds the decimal exactly enough (15 significant digits).
void CheckTimestamp(std::string_view text) {
  const StatusOr<Millis> t = ParseTimestamp(text);
  if (t.ok()) FUZZ_CHECK(InTimeRange(*t), Show(t));
  std::string_view digits = text;
  if (digits.starts_with('-')) digits.remove_prefix(1);
  const std::size_t dot = digits.find('.');
  const std::string_view ip = digits.substr(0, dot);
  const std::string_view fp = dot == std::string_view::npos ? "" : digits.substr(dot + 1);
  const bool decimal =
      !ip.empty() && ip.find_first_not_of("0123456789") == ip.npos &&
      (dot == digits.npos || (!fp.empty() && fp.find_first_not_of("0123456789") == fp.npos));
  if (!decimal) {
    if (text.size() > 4 && text[4] == '-') {
      const StatusOr<Millis> rfc = ParseRfc3339(text);
      FUZZ_CHECK(rfc.ok() == t.ok() && (!t.ok() || *rfc == *t), Show(t) + " vs " + Show(rfc));
    } else {
      FUZZ_CHECK(!t.ok(), "accepted \"" + std::string(text) + "\": " + Show(t));
    }
    return;
  }
  const std::size_t lead = ip.find_first_not_of('0');
  const std::size_t significant = (lead == ip.npos ? 0 : ip.size() - lead) + fp.size();
  if (significant > 15) return;
  const double value = std::strtod(std::string(text).c_str(), nullptr);
  const StatusOr<Millis> as_number = EpochNumberToMillis(value);
  FUZZ_CHECK(
      as_number.ok() == t.ok() && (!t.ok() || *as_number == *t),
      "\"" + std::string(text) + "\" as text " + Show(t) + ", as a number " + Show(as_number));
}

void CheckEpochNumber(double value) {
  const StatusOr<Millis> t = EpochNumberToMillis(value);
  if (!std::isfinite(value)) {
    FUZZ_CHECK(!t.ok(), Show(t));
    return;
  }
  if (std::fabs(value) < 1e10) FUZZ_CHECK(t.ok(), "rejected " + std::to_string(value));
  if (!t.ok()) return;
  FUZZ_CHECK(InTimeRange(*t), Show(t));
  const double t_ms = static_cast<double>(*t);
  if (std::fabs(value) < 1e11) {
    FUZZ_CHECK(std::fabs(t_ms - value * 1000) <= 1.0 + 1e-9 * std::fabs(value * 1000),
               std::to_string(value) + " s -> " + Show(t));
  } else {
    FUZZ_CHECK(t_ms == std::floor(value), std::to_string(value) + " ms -> " + Show(t));
  }
}

void CheckFormatters(std::int64_t v) {
  // FormatRfc3339 is total (any int64); inside the range it round-trips.
  const std::string any = FormatRfc3339(v);
  FUZZ_CHECK(!any.empty() && any.back() == 'Z', any);
  const Millis in_range =
      kMinTime + static_cast<Millis>(static_cast<std::uint64_t>(v) %
                                     static_cast<std::uint64_t>(kMaxTime - kMinTime + 1));
  const std::string text = FormatRfc3339(in_range);
  const StatusOr<Millis> back = ParseRfc3339(text);
  FUZZ_CHECK(back.ok() && *back == in_range, std::to_string(in_range) + " -> " + text);
  const Millis duration = v < 0 ? -(v + 1) : v;  // every non-negative int64
  const std::string d = FormatDuration(duration);
  const StatusOr<Millis> parsed = ParseDuration(d);
  FUZZ_CHECK(parsed.ok() && *parsed == duration, std::to_string(duration) + " -> " + d);
}

}  // namespace
}  // namespace tidemark

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidemark;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDuration(text);
  CheckRfc3339(text);
  CheckTimestamp(text);
  if (size >= 8) {
    double value = 0;
    std::int64_t integer = 0;
    std::memcpy(&value, data, 8);
    std::memcpy(&integer, data, 8);
    CheckEpochNumber(value);
    CheckFormatters(integer);
  }
  return 0;
}
