// Durations, RFC 3339 and epoch numbers (see time.h). Civil-date arithmetic follows Howard
// Hinnant's days_from_civil / civil_from_days, valid for any year. Never throws, never reads a
// clock; all integer arithmetic is bounded or overflow-checked.
#include "engine/time.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace tidemark {
namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Reads exactly `n` digits at `pos`; false if any is not a digit or the text is too short.
bool ReadDigits(std::string_view s, std::size_t pos, std::size_t n, std::int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Reads a run of digits into an unsigned value; false on overflow. Advances `pos`.
bool ReadNumber(std::string_view s, std::size_t& pos, std::uint64_t& out) {
  out = 0;
  for (; pos < s.size() && IsDigit(s[pos]); ++pos) {
    if (__builtin_mul_overflow(out, 10u, &out) ||
        __builtin_add_overflow(out, static_cast<unsigned>(s[pos] - '0'), &out)) {
      return false;
    }
  }
  return true;
}

bool IsLeap(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

std::int64_t DaysInMonth(std::int64_t y, std::int64_t m) {
  static constexpr std::int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  std::int64_t year, month, day;
};

Civil CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

// Appends `v` zero-padded to at least `width` digits, with a leading '-' if negative.
void AppendPadded(std::string& out, std::int64_t v, std::size_t width) {
  if (v < 0) out += '-';
  std::string digits =
      std::to_string(v < 0 ? -static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v));
  if (digits.size() < width) out.append(width - digits.size(), '0');
  out += digits;
}

// True for a plain decimal number: optional '-', digits, optionally '.' and more digits.
bool IsDecimal(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  const std::size_t dot = s.find('.');
  const std::string_view ip = s.substr(0, dot);
  const std::string_view fp = dot == std::string_view::npos ? "0" : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return digits(ip) && digits(fp);
}

// Converts a number for which IsDecimal holds ("-12.5", "1764072240123") exactly: an integer
// part below 1e11 is seconds, otherwise milliseconds; digits beyond the millisecond are
// truncated toward negative infinity. `what` is the text to name in errors.
StatusOr<Millis> EpochDecimal(std::string_view s, const std::string& what) {
  const bool negative = s[0] == '-';
  std::size_t pos = negative ? 1 : 0;
  std::uint64_t ip = 0;
  const bool fits = ReadNumber(s, pos, ip);
  const bool seconds = ip < 100'000'000'000u;
  if (!fits || (!seconds && ip > static_cast<std::uint64_t>(kMaxTime))) {
    return Error{"invalid epoch time " + what + ": out of range"};
  }
  const std::string_view frac = pos < s.size() ? s.substr(pos + 1) : std::string_view();
  std::int64_t ms = static_cast<std::int64_t>(ip);
  std::size_t kept = 0;  // fractional digits folded into `ms`
  for (; seconds && kept < 3; ++kept) ms = ms * 10 + (kept < frac.size() ? frac[kept] - '0' : 0);
  if (negative) ms = -ms - (frac.find_first_not_of('0', kept) != std::string_view::npos ? 1 : 0);
  if (!InTimeRange(ms)) return Error{"invalid epoch time " + what + ": out of range"};
  return ms;
}

}  // namespace

StatusOr<Millis> ParseDuration(std::string_view text) {
  const std::string bad = "invalid duration " + Quote(text) + ": ";
  std::string_view s = text;
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  if (s.empty()) return Error{bad + "empty"};
  if (s == "0") return Millis{0};
  if (s[0] == '-') return Error{bad + "negative durations are not allowed"};
  std::size_t pos = 0;
  std::uint64_t ip = 0;
  if (!ReadNumber(s, pos, ip)) return Error{bad + "too large"};
  if (pos == 0) return Error{bad + "missing number"};
  std::uint64_t frac = 0;
  std::size_t frac_digits = 0;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start) return Error{bad + "missing digits after the decimal point"};
    std::string_view digits = s.substr(start, pos - start);
    while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
    // No unit has more than 2^10 or 5^5 among its factors (a week is 2^10*3^3*5^5*7 ms), so a
    // fraction with more than 10 significant digits never makes whole milliseconds. This also
    // keeps `frac * unit` below 2^63.
    if (digits.size() > 10) return Error{bad + "finer than a millisecond"};
    for (char c : digits) frac = frac * 10 + static_cast<unsigned>(c - '0');
    frac_digits = digits.size();
  }
  while (pos < s.size() && IsSpace(s[pos])) ++pos;
  const std::string_view unit_text = s.substr(pos);
  if (unit_text.empty()) return Error{bad + "missing unit"};
  std::string unit(unit_text);
  for (char& c : unit) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  static constexpr struct {
    std::string_view name;
    Millis ms;
  } kUnits[] = {
      {"ms", 1},          {"msec", 1},         {"millisecond", 1},  {"milliseconds", 1},
      {"s", kSecond},     {"sec", kSecond},    {"second", kSecond}, {"seconds", kSecond},
      {"m", kMinute},     {"min", kMinute},    {"minute", kMinute}, {"minutes", kMinute},
      {"h", kHour},       {"hr", kHour},       {"hour", kHour},     {"hours", kHour},
      {"d", kDay},        {"day", kDay},       {"days", kDay},      {"w", 7 * kDay},
      {"week", 7 * kDay}, {"weeks", 7 * kDay},
  };
  std::uint64_t unit_ms = 0;
  for (const auto& u : kUnits) {
    if (u.name == unit) unit_ms = static_cast<std::uint64_t>(u.ms);
  }
  if (unit_ms == 0) return Error{bad + "unknown unit " + Quote(unit_text)};
  std::uint64_t scale = 1;
  for (std::size_t i = 0; i < frac_digits; ++i) scale *= 10;
  const std::uint64_t frac_ms = frac * unit_ms;  // < 10^10 * 6.048e8 < 2^63
  if (frac_ms % scale != 0) return Error{bad + "finer than a millisecond"};
  std::uint64_t total = 0;
  if (__builtin_mul_overflow(ip, unit_ms, &total) ||
      __builtin_add_overflow(total, frac_ms / scale, &total) ||
      total > static_cast<std::uint64_t>(std::numeric_limits<Millis>::max())) {
    return Error{bad + "too large"};
  }
  return static_cast<Millis>(total);
}

std::string FormatDuration(Millis duration) {
  static constexpr struct {
    Millis ms;
    const char* suffix;
  } kUnits[] = {{7 * kDay, "w"}, {kDay, "d"}, {kHour, "h"}, {kMinute, "m"}, {kSecond, "s"}};
  if (duration == 0) return "0s";
  for (const auto& u : kUnits) {
    if (duration % u.ms == 0) return std::to_string(duration / u.ms) + u.suffix;
  }
  return std::to_string(duration) + "ms";
}

StatusOr<Millis> ParseRfc3339(std::string_view text) {
  const std::string bad = "invalid RFC 3339 time " + Quote(text) + ": ";
  const std::string_view s = text;
  std::int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const bool sep = s.size() >= 19 && s[4] == '-' && s[7] == '-' && s[13] == ':' && s[16] == ':' &&
                   (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
  if (!sep || !ReadDigits(s, 0, 4, year) || !ReadDigits(s, 5, 2, month) ||
      !ReadDigits(s, 8, 2, day) || !ReadDigits(s, 11, 2, hour) || !ReadDigits(s, 14, 2, minute) ||
      !ReadDigits(s, 17, 2, second)) {
    return Error{bad + "expected YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)"};
  }
  if (month < 1 || month > 12) return Error{bad + "month out of range"};
  if (day < 1 || day > DaysInMonth(year, month)) return Error{bad + "day out of range"};
  if (hour > 23) return Error{bad + "hour out of range"};
  if (minute > 59) return Error{bad + "minute out of range"};
  if (second > 59) return Error{bad + "second out of range"};
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    for (; pos < s.size() && IsDigit(s[pos]); ++pos) {
      if (pos - start < 3) millis = millis * 10 + (s[pos] - '0');
    }
    if (pos == start) return Error{bad + "missing digits after the decimal point"};
    for (std::size_t n = pos - start; n < 3; ++n) millis *= 10;
  }
  if (pos == s.size()) return Error{bad + "missing UTC offset (Z or +hh:mm)"};
  std::int64_t offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    std::int64_t oh = 0, om = 0;
    if (pos + 6 > s.size() || s[pos + 3] != ':' || !ReadDigits(s, pos + 1, 2, oh) ||
        !ReadDigits(s, pos + 4, 2, om)) {
      return Error{bad + "invalid UTC offset, expected Z, +hh:mm or -hh:mm"};
    }
    if (oh > 23 || om > 59) return Error{bad + "UTC offset out of range"};
    offset = (s[pos] == '-' ? -1 : 1) * (oh * kHour + om * kMinute);
    pos += 6;
  } else {
    return Error{bad + "invalid UTC offset, expected Z, +hh:mm or -hh:mm"};
  }
  if (pos != s.size()) return Error{bad + "unexpected trailing characters"};
  const Millis t = DaysFromCivil(year, month, day) * kDay + hour * kHour + minute * kMinute +
                   second * kSecond + millis - offset;
  if (!InTimeRange(t)) {
    return Error{bad +
                 "outside the supported range 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z"};
  }
  return t;
}

std::string FormatRfc3339(Millis t) {
  // Floor division without overflow, even for INT64_MIN. Outside [kMinTime, kMaxTime] the year
  // is written with as many digits (and sign) as it needs, so nothing is ever silently clamped.
  Millis rem = t % kDay;
  Millis days = t / kDay;
  if (rem < 0) {
    rem += kDay;
    --days;
  }
  const Civil c = CivilFromDays(days);
  std::string out;
  out.reserve(24);
  AppendPadded(out, c.year, 4);
  out += '-';
  AppendPadded(out, c.month, 2);
  out += '-';
  AppendPadded(out, c.day, 2);
  out += 'T';
  AppendPadded(out, rem / kHour, 2);
  out += ':';
  AppendPadded(out, rem / kMinute % 60, 2);
  out += ':';
  AppendPadded(out, rem / kSecond % 60, 2);
  if (rem % kSecond != 0) {
    out += '.';
    AppendPadded(out, rem % kSecond, 3);
  }
  out += 'Z';
  return out;
}

StatusOr<Millis> EpochNumberToMillis(double value) {
  char buf[400];  // fixed notation of any double below 1e16, down to denormals, fits
  std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, value);
  const std::string shown(buf, r.ec == std::errc() ? r.ptr : buf);
  if (!std::isfinite(value)) return Error{"invalid epoch time " + shown + ": not a finite number"};
  if (std::fabs(value) >= 1e16) return Error{"invalid epoch time " + shown + ": out of range"};
  // The shortest decimal that round-trips is the number as the record wrote it, so 1.001 means
  // 1001 ms even though the nearest double is slightly below 1.001.
  r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  if (r.ec != std::errc()) return Error{"invalid epoch time " + shown + ": out of range"};
  return EpochDecimal(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), shown);
}

StatusOr<Millis> ParseTimestamp(std::string_view text) {
  if (IsDecimal(text)) return EpochDecimal(text, Quote(text));
  if (text.size() > 4 && text[4] == '-') return ParseRfc3339(text);
  return Error{"invalid timestamp " + Quote(text) +
               ": expected an RFC 3339 time or an epoch number"};
}

}  // namespace tidemark
