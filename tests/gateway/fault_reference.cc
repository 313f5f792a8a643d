#include "tests/gateway/fault_reference.h"

#include <algorithm>
#include <sstream>

#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {

const char* const kFaultPipeline = R"toml(
[[pipeline]]
name = "faults"
window = "1 minute"
watermark = "10 minutes"
watermark_scope = "global"
aggregates = { n = "count()", seq_sum = "sum(seq)", seq_min = "min(seq)", seq_max = "max(seq)" }
)toml";

std::vector<Reading> MakeReadings(std::int64_t first, std::int64_t count, int devices,
                                  std::int64_t base, std::int64_t step_ms) {
  std::vector<Reading> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t seq = first; seq < first + count; ++seq) {
    out.push_back({"d" + std::to_string(seq % devices), base + seq * step_ms, seq});
  }
  return out;
}

std::string Payload(const Reading& r) {
  return "{\"deviceId\":\"" + r.device + "\",\"eventTime\":" + std::to_string(r.event_time) +
         ",\"seq\":" + std::to_string(r.seq) + "}";
}

std::vector<std::string> Payloads(const std::vector<Reading>& readings) {
  std::vector<std::string> out;
  out.reserve(readings.size());
  for (const Reading& r : readings) out.push_back(Payload(r));
  return out;
}

std::string Topic(const Reading& r) { return "devices/" + r.device + "/telemetry"; }

FaultWindows Recompute(const std::vector<Reading>& readings) {
  FaultWindows out;
  for (const Reading& r : readings) {
    const std::int64_t start =
        r.event_time - ((r.event_time % kFaultWindow) + kFaultWindow) % kFaultWindow;
    auto [it, fresh] = out.try_emplace({r.device, start});
    FaultWindow& w = it->second;
    const double s = static_cast<double>(r.seq);
    w.seq_min = fresh ? s : std::min(w.seq_min, s);
    w.seq_max = fresh ? s : std::max(w.seq_max, s);
    w.seq_sum += s;
    ++w.records;
  }
  return out;
}

FaultWindows StoredWindows(const std::string& db_path, bool final_only) {
  const std::string sql =
      "SELECT device || char(9) || window_start || char(9) || records || char(9) || "
      "json_extract(vals, '$.seq_sum') || char(9) || json_extract(vals, '$.seq_min') || "
      "char(9) || json_extract(vals, '$.seq_max') FROM windows WHERE pipeline = 'faults'" +
      std::string(final_only ? " AND status = 'final'" : "");
  FaultWindows out;
  for (const std::string& row : QueryStrings(db_path, sql)) {
    std::istringstream in(row);
    std::string device, start, records, sum, min, max;
    std::getline(in, device, '\t');
    std::getline(in, start, '\t');
    std::getline(in, records, '\t');
    std::getline(in, sum, '\t');
    std::getline(in, min, '\t');
    std::getline(in, max, '\t');
    out[{device, std::stoll(start)}] = {std::stoll(records), std::stod(sum), std::stod(min),
                                        std::stod(max)};
  }
  return out;
}

namespace {

std::string Describe(const WindowKey& k, const FaultWindow* w) {
  std::ostringstream s;
  s << std::get<0>(k) << " @" << std::get<1>(k) << ": ";
  if (!w) return s.str() + "missing";
  s << "n=" << w->records << " sum=" << w->seq_sum << " min=" << w->seq_min
    << " max=" << w->seq_max;
  return s.str();
}

}  // namespace

std::string DiffWindows(const FaultWindows& expected, const FaultWindows& actual, int max_lines) {
  std::ostringstream out;
  int lines = 0;
  auto note = [&](const WindowKey& k, const FaultWindow* want, const FaultWindow* got) {
    if (lines++ < max_lines)
      out << "want " << Describe(k, want) << " | got " << Describe(k, got) << "\n";
  };
  for (const auto& [k, w] : expected) {
    auto it = actual.find(k);
    if (it == actual.end()) {
      note(k, &w, nullptr);
    } else if (!(it->second == w)) {
      note(k, &w, &it->second);
    }
  }
  for (const auto& [k, w] : actual) {
    if (!expected.contains(k)) note(k, nullptr, &w);
  }
  if (lines > max_lines) out << "... " << lines - max_lines << " more\n";
  return out.str();
}

}  // namespace tidemark::testing
