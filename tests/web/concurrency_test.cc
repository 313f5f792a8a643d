// The web layer's shared parts on real threads (docs/TESTING.md, sanitizers), the way the gateway
// uses them: EventFeed (the ingest thread publishes while SSE streams wait and read, then Close()),
// WorkerPool (an accept thread enqueues while workers and the overflow thread run jobs, then
// shutdown()) and ReplyCache (workers putting and getting the same keys). .ci/tsan runs it under
// ThreadSanitizer; in every build it checks the behaviour: every stream sees every event once and
// in order, every job runs exactly once and only the overflow thread is Saturated(), a cached
// reply is always the one stored for its key.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "web/event_feed.h"
#include "web/reply_cache.h"
#include "web/worker_pool.h"

namespace tidemark::web {
namespace {

TEST(EventFeedConcurrencyTest, EveryStreamSeesEveryEventOnceInOrder) {
  constexpr std::uint64_t kEvents = 3000;
  constexpr int kStreams = 3;
  EventFeed feed(1234, kEvents);  // holds them all: a slow stream misses none
  std::vector<std::vector<FeedEvent>> seen(kStreams);
  std::vector<std::thread> streams;
  std::atomic<int> attached{0};
  for (int s = 0; s < kStreams; ++s) {
    streams.emplace_back([&, s] {
      feed.AddReader();
      ++attached;
      std::uint64_t after = 0;
      while (after < kEvents) {
        std::vector<FeedEvent> events = feed.Wait(after, 64, 10000);
        if (events.empty()) break;  // nothing for 10 s: the checks below fail
        for (FeedEvent& e : events) {
          after = e.seq;
          seen[static_cast<std::size_t>(s)].push_back(std::move(e));
        }
      }
      feed.RemoveReader();
    });
  }
  while (attached < kStreams) std::this_thread::yield();
  EXPECT_TRUE(feed.HasReaders());
  std::thread publisher([&] {
    for (std::uint64_t i = 1; i <= kEvents; ++i) feed.Publish("{\"n\":" + std::to_string(i) + "}");
  });
  publisher.join();
  for (std::thread& t : streams) t.join();
  EXPECT_FALSE(feed.HasReaders());
  EXPECT_EQ(feed.Newest(), kEvents);
  for (int s = 0; s < kStreams; ++s) {
    const std::vector<FeedEvent>& events = seen[static_cast<std::size_t>(s)];
    ASSERT_EQ(events.size(), kEvents) << "stream " << s;
    for (std::uint64_t i = 0; i < kEvents; ++i) {
      ASSERT_EQ(events[i].seq, i + 1) << "stream " << s;
      ASSERT_EQ(events[i].data, "{\"n\":" + std::to_string(i + 1) + "}") << "stream " << s;
    }
  }
}

TEST(EventFeedConcurrencyTest, CloseWakesWaitingStreamsAtOnce) {
  EventFeed feed(1, 16);
  feed.Publish("{}");
  std::vector<std::thread> streams;
  std::atomic<int> returned{0};
  const auto begin = std::chrono::steady_clock::now();
  for (int s = 0; s < 3; ++s) {
    streams.emplace_back([&] {
      EXPECT_TRUE(feed.Wait(feed.Newest(), 10, 30000).empty());
      ++returned;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(returned, 0);
  feed.Close();
  for (std::thread& t : streams) t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  EXPECT_TRUE(feed.Wait(0, 10, 30000).empty());  // closed: no wait, nothing
}

TEST(WorkerPoolConcurrencyTest, EveryJobRunsOnceAndOnlyTheOverflowThreadIsSaturated) {
  constexpr int kJobs = 300;
  std::vector<std::atomic<int>> runs(kJobs);
  std::mutex mu;
  std::set<std::thread::id> saturated_threads, worker_threads;
  {
    WorkerPool pool(3, 4, 0);
    std::thread accept([&] {  // httplib calls enqueue() from its one accept thread
      for (int i = 0; i < kJobs; ++i) {
        pool.enqueue([&, i] {
          ++runs[static_cast<std::size_t>(i)];
          {
            std::lock_guard lock(mu);
            (WorkerPool::Saturated() ? saturated_threads : worker_threads)
                .insert(std::this_thread::get_id());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
      }
    });
    accept.join();
    pool.shutdown();  // drains both queues, then joins
  }
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(runs[static_cast<std::size_t>(i)], 1) << "job " << i;
  // The queue of 4 fills at once behind 3 busy workers: the rest go to the one overflow thread.
  EXPECT_EQ(saturated_threads.size(), 1u);
  EXPECT_GE(worker_threads.size(), 1u);
  EXPECT_LE(worker_threads.size(), 3u);
  for (const std::thread::id& id : saturated_threads) EXPECT_EQ(worker_threads.count(id), 0u);
}

// Expired replies are not served and do not stay in memory: each Put drops every expired one.
TEST(ReplyCacheTest, ExpiredRepliesAreDroppedNotKept) {
  ReplyCache cache(300, 100);
  for (int i = 0; i < 20; ++i) cache.Put("k" + std::to_string(i), Reply{200, "text/plain", "x"});
  EXPECT_EQ(cache.size(), 20u);
  EXPECT_TRUE(cache.Get("k3"));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_FALSE(cache.Get("k3"));
  cache.Put("fresh", Reply{200, "text/plain", "y"});
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_TRUE(cache.Get("fresh"));
  EXPECT_EQ(cache.Get("fresh")->body, "y");
}

TEST(ReplyCacheConcurrencyTest, ConcurrentPutsAndGetsKeepEachKeysReply) {
  ReplyCache cache(60000, 8);
  std::atomic<int> hits{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "/api/v1/windows?page=" + std::to_string((i + w) % 12);
        if (auto reply = cache.Get(key)) {
          EXPECT_EQ(reply->body, "body of " + key);
          ++hits;
        } else {
          cache.Put(key, Reply{200, "application/json", "body of " + key});
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  EXPECT_GT(hits, 0);
}

}  // namespace
}  // namespace tidemark::web
