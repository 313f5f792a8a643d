// The Delhi/Sydney scenario from the engine issue: why event time, and what watermarks do.
#include <gtest/gtest.h>

#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

const Millis kNoon = *ParseRfc3339("2026-11-25T12:00:00Z");

struct Scenario {
  ManualClock clock{kNoon};
  Engine engine;
  Output out;
  std::vector<Outcome> d2_outcomes;

  explicit Scenario(std::vector<PipelineSpec> specs) : engine(std::move(specs), clock) {
    Feed("D1", 4, 4, 20.0);
    Feed("D1", 14, 14, 22.0);
    IngestResult r = Feed("D2", 4, 14, 23.0);  // Sydney: read 12:04, arrives 12:14
    d2_outcomes.assign(r.outcomes.begin(), r.outcomes.end());
  }
  IngestResult Feed(const char* device, int read_minute, int arrive_minute, double temp) {
    clock.Set(kNoon + arrive_minute * kMinute);
    OwnedRecord rec(device, kNoon + read_minute * kMinute, {{"temperature", temp}});
    return engine.Process(rec.view(), out);
  }
  std::vector<WindowResult> Open(std::size_t pipeline) const {
    std::vector<WindowResult> all;
    engine.pipeline(pipeline).ForEachOpenWindow([&](const WindowResult& w) { all.push_back(w); });
    return all;
  }
};

PipelineSpec TenMinuteAvg(std::string name, Millis watermark, WatermarkScope scope) {
  return MakeSpec(std::move(name), *WindowSpec::Tumbling(10 * kMinute), watermark,
                  {{"avg_temp", "avg(temperature)"}, {"readings", "count()"}}, scope);
}

TEST(Scenario, SydneyReadingLandsInTheTwelveOClockWindowByEventTime) {
  Scenario s({TenMinuteAvg("avg_temp_10m", 30 * kMinute, WatermarkScope::kDevice)});
  EXPECT_EQ(s.d2_outcomes, std::vector<Outcome>{Outcome::kAccepted});
  const auto open = s.Open(0);
  ASSERT_EQ(open.size(), 3u);  // D1 12:00, D1 12:10, D2 12:00
  const WindowResult* d2 = nullptr;
  for (const auto& w : open) {
    if (w.device == "D2") d2 = &w;
  }
  ASSERT_NE(d2, nullptr);
  EXPECT_EQ(d2->window, (Window{kNoon, kNoon + 10 * kMinute}));
  EXPECT_EQ(d2->values[0], 23.0);
  EXPECT_FALSE(d2->final);
  EXPECT_TRUE(s.out.late.empty());
}

TEST(Scenario, TwoMinuteGlobalWatermarkMakesSydneyLateAndLogsIt) {
  Scenario s({TenMinuteAvg("g", 2 * kMinute, WatermarkScope::kGlobal)});
  EXPECT_EQ(s.d2_outcomes, std::vector<Outcome>{Outcome::kLate});
  ASSERT_EQ(s.out.late.size(), 1u);
  const LateRecord& late = s.out.late[0];
  EXPECT_EQ(late.device, "D2");
  EXPECT_EQ(late.event_time, kNoon + 4 * kMinute);
  EXPECT_EQ(late.arrival_time, kNoon + 14 * kMinute);
  EXPECT_EQ(late.watermark, kNoon + 12 * kMinute);
  EXPECT_EQ(late.missed, (Window{kNoon, kNoon + 10 * kMinute}));
  // D1's 12:00 window closed when the watermark passed 12:10, with D1's reading only.
  ASSERT_EQ(s.out.closed.size(), 1u);
  EXPECT_EQ(s.out.closed[0].device, "D1");
  EXPECT_EQ(s.out.closed[0].values[0], 20.0);
  EXPECT_EQ(s.out.closed[0].closed_by, ClosedBy::kWatermark);
  EXPECT_EQ(s.engine.pipeline(0).Metrics().counters.late, 1);
}

TEST(Scenario, TwoMinuteDeviceWatermarkKeepsSydneyOnTime) {
  Scenario s({TenMinuteAvg("d", 2 * kMinute, WatermarkScope::kDevice)});
  EXPECT_EQ(s.d2_outcomes, std::vector<Outcome>{Outcome::kAccepted});
  EXPECT_TRUE(s.out.late.empty());
  EXPECT_EQ(*s.engine.pipeline(0).DeviceWatermark(*s.engine.devices().Find("D2")),
            kNoon + 2 * kMinute);
}

TEST(Scenario, ProcessingTimePutsSydneyInTheWrongWindow) {
  PipelineSpec p = TenMinuteAvg("p", 0, WatermarkScope::kDevice);
  p.time = TimeMode::kProcessing;
  Scenario s({p});
  bool found = false;
  for (const auto& w : s.Open(0)) {
    if (w.device == "D2") {
      EXPECT_EQ(w.window.start, kNoon + 10 * kMinute);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tidemark
