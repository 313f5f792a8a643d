// End-to-end benchmark (docs/PERFORMANCE.md): a Paho publisher sends N small JSON records at QoS 1
// through a local mosquitto to the real tidemark binary, and — on the same broker, with the same
// publisher and N — to a bare Paho subscriber that only counts (the baseline). Prints a markdown
// table and optionally writes JSON; asserts nothing. Not part of ctest.
//
// Each consumer runs two phases: "saturated" (the publisher as fast as it can, N messages; the
// consumer's rate is N / (time its last message was consumed - time of the first publish)) and
// "paced" (M messages at a fixed rate well below saturation, for latency without a broker
// backlog). CPU and peak RSS are read from /proc/<pid> of the consumer process. The gateway's
// progress and latencies are read from its database, read-only (WAL): ingest_log.arrival is the
// gateway clock when it took the message, eventTime is the publish wall time, and the commit
// follows arrival within tens of microseconds (storage_bench: p50 ~16 us, p99 ~76 us).
//
// Every gateway runs with its HTTP server on (as in the default config) on a free loopback port.
// The consumer "dedup+http" (--http-load adds it after "dedup") is the "dedup" gateway
// while `wrk` keeps http.threads keep-alive connections busy on GET /api/v1/windows during each
// phase; its ingest rate is compared with the "dedup" run of the same round (the same gateway,
// HTTP on but idle).
//
//   e2e_mqtt_bench [--messages N] [--quick] [--json PATH] [--consumers bare,dedup,nodedup]
//                  [--http-load] [--rounds R] ...   (--help lists every option)
//   e2e_mqtt_bench --publisher URL COUNT RATE DEVICES   (the paced publisher alone, for the soak)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/codec.h"
#include "storage/sqlite.h"
#include "tests/bench/e2e_mqtt_parts.h"
#include "tests/support/process.h"

#ifndef TIDEMARK_BINARY
#error "TIDEMARK_BINARY must name the tidemark binary"
#endif

namespace tidemark::bench {
namespace {

namespace fs = std::filesystem;
using testing::Process;
using Steady = std::chrono::steady_clock;

struct Options {
  std::int64_t messages = 1'000'000;
  std::int64_t paced_messages = 50'000;
  // Well below what every consumer sustains on this loaded 2-core machine (bare ~9k/s, tidemark
  // ~7k/s), so the paced latency has no broker backlog in it; the same for every consumer.
  double paced_rate = 4000;
  int devices = 1000;
  int publishers = 1;
  int window = 1000;
  int rounds = 1;
  std::vector<std::string> consumers = {"bare", "dedup", "nodedup"};
  // HTTP load (consumer "dedup+http").
  int http_threads = 4;  // the gateway's http.threads (its default)
  int wrk_threads = 1;
  int wrk_connections = 4;  // each keep-alive connection holds a worker: <= http_threads
  std::vector<std::string> http_paths = {"/api/v1/windows?page_size=100"};
  std::string wrk = "wrk";
  std::string json;
  std::string dir;
  bool keep = false;
  std::string tidemark = TIDEMARK_BINARY;
  std::string mosquitto = "mosquitto";
  int stall_seconds = 60;
};

constexpr const char* kUsage = R"(usage: e2e_mqtt_bench [options]
  --messages N         messages in the saturated phase (default 1000000)
  --quick              N = 100000 and 20000 paced messages (development)
  --paced-messages M   messages in the paced (latency) phase (default 50000; 0 skips it)
  --paced-rate R       their rate, messages/s (default 4000; keep it well below every
                       consumer's saturated rate, or its latency includes a backlog)
  --devices D          distinct devices (default 1000)
  --publishers K       publisher connections/threads (default 1)
  --window W           QoS 1 messages in flight per publisher (default 1000)
  --consumers LIST     comma-separated: bare, dedup, nodedup, dedup+http (default
                       bare,dedup,nodedup, in that order)
  --http-load          add dedup+http right after dedup (wrk on the HTTP API while
                       ingest runs, against the dedup run without HTTP load)
  --rounds R           run the consumer list R times (default 1); each run is compared with
                       the baseline of its own round
  --http-paths LIST    comma-separated paths wrk requests in turn (default
                       /api/v1/windows?page_size=100)
  --wrk-threads T      wrk -t (default 1)
  --wrk-connections C  wrk -c (default 4; at most the gateway's http.threads, 4)
  --wrk PATH           the wrk binary (default: wrk on PATH)
  --json PATH          also write the figures as JSON
  --dir DIR            work directory (default a new one under /tmp, removed afterwards)
  --keep               keep the work directory (broker, gateway logs and databases)
  --tidemark PATH      the gateway binary (default: the one built beside this benchmark)
  --mosquitto PATH     the broker binary (default: mosquitto on PATH)
)";

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::optional<Options> Parse(int argc, char** argv) {
  Options o;
  bool http_load = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--messages")
      o.messages = std::stoll(value());
    else if (a == "--quick")
      o.messages = 100'000, o.paced_messages = 20'000;
    else if (a == "--paced-messages")
      o.paced_messages = std::stoll(value());
    else if (a == "--paced-rate")
      o.paced_rate = std::stod(value());
    else if (a == "--devices")
      o.devices = std::stoi(value());
    else if (a == "--publishers")
      o.publishers = std::stoi(value());
    else if (a == "--window")
      o.window = std::stoi(value());
    else if (a == "--consumers")
      o.consumers = Split(value(), ',');
    else if (a == "--http-load")
      http_load = true;
    else if (a == "--rounds")
      o.rounds = std::stoi(value());
    else if (a == "--http-paths")
      o.http_paths = Split(value(), ',');
    else if (a == "--wrk-threads")
      o.wrk_threads = std::stoi(value());
    else if (a == "--wrk-connections")
      o.wrk_connections = std::stoi(value());
    else if (a == "--wrk")
      o.wrk = value();
    else if (a == "--json")
      o.json = value();
    else if (a == "--dir")
      o.dir = value();
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--tidemark")
      o.tidemark = value();
    else if (a == "--mosquitto")
      o.mosquitto = value();
    else
      throw std::invalid_argument("unknown option " + a);
  }
  if (o.messages <= 0 || o.paced_messages < 0 || o.paced_rate <= 0 || o.devices <= 0 ||
      o.publishers <= 0 || o.window <= 0 || o.rounds <= 0 || o.wrk_threads <= 0 ||
      o.wrk_connections <= 0 || o.http_paths.empty()) {
    throw std::invalid_argument("counts and rates must be positive");
  }
  if (o.wrk_connections > o.http_threads || o.wrk_threads > o.wrk_connections) {
    throw std::invalid_argument(
        "--wrk-connections must be at most http.threads (" + std::to_string(o.http_threads) +
        ": each keep-alive connection holds a worker) and at least --wrk-threads");
  }
  if (http_load &&
      std::find(o.consumers.begin(), o.consumers.end(), "dedup+http") == o.consumers.end()) {
    auto at = std::find(o.consumers.begin(), o.consumers.end(), "dedup");
    if (at == o.consumers.end()) at = o.consumers.insert(o.consumers.end(), "dedup");
    o.consumers.insert(at + 1, "dedup+http");
  }
  for (const std::string& c : o.consumers) {
    if (c != "bare" && c != "dedup" && c != "nodedup" && c != "dedup+http")
      throw std::invalid_argument("unknown consumer " + c);
  }
  return o;
}

std::string Log(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last line of `text` that starts with `prefix`, without the prefix.
std::optional<std::string> LastLine(const std::string& text, const std::string& prefix) {
  std::optional<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) found = line.substr(prefix.size());
  }
  return found;
}

// The 1-minute load average (/proc/loadavg), or NaN.
double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double v = NAN;
  in >> v;
  return v;
}

// ---- wrk (HTTP load) ----------------------------------------------------------------------

struct WrkResult {
  bool ran = false;
  std::string error;
  double requests_per_s = 0;
  std::int64_t requests = 0;
  double seconds = 0;
  double bytes = 0;  // read, headers included
  double p50_ms = NAN, p99_ms = NAN;
  std::int64_t non_2xx = 0;
  std::int64_t socket_errors = 0;  // connect + read + write + timeout
  std::string socket_detail;
  double cpu_seconds = 0;  // wrk's own CPU
};

// "2.45ms" / "812.00us" / "1.20s" / "1.00m" in milliseconds.
double WrkMillis(const std::string& t) {
  std::size_t used = 0;
  const double v = std::stod(t, &used);
  const std::string unit = t.substr(used);
  if (unit == "us") return v / 1000;
  if (unit == "ms") return v;
  if (unit == "s") return v * 1000;
  if (unit == "m") return v * 60'000;
  if (unit == "h") return v * 3'600'000;
  return NAN;
}

// wrk on the gateway's HTTP port for one phase: started before the publisher, stopped with
// SIGINT (wrk then prints its figures) once the phase's messages are consumed. -d is only the
// upper bound.
class WrkLoad {
 public:
  WrkLoad(const fs::path& dir, const Options& o, int port, int phase, int max_seconds) {
    log_ = dir / ("wrk-phase" + std::to_string(phase) + ".log");
    std::vector<std::string> argv = {o.wrk,
                                     "-t" + std::to_string(o.wrk_threads),
                                     "-c" + std::to_string(o.wrk_connections),
                                     "-d" + std::to_string(max_seconds) + "s",
                                     "--timeout",
                                     "10s",
                                     "--latency"};
    if (o.http_paths.size() > 1) {
      const fs::path script = dir / "paths.lua";
      std::ofstream lua(script);
      lua << "local paths = {";
      for (const std::string& p : o.http_paths) lua << "\"" << p << "\", ";
      lua << "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n"
          << "  return wrk.format(\"GET\", paths[i])\nend\n";
      argv.insert(argv.end(), {"-s", script.string()});
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(port) + o.http_paths[0]);
    process_ = Process(argv, log_);
  }
  pid_t pid() const { return process_.pid(); }

  WrkResult Stop() {
    WrkResult r;
    const ProcSample cpu = SampleProc(process_.pid());
    process_.Signal(SIGINT);
    const int code = process_.Wait(std::chrono::seconds(20));
    r.cpu_seconds = cpu.cpu_seconds;
    const std::string text = process_.Log();
    if (code != 0) {
      r.error = "wrk exit " + std::to_string(code) + ": " + text;
      return r;
    }
    std::istringstream in(text);
    try {
      for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string first;
        words >> first;
        if (first == "50%") {
          std::string t;
          words >> t;
          r.p50_ms = WrkMillis(t);
        } else if (first == "99%") {
          std::string t;
          words >> t;
          r.p99_ms = WrkMillis(t);
        } else if (first == "Requests/sec:") {
          words >> r.requests_per_s;
        } else if (line.find(" requests in ") != std::string::npos) {
          // "  17882 requests in 30.05s, 66.49MB read"
          std::string in_word, secs, size;
          r.requests = std::stoll(first);
          words >> in_word >> in_word >> secs >> size;
          r.seconds = std::stod(secs);
          std::size_t used = 0;
          r.bytes = std::stod(size, &used);
          const std::string unit = size.substr(used);
          if (unit == "KB") r.bytes *= 1024;
          if (unit == "MB") r.bytes *= 1024 * 1024;
          if (unit == "GB") r.bytes *= 1024.0 * 1024 * 1024;
        } else if (line.find("Non-2xx or 3xx responses:") != std::string::npos) {
          r.non_2xx = std::stoll(line.substr(line.find(':') + 1));
        } else if (first == "Socket") {
          // "  Socket errors: connect 0, read 0, write 0, timeout 0"
          r.socket_detail = line.substr(line.find(':') + 2);
          std::istringstream e(r.socket_detail);
          std::string name, count;
          while (e >> name >> count) r.socket_errors += std::stoll(count);
        }
      }
    } catch (const std::exception& e) {
      r.error = std::string("cannot parse wrk output: ") + e.what() + ": " + text;
      return r;
    }
    if (r.requests == 0) {
      r.error = "wrk made no requests: " + text;
      return r;
    }
    r.ran = true;
    return r;
  }

 private:
  fs::path log_;
  Process process_;
};

// ---- consumers ----------------------------------------------------------------------------

// Phase 0 is the saturated run, phase 1 the paced one.
class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual std::string name() const = 0;
  virtual std::string client_id() const = 0;
  virtual bool Start(std::string& error) = 0;
  virtual pid_t pid() const = 0;
  // The gateway's HTTP port to load with wrk during each phase, or 0 for none.
  virtual int http_load_port() const { return 0; }
  // Messages consumed since Start; polled every 20 ms, so it must be cheap.
  virtual std::int64_t Progress() = 0;
  virtual void BeginPhase(int /*phase*/) {}
  // Called once the phase's messages are all consumed: the wall time (us) the last one was.
  virtual std::optional<std::int64_t> PhaseDone(int phase, std::string& error) = 0;
  // After both phases.
  virtual LatencyStats Latency(int phase) = 0;
  // Stops the process; `check` describes what it counted, false when that is not `expected`.
  virtual bool Stop(std::int64_t expected, std::string& check) = 0;
};

class BareSubscriber final : public Consumer {
 public:
  BareSubscriber(const fs::path& dir, const std::string& url, const Options& o)
      : log_(dir / "bare-subscriber.log"), url_(url), options_(o) {}
  std::string name() const override { return "bare Paho subscriber (baseline)"; }
  std::string client_id() const override { return "bench-bare"; }
  pid_t pid() const override { return process_.pid(); }

  bool Start(std::string& error) override {
    process_ = Process(
        {fs::read_symlink("/proc/self/exe").string(), "--bare-subscriber", url_, client_id(),
         std::to_string(options_.messages), std::to_string(options_.paced_messages)},
        log_);
    if (!process_.WaitForLog("subscribed", std::chrono::seconds(20))) {
      error = "bare subscriber did not subscribe: " + process_.Log();
      return false;
    }
    return true;
  }

  std::int64_t Progress() override {
    const std::string text = Log(log_);
    if (LastLine(text, "phase 1 ")) return options_.messages + options_.paced_messages;
    if (LastLine(text, "phase 0 ")) return options_.messages;
    if (auto p = LastLine(text, "progress ")) return std::stoll(*p);
    return 0;
  }

  std::optional<std::int64_t> PhaseDone(int phase, std::string& error) override {
    auto line = LastLine(Log(log_), "phase " + std::to_string(phase) + " ");
    if (!line) {
      error = "no phase line in " + log_.string();
      return std::nullopt;
    }
    return std::stoll(*line);
  }

  LatencyStats Latency(int phase) override {
    if (!process_.WaitForLog("result ", std::chrono::seconds(20))) return {};
    std::istringstream in(*LastLine(process_.Log(), "result "));
    LatencyStats s[2];
    in >> s[0].n >> s[0].p50 >> s[0].p99 >> s[0].max >> s[1].n >> s[1].p50 >> s[1].p99 >> s[1].max;
    return s[phase];
  }

  bool Stop(std::int64_t expected, std::string& check) override {
    const std::int64_t got = Progress();
    process_.Signal(SIGTERM);
    const int code = process_.Wait(std::chrono::seconds(20));
    check = "received " + std::to_string(got) + " of " + std::to_string(expected) + ", exit " +
            std::to_string(code);
    return got == expected && code == 0;
  }

 private:
  fs::path log_;
  std::string url_;
  const Options& options_;
  Process process_;
};

class Gateway final : public Consumer {
 public:
  Gateway(const fs::path& dir, const std::string& url, const Options& o, bool dedup, bool http_load)
      : dir_(dir / (std::string(dedup ? "gateway-dedup" : "gateway-nodedup") +
                    (http_load ? "-http" : ""))),
        options_(o),
        dedup_(dedup),
        http_load_(http_load),
        http_port_(testing::FreeLoopbackPort()) {
    fs::create_directories(dir_);
    std::ofstream conf(dir_ / "tidemark.toml");
    // The README's pipeline; storage, input and HTTP defaults (checkpoint every 50,000 records
    // or 10 s, synchronous = normal, max_future_skew 5 minutes; the HTTP server on, as in the
    // default config, with its 4 workers) — only the HTTP port is a free one.
    conf << "[mqtt]\n"
         << "broker = \"" << url << "\"\n"
         << "client_id = \"" << client_id() << "\"\n"
         << "topics = [\"" << kTopicFilter << "\"]\n"
         << "qos = 1\n\n"
         << "[storage]\n"
         << "path = \"" << db_path() << "\"\n\n"
         << "[http]\n"
         << "listen = \"127.0.0.1:" << http_port_ << "\"\n"
         << "threads = " << o.http_threads << "\n\n"
         << "[[pipeline]]\n"
         << "name = \"avg_temp_10m\"\n"
         << "window = \"10 minutes\"\n"
         << "watermark = \"30 minutes\"\n"
         << "dedup = " << (dedup ? "true" : "false") << "\n"
         << "aggregates = { avg_temp = \"avg(temperature)\", readings = \"count()\" }\n";
  }
  std::string name() const override {
    return std::string("tidemark, dedup ") + (dedup_ ? "on (default)" : "off") +
           (http_load_ ? ", + wrk on the HTTP API" : "");
  }
  std::string client_id() const override {
    return std::string(dedup_ ? "tidemark-bench-dedup" : "tidemark-bench-nodedup") +
           (http_load_ ? "-http" : "");
  }
  pid_t pid() const override { return process_.pid(); }
  int http_load_port() const override { return http_load_ ? http_port_ : 0; }
  std::string db_path() const { return (dir_ / "tidemark.db").string(); }

  bool Start(std::string& error) override {
    process_ = Process({options_.tidemark, "--config", (dir_ / "tidemark.toml").string()},
                       dir_ / "tidemark.log");
    if (!process_.WaitForLog("ready:", std::chrono::seconds(30)) ||
        process_.Log().find("HTTP listening") == std::string::npos) {
      error = "gateway not ready (with HTTP on 127.0.0.1:" + std::to_string(http_port_) +
              "): " + process_.Log();
      return false;
    }
    auto db = sqlite::Database::OpenReader(db_path());
    if (!db.ok()) {
      error = db.status().message;
      return false;
    }
    db_.emplace(std::move(db).value());
    base_ = MaxSeq();
    return true;
  }

  // ingest_log.seq grows by one per logged message (ticks are logged only when they close
  // windows, which this stream never does: checked at Stop by counting records).
  std::int64_t Progress() override { return MaxSeq() - base_; }

  void BeginPhase(int phase) override { phase_begin_[phase] = MaxSeq(); }

  std::optional<std::int64_t> PhaseDone(int phase, std::string& error) override {
    // Read now: the next phase's checkpoints trim the log to its newest 100,000 entries.
    auto q = db_->Prepare(
        "SELECT arrival, body FROM ingest_log WHERE kind = 0 AND seq > ? ORDER BY seq DESC "
        "LIMIT ?");
    if (!q.ok()) {
      error = q.status().message;
      return std::nullopt;
    }
    q->Bind(1, phase_begin_[phase]);
    q->Bind(2, phase == 0 ? kLatencyTail : options_.paced_messages);
    std::vector<std::int64_t> latency;
    std::int64_t last_ms = 0;
    StoredRecord record;
    for (;;) {
      auto step = q->Step();
      if (!step.ok()) {
        error = step.status().message;
        return std::nullopt;
      }
      if (*step == sqlite::StepResult::kDone) break;
      const std::int64_t arrival = q->ColumnInt64(0);
      if (!DecodeRecord(q->ColumnBlob(1), record)) {
        error = "undecodable ingest_log body";
        return std::nullopt;
      }
      latency.push_back(arrival - record.event_time);
      last_ms = std::max(last_ms, arrival);
    }
    latency_[phase] = Summarise(std::move(latency));
    return last_ms * 1000;
  }

  LatencyStats Latency(int phase) override { return latency_[phase]; }

  bool Stop(std::int64_t expected, std::string& check) override {
    db_.reset();
    process_.Signal(SIGTERM);
    const int code = process_.Wait(std::chrono::seconds(60));
    auto db = sqlite::Database::OpenReader(db_path());
    if (!db.ok()) {
      check = db.status().message;
      return false;
    }
    auto q = db->Prepare(
        "SELECT records, late, duplicates, "
        "(SELECT count(*) FROM ingest_log WHERE kind = 1 AND seq > "
        "  coalesce((SELECT seq FROM checkpoint), 0)), "
        "(SELECT count(*) FROM ingest_log WHERE kind != 2 AND seq > "
        "  coalesce((SELECT seq FROM checkpoint), 0)) + coalesce((SELECT total FROM checkpoint), "
        "0) "
        "FROM pipeline_state");
    if (!q.ok() || !q->Step().ok()) {
      check = "cannot read pipeline_state";
      return false;
    }
    const std::int64_t records = q->ColumnInt64(0), late = q->ColumnInt64(1),
                       duplicates = q->ColumnInt64(2), logged = q->ColumnInt64(4);
    std::ostringstream s;
    s << "logged " << logged << ", counted " << records << " of " << expected << " (late " << late
      << ", duplicates " << duplicates << "), exit " << code;
    check = s.str();
    return records == expected && logged == expected && late == 0 && duplicates == 0 && code == 0;
  }

 private:
  std::int64_t MaxSeq() {
    auto q = db_->Prepare(
        "SELECT max(coalesce((SELECT max(seq) FROM ingest_log), 0), "
        "coalesce((SELECT seq FROM checkpoint), 0))");
    if (!q.ok() || !q->Step().ok()) return 0;
    return q->ColumnInt64(0);
  }

  fs::path dir_;
  const Options& options_;
  bool dedup_;
  bool http_load_;
  int http_port_;
  Process process_;
  std::optional<sqlite::Database> db_;
  std::int64_t base_ = 0;
  std::int64_t phase_begin_[2] = {0, 0};
  LatencyStats latency_[2];
};

// ---- runs ---------------------------------------------------------------------------------

struct Phase {
  bool ran = false;
  std::int64_t messages = 0;
  PublishResult publish;
  double consumer_rate = 0;  // messages/s
  LatencyStats latency;
  double wall_seconds = 0;  // between the CPU samples
  double cpu_seconds = 0;   // consumer, user + sys
  double broker_cpu_seconds = 0;
  double publisher_cpu_seconds = 0;  // this process (publisher threads and Paho's)
  WrkResult wrk;                     // HTTP load during the phase (dedup+http)
  double Pct(double cpu) const { return wall_seconds > 0 ? 100 * cpu / wall_seconds : 0; }
};

struct Run {
  int round = 0;
  std::string key;
  std::string name;
  double paced_rate = 0;
  double load_before = NAN, load_after = NAN;  // 1-minute load average
  bool ok = false;
  std::string error;
  std::string check;
  Phase phase[2];
  double peak_rss_mib = 0;
};

bool RunPhase(Consumer& c, int p, const Options& o, double paced_rate, const fs::path& dir,
              const std::string& url, pid_t broker, Phase& out, std::string& error) {
  out.messages = p == 0 ? o.messages : o.paced_messages;
  if (out.messages == 0) return true;
  const std::int64_t target = c.Progress() + out.messages;
  c.BeginPhase(p);
  PublishPlan plan;
  plan.url = url;
  plan.client_id = "bench-pub-" + c.client_id();
  plan.first = p == 0 ? 0 : o.messages;
  plan.count = out.messages;
  plan.devices = o.devices;
  plan.publishers = o.publishers;
  plan.rate = p == 0 ? 0 : paced_rate;
  plan.window = o.window;

  std::optional<WrkLoad> wrk;
  if (c.http_load_port() != 0) {
    // Upper bound only (the phase stops it): 1,000 messages/s, plus a minute.
    const double floor_rate = p == 0 ? 1000 : std::min(1000.0, paced_rate / 2);
    fs::create_directories(dir / ("wrk-" + c.client_id()));
    wrk.emplace(dir / ("wrk-" + c.client_id()), o, c.http_load_port(), p,
                static_cast<int>(static_cast<double>(out.messages) / floor_rate) + 60);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // connected before ingest
  }
  const ProcSample c0 = SampleProc(c.pid()), b0 = SampleProc(broker), s0 = SampleProc(getpid());
  const Steady::time_point t0 = Steady::now();
  std::atomic<bool> published{false};
  std::thread publisher([&] {
    out.publish = Publish(plan);
    published = true;
  });
  std::int64_t last = -1;
  Steady::time_point moved = Steady::now();
  bool stalled = false;
  for (;;) {
    const std::int64_t now = c.Progress();
    if (now >= target) break;
    if (published && !out.publish.ok) break;
    if (now != last) {
      last = now;
      moved = Steady::now();
    } else if (Steady::now() - moved > std::chrono::seconds(o.stall_seconds)) {
      stalled = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const ProcSample c1 = SampleProc(c.pid()), b1 = SampleProc(broker);
  const Steady::time_point t1 = Steady::now();
  if (wrk) out.wrk = wrk->Stop();
  publisher.join();
  const ProcSample s1 = SampleProc(getpid());
  if (!out.publish.ok) {
    error = out.publish.error;
    return false;
  }
  if (stalled) {
    error = "no progress for " + std::to_string(o.stall_seconds) + " s at " + std::to_string(last) +
            " messages";
    return false;
  }
  if (wrk && !out.wrk.ran) {
    error = out.wrk.error;
    return false;
  }
  auto last_us = c.PhaseDone(p, error);
  if (!last_us) return false;
  out.ran = true;
  out.consumer_rate =
      static_cast<double>(out.messages) * 1e6 /
      static_cast<double>(std::max<std::int64_t>(1, *last_us - out.publish.start_us));
  out.wall_seconds = std::chrono::duration<double>(t1 - t0).count();
  out.cpu_seconds = c1.cpu_seconds - c0.cpu_seconds;
  out.broker_cpu_seconds = b1.cpu_seconds - b0.cpu_seconds;
  out.publisher_cpu_seconds = s1.cpu_seconds - s0.cpu_seconds;
  return true;
}

Run RunConsumer(Consumer& c, int round, const std::string& key, const Options& o, double paced_rate,
                const fs::path& dir, const std::string& url, pid_t broker) {
  Run run;
  run.round = round;
  run.key = key;
  run.name = c.name();
  run.paced_rate = paced_rate;
  run.load_before = LoadAverage();
  std::fprintf(stderr, "== round %d: %s (load %.2f)\n", round + 1, run.name.c_str(),
               run.load_before);
  if (!c.Start(run.error)) return run;
  for (int p = 0; p < 2; ++p) {
    if (!RunPhase(c, p, o, paced_rate, dir, url, broker, run.phase[p], run.error)) {
      std::string ignored;
      c.Stop(0, ignored);
      PurgeSession(url, c.client_id());
      return run;
    }
    const Phase& ph = run.phase[p];
    if (ph.ran) {
      std::fprintf(stderr, "   %s: %lld messages, consumer %.0f/s, publisher %.0f/s, CPU %.1f%%\n",
                   p == 0 ? "saturated" : "paced", static_cast<long long>(ph.messages),
                   ph.consumer_rate, ph.publish.Rate(), ph.Pct(ph.cpu_seconds));
      if (ph.wrk.ran) {
        std::fprintf(stderr, "   wrk: %.0f requests/s, p50 %.2f ms, p99 %.2f ms, non-2xx %lld\n",
                     ph.wrk.requests_per_s, ph.wrk.p50_ms, ph.wrk.p99_ms,
                     static_cast<long long>(ph.wrk.non_2xx));
      }
    }
  }
  for (int p = 0; p < 2; ++p) {
    if (run.phase[p].ran) run.phase[p].latency = c.Latency(p);
  }
  run.peak_rss_mib = static_cast<double>(SampleProc(c.pid()).hwm_kib) / 1024.0;
  run.load_after = LoadAverage();
  run.ok = c.Stop(o.messages + o.paced_messages, run.check);
  if (!run.ok) run.error = "check failed: " + run.check;
  std::fprintf(stderr, "   %s\n", run.check.c_str());
  if (!PurgeSession(url, c.client_id())) std::fprintf(stderr, "   (could not purge session)\n");
  return run;
}

// ---- report -------------------------------------------------------------------------------

std::string Fmt(double v, int decimals = 0) {
  if (std::isnan(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  // Thousands separators on the integer part.
  const std::size_t dot = s.find('.');
  std::size_t end = dot == std::string::npos ? s.size() : dot;
  const std::size_t begin = s[0] == '-' ? 1 : 0;
  for (std::size_t i = end; i > begin + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

std::string Lat(const LatencyStats& l) {
  if (l.n == 0) return "–";
  return Fmt(l.p50) + " / " + Fmt(l.p99) + " / " + Fmt(l.max) +
         " (n=" + Fmt(static_cast<double>(l.n)) + ")";
}

// The successful run of `key` in `round`.
const Run* Find(const std::vector<Run>& runs, int round, const std::string& key) {
  for (const Run& r : runs) {
    if (r.round == round && r.key == key && r.ok) return &r;
  }
  return nullptr;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Load(const Run& r) { return Fmt(r.load_before, 2) + " → " + Fmt(r.load_after, 2); }

void PrintTable(const std::vector<Run>& runs, const Options& o) {
  std::printf(
      "\n### tidemark end to end: %s QoS 1 messages, %d devices, mosquitto on loopback, "
      "%u cores\n\n",
      Fmt(static_cast<double>(o.messages)).c_str(), o.devices, std::thread::hardware_concurrency());
  std::printf(
      "| round | consumer | consumer rate (msg/s) | × bare (same round) | publish rate (msg/s) | "
      "latency p50 / p99 / max, saturated, last %s (ms) | latency p50 / p99 / max, paced "
      "(ms) | CPU user+sys (s) | CPU (%% of one core) | peak RSS (MiB) | broker CPU (%%) | "
      "publisher CPU (%%) | load avg (1 min) |\n",
      Fmt(static_cast<double>(kLatencyTail)).c_str());
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Run& r : runs) {
    if (!r.ok) {
      std::printf("| %d | %s | FAILED: %s |||||||||| %s |\n", r.round + 1, r.name.c_str(),
                  r.error.c_str(), Load(r).c_str());
      continue;
    }
    const Run* bare = Find(runs, r.round, "bare");
    const Phase& s = r.phase[0];
    const std::string ratio =
        bare ? Fmt(s.consumer_rate / bare->phase[0].consumer_rate, 2) : std::string("–");
    const std::string paced = r.phase[1].ran
                                  ? Lat(r.phase[1].latency) + " at " + Fmt(r.paced_rate) + "/s"
                                  : std::string("–");
    std::printf("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.round + 1,
                r.name.c_str(), Fmt(s.consumer_rate).c_str(), ratio.c_str(),
                Fmt(s.publish.Rate()).c_str(), Lat(s.latency).c_str(), paced.c_str(),
                Fmt(s.cpu_seconds, 1).c_str(), Fmt(s.Pct(s.cpu_seconds)).c_str(),
                Fmt(r.peak_rss_mib, 1).c_str(), Fmt(s.Pct(s.broker_cpu_seconds)).c_str(),
                Fmt(s.Pct(s.publisher_cpu_seconds)).c_str(), Load(r).c_str());
  }
  std::printf(
      "\nConsumer rate = N / (last message consumed − first publish). Latency = consumer clock "
      "at arrival − eventTime (the publish wall time), whole ms; for tidemark the SQLite commit "
      "follows arrival within tens of µs, on the same thread, before the PUBACK. Saturated "
      "latency is mostly the broker backlog when the publisher outpaces the consumer. CPU, "
      "broker and publisher columns cover the saturated phase; peak RSS is the consumer's VmHWM "
      "over both phases. Every gateway has its HTTP server on (default config) on a free "
      "port.\n\n");
  for (const std::string key : {"dedup", "nodedup", "dedup+http"}) {
    std::vector<double> ratios;
    for (int round = 0; round < o.rounds; ++round) {
      const Run* r = Find(runs, round, key);
      if (r == nullptr) continue;
      if (const Run* bare = Find(runs, round, "bare")) {
        const double ratio = r->phase[0].consumer_rate / bare->phase[0].consumer_rate;
        ratios.push_back(ratio);
        std::printf("- round %d, %s: rate %.2f × bare subscriber (target ≥ 0.9): **%s**\n",
                    round + 1, r->name.c_str(), ratio, ratio >= 0.9 ? "met" : "NOT met");
      }
      std::printf("- round %d, %s: peak RSS %.1f MiB (target ≤ 64 MiB): **%s**\n", round + 1,
                  r->name.c_str(), r->peak_rss_mib, r->peak_rss_mib <= 64 ? "met" : "NOT met");
    }
    if (ratios.size() > 1) {
      std::printf("- %s: median ratio to bare over %zu rounds: %.2f\n", key.c_str(), ratios.size(),
                  Median(ratios));
    }
  }
  for (const Run& r : runs) {
    if (r.ok && r.phase[0].publish.Rate() < r.phase[0].consumer_rate * 1.05) {
      std::printf(
          "- NOTE (round %d, %s): the publisher (%.0f/s) was not clearly faster than "
          "the consumer, so this rate is bounded by the publisher\n",
          r.round + 1, r.name.c_str(), r.phase[0].publish.Rate());
    }
  }

  // HTTP under ingest.
  bool any_http = false;
  for (const Run& r : runs) any_http = any_http || r.key == "dedup+http";
  if (!any_http) return;
  std::printf(
      "\n### HTTP under ingest: wrk -t%d -c%d (keep-alive) on %s, gateway http.threads = %d\n\n",
      o.wrk_threads, o.wrk_connections,
      o.http_paths.size() == 1 ? o.http_paths[0].c_str() : "several paths", o.http_threads);
  std::printf(
      "| round | phase | ingest without HTTP load (msg/s) | ingest with HTTP load (msg/s) | "
      "ratio | wrk requests/s | wrk latency p50 / p99 (ms) | bytes/response | non-2xx | "
      "socket errors | "
      "gateway CPU without / with (%% of one core) | wrk CPU (%%) | load avg (1 min) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<double> ratios;
  for (int round = 0; round < o.rounds; ++round) {
    const Run* with = Find(runs, round, "dedup+http");
    const Run* without = Find(runs, round, "dedup");
    if (with == nullptr) {
      std::printf("| %d | – | FAILED or missing ||||||||| |\n", round + 1);
      continue;
    }
    for (int p = 0; p < 2; ++p) {
      const Phase& w = with->phase[p];
      if (!w.ran) continue;
      const Phase* n = without && without->phase[p].ran ? &without->phase[p] : nullptr;
      // Paced: the publisher sets the rate, so compare latency rather than rate.
      const double ratio = n ? w.consumer_rate / n->consumer_rate : NAN;
      if (p == 0 && n) ratios.push_back(ratio);
      std::string phase_name = p == 0 ? "saturated" : "paced " + Fmt(with->paced_rate) + "/s";
      std::string without_rate = n ? Fmt(n->consumer_rate) : std::string("–");
      std::string with_rate = Fmt(w.consumer_rate);
      if (p == 1) {
        without_rate += n ? " (p50/p99 " + Fmt(n->latency.p50) + "/" + Fmt(n->latency.p99) + " ms)"
                          : std::string();
        with_rate += " (p50/p99 " + Fmt(w.latency.p50) + "/" + Fmt(w.latency.p99) + " ms)";
      }
      std::printf(
          "| %d | %s | %s | %s | %s | %s | %s / %s | %s | %lld | %lld | %s / %s | %s | %s |\n",
          round + 1, phase_name.c_str(), without_rate.c_str(), with_rate.c_str(),
          Fmt(ratio, 2).c_str(), Fmt(w.wrk.requests_per_s).c_str(), Fmt(w.wrk.p50_ms, 2).c_str(),
          Fmt(w.wrk.p99_ms, 2).c_str(),
          Fmt(w.wrk.bytes / static_cast<double>(w.wrk.requests)).c_str(),
          static_cast<long long>(w.wrk.non_2xx), static_cast<long long>(w.wrk.socket_errors),
          n ? Fmt(n->Pct(n->cpu_seconds)).c_str() : "–", Fmt(w.Pct(w.cpu_seconds)).c_str(),
          Fmt(w.Pct(w.wrk.cpu_seconds)).c_str(), Load(*with).c_str());
    }
  }
  std::printf(
      "\nwrk runs for the whole phase (started 0.3 s before the publisher, stopped with SIGINT "
      "when the last message is consumed). \"Without HTTP load\" is the dedup run of the same "
      "round: the same gateway with its HTTP server on but idle. Windows reach the database (and "
      "the API) at checkpoints, every 50,000 messages: until the first one, pages are empty "
      "(bytes/response is the mean over the phase).\n\n");
  for (std::size_t i = 0; i < ratios.size(); ++i) {
    std::printf("- ingest with HTTP load %.2f × without (target ≥ 0.9): **%s**\n", ratios[i],
                ratios[i] >= 0.9 ? "met" : "NOT met");
  }
  if (ratios.size() > 1) std::printf("- median over rounds: %.2f\n", Median(ratios));
}

nlohmann::json LatencyJson(const LatencyStats& l) {
  return {{"n", l.n}, {"p50_ms", l.p50}, {"p99_ms", l.p99}, {"max_ms", l.max}};
}

nlohmann::json PhaseJson(const Phase& p) {
  nlohmann::json j = {{"messages", p.messages},
                      {"consumer_rate", p.consumer_rate},
                      {"publish_rate", p.publish.Rate()},
                      {"latency", LatencyJson(p.latency)},
                      {"wall_seconds", p.wall_seconds},
                      {"cpu_seconds", p.cpu_seconds},
                      {"cpu_percent_of_core", p.Pct(p.cpu_seconds)},
                      {"broker_cpu_percent", p.Pct(p.broker_cpu_seconds)},
                      {"publisher_cpu_percent", p.Pct(p.publisher_cpu_seconds)}};
  if (p.wrk.ran) {
    j["wrk"] = {{"requests_per_s", p.wrk.requests_per_s},
                {"requests", p.wrk.requests},
                {"seconds", p.wrk.seconds},
                {"bytes", p.wrk.bytes},
                {"p50_ms", p.wrk.p50_ms},
                {"p99_ms", p.wrk.p99_ms},
                {"non_2xx", p.wrk.non_2xx},
                {"socket_errors", p.wrk.socket_errors},
                {"cpu_seconds", p.wrk.cpu_seconds}};
  }
  return j;
}

void WriteJson(const std::vector<Run>& runs, const Options& o) {
  nlohmann::json j;
  j["config"] = {{"messages", o.messages},
                 {"paced_messages", o.paced_messages},
                 {"devices", o.devices},
                 {"publishers", o.publishers},
                 {"window", o.window},
                 {"rounds", o.rounds},
                 {"latency_tail", kLatencyTail},
                 {"tidemark", o.tidemark},
                 {"http_threads", o.http_threads},
                 {"wrk_threads", o.wrk_threads},
                 {"wrk_connections", o.wrk_connections},
                 {"http_paths", o.http_paths},
                 {"cores", std::thread::hardware_concurrency()}};
  for (const Run& r : runs) {
    nlohmann::json c = {{"round", r.round + 1},
                        {"key", r.key},
                        {"name", r.name},
                        {"ok", r.ok},
                        {"check", r.check},
                        {"paced_rate", r.paced_rate},
                        {"load_before", r.load_before},
                        {"load_after", r.load_after}};
    if (!r.ok) c["error"] = r.error;
    c["saturated"] = PhaseJson(r.phase[0]);
    if (r.phase[1].ran) c["paced"] = PhaseJson(r.phase[1]);
    c["peak_rss_mib"] = r.peak_rss_mib;
    const Run* bare = Find(runs, r.round, "bare");
    if (bare && r.ok) {
      c["ratio_to_bare"] = r.phase[0].consumer_rate / bare->phase[0].consumer_rate;
    }
    if (r.key != "bare" && r.ok) {
      c["targets"] = {{"ratio_ge_0_9",
                       bare ? nlohmann::json(c["ratio_to_bare"] >= 0.9) : nlohmann::json(nullptr)},
                      {"peak_rss_le_64_mib", r.peak_rss_mib <= 64}};
    }
    if (r.key == "dedup+http" && r.ok) {
      if (const Run* without = Find(runs, r.round, "dedup")) {
        const double ratio = r.phase[0].consumer_rate / without->phase[0].consumer_rate;
        c["ingest_ratio_to_no_http_load"] = ratio;
        c["targets"]["ingest_with_http_ge_0_9"] = ratio >= 0.9;
      }
    }
    j["consumers"].push_back(c);
  }
  std::ofstream(o.json) << j.dump(2) << "\n";
}

int Main(int argc, char** argv) {
  std::optional<Options> parsed;
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
        std::printf("%s", kUsage);
        return 0;
      }
    }
    parsed = Parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n%s", e.what(), kUsage);
    return 2;
  }
  const Options& o = *parsed;
  std::optional<testing::TempDir> temp;
  fs::path dir = o.dir;
  if (dir.empty()) {
    temp.emplace("tidemark_e2e");
    if (o.keep) temp->Keep();
    dir = temp->path();
  }
  fs::create_directories(dir);
  std::fprintf(stderr, "work directory %s\n", dir.c_str());

  const int port = testing::FreeLoopbackPort();
  {
    std::ofstream conf(dir / "mosquitto.conf");
    conf << "listener " << port << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << "set_tcp_nodelay true\n"
         << "persistence false\n"
         << "max_queued_messages 0\n"     // unlimited: the backlog of a slower consumer
         << "max_inflight_messages 20\n"  // the default, broker -> each consumer
         << "log_dest stdout\n";
    if (getuid() == 0) conf << "user root\n";  // else mosquitto switches to "mosquitto"
  }
  Process broker({o.mosquitto, "-c", (dir / "mosquitto.conf").string()}, dir / "mosquitto.log");
  if (!testing::WaitForPort(port, std::chrono::seconds(10))) {
    std::fprintf(stderr, "mosquitto did not start: %s\n", broker.Log().c_str());
    return 1;
  }
  const std::string url = "tcp://127.0.0.1:" + std::to_string(port);

  std::vector<Run> runs;
  for (int round = 0; round < o.rounds; ++round) {
    const fs::path round_dir = dir / ("round" + std::to_string(round + 1));
    fs::create_directories(round_dir);
    const double paced_rate = o.paced_rate;
    for (const std::string& key : o.consumers) {
      std::unique_ptr<Consumer> c;
      if (key == "bare") {
        c = std::make_unique<BareSubscriber>(round_dir, url, o);
      } else {
        c = std::make_unique<Gateway>(round_dir, url, o, key != "nodedup", key == "dedup+http");
      }
      runs.push_back(RunConsumer(*c, round, key, o, paced_rate, round_dir, url, broker.pid()));
      if (!runs.back().ok) std::fprintf(stderr, "   FAILED: %s\n", runs.back().error.c_str());
    }
  }
  broker.Signal(SIGTERM);
  broker.Wait(std::chrono::seconds(10));

  PrintTable(runs, o);
  if (!o.json.empty()) WriteJson(runs, o);
  for (const Run& r : runs) {
    if (!r.ok) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tidemark::bench

// `e2e_mqtt_bench --publisher URL COUNT RATE DEVICES`: only the paced QoS 1 publisher (COUNT
// messages at RATE/s over DEVICES devices, eventTime = publish wall time), for tests/bench/soak.
// Prints "published <sent> <first publish us> <last PUBACK us>" and exits 0, or an error and 1.
namespace {
int PublisherMain(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: e2e_mqtt_bench --publisher URL COUNT RATE DEVICES\n");
    return 2;
  }
  tidemark::bench::PublishPlan plan;
  plan.url = argv[2];
  plan.client_id = "soak-pub";
  plan.count = std::stoll(argv[3]);
  plan.rate = std::stod(argv[4]);
  plan.devices = std::stoi(argv[5]);
  const tidemark::bench::PublishResult r = tidemark::bench::Publish(plan);
  if (!r.ok) {
    std::fprintf(stderr, "publisher failed: %s\n", r.error.c_str());
    return 1;
  }
  std::printf("published %lld %lld %lld\n", static_cast<long long>(r.sent),
              static_cast<long long>(r.start_us), static_cast<long long>(r.end_us));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--bare-subscriber") {
    return tidemark::bench::BareSubscriberMain(argc, argv);
  }
  if (argc > 1 && std::string(argv[1]) == "--publisher") return PublisherMain(argc, argv);
  return tidemark::bench::Main(argc, argv);
}
