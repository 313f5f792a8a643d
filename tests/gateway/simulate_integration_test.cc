// `tidemark simulate` end to end: the real binary publishes to a real mosquitto, the real
// gateway ingests with the demo's two pipelines (gateway/tools/demo.h), and a test subscriber sees
// the same messages. The database must file sydney-01's 10-minute-late readings under the
// event-time windows of their eventTime (none late), the processing-time pipeline under later
// windows, and count the malformed payloads as rejected.
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "engine/time.h"
#include "gateway/ingest/decoder.h"
#include "gateway/tools/demo.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {
namespace {

constexpr auto kWait = std::chrono::seconds(30);

// Collects every message on devices/+/telemetry (QoS 1).
class Subscriber {
 public:
  explicit Subscriber(const std::string& url) : client_(url, "test-sub") {
    client_.set_message_callback([this](mqtt::const_message_ptr m) {
      std::lock_guard lock(mu_);
      messages_.emplace_back(m->get_topic(), m->get_payload_str());
    });
  }
  bool Start() {
    try {
      client_.connect(mqtt::connect_options_builder().clean_session(true).finalize())->wait();
      client_.subscribe("devices/+/telemetry", 1)->wait();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }
  std::vector<std::pair<std::string, std::string>> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  bool WaitFor(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (Messages().size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Messages().size() >= n;
  }
  ~Subscriber() {
    try {
      client_.disconnect()->wait();
    } catch (const std::exception&) {
    }
  }

 private:
  mqtt::async_client client_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> messages_;
};

std::map<Millis, std::int64_t> WindowRecords(const std::string& db, const std::string& pipeline,
                                             const std::string& device) {
  std::map<Millis, std::int64_t> out;
  for (const std::string& row :
       QueryStrings(db, "SELECT window_start || ' ' || records FROM windows WHERE pipeline = '" +
                            pipeline + "' AND device = '" + device + "'")) {
    const std::size_t space = row.find(' ');
    out[std::stoll(row.substr(0, space))] = std::stoll(row.substr(space + 1));
  }
  return out;
}

TEST(SimulateIntegrationTest, SydneyLandsInItsEventTimeWindowsAndBadPayloadsAreRejected) {
  TempDir dir("tidemark_sim_it");
  Mosquitto broker(dir.path());
  ASSERT_TRUE(broker.Start()) << broker.Log();
  Gateway gw(dir.path(), broker.url(), demo::PipelinesToml());
  ASSERT_TRUE(gw.Start()) << gw.Log();
  Subscriber sub(broker.url());
  ASSERT_TRUE(sub.Start());
  const Millis started = NowMillis();

  // 6 s of wall time at 300x: 30 minutes of event time, ending now, so sydney-01's readings of
  // the first 20 minutes arrive (10 minutes late); 5 devices: delhi, sydney, berlin (+90 s clock).
  Process sim(
      TidemarkCommand(dir.path(), {"simulate", "--broker", broker.url(), "--devices", "5", "--rate",
                                   "200", "--speed", "300", "--duration", "6s", "--seed", "11",
                                   "--bad-rate", "0.05", "--burst-every", "10m"}),
      dir / "simulate.log");
  ASSERT_EQ(sim.Wait(std::chrono::seconds(40)), 0) << sim.Log();
  std::smatch m;
  const std::string log = sim.Log();
  ASSERT_TRUE(std::regex_search(
      log, m,
      std::regex(
          R"(published (\d+) messages \((\d+) malformed, (\d+) in out-of-order bursts, 0 failed\))")))
      << log;
  const auto published = static_cast<std::size_t>(std::stoll(m[1]));
  const std::int64_t malformed = std::stoll(m[2]);
  EXPECT_GT(published, 1000u);
  EXPECT_GT(malformed, 20);
  EXPECT_GT(std::stoll(m[3]), 0);
  ASSERT_TRUE(sub.WaitFor(published)) << sub.Messages().size() << " of " << published;
  ASSERT_TRUE(WaitForLogged(gw.db_path(), static_cast<std::int64_t>(published), kWait));
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();  // the final checkpoint writes the open windows

  // What the subscriber saw, decoded as the gateway does: sydney-01's windows by eventTime.
  DecoderOptions options;
  options.fields = {"temperature"};
  RecordDecoder decoder(options);
  std::map<Millis, std::int64_t> expected;
  std::int64_t sydney = 0, bad_seen = 0;
  Millis newest_window = kMinTime;
  for (const auto& [topic, payload] : sub.Messages()) {
    const Decoded& d = decoder.Decode(topic, payload);
    if (d.rejected || !d.record.fields[0].is_number) {
      ++bad_seen;
      continue;
    }
    if (d.record.device != "sydney-01") continue;
    EXPECT_EQ(topic, "devices/sydney-01/telemetry");
    const Millis start = FloorTo(d.record.event_time, 10 * kMinute);
    ++expected[start];
    ++sydney;
    newest_window = std::max(newest_window, start);
  }
  EXPECT_EQ(bad_seen, malformed);
  ASSERT_GT(sydney, 100);
  EXPECT_GE(expected.size(), 2u);
  EXPECT_LT(newest_window, FloorTo(started, 10 * kMinute) + 10 * kMinute);

  const std::string db = gw.db_path();
  // Event time: exactly those windows with exactly those counts; nothing late anywhere.
  EXPECT_EQ(WindowRecords(db, "avg_temp_10m", "sydney-01"), expected);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM late_log"), 0);
  // Processing time: the same readings, filed under the windows of their arrival — later ones.
  const auto processing = WindowRecords(db, "avg_temp_10m_processing", "sydney-01");
  std::int64_t processed = 0;
  for (const auto& [start, records] : processing) {
    processed += records;
    EXPECT_GE(start, FloorTo(started, 10 * kMinute));
    EXPECT_GT(start, expected.begin()->first);
  }
  EXPECT_EQ(processed, sydney);
  EXPECT_NE(processing, expected);
  EXPECT_LE(processing.size(), 2u);  // 6 s of arrivals span at most two 10-minute windows

  // Malformed payloads: rejected with their reasons and counted; no future_time (the skew of
  // berlin-01's clock stays under max_future_skew).
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM rejected"), malformed);
  const std::vector<std::string> reasons =
      QueryStrings(db, "SELECT DISTINCT reason FROM rejected ORDER BY reason");
  EXPECT_EQ(reasons, (std::vector<std::string>{"bad_value", "missing_time", "not_json"}));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM device_stats"), 5);
}

}  // namespace
}  // namespace tidemark::testing
