// LatencyHistogram: fixed buckets (10 us .. 1 s) of atomic counters, recorded by the ingest
// thread per commit and read by HTTP threads for /metrics and /api/v1/state. Record() is a
// few relaxed atomic adds; View() may see a count that is a few observations ahead of the
// buckets, which Prometheus tolerates.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "web/api_data.h"

namespace tidemark {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 16> kBounds = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1.0};

  void Record(std::int64_t nanos) {
    const double seconds = static_cast<double>(nanos) / 1e9;
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  web::HistogramView View() const {
    web::HistogramView v;
    v.bounds.assign(kBounds.begin(), kBounds.end());
    for (const auto& c : counts_) v.counts.push_back(c.load(std::memory_order_relaxed));
    v.sum = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
    v.count = 0;
    for (std::int64_t c : v.counts) v.count += c;
    return v;
  }

 private:
  std::array<std::atomic<std::int64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::int64_t> sum_nanos_{0};
  std::atomic<std::int64_t> count_{0};
};

}  // namespace tidemark
