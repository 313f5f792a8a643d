#include "engine/window.h"

#include <gtest/gtest.h>

#include <vector>

namespace tidemark {
namespace {

std::vector<Window> WindowsOf(const WindowSpec& spec, Millis t) {
  std::vector<Window> out;
  ForEachWindow(spec, t, [&](Window w) { out.push_back(w); });
  return out;
}

TEST(Window, TumblingIsHalfOpenAndEpochAligned) {
  auto spec = *WindowSpec::Tumbling(10 * kMinute);
  EXPECT_EQ(LatestWindow(spec, 0), (Window{0, 10 * kMinute}));
  EXPECT_EQ(LatestWindow(spec, 10 * kMinute - 1), (Window{0, 10 * kMinute}));
  EXPECT_EQ(LatestWindow(spec, 10 * kMinute), (Window{10 * kMinute, 20 * kMinute}));
  EXPECT_EQ(WindowsOf(spec, 4 * kMinute).size(), 1u);
}

TEST(Window, TumblingFloorsTimesBeforeTheEpoch) {
  auto spec = *WindowSpec::Tumbling(10);
  EXPECT_EQ(LatestWindow(spec, -1), (Window{-10, 0}));
  EXPECT_EQ(LatestWindow(spec, -10), (Window{-10, 0}));
  EXPECT_EQ(LatestWindow(spec, -11), (Window{-20, -10}));
}

TEST(Window, OffsetShiftsAlignmentLikeSparkStartTime) {
  auto spec = *WindowSpec::Tumbling(kHour, 15 * kMinute);
  EXPECT_EQ(LatestWindow(spec, 10 * kMinute), (Window{-45 * kMinute, 15 * kMinute}));
  EXPECT_EQ(LatestWindow(spec, 15 * kMinute), (Window{15 * kMinute, 75 * kMinute}));
  // Offsets are normalized modulo the slide, negative ones included.
  EXPECT_EQ(WindowSpec::Tumbling(10, -3)->offset, 7);
  EXPECT_EQ(WindowSpec::Tumbling(10, 23)->offset, 3);
}

TEST(Window, SlidingListsEveryContainingWindowLatestFirst) {
  auto spec = *WindowSpec::Sliding(10 * kMinute, 5 * kMinute);
  const Millis t = 12 * kMinute;
  EXPECT_EQ(WindowsOf(spec, t),
            (std::vector<Window>{{10 * kMinute, 20 * kMinute}, {5 * kMinute, 15 * kMinute}}));
}

TEST(Window, SlidingMatchesBruteForceForAwkwardSizes) {
  for (Millis size : {1, 7, 10, 13}) {
    for (Millis slide = 1; slide <= size; ++slide) {
      for (Millis offset : {0, 1, 5, -4}) {
        auto spec = *WindowSpec::Sliding(size, slide, offset);
        for (Millis t = -40; t <= 40; ++t) {
          std::vector<Window> expected;
          for (Millis s = t; s > t - size; --s) {
            if (((s - offset) % slide + slide) % slide == 0) expected.push_back({s, s + size});
          }
          EXPECT_EQ(WindowsOf(spec, t), expected)
              << "size " << size << " slide " << slide << " offset " << offset << " t " << t;
        }
      }
    }
  }
}

TEST(Window, SessionWindowOfARecordIsItsGap) {
  auto spec = *WindowSpec::Session(5 * kMinute);
  EXPECT_EQ(LatestWindow(spec, 100), (Window{100, 100 + 5 * kMinute}));
}

TEST(Window, LatenessIsDecidedByTheLatestWindowEnd) {
  auto tumbling = *WindowSpec::Tumbling(10);
  EXPECT_FALSE(IsLate(tumbling, 5, 9));
  EXPECT_TRUE(IsLate(tumbling, 5, 10));  // the window [0,10) is closed at watermark 10
  auto sliding = *WindowSpec::Sliding(10, 5);
  EXPECT_FALSE(IsLate(sliding, 7, 10));  // [5,15) still open
  EXPECT_TRUE(IsLate(sliding, 7, 15));
  auto session = *WindowSpec::Session(10);
  EXPECT_FALSE(IsLate(session, 7, 16));
  EXPECT_TRUE(IsLate(session, 7, 17));
  EXPECT_FALSE(IsLate(tumbling, 5, INT64_MIN));
}

TEST(Window, RejectsBadSpecsWithReasons) {
  EXPECT_FALSE(WindowSpec::Tumbling(0).ok());
  EXPECT_NE(WindowSpec::Sliding(10, 20).error().find("must not exceed"), std::string::npos);
  EXPECT_NE(WindowSpec::Sliding(kDay, 1).error().find("more than 1000 windows"), std::string::npos);
  EXPECT_FALSE(WindowSpec::Session(-1).ok());
  EXPECT_FALSE(WindowSpec::Tumbling(kMaxWindowSpan + 1).ok());
  EXPECT_EQ(WindowSpec::Sliding(10 * kMinute, kMinute)->Describe(), "sliding 10m every 1m");
}

}  // namespace
}  // namespace tidemark
