#include "gateway/tools/demo.h"

#include <pwd.h>
#include <signal.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gateway/tools/demo_process.h"

namespace tidemark::demo {
namespace {

namespace fs = std::filesystem;

constexpr int kDevices = 20;
constexpr const char* kRate = "100";
constexpr const char* kSpeed = "60";

std::string MosquittoConf(const fs::path& dir, int port) {
  std::string conf = "# written by `tidemark demo`\nlistener " + std::to_string(port) +
                     " 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
                     "persistence true\npersistence_location " +
                     dir.string() +
                     "/\nautosave_interval 60\nmax_queued_messages 100000\nlog_dest stdout\n";
  // Started as root, mosquitto switches to the "mosquitto" user unless told to stay who it is,
  // and then could not write its persistence file here.
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr) {
    conf += "user " + std::string(pw->pw_name) + "\n";
  }
  return conf;
}

std::string SelfPath() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

void PrintBanner(const Options&, int http_port, int broker_port, const fs::path& dir, bool keep) {
  const std::string host = "localhost:" + std::to_string(http_port);
  Say("");
  Say("tidemark demo is running. Ctrl-C stops it.");
  Say("");
  Say("  dashboard:  http://127.0.0.1:" + std::to_string(http_port) + "/");
  Say("  try:        curl -s " + host + "/api/v1/windows?device=sydney-01\\&pipeline=avg_temp_10m");
  Say("  beside it:  curl -s " + host +
      "/api/v1/windows?device=sydney-01\\&pipeline=avg_temp_10m_processing");
  Say("");
  Say("  broker tcp://127.0.0.1:" + std::to_string(broker_port) + " (mosquitto); " +
      std::to_string(kDevices) + " simulated devices, " + kRate + " msg/s, " + kSpeed +
      "x speed: an hour of event time per minute, starting ~10 hours ago, live after 10 minutes");
  Say("  files:      " + dir.string() +
      (keep ? " (kept)" : " (removed on exit; --keep DIR keeps them)") +
      ": tidemark.toml, tidemark.db, gateway.log, simulator.log, mosquitto.log");
  Say("");
  Say("What to compare: every reading carries the time it was taken (eventTime). delhi-01's\n"
      "readings arrive at once; sydney-01's arrive 10 minutes late (10 s of wall time at 60x),\n"
      "and now and then a device sends a held-back burst out of order. avg_temp_10m windows by\n"
      "event time with a 15-minute watermark: sydney-01's readings land in the 10-minute windows\n"
      "they were taken in, none late, ~50 readings each, and the averages follow Sydney's day.\n"
      "avg_temp_10m_processing windows the same readings by their arrival at the gateway: at 60x\n"
      "an hour of readings arrives every minute, so they pile into the current wall-clock window\n"
      "and its average mixes hours of temperatures; once the simulation is live (after 10 "
      "minutes)\n"
      "each of sydney-01's readings still lands one window after the one it was taken in. The\n"
      "dashboard shows both pipelines per device; /api/v1/late and /api/v1/rejected show what\n"
      "was late (nothing, here) and the ~1% malformed payloads the simulator sends.");
  Say("");
}

}  // namespace

std::string PipelinesToml() {
  return R"toml([[pipeline]]
name = "avg_temp_10m"               # event time: readings land in the window they were taken in
window = "10 minutes"
watermark = "15 minutes"            # covers sydney-01's 10-minute delay and out-of-order bursts
watermark_scope = "device"
aggregates = { avg_temp = "avg(temperature)", max_temp = "max(temperature)", readings = "count()" }

[[pipeline]]
name = "avg_temp_10m_processing"    # the same by arrival time, for contrast (the wrong answer)
window = "10 minutes"
time = "processing"
aggregates = { avg_temp = "avg(temperature)", max_temp = "max(temperature)", readings = "count()" }
)toml";
}

std::string ConfigToml(const std::string& broker_url, const std::string& db_path,
                       const std::string& listen) {
  const toml::table config{
      {"mqtt", toml::table{{"broker", broker_url},
                           {"client_id", "tidemark-demo"},
                           {"topics", toml::array{"devices/+/telemetry"}}}},
      {"storage", toml::table{{"path", db_path}, {"checkpoint_interval", "2s"}}},
      {"http", toml::table{{"listen", listen}}},
  };
  std::ostringstream out;
  out << "# tidemark demo configuration (written by `tidemark demo`)\n\n"
      << toml::toml_formatter(config) << "\n\n"
      << PipelinesToml();
  return out.str();
}

int RunDemo(const Options& options) {
  const std::string mosquitto = FindProgram("mosquitto");
  if (mosquitto.empty()) {
    std::fprintf(stderr,
                 "tidemark demo: mosquitto not found on PATH (nor in /usr/sbin): install it, "
                 "e.g. `sudo apt-get install mosquitto` or `sudo bash .ci/install-deps`\n");
    return 1;
  }
  const std::string self = SelfPath();
  if (self.empty()) {
    std::fprintf(stderr, "tidemark demo: cannot find its own binary (/proc/self/exe)\n");
    return 1;
  }
  const bool keep = !options.keep_dir.empty();
  fs::path dir;
  std::error_code ec;
  if (keep) {
    dir = fs::absolute(options.keep_dir, ec);
    fs::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "tidemark demo: --keep %s: %s\n", options.keep_dir.c_str(),
                   ec.message().c_str());
      return 2;
    }
    if (fs::exists(dir / "tidemark.db")) {
      std::fprintf(stderr,
                   "tidemark demo: --keep %s already holds a tidemark.db (an earlier demo?): "
                   "pass a new or empty directory\n",
                   dir.c_str());
      return 2;
    }
  } else {
    std::string tmpl = (fs::temp_directory_path(ec) / "tidemark-demo-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "tidemark demo: cannot create a temporary directory: %s\n",
                   std::strerror(errno));
      return 1;
    }
    dir = tmpl;
  }
  int http_port = TryBind(options.http_port);
  if (http_port < 0) {
    http_port = TryBind(0);
    Say("demo: port " + std::to_string(options.http_port) + " is taken; the dashboard uses " +
        std::to_string(http_port) + " instead");
  }
  const int broker_port = TryBind(0);
  const std::string broker = "tcp://127.0.0.1:" + std::to_string(broker_port);
  std::ofstream(dir / "mosquitto.conf") << MosquittoConf(dir, broker_port);
  std::ofstream(dir / "tidemark.toml") << ConfigToml(broker, (dir / "tidemark.db").string(),
                                                     "127.0.0.1:" + std::to_string(http_port));

  // From here SIGINT/SIGTERM are taken with sigtimedwait; children get them unblocked.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);

  Child broker_child{"mosquitto", dir / "mosquitto.log"};
  Child gateway{"the gateway", dir / "gateway.log"};
  Child simulator{"the simulator", dir / "simulator.log"};
  int sig = 0;
  std::string failure;
  const auto failed = [&](Child& child, const std::string& what) {
    if (sig != 0) return;
    failure = "demo: " + what + (child.Exited() ? " (it " + child.How() + ")" : "") +
              "; the end of " + child.log.string() + ":\n" + Tail(child.log, 15);
  };
  Say("demo: files in " + dir.string());
  Say("demo: starting mosquitto on 127.0.0.1:" + std::to_string(broker_port));
  if (!Spawn(broker_child, {mosquitto, "-c", (dir / "mosquitto.conf").string()})) {
    failure = "demo: cannot start " + mosquitto;
  } else if (!WaitFor(broker_child, std::chrono::seconds(10), sig,
                      [&] { return Accepts(broker_port); })) {
    failed(broker_child, "mosquitto did not start");
  } else {
    Say("demo: starting the gateway (" + self + " --config " + (dir / "tidemark.toml").string() +
        ")");
    if (!Spawn(gateway, {self, "--config", (dir / "tidemark.toml").string()})) {
      failure = "demo: cannot start " + self;
    } else if (!WaitFor(gateway, std::chrono::seconds(30), sig, [&] {
                 return ReadFile(gateway.log).find("ready:") != std::string::npos;
               })) {
      failed(gateway, "the gateway did not get ready");
    } else {
      Say("demo: starting the simulator");
      if (!Spawn(simulator, {self, "simulate", "--broker", broker, "--devices",
                             std::to_string(kDevices), "--rate", kRate, "--speed", kSpeed})) {
        failure = "demo: cannot start the simulator";
      } else {
        PrintBanner(options, http_port, broker_port, dir, keep);
        while (sig == 0) {
          sig = WaitSignal(1000);
          for (Child* c : {&broker_child, &gateway, &simulator}) {
            if (sig == 0 && c->Exited()) {
              failure = "demo: " + c->name + " " + c->How() + " unexpectedly; the end of " +
                        c->log.string() + ":\n" + Tail(c->log, 15);
              sig = -1;
            }
          }
        }
      }
    }
  }
  if (!failure.empty()) Say(failure);
  if (sig > 0)
    Say(std::string("\ndemo: stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
  simulator.Stop(std::chrono::seconds(5));
  gateway.Stop(std::chrono::seconds(20));
  broker_child.Stop(std::chrono::seconds(10));
  if (keep) {
    Say("demo: stopped; files kept in " + dir.string());
  } else {
    fs::remove_all(dir, ec);
    Say("demo: stopped; removed " + dir.string());
  }
  return failure.empty() ? 0 : 1;
}

}  // namespace tidemark::demo
