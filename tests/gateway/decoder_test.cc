// Tests for gateway/ingest/decoder.h. Expected epoch values were computed independently (GNU date
// -u); the HashBytes vectors come from the reference xxHash library (libxxhash 0.8.1, XXH64), never
// from the code under test.
#include "gateway/ingest/decoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gateway/ingest/message_hash.h"

namespace tidemark {
namespace {

// 2025-11-25T12:04:00Z (`date -u -d @1764072240`).
constexpr Millis k20251125 = 1764072240000;

DecoderOptions Options(std::vector<std::string> fields = {"temperature"}) {
  DecoderOptions o;
  o.fields = std::move(fields);
  return o;
}

std::string Reason(const Decoded& d) {
  return d.rejected ? std::string(RejectReasonName(*d.rejected)) : "accepted";
}

// Expects `d` to be rejected for `reason` with a detail containing `part`.
void ExpectRejected(const Decoded& d, RejectReason reason, const std::string& part = "") {
  EXPECT_EQ(Reason(d), RejectReasonName(reason)) << d.detail;
  EXPECT_NE(d.detail.find(part), std::string::npos) << d.detail;
}

void ExpectAccepted(const Decoded& d) {
  EXPECT_FALSE(d.rejected.has_value()) << Reason(d) << ": " << d.detail;
  EXPECT_TRUE(d.detail.empty()) << d.detail;
}

TEST(DecoderTest, TypicalRecord) {
  RecordDecoder decoder(Options({"temperature", "humidity"}));
  const std::string payload =
      R"({"deviceId":"dev-0042","eventTime":1764072240123,"temperature":21.5})";
  const Decoded& d = decoder.Decode("devices/dev-0042/telemetry", payload);
  ExpectAccepted(d);
  EXPECT_EQ(d.record.device, "dev-0042");
  EXPECT_EQ(d.record.event_time, k20251125 + 123);
  EXPECT_EQ(d.record.payload_hash, HashBytes(payload));
  EXPECT_EQ(d.record.payload_hash, 0x444aa553c678c28fULL);  // XXH64 of the payload
  ASSERT_EQ(d.record.fields.size(), 1u);                    // humidity is absent: not listed
  EXPECT_EQ(d.record.fields[0].name, "temperature");
  EXPECT_EQ(d.record.fields[0].number, 21.5);
  EXPECT_TRUE(d.record.fields[0].is_number);
  EXPECT_EQ(d.record.Find("humidity"), nullptr);
}

TEST(DecoderTest, HashBytesMatchesXxh64) {
  // Reference values: XXH64(input, seed) from libxxhash 0.8.1.
  struct Vector {
    std::string input;
    std::uint64_t seed;
    std::uint64_t hash;
  };
  std::string bytes1027;
  for (int i = 0; i < 4; ++i) {
    for (int b = 0; b < 256; ++b) bytes1027 += static_cast<char>(b);
  }
  bytes1027 += "xyz";
  const std::vector<Vector> vectors = {
      {"", 0, 0xef46db3751d8e999ULL},
      {"", 42, 0x98b1582b0977e704ULL},
      {"a", 0, 0xd24ec4f1a98c6e5bULL},
      {"abc", 0, 0x44bc2cf5ad770999ULL},
      {"abc", 42, 0x13c1d910702770e6ULL},
      {"abcdefg", 0, 0x1860940e2902822dULL},
      {"abcdefghijkl", 0, 0x4b09b7d3a233d4b3ULL},
      {"0123456789abcdef0123456789abcdef", 0, 0x642a94958e71e6c5ULL},
      {"0123456789abcdef0123456789abcdef", 42, 0x666b1f69d2455da5ULL},
      {"The quick brown fox jumps over the lazy dog", 0, 0x0b242d361fda71bcULL},
      {bytes1027, 0, 0xe146cb31b65bc21aULL},
      {bytes1027, 42, 0xcb25afedc7007664ULL},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(HashBytes(v.input, v.seed), v.hash)
        << "size " << v.input.size() << " seed " << v.seed;
  }
  EXPECT_EQ(HashBytes("abc"), HashBytes("abc", 0));
}

TEST(DecoderTest, HashBytesSeparatesInputs) {
  // Every prefix of a text, and every single-bit flip of a payload, hashes differently.
  const std::string payload =
      R"({"deviceId":"dev-0042","eventTime":1764072240123,"temperature":21.5})";
  std::set<std::uint64_t> seen;
  for (std::size_t n = 0; n <= payload.size(); ++n) seen.insert(HashBytes(payload.substr(0, n)));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = payload;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      seen.insert(HashBytes(flipped));
    }
  }
  EXPECT_EQ(seen.size(), payload.size() + 1 + payload.size() * 8);
  EXPECT_NE(HashBytes("a"), HashBytes(std::string_view("a\0", 2)));
  EXPECT_NE(HashBytes("abc", 0), HashBytes("abc", 1));
}

TEST(DecoderTest, TooLarge) {
  RecordDecoder decoder(Options());  // 64 KiB limit
  std::string big = R"({"deviceId":"d","eventTime":1764072240,"pad":")";
  big.append(1024 * 1024 - big.size() - 2, 'x');
  big += "\"}";
  ASSERT_EQ(big.size(), 1024u * 1024u);
  ExpectRejected(decoder.Decode("t", big), RejectReason::kTooLarge,
                 "payload: 1048576 bytes, more than the limit of 65536");
  EXPECT_EQ(decoder.Decode("t", big).record.device, "");  // not parsed, so not known

  // Exactly at the limit is accepted.
  std::string at_limit = R"({"deviceId":"d","eventTime":1764072240,"pad":")";
  at_limit.append(64 * 1024 - at_limit.size() - 2, 'x');
  at_limit += "\"}";
  ASSERT_EQ(at_limit.size(), 64u * 1024u);
  ExpectAccepted(decoder.Decode("t", at_limit));
  ExpectRejected(decoder.Decode("t", at_limit + " "), RejectReason::kTooLarge);

  // A topic device is still reported.
  DecoderOptions o = Options();
  o.device = "topic[1]";
  RecordDecoder by_topic(o);
  const Decoded& d = by_topic.Decode("devices/dev-7/telemetry", big);
  ExpectRejected(d, RejectReason::kTooLarge);
  EXPECT_EQ(d.record.device, "dev-7");
}

TEST(DecoderTest, NotJson) {
  RecordDecoder decoder(Options());
  for (const char* payload : {
           "",
           "   ",
           "{",
           "{\"deviceId\":\"d\",",
           "{\"deviceId\":\"d\" \"eventTime\":1}",
           "{'deviceId':'d'}",
           "{\"deviceId\":\"d\"} trailing",
           "{\"deviceId\":\"d\"}{}",
           "{\"deviceId\":NaN}",
           "{\"deviceId\":\"d\",}",
           "{\"t\":01}",
           "{\"t\":1e400}",            // nlohmann rejects numbers that overflow a double
           "{\"a\":\"\xff\xfe\"}",     // invalid UTF-8
           "{\"a\":\"tab\tinside\"}",  // raw control character in a string
           "hello",
       }) {
    ExpectRejected(decoder.Decode("t", payload), RejectReason::kNotJson, "payload: ");
  }
  const Decoded& d = decoder.Decode("t", "{\"deviceId\": tru}");
  ExpectRejected(d, RejectReason::kNotJson, "payload: parse error at line 1, column");
  EXPECT_EQ(d.detail.find("[json.exception"), std::string::npos) << d.detail;
}

TEST(DecoderTest, NotAnObject) {
  RecordDecoder decoder(Options());
  for (const char* payload :
       {"[]", "[{\"deviceId\":\"d\",\"eventTime\":1}]", "17", "\"text\"", "null", "true", "1.5"}) {
    ExpectRejected(decoder.Decode("t", payload), RejectReason::kNotJson,
                   "payload: not a JSON object");
  }
}

TEST(DecoderTest, MissingDevice) {
  RecordDecoder decoder(Options());
  ExpectRejected(decoder.Decode("t", R"({"eventTime":1764072240})"), RejectReason::kMissingDevice,
                 "deviceId: missing");
  ExpectRejected(decoder.Decode("t", R"({"deviceId":null,"eventTime":1764072240})"),
                 RejectReason::kMissingDevice, "deviceId: null");
  // Case matters, and a nested key of the same name is not the top-level one.
  ExpectRejected(decoder.Decode("t", R"({"deviceid":"d","eventTime":1764072240})"),
                 RejectReason::kMissingDevice);
  ExpectRejected(decoder.Decode("t", R"({"meta":{"deviceId":"d"},"eventTime":1764072240})"),
                 RejectReason::kMissingDevice);
  // Inside an array is not addressable.
  ExpectRejected(decoder.Decode("t", R"({"list":[{"deviceId":"d"}],"eventTime":1764072240})"),
                 RejectReason::kMissingDevice);
}

TEST(DecoderTest, BadDevice) {
  DecoderOptions o = Options();
  o.max_device_bytes = 8;
  RecordDecoder decoder(o);
  auto decode = [&](const std::string& device_json) -> const Decoded& {
    return decoder.Decode("t", R"({"eventTime":1764072240,"deviceId":)" + device_json + "}");
  };
  ExpectRejected(decode(R"("")"), RejectReason::kBadDevice, "deviceId: empty");
  ExpectRejected(decode("true"), RejectReason::kBadDevice, "got a boolean");
  ExpectRejected(decode("17.5"), RejectReason::kBadDevice, "got a non-integer number");
  ExpectRejected(decode("17.0"), RejectReason::kBadDevice, "got a non-integer number");
  ExpectRejected(decode("1e3"), RejectReason::kBadDevice, "got a non-integer number");
  ExpectRejected(decode(R"({"id":"d"})"), RejectReason::kBadDevice, "got an object");
  ExpectRejected(decode(R"(["d"])"), RejectReason::kBadDevice, "got an array");
  ExpectRejected(decode(R"("123456789")"), RejectReason::kBadDevice,
                 "deviceId: longer than 8 bytes");
  ExpectAccepted(decode(R"("12345678")"));
  ExpectRejected(decode(R"("a\u0001b")"), RejectReason::kBadDevice, "control character");
  ExpectRejected(decode(R"("a\nb")"), RejectReason::kBadDevice, "control character");
  ExpectRejected(decode(R"("\u0000")"), RejectReason::kBadDevice, "control character");
  ExpectAccepted(decode(R"("a b~\u007f")"));  // space, DEL: not below 0x20
  // A bad device is never reported as the record's device.
  EXPECT_EQ(decode("true").record.device, "");
}

TEST(DecoderTest, NumericDeviceIds) {
  RecordDecoder decoder(Options());
  auto device = [&](const std::string& device_json) {
    const Decoded& d =
        decoder.Decode("t", R"({"deviceId":)" + device_json + R"(,"eventTime":1764072240})");
    EXPECT_FALSE(d.rejected.has_value()) << device_json << ": " << d.detail;
    return std::string(d.record.device);
  };
  EXPECT_EQ(device("17"), "17");
  EXPECT_EQ(device("0"), "0");
  EXPECT_EQ(device("-3"), "-3");
  EXPECT_EQ(device("-0"), "0");
  EXPECT_EQ(device("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(device("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(device("18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(device("\"17\""), "17");  // the same device as the number
}

TEST(DecoderTest, UnicodeDeviceIds) {
  DecoderOptions o = Options();
  RecordDecoder decoder(o);
  // "café-温度-🌡" as raw UTF-8 and as \u escapes (with a surrogate pair) is the same device.
  const std::string utf8 = "caf\xc3\xa9-\xe6\xb8\xa9\xe5\xba\xa6-\xf0\x9f\x8c\xa1";
  const Decoded& raw =
      decoder.Decode("t", "{\"deviceId\":\"" + utf8 + "\",\"eventTime\":1764072240}");
  ExpectAccepted(raw);
  EXPECT_EQ(raw.record.device, utf8);
  const Decoded& escaped = decoder.Decode(
      "t", R"({"deviceId":"caf\u00e9-\u6e29\u5ea6-\ud83c\udf21","eventTime":1764072240})");
  ExpectAccepted(escaped);
  EXPECT_EQ(escaped.record.device, utf8);
  // A lone surrogate is not valid JSON text.
  ExpectRejected(decoder.Decode("t", R"({"deviceId":"\ud83c","eventTime":1764072240})"),
                 RejectReason::kNotJson);

  // The limit counts bytes: 3 bytes per CJK character.
  o.max_device_bytes = 5;
  RecordDecoder small(o);
  ExpectRejected(small.Decode("t", "{\"deviceId\":\"\xe6\xb8\xa9\xe5\xba\xa6\",\"eventTime\":1}"),
                 RejectReason::kBadDevice, "longer than 5 bytes");
}

TEST(DecoderTest, NestedPaths) {
  DecoderOptions o = Options({"sensor.temp", "sensor.deep.value", "top"});
  o.device = "meta.id";
  o.event_time = "meta.time.ts";
  RecordDecoder decoder(o);
  const Decoded& d = decoder.Decode("t", R"({
    "meta": {"id": "dev-1", "other": [1, {"id": "no"}], "time": {"ts": "2025-11-25T12:04:00Z"}},
    "sensor": {"temp": -4.25, "unit": "C", "deep": {"value": 7}},
    "top": 1
  })");
  ExpectAccepted(d);
  EXPECT_EQ(d.record.device, "dev-1");
  EXPECT_EQ(d.record.event_time, k20251125);
  ASSERT_EQ(d.record.fields.size(), 3u);
  EXPECT_EQ(d.record.Find("sensor.temp")->number, -4.25);
  EXPECT_EQ(d.record.Find("sensor.deep.value")->number, 7);
  EXPECT_EQ(d.record.Find("top")->number, 1);

  // Key order does not matter; a path through a non-object finds nothing.
  const Decoded& d2 = decoder.Decode(
      "t", R"({"sensor":"flat","top":2,"meta":{"time":{"ts":1764072240},"id":"dev-2"}})");
  ExpectAccepted(d2);
  EXPECT_EQ(d2.record.device, "dev-2");
  ASSERT_EQ(d2.record.fields.size(), 1u);
  EXPECT_EQ(d2.record.fields[0].name, "top");

  ExpectRejected(decoder.Decode("t", R"({"meta":"dev-3"})"), RejectReason::kMissingDevice,
                 "meta.id: missing");
  ExpectRejected(decoder.Decode("t", R"({"meta":{"id":"d","time":{}}})"),
                 RejectReason::kMissingTime, "meta.time.ts: missing");
  // A key containing a dot is not a nested path.
  ExpectRejected(decoder.Decode("t", R"({"meta.id":"d"})"), RejectReason::kMissingDevice);
}

TEST(DecoderTest, PathThatIsAlsoAParent) {
  // "a" is read as a field and is also on the way to "a.b".
  RecordDecoder decoder(Options({"a", "a.b"}));
  const Decoded& d = decoder.Decode("t", R"({"deviceId":"d","eventTime":1764072240,"a":{"b":2}})");
  ExpectAccepted(d);
  ASSERT_EQ(d.record.fields.size(), 2u);
  EXPECT_FALSE(d.record.Find("a")->is_number);
  EXPECT_EQ(d.record.Find("a.b")->number, 2);
}

TEST(DecoderTest, TopicDevice) {
  DecoderOptions o = Options();
  o.device = "topic[1]";
  RecordDecoder decoder(o);
  const std::string payload = R"({"deviceId":"ignored","eventTime":1764072240,"temperature":1})";
  const Decoded& d = decoder.Decode("devices/dev-9/telemetry", payload);
  ExpectAccepted(d);
  EXPECT_EQ(d.record.device, "dev-9");
  EXPECT_EQ(decoder.Decode("devices/dev-9", payload).record.device, "dev-9");
  ExpectRejected(decoder.Decode("devices", payload), RejectReason::kMissingDevice,
                 "topic[1]: no such topic level in \"devices\"");
  ExpectRejected(decoder.Decode("devices//telemetry", payload), RejectReason::kMissingDevice,
                 "topic[1]: empty topic level");
  ExpectRejected(decoder.Decode("devices/", payload), RejectReason::kMissingDevice);
  // No device in the payload is needed.
  ExpectAccepted(decoder.Decode("a/b", R"({"eventTime":1764072240})"));
  // The device is reported even when the payload is not JSON.
  const Decoded& bad = decoder.Decode("devices/dev-9/telemetry", "not json");
  ExpectRejected(bad, RejectReason::kNotJson);
  EXPECT_EQ(bad.record.device, "dev-9");

  o.device = "topic[0]";
  RecordDecoder first(o);
  EXPECT_EQ(first.Decode("dev-1/x", payload).record.device, "dev-1");
  EXPECT_EQ(first.Decode("dev-2", payload).record.device, "dev-2");
  ExpectRejected(first.Decode("", payload), RejectReason::kMissingDevice);
  ExpectRejected(first.Decode("/x", payload), RejectReason::kMissingDevice);

  o.device = "topic[2]";
  o.max_device_bytes = 4;
  RecordDecoder third(o);
  EXPECT_EQ(third.Decode("a/b/c/d", payload).record.device, "c");
  ExpectRejected(third.Decode("a/b/toolong", payload), RejectReason::kBadDevice);
  ExpectRejected(third.Decode(std::string("a/b/\x01", 5), payload), RejectReason::kBadDevice);

  // Not of the form topic[N]: a payload path like any other.
  o.device = "topic[x]";
  RecordDecoder literal(o);
  EXPECT_EQ(literal.Decode("a/b", R"({"topic[x]":"p","eventTime":1})").record.device, "p");
}

TEST(DecoderTest, EventTimes) {
  RecordDecoder decoder(Options());
  auto time = [&](const std::string& time_json) -> Millis {
    const Decoded& d = decoder.Decode("t", R"({"deviceId":"d","eventTime":)" + time_json + "}");
    EXPECT_FALSE(d.rejected.has_value()) << time_json << ": " << d.detail;
    return d.record.event_time;
  };
  EXPECT_EQ(time("1764072240"), k20251125);               // epoch seconds
  EXPECT_EQ(time("1764072240123"), k20251125 + 123);      // epoch milliseconds
  EXPECT_EQ(time("1764072240.5"), k20251125 + 500);       // fractional seconds
  EXPECT_EQ(time("1764072240.001"), k20251125 + 1);       // as written, not as the double
  EXPECT_EQ(time("1.764072240123e12"), k20251125 + 123);  // exponent notation
  EXPECT_EQ(time("0"), 0);
  EXPECT_EQ(time("-1"), -1000);                            // before the epoch
  EXPECT_EQ(time("\"2025-11-25T12:04:00Z\""), k20251125);  // RFC 3339
  EXPECT_EQ(time("\"2025-11-25T12:04:00.123Z\""), k20251125 + 123);
  EXPECT_EQ(time("\"2025-11-25T17:34:00+05:30\""), k20251125);
  EXPECT_EQ(time("\"1764072240\""), k20251125);           // epoch seconds as a string
  EXPECT_EQ(time("\"1764072240123\""), k20251125 + 123);  // epoch milliseconds as a string
}

TEST(DecoderTest, BadAndMissingTime) {
  RecordDecoder decoder(Options());
  auto decode = [&](const std::string& rest) -> const Decoded& {
    return decoder.Decode("t", R"({"deviceId":"d")" + rest + "}");
  };
  ExpectRejected(decode(""), RejectReason::kMissingTime, "eventTime: missing");
  ExpectRejected(decode(R"(,"eventTime":null)"), RejectReason::kMissingTime, "eventTime: null");
  ExpectRejected(decode(R"(,"eventTime":"yesterday")"), RejectReason::kBadTime,
                 "eventTime: invalid timestamp \"yesterday\"");
  ExpectRejected(decode(R"(,"eventTime":"2025-13-25T12:04:00Z")"), RejectReason::kBadTime,
                 "eventTime: invalid RFC 3339 time \"2025-13-25T12:04:00Z\": month out of range");
  ExpectRejected(decode(R"(,"eventTime":"2025-11-25T12:04:00")"), RejectReason::kBadTime,
                 "missing UTC offset");
  ExpectRejected(decode(R"(,"eventTime":"")"), RejectReason::kBadTime, "eventTime: ");
  ExpectRejected(decode(R"(,"eventTime":true)"), RejectReason::kBadTime,
                 "eventTime: expected an epoch number or a timestamp string, got a boolean");
  ExpectRejected(decode(R"(,"eventTime":{"s":1})"), RejectReason::kBadTime, "got an object");
  ExpectRejected(decode(R"(,"eventTime":[1])"), RejectReason::kBadTime, "got an array");
  ExpectRejected(decode(R"(,"eventTime":1e300)"), RejectReason::kBadTime, "out of range");
  ExpectRejected(decode(R"(,"eventTime":18446744073709551615)"), RejectReason::kBadTime,
                 "out of range");
  // On a time rejection the device is still reported.
  EXPECT_EQ(decode(R"(,"eventTime":true)").record.device, "d");
  EXPECT_EQ(decode("").record.device, "d");

  // A very long bad time gives a short detail, cut at a UTF-8 character boundary.
  std::string long_time;
  for (int i = 0; i < 1000; ++i) long_time += "\xc3\xa9";
  const Decoded& d = decode(R"(,"eventTime":")" + long_time + "\"");
  ExpectRejected(d, RejectReason::kBadTime, "eventTime: invalid timestamp");
  EXPECT_LE(d.detail.size(), 200u);
  EXPECT_EQ(d.detail.substr(d.detail.size() - 3), "...");
  const std::string body = d.detail.substr(0, d.detail.size() - 3);
  EXPECT_EQ(body.substr(body.size() - 2), "\xc3\xa9") << "cut inside a character";
}

TEST(DecoderTest, EventTimeNotRequired) {
  DecoderOptions o = Options();
  o.require_event_time = false;
  RecordDecoder decoder(o);
  const Decoded& missing = decoder.Decode("t", R"({"deviceId":"d","temperature":3})");
  ExpectAccepted(missing);
  EXPECT_EQ(missing.record.event_time, 0);
  EXPECT_EQ(missing.record.fields.size(), 1u);
  for (const char* t : {"null", "\"garbage\"", "true", "1e300"}) {
    const Decoded& d =
        decoder.Decode("t", std::string(R"({"deviceId":"d","eventTime":)") + t + "}");
    ExpectAccepted(d);
    EXPECT_EQ(d.record.event_time, 0) << t;
  }
  // A valid time is still delivered (the engine shows it in device stats).
  EXPECT_EQ(decoder.Decode("t", R"({"deviceId":"d","eventTime":1764072240})").record.event_time,
            k20251125);
}

TEST(DecoderTest, FieldsNullMissingAndNonNumeric) {
  RecordDecoder decoder(
      Options({"num", "int", "neg", "nul", "absent", "str", "numstr", "yes", "obj", "arr"}));
  const Decoded& d = decoder.Decode("t", R"({"deviceId":"d","eventTime":1764072240,
      "num":21.5,"int":42,"neg":-1e-3,"nul":null,"str":"warm","numstr":"21.5",
      "yes":true,"obj":{"v":1},"arr":[1,2],"extra":5})");
  ExpectAccepted(d);
  const Record& r = d.record;
  EXPECT_EQ(r.fields.size(), 8u);
  EXPECT_EQ(r.Find("num")->number, 21.5);
  EXPECT_EQ(r.Find("int")->number, 42);
  EXPECT_EQ(r.Find("neg")->number, -0.001);
  for (const char* n : {"num", "int", "neg"}) EXPECT_TRUE(r.Find(n)->IsFiniteNumber()) << n;
  EXPECT_EQ(r.Find("nul"), nullptr);     // null is SQL null: not listed
  EXPECT_EQ(r.Find("absent"), nullptr);  // so is a missing field
  EXPECT_EQ(r.Find("extra"), nullptr);   // not asked for
  for (const char* n : {"str", "numstr", "yes", "obj", "arr"}) {
    const FieldValue* f = r.Find(n);
    ASSERT_NE(f, nullptr) << n;
    EXPECT_FALSE(f->is_number) << n;  // the engine rejects bad_value if a pipeline reads it
    EXPECT_EQ(f->number, 0) << n;
  }
  // In the order of the options.
  EXPECT_EQ(r.fields[0].name, "num");
  EXPECT_EQ(r.fields.back().name, "arr");
}

TEST(DecoderTest, RecordDoesNotViewThePayload) {
  RecordDecoder decoder(Options({"temperature"}));
  std::string payload = R"({"deviceId":"dev-5","eventTime":1764072240,"temperature":1})";
  const Decoded& d = decoder.Decode("t", payload);
  std::string topic = "x";
  payload.assign(payload.size(), 'z');
  payload.shrink_to_fit();
  topic.clear();
  EXPECT_EQ(d.record.device, "dev-5");
  ASSERT_EQ(d.record.fields.size(), 1u);
  EXPECT_EQ(d.record.fields[0].name, "temperature");
}

TEST(DecoderTest, DeepNesting) {
  DecoderOptions o = Options({"a.a.a"});
  o.max_payload_bytes = 2 * 1024 * 1024;
  RecordDecoder decoder(o);
  constexpr int kDepth = 100000;
  ExpectRejected(decoder.Decode("t", std::string(kDepth, '[')), RejectReason::kNotJson);
  ExpectRejected(decoder.Decode("t", std::string(kDepth, '[') + std::string(kDepth, ']')),
                 RejectReason::kNotJson, "not a JSON object");
  ExpectRejected(decoder.Decode("t", "{\"x\":" + std::string(kDepth, '[')), RejectReason::kNotJson);
  std::string open_objects = "{\"deviceId\":\"d\",\"x\":";
  for (int i = 0; i < kDepth; ++i) open_objects += "{\"a\":";
  ExpectRejected(decoder.Decode("t", open_objects), RejectReason::kNotJson);

  // Valid and deep, both off and on a wanted path: decoded like any other payload.
  std::string deep_x = R"({"deviceId":"d","eventTime":1764072240,"x":)";
  std::string deep_a = R"({"deviceId":"d","eventTime":1764072240,"a":)";
  for (int i = 0; i < kDepth; ++i) {
    deep_x += "{\"a\":[";
    deep_a += "{\"a\":";
  }
  deep_x += "1";
  deep_a += "1";
  for (int i = 0; i < kDepth; ++i) {
    deep_x += "]}";
    deep_a += "}";
  }
  deep_x += "}";
  deep_a += "}";
  const Decoded& dx = decoder.Decode("t", deep_x);
  ExpectAccepted(dx);
  EXPECT_EQ(dx.record.fields.size(), 0u);
  const Decoded& da = decoder.Decode("t", deep_a);
  ExpectAccepted(da);
  ASSERT_EQ(da.record.fields.size(), 1u);
  EXPECT_FALSE(da.record.fields[0].is_number);  // a.a.a is an object here
}

TEST(DecoderTest, DuplicatedKeysLastWins) {
  RecordDecoder decoder(Options({"temperature", "m.t"}));
  const Decoded& d = decoder.Decode("t", R"({"deviceId":"first","deviceId":"second",
      "eventTime":"garbage","eventTime":1764072240,"temperature":1,"temperature":2,
      "m":{"t":1},"m":{"u":2}})");
  ExpectAccepted(d);
  EXPECT_EQ(d.record.device, "second");
  EXPECT_EQ(d.record.event_time, k20251125);
  ASSERT_EQ(d.record.fields.size(), 1u);
  EXPECT_EQ(d.record.Find("temperature")->number, 2);
  EXPECT_EQ(d.record.Find("m.t"), nullptr);  // the second "m" replaced the first entirely

  EXPECT_EQ(
      decoder.Decode("t", R"({"deviceId":"d","eventTime":1,"m":{"t":1},"m":5})").record.Find("m.t"),
      nullptr);
  EXPECT_EQ(decoder.Decode("t", R"({"deviceId":"d","eventTime":1,"m":{"t":1},"m":{"t":3}})")
                .record.Find("m.t")
                ->number,
            3);
  ExpectRejected(decoder.Decode("t", R"({"deviceId":"d","deviceId":null,"eventTime":1})"),
                 RejectReason::kMissingDevice);
  ExpectRejected(decoder.Decode("t", R"({"deviceId":"d","eventTime":1,"eventTime":true})"),
                 RejectReason::kBadTime);
}

TEST(DecoderTest, EachDecodeReplacesTheLast) {
  DecoderOptions o = Options({"a", "b"});
  RecordDecoder decoder(o);
  const Decoded& d = decoder.Decode("t", R"({"deviceId":"long-device-name","eventTime":1764072240,
      "a":1,"b":"x"})");
  ExpectAccepted(d);
  EXPECT_EQ(d.record.fields.size(), 2u);
  const std::uint64_t first_hash = d.record.payload_hash;

  const Decoded& d2 = decoder.Decode("t", R"({"deviceId":"s","eventTime":"1764072241"})");
  EXPECT_EQ(&d2, &d);  // the same object, reused
  ExpectAccepted(d2);
  EXPECT_EQ(d2.record.device, "s");
  EXPECT_EQ(d2.record.event_time, k20251125 + 1000);
  EXPECT_TRUE(d2.record.fields.empty());
  EXPECT_NE(d2.record.payload_hash, first_hash);

  ExpectRejected(decoder.Decode("t", R"({"deviceId":"r","b":2})"), RejectReason::kMissingTime);
  EXPECT_EQ(d.record.device, "r");

  // After a rejection: no stale reason, detail, fields, time or hash.
  const Decoded& d3 = decoder.Decode("t", R"({"deviceId":"q","eventTime":1764072240,"b":2})");
  ExpectAccepted(d3);
  EXPECT_EQ(d3.record.device, "q");
  ASSERT_EQ(d3.record.fields.size(), 1u);
  EXPECT_EQ(d3.record.fields[0].name, "b");

  ExpectRejected(decoder.Decode("t", "[]"), RejectReason::kNotJson);
  EXPECT_EQ(d.record.device, "");
  EXPECT_EQ(d.record.event_time, 0);
  EXPECT_TRUE(d.record.fields.empty());
  EXPECT_EQ(d.record.payload_hash, 0u);
}

TEST(DecoderTest, SameFieldAsDeviceOrTime) {
  // A path can be read for several purposes.
  RecordDecoder decoder(Options({"deviceId", "eventTime"}));
  const Decoded& d = decoder.Decode("t", R"({"deviceId":7,"eventTime":1764072240})");
  ExpectAccepted(d);
  EXPECT_EQ(d.record.device, "7");
  EXPECT_EQ(d.record.Find("deviceId")->number, 7);
  EXPECT_EQ(d.record.Find("eventTime")->number, 1764072240);
}

TEST(DecoderTest, NeverThrowsOnMangledInput) {
  // Random corruptions of valid payloads: every outcome is a Decoded, never an exception or a
  // crash (run under the sanitizers with -DTIDEMARK_SANITIZE=ON).
  RecordDecoder decoder(Options({"temperature", "s.v"}));
  const std::vector<std::string> seeds = {
      R"({"deviceId":"dev-0042","eventTime":1764072240123,"temperature":21.5})",
      R"({"deviceId":"caf\u00e9","eventTime":"2025-11-25T12:04:00Z","s":{"v":[1,{"a":null}]}})",
  };
  const std::string alphabet = "{}[]\",:\\u0123456789eE.+-tfnrl \xff\xc3\xa9";
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string p = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !p.empty(); ++e) {
      const std::size_t at = rng() % p.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          p[at] = c;
          break;
        case 1:
          p.insert(p.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          p.erase(at, 1 + rng() % 8);
          break;
      }
    }
    const Decoded& d = decoder.Decode("devices/x", p);
    if (!d.rejected) {
      ++accepted;
      EXPECT_FALSE(d.record.device.empty());
    } else {
      EXPECT_FALSE(d.detail.empty());
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace tidemark
