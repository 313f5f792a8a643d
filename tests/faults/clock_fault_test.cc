// Fault test (docs/TESTING.md): devices with broken clocks while good devices stream. Device d4
// streams good readings but its clock also jumps ten years ahead (epoch ms, epoch seconds and RFC
// 3339 forms); device "stuck" reports times in 1970 (epoch 0, 5 s, "1970-01-01T00:00:05Z"); device
// "broken" sends a time beyond year 9999. The contract (docs/DESIGN.md §2, README "Bad input"):
//  - more than input.max_future_skew (5 minutes) ahead is rejected as future_time and never
//    moves a watermark — here the pipeline's watermark is global, so one such record would
//    close every device's windows;
//  - 1970 is a valid time: against a watermark far past it the record is late (dropped, counted,
//    in the late-data log), never counted in a window;
//  - outside the years 0001-9999 is rejected as bad_time.
// Everything must be visible (/api/v1/rejected, /api/v1/late, /api/v1/state, /api/v1/devices,
// /metrics), and the stored windows must equal the recomputation of the good readings alone.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/faults/fault_probe.h"

namespace tidemark::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kWait = seconds(30);
constexpr std::int64_t kTenYears = 3'652LL * 86'400'000;  // ms
constexpr std::int64_t kDelay = 10 * 60'000;              // the faults pipeline's watermark delay
constexpr int kRounds = 10;

std::string Json(const std::string& device, const std::string& time_json, std::int64_t seq) {
  return "{\"deviceId\":\"" + device + "\",\"eventTime\":" + time_json +
         ",\"seq\":" + std::to_string(seq) + "}";
}

// "2036-11-28T09:00:00Z" for epoch ms `t` (whole seconds; written here, not by tidemark).
std::string Rfc3339(std::int64_t t) {
  const std::time_t s = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Epoch ms of an RFC 3339 UTC time as the API writes it ("...T09:00:00Z" or "...:00.100Z").
std::int64_t ParseUtc(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return -1;
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  if (*rest == '.') ms += std::stoll(std::string(rest + 1, 3));
  return ms;
}

class ClockFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
  }
  void TearDown() override {
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "clock fault test files kept in %s\n", dir_.path().c_str());
    }
  }
  TempDir dir_{"tidemark_clock"};
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(ClockFaultTest, FutureAnd1970ClocksAreRejectedOrLateAndTouchNoOtherWindow) {
  const int port = FreeLoopbackPort();
  Gateway gw(dir_.path(), broker_->url(), kFaultPipeline, "", "", HttpOn(port));
  ASSERT_TRUE(gw.Start()) << gw.Log();

  // 40 minutes of good readings from d0..d4, 100 ms apart, starting two hours ago.
  const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 2 * 3'600'000;
  const std::vector<Reading> good = MakeReadings(0, 24'000, 5, base, 100);
  const std::vector<Reading> warm(good.begin(), good.begin() + 1000);
  {
    ReadingStream warmup(broker_->url(), "clock-warmup", warm, 200, milliseconds(0));
    ASSERT_TRUE(warmup.Start());
    ASSERT_TRUE(warmup.WaitDone(kWait));
  }
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 1000, kWait)) << gw.Log();  // the watermark is set
  ReadingStream stream(broker_->url(), "clock-stream",
                       std::vector<Reading>(good.begin() + 1000, good.end()), 100,
                       milliseconds(20));
  ASSERT_TRUE(stream.Start());

  // Meanwhile the bad clocks, on their own connection. Sequence numbers from 1,000,000 on: any of
  // them counted in a window would change its sum.
  Publisher bad(broker_->url(), "clock-bad");
  ASSERT_TRUE(bad.Connect());
  std::int64_t seq = 1'000'000, future = 0, stuck = 0, broken = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::int64_t ahead = NowMillis() + kTenYears + round * 1000;
    ASSERT_TRUE(bad.Publish(
        "devices/d4/telemetry",
        {Json("d4", std::to_string(ahead), seq++), Json("d4", std::to_string(ahead / 1000), seq++),
         Json("d4", "\"" + Rfc3339(ahead) + "\"", seq++)}));
    future += 3;
    ASSERT_TRUE(
        bad.Publish("devices/stuck/telemetry",
                    {Json("stuck", "\"1970-01-01T00:00:05Z\"", seq++), Json("stuck", "5", seq++),
                     Json("stuck", "0", seq++), Json("stuck", "5.5", seq++)}));
    stuck += 4;
    ASSERT_TRUE(bad.Publish("devices/broken/telemetry", Json("broken", "1e17", seq++)));
    ++broken;
    std::this_thread::sleep_for(milliseconds(200));
  }
  const std::size_t sent_meanwhile = stream.sent();
  ASSERT_TRUE(stream.WaitDone(std::chrono::minutes(1)));
  EXPECT_LT(sent_meanwhile, good.size() - 1000) << "the bad clocks did not overlap the stream";
  const std::int64_t total = static_cast<std::int64_t>(good.size()) + future + stuck + broken;
  ASSERT_TRUE(WaitForLogged(gw.db_path(), total, kWait))
      << LoggedMessages(gw.db_path()) << " of " << total << "\n"
      << gw.Log();
  std::this_thread::sleep_for(milliseconds(1100));  // the live snapshot is at most 1 s old

  // The global watermark follows the good readings alone.
  std::int64_t newest = 0;
  for (const Reading& r : good) newest = std::max(newest, r.event_time);
  const nlohmann::json state = HttpJson(port, "/api/v1/state");
  ASSERT_TRUE(state.is_object());
  const nlohmann::json& faults = state["pipelines"][0];
  ASSERT_EQ(faults["name"], "faults") << state.dump();
  EXPECT_EQ(ParseUtc(faults["watermark"].get<std::string>()), newest - kDelay) << state.dump();
  EXPECT_EQ(faults["records"].get<std::int64_t>(), static_cast<std::int64_t>(good.size()));
  EXPECT_EQ(faults["late"].get<std::int64_t>(), stuck) << state.dump();
  EXPECT_EQ(state["rejected"]["future_time"].get<std::int64_t>(), future) << state.dump();
  EXPECT_EQ(state["rejected"]["bad_time"].get<std::int64_t>(), broken) << state.dump();
  EXPECT_EQ(state["rejected_total"].get<std::int64_t>(), future + broken) << state.dump();

  // Rejected samples: reason, device, and a detail that says why.
  const nlohmann::json rejected = HttpJson(port, "/api/v1/rejected?reason=future_time");
  ASSERT_TRUE(rejected.is_object());
  ASSERT_EQ(rejected["rejected"].size(), static_cast<std::size_t>(future)) << rejected.dump();
  for (const nlohmann::json& r : rejected["rejected"]) {
    EXPECT_EQ(r["device"], "d4") << r.dump();
    EXPECT_EQ(r["topic"], "devices/d4/telemetry") << r.dump();
    EXPECT_NE(r["detail"].get<std::string>().find("ahead of the gateway clock"), std::string::npos)
        << r.dump();
  }
  const nlohmann::json bad_time = HttpJson(port, "/api/v1/rejected?reason=bad_time");
  ASSERT_TRUE(bad_time.is_object());
  ASSERT_EQ(bad_time["rejected"].size(), static_cast<std::size_t>(broken)) << bad_time.dump();
  EXPECT_EQ(bad_time["rejected"][0]["device"], "broken");

  // The 1970 records are in the late-data log, missing windows in 1970.
  const nlohmann::json late = HttpJson(port, "/api/v1/late?pipeline=faults");
  ASSERT_TRUE(late.is_object());
  ASSERT_EQ(late["late"].size(), static_cast<std::size_t>(stuck)) << late.dump();
  for (const nlohmann::json& l : late["late"]) {
    EXPECT_EQ(l["device"], "stuck") << l.dump();
    EXPECT_LT(ParseUtc(l["event_time"].get<std::string>()), 86'400'000) << l.dump();
    EXPECT_LT(ParseUtc(l["window_end"].get<std::string>()), 86'400'000) << l.dump();
    EXPECT_GT(ParseUtc(l["watermark"].get<std::string>()), base - kDelay) << l.dump();
  }

  // Per device: d4's rejections are its own, and its last event time is not ten years ahead.
  const nlohmann::json devices = HttpJson(port, "/api/v1/devices");
  ASSERT_TRUE(devices.is_object());
  std::map<std::string, nlohmann::json> by_name;
  for (const nlohmann::json& d : devices["devices"]) by_name[d["device"]] = d;
  ASSERT_TRUE(by_name.contains("d4") && by_name.contains("stuck")) << devices.dump();
  EXPECT_EQ(by_name["d4"]["rejected"].get<std::int64_t>(), future) << by_name["d4"].dump();
  EXPECT_LE(ParseUtc(by_name["d4"]["last_event_time"].get<std::string>()), newest)
      << by_name["d4"].dump();
  EXPECT_EQ(by_name["stuck"]["pipelines"]["faults"]["late"].get<std::int64_t>(), stuck);
  EXPECT_EQ(by_name["stuck"]["pipelines"]["faults"]["records"].get<std::int64_t>(), 0);
  EXPECT_EQ(by_name["d0"]["rejected"].get<std::int64_t>(), 0);
  EXPECT_EQ(by_name["d0"]["late"].get<std::int64_t>(), 0);

  const std::string metrics = HttpGet(port, "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, "tidemark_rejected_records_total{reason=\"future_time\"}"),
            static_cast<double>(future))
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "tidemark_rejected_records_total{reason=\"bad_time\"}"),
            static_cast<double>(broken));
  EXPECT_EQ(MetricValue(metrics, "tidemark_late_records_total{pipeline=\"faults\"}"),
            static_cast<double>(stuck));

  // Nobody else's windows moved: exactly the good readings, once each (final ones too).
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(DiffWindows(Recompute(good), StoredWindows(gw.db_path())), "");
  EXPECT_GT(StoredWindows(gw.db_path(), /*final_only=*/true).size(), 100u);
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT count(*) FROM windows WHERE window_start > " +
                                       std::to_string(NowMillis())),
            0);
}

}  // namespace
}  // namespace tidemark::testing
