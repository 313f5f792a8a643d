// Fault test (issue 7): the gateway is SIGKILLed at random moments — while it ingests, and now
// and then while it is still starting up (recovering, replaying, connecting) — 24 times in one
// run, while a publisher streams sequence-numbered readings steadily at QoS 1. While the gateway
// is down its persistent session queues them at the broker. After the last restart everything
// must be counted exactly once and every window of the stream must be final (fault_finish.h).
// The seed is printed; TIDEMARK_FAULT_SEED=<seed> replays the same kill schedule.
#include <gtest/gtest.h>

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
constexpr double kRate = 400;         // readings per second of wall time
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
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "fault test files kept in %s\n", dir_.path().c_str());
    }
  }
  TempDir dir_{"tidemark_fault"};
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(LifecycleFaultTest, RandomSigkillsUnderASteadyStreamLoseAndDoubleNothing) {
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

  int kills = 0, during_startup = 0;
  std::uniform_int_distribution<int> up_ms(100, 1500), startup_ms(0, 120), down_ms(0, 400);
  std::bernoulli_distribution in_startup(0.25);
  while (kills < kKills) {
    if (in_startup(rng)) {
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
               "lifecycle_fault summary: seed %llu, %d SIGKILLs (%d before ready), %zu readings "
               "published + 1 closer, %lld duplicates suppressed, %.1f s\n",
               static_cast<unsigned long long>(seed), kills, during_startup, published,
               static_cast<long long>(QueryInt(
                   gw.db_path(), "SELECT duplicates FROM pipeline_state WHERE pipeline='faults'")),
               secs);
}

}  // namespace
}  // namespace tidemark::testing
