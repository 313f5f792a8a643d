// The HTTP API's contract beyond values: the OpenAPI document matches real responses, /metrics
// parses with the Prometheus client library's parser, authentication, limits and readiness.
#include <sys/socket.h>

#include <fstream>
#include <thread>

#include "tests/web/http_fixture.h"
#include "tests/web/openapi_check.h"

namespace tidemark::testing {
namespace {

TEST_F(HttpApiTest, OpenApiDocumentDescribesRealResponses) {
  StartGateway();
  PublishDataSet();
  HttpReply doc_reply = Get("/api/v1/openapi.json");
  ASSERT_EQ(doc_reply.status, 200);
  const Json document = doc_reply.json();
  ASSERT_TRUE(document.is_object()) << "not JSON";
  EXPECT_EQ(document["openapi"].get<std::string>().substr(0, 2), "3.");
  for (const std::string path : {"/api/v1/windows", "/api/v1/devices", "/api/v1/state",
                                 "/api/v1/late", "/api/v1/rejected", "/api/v1/pipelines"}) {
    HttpReply r = Get(path + "?page_size=2");
    if (r.status == 400) r = Get(path);  // endpoints without paging
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    std::vector<std::string> errors;
    ValidateSchema(document, ResponseSchema(document, path), r.json(), path, errors);
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
    // Every query parameter the server accepts is documented, and vice versa (a documented
    // one is accepted: no 400 "unknown parameter").
    for (const Json& param : document["paths"][path]["get"].value("parameters", Json::array())) {
      const Json& p =
          param.contains("$ref")
              ? document.at(Json::json_pointer(param["$ref"].get<std::string>().substr(1)))
              : param;
      if (p["in"] != "query") continue;
      const std::string name = p["name"];
      const std::string value = name == "page_size"              ? "1"
                                : name == "status"               ? "open"
                                : name == "from" || name == "to" ? At(0)
                                : name == "reason"               ? "bad_time"
                                : name == "page_token"           ? ""
                                                                 : "x";
      if (value.empty()) continue;
      HttpReply with = Get(path + "?" + name + "=" + value);
      EXPECT_EQ(with.status, 200) << path << "?" << name << ": " << with.body;
    }
  }
  // A problem response matches the Problem schema.
  std::vector<std::string> errors;
  ValidateSchema(document, Json{{"$ref", "#/components/schemas/Problem"}},
                 Get("/api/v1/windows?page_size=0").json(), "problem", errors);
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

TEST_F(HttpApiTest, MetricsParseWithThePrometheusParser) {
  StartGateway();
  PublishDataSet();
  HttpReply r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
  const auto metrics = dir_ / "metrics.txt";
  std::ofstream(metrics) << r.body;
  // prometheus_client's parser (Debian python3-prometheus-client) raises on malformed text.
  const auto out = dir_ / "parsed.json";
  const std::string script =
      "import sys, json\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "fams = {}\n"
      "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "    fams[f.name] = {'type': f.type, 'samples': [[s.name, s.labels, s.value] for s in "
      "f.samples]}\n"
      "json.dump(fams, open(sys.argv[2], 'w'))\n";
  Process parser({"/usr/bin/python3", "-c", script, metrics.string(), out.string()},
                 dir_ / "parser.log");
  ASSERT_EQ(parser.Wait(std::chrono::seconds(30)), 0) << parser.Log() << "\n" << r.body;
  std::ifstream in(out);
  const Json families = Json::parse(in);
  auto value = [&](const std::string& family, const std::string& sample, const Json& labels) {
    for (const Json& s : families.at(family)["samples"]) {
      if (s[0] == sample && s[1] == labels) return s[2].get<double>();
    }
    ADD_FAILURE() << "no sample " << sample << labels.dump();
    return -1.0;
  };
  // The parser names counter families without _total.
  EXPECT_EQ(families.at("tidemark_records")["type"], "counter");
  EXPECT_EQ(value("tidemark_records", "tidemark_records_total", {{"pipeline", "avg_temp_10m"}}), 4);
  EXPECT_EQ(
      value("tidemark_late_records", "tidemark_late_records_total", {{"pipeline", "avg_temp_10m"}}),
      1);
  EXPECT_EQ(value("tidemark_rejected_records", "tidemark_rejected_records_total",
                  {{"reason", "not_json"}}),
            1);
  EXPECT_EQ(value("tidemark_open_windows", "tidemark_open_windows", {{"pipeline", "count_global"}}),
            3);
  EXPECT_EQ(value("tidemark_mqtt_connected", "tidemark_mqtt_connected", Json::object()), 1);
  EXPECT_EQ(families.at("tidemark_commit_duration_seconds")["type"], "histogram");
  EXPECT_EQ(value("tidemark_commit_duration_seconds", "tidemark_commit_duration_seconds_count",
                  Json::object()),
            7);
  EXPECT_EQ(value("tidemark_commit_duration_seconds", "tidemark_commit_duration_seconds_bucket",
                  {{"le", "+Inf"}}),
            7);
  EXPECT_GT(value("tidemark_watermark_lag_seconds", "tidemark_watermark_lag_seconds",
                  {{"pipeline", "avg_temp_10m"}}),
            0);
  EXPECT_GE(value("tidemark_http_requests", "tidemark_http_requests_total", {{"code", "200"}}), 1);
}

TEST_F(HttpApiTest, BearerTokenGuardsTheApi) {
  std::ofstream(dir_ / "token") << "s3cret-token\n";
  StartGateway("token_file = \"" + (dir_ / "token").string() + "\"\n");
  EXPECT_EQ(Get("/api/v1/state").status, 401);
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/api/v1/state", "wrong").status, 401);
  EXPECT_EQ(Get("/api/v1/state", "s3cret-tokenX").status, 401);
  EXPECT_EQ(Get("/api/v1/state", "s3cret-token").status, 200);
  EXPECT_EQ(Get("/api/v1/windows", "s3cret-token").status, 200);
  EXPECT_EQ(Get("/livez").status, 200);
  EXPECT_EQ(Get("/").status, 200);
  HttpReply denied = Get("/api/v1/windows");
  EXPECT_EQ(denied.content_type, "application/problem+json");
  // EventSource cannot send headers: the stream takes access_token.
  httplib::Client client("127.0.0.1", http_port_);
  client.set_read_timeout(5);
  bool got_data = false;
  auto res = client.Get("/api/v1/stream?access_token=s3cret-token", [&](const char*, std::size_t) {
    got_data = true;
    return false;  // the first chunk is enough
  });
  EXPECT_TRUE(got_data);
  EXPECT_EQ(Get("/api/v1/stream?access_token=nope").status, 401);
  // A refusal never leaves the connection open for reuse (an unread body would desync it).
  auto refused = client.Get("/api/v1/state");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("Connection"), "close");
  // With a token, the Host does not matter (the token is the guard).
  auto other_host = client.Get(
      "/api/v1/state", {{"Host", "dash.example.com"}, {"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(other_host);
  EXPECT_EQ(other_host->status, 200);
}

// Without a token, the API answers only requests that name this machine in Host: a web page
// on another origin whose name is rebound to 127.0.0.1 must not read it through a browser.
TEST_F(HttpApiTest, WithoutATokenOnlyLoopbackHostsAndAllowedNamesAreServed) {
  StartGateway("allowed_hosts = [\"dash.example.com\"]\n");
  httplib::Client client("127.0.0.1", http_port_);
  client.set_read_timeout(5);
  const std::string port = ":" + std::to_string(http_port_);
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1" + port, "localhost" + port, "LOCALHOST" + port,
                                "dash.example.com" + port, "127.0.0.1"}) {
    auto res = client.Get("/api/v1/state", {{"Host", host}});
    ASSERT_TRUE(res) << host;
    EXPECT_EQ(res->status, 200) << host;
  }
  for (const std::string& host :
       {"evil.example" + port, "127.example.com" + port, "dash.example.com.evil.example" + port}) {
    for (const char* path : {"/api/v1/state", "/", "/api/v1/windows"}) {
      auto res = client.Get(path, {{"Host", host}});
      ASSERT_TRUE(res) << host << path;
      EXPECT_EQ(res->status, 403) << host << path;
      EXPECT_NE(res->body.find("is not this gateway's"), std::string::npos) << res->body;
    }
  }
}

// Every response forbids MIME sniffing; the page may run only its own scripts (no inline code,
// no framing), and the real page still works under that policy (the browser test loads it).
TEST_F(HttpApiTest, ResponsesCarryTheSecurityHeaders) {
  StartGateway();
  httplib::Client client("127.0.0.1", http_port_);
  for (const char* path : {"/", "/api/v1/state", "/assets/app.js", "/no-such-page"}) {
    auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    const std::string csp = res->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << path << ": " << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path << ": " << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path << ": " << csp;
  }
}

TEST_F(HttpApiTest, LimitsAnswerWithProblems) {
  StartGateway("max_streams = 1\n");
  httplib::Client client("127.0.0.1", http_port_);
  // Only GET.
  auto post = client.Post("/api/v1/windows", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  // Oversized bodies: 413.
  auto big = client.Post("/api/v1/windows", std::string(200 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // One stream at a time: a second gets 429.
  httplib::Client streaming("127.0.0.1", http_port_);
  std::atomic<bool> open{false};
  std::thread first([&] {
    streaming.Get("/api/v1/stream", [&](const char*, std::size_t) {
      open = true;
      return true;
    });
  });
  for (int i = 0; i < 100 && !open; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(open);
  HttpReply second = Get("/api/v1/stream");
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(second.content_type, "application/problem+json");
  streaming.stop();
  first.join();
  // A slow client that never finishes its request is cut off (read timeout), and the server
  // keeps answering others meanwhile.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(http_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char partial[] = "GET /api/v1/state HTTP/1.1\r\nHost: x\r\n";
  ASSERT_GT(send(fd, partial, sizeof partial - 1, 0), 0);
  EXPECT_EQ(Get("/livez").status, 200);
  close(fd);
}

TEST_F(HttpApiTest, ReadinessFollowsTheBroker) {
  StartGateway();
  HttpReply ready = Get("/readyz?verbose");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("[+]mqtt"), std::string::npos);
  broker_->Stop();
  HttpReply r;
  for (int i = 0; i < 100; ++i) {
    r = Get("/readyz?verbose");
    if (r.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("[-]mqtt"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/livez").status, 200);
  ASSERT_TRUE(broker_->Start());
  for (int i = 0; i < 150; ++i) {
    r = Get("/readyz");
    if (r.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.status, 200) << gateway_->Log();
}

}  // namespace
}  // namespace tidemark::testing

namespace tidemark::testing {
namespace {

TEST_F(HttpApiTest, HttpsWithTheConfiguredCertificate) {
  const auto cert = dir_ / "cert.pem", key = dir_ / "key.pem";
  Process openssl({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                   "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                   key.string(), "-out", cert.string()},
                  dir_ / "openssl.log");
  ASSERT_EQ(openssl.Wait(std::chrono::seconds(60)), 0) << openssl.Log();
  StartGateway("cert_file = \"" + cert.string() + "\"\nkey_file = \"" + key.string() + "\"\n");
  httplib::SSLClient tls("127.0.0.1", http_port_);
  tls.set_ca_cert_path(cert.string().c_str());
  tls.enable_server_certificate_verification(true);
  auto res = tls.Get("/api/v1/pipelines");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Json::parse(res->body)["pipelines"].size(), 2u);
  // Plain HTTP on the TLS port gets no API answer.
  EXPECT_NE(Get("/api/v1/pipelines").status, 200);
}

}  // namespace
}  // namespace tidemark::testing
