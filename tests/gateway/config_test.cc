// Tests for gateway/config/config.h: the TOML contract, defaults, and that every error names the
// source, the line and the key.
#include "gateway/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tidemark {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The example from the public contract, verbatim.
constexpr std::string_view kContract = R"toml([mqtt]
broker = "tcp://127.0.0.1:1883"     # also ssl:// with ca/cert/key options, username/password
client_id = "tidemark"
topics = ["devices/+/telemetry"]
qos = 1

[input]
device = "deviceId"          # a payload field, or "topic[1]" for a topic level (0-based)
event_time = "eventTime"     # a payload field: epoch s, epoch ms, or RFC 3339 string
max_future_skew = "5 minutes"

[storage]
path = "/var/lib/tidemark/tidemark.db"
synchronous = "normal"       # or "full"
retention = "7 days"

[http]
listen = "127.0.0.1:8080"

[[pipeline]]
name = "avg_temp_10m"
window = "10 minutes"        # tumbling unless slide is given
slide = "5 minutes"          # optional: sliding windows
offset = "0s"                # optional
# session_gap = "5 minutes"  # session windows instead of window/slide
watermark = "30 minutes"
watermark_scope = "device"   # or "global"
idle_timeout = "15 minutes"  # "0s" disables
time = "event"               # or "processing"
aggregates = { avg_temp = "avg(temperature)", max_temp = "max(temperature)", readings = "count()" }
)toml";

// A valid pipeline to append after the section under test.
constexpr std::string_view kPipeline = R"toml(
[[pipeline]]
name = "p"
window = "1 minute"
aggregates = { n = "count()" }
)toml";

Config Parse(std::string_view text) {
  StatusOr<Config> r = ParseConfig(text, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : Config{};
}

std::string ErrorOf(std::string_view text) {
  StatusOr<Config> r = ParseConfig(text, "t.toml");
  return r.ok() ? "(parsed without error)" : r.error();
}

// "name=fn(field)" for compact comparisons of aggregates.
std::vector<std::string> Aggregates(const PipelineSpec& p) {
  std::vector<std::string> out;
  for (const AggregateSpec& a : p.aggregates) out.push_back(a.alias + "=" + a.Expression());
  return out;
}

struct ErrorCase {
  std::string text;
  std::string prefix;    // "t.toml:<line>: <key path>: "
  std::string fragment;  // part of what is wrong
};

void ExpectErrors(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string error = ErrorOf(c.text);
    EXPECT_THAT(error, StartsWith(c.prefix));
    EXPECT_THAT(error, HasSubstr(c.fragment));
  }
}

// A section followed by a valid pipeline: the section's line numbers are unchanged.
std::string WithPipeline(std::string_view section) {
  return std::string(section) + std::string(kPipeline);
}

// A single [[pipeline]] on line 1 with `body` from line 2.
std::string Pipeline(std::string_view body) { return "[[pipeline]]\n" + std::string(body); }

TEST(ConfigTest, ContractExampleParses) {
  Config c = Parse(kContract);
  EXPECT_EQ(c.mqtt.broker, "tcp://127.0.0.1:1883");
  EXPECT_EQ(c.mqtt.client_id, "tidemark");
  EXPECT_EQ(c.mqtt.topics, std::vector<std::string>{"devices/+/telemetry"});
  EXPECT_EQ(c.mqtt.qos, 1);
  EXPECT_EQ(c.input.device, "deviceId");
  EXPECT_EQ(c.input.event_time, "eventTime");
  EXPECT_EQ(c.input.max_future_skew, 5 * kMinute);
  EXPECT_EQ(c.storage.path, "/var/lib/tidemark/tidemark.db");
  EXPECT_EQ(c.storage.synchronous, sqlite::Synchronous::kNormal);
  EXPECT_EQ(c.storage.retention, 7 * kDay);
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  ASSERT_EQ(c.pipelines.size(), 1u);
  const PipelineSpec& p = c.pipelines[0];
  EXPECT_EQ(p.name, "avg_temp_10m");
  EXPECT_EQ(p.window.kind, WindowKind::kSliding);
  EXPECT_EQ(p.window.size, 10 * kMinute);
  EXPECT_EQ(p.window.slide, 5 * kMinute);
  EXPECT_EQ(p.window.offset, 0);
  EXPECT_EQ(p.watermark_delay, 30 * kMinute);
  EXPECT_EQ(p.scope, WatermarkScope::kDevice);
  EXPECT_EQ(p.idle_timeout, 15 * kMinute);
  EXPECT_EQ(p.time, TimeMode::kEvent);
  EXPECT_TRUE(p.dedup);
  // File order (here also alphabetical; the tests below have aggregates that are not).
  ASSERT_EQ(p.aggregates.size(), 3u);
  EXPECT_EQ(p.aggregates[0].alias, "avg_temp");
  EXPECT_EQ(p.aggregates[0].fn, AggregateFn::kAvg);
  EXPECT_EQ(p.aggregates[0].field, "temperature");
  EXPECT_EQ(p.aggregates[1].alias, "max_temp");
  EXPECT_EQ(p.aggregates[1].fn, AggregateFn::kMax);
  EXPECT_EQ(p.aggregates[1].field, "temperature");
  EXPECT_EQ(p.aggregates[2].alias, "readings");
  EXPECT_EQ(p.aggregates[2].fn, AggregateFn::kCount);
  EXPECT_EQ(p.aggregates[2].field, "");
}

TEST(ConfigTest, TumblingWithOffsetAndProcessingTime) {
  Config c = Parse(Pipeline(R"toml(name = "t"
window = "1 hour"
offset = "15 minutes"
watermark_scope = "global"
time = "processing"
dedup = false
aggregates = { total = "sum(power.watts)" }
)toml"));
  ASSERT_EQ(c.pipelines.size(), 1u);
  const PipelineSpec& p = c.pipelines[0];
  EXPECT_EQ(p.window.kind, WindowKind::kTumbling);
  EXPECT_EQ(p.window.size, kHour);
  EXPECT_EQ(p.window.slide, kHour);
  EXPECT_EQ(p.window.offset, 15 * kMinute);
  EXPECT_EQ(p.scope, WatermarkScope::kGlobal);
  EXPECT_EQ(p.time, TimeMode::kProcessing);
  EXPECT_FALSE(p.dedup);
  EXPECT_EQ(Aggregates(p), std::vector<std::string>{"total=sum(power.watts)"});
}

TEST(ConfigTest, SessionPipeline) {
  Config c = Parse(Pipeline(R"toml(name = "sessions"
session_gap = "5 minutes"
watermark = "1 minute"
aggregates = { n = "count()", first_t = "first(t)", last_t = "last(t)" }
)toml"));
  ASSERT_EQ(c.pipelines.size(), 1u);
  const PipelineSpec& p = c.pipelines[0];
  EXPECT_EQ(p.window.kind, WindowKind::kSession);
  EXPECT_EQ(p.window.gap, 5 * kMinute);
  EXPECT_EQ(p.watermark_delay, kMinute);
  EXPECT_EQ(Aggregates(p),
            (std::vector<std::string>{"n=count()", "first_t=first(t)", "last_t=last(t)"}));
}

TEST(ConfigTest, PipelineDefaultsAndFileOrderOfSubTableAggregates) {
  Config c = Parse(Pipeline(R"toml(name = "a.b-c_1"
window = "30s"

[pipeline.aggregates]
zeta = "max(z)"
alpha = "min(a)"
mid = "count(m)"

[[pipeline]]
name = "second"
window = "1m"
aggregates = { x = "avg(x)" }
)toml"));
  ASSERT_EQ(c.pipelines.size(), 2u);
  const PipelineSpec& p = c.pipelines[0];
  EXPECT_EQ(p.name, "a.b-c_1");
  EXPECT_EQ(p.window.kind, WindowKind::kTumbling);
  EXPECT_EQ(p.window.size, 30 * kSecond);
  EXPECT_EQ(p.watermark_delay, 0);  // documented default "0s"
  EXPECT_EQ(p.scope, WatermarkScope::kDevice);
  EXPECT_EQ(p.idle_timeout, 0);
  EXPECT_EQ(p.time, TimeMode::kEvent);
  EXPECT_TRUE(p.dedup);
  EXPECT_EQ(Aggregates(p),
            (std::vector<std::string>{"zeta=max(z)", "alpha=min(a)", "mid=count(m)"}));
  EXPECT_EQ(c.pipelines[1].name, "second");
}

TEST(ConfigTest, OmittedSectionsTakeStructDefaults) {
  Config c = Parse(kPipeline);
  EXPECT_EQ(c.mqtt, MqttConfig{});
  EXPECT_EQ(c.input, InputConfig{});
  EXPECT_EQ(c.storage, StorageConfig{});
  EXPECT_EQ(c.http, HttpConfig{});
  // The struct defaults themselves, so a changed default is a deliberate test change.
  EXPECT_EQ(c.mqtt.version, 4);
  EXPECT_EQ(c.mqtt.keep_alive, 30 * kSecond);
  EXPECT_EQ(c.input.max_payload_bytes, 65536u);
  EXPECT_EQ(c.storage.checkpoint_records, 50000);
}

TEST(ConfigTest, EveryOptionalKeyIsRead) {
  Config c = Parse(WithPipeline(R"toml([mqtt]
broker = "ssl://broker.example:8883"
topics = ["a/+/b", "c/#", "#", "$share/g/d/+"]
qos = 0
version = "5"
username = "u"
password = "p"
ca_file = "/ca.pem"
cert_file = "/c.pem"
key_file = "/k.pem"
keep_alive = "1 minute"
session_expiry = "1 hour"
reconnect_min = "500ms"
reconnect_max = "2 minutes"

[input]
device = "topic[1]"
event_time = "meta.ts"
max_future_skew = "0s"
max_payload_bytes = 1024

[storage]
path = "x.db"
synchronous = "full"
retention = "1 day"
checkpoint_interval = "2s"
checkpoint_records = 10
late_log_max = 20
rejected_max = 30

[http]
listen = "0.0.0.0:9090"
token_file = "/etc/tidemark/token"
cert_file = "/h.pem"
key_file = "/h.key"
)toml"));
  EXPECT_EQ(c.mqtt.broker, "ssl://broker.example:8883");
  EXPECT_EQ(c.mqtt.topics, (std::vector<std::string>{"a/+/b", "c/#", "#", "$share/g/d/+"}));
  EXPECT_EQ(c.mqtt.qos, 0);
  EXPECT_EQ(c.mqtt.version, 5);
  EXPECT_EQ(c.mqtt.username, "u");
  EXPECT_EQ(c.mqtt.password, "p");
  EXPECT_EQ(c.mqtt.ca_file, "/ca.pem");
  EXPECT_EQ(c.mqtt.cert_file, "/c.pem");
  EXPECT_EQ(c.mqtt.key_file, "/k.pem");
  EXPECT_EQ(c.mqtt.keep_alive, kMinute);
  EXPECT_EQ(c.mqtt.session_expiry, kHour);
  EXPECT_EQ(c.mqtt.reconnect_min, 500);
  EXPECT_EQ(c.mqtt.reconnect_max, 2 * kMinute);
  EXPECT_EQ(c.input.device, "topic[1]");
  EXPECT_EQ(c.input.event_time, "meta.ts");
  EXPECT_EQ(c.input.max_future_skew, 0);
  EXPECT_EQ(c.input.max_payload_bytes, 1024u);
  EXPECT_EQ(c.storage.path, "x.db");
  EXPECT_EQ(c.storage.synchronous, sqlite::Synchronous::kFull);
  EXPECT_EQ(c.storage.retention, kDay);
  EXPECT_EQ(c.storage.checkpoint_interval, 2 * kSecond);
  EXPECT_EQ(c.storage.checkpoint_records, 10);
  EXPECT_EQ(c.storage.late_log_max, 20);
  EXPECT_EQ(c.storage.rejected_max, 30);
  EXPECT_EQ(c.http.listen, "0.0.0.0:9090");
  EXPECT_EQ(c.http.token_file, "/etc/tidemark/token");
  EXPECT_EQ(c.http.cert_file, "/h.pem");
  EXPECT_EQ(c.http.key_file, "/h.key");
}

TEST(ConfigTest, AcceptedListenAndBrokerForms) {
  EXPECT_EQ(Parse(WithPipeline("[http]\nlisten = \"\"\n")).http.listen, "");
  EXPECT_EQ(Parse(WithPipeline("[http]\nlisten = \"[::1]:8080\"\n")).http.listen, "[::1]:8080");
  EXPECT_EQ(Parse(WithPipeline("[http]\nlisten = \"localhost:80\"\n")).http.listen, "localhost:80");
  EXPECT_EQ(Parse(WithPipeline("[mqtt]\nbroker = \"wss://h.example/mqtt\"\n")).mqtt.broker,
            "wss://h.example/mqtt");
  EXPECT_EQ(Parse(WithPipeline("[mqtt]\nbroker = \"mqtt://h\"\n")).mqtt.broker, "mqtt://h");
  EXPECT_EQ(Parse(WithPipeline("[input]\ndevice = \"meta.device-id\"\n")).input.device,
            "meta.device-id");
}

TEST(ConfigTest, DefaultConfigTextParsesToDefaultsAndSeedPipeline) {
  StatusOr<Config> r = ParseConfig(DefaultConfigText(), "default");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->mqtt, MqttConfig{});
  EXPECT_EQ(r->input, InputConfig{});
  EXPECT_EQ(r->storage, StorageConfig{});
  EXPECT_EQ(r->http, HttpConfig{});
  ASSERT_EQ(r->pipelines.size(), 1u);
  const PipelineSpec& p = r->pipelines[0];
  EXPECT_EQ(p.name, "avg_temp_10m");
  EXPECT_EQ(p.window.kind, WindowKind::kTumbling);
  EXPECT_EQ(p.window.size, 10 * kMinute);
  EXPECT_EQ(p.window.offset, 0);
  EXPECT_EQ(p.watermark_delay, 30 * kMinute);
  EXPECT_EQ(p.scope, WatermarkScope::kDevice);
  EXPECT_EQ(p.idle_timeout, 15 * kMinute);
  EXPECT_EQ(p.time, TimeMode::kEvent);
  EXPECT_TRUE(p.dedup);
  EXPECT_EQ(Aggregates(p),
            (std::vector<std::string>{"avg_temp=avg(temperature)", "max_temp=max(temperature)",
                                      "readings=count()"}));
}

TEST(ConfigTest, DefaultConfigTextDocumentsEveryKey) {
  const std::string text(DefaultConfigText());
  for (const char* key : {"broker",
                          "client_id",
                          "topics",
                          "qos",
                          "version",
                          "username",
                          "password",
                          "ca_file",
                          "cert_file",
                          "key_file",
                          "keep_alive",
                          "session_expiry",
                          "reconnect_min",
                          "reconnect_max",
                          "device",
                          "event_time",
                          "max_future_skew",
                          "max_payload_bytes",
                          "path",
                          "synchronous",
                          "retention",
                          "checkpoint_interval",
                          "checkpoint_records",
                          "late_log_max",
                          "rejected_max",
                          "listen",
                          "token_file",
                          "name",
                          "window",
                          "slide",
                          "offset",
                          "session_gap",
                          "watermark",
                          "watermark_scope",
                          "idle_timeout",
                          "time",
                          "dedup",
                          "aggregates"}) {
    const bool set = text.find("\n" + std::string(key) + " = ") != std::string::npos;
    const bool commented = text.find("\n# " + std::string(key) + " = ") != std::string::npos;
    EXPECT_TRUE(set || commented) << key << " is not documented";
  }
}

TEST(ConfigTest, MqttErrors) {
  ExpectErrors({
      {WithPipeline("[mqtt]\nqos = 2\n"), "t.toml:2: mqtt.qos: ", "must be 0 or 1, got 2"},
      {WithPipeline("[mqtt]\nqos = 2\n"), "t.toml:2: mqtt.qos: ", "QoS 2 is not supported"},
      {WithPipeline("[mqtt]\nqos = -1\n"), "t.toml:2: mqtt.qos: ", "must be 0 or 1, got -1"},
      {WithPipeline("[mqtt]\nqos = \"1\"\n"), "t.toml:2: mqtt.qos: ", "expected an integer"},
      {WithPipeline("[mqtt]\nbroker = \"http://h:1883\"\n"),
       "t.toml:2: mqtt.broker: ", "invalid broker \"http://h:1883\": the scheme must be tcp://"},
      {WithPipeline("[mqtt]\nbroker = \"tcp://h:99999\"\n"),
       "t.toml:2: mqtt.broker: ", "port must be 1..65535"},
      {WithPipeline("[mqtt]\nbroker = \"tcp://\"\n"), "t.toml:2: mqtt.broker: ", "missing host"},
      {WithPipeline("[mqtt]\ntopics = \"devices/#\"\n"),
       "t.toml:2: mqtt.topics: ", "expected an array of strings"},
      {WithPipeline("[mqtt]\ntopics = [\"a\", 1]\n"),
       "t.toml:2: mqtt.topics: ", "expected an array of strings"},
      {WithPipeline("[mqtt]\ntopics = []\n"),
       "t.toml:2: mqtt.topics: ", "at least one topic filter"},
      {WithPipeline("[mqtt]\ntopics = [\"a/#/b\"]\n"), "t.toml:2: mqtt.topics[0]: ",
       "invalid topic filter \"a/#/b\": '#' must be the whole last level"},
      {WithPipeline("[mqtt]\ntopics = [\"ok/+\", \"a/b+\"]\n"),
       "t.toml:2: mqtt.topics[1]: ", "'+' must be a whole level"},
      {WithPipeline("[mqtt]\ntopics = [\n  \"a\",\n  \"\",\n]\n"),
       "t.toml:4: mqtt.topics[1]: ", "invalid topic filter \"\": empty"},
      {WithPipeline("[mqtt]\nversion = \"4\"\n"),
       "t.toml:2: mqtt.version: ", "must be \"3.1.1\" or \"5\", got \"4\""},
      {WithPipeline("[mqtt]\nversion = 5\n"), "t.toml:2: mqtt.version: ", "expected a string"},
      {WithPipeline("[mqtt]\nca_file = \"/ca.pem\"\n"),
       "t.toml:2: mqtt.ca_file: ", "only used with ssl://"},
      {WithPipeline("[mqtt]\nbroker = \"ssl://h:8883\"\ncert_file = \"/c.pem\"\n"),
       "t.toml:3: mqtt.cert_file: ", "needs mqtt.key_file too"},
      {WithPipeline("[mqtt]\npassword = \"secret\"\n"),
       "t.toml:2: mqtt.password: ", "needs mqtt.username"},
      {WithPipeline("[mqtt]\nkeep_alive = \"1500ms\"\n"),
       "t.toml:2: mqtt.keep_alive: ", "must be a multiple of 1s"},
      {WithPipeline("[mqtt]\nkeep_alive = \"1 day\"\n"),
       "t.toml:2: mqtt.keep_alive: ", "must be at most 65535s"},
      {WithPipeline("[mqtt]\nreconnect_min = \"1 minute\"\n"),
       "t.toml:2: mqtt.reconnect_max: ", "must not be shorter than mqtt.reconnect_min"},
      {WithPipeline("[mqtt]\nreconnect_min = \"0s\"\n"),
       "t.toml:2: mqtt.reconnect_min: ", "must be greater than 0s"},
      {WithPipeline("[mqtt]\nclient_id = \"\"\n"),
       "t.toml:2: mqtt.client_id: ", "must not be empty"},
      {WithPipeline("[mqtt]\nclient_id = \"x\"\nbrokr = \"tcp://h\"\n"),
       "t.toml:3: mqtt.brokr: ", "unknown key (did you mean \"broker\"?)"},
  });
}

TEST(ConfigTest, InputStorageHttpErrors) {
  ExpectErrors({
      {WithPipeline("[input]\ndevcie = \"id\"\n"),
       "t.toml:2: input.devcie: ", "unknown key (did you mean \"device\"?)"},
      {WithPipeline("[input]\ndevice = \"topic[x]\"\n"),
       "t.toml:2: input.device: ", "expected \"topic[N]\""},
      {WithPipeline("[input]\ndevice = \"topic[100]\"\n"),
       "t.toml:2: input.device: ", "expected \"topic[N]\""},
      {WithPipeline("[input]\ndevice = \"a..b\"\n"),
       "t.toml:2: input.device: ", "invalid field path \"a..b\": empty segment"},
      {WithPipeline("[input]\nevent_time = \"\"\n"),
       "t.toml:2: input.event_time: ", "must not be empty"},
      {WithPipeline("[input]\nmax_payload_bytes = 0\n"),
       "t.toml:2: input.max_payload_bytes: ", "must be 1..268435455, got 0"},
      {WithPipeline("[input]\nmax_future_skew = \"soon\"\n"),
       "t.toml:2: input.max_future_skew: ", "invalid duration \"soon\""},
      {WithPipeline("[storage]\nsynchronous = \"off\"\n"),
       "t.toml:2: storage.synchronous: ", "must be \"normal\" or \"full\", got \"off\""},
      {WithPipeline("[storage]\nretention = \"0s\"\n"),
       "t.toml:2: storage.retention: ", "must be greater than 0s"},
      {WithPipeline("[storage]\nretention = 7\n"),
       "t.toml:2: storage.retention: ", "expected a duration string"},
      {WithPipeline("[storage]\ncheckpoint_records = 0\n"),
       "t.toml:2: storage.checkpoint_records: ", "must be at least 1, got 0"},
      {WithPipeline("[storage]\npath = \"\"\n"), "t.toml:2: storage.path: ", "must not be empty"},
      {WithPipeline("[http]\nlisten = \"127.0.0.1:0\"\n"),
       "t.toml:2: http.listen: ", "port must be 1..65535"},
      {WithPipeline("[http]\nlisten = \"127.0.0.1\"\n"),
       "t.toml:2: http.listen: ", "expected \"host:port\""},
      {WithPipeline("[http]\nlisten = \"0.0.0.0:8080\"\n"),
       "t.toml:2: http.listen: ", "requires http.token_file"},
      {WithPipeline("[http]\nlisten = \"127.example.com:8080\"\n"),
       "t.toml:2: http.listen: ", "requires http.token_file"},
      {WithPipeline("[http]\nlisten = \"127.0.0.1.nip.io:8080\"\n"),
       "t.toml:2: http.listen: ", "requires http.token_file"},
      {WithPipeline("[http]\ncert_file = \"/c.pem\"\n"),
       "t.toml:2: http.cert_file: ", "needs http.key_file too"},
  });
}

TEST(ConfigTest, TopLevelErrors) {
  ExpectErrors({
      {WithPipeline("mqtt = 1\n"), "t.toml:1: mqtt: ", "expected a table"},
      {WithPipeline("[mqttt]\n"), "t.toml:1: mqttt: ", "unknown key (did you mean \"mqtt\"?)"},
      {WithPipeline("debug = true\n"), "t.toml:1: debug: ", "unknown key"},
      {"[mqtt]\nqos = 1\n", "t.toml:1: pipeline: ", "at least one [[pipeline]] is required"},
      {"", "t.toml:1: pipeline: ", "at least one [[pipeline]] is required"},
      {"pipeline = []\n", "t.toml:1: pipeline: ", "at least one [[pipeline]] is required"},
      {"[pipeline]\nname = \"p\"\n", "t.toml:1: pipeline: ", "expected [[pipeline]] tables"},
  });
}

TEST(ConfigTest, PipelineErrors) {
  const std::string agg = "aggregates = { n = \"count()\" }\n";
  ExpectErrors({
      {Pipeline("name = \"p\"\nwindow = \"10 parsecs\"\n" + agg), "t.toml:3: pipeline[0].window: ",
       "invalid duration \"10 parsecs\": unknown unit \"parsecs\""},
      {Pipeline("name = \"p\"\nwindow = \"0s\"\n" + agg),
       "t.toml:3: pipeline[0].window: ", "window size must be positive"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\nsession_gap = \"1m\"\n" + agg),
       "t.toml:4: pipeline[0].session_gap: ", "not allowed together with window"},
      {Pipeline("name = \"p\"\n" + agg), "t.toml:1: pipeline[0].window: ",
       "missing: set window (tumbling or sliding) or session_gap"},
      {Pipeline("name = \"p\"\nsession_gap = \"1m\"\nslide = \"1m\"\n" + agg),
       "t.toml:4: pipeline[0].slide: ", "only allowed with window"},
      {Pipeline("name = \"p\"\nwindow = \"10m\"\nslide = \"20m\"\n" + agg),
       "t.toml:4: pipeline[0].slide: ", "slide 20m must not exceed the window size 10m"},
      {Pipeline("name = \"p\"\nwindow = \"10m\"\nslide = \"100ms\"\n" + agg),
       "t.toml:4: pipeline[0].slide: ", "more than 1000 windows"},
      {Pipeline("name = \"p\"\nwindow = \"10m\"\nslide = \"0s\"\n" + agg),
       "t.toml:4: pipeline[0].slide: ", "slide must be positive"},
      {Pipeline("name = \"p\"\nwindow = \"10m\"\nslide = \"5m\"\noffset = \"6m\"\n" + agg),
       "t.toml:5: pipeline[0].offset: ", "must be less than the slide 5m, got 6m"},
      {Pipeline("name = \"p\"\nwindow = \"10m\"\noffset = \"10m\"\n" + agg),
       "t.toml:4: pipeline[0].offset: ", "must be less than the window size 10m, got 10m"},
      {Pipeline("window = \"1m\"\n" + agg), "t.toml:1: pipeline[0].name: ", "missing (required)"},
      {Pipeline("name = \"\"\nwindow = \"1m\"\n" + agg),
       "t.toml:2: pipeline[0].name: ", "must not be empty"},
      {Pipeline("name = \"avg temp\"\nwindow = \"1m\"\n" + agg),
       "t.toml:2: pipeline[0].name: ", "invalid name \"avg temp\""},
      {Pipeline("name = \"p/q\"\nwindow = \"1m\"\n" + agg),
       "t.toml:2: pipeline[0].name: ", "invalid name \"p/q\""},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\n" + agg +
                "[[pipeline]]\nname = \"p\"\nwindow = "
                "\"2m\"\n" +
                agg),
       "t.toml:6: pipeline[1].name: ", "duplicate pipeline name \"p\" (also pipeline[0])"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\n"),
       "t.toml:1: pipeline[0].aggregates: ", "missing (required"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\naggregates = {}\n"),
       "t.toml:4: pipeline[0].aggregates: ", "needs at least one aggregate"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\naggregates = [\"count()\"]\n"),
       "t.toml:4: pipeline[0].aggregates: ", "expected a table"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\naggregates = { a = \"median(x)\" }\n"),
       "t.toml:4: pipeline[0].aggregates.a: ", "unknown function \"median\""},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\naggregates = { a = 1 }\n"),
       "t.toml:4: pipeline[0].aggregates.a: ", "expected a string"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\nwatermark_scope = \"local\"\n" + agg),
       "t.toml:4: pipeline[0].watermark_scope: ", "must be \"device\" or \"global\""},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\ntime = \"ingest\"\n" + agg),
       "t.toml:4: pipeline[0].time: ", "must be \"event\" or \"processing\", got \"ingest\""},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\ndedup = \"yes\"\n" + agg),
       "t.toml:4: pipeline[0].dedup: ", "expected true or false"},
      {Pipeline("name = \"p\"\nwindow = \"1m\"\nidle_timeout = \"-5m\"\n" + agg),
       "t.toml:4: pipeline[0].idle_timeout: ", "negative durations are not allowed"},
      {Pipeline("name = \"p\"\nwindw = \"1m\"\n" + agg),
       "t.toml:3: pipeline[0].windw: ", "unknown key (did you mean \"window\"?)"},
      // ValidatePipeline's error points at the pipeline's own [[pipeline]] line.
      {Pipeline("name = \"p\"\nwindow = \"1m\"\n" + agg +
                "[[pipeline]]\nname = \"q\"\nwindow = \"1m\"\nwatermark = \"10000 days\"\n" + agg),
       "t.toml:5: pipeline[1]: ", "pipeline \"q\": watermark must be between 0s and"},
  });
}

TEST(ConfigTest, TomlSyntaxErrorsHaveLineAndColumn) {
  EXPECT_THAT(ErrorOf("a = 1\nb = = 2\n"), StartsWith("t.toml:2:5: "));
  EXPECT_THAT(ErrorOf("[mqtt]\nqos = 1\nqos = 0\n"), StartsWith("t.toml:3:"));
  EXPECT_THAT(ErrorOf("[mqtt]\nqos = 1\nqos = 0\n"), HasSubstr("qos"));
  EXPECT_THAT(ErrorOf("\n\n[mqtt]\nbroker = \"tcp://h\n"), StartsWith("t.toml:4:"));
}

TEST(ConfigTest, LoadConfigReadsFilesAndNamesThemInErrors) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tidemark_config_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "good.toml").string();
  const std::string bad = (dir / "bad.toml").string();
  std::ofstream(good) << kContract;
  std::ofstream(bad) << "[input]\nevent_time = \"t\"\ndevcie = \"d\"\n";

  StatusOr<Config> ok = LoadConfig(good);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->pipelines.at(0).name, "avg_temp_10m");

  StatusOr<Config> err = LoadConfig(bad);
  ASSERT_FALSE(err.ok());
  EXPECT_THAT(err.error(), StartsWith(bad + ":3: input.devcie: unknown key"));

  const std::string missing = (dir / "missing.toml").string();
  StatusOr<Config> none = LoadConfig(missing);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error(), StartsWith(missing + ": cannot open: "));
  EXPECT_THAT(none.error(), HasSubstr("No such file"));

  StatusOr<Config> directory = LoadConfig(dir.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error(), dir.string() + ": is a directory");
  std::filesystem::remove_all(dir);
}

// Loopback is decided on the address, not on how the host is spelled.
TEST(ConfigTest, LoopbackListenIsAnAddressNotAPrefix) {
  for (const char* yes : {"127.0.0.1:8080", "127.1.2.3:80", "localhost:8080", "[::1]:8080",
                          "[::ffff:127.0.0.1]:80"}) {
    EXPECT_TRUE(IsLoopbackListen(yes)) << yes;
  }
  for (const char* no : {"127.example.com:8080", "127.0.0.1.nip.io:80", "localhost.evil:80",
                         "0.0.0.0:8080", "10.0.0.1:80", "[::]:80", "[::2]:80", "1270.0.0.1:80"}) {
    EXPECT_FALSE(IsLoopbackListen(no)) << no;
  }
  EXPECT_FALSE(CheckListenAddress("127.0.0.1:8080"));
  EXPECT_FALSE(CheckListenAddress(""));
  for (const char* bad :
       {"8080", "localhost", "127.0.0.1:", "127.0.0.1:http", "[::1:80", "127.0.0.1:99999"}) {
    EXPECT_TRUE(CheckListenAddress(bad)) << bad;
  }
}

TEST(ConfigTest, FieldsReadAndUsesEventTime) {
  Config c = Parse(Pipeline(R"toml(name = "a"
window = "1m"
time = "processing"
aggregates = { n = "count()", t = "avg(temp)", h = "max(hum)" }
[[pipeline]]
name = "b"
window = "1m"
time = "processing"
aggregates = { h2 = "min(hum)", p = "sum(power.w)", c = "count(temp)" }
)toml"));
  EXPECT_EQ(FieldsRead(c), (std::vector<std::string>{"temp", "hum", "power.w"}));
  EXPECT_FALSE(UsesEventTime(c));
  c.pipelines[1].time = TimeMode::kEvent;
  EXPECT_TRUE(UsesEventTime(c));
  EXPECT_TRUE(FieldsRead(Config{}).empty());
}

}  // namespace
}  // namespace tidemark
