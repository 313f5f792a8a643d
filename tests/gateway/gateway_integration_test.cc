// The tidemark binary end to end (docs/TESTING.md): a real mosquitto on a free loopback port,
// the real gateway with a config file, a real QoS 1 publisher, and the windows read back from
// the real database. Every count check compares against what was published: nothing lost,
// nothing counted twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/time.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {
namespace {

constexpr auto kWait = std::chrono::seconds(30);

// Pipelines summing a sequence number: any lost or doubled record changes the sums.
const char* const kCountingPipeline = R"toml(
[[pipeline]]
name = "counting"
window = "10 minutes"
watermark = "30 minutes"
aggregates = { readings = "count()", seq_sum = "sum(seq)" }
)toml";

std::string Reading(const std::string& device, Millis t, std::int64_t seq) {
  return "{\"deviceId\":\"" + device + "\",\"eventTime\":" + std::to_string(t) +
         ",\"temperature\":21.5,\"seq\":" + std::to_string(seq) + "}";
}

// `count` readings numbered from `first`, over 20 devices, half a second of event time apart,
// starting three hours ago (so some windows close and some stay open; up to 21,600 readings
// stay in the past).
std::vector<std::string> Readings(std::int64_t first, std::int64_t count, Millis base) {
  std::vector<std::string> out;
  for (std::int64_t i = first; i < first + count; ++i) {
    out.push_back(Reading("dev" + std::to_string(i % 20), base + i * kSecond / 2, i));
  }
  return out;
}

double SeqSum(std::int64_t n) { return static_cast<double>(n) * static_cast<double>(n - 1) / 2; }

class GatewayIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
    base_ = FloorTo(NowMillis(), 10 * kMinute) - 3 * kHour;
  }
  void TearDown() override {
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "integration test files kept in %s\n", dir_.path().c_str());
    }
  }

  // After a clean stop (final checkpoint), the counting pipeline's windows must hold exactly
  // records 0..n-1.
  void ExpectCountedExactlyOnce(const Gateway& gw, std::int64_t n) {
    const std::string db = gw.db_path();
    EXPECT_EQ(QueryInt(db, "SELECT sum(records) FROM windows WHERE pipeline = 'counting'"), n);
    EXPECT_EQ(QueryDouble(db,
                          "SELECT sum(json_extract(vals, '$.seq_sum')) FROM windows "
                          "WHERE pipeline = 'counting'"),
              SeqSum(n));
    EXPECT_GT(QueryInt(db, "SELECT count(*) FROM windows WHERE status = 'final'"), 0);
  }

  TempDir dir_{"tidemark_it"};
  std::unique_ptr<Mosquitto> broker_;
  Millis base_ = 0;
};

TEST_F(GatewayIntegrationTest, DelhiSydneyEventTimeVersusProcessingTime) {
  Gateway gw(dir_.path(), broker_->url(), R"toml(
[[pipeline]]
name = "event_device"
window = "10 minutes"
watermark = "30 minutes"
aggregates = { avg_temp = "avg(temperature)", readings = "count()" }

[[pipeline]]
name = "event_global_2m"
window = "10 minutes"
watermark = "2 minutes"
watermark_scope = "global"
aggregates = { avg_temp = "avg(temperature)", readings = "count()" }

[[pipeline]]
name = "processing"
window = "10 minutes"
time = "processing"
aggregates = { avg_temp = "avg(temperature)", readings = "count()" }
)toml");
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  const Millis t0 = base_;  // "12:00", three hours ago
  const Millis arrival_floor = FloorTo(NowMillis(), 10 * kMinute);
  auto reading = [](const char* device, Millis t, double temp) {
    return "{\"deviceId\":\"" + std::string(device) + "\",\"eventTime\":\"" + FormatRfc3339(t) +
           "\",\"temperature\":" + std::to_string(temp) + "}";
  };
  // Delhi reads 12:04 and 12:14 on time; Sydney's 12:04 reading arrives after Delhi's 12:14.
  ASSERT_TRUE(pub.Publish("devices/D1/telemetry", reading("D1", t0 + 4 * kMinute, 20)));
  ASSERT_TRUE(pub.Publish("devices/D1/telemetry", reading("D1", t0 + 14 * kMinute, 22)));
  ASSERT_TRUE(pub.Publish("devices/D2/telemetry", reading("D2", t0 + 4 * kMinute, 23)));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 3, kWait));
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();

  const std::string db = gw.db_path();
  const std::string w0 = std::to_string(t0);
  // Event time, per-device watermark: Sydney's reading lands in 12:00-12:10.
  EXPECT_EQ(QueryStrings(db,
                         "SELECT vals FROM windows WHERE pipeline = 'event_device' AND "
                         "device = 'D2' AND window_start = " +
                             w0),
            std::vector<std::string>{R"({"avg_temp":23,"readings":1})"});
  // A 2-minute global watermark (12:12) closed 12:00-12:10 before Sydney arrived: late, logged.
  EXPECT_EQ(QueryStrings(db,
                         "SELECT status || ' ' || closed_by FROM windows WHERE pipeline = "
                         "'event_global_2m' AND device = 'D1' AND window_start = " +
                             w0),
            std::vector<std::string>{"final watermark"});
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM late_log WHERE pipeline = 'event_global_2m' AND "
                     "device = 'D2' AND window_start = " +
                         w0 + " AND event_time = " + std::to_string(t0 + 4 * kMinute)),
            1);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM windows WHERE pipeline = 'event_global_2m' AND "
                     "device = 'D2'"),
            0);
  // Processing time files it under its arrival: now, not three hours ago.
  EXPECT_GE(QueryInt(db,
                     "SELECT min(window_start) FROM windows WHERE pipeline = 'processing' "
                     "AND device = 'D2'"),
            arrival_floor);
}

TEST_F(GatewayIntegrationTest, BadPayloadsAreRejectedWithReasonsAndIngestGoesOn) {
  Gateway gw(dir_.path(), broker_->url(), kCountingPipeline, "max_payload_bytes = 1024\n");
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  const std::string t = std::to_string(base_);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not_json", "garbage{"},
      {"missing_device", "{\"eventTime\":" + t + ",\"seq\":1}"},
      {"missing_time", "{\"deviceId\":\"d\",\"seq\":1}"},
      {"bad_time", "{\"deviceId\":\"d\",\"eventTime\":\"yesterday\",\"seq\":1}"},
      {"bad_value", "{\"deviceId\":\"d\",\"eventTime\":" + t + ",\"seq\":\"one\"}"},
      {"future_time",
       "{\"deviceId\":\"d\",\"eventTime\":" + std::to_string(NowMillis() + kHour) + ",\"seq\":1}"},
      {"too_large", "{\"deviceId\":\"d\",\"pad\":\"" + std::string(2000, 'x') + "\"}"},
  };
  for (const auto& [reason, payload] : bad) {
    ASSERT_TRUE(pub.Publish("devices/d/telemetry", payload)) << reason;
  }
  ASSERT_TRUE(pub.Publish("devices/d/telemetry", Reading("d", base_, 0)));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 8, kWait)) << gw.Log();
  EXPECT_TRUE(gw.Running());
  EXPECT_EQ(gw.Stop(), 0);
  std::vector<std::string> expected;
  for (const auto& item : bad) expected.push_back(item.first);
  EXPECT_EQ(QueryStrings(gw.db_path(), "SELECT reason FROM rejected ORDER BY id"), expected);
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT count(*) FROM rejected WHERE detail != ''"), 7);
  EXPECT_EQ(QueryInt(gw.db_path(), "SELECT sum(records) FROM windows"), 1);
  EXPECT_NE(gw.Log().find("rejected 1 records"), std::string::npos) << gw.Log();
}

TEST_F(GatewayIntegrationTest, BrokerRestartAndGatewayDowntimeLoseNothing) {
  Gateway gw(dir_.path(), broker_->url(), kCountingPipeline);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  {
    Publisher pub(broker_->url());
    ASSERT_TRUE(pub.Connect());
    ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(0, 2000, base_)));
  }
  // The broker restarts mid-stream (it keeps the gateway's queued messages on disk).
  broker_->Stop();
  ASSERT_TRUE(broker_->Start()) << broker_->Log();
  {
    Publisher pub(broker_->url());
    ASSERT_TRUE(pub.Connect());
    ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(2000, 2000, base_)));
  }
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 4000, kWait)) << gw.Log();
  EXPECT_NE(gw.Log().find("connection lost"), std::string::npos);
  // The gateway is down while 2,000 more are published; they wait in its broker session.
  EXPECT_EQ(gw.Stop(), 0);
  {
    Publisher pub(broker_->url());
    ASSERT_TRUE(pub.Connect());
    ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(4000, 2000, base_)));
  }
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 6000, kWait)) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0);
  ExpectCountedExactlyOnce(gw, 6000);
}

TEST_F(GatewayIntegrationTest, SigtermWithMessagesInFlightLosesNothing) {
  Gateway gw(dir_.path(), broker_->url(), kCountingPipeline);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  constexpr std::int64_t kTotal = 6000;
  std::atomic<bool> published{false};
  std::thread publisher([&] {
    Publisher pub(broker_->url());
    published = pub.Connect() && pub.Publish("devices/x/telemetry", Readings(0, kTotal, base_));
  });
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 500, kWait));
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();  // while messages stream in
  const std::int64_t at_stop = LoggedMessages(gw.db_path());
  publisher.join();
  ASSERT_TRUE(published);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_TRUE(WaitForLogged(gw.db_path(), kTotal, kWait)) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0);
  ExpectCountedExactlyOnce(gw, kTotal);
  std::fprintf(stderr, "stopped after %lld of %lld messages\n", static_cast<long long>(at_stop),
               static_cast<long long>(kTotal));
}

TEST_F(GatewayIntegrationTest, RestartAfterSigkillRestoresOpenWindows) {
  Gateway gw(dir_.path(), broker_->url(), kCountingPipeline);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Publisher pub(broker_->url());
  ASSERT_TRUE(pub.Connect());
  ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(0, 3000, base_)));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 3000, kWait));
  gw.Kill();
  ASSERT_TRUE(gw.Start()) << gw.Log();
  const std::string log = gw.Log();
  EXPECT_NE(log.find("restored "), std::string::npos) << log;
  EXPECT_EQ(log.find("restored 0 open windows"), std::string::npos) << log;
  ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(3000, 3000, base_)));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 6000, kWait)) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0);
  ExpectCountedExactlyOnce(gw, 6000);
}

TEST_F(GatewayIntegrationTest, FullDatabaseStallsIngestWithoutLosingAnything) {
  constexpr std::int64_t kTotal = 20000;  // ~3 MB of ingest log: more than the 1 MiB cap
  std::int64_t stalled_at = 0;
  {
    Gateway gw(dir_.path(), broker_->url(), kCountingPipeline, "", "max_size_mb = 1");
    ASSERT_TRUE(gw.Start()) << gw.Log();
    Publisher pub(broker_->url());
    ASSERT_TRUE(pub.Connect());
    ASSERT_TRUE(pub.Publish("devices/x/telemetry", Readings(0, kTotal, base_)));
    ASSERT_TRUE(gw.process().WaitForLog("not acknowledging", kWait)) << gw.Log();
    // The first failure may be a checkpoint (the largest write): its rollback can leave room for
    // a few more small commits before the log append itself fails. Wait until nothing moves for
    // three samples in a row (a loaded machine, or a sanitizer build, can pause a few seconds).
    stalled_at = -1;
    for (int i = 0, still = 0; i < 40 && still < 3; ++i) {
      const std::int64_t now = LoggedMessages(gw.db_path());
      still = now == stalled_at ? still + 1 : 0;
      stalled_at = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // retries, no progress
    EXPECT_EQ(LoggedMessages(gw.db_path()), stalled_at);
    EXPECT_LT(stalled_at, kTotal);
    EXPECT_TRUE(gw.Running());
    EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  }
  // Space returns (the cap is lifted): everything the broker kept is counted, once.
  Gateway gw(dir_.path(), broker_->url(), kCountingPipeline);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_TRUE(WaitForLogged(gw.db_path(), kTotal, kWait)) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0);
  ExpectCountedExactlyOnce(gw, kTotal);
  std::fprintf(stderr, "stalled after %lld of %lld messages\n", static_cast<long long>(stalled_at),
               static_cast<long long>(kTotal));
}

// --listen is checked like http.listen: a malformed address is a clear error (exit 2), never
// an exception at start-up, and a host is loopback by its address, not its spelling.
TEST(ListenFlagTest, IsValidatedLikeTheConfigKey) {
  TempDir dir("tidemark_listen_flag");
  const std::filesystem::path config = dir / "t.toml";
  std::ofstream(config) << "[[pipeline]]\nname = \"n\"\nwindow = \"1 minute\"\n"
                           "aggregates = { n = \"count()\" }\n";
  const auto run = [&](const std::string& listen) {
    Process p({TIDEMARK_BINARY, "--config", config.string(), "--listen", listen, "--check-config"},
              dir / ("run-" + std::to_string(std::hash<std::string>{}(listen)) + ".log"));
    const int code = p.Wait(std::chrono::seconds(10));
    return std::pair<int, std::string>(code, p.Log());
  };
  for (const std::string bad : {"127.0.0.1:http", "127.0.0.1:99999", "localhost", "[::1:80"}) {
    const auto [code, log] = run(bad);
    EXPECT_EQ(code, 2) << bad << "\n" << log;
    EXPECT_NE(log.find("--listen: "), std::string::npos) << bad << "\n" << log;
  }
  const auto [code, log] = run("127.example.com:8080");
  EXPECT_EQ(code, 2) << log;
  EXPECT_NE(log.find("is not a loopback address"), std::string::npos) << log;
  const auto [ok_code, ok_log] = run("127.0.0.1:9999");
  EXPECT_EQ(ok_code, 0) << ok_log;
}

}  // namespace
}  // namespace tidemark::testing
