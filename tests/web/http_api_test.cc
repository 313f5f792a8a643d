// The HTTP API against the real gateway (tests/web/http_fixture.h): every endpoint's values for
// a known data set, filters, pagination across pages, bad parameters, the SSE stream.
#include <atomic>
#include <thread>

#include "tests/web/http_fixture.h"

namespace tidemark::testing {
namespace {

Json FindWindow(const std::vector<Json>& windows, const std::string& pipeline,
                const std::string& device, const std::string& start) {
  for (const Json& w : windows) {
    if (w["pipeline"] == pipeline && w["device"] == device && w["start"] == start) return w;
  }
  return nullptr;
}

TEST_F(HttpApiTest, WindowsHoldTheExactValues) {
  StartGateway();
  PublishDataSet();
  const std::vector<Json> all = AllPages("/api/v1/windows", "windows");
  ASSERT_EQ(all.size(), 6u);

  const Json final_d1 = FindWindow(all, "avg_temp_10m", "D1", At(0));
  ASSERT_TRUE(final_d1.is_object());
  EXPECT_EQ(final_d1["end"], At(10));
  EXPECT_EQ(final_d1["status"], "final");
  EXPECT_EQ(final_d1["closed_by"], "watermark");
  EXPECT_TRUE(final_d1["closed_at"].is_string());
  EXPECT_EQ(final_d1["records"], 2);
  EXPECT_EQ(final_d1["values"], (Json{{"avg_temp", 21.0}, {"max_temp", 22.0}, {"readings", 2}}));

  const Json open_d1 = FindWindow(all, "avg_temp_10m", "D1", At(10));
  EXPECT_EQ(open_d1["status"], "open");
  EXPECT_FALSE(open_d1.contains("closed_by"));
  EXPECT_EQ(open_d1["values"], (Json{{"avg_temp", 30.0}, {"max_temp", 30.0}, {"readings", 1}}));
  EXPECT_EQ(FindWindow(all, "avg_temp_10m", "D2", At(0))["values"]["avg_temp"], 25.0);

  // Global watermark 12:12 - 5 min = 12:07: the 12:03 reading still counts there.
  EXPECT_EQ(FindWindow(all, "count_global", "D1", At(0))["values"]["n"], 3);
  EXPECT_EQ(FindWindow(all, "count_global", "D1", At(0))["status"], "open");

  // Ordered by pipeline, device, start.
  std::vector<std::string> keys;
  for (const Json& w : all) {
    keys.push_back(w["pipeline"].get<std::string>() + "|" + w["device"].get<std::string>() + "|" +
                   w["start"].get<std::string>());
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST_F(HttpApiTest, PaginationCoversEveryWindowOnce) {
  StartGateway();
  PublishDataSet();
  const std::vector<Json> all = AllPages("/api/v1/windows", "windows");
  for (int size : {1, 2, 4, 5}) {
    std::size_t pages = 0;
    const std::vector<Json> paged =
        AllPages("/api/v1/windows?page_size=" + std::to_string(size), "windows", &pages);
    EXPECT_EQ(paged, all) << "page_size " << size;
    EXPECT_EQ(pages,
              (all.size() + static_cast<std::size_t>(size) - 1) / static_cast<std::size_t>(size));
  }
  const Json last = Get("/api/v1/windows?page_size=6").json();
  EXPECT_FALSE(last.contains("next_page_token"));
}

TEST_F(HttpApiTest, FiltersSelectWindows) {
  StartGateway();
  PublishDataSet();
  EXPECT_EQ(AllPages("/api/v1/windows?pipeline=avg_temp_10m", "windows").size(), 3u);
  EXPECT_EQ(AllPages("/api/v1/windows?pipeline=count_global&device=D2", "windows").size(), 1u);
  const auto finals = AllPages("/api/v1/windows?status=final", "windows");
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]["device"], "D1");
  EXPECT_EQ(AllPages("/api/v1/windows?status=open", "windows").size(), 5u);
  // from <= start < to, as RFC 3339 or epoch milliseconds.
  EXPECT_EQ(AllPages("/api/v1/windows?from=" + At(10), "windows").size(), 2u);
  EXPECT_EQ(AllPages("/api/v1/windows?to=" + At(10), "windows").size(), 4u);
  const std::string ms_1210 = std::to_string(AtMillis(10));
  EXPECT_EQ(AllPages("/api/v1/windows?from=" + ms_1210 + "&to=" + ms_1210, "windows").size(), 0u);
  EXPECT_EQ(AllPages("/api/v1/windows?from=" + ms_1210 + "&page_size=1", "windows").size(), 2u);
  EXPECT_EQ(AllPages("/api/v1/windows?device=nobody", "windows").size(), 0u);
}

TEST_F(HttpApiTest, BadParametersAreProblems) {
  StartGateway();
  for (const std::string path :
       {"/api/v1/windows?colour=red", "/api/v1/windows?page_size=0",
        "/api/v1/windows?page_size=1001", "/api/v1/windows?page_size=ten",
        "/api/v1/windows?status=closed", "/api/v1/windows?from=yesterday",
        "/api/v1/windows?page_token=bm90LWEtdG9rZW4", "/api/v1/windows?page_token=%25%25",
        "/api/v1/windows?device=a&device=b", "/api/v1/late?status=open",
        "/api/v1/rejected?reason=grumpy", "/api/v1/devices?page_token=WyJ3IiwiYSJd",
        "/api/v1/state?verbose", "/api/v1/pipelines?x=1", "/api/v1/stream?x=1"}) {
    HttpReply r = Get(path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << path;
    const Json problem = r.json();
    EXPECT_EQ(problem["status"], 400) << path;
    EXPECT_FALSE(problem.value("detail", "").empty()) << path;
  }
  const Json unknown = Get("/api/v1/windows?colour=red").json();
  EXPECT_NE(unknown["detail"].get<std::string>().find("colour"), std::string::npos);
  HttpReply missing = Get("/api/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/problem+json");
}

TEST_F(HttpApiTest, DevicesShowLagLateAndWatermarks) {
  StartGateway();
  PublishDataSet();
  const std::vector<Json> devices = AllPages("/api/v1/devices?page_size=1", "devices");
  ASSERT_EQ(devices.size(), 3u);
  EXPECT_EQ(devices[0]["device"], "D1");
  EXPECT_EQ(devices[1]["device"], "D2");
  EXPECT_EQ(devices[2]["device"], "D3");
  const Json& d1 = devices[0];
  EXPECT_EQ(d1["records"], 4);
  EXPECT_EQ(d1["late"], 1);
  EXPECT_EQ(d1["rejected"], 0);
  EXPECT_EQ(d1["last_event_time"], At(3));  // the latest by arrival
  EXPECT_GT(d1["lag_ms"].get<std::int64_t>(), 0);
  EXPECT_EQ(d1["pipelines"]["avg_temp_10m"]["watermark"], At(12));
  EXPECT_EQ(d1["pipelines"]["avg_temp_10m"]["late"], 1);
  EXPECT_EQ(d1["pipelines"]["count_global"]["records"], 4);
  EXPECT_EQ(devices[1]["pipelines"]["avg_temp_10m"]["watermark"], At(4));
  EXPECT_EQ(devices[2]["rejected"], 1);  // the bad_time one names its device
}

TEST_F(HttpApiTest, StateCountsEverything) {
  StartGateway();
  PublishDataSet();
  const Json state = Get("/api/v1/state").json();
  ASSERT_EQ(state["pipelines"].size(), 2u);
  const Json& avg = state["pipelines"][0];
  EXPECT_EQ(avg["name"], "avg_temp_10m");
  EXPECT_EQ(avg["open_windows"], 2);
  EXPECT_EQ(avg["final_windows"], 1);
  EXPECT_EQ(avg["records"], 4);
  EXPECT_EQ(avg["late"], 1);
  EXPECT_GT(avg["state_bytes"].get<std::int64_t>(), 0);
  EXPECT_TRUE(avg["watermark"].is_string());
  const Json& global = state["pipelines"][1];
  EXPECT_EQ(global["watermark"], At(7));
  EXPECT_EQ(global["records"], 5);
  EXPECT_EQ(global["late"], 0);
  EXPECT_EQ(state["rejected"]["not_json"], 1);
  EXPECT_EQ(state["rejected"]["bad_time"], 1);
  EXPECT_EQ(state["rejected_total"], 2);
  EXPECT_EQ(state["messages"], 7);
  EXPECT_GT(state["storage"]["db_bytes"].get<std::int64_t>(), 0);
  EXPECT_EQ(state["storage"]["commits"], 7);
  EXPECT_TRUE(state["storage"]["commit_latency_ms"]["p99"].is_number());
  EXPECT_EQ(state["mqtt"]["connected"], true);
}

TEST_F(HttpApiTest, LateLogNamesTheMissedWindow) {
  StartGateway();
  PublishDataSet();
  const std::vector<Json> late = AllPages("/api/v1/late", "late");
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0]["pipeline"], "avg_temp_10m");
  EXPECT_EQ(late[0]["device"], "D1");
  EXPECT_EQ(late[0]["event_time"], At(3));
  EXPECT_EQ(late[0]["watermark"], At(12));
  EXPECT_EQ(late[0]["window_start"], At(0));
  EXPECT_EQ(late[0]["window_end"], At(10));
  EXPECT_TRUE(late[0]["arrival_time"].is_string());
  EXPECT_EQ(AllPages("/api/v1/late?pipeline=count_global", "late").size(), 0u);
  EXPECT_EQ(AllPages("/api/v1/late?device=D2", "late").size(), 0u);
}

TEST_F(HttpApiTest, RejectedSamplesSayWhy) {
  StartGateway();
  PublishDataSet();
  const std::vector<Json> rejected = AllPages("/api/v1/rejected?page_size=1", "rejected");
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0]["reason"], "bad_time");  // newest first
  EXPECT_EQ(rejected[0]["device"], "D3");
  EXPECT_NE(rejected[0]["detail"].get<std::string>().find("yesterday"), std::string::npos);
  EXPECT_EQ(rejected[1]["reason"], "not_json");
  EXPECT_EQ(rejected[1]["payload"], "not json");
  EXPECT_EQ(rejected[1]["topic"], "devices/D3/telemetry");
  EXPECT_EQ(AllPages("/api/v1/rejected?reason=not_json", "rejected").size(), 1u);
}

TEST_F(HttpApiTest, PipelinesShowTheirSchema) {
  StartGateway();
  const Json pipelines = Get("/api/v1/pipelines").json()["pipelines"];
  ASSERT_EQ(pipelines.size(), 2u);
  EXPECT_EQ(pipelines[0]["name"], "avg_temp_10m");
  EXPECT_EQ(pipelines[0]["window"]["type"], "tumbling");
  EXPECT_EQ(pipelines[0]["aggregates"]["avg_temp"], "avg(temperature)");
  EXPECT_EQ(pipelines[1]["watermark_scope"], "global");
  std::vector<std::pair<std::string, std::string>> schema;
  for (const Json& col : pipelines[0]["schema"]) schema.emplace_back(col["name"], col["type"]);
  EXPECT_EQ(schema, (std::vector<std::pair<std::string, std::string>>{
                        {"window", "struct<start:timestamp,end:timestamp>"},
                        {"device", "string"},
                        {"avg_temp", "double"},
                        {"max_temp", "double"},
                        {"readings", "long"}}));
}

// Reads an SSE stream on a thread of its own, collecting events (id, data).
class StreamReader {
 public:
  StreamReader(int port, std::string last_event_id) : client_("127.0.0.1", port) {
    client_.set_read_timeout(30);
    thread_ = std::thread([this, last_event_id] {
      httplib::Headers headers;
      if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
      client_.Get("/api/v1/stream", headers, [&](const char* data, std::size_t n) {
        std::lock_guard lock(mu_);
        text_.append(data, n);
        return true;
      });
    });
  }
  ~StreamReader() {
    client_.stop();  // shuts the socket down; Get() returns
    thread_.join();
  }
  // Events received so far: (id, data JSON).
  std::vector<std::pair<std::string, Json>> Events() {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, Json>> events;
    std::size_t pos = 0;
    for (std::size_t end; (end = text_.find("\n\n", pos)) != std::string::npos; pos = end + 2) {
      std::string id, data;
      const std::string block = text_.substr(pos, end - pos);
      std::size_t line_start = 0;
      while (line_start < block.size()) {
        std::size_t line_end = block.find('\n', line_start);
        if (line_end == std::string::npos) line_end = block.size();
        const std::string line = block.substr(line_start, line_end - line_start);
        if (line.rfind("id: ", 0) == 0) id = line.substr(4);
        if (line.rfind("data: ", 0) == 0) data = line.substr(6);
        line_start = line_end + 1;
      }
      if (!data.empty()) events.emplace_back(id, Json::parse(data, nullptr, false));
    }
    return events;
  }
  bool WaitFor(std::size_t count) {
    for (int i = 0; i < 200; ++i) {
      if (Events().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::string text_;
  httplib::Client client_;
  std::thread thread_;
};

TEST_F(HttpApiTest, StreamSendsClosesAndUpdatesAndResumes) {
  StartGateway();
  PublishDataSet();
  std::string last_id;
  {
    StreamReader stream(http_port_, "");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // connected
    // D2 12:15 closes D2's 12:00 window in avg_temp_10m (watermark 0s).
    PublishAndWait("devices/D2/telemetry", {Reading("D2", 15, 27)});
    ASSERT_TRUE(stream.WaitFor(1)) << gateway_->Log();
    bool saw_final = false, saw_update = false;
    // 3 closes (avg D2 12:00; count_global D1 and D2 12:00), then at the next tick the updates
    // of D2's two new open windows.
    ASSERT_TRUE(stream.WaitFor(5));
    for (const auto& [id, w] : stream.Events()) {
      EXPECT_FALSE(id.empty());
      if (w["status"] == "final" && w["device"] == "D2" && w["start"] == At(0) &&
          w["pipeline"] == "avg_temp_10m") {
        saw_final = true;
        EXPECT_EQ(w["values"]["avg_temp"], 25.0);
        EXPECT_EQ(w["closed_by"], "watermark");
      }
      if (w["status"] == "open" && w["device"] == "D2" && w["start"] == At(10) &&
          w["pipeline"] == "avg_temp_10m") {
        saw_update = true;
        EXPECT_EQ(w["values"]["readings"], 1);
        EXPECT_EQ(w["values"]["avg_temp"], 27.0);
      }
      last_id = id;
    }
    EXPECT_TRUE(saw_final);
    EXPECT_TRUE(saw_update);
  }
  // Resuming after the last id: only what came next.
  PublishAndWait("devices/D2/telemetry", {Reading("D2", 25, 28)});  // closes 12:10 in avg
  StreamReader resumed(http_port_, last_id);
  ASSERT_TRUE(resumed.WaitFor(1)) << gateway_->Log();
  for (const auto& [id, w] : resumed.Events()) EXPECT_NE(id, last_id);
  const auto events = resumed.Events();
  EXPECT_EQ(events.front().second["status"], "final");
  EXPECT_EQ(events.front().second["start"], At(10));
}

}  // namespace
}  // namespace tidemark::testing
