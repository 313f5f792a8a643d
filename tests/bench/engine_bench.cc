// Engine throughput and state size (Google Benchmark; prints figures, asserts nothing).
// 10,000 devices, each sending one reading per second of event time, into 10-minute windows.
// Baseline in the same run: a raw loop that hashes the device id into an unordered_map and
// adds to a running sum — the least work any per-device aggregation must do.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"

namespace tidemark {
namespace {

constexpr int kDevices = 10000;
constexpr Millis kStart = 1'795'608'000'000;  // 2026-11-25T12:00:00Z

std::vector<std::string> DeviceNames(int devices) {
  std::vector<std::string> names;
  for (int i = 0; i < devices; ++i) names.push_back("device-" + std::to_string(i));
  return names;
}

// Event time of the i-th record: device i % N reads once a second; `disorder` of the records
// arrive up to 5 minutes late (still inside the 30-minute watermark).
struct Stream {
  std::uint64_t n;
  std::vector<std::string> devices = DeviceNames(static_cast<int>(n));
  std::vector<Millis> delays;
  explicit Stream(double disorder, int device_count = kDevices)
      : n(static_cast<std::uint64_t>(device_count)) {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_int_distribution<Millis> delay(1, 5 * kMinute);
    delays.resize(1 << 16);
    for (Millis& d : delays) d = coin(rng) < disorder ? delay(rng) : 0;
  }
  Millis EventTime(std::uint64_t i) const {
    return kStart + static_cast<Millis>(i / n) * kSecond - delays[i & 0xffff];
  }
};

void RunEngine(benchmark::State& state, WindowSpec window, double disorder, bool dedup,
               int devices = kDevices) {
  PipelineSpec spec;
  spec.name = "avg_temp";
  spec.window = window;
  spec.watermark_delay = 30 * kMinute;
  spec.dedup = dedup;
  spec.aggregates = {*ParseAggregate("avg_temp", "avg(temperature)")};
  ManualClock clock(kStart);
  Engine engine({spec}, clock, EngineOptions{std::nullopt});
  Stream stream(disorder, devices);
  Output out;
  std::uint64_t i = 0;
  FieldValue temperature{"temperature", 21.5, true};
  for (auto _ : state) {
    const Millis t = stream.EventTime(i);
    Record r{stream.devices[i % stream.n], t, i * 0x9e3779b97f4a7c15ULL, {&temperature, 1}};
    benchmark::DoNotOptimize(engine.ProcessAt(r, t, out));
    if (out.closed.size() > 4096) out.clear();
    ++i;
  }
  const PipelineMetrics m = engine.pipeline(0).Metrics();
  state.SetItemsProcessed(state.iterations());
  state.counters["open_windows"] = static_cast<double>(m.open_windows);
  state.counters["state_bytes_per_window"] =
      m.open_windows ? static_cast<double>(m.state_bytes) / static_cast<double>(m.open_windows) : 0;
  state.counters["late"] = static_cast<double>(m.counters.late);
}

void BM_Tumbling10m_InOrder(benchmark::State& s) {
  RunEngine(s, *WindowSpec::Tumbling(10 * kMinute), 0.0, s.range(0) != 0);
}
void BM_Tumbling10m_5PercentOutOfOrder(benchmark::State& s) {
  RunEngine(s, *WindowSpec::Tumbling(10 * kMinute), 0.05, s.range(0) != 0);
}
void BM_Sliding10m1m_InOrder(benchmark::State& s) {
  RunEngine(s, *WindowSpec::Sliding(10 * kMinute, kMinute), 0.0, s.range(0) != 0);
}
void BM_Session5m_InOrder(benchmark::State& s) {
  RunEngine(s, *WindowSpec::Session(5 * kMinute), 0.0, s.range(0) != 0);
}

// State size once it is steady: 45 minutes of event time, so every device holds the windows the
// 30-minute watermark keeps open (3-4), and per-device overhead is shared as it is in a long run.
// The records/s figures above stop at whatever count Google Benchmark picks, often one window a
// device. 1,000 devices keeps this to ~1-2 s; bytes per window do not depend on the count.
constexpr int kSteadyDevices = 1000;
void BM_SteadyState_Tumbling10m(benchmark::State& s) {
  RunEngine(s, *WindowSpec::Tumbling(10 * kMinute), 0.0, s.range(0) != 0, kSteadyDevices);
}

void BM_Baseline_RawHashMapSum(benchmark::State& state) {
  Stream stream(0.0);
  struct Sum {
    double sum = 0;
    std::int64_t count = 0;
  };
  std::unordered_map<std::string, Sum> sums;
  std::uint64_t i = 0;
  for (auto _ : state) {
    Sum& s = sums[stream.devices[i % kDevices]];
    s.sum += 21.5;
    ++s.count;
    benchmark::DoNotOptimize(stream.EventTime(i));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// Arg: 1 = duplicate suppression on (the default), 0 = off.
BENCHMARK(BM_Baseline_RawHashMapSum);
BENCHMARK(BM_Tumbling10m_InOrder)->ArgName("dedup")->Arg(0)->Arg(1);
BENCHMARK(BM_Tumbling10m_5PercentOutOfOrder)->ArgName("dedup")->Arg(0)->Arg(1);
BENCHMARK(BM_Sliding10m1m_InOrder)->ArgName("dedup")->Arg(0)->Arg(1);
BENCHMARK(BM_Session5m_InOrder)->ArgName("dedup")->Arg(0)->Arg(1);
BENCHMARK(BM_SteadyState_Tumbling10m)
    ->ArgName("dedup")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(kSteadyDevices * 45 * 60);

}  // namespace
}  // namespace tidemark

BENCHMARK_MAIN();
