#include "tests/web/http_fixture.h"

#include <ctime>
#include <thread>

namespace tidemark::testing {

std::int64_t AtMillis(int minute) {
  constexpr std::int64_t kDayMs = 86'400'000, kHourMs = 3'600'000, kMinuteMs = 60'000;
  // Noon (UTC) yesterday on the gateway's clock, taken once per test process: always in the
  // past, so never future_time, and younger than any retention.
  static const std::int64_t noon = FloorTo(NowMillis(), kDayMs) - kDayMs + 12 * kHourMs;
  return noon + minute * kMinuteMs;
}

std::string At(int minute) {
  const std::time_t seconds = static_cast<std::time_t>(AtMillis(minute) / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string Reading(const std::string& device, int minute, double temperature) {
  return Json{{"deviceId", device}, {"eventTime", At(minute)}, {"temperature", temperature}}.dump();
}

void HttpApiTest::SetUp() {
  broker_ = std::make_unique<Mosquitto>(dir_.path());
  ASSERT_TRUE(broker_->Start()) << broker_->Log();
}

void HttpApiTest::TearDown() {
  if (publisher_) publisher_->Disconnect();
  if (gateway_ && gateway_->Running()) gateway_->Stop();
  if (broker_) broker_->Stop();
}

void HttpApiTest::StartGateway(const std::string& http_extra) {
  http_port_ = FreeLoopbackPort();
  gateway_ = std::make_unique<Gateway>(
      dir_.path(), broker_->url(), kPipelines, "", "",
      "listen = \"127.0.0.1:" + std::to_string(http_port_) + "\"\n" + http_extra);
  ASSERT_TRUE(gateway_->Start()) << gateway_->Log();
  publisher_ = std::make_unique<Publisher>(broker_->url());
  ASSERT_TRUE(publisher_->Connect());
}

void HttpApiTest::PublishAndWait(const std::string& topic,
                                 const std::vector<std::string>& payloads) {
  ASSERT_TRUE(publisher_->Publish(topic, payloads));
  published_ += static_cast<std::int64_t>(payloads.size());
  ASSERT_TRUE(WaitForLogged(gateway_->db_path(), published_, std::chrono::seconds(20)))
      << gateway_->Log();
}

void HttpApiTest::PublishDataSet() {
  PublishAndWait("devices/D1/telemetry", {Reading("D1", 1, 20), Reading("D1", 5, 22),
                                          Reading("D1", 12, 30), Reading("D1", 3, 99)});
  PublishAndWait("devices/D2/telemetry", {Reading("D2", 4, 25)});
  PublishAndWait("devices/D3/telemetry",
                 {"not json", R"({"deviceId":"D3","eventTime":"yesterday","temperature":1})"});
  // avg_temp_10m: 1 final + 2 open; count_global: 3 open.
  WaitForWindows(6);
}

void HttpApiTest::WaitForWindows(std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = Get("/api/v1/windows?page_size=1000");
    if (r.status == 200) {
      seen = r.json()["windows"].size();
      if (seen >= count) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "saw " << seen << " windows, want " << count << "\n" << gateway_->Log();
}

HttpReply HttpApiTest::Get(const std::string& path, const std::string& token) {
  httplib::Client client("127.0.0.1", http_port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Get(path, headers);
  if (!res) return {};
  return {res->status, res->get_header_value("Content-Type"), res->body};
}

std::vector<Json> HttpApiTest::AllPages(const std::string& path, const std::string& field,
                                        std::size_t* pages) {
  std::vector<Json> all;
  std::string token;
  std::size_t n = 0;
  for (;;) {
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    HttpReply r = Get(path + (token.empty() ? "" : sep + "page_token=" + token));
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) break;
    ++n;
    Json page = r.json();
    for (Json& item : page[field]) all.push_back(std::move(item));
    if (!page.contains("next_page_token")) break;
    token = page["next_page_token"].get<std::string>();
    if (n > 1000) {
      ADD_FAILURE() << "too many pages";
      break;
    }
  }
  if (pages) *pages = n;
  return all;
}

}  // namespace tidemark::testing
