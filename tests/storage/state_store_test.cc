// StateStore against real SQLite files: commit, checkpoint, recovery, migrations, damaged
// files, a full disk, bounded logs, retention and index use.
#include "storage/state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "storage/schema.h"
#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tidemark-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.path = dir_ + "/state.db";
    options_.checkpoint_records = 1000000;  // tests checkpoint explicitly
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<PipelineSpec> Specs() {
    return {MakeSpec("tumble", *WindowSpec::Tumbling(10), 5, {{"n", "count()"}, {"avg", "avg(v)"}}),
            MakeSpec("session", *WindowSpec::Session(7), 3, {{"sum", "sum(v)"}},
                     WatermarkScope::kGlobal)};
  }

  std::unique_ptr<StateStore> OpenStore() {
    auto store = StateStore::Open(options_);
    EXPECT_TRUE(store.ok()) << store.status().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Feeds records i in [from, to): device i%3, times with some disorder and lateness.
  static sqlite::Status Feed(StateStore& store, Engine& engine, int from, int to) {
    Output out;
    for (int i = from; i < to; ++i) {
      const Millis t = i * 2 - (i % 5 == 0 ? 17 : 0);
      OwnedRecord r("dev" + std::to_string(i % 3), t, {{"v", double(i % 11)}},
                    static_cast<std::uint64_t>(i) + 1);
      const Millis arrival = 1000 + i;
      auto result = engine.ProcessAt(r.view(), arrival, out);
      EXPECT_FALSE(result.rejected);
      auto s =
          store.CommitRecord(r.view(), arrival, static_cast<std::uint64_t>(i) + 1, engine, out);
      if (!s.ok()) return s;
      out.clear();
    }
    return sqlite::Status::Ok();
  }

  std::int64_t Count(StateStore& store, const std::string& sql) {
    auto q = store.db().Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status().message;
    auto step = q->Step();
    EXPECT_TRUE(step.ok());
    return q->ColumnInt64(0);
  }

  std::string dir_;
  StoreOptions options_;
  ManualClock clock_{0};
};

void ExpectSameState(const Engine& a, const Engine& b) {
  const EngineSnapshot x = a.Snapshot(), y = b.Snapshot();
  EXPECT_EQ(x.next_seq, y.next_seq);
  EXPECT_EQ(x.total, y.total);
  EXPECT_EQ(x.rejected, y.rejected);
  EXPECT_EQ(x.devices, y.devices);
  ASSERT_EQ(x.pipelines.size(), y.pipelines.size());
  for (std::size_t p = 0; p < x.pipelines.size(); ++p) {
    EXPECT_EQ(x.pipelines[p].counters, y.pipelines[p].counters);
    EXPECT_EQ(x.pipelines[p].max_event_time, y.pipelines[p].max_event_time);
    ASSERT_EQ(x.pipelines[p].devices.size(), y.pipelines[p].devices.size());
    for (std::size_t d = 0; d < x.pipelines[p].devices.size(); ++d) {
      const DeviceSnapshot &u = x.pipelines[p].devices[d], &v = y.pipelines[p].devices[d];
      EXPECT_EQ(u.device, v.device);
      EXPECT_EQ(u.max_event_time, v.max_event_time);
      EXPECT_EQ(u.records, v.records);
      ASSERT_EQ(u.windows.size(), v.windows.size());
      for (std::size_t w = 0; w < u.windows.size(); ++w) {
        EXPECT_EQ(u.windows[w].window, v.windows[w].window);
        EXPECT_EQ(u.windows[w].states, v.windows[w].states);
        auto f1 = u.windows[w].fingerprints, f2 = v.windows[w].fingerprints;
        std::sort(f1.begin(), f1.end());
        std::sort(f2.begin(), f2.end());
        EXPECT_EQ(f1, f2);
      }
    }
  }
}

TEST_F(StateStoreTest, NewDatabaseHasCurrentSchemaInWalMode) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->db().UserVersion(), kSchemaVersion);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM sqlite_master WHERE name = 'windows'"), 1);
}

TEST_F(StateStoreTest, RecoverEqualsTheEngineThatNeverStopped) {
  Engine live(Specs(), clock_);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Recover(live).ok());
    ASSERT_TRUE(Feed(*store, live, 0, 300).ok());
    ASSERT_TRUE(store->Checkpoint(live, 2000).ok());
    ASSERT_TRUE(Feed(*store, live, 300, 450).ok());  // only in the ingest log
  }
  auto store = OpenStore();
  Engine recovered(Specs(), clock_);
  auto stats = store->Recover(recovered);
  ASSERT_TRUE(stats.ok()) << stats.status().message;
  EXPECT_EQ(stats->replayed, 150);
  EXPECT_EQ(stats->devices, 3);
  EXPECT_GT(stats->open_windows, 0);
  ExpectSameState(live, recovered);
  // And both go on identically.
  ASSERT_TRUE(Feed(*store, recovered, 450, 500).ok());
  Output out;
  for (int i = 450; i < 500; ++i) {
    const Millis t = i * 2 - (i % 5 == 0 ? 17 : 0);
    OwnedRecord r("dev" + std::to_string(i % 3), t, {{"v", double(i % 11)}},
                  static_cast<std::uint64_t>(i) + 1);
    live.ProcessAt(r.view(), 1000 + i, out);
  }
  ExpectSameState(live, recovered);
}

TEST_F(StateStoreTest, FinalWindowsAreCommittedWithTheMessageAndOpenOnesAtCheckpoints) {
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(store->Recover(engine).ok());
  ASSERT_TRUE(Feed(*store, engine, 0, 100).ok());
  const std::int64_t finals = Count(*store, "SELECT count(*) FROM windows WHERE status='final'");
  EXPECT_GT(finals, 0);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM windows WHERE status='open'"), 0);
  ASSERT_TRUE(store->Checkpoint(engine, 5000).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM windows WHERE status='open'"),
            engine.pipeline(0).Metrics().open_windows + engine.pipeline(1).Metrics().open_windows);
  auto q = store->db().Prepare(
      "SELECT vals, closed_by FROM windows WHERE status='final' AND pipeline='tumble' AND "
      "device='dev1' AND window_start=10");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(*q->Step(), sqlite::StepResult::kRow);
  // Records 5..9 have t = 10..18 (i%5==0 shifted earlier); those on dev1 are i=7 (t=14).
  EXPECT_EQ(std::string(q->ColumnText(0)), "{\"n\":1,\"avg\":7}");
  EXPECT_EQ(std::string(q->ColumnText(1)), "watermark");
}

TEST_F(StateStoreTest, RecognisesRedeliveredMessages) {
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(Feed(*store, engine, 0, 10).ok());
  EXPECT_TRUE(store->SeenMessage(5));
  EXPECT_FALSE(store->SeenMessage(999));
  store.reset();  // a restart: the set is rebuilt from the ingest log
  store = OpenStore();
  Engine restarted(Specs(), clock_);
  ASSERT_TRUE(store->Recover(restarted).ok());
  EXPECT_TRUE(store->SeenMessage(5));
  EXPECT_TRUE(store->SeenMessage(9));
  EXPECT_TRUE(store->SeenMessage(10));
  EXPECT_FALSE(store->SeenMessage(11));
}

TEST_F(StateStoreTest, MigratesAnOlderDatabaseKeepingItsRows) {
  {
    auto db = sqlite::Database::OpenWriter(options_.path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(*db, 1).ok());
    ASSERT_TRUE(
        db->Exec("INSERT INTO windows VALUES('p','d',0,10,'final','watermark',5,1,'{}')").ok());
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->db().UserVersion(), kSchemaVersion);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM windows"), 1);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM sqlite_master WHERE name='windows_final_by_end'"),
            1);
}

TEST_F(StateStoreTest, RefusesANewerSchema) {
  {
    auto db = sqlite::Database::OpenWriter(options_.path);
    ASSERT_TRUE(db->SetUserVersion(kSchemaVersion + 1).ok());
  }
  auto store = StateStore::Open(options_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message.find("newer than this tidemark"), std::string::npos);
}

TEST_F(StateStoreTest, DamagedFileIsAClearErrorAndIsLeftAlone) {
  { std::ofstream(options_.path) << std::string(8192, 'x'); }
  auto store = StateStore::Open(options_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message.find(options_.path), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(options_.path), 8192u);
}

TEST_F(StateStoreTest, DiskFullFailsTheCommitLosesNothingAndRecovers) {
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(Feed(*store, engine, 0, 200).ok());
  ASSERT_TRUE(store->Checkpoint(engine, 1).ok());
  const std::int64_t pages = Count(*store, "PRAGMA page_count");
  ASSERT_TRUE(store->db().Exec("PRAGMA max_page_count = " + std::to_string(pages)).ok());
  sqlite::Status failed = Feed(*store, engine, 200, 5000);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.primary_code(), sqlite::codes::kFull) << failed.message;
  // The engine ran ahead of the disk: the caller recovers to what is durable.
  Engine recovered(Specs(), clock_);
  ASSERT_TRUE(store->Recover(recovered).ok());
  const std::int64_t durable = recovered.total();
  EXPECT_GE(durable, 200);
  EXPECT_LT(durable, 5000);
  ASSERT_TRUE(store->db().Exec("PRAGMA max_page_count = 1073741823").ok());
  ASSERT_TRUE(
      Feed(*store, recovered, static_cast<int>(durable), 300 + static_cast<int>(durable)).ok());
  EXPECT_EQ(recovered.total(), durable + 300);
}

TEST_F(StateStoreTest, LateLogAndRejectedSamplesAreBounded) {
  options_.late_log_max = 5;
  options_.rejected_max = 3;
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(Feed(*store, engine, 0, 400).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store
                    ->CommitRejected(RejectReason::kNotJson, "not JSON", "devices/x/telemetry", "",
                                     5, 9000 + static_cast<std::uint64_t>(i), "not json {")
                    .ok());
  }
  EXPECT_GT(Count(*store, "SELECT count(*) FROM late_log"), 5);
  ASSERT_TRUE(store->Checkpoint(engine, 1).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM late_log"), 5);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM rejected"), 3);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM rejected WHERE detail = 'not JSON'"), 3);
}

TEST_F(StateStoreTest, RetentionDeletesOldFinalWindowsInBatches) {
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(Feed(*store, engine, 0, 400).ok());
  const std::int64_t before = Count(*store, "SELECT count(*) FROM windows WHERE window_end < 300");
  ASSERT_GT(before, 10);
  EXPECT_EQ(*store->DeleteExpired(300, 10), 10);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM windows WHERE window_end < 300"), before - 10);
}

TEST_F(StateStoreTest, ResultQueriesUseIndexes) {
  auto store = OpenStore();
  const char* queries[] = {
      "SELECT * FROM windows WHERE pipeline = ?1 AND device = ?2 AND window_start >= ?3 "
      "ORDER BY pipeline, device, window_start LIMIT 100",
      "SELECT * FROM windows WHERE status = ?1 AND pipeline = ?2 AND (device, window_start) > "
      "(?3, ?4) ORDER BY pipeline, device, window_start LIMIT 100",
      "SELECT * FROM windows WHERE pipeline = ?1 AND window_start >= ?2 AND window_start < ?3",
      "SELECT * FROM late_log WHERE pipeline = ?1 AND device = ?2 AND id > ?3 ORDER BY id LIMIT "
      "100",
  };
  for (const char* sql : queries) {
    auto q = store->db().Prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
    ASSERT_TRUE(q.ok()) << q.status().message;
    std::string plan;
    while (*q->Step() == sqlite::StepResult::kRow) plan += std::string(q->ColumnText(3)) + "; ";
    EXPECT_NE(plan.find("USING"), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("SCAN windows"), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("USE TEMP B-TREE"), std::string::npos) << sql << "\n" << plan;
  }
}

}  // namespace
}  // namespace tidemark
