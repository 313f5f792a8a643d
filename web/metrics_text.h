// GET /metrics: the Prometheus text exposition format (version 0.0.4), written directly.
// Counters end in _total, units are in the names (seconds, bytes). Pure function of its
// inputs: safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "web/api_data.h"

namespace tidemark::web {

// HTTP responses by status code (100..599), counted by the server's workers.
struct HttpCounters {
  std::array<std::atomic<std::int64_t>, 600> by_status{};
  void Count(int status) {
    if (status >= 100 && status < 600) by_status[static_cast<std::size_t>(status)]++;
  }
};

std::string PrometheusText(const LiveView& live, const HealthView& health,
                           std::optional<std::int64_t> db_bytes, const HttpCounters& http,
                           int open_streams);

}  // namespace tidemark::web
