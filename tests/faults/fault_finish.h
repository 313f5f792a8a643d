// The fault tests' common ending (docs/TESTING.md): once the fault is over, make every window of
// the published readings final and compare the database with the offline recomputation.
//
// How the windows are made final (decided): one last "closer" reading (device "closer", the next
// seq) stamped 11 minutes after the newest reading — the "faults" pipeline's global watermark is
// 10 minutes, so its watermark passes the end of every 1-minute window of the stream; only the
// closer's own window stays open. It is published only once every reading has arrived
// (otherwise a straggler would rightly be late), and it is part of the readings compared.
// Header-only; one test thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/gateway/fault_reference.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {

inline constexpr std::int64_t kFaultWatermark = 10 * 60'000;  // kFaultPipeline's watermark

// Bounds a test in time whatever it waits on: aborts the process (a failed test, with a line
// saying why) if the test is still running after `limit`.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what)
      : thread_([this, limit, what = std::move(what)] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "%s: still running after %lld s, aborting\n", what.c_str(),
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// Polls until `check()` is true or `timeout` passes; its last value.
template <typename F>
bool PollUntil(F&& check, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      if (check()) return true;
    } catch (const std::exception&) {
      // the database may be busy being created or recovered
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Windows of `all` that the watermark `watermark` has closed (end <= watermark).
inline FaultWindows ClosedBy(const FaultWindows& all, std::int64_t watermark) {
  FaultWindows out;
  for (const auto& [key, w] : all) {
    if (std::get<1>(key) + kFaultWindow <= watermark) out.emplace(key, w);
  }
  return out;
}

// With the gateway running and `readings` (seq 0..n-1) published: waits for them all, publishes
// the closer, waits for the final windows, stops the gateway cleanly (final checkpoint) and
// checks every stored window and every final one. Appends the closer to `readings`.
inline void FinishAndCompare(Gateway& gw, const std::string& broker_url,
                             std::vector<Reading>& readings) {
  ASSERT_FALSE(readings.empty());
  const std::string db = gw.db_path();
  const FaultWindows data = Recompute(readings);
  // Open windows show as of the last checkpoint (1 s in the harness); final ones at once.
  const bool arrived = PollUntil([&] { return DiffWindows(data, StoredWindows(db)).empty(); },
                                 std::chrono::seconds(60));
  EXPECT_TRUE(arrived) << "not every published reading arrived:\n"
                       << DiffWindows(data, StoredWindows(db));

  std::int64_t newest = 0;
  for (const Reading& r : readings) newest = std::max(newest, r.event_time);
  const Reading closer{"closer", newest + kFaultWatermark + kFaultWindow,
                       static_cast<std::int64_t>(readings.size())};
  ASSERT_LT(closer.event_time, NowMillis()) << "the test's event times run into the future";
  {
    Publisher pub(broker_url, "fault-closer");
    ASSERT_TRUE(pub.Connect());
    ASSERT_TRUE(pub.Publish(Topic(closer), Payload(closer)));
  }
  readings.push_back(closer);
  const FaultWindows all = Recompute(readings);
  const FaultWindows final = ClosedBy(all, closer.event_time - kFaultWatermark);
  EXPECT_EQ(final.size(), data.size()) << "every window of the stream must be closable";
  PollUntil([&] { return DiffWindows(final, StoredWindows(db, true)).empty(); },
            std::chrono::seconds(30));

  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(DiffWindows(all, StoredWindows(db)), "") << "all windows, after the stop";
  EXPECT_EQ(DiffWindows(final, StoredWindows(db, true)), "") << "final windows";
}

}  // namespace tidemark::testing
