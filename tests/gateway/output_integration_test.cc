// [output] end to end (docs/OPERATING.md "Beyond one gateway"): final windows reach an upstream
// broker through the durable outbox, with nothing lost across an uplink outage and a gateway crash
// during it. Real parts: two mosquitto brokers (the devices' and the upstream one), the tidemark
// binary, Paho clients.
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "engine/time.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {
namespace {

using Json = nlohmann::json;
constexpr std::int64_t kMinute = 60'000;

// A subscriber on the upstream broker with a persistent session: it gets what was published
// while it was disconnected too (the broker restarts with its persistence).
class UpstreamSubscriber {
 public:
  explicit UpstreamSubscriber(const std::string& url) : client_(url, "central-consumer") {
    client_.set_message_callback([this](mqtt::const_message_ptr m) {
      std::lock_guard lock(mu_);
      messages_.emplace_back(m->get_topic(), m->to_string());
    });
    client_.set_connected_handler([this](const std::string&) {
      try {
        client_.subscribe("tidemark/#", 1);
      } catch (const std::exception&) {
      }
    });
  }
  bool Connect() {
    auto options = mqtt::connect_options_builder()
                       .clean_session(false)
                       .automatic_reconnect(std::chrono::milliseconds(200), std::chrono::seconds(1))
                       .finalize();
    try {
      client_.connect(options)->wait_for(std::chrono::seconds(10));
    } catch (const std::exception&) {
      return false;
    }
    return client_.is_connected();
  }
  ~UpstreamSubscriber() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const std::exception&) {
    }
  }
  // Distinct windows received: "device start" -> the message.
  std::map<std::string, Json> Windows() {
    std::lock_guard lock(mu_);
    std::map<std::string, Json> out;
    for (const auto& [topic, payload] : messages_) {
      Json w = Json::parse(payload, nullptr, false);
      if (w.is_object()) out[w.value("device", "") + " " + w.value("start", "")] = w;
    }
    return out;
  }
  std::vector<std::string> Topics() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& m : messages_) out.push_back(m.first);
    return out;
  }
  bool WaitForWindows(std::size_t n) {
    for (int i = 0; i < 300; ++i) {
      if (Windows().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  mqtt::async_client client_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> messages_;
};

std::string Reading(const std::string& device, std::int64_t t) {
  return Json{{"deviceId", device}, {"eventTime", t}, {"temperature", 20}}.dump();
}

// Acknowledged rows leave the outbox (within a few ticks).
bool OutboxDrains(const std::string& db_path) {
  for (int k = 0; k < 50; ++k) {
    if (QueryInt(db_path, "SELECT count(*) FROM outbox") == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Two brokers (the devices' and the upstream one), a subscriber on the upstream one, a
// publisher on the devices' one, and the [output] config of a 10-minute count pipeline.
class OutputIntegrationTest : public ::testing::Test {
 protected:
  static std::filesystem::path Made(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    return dir;
  }
  void SetUp() override {
    if (!central_acl_.empty()) {
      std::ofstream(dir_ / "central" / "acl") << central_acl_;
      central_.AddConfig("acl_file " + (dir_ / "central" / "acl").string());
    }
    ASSERT_TRUE(local_.Start()) << local_.Log();
    ASSERT_TRUE(central_.Start()) << central_.Log();
    ASSERT_TRUE(consumer_.Connect());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed
    ASSERT_TRUE(pub_.Connect());
  }
  void TearDown() override {
    local_.Stop();
    central_.Stop();
  }
  std::string Config(const std::string& output_keys) const {
    return "[output]\nbroker = \"" + central_.url() + "\"\n" + output_keys +
           "\n[[pipeline]]\nname = \"counts\"\nwindow = \"10 minutes\"\n"
           "aggregates = { n = \"count()\" }\n";
  }

  std::string central_acl_;  // set in a test's constructor: the upstream broker's ACL
  TempDir dir_{"tidemark_output"};
  Mosquitto local_{Made(dir_ / "local")}, central_{Made(dir_ / "central")};
  UpstreamSubscriber consumer_{central_.url()};
  Publisher pub_{local_.url()};
  const std::int64_t base_ = FloorTo(NowMillis(), 10 * kMinute) - 3 * 60 * kMinute;
};

TEST_F(OutputIntegrationTest, WindowsReachUpstreamAcrossAnOutageAndACrash) {
  const std::string config =
      Config("client_id = \"uplink-test\"\nreconnect_min = \"1s\"\nreconnect_max = \"1s\"\n");
  const std::filesystem::path gateway_dir = Made(dir_ / "gateway");
  {
    Gateway gw(gateway_dir, local_.url(), config);
    ASSERT_TRUE(gw.Start()) << gw.Log();
    // Window 0 closes when the reading at 11 min arrives (watermark 0s): one window upstream.
    ASSERT_TRUE(pub_.Publish("devices/a/telemetry",
                             {Reading("a", base_ + kMinute), Reading("a", base_ + 2 * kMinute),
                              Reading("a", base_ + 11 * kMinute)}));
    ASSERT_TRUE(consumer_.WaitForWindows(1)) << gw.Log();
    ASSERT_TRUE(OutboxDrains(gw.db_path())) << "acknowledged rows are deleted at the next tick";
    // The uplink goes down; three more windows close and wait in the outbox.
    central_.Stop();
    ASSERT_TRUE(pub_.Publish("devices/a/telemetry", {Reading("a", base_ + 21 * kMinute),
                                                     Reading("a", base_ + 31 * kMinute),
                                                     Reading("a", base_ + 41 * kMinute)}));
    ASSERT_TRUE(WaitForLogged(gw.db_path(), 6, std::chrono::seconds(20)));
    EXPECT_EQ(QueryInt(gw.db_path(), "SELECT count(*) FROM outbox"), 3) << gw.Log();
    gw.Kill();  // a crash during the outage: the outbox is on disk
  }
  Gateway gw(gateway_dir, local_.url(), config);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_TRUE(
      pub_.Publish("devices/a/telemetry", {Reading("a", base_ + 51 * kMinute)}));  // one more
  ASSERT_TRUE(central_.Start()) << central_.Log();
  ASSERT_TRUE(consumer_.WaitForWindows(5)) << gw.Log();
  const auto windows = consumer_.Windows();
  ASSERT_EQ(windows.size(), 5u);
  const std::int64_t expected_n[] = {2, 1, 1, 1, 1};
  int i = 0;
  for (const auto& [key, w] : windows) {  // keys sort by start within device "a"
    EXPECT_EQ(w["pipeline"], "counts");
    EXPECT_EQ(w["status"], "final");
    EXPECT_EQ(w["values"]["n"], expected_n[i]) << key;
    ++i;
  }
  for (const std::string& topic : consumer_.Topics()) EXPECT_EQ(topic, "tidemark/counts/a");
  EXPECT_TRUE(OutboxDrains(gw.db_path()));
  EXPECT_EQ(gw.Stop(), 0);
}

// Device ids that are placeholders, wildcards or topic separators reach upstream as one encoded
// topic level each (gateway/mqtt/topic_template.h), and a plain device behind them still gets
// through: none hangs the ingest thread or wedges the uplink.
TEST_F(OutputIntegrationTest, HostileDeviceIdsArePublishedEncodedAndBlockNothing) {
  const std::string config = Config("client_id = \"uplink-ids\"\n");
  Gateway gw(Made(dir_ / "gateway"), local_.url(), config);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  const std::vector<std::string> devices = {
      "{device}", "{pipeline}x{device}", "+", "#", "a/b", "50%", "plain"};
  for (const std::string& d : devices) {  // one window each, closed by a reading 11 min later
    ASSERT_TRUE(pub_.Publish("devices/x/telemetry",
                             {Reading(d, base_ + kMinute), Reading(d, base_ + 11 * kMinute)}));
  }
  ASSERT_TRUE(consumer_.WaitForWindows(devices.size())) << gw.Log();
  std::set<std::string> topics;
  for (const std::string& topic : consumer_.Topics()) topics.insert(topic);
  EXPECT_EQ(topics,
            (std::set<std::string>{
                "tidemark/counts/%7Bdevice%7D", "tidemark/counts/%7Bpipeline%7Dx%7Bdevice%7D",
                "tidemark/counts/%2B", "tidemark/counts/%23", "tidemark/counts/a%2Fb",
                "tidemark/counts/50%25", "tidemark/counts/plain"}));
  const auto windows = consumer_.Windows();
  for (const std::string& d : devices) {  // the payload keeps the device id as it is
    ASSERT_TRUE(windows.count(d + " " + FormatRfc3339(base_))) << d;
    EXPECT_EQ(windows.at(d + " " + FormatRfc3339(base_))["values"]["n"], 1) << d;
  }
  EXPECT_TRUE(OutboxDrains(gw.db_path()));
  EXPECT_EQ(gw.Stop(), 0);
}

// The upstream broker refuses one device's topic (MQTT 5: PUBACK "not authorized"): that row
// is retried, then set aside after three refusals, and the rows behind it are delivered.
class OutputRefusalTest : public OutputIntegrationTest {
 protected:
  OutputRefusalTest() {
    central_acl_ =
        "topic read tidemark/#\ntopic write tidemark/counts/a\ntopic write tidemark/counts/c\n";
  }
};

TEST_F(OutputRefusalTest, ARowTheUpstreamBrokerRefusesIsSetAsideAndTheRestDelivered) {
  const std::string config = Config(
      "client_id = \"uplink-refused\"\nversion = \"5\"\nreconnect_min = \"200ms\"\n"
      "reconnect_max = \"200ms\"\n");
  Gateway gw(Made(dir_ / "gateway"), local_.url(), config);
  ASSERT_TRUE(gw.Start()) << gw.Log();
  for (const std::string d : {"a", "b", "c"}) {  // one topic, in order: b's row before c's
    ASSERT_TRUE(pub_.Publish("devices/x/telemetry",
                             {Reading(d, base_ + kMinute), Reading(d, base_ + 11 * kMinute)}));
  }
  // b's row is set aside after its third refusal (c may go out in the same batch as b, or
  // only after it: either way the outbox then drains, which it never did while b was resent).
  bool set_aside = false;
  for (int i = 0; i < 300 && !set_aside; ++i) {
    set_aside = gw.Log().find("set aside") != std::string::npos;
    if (!set_aside) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(set_aside) << gw.Log();
  EXPECT_TRUE(OutboxDrains(gw.db_path())) << gw.Log();
  ASSERT_TRUE(consumer_.WaitForWindows(2)) << gw.Log();
  std::set<std::string> devices;
  for (const auto& [key, w] : consumer_.Windows()) devices.insert(w.value("device", ""));
  EXPECT_EQ(devices, (std::set<std::string>{"a", "c"}));
  EXPECT_EQ(gw.Stop(), 0);
}

}  // namespace
}  // namespace tidemark::testing
