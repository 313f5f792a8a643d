#include "web/metrics_text.h"

#include <charconv>

namespace tidemark::web {
namespace {

// Label values escape backslash, double quote and newline.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += Number(value);
    out_ += '\n';
  }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

std::string PipelineLabel(const PipelineLive& p) { return "pipeline=\"" + Label(p.name) + "\""; }

}  // namespace

std::string PrometheusText(const LiveView& live, const HealthView& health,
                           std::optional<std::int64_t> db_bytes, const HttpCounters& http,
                           int open_streams) {
  Writer w;
  using Get = double (*)(const PipelineLive&);
  struct PerPipeline {
    const char* name;
    const char* type;
    const char* help;
    Get get;
  };
  const PerPipeline per_pipeline[] = {
      {"tidemark_records_total", "counter", "Records counted into windows.",
       [](const PipelineLive& p) { return static_cast<double>(p.counters.records); }},
      {"tidemark_late_records_total", "counter",
       "Records dropped because every window they belong to was closed (see /api/v1/late).",
       [](const PipelineLive& p) { return static_cast<double>(p.counters.late); }},
      {"tidemark_duplicate_records_total", "counter",
       "Records identical to one already counted, counted once.",
       [](const PipelineLive& p) { return static_cast<double>(p.counters.duplicates); }},
      {"tidemark_finalized_windows_total", "counter", "Windows made final (watermark or idle).",
       [](const PipelineLive& p) { return static_cast<double>(p.counters.finalized); }},
      {"tidemark_evicted_window_states_total", "counter",
       "Window states removed from memory (finalized plus merged sessions).",
       [](const PipelineLive& p) { return static_cast<double>(p.counters.evicted); }},
      {"tidemark_open_windows", "gauge", "Open windows held in memory.",
       [](const PipelineLive& p) { return static_cast<double>(p.open_windows); }},
      {"tidemark_state_bytes", "gauge", "Estimated memory held by the pipeline's window state.",
       [](const PipelineLive& p) { return static_cast<double>(p.state_bytes); }},
  };
  for (const PerPipeline& m : per_pipeline) {
    w.Family(m.name, m.type, m.help);
    for (const PipelineLive& p : live.pipelines) w.Sample(m.name, PipelineLabel(p), m.get(p));
  }
  w.Family("tidemark_watermark_lag_seconds", "gauge",
           "Processing time minus the pipeline's (global) watermark; absent before any record.");
  for (const PipelineLive& p : live.pipelines) {
    if (p.watermark) {
      w.Sample("tidemark_watermark_lag_seconds", PipelineLabel(p),
               static_cast<double>(live.taken_at - *p.watermark) / 1e3);
    }
  }
  w.Family("tidemark_rejected_records_total", "counter", "Records rejected, by reason.");
  for (int r = 0; r < kRejectReasonCount; ++r) {
    w.Sample("tidemark_rejected_records_total",
             "reason=\"" + std::string(RejectReasonName(static_cast<RejectReason>(r))) + "\"",
             static_cast<double>(live.rejected[static_cast<std::size_t>(r)]));
  }
  w.Family("tidemark_devices", "gauge", "Distinct device ids seen.");
  w.Sample("tidemark_devices", "", static_cast<double>(live.devices.size()));
  w.Family("tidemark_mqtt_messages_total", "counter", "MQTT messages committed.");
  w.Sample("tidemark_mqtt_messages_total", "", static_cast<double>(health.messages));
  w.Family("tidemark_mqtt_redeliveries_total", "counter",
           "Redelivered MQTT messages recognised as already committed.");
  w.Sample("tidemark_mqtt_redeliveries_total", "", static_cast<double>(health.redeliveries));
  w.Family("tidemark_mqtt_connected", "gauge", "1 while subscribed to the broker.");
  w.Sample("tidemark_mqtt_connected", "", health.mqtt_connected ? 1 : 0);
  w.Family("tidemark_storage_ok", "gauge", "1 while commits succeed.");
  w.Sample("tidemark_storage_ok", "", health.storage_ok ? 1 : 0);
  w.Family("tidemark_clock_ok", "gauge",
           "0 while the wall clock is earlier than the newest commit (messages are held).");
  w.Sample("tidemark_clock_ok", "", health.clock.ok ? 1 : 0);
  w.Family("tidemark_storage_errors_total", "counter", "Failed commits and checkpoints.");
  w.Sample("tidemark_storage_errors_total", "", static_cast<double>(health.storage_errors));
  if (db_bytes) {
    w.Family("tidemark_database_bytes", "gauge", "Size of the SQLite file plus its WAL.");
    w.Sample("tidemark_database_bytes", "", static_cast<double>(*db_bytes));
  }
  if (health.output) {
    w.Family("tidemark_output_connected", "gauge", "1 while connected to the [output] broker.");
    w.Sample("tidemark_output_connected", "", health.output->connected ? 1 : 0);
    w.Family("tidemark_output_pending_messages", "gauge",
             "Outbox messages not yet acknowledged by the upstream broker.");
    w.Sample("tidemark_output_pending_messages", "", static_cast<double>(health.output->pending));
    w.Family("tidemark_output_published_total", "counter",
             "Messages the upstream broker acknowledged since start.");
    w.Sample("tidemark_output_published_total", "", static_cast<double>(health.output->published));
    w.Family("tidemark_output_set_aside_total", "counter",
             "Outbox messages the upstream broker refused 3 times in a row, skipped.");
    w.Sample("tidemark_output_set_aside_total", "", static_cast<double>(health.output->set_aside));
  }
  const HistogramView& h = health.commit_latency;
  w.Family("tidemark_commit_duration_seconds", "histogram",
           "Time of one message's SQLite commit (engine work included).");
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const std::string le = i < h.bounds.size() ? Number(h.bounds[i]) : "+Inf";
    w.Sample("tidemark_commit_duration_seconds_bucket", "le=\"" + le + "\"",
             static_cast<double>(cumulative));
  }
  w.Sample("tidemark_commit_duration_seconds_sum", "", h.sum);
  w.Sample("tidemark_commit_duration_seconds_count", "", static_cast<double>(h.count));
  w.Family("tidemark_http_requests_total", "counter", "HTTP responses, by status code.");
  for (std::size_t code = 100; code < http.by_status.size(); ++code) {
    const std::int64_t n = http.by_status[code].load(std::memory_order_relaxed);
    if (n > 0) {
      w.Sample("tidemark_http_requests_total", "code=\"" + std::to_string(code) + "\"",
               static_cast<double>(n));
    }
  }
  w.Family("tidemark_http_streams", "gauge", "Open /api/v1/stream connections.");
  w.Sample("tidemark_http_streams", "", open_streams);
  return std::move(w.text());
}

}  // namespace tidemark::web
