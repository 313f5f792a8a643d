// Fault test (docs/TESTING.md): the gateway is SIGKILLed at random moments — while it ingests, now
// and then while it is still starting up (recovering, replaying, connecting) or stopping after a
// SIGTERM (draining, final checkpoint; a stop takes ~6 ms) — 24 times in one run, while a
// publisher streams sequence-numbered readings steadily at QoS 1. While the gateway is down its
// persistent session queues them at the broker. After the last restart everything
// must be counted exactly once and every window of the stream must be final (fault_finish.h).
// Second fault: the broker restarts (SIGTERM; mosquitto keeps its persistence file) under load,
// 4 times; the gateway must reconnect and resubscribe by itself, the publisher reconnects and
// republishes whatever was not PUBACKed (duplicates the gateway's dedup must count once).
// The seed is printed; TIDEMARK_FAULT_SEED=<seed> replays the same schedule.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "tests/faults/fault_finish.h"
#include "tests/faults/stream_publisher.h"

namespace tidemark::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 24;
constexpr double kRate = 400;          // readings per second of wall time
constexpr std::int64_t kStepMs = 100;  // event time between readings: 40 s of it per second

std::uint64_t Seed() {
  if (const char* s = std::getenv("TIDEMARK_FAULT_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

class LifecycleFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
  }
  void TearDown() override {
    if (broker_) broker_->Stop();  // SIGTERM: mosquitto flushes its log
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "fault test files kept in %s\n", dir_.path().c_str());
    }
  }
  TempDir dir_{"tidemark_fault"};
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(LifecycleFaultTest, RandomSigkillsUnderASteadyStreamLoseAndDoubleNothing) {
  const Watchdog watchdog(std::chrono::seconds(240), "lifecycle_fault");  // ~35 s normally
  const std::uint64_t seed = Seed();
  std::fprintf(stderr, "lifecycle_fault: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const auto start = Clock::now();

  Gateway gw(dir_.path(), broker_->url(), kFaultPipeline);
  ASSERT_TRUE(gw.Start()) << gw.Log();  // creates the persistent session before anything is sent
  // Event time starts 3 hours ago: ~2 minutes of this run span 80 minutes, far from "now".
  const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 3 * 3600'000;
  StreamPublisher pub(broker_->url(), 7, base, kStepMs, kRate);
  pub.Start();

  int kills = 0, during_startup = 0, during_stop = 0;
  std::uniform_int_distribution<int> up_ms(100, 1500), startup_ms(0, 120), stop_ms(0, 8),
      down_ms(0, 400), mode(0, 99);
  while (kills < kKills) {
    const int m = mode(rng);
    if (m < 15) {
      // SIGTERM, then SIGKILL while it drains, disconnects or writes its final checkpoint.
      ASSERT_TRUE(gw.Start()) << gw.Log();
      std::this_thread::sleep_for(milliseconds(up_ms(rng)));
      gw.process().Signal(SIGTERM);
      std::this_thread::sleep_for(milliseconds(stop_ms(rng)));
      const bool stopped = gw.process().Log().find(" info stopped") != std::string::npos;
      gw.Kill();
      ++kills;
      if (!stopped) ++during_stop;
    } else if (m < 40) {
      // Kill it again shortly after launching, possibly mid-recovery.
      gw.Launch();
      std::this_thread::sleep_for(milliseconds(startup_ms(rng)));
      const bool ready = gw.process().Log().find("ready:") != std::string::npos;
      gw.Kill();
      ++kills;
      if (!ready) ++during_startup;
    } else {
      ASSERT_TRUE(gw.Start()) << gw.Log();
      std::this_thread::sleep_for(milliseconds(up_ms(rng)));
      gw.Kill();
      ++kills;
    }
    std::this_thread::sleep_for(milliseconds(down_ms(rng)));  // the broker queues meanwhile
  }
  ASSERT_TRUE(gw.Start()) << gw.Log();
  std::vector<Reading> readings = pub.Stop(std::chrono::seconds(20));
  ASSERT_EQ(pub.unacked(), 0) << "the broker did not acknowledge every reading";
  const std::size_t published = readings.size();

  FinishAndCompare(gw, broker_->url(), readings);
  const auto secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr,
               "lifecycle_fault summary: seed %llu, %d SIGKILLs (%d before ready, %d mid-stop), "
               "%zu readings published + 1 closer, %lld duplicates suppressed, %.1f s\n",
               static_cast<unsigned long long>(seed), kills, during_startup, during_stop, published,
               static_cast<long long>(QueryInt(
                   gw.db_path(), "SELECT duplicates FROM pipeline_state WHERE pipeline='faults'")),
               secs);
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(LifecycleFaultTest, BrokerRestartsUnderLoadLoseAndDoubleNothing) {
  const Watchdog watchdog(std::chrono::seconds(240), "broker_restart_fault");  // ~30 s normally
  const std::uint64_t seed = Seed();
  std::fprintf(stderr, "broker_restart_fault: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const auto start = Clock::now();
  constexpr int kRestarts = 4;

  // Reconnect back-off capped at 2 s so the gateway is back soon after each restart.
  Gateway gw(dir_.path(), broker_->url(), kFaultPipeline, "", "", "listen = \"\"",
             "reconnect_max = \"2s\"");
  ASSERT_TRUE(gw.Start()) << gw.Log();
  const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 3 * 3600'000;
  // A wider window than the SIGKILL test: more readings in flight when the broker goes away.
  StreamPublisher pub(broker_->url(), 7, base, kStepMs, kRate, 100);
  // Certain duplicates: after each reconnect the last 50 acknowledged readings go out again.
  pub.ResendOnReconnect(50);
  pub.Start();

  std::uniform_int_distribution<int> up_ms(1000, 3000), down_ms(200, 1500);
  double slowest_resubscribe = 0;  // seconds from the broker's return to the gateway's SUBACK
  for (int i = 0; i < kRestarts; ++i) {
    std::this_thread::sleep_for(milliseconds(up_ms(rng)));
    broker_->Stop();
    std::this_thread::sleep_for(milliseconds(down_ms(rng)));
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
    // The next restart only once the gateway is back: each restart must be recovered from.
    const auto back = Clock::now();
    ASSERT_TRUE(PollUntil(
        [&] { return Count(gw.Log(), "mqtt: subscribed") >= static_cast<std::size_t>(i + 2); },
        std::chrono::seconds(20)))
        << "the gateway did not resubscribe after broker restart " << i + 1 << "\n"
        << gw.Log();
    slowest_resubscribe =
        std::max(slowest_resubscribe, std::chrono::duration<double>(Clock::now() - back).count());
  }
  std::this_thread::sleep_for(milliseconds(up_ms(rng)));  // streaming after the last restart
  std::vector<Reading> readings = pub.Stop(std::chrono::seconds(20));
  ASSERT_EQ(pub.unacked(), 0) << "the broker did not acknowledge every reading";
  ASSERT_TRUE(gw.Running()) << gw.Log();
  const std::size_t published = readings.size();

  FinishAndCompare(gw, broker_->url(), readings);
  const std::string log = gw.Log();
  EXPECT_GE(Count(log, "mqtt: connection lost"), static_cast<std::size_t>(kRestarts)) << log;
  // Subscribed on the first connection and again after every restart.
  EXPECT_GE(Count(log, "mqtt: subscribed"), static_cast<std::size_t>(kRestarts + 1)) << log;
  EXPECT_GE(pub.reconnects(), kRestarts);
  // Every copy the broker acknowledged is a duplicate the engine suppressed (its window is
  // open: 5 s of event time back, the watermark 10 minutes); copies sent but not acknowledged
  // and republished unacknowledged readings may be too.
  const std::int64_t duplicates =
      QueryInt(gw.db_path(), "SELECT duplicates FROM pipeline_state WHERE pipeline='faults'");
  EXPECT_GE(duplicates, pub.resent());
  EXPECT_LE(duplicates, pub.resent_sent() + pub.republished());
  const auto secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr,
               "broker_restart_fault summary: seed %llu, %d broker restarts, %zu readings "
               "published + 1 closer, %d publisher reconnects, %lld unacknowledged republished + "
               "%lld acknowledged resent by the publisher, %lld duplicates suppressed by the "
               "engine, slowest resubscription %.1f s, %.1f s\n",
               static_cast<unsigned long long>(seed), kRestarts, published, pub.reconnects(),
               static_cast<long long>(pub.republished()), static_cast<long long>(pub.resent()),
               static_cast<long long>(duplicates), slowest_resubscribe, secs);
}

}  // namespace
}  // namespace tidemark::testing
