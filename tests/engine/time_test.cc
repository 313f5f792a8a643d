// Tests for engine/time.h. Expected epoch values were computed independently (GNU date -u and
// Python's datetime), never by running the code under test.
#include "engine/time.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace tidemark {
namespace {

constexpr Millis kMax64 = std::numeric_limits<Millis>::max();
constexpr Millis kMin64 = std::numeric_limits<Millis>::min();
// 2026-11-25T12:04:00Z (`date -u -d 2026-11-25T12:04:00Z +%s` = 1795608240).
constexpr Millis k20261125 = 1795608240000;
// 2025-11-25T12:04:00Z (`date -u -d @1764072240`).
constexpr Millis k20251125 = 1764072240000;

// Expects `r` to be an error whose message contains `part`.
template <typename T>
void ExpectError(const StatusOr<T>& r, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "unexpectedly ok for error containing: " << part;
  EXPECT_NE(r.error().find(part), std::string::npos) << r.error();
}

Millis Dur(std::string_view text) {
  StatusOr<Millis> r = ParseDuration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : -1;
}

Millis Rfc(std::string_view text) {
  StatusOr<Millis> r = ParseRfc3339(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : -1;
}

// ---- ParseDuration ----

TEST(ParseDurationTest, DocumentedExamples) {
  EXPECT_EQ(Dur("10 minutes"), 600000);
  EXPECT_EQ(Dur("30s"), 30000);
  EXPECT_EQ(Dur("500ms"), 500);
  EXPECT_EQ(Dur("1 hour"), 3600000);
  EXPECT_EQ(Dur("1.5h"), 5400000);
  EXPECT_EQ(Dur("7 days"), 604800000);
}

TEST(ParseDurationTest, EveryUnitSpelling) {
  const struct {
    const char* unit;
    Millis ms;
  } cases[] = {
      {"ms", 1},           {"msec", 1},          {"millisecond", 1}, {"milliseconds", 1},
      {"s", 1000},         {"sec", 1000},        {"second", 1000},   {"seconds", 1000},
      {"m", 60000},        {"min", 60000},       {"minute", 60000},  {"minutes", 60000},
      {"h", 3600000},      {"hr", 3600000},      {"hour", 3600000},  {"hours", 3600000},
      {"d", 86400000},     {"day", 86400000},    {"days", 86400000}, {"w", 604800000},
      {"week", 604800000}, {"weeks", 604800000},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.unit);
    EXPECT_EQ(Dur(std::string("3") + c.unit), 3 * c.ms);
    EXPECT_EQ(Dur(std::string("3 ") + c.unit), 3 * c.ms);
  }
}

TEST(ParseDurationTest, SpacesAndCase) {
  EXPECT_EQ(Dur("10   m"), 600000);
  EXPECT_EQ(Dur("  10 m  "), 600000);
  EXPECT_EQ(Dur("10\tm"), 600000);
  EXPECT_EQ(Dur("10 MINUTES"), 600000);
  EXPECT_EQ(Dur("10 Minutes"), 600000);
  EXPECT_EQ(Dur("1.5H"), 5400000);
  EXPECT_EQ(Dur("250MS"), 250);
  EXPECT_EQ(Dur("2 WeEkS"), 1209600000);
}

TEST(ParseDurationTest, Zero) {
  EXPECT_EQ(Dur("0"), 0);
  EXPECT_EQ(Dur(" 0 "), 0);
  EXPECT_EQ(Dur("0s"), 0);
  EXPECT_EQ(Dur("0 ms"), 0);
  EXPECT_EQ(Dur("0.0h"), 0);
  EXPECT_EQ(Dur("000w"), 0);
}

TEST(ParseDurationTest, Decimals) {
  EXPECT_EQ(Dur("0.5s"), 500);
  EXPECT_EQ(Dur("0.001s"), 1);
  EXPECT_EQ(Dur("1.25m"), 75000);
  EXPECT_EQ(Dur("2.50s"), 2500);
  EXPECT_EQ(Dur("1.000000000000000000000000s"), 1000);
  EXPECT_EQ(Dur("0.5d"), 43200000);
  EXPECT_EQ(Dur("1.5 weeks"), 907200000);
  EXPECT_EQ(Dur("0.0000003125d"), 27);  // 86400000 * 3125 / 10^10
  EXPECT_EQ(Dur("007s"), 7000);
}

TEST(ParseDurationTest, ErrorMessageNamesInputAndUnit) {
  StatusOr<Millis> r = ParseDuration("10 parsecs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), R"(invalid duration "10 parsecs": unknown unit "parsecs")");
  ExpectError(ParseDuration("5 Parsecs"), R"(unknown unit "Parsecs")");
}

TEST(ParseDurationTest, Errors) {
  ExpectError(ParseDuration(""), R"(invalid duration "": empty)");
  ExpectError(ParseDuration("   "), "empty");
  ExpectError(ParseDuration("-5s"), "negative");
  ExpectError(ParseDuration("-0s"), "negative");
  ExpectError(ParseDuration("s"), "missing number");
  ExpectError(ParseDuration("ms"), "missing number");
  ExpectError(ParseDuration("+5s"), "missing number");
  ExpectError(ParseDuration(".5s"), "missing number");
  ExpectError(ParseDuration("abc"), "missing number");
  ExpectError(ParseDuration("10"), R"(invalid duration "10": missing unit)");
  ExpectError(ParseDuration("0.0"), "missing unit");
  ExpectError(ParseDuration("5.s"), "decimal point");
  ExpectError(ParseDuration("1.5.5s"), "unknown unit");
  ExpectError(ParseDuration("10 m s"), "unknown unit");
  ExpectError(ParseDuration("10 secs"), "unknown unit");
  ExpectError(ParseDuration("1,5h"), "unknown unit");
  ExpectError(ParseDuration("10m5s"), "unknown unit");
}

TEST(ParseDurationTest, Overflow) {
  EXPECT_EQ(Dur("9223372036854775807ms"), kMax64);
  EXPECT_EQ(Dur("15250284452w"), 9223372036569600000);
  ExpectError(ParseDuration("9223372036854775808ms"), "too large");
  ExpectError(ParseDuration("18446744073709551616ms"), "too large");
  ExpectError(ParseDuration("99999999999999999999999999999ms"), "too large");
  ExpectError(ParseDuration("15250284453w"), "too large");
  ExpectError(ParseDuration("15250284452.5w"), "too large");
  ExpectError(ParseDuration("9223372036854775807s"), "too large");
}

TEST(ParseDurationTest, SubMillisecond) {
  ExpectError(ParseDuration("0.5ms"), R"(invalid duration "0.5ms": finer than a millisecond)");
  ExpectError(ParseDuration("1.1ms"), "finer than a millisecond");
  ExpectError(ParseDuration("0.0005s"), "finer than a millisecond");
  ExpectError(ParseDuration("1.0001s"), "finer than a millisecond");
  ExpectError(ParseDuration("0.00000000001w"), "finer than a millisecond");
  ExpectError(ParseDuration("1.00000000000000000000001h"), "finer than a millisecond");
}

// ---- FormatDuration ----

TEST(FormatDurationTest, LargestExactUnit) {
  EXPECT_EQ(FormatDuration(600000), "10m");
  EXPECT_EQ(FormatDuration(30000), "30s");
  EXPECT_EQ(FormatDuration(500), "500ms");
  EXPECT_EQ(FormatDuration(3600000), "1h");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(86400000), "1d");
  EXPECT_EQ(FormatDuration(604800000), "1w");
  EXPECT_EQ(FormatDuration(1209600000), "2w");
  EXPECT_EQ(FormatDuration(90000), "90s");
  EXPECT_EQ(FormatDuration(5400000), "90m");
  EXPECT_EQ(FormatDuration(1001), "1001ms");
  EXPECT_EQ(FormatDuration(1), "1ms");
  EXPECT_EQ(FormatDuration(kMax64), "9223372036854775807ms");
}

TEST(FormatDurationTest, RoundTrips) {
  for (Millis d :
       {Millis{0}, Millis{1}, Millis{999}, Millis{1000}, Millis{60000}, kHour, kDay, 7 * kDay,
        8 * kDay, 36 * kHour, Millis{123456789}, kMax64, 9223372036569600000}) {
    EXPECT_EQ(Dur(FormatDuration(d)), d) << FormatDuration(d);
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<Millis> any(0, kMax64);
  const Millis units[] = {1, kSecond, kMinute, kHour, kDay, 7 * kDay};
  for (int i = 0; i < 20000; ++i) {
    const Millis unit = units[i % 6];
    const Millis d = any(rng) / unit * unit;
    ASSERT_EQ(Dur(FormatDuration(d)), d) << FormatDuration(d);
  }
}

// ---- ParseRfc3339 ----

TEST(ParseRfc3339Test, UtcAndOffsets) {
  EXPECT_EQ(Rfc("2026-11-25T12:04:00Z"), k20261125);
  EXPECT_EQ(Rfc("2025-11-25T12:04:00Z"), k20251125);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00+00:00"), k20261125);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00-00:00"), k20261125);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00.123+05:30"), 1795588440123);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00+05:30"), k20261125 - 5 * kHour - 30 * kMinute);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00-08:00"), 1795637040000);
  EXPECT_EQ(Rfc("2026-11-25T12:04:00+23:59"), k20261125 - 23 * kHour - 59 * kMinute);
  EXPECT_EQ(Rfc("1970-01-01T00:00:00Z"), 0);
}

TEST(ParseRfc3339Test, FractionalDigitsTruncateToMillis) {
  const struct {
    const char* fraction;
    Millis ms;
  } cases[] = {{".1", 100},         {".12", 120},       {".123", 123},
               {".1234", 123},      {".12345", 123},    {".123456", 123},
               {".1234567", 123},   {".12345678", 123}, {".123456789", 123},
               {".999999999", 999}, {".0009", 0},       {".000000000000000000001", 0},
               {".5", 500},         {".05", 50},        {".005", 5}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fraction);
    EXPECT_EQ(Rfc(std::string("2026-11-25T12:04:00") + c.fraction + "Z"), k20261125 + c.ms);
  }
  // Truncation, not rounding, also before 1970.
  EXPECT_EQ(Rfc("1969-12-31T23:59:59.9999Z"), -1);
}

TEST(ParseRfc3339Test, LowerCaseAndSpaceSeparator) {
  EXPECT_EQ(Rfc("2026-11-25t12:04:00z"), k20261125);
  EXPECT_EQ(Rfc("2026-11-25 12:04:00Z"), k20261125);
  EXPECT_EQ(Rfc("2026-11-25 12:04:00.5-08:00"), 1795637040500);
}

TEST(ParseRfc3339Test, LeapYears) {
  EXPECT_EQ(Rfc("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(Rfc("2000-02-29T00:00:00Z"), 951782400000);
  EXPECT_EQ(Rfc("0400-02-29T12:00:00Z"), -49539297600000);
  EXPECT_EQ(Rfc("2100-03-01T00:00:00Z"), 4107542400000);
  EXPECT_EQ(Rfc("1900-03-01T00:00:00Z"), -2203891200000);
  EXPECT_EQ(Rfc("2023-03-01T00:00:00Z"), 1677628800000);
  ExpectError(ParseRfc3339("2023-02-29T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("2100-02-29T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("1900-02-29T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("2024-02-30T00:00:00Z"), "day out of range");
}

TEST(ParseRfc3339Test, FieldRanges) {
  StatusOr<Millis> r = ParseRfc3339("2026-02-30T00:00:00Z");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), R"(invalid RFC 3339 time "2026-02-30T00:00:00Z": day out of range)");
  ExpectError(ParseRfc3339("2026-04-31T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("2026-01-32T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("2026-01-00T00:00:00Z"), "day out of range");
  ExpectError(ParseRfc3339("2026-13-01T00:00:00Z"), "month out of range");
  ExpectError(ParseRfc3339("2026-00-01T00:00:00Z"), "month out of range");
  ExpectError(ParseRfc3339("2026-11-25T24:00:00Z"), "hour out of range");
  ExpectError(ParseRfc3339("2026-11-25T12:60:00Z"), "minute out of range");
  ExpectError(ParseRfc3339("2026-11-25T12:04:60Z"), "second out of range");
  EXPECT_EQ(Rfc("2026-12-31T23:59:59Z"), Rfc("2027-01-01T00:00:00Z") - kSecond);
}

TEST(ParseRfc3339Test, Malformed) {
  ExpectError(ParseRfc3339("2026-11-25T12:04:00"), "missing UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00.123"), "missing UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00Zjunk"), "trailing");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00Z "), "trailing");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00+05:300"), "trailing");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00+0530"), "UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00+05"), "UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00 Z"), "UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00UTC"), "UTC offset");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00+24:00"), "UTC offset out of range");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00+05:60"), "UTC offset out of range");
  ExpectError(ParseRfc3339("2026-11-25T12:04:00.Z"), "decimal point");
  ExpectError(ParseRfc3339(""), R"(invalid RFC 3339 time "": expected)");
  for (const char* bad : {"2026-11-25", "2026-11-25T12:04Z", "2026/11/25T12:04:00Z",
                          "2026-11-25X12:04:00Z", "26-11-25T12:04:00Z", "2026-1-25T12:04:00Z",
                          "+2026-11-25T12:04:00Z", "2026-11-25T12:04:0aZ", " 2026-11-25T12:04:00Z",
                          "2026-11-25T1 :04:00Z", "-026-11-25T12:04:00Z"}) {
    ExpectError(ParseRfc3339(bad), "expected YYYY-MM-DD");
  }
}

TEST(ParseRfc3339Test, BeforeEpochAndRangeLimits) {
  EXPECT_EQ(Rfc("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(Rfc("1969-07-20T20:17:40Z"), -14182940000);
  EXPECT_EQ(Rfc("1900-01-01T00:00:00Z"), -2208988800000);
  EXPECT_EQ(Rfc("1600-03-01T00:00:00Z"), -11670912000000);
  EXPECT_EQ(Rfc("0001-01-01T00:00:00Z"), kMinTime);
  EXPECT_EQ(Rfc("0001-01-01T00:00:00-00:01"), kMinTime + kMinute);
  EXPECT_EQ(Rfc("9999-12-31T23:59:59.999Z"), kMaxTime);
  EXPECT_EQ(Rfc("9999-12-31T23:59:59.999999999Z"), kMaxTime);
  EXPECT_EQ(Rfc("9999-12-31T23:59:59+00:01"), kMaxTime - 999 - kMinute);
  ExpectError(ParseRfc3339("0000-12-31T23:59:59.999Z"), "outside the supported range");
  ExpectError(ParseRfc3339("0000-01-01T00:00:00Z"), "outside the supported range");
  ExpectError(ParseRfc3339("0001-01-01T00:00:00+00:01"), "outside the supported range");
  ExpectError(ParseRfc3339("9999-12-31T23:59:59-00:01"), "outside the supported range");
  ExpectError(ParseRfc3339("9999-12-31T23:59:59.999-23:59"), "outside the supported range");
}

// ---- FormatRfc3339 ----

TEST(FormatRfc3339Test, Examples) {
  EXPECT_EQ(FormatRfc3339(k20261125), "2026-11-25T12:04:00Z");
  EXPECT_EQ(FormatRfc3339(k20261125 + 120), "2026-11-25T12:04:00.120Z");
  EXPECT_EQ(FormatRfc3339(k20261125 + 1), "2026-11-25T12:04:00.001Z");
  EXPECT_EQ(FormatRfc3339(k20261125 + 999), "2026-11-25T12:04:00.999Z");
  EXPECT_EQ(FormatRfc3339(k20261125 + 100), "2026-11-25T12:04:00.100Z");
  EXPECT_EQ(FormatRfc3339(k20251125), "2025-11-25T12:04:00Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(951782400000), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1709164800000), "2024-02-29T00:00:00Z");
}

TEST(FormatRfc3339Test, NegativeTimes) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-kDay), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-kDay - 1), "1969-12-30T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(-14182940000), "1969-07-20T20:17:40Z");
  EXPECT_EQ(FormatRfc3339(-2208988800000), "1900-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-100000000001), "1966-10-31T14:13:19.999Z");
}

TEST(FormatRfc3339Test, RangeLimits) {
  EXPECT_EQ(FormatRfc3339(kMinTime), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMaxTime), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(kMinTime + 1), "0001-01-01T00:00:00.001Z");
  EXPECT_EQ(FormatRfc3339(kMaxTime - 999), "9999-12-31T23:59:59Z");
}

TEST(FormatRfc3339Test, OutsideTheRangeDoesNotCrash) {
  for (Millis t : {kMin64, kMin64 + 1, kMinTime - 1, kMaxTime + 1, kMax64 - 1, kMax64}) {
    std::string s;
    EXPECT_NO_THROW(s = FormatRfc3339(t));
    EXPECT_FALSE(s.empty());
    EXPECT_EQ(s.back(), 'Z');
    EXPECT_FALSE(ParseRfc3339(s).ok()) << s;
  }
}

// Walks every day of years 1..9999 with a naive calendar (independent of the civil-date
// algorithms under test) and checks formatting and parsing of each midnight and last millisecond.
TEST(FormatRfc3339Test, EveryDayMatchesNaiveCalendar) {
  const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  Millis t = kMinTime;
  char expected[64];
  for (int y = 1; y <= 9999; ++y) {
    const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    for (int m = 1; m <= 12; ++m) {
      const int days = month_days[m - 1] + (m == 2 && leap ? 1 : 0);
      for (int d = 1; d <= days; ++d, t += kDay) {
        std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT00:00:00Z", y, m, d);
        ASSERT_EQ(FormatRfc3339(t), expected);
        ASSERT_EQ(Rfc(expected), t) << expected;
        std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT23:59:59.999Z", y, m, d);
        ASSERT_EQ(FormatRfc3339(t + kDay - 1), expected);
      }
    }
  }
  EXPECT_EQ(t, kMaxTime + 1);
}

TEST(Rfc3339RoundTripTest, RandomValuesInRange) {
  std::mt19937_64 rng(20261125);
  std::uniform_int_distribution<Millis> any(kMinTime, kMaxTime);
  for (int i = 0; i < 200000; ++i) {
    const Millis t = i % 4 == 0 ? any(rng) / kSecond * kSecond : any(rng);
    const std::string s = FormatRfc3339(t);
    ASSERT_EQ(s.size(), t % kSecond == 0 ? 20u : 24u) << s;
    StatusOr<Millis> back = ParseRfc3339(s);
    ASSERT_TRUE(back.ok()) << s << ": " << back.error();
    ASSERT_EQ(*back, t) << s;
  }
}

// ---- EpochNumberToMillis ----

Millis Epoch(double v) {
  StatusOr<Millis> r = EpochNumberToMillis(v);
  EXPECT_TRUE(r.ok()) << v << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : -1;
}

TEST(EpochNumberToMillisTest, SecondsVersusMillis) {
  EXPECT_EQ(Epoch(1764072240.0), k20251125);
  EXPECT_EQ(Epoch(1764072240123.0), k20251125 + 123);
  EXPECT_EQ(Epoch(1795608240.0), k20261125);
  EXPECT_EQ(Epoch(0.0), 0);
  EXPECT_EQ(Epoch(-0.0), 0);
  EXPECT_EQ(Epoch(99999999999.0), 99999999999000);  // just below 1e11: seconds (year 5138)
  EXPECT_EQ(Epoch(1e11), 100000000000);             // 1e11 itself: milliseconds
  ExpectError(EpochNumberToMillis(-99999999999.0), "out of range");  // seconds: year -1199
  EXPECT_EQ(Epoch(-1e11), -100000000000);
}

TEST(EpochNumberToMillisTest, FractionalSeconds) {
  EXPECT_EQ(Epoch(1764072240.123), k20251125 + 123);
  EXPECT_EQ(Epoch(1764072240.5), k20251125 + 500);
  EXPECT_EQ(Epoch(1764072240.9999), k20251125 + 999);
  EXPECT_EQ(Epoch(1.5), 1500);
  EXPECT_EQ(Epoch(1.001), 1001);
  EXPECT_EQ(Epoch(0.001), 1);
  EXPECT_EQ(Epoch(0.0005), 0);
  EXPECT_EQ(Epoch(5e-324), 0);
  EXPECT_EQ(Epoch(1764072240123.7), k20251125 + 123);  // milliseconds: fraction dropped
}

TEST(EpochNumberToMillisTest, NegativeValuesTruncateTowardNegativeInfinity) {
  EXPECT_EQ(Epoch(-1.0), -1000);
  EXPECT_EQ(Epoch(-1.5), -1500);
  EXPECT_EQ(Epoch(-0.001), -1);
  EXPECT_EQ(Epoch(-0.0005), -1);
  EXPECT_EQ(Epoch(-1.0005), -1001);
  EXPECT_EQ(Epoch(-5e-324), -1);
  EXPECT_EQ(Epoch(-14182940.0), -14182940000);
  EXPECT_EQ(Epoch(-100000000000.5), -100000000001);
}

TEST(EpochNumberToMillisTest, RangeLimits) {
  EXPECT_EQ(Epoch(-62135596800.0), kMinTime);  // seconds
  EXPECT_EQ(Epoch(-62135596800000.0), kMinTime);
  EXPECT_EQ(Epoch(253402300799999.0), kMaxTime);
  EXPECT_EQ(Epoch(253402300799999.5), kMaxTime);
  ExpectError(EpochNumberToMillis(-62135596800.001), "out of range");
  ExpectError(EpochNumberToMillis(-62135596800001.0), "out of range");
  ExpectError(EpochNumberToMillis(253402300800000.0), "out of range");
}

TEST(EpochNumberToMillisTest, Errors) {
  ExpectError(EpochNumberToMillis(std::nan("")), "not a finite number");
  ExpectError(EpochNumberToMillis(std::numeric_limits<double>::infinity()), "not a finite number");
  ExpectError(EpochNumberToMillis(-std::numeric_limits<double>::infinity()), "not a finite");
  ExpectError(EpochNumberToMillis(1e300), "invalid epoch time 1e+300: out of range");
  ExpectError(EpochNumberToMillis(-1e300), "out of range");
  ExpectError(EpochNumberToMillis(std::numeric_limits<double>::max()), "out of range");
  ExpectError(EpochNumberToMillis(1e15), "out of range");
  ExpectError(EpochNumberToMillis(1e16), "out of range");
  ExpectError(EpochNumberToMillis(9.3e18), "out of range");
}

// ---- ParseTimestamp ----

Millis Ts(std::string_view text) {
  StatusOr<Millis> r = ParseTimestamp(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : -1;
}

TEST(ParseTimestampTest, Rfc3339) {
  EXPECT_EQ(Ts("2026-11-25T12:04:00Z"), k20261125);
  EXPECT_EQ(Ts("2026-11-25T12:04:00.123+05:30"), 1795588440123);
  EXPECT_EQ(Ts("0001-01-01T00:00:00Z"), kMinTime);
  ExpectError(ParseTimestamp("2026-02-30T00:00:00Z"), "day out of range");
  ExpectError(ParseTimestamp("2026-11-25"), "invalid RFC 3339 time");
}

TEST(ParseTimestampTest, EpochNumbers) {
  EXPECT_EQ(Ts("1764072240"), k20251125);
  EXPECT_EQ(Ts("1764072240123"), k20251125 + 123);
  EXPECT_EQ(Ts("1764072240.5"), k20251125 + 500);
  EXPECT_EQ(Ts("1764072240.123"), k20251125 + 123);
  EXPECT_EQ(Ts("1764072240.123999"), k20251125 + 123);
  EXPECT_EQ(Ts("1764072240123.9"), k20251125 + 123);
  EXPECT_EQ(Ts("0"), 0);
  EXPECT_EQ(Ts("-0"), 0);
  EXPECT_EQ(Ts("-1"), -1000);
  EXPECT_EQ(Ts("-1.0005"), -1001);
  EXPECT_EQ(Ts("-1.000"), -1000);
  EXPECT_EQ(Ts("99999999999"), 99999999999000);
  EXPECT_EQ(Ts("100000000000"), 100000000000);
  EXPECT_EQ(Ts("-100000000000.5"), -100000000001);
  EXPECT_EQ(Ts("00000001764072240"), k20251125);
  EXPECT_EQ(Ts("253402300799999"), kMaxTime);
  EXPECT_EQ(Ts("-62135596800"), kMinTime);
}

TEST(ParseTimestampTest, Errors) {
  ExpectError(ParseTimestamp("253402300800000"), R"(invalid epoch time "253402300800000": out)");
  ExpectError(ParseTimestamp("-62135596800.001"), "out of range");
  ExpectError(ParseTimestamp("99999999999999999999999"), "out of range");
  for (const char* bad : {"", "abc", "1e9", "1.", ".5", "+5", "-", "12:00", " 1764072240",
                          "1764072240 ", "1,5", "0x10"}) {
    ExpectError(ParseTimestamp(bad), "invalid");
  }
  ExpectError(ParseTimestamp("abc"), R"("abc": expected an RFC 3339 time or an epoch number)");
}

// ---- Never throws, whatever the input ----

TEST(TimeFuzzTest, ArbitraryInputsNeverThrowAndStayInRange) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789-+:.TtZz smhdwMSHDW\t\xff";
  const std::string seeds[] = {"2026-11-25T12:04:00.123+05:30", "1.5h", "1764072240.123"};
  for (int i = 0; i < 100000; ++i) {
    std::string s = seeds[i % 3];
    for (int k = static_cast<int>(rng() % 4); k >= 0; --k) {
      const std::size_t at = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          s.insert(at, 1, c);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1);
          break;
        default:
          if (at < s.size()) s[at] = c;
          break;
      }
    }
    ASSERT_NO_THROW({
      StatusOr<Millis> d = ParseDuration(s);
      if (d.ok()) {
        EXPECT_GE(*d, 0) << s;
      }
      for (const StatusOr<Millis>& r : {ParseRfc3339(s), ParseTimestamp(s)}) {
        if (r.ok()) {
          EXPECT_TRUE(InTimeRange(*r)) << s;
        }
      }
    }) << s;
    std::uint64_t bits = rng();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    if (i % 2 == 0) v = std::ldexp(static_cast<double>(bits % 2000000) - 1000000.0, i % 64 - 16);
    ASSERT_NO_THROW({
      StatusOr<Millis> r = EpochNumberToMillis(v);
      if (r.ok()) {
        EXPECT_TRUE(InTimeRange(*r)) << v;
      }
    }) << v;
  }
}

}  // namespace
}  // namespace tidemark
