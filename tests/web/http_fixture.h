// Fixture for the HTTP API tests: a real mosquitto, the real tidemark binary with its HTTP
// server on a free loopback port, a known data set published over MQTT, and a real HTTP client
// (cpp-httplib) over loopback. One gateway per test (ctest runs each test in its own process).
//
// The data set (event times on the day before the gateway's today, UTC: At()), published in
// this order:
//   D1 12:01 20, D1 12:05 22, D1 12:12 30, D1 12:03 99 (late in avg_temp_10m), D2 12:04 25,
//   "not json" on devices/D3/telemetry, {"deviceId":"D3","eventTime":"yesterday"} (bad_time).
// Pipelines: avg_temp_10m (10 min tumbling, watermark 0s, device scope: avg, max, count) and
// count_global (10 min tumbling, watermark 5 minutes, global scope: count()).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/gateway/gateway_harness.h"
#include "tests/support/mosquitto.h"
#include "tests/support/process.h"

namespace tidemark::testing {

using Json = nlohmann::json;

inline constexpr const char* kPipelines = R"toml(
[[pipeline]]
name = "avg_temp_10m"
window = "10 minutes"
watermark = "0s"
aggregates = { avg_temp = "avg(temperature)", max_temp = "max(temperature)", readings = "count()" }

[[pipeline]]
name = "count_global"
window = "10 minutes"
watermark = "5 minutes"
watermark_scope = "global"
aggregates = { n = "count()" }
)toml";

// 12:MM yesterday (UTC, on the gateway's clock) as epoch ms, and as "YYYY-MM-DDT12:MM:00Z".
std::int64_t AtMillis(int minute);
std::string At(int minute);
std::string Reading(const std::string& device, int minute, double temperature);

struct HttpReply {
  int status = 0;  // 0: no response
  std::string content_type;
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Starts the gateway with this [http] body ("listen = ..." is added) and publishes the data set.
  void StartGateway(const std::string& http_extra = "");
  void PublishDataSet();
  // Publishes more readings and waits until the gateway committed them.
  void PublishAndWait(const std::string& topic, const std::vector<std::string>& payloads);
  // Waits until /api/v1/windows holds `count` windows (open ones appear at checkpoints).
  void WaitForWindows(std::size_t count);

  HttpReply Get(const std::string& path, const std::string& token = "");
  // Every window of a query, following next_page_token.
  std::vector<Json> AllPages(const std::string& path, const std::string& field,
                             std::size_t* pages = nullptr);

  TempDir dir_{"tidemark_http"};
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<Publisher> publisher_;
  int http_port_ = 0;
  std::int64_t published_ = 0;
};

}  // namespace tidemark::testing
