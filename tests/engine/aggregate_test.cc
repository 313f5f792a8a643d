#include "engine/aggregate.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

AggregateSpec Parse(const char* expr) { return *ParseAggregate("a", expr); }

TEST(Aggregate, ParsesEveryFunction) {
  EXPECT_EQ(Parse("count()").fn, AggregateFn::kCount);
  EXPECT_EQ(Parse("count(*)").fn, AggregateFn::kCount);
  EXPECT_EQ(Parse("count(temperature)").fn, AggregateFn::kCountField);
  EXPECT_EQ(Parse("SUM(x)").fn, AggregateFn::kSum);
  EXPECT_EQ(Parse(" avg( sensor.temp ) ").field, "sensor.temp");
  EXPECT_EQ(Parse("min(x)").fn, AggregateFn::kMin);
  EXPECT_EQ(Parse("max(x)").fn, AggregateFn::kMax);
  EXPECT_EQ(Parse("first(x)").fn, AggregateFn::kFirst);
  EXPECT_EQ(Parse("last(x)").fn, AggregateFn::kLast);
  EXPECT_EQ(Parse("avg(t)").Expression(), "avg(t)");
  EXPECT_EQ(Parse("count(t)").OutputType(), "long");
  EXPECT_EQ(Parse("avg(t)").OutputType(), "double");
}

TEST(Aggregate, ParseErrorsNameAliasAndExpression) {
  auto r = ParseAggregate("avg_temp", "median(temperature)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("avg_temp"), std::string::npos);
  EXPECT_NE(r.error().find("unknown function \"median\""), std::string::npos);
  EXPECT_FALSE(ParseAggregate("a", "avg(").ok());
  EXPECT_FALSE(ParseAggregate("a", "avg()").ok());
  EXPECT_FALSE(ParseAggregate("a", "avg(a b)").ok());
  EXPECT_FALSE(ParseAggregate("bad alias", "count()").ok());
}

struct Feed {
  AggregateFn fn;
  AggState s{};
  std::uint64_t seq = 0;
  Feed& Add(std::optional<double> v, Millis t = 0) {
    AggAdd(fn, s, v, t, seq++);
    return *this;
  }
  std::optional<double> Result() const { return AggFinalize(fn, s); }
};

TEST(Aggregate, NullsFollowSql) {
  const std::optional<double> null;
  EXPECT_EQ(Feed{AggregateFn::kCount}.Add(null).Add(1).Result(), 2.0);
  EXPECT_EQ(Feed{AggregateFn::kCountField}.Add(null).Add(1).Result(), 1.0);
  EXPECT_EQ(Feed{AggregateFn::kCountField}.Add(null).Result(), 0.0);
  for (AggregateFn fn : {AggregateFn::kSum, AggregateFn::kAvg, AggregateFn::kMin, AggregateFn::kMax,
                         AggregateFn::kFirst, AggregateFn::kLast}) {
    EXPECT_EQ(Feed{fn}.Add(null).Add(null).Result(), std::nullopt);
  }
  EXPECT_EQ(Feed{AggregateFn::kAvg}.Add(null).Add(2).Add(4).Result(), 3.0);
  EXPECT_EQ(Feed{AggregateFn::kSum}.Add(null).Add(-2).Add(4).Result(), 2.0);
}

TEST(Aggregate, MinMaxIncludingNegatives) {
  EXPECT_EQ(Feed{AggregateFn::kMin}.Add(-1).Add(-5).Add(3).Result(), -5.0);
  EXPECT_EQ(Feed{AggregateFn::kMax}.Add(-7).Add(-5).Result(), -5.0);
}

TEST(Aggregate, FirstAndLastGoByEventTimeThenArrival) {
  EXPECT_EQ(Feed{AggregateFn::kFirst}.Add(1, 50).Add(2, 10).Add(3, 30).Result(), 2.0);
  EXPECT_EQ(Feed{AggregateFn::kLast}.Add(1, 50).Add(2, 10).Add(3, 30).Result(), 1.0);
  // Ties: first keeps the earliest arrival, last takes the latest arrival.
  EXPECT_EQ(Feed{AggregateFn::kFirst}.Add(1, 10).Add(2, 10).Result(), 1.0);
  EXPECT_EQ(Feed{AggregateFn::kLast}.Add(1, 10).Add(2, 10).Result(), 2.0);
}

TEST(Aggregate, MergeEqualsAddingEverythingToOneState) {
  for (AggregateFn fn :
       {AggregateFn::kCount, AggregateFn::kCountField, AggregateFn::kSum, AggregateFn::kAvg,
        AggregateFn::kMin, AggregateFn::kMax, AggregateFn::kFirst, AggregateFn::kLast}) {
    Feed all{fn}, left{fn}, right{fn};
    const double values[] = {5, -2, 9, 9, 1};
    const Millis times[] = {30, 10, 40, 10, 20};
    for (int i = 0; i < 5; ++i) {
      all.Add(values[i], times[i]);
      Feed& half = i % 2 ? right : left;
      AggAdd(fn, half.s, values[i], times[i], static_cast<std::uint64_t>(i));
    }
    AggState merged = left.s;
    AggMerge(fn, merged, right.s);
    EXPECT_EQ(AggFinalize(fn, merged), all.Result()) << static_cast<int>(fn);
    AggState empty{};
    AggMerge(fn, empty, all.s);
    EXPECT_EQ(AggFinalize(fn, empty), all.Result());
  }
}

TEST(Aggregate, StateIsSmall) { EXPECT_LE(sizeof(AggState), 32u); }

}  // namespace
}  // namespace tidemark
