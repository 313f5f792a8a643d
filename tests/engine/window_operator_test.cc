// Rules of the window operator, one at a time, through the Engine.
#include "engine/window_operator.h"

#include <gtest/gtest.h>

#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

struct Harness {
  ManualClock clock{1'000'000};
  Engine engine;
  Output out;

  explicit Harness(PipelineSpec spec, EngineOptions options = {})
      : engine({std::move(spec)}, clock, options) {}
  Outcome Feed(const char* device, Millis t, std::optional<double> v = 1.0, std::uint64_t h = 0) {
    OwnedRecord r(device, t, {{"v", v}}, h);
    if (!v) r.values.clear();
    auto result = engine.Process(r.view(), out);
    EXPECT_FALSE(result.rejected) << RejectReasonName(*result.rejected);
    return result.outcomes[0];
  }
  std::vector<WindowResult> Open() const {
    std::vector<WindowResult> all;
    engine.pipeline(0).ForEachOpenWindow([&](const WindowResult& w) { all.push_back(w); });
    return all;
  }
  const WindowOperator& op() const { return engine.pipeline(0); }
};

PipelineSpec Tumbling10(Millis watermark, WatermarkScope scope = WatermarkScope::kDevice) {
  return MakeSpec("p", *WindowSpec::Tumbling(10), watermark, {{"n", "count()"}, {"s", "sum(v)"}},
                  scope);
}

TEST(WindowOperator, WindowClosesExactlyWhenWatermarkReachesItsEnd) {
  Harness h(Tumbling10(5));
  h.Feed("a", 3);
  h.Feed("a", 14);  // watermark 9: [0,10) stays open
  EXPECT_TRUE(h.out.closed.empty());
  h.Feed("a", 15);  // watermark 10: closes [0,10)
  ASSERT_EQ(h.out.closed.size(), 1u);
  const WindowResult& w = h.out.closed[0];
  EXPECT_EQ(w.window, (Window{0, 10}));
  EXPECT_TRUE(w.final);
  EXPECT_EQ(w.closed_by, ClosedBy::kWatermark);
  EXPECT_EQ(w.closed_at, h.clock.Now());
  EXPECT_EQ(w.values[0], 1.0);
  EXPECT_EQ(h.op().Metrics().open_windows, 1);
  EXPECT_EQ(h.op().Metrics().counters.finalized, 1);
  // A record for the closed window is late; one for an open window is not.
  EXPECT_EQ(h.Feed("a", 9), Outcome::kLate);
  EXPECT_EQ(h.Feed("a", 10), Outcome::kAccepted);
}

TEST(WindowOperator, WatermarkNeverMovesBackwards) {
  Harness h(Tumbling10(0));
  h.Feed("a", 50);
  h.Feed("a", 20);
  EXPECT_EQ(h.op().Watermark(), 50);
  EXPECT_EQ(*h.op().DeviceWatermark(0), 50);
}

TEST(WindowOperator, DeviceScopeIsolatesAFastClock) {
  Harness h(Tumbling10(0));
  h.Feed("slow", 3);
  h.Feed("fast", 1000);  // far ahead
  EXPECT_EQ(h.Feed("slow", 5), Outcome::kAccepted);
  EXPECT_EQ(h.out.closed.size(), 0u);
}

TEST(WindowOperator, GlobalScopeLetsTheFastestDeviceCloseEveryone) {
  Harness h(Tumbling10(0, WatermarkScope::kGlobal));
  h.Feed("slow", 3);
  h.Feed("fast", 1000);
  ASSERT_EQ(h.out.closed.size(), 1u);
  EXPECT_EQ(h.out.closed[0].device, "slow");
  EXPECT_EQ(h.Feed("slow", 5), Outcome::kLate);
  EXPECT_EQ(h.out.late.back().watermark, 1000);
}

TEST(WindowOperator, IdleDeviceIsClosedAfterTimeoutOfProcessingTime) {
  PipelineSpec spec = Tumbling10(1000);
  spec.idle_timeout = 60 * kSecond;
  Harness h(spec);
  h.Feed("quiet", 3);
  h.Feed("busy", 3);
  h.clock.Advance(59 * kSecond);
  h.Feed("busy", 4);
  h.engine.Tick(h.out);
  EXPECT_TRUE(h.out.closed.empty());
  h.clock.Advance(1 * kSecond);
  h.engine.Tick(h.out);  // quiet has been silent 60 s; busy only 1 s
  ASSERT_EQ(h.out.closed.size(), 1u);
  EXPECT_EQ(h.out.closed[0].device, "quiet");
  EXPECT_EQ(h.out.closed[0].closed_by, ClosedBy::kIdle);
  EXPECT_EQ(h.out.closed[0].closed_at, h.clock.Now());
  // Its closed window is final: a record for it is late; a later window opens normally.
  EXPECT_EQ(h.Feed("quiet", 5), Outcome::kLate);
  EXPECT_EQ(h.Feed("quiet", 12), Outcome::kAccepted);
}

TEST(WindowOperator, IdleTimeoutZeroDisablesIdleClose) {
  Harness h(Tumbling10(1000));
  h.Feed("a", 3);
  h.clock.Advance(365 * kDay);
  h.engine.Tick(h.out);
  EXPECT_TRUE(h.out.closed.empty());
}

TEST(WindowOperator, DuplicateIsCountedOnceWhileItsWindowIsOpen) {
  Harness h(Tumbling10(100));
  EXPECT_EQ(h.Feed("a", 3, 5.0, 42), Outcome::kAccepted);
  EXPECT_EQ(h.Feed("a", 3, 5.0, 42), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed("a", 3, 5.0, 43), Outcome::kAccepted);  // another payload at the same time
  EXPECT_EQ(h.Feed("b", 3, 5.0, 42), Outcome::kAccepted);  // another device
  auto open = h.Open();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].values[0], 2.0);
  EXPECT_EQ(h.op().Metrics().counters.duplicates, 1);
}

TEST(WindowOperator, DedupOffCountsCopies) {
  PipelineSpec spec = Tumbling10(100);
  spec.dedup = false;
  Harness h(spec);
  h.Feed("a", 3, 5.0, 42);
  EXPECT_EQ(h.Feed("a", 3, 5.0, 42), Outcome::kAccepted);
}

TEST(WindowOperator, SlidingRecordCountsOnlyInItsOpenWindows) {
  Harness h(MakeSpec("p", *WindowSpec::Sliding(10, 5), 0, {{"n", "count()"}}));
  h.Feed("a", 7);   // [0,10) and [5,15)
  h.Feed("a", 10);  // watermark 10: [0,10) closes; [5,15) and [10,20) open
  ASSERT_EQ(h.out.closed.size(), 1u);
  EXPECT_EQ(h.out.closed[0].window, (Window{0, 10}));
  EXPECT_EQ(h.Feed("a", 8), Outcome::kAccepted);  // counts in [5,15) only
  auto open = h.Open();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].window, (Window{5, 15}));
  EXPECT_EQ(open[0].values[0], 3.0);
  EXPECT_EQ(open[1].values[0], 1.0);
}

TEST(WindowOperator, SessionsMergeAndCloseAtLastEventPlusGap) {
  Harness h(MakeSpec("s", *WindowSpec::Session(10), 0, {{"n", "count()"}, {"s", "sum(v)"}}));
  h.Feed("a", 100, 1);
  h.Feed("a", 130, 2);  // watermark 130 closes [100,110)
  ASSERT_EQ(h.out.closed.size(), 1u);
  EXPECT_EQ(h.out.closed[0].window, (Window{100, 110}));
  h.Feed("a", 125, 4);  // [125,135) merges with [130,140) -> [125,140)
  auto open = h.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].window, (Window{125, 140}));
  EXPECT_EQ(open[0].values[1], 6.0);
  EXPECT_EQ(h.Feed("a", 119), Outcome::kLate);  // [119,129) ends before watermark 130
}

TEST(WindowOperator, RecordBridgingTwoOpenSessionsMergesAllThree) {
  Harness h(MakeSpec("s", *WindowSpec::Session(10), 100, {{"n", "count()"}}));
  h.Feed("a", 100);
  h.Feed("a", 118);
  EXPECT_EQ(h.Open().size(), 2u);
  h.Feed("a", 109);  // [109,119) touches [100,110) and [118,128)
  auto open = h.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].window, (Window{100, 128}));
  EXPECT_EQ(open[0].values[0], 3.0);
  EXPECT_EQ(h.op().Metrics().counters.evicted, 1);  // the absorbed session left memory
}

TEST(WindowOperator, FinalSessionNeverChangesANewOneStartsInstead) {
  Harness h(MakeSpec("s", *WindowSpec::Session(10), 0, {{"n", "count()"}}));
  h.Feed("a", 100);
  h.Feed("a", 112);  // closes [100,110)
  ASSERT_EQ(h.out.closed.size(), 1u);
  // 105 would touch the final [100,110) but its own [105,115) is open: it joins [112,122).
  EXPECT_EQ(h.Feed("a", 105), Outcome::kAccepted);
  auto open = h.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].window, (Window{105, 122}));
  EXPECT_EQ(h.out.closed.size(), 1u);
}

TEST(WindowOperator, ProcessingTimeModeUsesArrivalAndClosesOnTicks) {
  PipelineSpec spec = Tumbling10(0);
  spec.window = *WindowSpec::Tumbling(kMinute);
  spec.time = TimeMode::kProcessing;
  Harness h(spec);
  h.clock.Set(10 * kMinute + 5);
  h.Feed("a", 123456);  // the event time is ignored
  auto open = h.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].window.start, 10 * kMinute);
  h.clock.Set(11 * kMinute);
  h.engine.Tick(h.out);  // no record needed: processing time closes it
  ASSERT_EQ(h.out.closed.size(), 1u);
}

TEST(WindowOperator, MetricsCountStateHonestly) {
  Harness h(Tumbling10(1000));
  for (int d = 0; d < 100; ++d) h.Feed(("device-" + std::to_string(d)).c_str(), 3);
  PipelineMetrics m = h.op().Metrics();
  EXPECT_EQ(m.open_windows, 100);
  EXPECT_EQ(m.counters.records, 100);
  // At least the window structs and aggregate states, and not absurdly more.
  EXPECT_GT(m.state_bytes, 100 * (16 + 2 * 32));
  EXPECT_LT(m.state_bytes, 100 * 1000);
}

}  // namespace
}  // namespace tidemark

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

TEST(WindowOperatorCheckpoint, DirtyDevicesAreThoseWhoseStateChanged) {
  ManualClock clock(0);
  Engine engine(
      {MakeSpec("p", *WindowSpec::Tumbling(10), 0, {{"n", "count()"}}, WatermarkScope::kGlobal)},
      clock);
  WindowOperator& op = const_cast<WindowOperator&>(engine.pipeline(0));
  Output out;
  OwnedRecord a("a", 3), b("b", 4);
  engine.Process(a.view(), out);
  engine.Process(b.view(), out);
  EXPECT_EQ(op.TakeDirtyDevices(), (std::vector<DeviceId>{0, 1}));
  EXPECT_TRUE(op.TakeDirtyDevices().empty());
  OwnedRecord b2("b", 25);  // the global watermark closes a's window too: a changed
  engine.Process(b2.view(), out);
  auto dirty = op.TakeDirtyDevices();
  std::sort(dirty.begin(), dirty.end());
  EXPECT_EQ(dirty, (std::vector<DeviceId>{0, 1}));
  EXPECT_TRUE(op.SnapshotDevice(0).windows.empty());
  EXPECT_EQ(op.SnapshotDevice(1).windows.size(), 1u);
  EXPECT_EQ(op.SnapshotHeader().counters.records, 3);
}

}  // namespace
}  // namespace tidemark

namespace tidemark {
namespace {

TEST(WindowOperatorTimers, GlobalSessionsKeepOneTimerPerWindowNotPerRecord) {
  ManualClock clock(0);
  PipelineSpec spec = testing::MakeSpec("s", *WindowSpec::Session(5 * kMinute), 30 * kMinute,
                                        {{"n", "count()"}}, WatermarkScope::kGlobal);
  spec.dedup = false;
  Engine engine({spec}, clock);
  Output out;
  for (int i = 0; i < 20000; ++i) {  // 20 devices, one reading a second each
    testing::OwnedRecord r("d" + std::to_string(i % 20), (i / 20) * kSecond);
    engine.Process(r.view(), out);
  }
  const PipelineMetrics m = engine.pipeline(0).Metrics();
  EXPECT_EQ(m.open_windows, 20);
  EXPECT_LT(m.state_bytes, 20 * 1000);  // one 16-byte timer per record would be 320 kB
}

TEST(WindowOperatorTimers, ValidationRejectsHandBuiltBadWindows) {
  PipelineSpec spec = testing::MakeSpec("p", *WindowSpec::Tumbling(10), 0, {{"n", "count()"}});
  spec.window.slide = 0;
  EXPECT_FALSE(!ValidatePipeline(spec).has_value());
  spec.window = *WindowSpec::Session(10);
  spec.window.gap = INT64_MAX / 2;
  EXPECT_TRUE(ValidatePipeline(spec).has_value());
}

}  // namespace
}  // namespace tidemark

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

std::vector<std::uint64_t> Sorted(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::size_t FingerprintCount(const DeviceSnapshot& d) {
  std::size_t n = 0;
  for (const WindowSnapshot& w : d.windows) n += w.fingerprints.size();
  return n;
}

TEST(WindowOperatorCheckpoint, TakeDeviceCheckpointHandsOutEachFingerprintOnce) {
  ManualClock clock(0);
  Engine engine({MakeSpec("p", *WindowSpec::Tumbling(10), 100, {{"n", "count()"}})}, clock);
  Output out;
  for (int t = 0; t < 5; ++t) engine.ProcessAt(OwnedRecord("a", t).view(), t, out);
  // The first call hands out every fingerprint: nothing of the device was taken before.
  DeviceSnapshot first = engine.TakeDeviceCheckpoint(0, 0);
  ASSERT_EQ(first.windows.size(), 1u);
  EXPECT_EQ(Sorted(first.windows[0].fingerprints),
            Sorted(engine.pipeline(0).SnapshotDevice(0).windows[0].fingerprints));
  EXPECT_EQ(first.windows[0].fingerprints.size(), 5u);
  EXPECT_EQ(FingerprintCount(engine.TakeDeviceCheckpoint(0, 0)), 0u);
  // Then only what was added since; a duplicate adds nothing.
  engine.ProcessAt(OwnedRecord("a", 2).view(), 6, out);
  engine.ProcessAt(OwnedRecord("a", 7).view(), 7, out);
  engine.ProcessAt(OwnedRecord("a", 12).view(), 8, out);
  DeviceSnapshot next = engine.TakeDeviceCheckpoint(0, 0);
  ASSERT_EQ(next.windows.size(), 2u);
  EXPECT_EQ(next.windows[0].fingerprints.size(), 1u);
  EXPECT_EQ(next.windows[1].fingerprints.size(), 1u);
  EXPECT_EQ(next.windows[0].records, 6);
  // The full snapshot still holds them all.
  EXPECT_EQ(engine.pipeline(0).SnapshotDevice(0).windows[0].fingerprints.size(), 6u);
}

TEST(WindowOperatorCheckpoint, RestoredFingerprintsAreNotHandedOutAgain) {
  ManualClock clock(0);
  const auto spec = MakeSpec("s", *WindowSpec::Session(10), 100, {{"n", "count()"}});
  Engine engine({spec}, clock);
  Output out;
  engine.ProcessAt(OwnedRecord("a", 0).view(), 0, out);   // session [0,10)
  engine.ProcessAt(OwnedRecord("a", 20).view(), 1, out);  // session [20,30)
  Engine restored({spec}, clock);
  restored.Restore(engine.Snapshot());
  EXPECT_EQ(FingerprintCount(restored.TakeDeviceCheckpoint(0, 0)), 0u);
  // [12,22) grows the second session; [5,15) merges both: the merged one carries the
  // unsaved fingerprints of both.
  restored.ProcessAt(OwnedRecord("a", 12).view(), 2, out);
  restored.ProcessAt(OwnedRecord("a", 5).view(), 3, out);
  DeviceSnapshot d = restored.TakeDeviceCheckpoint(0, 0);
  ASSERT_EQ(d.windows.size(), 1u);
  EXPECT_EQ(d.windows[0].window, (Window{0, 30}));
  EXPECT_EQ(d.windows[0].fingerprints.size(), 2u);
  EXPECT_EQ(restored.pipeline(0).SnapshotDevice(0).windows[0].fingerprints.size(), 4u);
}

}  // namespace
}  // namespace tidemark
