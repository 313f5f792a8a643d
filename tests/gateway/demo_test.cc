// `tidemark demo` end to end: the real binary starts mosquitto, the gateway and the simulator
// as children, serves /readyz and the dashboard at the URL it prints, shows sydney-01's windows,
// and on SIGINT stops every child and removes its temporary directory (TMPDIR is pointed at a
// test directory) or keeps --keep DIR.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/gateway/gateway_harness.h"
#include "tests/support/process.h"

namespace tidemark::testing {
namespace {

namespace fs = std::filesystem;

// Direct children of `parent`, from /proc/*/stat.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 && ppid == parent) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

// The port of the printed "dashboard:  http://127.0.0.1:PORT/" line, or -1.
int DashboardPort(const Process& demo) {
  if (!demo.WaitForLog("dashboard:", std::chrono::seconds(60))) return -1;
  std::smatch m;
  const std::string log = demo.Log();
  if (!std::regex_search(log, m, std::regex(R"(dashboard:\s+http://127\.0\.0\.1:(\d+)/)"))) {
    return -1;
  }
  return std::stoi(m[1]);
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = dir_ / "tmp";
    fs::create_directories(tmp_);
    // The demo makes its temporary directory under TMPDIR; children inherit the environment.
    setenv("TMPDIR", tmp_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("TMPDIR");
    if (HasFailure()) dir_.Keep();
  }
  TempDir dir_{"tidemark_demo_test"};
  fs::path tmp_;
};

TEST_F(DemoTest, ServesTheDashboardAndStopsEverythingOnSigint) {
  const int port = FreeLoopbackPort();
  Process demo(TidemarkCommand(dir_.path(), {"demo", "--port-http", std::to_string(port)}),
               dir_ / "demo.log");
  ASSERT_EQ(DashboardPort(demo), port) << demo.Log();
  const std::string log = demo.Log();
  EXPECT_NE(log.find("curl -s localhost:" + std::to_string(port) +
                     "/api/v1/windows?device=sydney-01\\&pipeline=avg_temp_10m"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("What to compare"), std::string::npos);

  httplib::Client http("127.0.0.1", port);
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready) << demo.Log();
  EXPECT_EQ(ready->status, 200) << ready->body;
  auto page = http.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  // sydney-01's readings arrive 10 s late at 60x; open windows show after a 2 s checkpoint.
  bool sydney = false;
  for (int i = 0; i < 150 && !sydney; ++i) {
    auto w = http.Get("/api/v1/windows?device=sydney-01&pipeline=avg_temp_10m");
    sydney = w && w->status == 200 && w->body.find("\"sydney-01\"") != std::string::npos;
    if (!sydney) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(sydney) << demo.Log();

  const std::vector<pid_t> children = ChildrenOf(demo.pid());
  EXPECT_EQ(children.size(), 3u);  // mosquitto, the gateway, the simulator
  ASSERT_EQ(std::distance(fs::directory_iterator(tmp_), fs::directory_iterator()), 1);
  demo.Signal(SIGINT);
  EXPECT_EQ(demo.Wait(std::chrono::seconds(45)), 0) << demo.Log();
  for (pid_t child : children) EXPECT_FALSE(Alive(child)) << "child " << child << " survived";
  EXPECT_TRUE(fs::is_empty(tmp_)) << "the demo's temporary directory was left behind";
  EXPECT_NE(demo.Log().find("demo: stopped"), std::string::npos) << demo.Log();
}

TEST_F(DemoTest, KeepDirKeepsTheFilesAndATakenPortIsReplaced) {
  // Hold a port so the demo must pick another one and say so.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int taken = ntohs(addr.sin_port);

  const fs::path keep = dir_ / "kept";
  Process demo(TidemarkCommand(dir_.path(), {"demo", "--port-http", std::to_string(taken), "--keep",
                                             keep.string()}),
               dir_ / "demo.log");
  const int port = DashboardPort(demo);
  ASSERT_GT(port, 0) << demo.Log();
  EXPECT_NE(port, taken);
  EXPECT_NE(demo.Log().find("port " + std::to_string(taken) + " is taken"), std::string::npos)
      << demo.Log();
  demo.Signal(SIGTERM);
  EXPECT_EQ(demo.Wait(std::chrono::seconds(45)), 0) << demo.Log();
  close(fd);
  for (const char* file : {"tidemark.toml", "tidemark.db", "mosquitto.conf", "gateway.log",
                           "simulator.log", "mosquitto.log"}) {
    EXPECT_TRUE(fs::exists(keep / file)) << file;
  }
  EXPECT_TRUE(fs::is_empty(tmp_));
  // A directory that already holds a database is refused, not overwritten.
  Process again(TidemarkCommand(dir_.path(), {"demo", "--keep", keep.string()}),
                dir_ / "again.log");
  EXPECT_EQ(again.Wait(std::chrono::seconds(10)), 2) << again.Log();
  EXPECT_NE(again.Log().find("already holds a tidemark.db"), std::string::npos) << again.Log();
}

}  // namespace
}  // namespace tidemark::testing
