#include "gateway/demo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace tidemark::demo {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr int kDevices = 20;
constexpr const char* kRate = "100";
constexpr const char* kSpeed = "60";

void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// A TOML basic string.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/local/sbin:/sbin";  // Debian installs mosquitto in /usr/sbin
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Binds 127.0.0.1:port (0: any) and returns the port bound, or -1 when it is taken.
int TryBind(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  socklen_t len = sizeof addr;
  int bound = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    bound = ntohs(addr.sin_port);
  }
  close(fd);
  return bound;
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last `lines` lines of a file.
std::string Tail(const fs::path& path, std::size_t lines) {
  std::stringstream text(ReadFile(path));
  std::vector<std::string> all;
  for (std::string line; std::getline(text, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "  " + all[i] + "\n";
  }
  return out;
}

// A child process in its own process group, stdout and stderr appended to `log`.
struct Child {
  std::string name;
  fs::path log;
  pid_t pid = -1;
  int status = 0;

  bool Exited() {
    if (pid <= 0) return true;
    if (waitpid(pid, &status, WNOHANG) != pid) return false;
    pid = -1;
    return true;
  }
  std::string How() const {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
    return "stopped";
  }
  // SIGTERM, wait up to `timeout`, then SIGKILL.
  void Stop(std::chrono::seconds timeout) {
    if (Exited()) return;
    kill(pid, SIGTERM);
    const auto deadline = Steady::now() + timeout;
    while (!Exited()) {
      if (Steady::now() > deadline) {
        Say("demo: " + name + " did not stop within " + std::to_string(timeout.count()) +
            " s; killing it");
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        return;
      }
      usleep(10000);
    }
  }
};

bool Spawn(Child& child, const std::vector<std::string>& argv) {
  const int fd = open(child.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls from here to exec
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fd);
  if (pid < 0) return false;
  child.pid = pid;
  return true;
}

// Waits for SIGINT/SIGTERM (blocked by RunDemo) up to `ms`; the signal, or 0.
int WaitSignal(long ms) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  timespec timeout{ms / 1000, (ms % 1000) * 1000000};
  const int sig = sigtimedwait(&set, nullptr, &timeout);
  return sig == SIGINT || sig == SIGTERM ? sig : 0;
}

// Polls `ready` every 50 ms until it holds (true), `child` exits, a signal arrives or `timeout`.
template <typename F>
bool WaitFor(Child& child, std::chrono::seconds timeout, int& sig, F ready) {
  const auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    if (ready()) return true;
    if (child.Exited()) return false;
    if ((sig = WaitSignal(50)) != 0) return false;
  }
  return ready();
}

std::string MosquittoConf(const fs::path& dir, int port) {
  std::string conf = "# written by `tidemark demo`\nlistener " + std::to_string(port) +
                     " 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
                     "persistence true\npersistence_location " + dir.string() +
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
  Say("  files:      " + dir.string() + (keep ? " (kept)" : " (removed on exit; --keep DIR keeps them)") +
      ": tidemark.toml, tidemark.db, gateway.log, simulator.log, mosquitto.log");
  Say("");
  Say("What to compare: every reading carries the time it was taken (eventTime). delhi-01's\n"
      "readings arrive at once; sydney-01's arrive 10 minutes late (10 s of wall time at 60x),\n"
      "and now and then a device sends a held-back burst out of order. avg_temp_10m windows by\n"
      "event time with a 15-minute watermark: sydney-01's readings land in the 10-minute windows\n"
      "they were taken in, none late, ~50 readings each, and the averages follow Sydney's day.\n"
      "avg_temp_10m_processing windows the same readings by their arrival at the gateway: at 60x\n"
      "an hour of readings arrives every minute, so they pile into the current wall-clock window\n"
      "and its average mixes hours of temperatures; once the simulation is live (after 10 minutes)\n"
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
  return "# tidemark demo configuration (written by `tidemark demo`)\n\n[mqtt]\nbroker = " +
         Quote(broker_url) + "\nclient_id = \"tidemark-demo\"\ntopics = [\"devices/+/telemetry\"]\n" +
         "\n[storage]\npath = " + Quote(db_path) + "\ncheckpoint_interval = \"2s\"\n" +
         "\n[http]\nlisten = " + Quote(listen) + "\n\n" + PipelinesToml();
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
                   "pass a new or empty directory\n", dir.c_str());
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
  std::ofstream(dir / "tidemark.toml")
      << ConfigToml(broker, (dir / "tidemark.db").string(),
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
  if (sig > 0) Say(std::string("\ndemo: stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
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
