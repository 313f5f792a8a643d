// The gateway's wall-clock rules end to end (docs/OPERATING.md "Wall-clock rules"): retention
// counts from when a window became final (closed_at), not from its event time, so a backfill of
// year-old readings stays readable; and a wall clock earlier than the newest commit in the database
// (an edge box booted without a real-time clock, a clock set back) holds messages unacknowledged
// instead of rejecting them. Real mosquitto, the real tidemark binary (its clock set back with
// libfaketime), real SQLite, real HTTP.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/time.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {
namespace {

constexpr auto kWait = std::chrono::seconds(30);

const char* const kHourly = R"toml(
[[pipeline]]
name = "hourly"
window = "1 hour"
aggregates = { readings = "count()", seq_sum = "sum(seq)" }
)toml";

std::string Reading(Millis t, std::int64_t seq) {
  return "{\"deviceId\":\"d\",\"eventTime\":" + std::to_string(t) +
         ",\"seq\":" + std::to_string(seq) + "}";
}

std::int64_t FinalWindows(const Gateway& gw) {
  return QueryInt(gw.db_path(), "SELECT count(*) FROM windows WHERE status = 'final'");
}

class WallClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
  }
  void TearDown() override {
    if (HasFailure()) dir_.Keep();
  }

  TempDir dir_{"tidemark_clock"};
  std::unique_ptr<Mosquitto> broker_;
};

// A device uploads a week of hourly readings from a year ago (an offline buffer, a replay). The
// 168 windows close as the week streams in; with the default retention (7 days) they stay: they
// became final now. (Counted from their end in event time they were deleted at once.)
TEST_F(WallClockTest, AYearOldBackfillStaysReadableAfterItCloses) {
  Gateway gw(dir_.path(), broker_->url(), kHourly);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  const Millis base = FloorTo(NowMillis() - 365 * kDay, kHour);
  std::vector<std::string> week;
  for (std::int64_t h = 0; h <= 7 * 24; ++h)
    week.push_back(Reading(base + h * kHour + 5 * kMinute, h));
  ASSERT_TRUE(pub.Publish("devices/d/telemetry", week));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), static_cast<std::int64_t>(week.size()), kWait));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two retention passes
  EXPECT_EQ(FinalWindows(gw), 7 * 24) << gw.Log();
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT min(window_start) FROM windows"), base);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  // And after a restart.
  ASSERT_TRUE(gw.Start()) << gw.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(FinalWindows(gw), 7 * 24) << gw.Log();
}

// retention = "3s": a year-old window is deleted 3 s after its closed_at, not before.
TEST_F(WallClockTest, AFinalWindowIsDeletedRetentionAfterItsClosedAt) {
  Gateway gw(dir_.path(), broker_->url(), kHourly, "", "retention = \"3s\"");
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  const Millis base = FloorTo(NowMillis() - 365 * kDay, kHour);
  ASSERT_TRUE(pub.Publish("devices/d/telemetry", {Reading(base, 0), Reading(base + kHour, 1)}));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 2, kWait));
  ASSERT_EQ(FinalWindows(gw), 1);
  const Millis closed_at =
      QueryInt(gw.db_path(), "SELECT closed_at FROM windows WHERE status = 'final'");
  EXPECT_LE(closed_at, NowMillis());
  EXPECT_GT(closed_at, NowMillis() - 10 * kSecond);
  Millis gone_at = 0;
  while (NowMillis() < closed_at + 10 * kSecond) {
    if (FinalWindows(gw) == 0) {
      gone_at = NowMillis();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(gone_at, 0) << "never deleted\n" << gw.Log();
  EXPECT_GE(gone_at - closed_at, 3 * kSecond);
  EXPECT_LE(gone_at - closed_at, 3 * kSecond + 2500);  // a retention pass runs every second
}

// Restarted with its wall clock a year behind the database, the gateway is not ready, says why
// (log, /readyz?verbose, /api/v1/state, /metrics) and holds what arrives unacknowledged; once the
// clock catches up (NTP answered) it commits the held messages, each once, without a restart.
TEST_F(WallClockTest, AClockBehindTheDatabaseHoldsMessagesUntilItCatchesUp) {
  const int port = FreeLoopbackPort();
  Gateway gw(dir_.path(), broker_->url(), kHourly, "", "",
             "listen = \"127.0.0.1:" + std::to_string(port) + "\"");
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  const Millis base = FloorTo(NowMillis() - 3 * kHour, kHour);
  ASSERT_TRUE(pub.Publish("devices/d/telemetry", {Reading(base, 0), Reading(base + 1000, 1)}));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 2, kWait));
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();

  gw.SetClockOffset(-365 * kDay);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5);
  auto get = [&](const std::string& path) {
    auto res = http.Get(path);
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  };
  ASSERT_TRUE(gw.process().WaitForLog("holding messages unacknowledged", std::chrono::seconds(5)))
      << gw.Log();
  const auto [ready_status, ready_body] = get("/readyz?verbose");
  EXPECT_EQ(ready_status, 503) << ready_body;
  EXPECT_NE(ready_body.find("[-]clock behind"), std::string::npos) << ready_body;
  const auto state = nlohmann::json::parse(get("/api/v1/state").second, nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["clock"]["ok"], false) << state.dump();
  const StatusOr<Millis> clock_now = ParseRfc3339(state["clock"]["now"].get<std::string>());
  const StatusOr<Millis> newest = ParseRfc3339(state["clock"]["newest_commit"].get<std::string>());
  ASSERT_TRUE(clock_now.ok() && newest.ok()) << state.dump();
  EXPECT_LT(*clock_now, *newest);
  EXPECT_NE(get("/metrics").second.find("tidemark_clock_ok 0"), std::string::npos);

  ASSERT_TRUE(pub.Publish("devices/d/telemetry", {Reading(base + 2000, 2), Reading(base + 3000, 3),
                                                  Reading(base + kHour, 4)}));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(LoggedMessages(gw.db_path()), 2) << "committed while the clock was behind\n"
                                             << gw.Log();
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT count(*) FROM rejected"), 0);

  gw.SetClockOffset(0);  // NTP answers
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 5, kWait)) << gw.Log();
  EXPECT_TRUE(gw.process().WaitForLog("ingest resumed", std::chrono::seconds(5))) << gw.Log();
  EXPECT_EQ(get("/readyz").first, 200);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT sum(records) FROM windows"), 5);
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT sum(json_extract(vals, '$.seq_sum')) FROM windows"),
            0 + 1 + 2 + 3 + 4);
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT count(*) FROM rejected"), 0);
}

}  // namespace
}  // namespace tidemark::testing
