// Engine-level rules: record validation, rejection counting, device statistics, snapshots.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

PipelineSpec Avg() {
  return MakeSpec("p", *WindowSpec::Tumbling(kMinute), kMinute, {{"avg", "avg(temperature)"}});
}

TEST(Engine, RejectsFutureStampedRecordsWithoutMovingTheWatermark) {
  ManualClock clock(100 * kMinute);
  Engine engine({Avg()}, clock, EngineOptions{5 * kMinute});
  Output out;
  OwnedRecord ok("a", 105 * kMinute, {{"temperature", 1.0}});  // exactly at the skew limit
  EXPECT_FALSE(engine.Process(ok.view(), out).rejected);
  OwnedRecord future("a", 105 * kMinute + 1, {{"temperature", 1.0}});
  EXPECT_EQ(engine.Process(future.view(), out).rejected, RejectReason::kFutureTime);
  EXPECT_EQ(engine.pipeline(0).Watermark(), 104 * kMinute);
  EXPECT_EQ(engine.rejected()[static_cast<int>(RejectReason::kFutureTime)], 1);
  EXPECT_EQ(engine.devices().stats(0).rejected, 1);
}

TEST(Engine, RejectsNonNumericValueForTheWholeRecord) {
  ManualClock clock(0);
  Engine engine({Avg()}, clock);
  Output out;
  OwnedRecord text("a", 0, {{"temperature", std::nullopt}});
  EXPECT_EQ(engine.Process(text.view(), out).rejected, RejectReason::kBadValue);
  OwnedRecord nan("a", 0, {{"temperature", std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_EQ(engine.Process(nan.view(), out).rejected, RejectReason::kBadValue);
  // A field no pipeline reads may be anything.
  OwnedRecord other("a", 0, {{"temperature", 2.0}, {"note", std::nullopt}});
  EXPECT_FALSE(engine.Process(other.view(), out).rejected);
  // A missing field is null, not an error.
  OwnedRecord missing("a", 0, {}, /*hash=*/77);
  EXPECT_FALSE(engine.Process(missing.view(), out).rejected);
  EXPECT_EQ(engine.pipeline(0).Metrics().counters.records, 2);
}

TEST(Engine, RejectsTimesOutsideTheSupportedRange) {
  ManualClock clock(0);
  Engine engine({Avg()}, clock, EngineOptions{std::nullopt});
  Output out;
  OwnedRecord far("a", kMaxTime + 1, {});
  EXPECT_EQ(engine.Process(far.view(), out).rejected, RejectReason::kBadTime);
  OwnedRecord early("a", kMinTime, {});
  EXPECT_FALSE(engine.Process(early.view(), out).rejected);
}

TEST(Engine, CountsDecoderRejectionsAndDeviceStatistics) {
  ManualClock clock(5000);
  Engine engine({Avg()}, clock);
  Output out;
  engine.CountRejected(RejectReason::kNotJson, "", 5000);
  OwnedRecord r("dev", 4000, {{"temperature", 1.0}});
  engine.Process(r.view(), out);
  EXPECT_EQ(engine.total(), 2);
  EXPECT_EQ(engine.rejected()[static_cast<int>(RejectReason::kNotJson)], 1);
  const DeviceStats& s = engine.devices().stats(*engine.devices().Find("dev"));
  EXPECT_EQ(s.records, 1);
  EXPECT_EQ(s.last_event_time, 4000);
  EXPECT_EQ(s.last_arrival_time, 5000);
}

TEST(Engine, RestoreIgnoresUnknownPipelinesAndKeepsCounters) {
  ManualClock clock(0);
  Engine a({Avg()}, clock);
  Output out;
  OwnedRecord r("dev", 10, {{"temperature", 3.0}});
  a.Process(r.view(), out);
  EngineSnapshot snap = a.Snapshot();
  snap.pipeline_names.push_back("gone");
  snap.pipelines.push_back({});
  Engine b({Avg()}, clock);
  EXPECT_EQ(b.Restore(snap), std::vector<std::string>{"gone"});
  EXPECT_EQ(b.pipeline(0).Metrics().open_windows, 1);
  EXPECT_EQ(b.total(), 1);
  EXPECT_EQ(b.devices().size(), 1u);
}

}  // namespace
}  // namespace tidemark
