// RecordDecoder and HashBytes cost (Google Benchmark; prints figures, asserts nothing). The
// Time column is ns per record (one Decode per iteration). Baseline in the same run: what the
// obvious DOM approach costs (nlohmann::json::parse, then looking the fields up), which the
// decoder's SAX walk avoids.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/ingest/decoder.h"
#include "gateway/ingest/message_hash.h"

namespace tidemark {
namespace {

// 68 bytes: the typical flat record.
const std::string kSmall =
    R"({"deviceId":"dev-0042","eventTime":1764072240123,"temperature":21.5})";

// About 300 bytes: nested fields, an RFC 3339 time, and parts the pipelines do not read.
const std::string kNested =
    R"({"meta":{"deviceId":"plant-7/line-3/sensor-0042","firmware":"4.2.1-rc3",)"
    R"("eventTime":"2025-11-25T12:04:00.123Z","seq":918273},)"
    R"("sensor":{"temperature":21.5,"humidity":48.25,"pressure":1013.2,"status":"ok"},)"
    R"("power":{"voltage":229.8,"current":0.42},"location":{"lat":52.5200,"lon":13.4050},)"
    R"("tags":["indoor","calibrated","hall-b"],"alarms":[]})";

void BM_DecodeSmall(benchmark::State& state) {
  DecoderOptions o;
  o.fields = {"temperature"};
  RecordDecoder decoder(o);
  for (auto _ : state) benchmark::DoNotOptimize(decoder.Decode("devices/dev-0042/t", kSmall));
  if (decoder.Decode("t", kSmall).rejected) state.SkipWithError("rejected");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kSmall.size()));
  state.SetLabel(std::to_string(kSmall.size()) + " bytes");
}
BENCHMARK(BM_DecodeSmall);

void BM_DecodeNested(benchmark::State& state) {
  DecoderOptions o;
  o.device = "meta.deviceId";
  o.event_time = "meta.eventTime";
  o.fields = {"sensor.temperature", "sensor.humidity", "power.voltage", "power.current"};
  RecordDecoder decoder(o);
  for (auto _ : state) benchmark::DoNotOptimize(decoder.Decode("devices/x/t", kNested));
  const Decoded& d = decoder.Decode("t", kNested);
  if (d.rejected || d.record.fields.size() != 4) state.SkipWithError("not decoded");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kNested.size()));
  state.SetLabel(std::to_string(kNested.size()) + " bytes");
}
BENCHMARK(BM_DecodeNested);

// The same record rejected early (a topic device and a payload that is not an object).
void BM_DecodeRejectedNotObject(benchmark::State& state) {
  DecoderOptions o;
  o.device = "topic[1]";
  RecordDecoder decoder(o);
  const std::string payload = "[" + kSmall + "]";
  for (auto _ : state) benchmark::DoNotOptimize(decoder.Decode("devices/dev-0042/t", payload));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeRejectedNotObject);

// Baselines: the DOM approach (parse, then look the values up; no time parsing, no hash).
void BM_NlohmannDomSmall(benchmark::State& state) {
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(kSmall, nullptr, false);
    const auto& device = j["deviceId"].get_ref<const std::string&>();
    const auto time = j["eventTime"].get<std::int64_t>();
    const auto temperature = j["temperature"].get<double>();
    benchmark::DoNotOptimize(device.data());
    benchmark::DoNotOptimize(time);
    benchmark::DoNotOptimize(temperature);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannDomSmall);

void BM_NlohmannDomNested(benchmark::State& state) {
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(kNested, nullptr, false);
    const auto& device = j["meta"]["deviceId"].get_ref<const std::string&>();
    const auto& time = j["meta"]["eventTime"].get_ref<const std::string&>();
    double sum = j["sensor"]["temperature"].get<double>() + j["sensor"]["humidity"].get<double>() +
                 j["power"]["voltage"].get<double>() + j["power"]["current"].get<double>();
    benchmark::DoNotOptimize(device.data());
    benchmark::DoNotOptimize(time.data());
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannDomNested);

// Baseline: only nlohmann's SAX walk, with a handler that does nothing (the parser's floor).
struct NullSax : nlohmann::json_sax<nlohmann::json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

void BM_NlohmannSaxFloor(benchmark::State& state, const std::string* payload) {
  NullSax sax;
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::sax_parse(*payload, &sax));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_NlohmannSaxFloor, small, &kSmall);
BENCHMARK_CAPTURE(BM_NlohmannSaxFloor, nested, &kNested);

void BM_HashBytes(benchmark::State& state) {
  const std::string bytes(static_cast<std::size_t>(state.range(0)), 'x');
  std::uint64_t seed = 0;
  for (auto _ : state) {
    seed = HashBytes(bytes, seed);
    benchmark::DoNotOptimize(seed);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HashBytes)->Arg(16)->Arg(68)->Arg(100)->Arg(300)->Arg(4096)->Arg(65536);

}  // namespace
}  // namespace tidemark

BENCHMARK_MAIN();
