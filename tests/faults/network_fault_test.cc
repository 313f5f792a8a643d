// Fault test (docs/TESTING.md): the network between gateway and broker is cut. The test makes a
// network namespace with a veth pair on a private /30 (10.200.x.y, unique per pid), runs the
// gateway in it (`ip netns exec`) against the broker's listener on the root side's veth address,
// and takes the link down twice for 9 s — longer than the gateway's 2-s keep-alive, so both ends
// notice (Paho needs about two keep-alives and its check interval: 4-6 s; on a loaded machine the
// link stays down until the gateway has noticed, up to 20 s more) — while the publisher (root
// namespace, loopback) keeps streaming; the broker queues for the gateway's persistent session.
// After each cut the gateway must reconnect and resubscribe by itself; at the end nothing may be
// lost or doubled and every window of the stream must be final (fault_finish.h). No traffic leaves
// the machine: loopback and the test's own veth pair. Needs root and iproute2 (CI runs as root);
// without them the test fails, saying so.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/faults/fault_finish.h"
#include "tests/faults/stream_publisher.h"

namespace tidemark::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kCuts = 2;
constexpr auto kCut = std::chrono::seconds(9);

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class NetworkFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int pid = static_cast<int>(getpid());
    ns_ = "tidemark-" + std::to_string(pid);
    root_if_ = "tmr" + std::to_string(pid);  // interface names: at most 15 characters
    ns_if_ = "tmn" + std::to_string(pid);
    const std::string net = "10.200." + std::to_string((pid / 64) % 256) + ".";
    const int block = (pid % 64) * 4;  // a /30: .block+1 root side, .block+2 the namespace
    root_addr_ = net + std::to_string(block + 1);
    ns_addr_ = net + std::to_string(block + 2);

    if (Ip("netns add " + ns_) != 0) {
      FAIL() << "`ip netns add " << ns_ << "` failed: this test needs root and iproute2 "
             << "(CI runs as root; .ci/install-deps installs iproute2). Output:\n"
             << output_;
    }
    ns_made_ = true;
    ASSERT_EQ(Ip("link add " + root_if_ + " type veth peer name " + ns_if_), 0) << output_;
    veth_made_ = true;
    ASSERT_EQ(Ip("link set " + ns_if_ + " netns " + ns_), 0) << output_;
    ASSERT_EQ(Ip("addr add " + root_addr_ + "/30 dev " + root_if_), 0) << output_;
    ASSERT_EQ(Ip("link set " + root_if_ + " up"), 0) << output_;
    ASSERT_EQ(Ip("-n " + ns_ + " addr add " + ns_addr_ + "/30 dev " + ns_if_), 0) << output_;
    ASSERT_EQ(Ip("-n " + ns_ + " link set " + ns_if_ + " up"), 0) << output_;
    ASSERT_EQ(Ip("-n " + ns_ + " link set lo up"), 0) << output_;

    broker_ = std::make_unique<Mosquitto>(dir_.path());
    broker_->AddListener(root_addr_);  // same port; the publisher keeps using 127.0.0.1
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
  }

  void TearDown() override {
    // Whatever happened: the gateway first (it runs in the namespace), then the veth pair
    // (deleting one end deletes both) and the namespace.
    gateway_.reset();
    if (veth_made_) Ip("link del " + root_if_);
    if (ns_made_) Ip("netns del " + ns_);
    if (broker_) broker_->Stop();  // SIGTERM: mosquitto flushes its log
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "fault test files kept in %s\n", dir_.path().c_str());
    }
  }

  // Runs `ip <args>`; its exit code, with its output in output_.
  int Ip(const std::string& args) {
    const std::string out = (dir_.path() / "ip.out").string();
    const int rc = std::system(("ip " + args + " >" + out + " 2>&1").c_str());
    std::ifstream in(out);
    output_.assign(std::istreambuf_iterator<char>(in), {});
    return rc == -1 ? -1 : WEXITSTATUS(rc);
  }

  TempDir dir_{"tidemark_netfault"};
  std::string ns_, root_if_, ns_if_, root_addr_, ns_addr_, output_;
  bool ns_made_ = false, veth_made_ = false;
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(NetworkFaultTest, LinkDownLongerThanKeepAliveLosesAndDoublesNothing) {
  const Watchdog watchdog(std::chrono::seconds(240), "network_fault");  // ~36 s normally
  const auto start = Clock::now();
  const std::string url = "tcp://" + root_addr_ + ":" + std::to_string(broker_->port());
  // A 2-s keep-alive (the default 30 s would take a minute to notice) and a 1-s back-off.
  gateway_ = std::make_unique<Gateway>(dir_.path(), url, kFaultPipeline, "", "", "listen = \"\"",
                                       "keep_alive = \"2s\"\nreconnect_max = \"1s\"");
  Gateway& gw = *gateway_;
  gw.SetCommandPrefix({"ip", "netns", "exec", ns_});
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_NE(gw.Log().find("connected to " + url), std::string::npos) << gw.Log();

  const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 3 * 3600'000;
  StreamPublisher pub(broker_->url(), 7, base, 100, 400);
  pub.Start();

  double slowest_resubscribe = 0;  // seconds from link up to the gateway's SUBACK
  double slowest_notice = 0;       // seconds from link down to "connection lost"
  for (int i = 0; i < kCuts; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    // Counted from here: a spurious reconnect before the cut must not count as this one's.
    const std::size_t lost_before = Count(gw.Log(), "mqtt: connection lost");
    const std::size_t subscribed_before = Count(gw.Log(), "mqtt: subscribed");
    ASSERT_EQ(Ip("link set " + root_if_ + " down"), 0) << output_;
    const auto down = Clock::now();
    const std::int64_t made_before = pub.made();  // readings seq >= this are made in the cut
    // The link stays down for kCut, and longer if the gateway has not noticed yet (a loaded
    // machine: it may still be working through what it had received), up to 20 s more.
    const bool noticed =
        PollUntil([&] { return Count(gw.Log(), "mqtt: connection lost") > lost_before; },
                  kCut + std::chrono::seconds(20));
    slowest_notice =
        std::max(slowest_notice, std::chrono::duration<double>(Clock::now() - down).count());
    std::this_thread::sleep_until(down + kCut);
    // The cut was real: no reading made during it reached the gateway (its windows hold them as
    // of the last checkpoint, 1 s, or at once when final).
    const double newest_seen =
        QueryDouble(gw.db_path(),
                    "SELECT max(json_extract(vals, '$.seq_max')) FROM windows "
                    "WHERE pipeline = 'faults'");
    ASSERT_EQ(Ip("link set " + root_if_ + " up"), 0) << output_;
    EXPECT_LT(newest_seen, static_cast<double>(made_before)) << "cut " << i + 1 << " did not cut";
    EXPECT_TRUE(noticed) << "the gateway did not notice cut " << i + 1 << " within "
                         << (kCut + std::chrono::seconds(20)).count() << " s\n"
                         << gw.Log();
    const auto up = Clock::now();
    ASSERT_TRUE(PollUntil([&] { return Count(gw.Log(), "mqtt: subscribed") > subscribed_before; },
                          std::chrono::seconds(30)))
        << "the gateway did not resubscribe after cut " << i + 1 << "\n"
        << gw.Log();
    slowest_resubscribe =
        std::max(slowest_resubscribe, std::chrono::duration<double>(Clock::now() - up).count());
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // streaming after the last cut
  std::vector<Reading> readings = pub.Stop(std::chrono::seconds(20));
  ASSERT_EQ(pub.unacked(), 0) << "the broker did not acknowledge every reading";
  ASSERT_TRUE(gw.Running()) << gw.Log();
  const std::size_t published = readings.size();

  FinishAndCompare(gw, broker_->url(), readings);
  const auto secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(
      stderr,
      "network_fault summary: %d cuts of %lld s (keep-alive 2 s), %zu readings "
      "published + 1 closer, loss noticed within %.1f s, slowest resubscription after link "
      "up %.1f s, %.1f s\n",
      kCuts, static_cast<long long>(kCut.count()), published, slowest_notice, slowest_resubscribe,
      secs);
}

}  // namespace
}  // namespace tidemark::testing
