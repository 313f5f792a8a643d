// Readers while the writer writes, on real threads (docs/TESTING.md, sanitizers): ResultsReader
// connections page through final windows, the late log and device statistics on their own
// threads while one StateStore commits records, ticks and checkpoints on another — what the
// gateway's HTTP workers do beside its ingest thread. .ci/tsan runs it under ThreadSanitizer; in
// every build it checks what readers rely on: no read fails while the writer commits (WAL), pages
// stay strictly ordered, a later full listing never holds fewer final windows than an earlier
// one, and at the end every reader lists exactly the final windows the writer committed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "storage/results_reader.h"
#include "storage/state_store.h"
#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

constexpr int kMessages = 2000;
constexpr int kReaders = 3;

std::vector<PipelineSpec> Specs() {
  return {MakeSpec("fast", *WindowSpec::Tumbling(10), 5, {{"n", "count()"}, {"avg", "avg(v)"}}),
          MakeSpec("slow", *WindowSpec::Tumbling(100), 20, {{"sum", "sum(v)"}})};
}

// Every final window, all pages; each key strictly after the one before.
std::int64_t CountFinals(ResultsReader& reader) {
  WindowQuery q;
  q.status = WindowStatus::kFinal;
  q.limit = 50;
  std::int64_t n = 0;
  std::optional<WindowKey> last;
  for (;;) {
    auto page = reader.Windows(q);
    EXPECT_TRUE(page.ok()) << page.status().message;
    if (!page.ok()) return -1;
    for (const WindowRow& w : page->rows) {
      if (last) {
        EXPECT_LT(*last, w.key()) << "pages out of order";
      }
      last = w.key();
      ++n;
    }
    if (!page->next) return n;
    q.after = page->next;
  }
}

TEST(ConcurrentReadTest, ReadersSeeConsistentPagesWhileTheWriterCommits) {
  char tmpl[] = "/tmp/tidemark-concurrent-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  StoreOptions options;
  options.path = dir + "/state.db";
  options.checkpoint_records = 1000000;  // checkpoints below, explicitly
  ManualClock clock(0);
  auto store = StateStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().message;
  Engine engine(Specs(), clock);
  ASSERT_TRUE((*store)->Recover(engine).ok());

  std::atomic<bool> done{false};
  std::atomic<std::int64_t> finals_written{0};
  auto write = [&] {
    Output out;
    auto remember = [&] {
      finals_written += static_cast<std::int64_t>(out.closed.size());
      out.clear();
    };
    for (int i = 0; i < kMessages; ++i) {
      const Millis arrival = 1'000'000 + i;
      const std::string device = "d" + std::to_string(i % 7);
      // Every 13th record is 40 ms early: late for "fast", in time for "slow".
      OwnedRecord r(device, i * 2 - (i % 13 == 0 ? 40 : 0), {{"v", double(i % 5)}},
                    static_cast<std::uint64_t>(i) + 1);
      ASSERT_FALSE(engine.ProcessAt(r.view(), arrival, out).rejected);
      ASSERT_TRUE((*store)->CommitRecord(r.view(), arrival, r.payload_hash, engine, out).ok());
      remember();
      if (i % 100 == 99) {
        engine.TickAt(arrival, out);
        ASSERT_TRUE((*store)->CommitTick(arrival, engine, out).ok());
        remember();
        ASSERT_TRUE((*store)->Checkpoint(engine, arrival).ok());
      }
    }
  };
  std::thread writer([&] {
    write();
    done = true;  // also after a failed assertion, so the readers stop
  });

  std::vector<std::int64_t> last_seen(kReaders, 0);
  std::vector<int> listings(kReaders, 0);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      auto reader = ResultsReader::Open(options.path);
      ASSERT_TRUE(reader.ok()) << reader.status().message;
      for (bool last = false; !last;) {
        last = done.load();  // one more full listing after the writer finished
        const std::int64_t n = CountFinals(*reader);
        ASSERT_GE(n, last_seen[static_cast<std::size_t>(t)]) << "final windows disappeared";
        last_seen[static_cast<std::size_t>(t)] = n;
        ++listings[static_cast<std::size_t>(t)];
        auto late = reader->Late(LateQuery{"fast", "", 20, std::nullopt});
        ASSERT_TRUE(late.ok()) << late.status().message;
        auto devices = reader->Devices(DeviceQuery{});
        ASSERT_TRUE(devices.ok()) << devices.status().message;
        EXPECT_LE(devices->rows.size(), 7u);
      }
    });
  }
  writer.join();
  for (std::thread& r : readers) r.join();

  ASSERT_GT(finals_written, 100);
  for (int t = 0; t < kReaders; ++t) {
    EXPECT_EQ(last_seen[static_cast<std::size_t>(t)], finals_written) << "reader " << t;
    EXPECT_GE(listings[static_cast<std::size_t>(t)], 2) << "reader " << t;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark
