// StateStore against real SQLite files: commit, checkpoint, recovery, migrations, damaged
// files, a full disk, bounded logs, retention and index use.
#include "storage/state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <tuple>

#include "storage/codec.h"
#include "storage/schema.h"
#include "tests/engine/test_util.h"
#include "tests/storage/own_connection.h"

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
  void TearDown() override {
    db_.Close();
    std::filesystem::remove_all(dir_);
  }

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
  static Status Feed(StateStore& store, Engine& engine, int from, int to) {
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
    return Status::Ok();
  }

  sqlite::Database& Db() { return db_.To(options_.path); }

  std::int64_t Count(const std::string& sql) {
    auto q = Db().Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status().message;
    auto step = q->Step();
    EXPECT_TRUE(step.ok());
    return q->ColumnInt64(0);
  }

  std::string dir_;
  OwnConnection db_;  // the test's own connection to the file
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
  EXPECT_EQ(*Db().UserVersion(), kSchemaVersion);
  EXPECT_EQ(Count("SELECT count(*) FROM sqlite_master WHERE name = 'windows'"), 1);
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
  const std::int64_t finals = Count("SELECT count(*) FROM windows WHERE status='final'");
  EXPECT_GT(finals, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM windows WHERE status='open'"), 0);
  ASSERT_TRUE(store->Checkpoint(engine, 5000).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM windows WHERE status='open'"),
            engine.pipeline(0).Metrics().open_windows + engine.pipeline(1).Metrics().open_windows);
  auto q = Db().Prepare(
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
  EXPECT_EQ(*Db().UserVersion(), kSchemaVersion);
  EXPECT_EQ(Count("SELECT count(*) FROM windows"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM sqlite_master WHERE name='windows_final_by_end'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM sqlite_master WHERE "
                  "name='windows_final_by_closed_at'"),
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
  const std::int64_t pages = Count("PRAGMA page_count");
  ASSERT_TRUE(store->SetMaxBytes(pages * Count("PRAGMA page_size")).ok());
  Status failed = Feed(*store, engine, 200, 5000);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.primary_code(), sqlite::codes::kFull) << failed.message;
  // The engine ran ahead of the disk: the caller recovers to what is durable.
  Engine recovered(Specs(), clock_);
  ASSERT_TRUE(store->Recover(recovered).ok());
  const std::int64_t durable = recovered.total();
  EXPECT_GE(durable, 200);
  EXPECT_LT(durable, 5000);
  ASSERT_TRUE(store->SetMaxBytes(0).ok());
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
  EXPECT_GT(Count("SELECT count(*) FROM late_log"), 5);
  ASSERT_TRUE(store->Checkpoint(engine, 1).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM late_log"), 5);
  EXPECT_EQ(Count("SELECT count(*) FROM rejected"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM rejected WHERE detail = 'not JSON'"), 3);
}

// Retention counts from closed_at (processing time), never from the window's end in event time:
// Feed's windows all end (event time <= ~800) before the first arrival (1000).
TEST_F(StateStoreTest, RetentionCountsFromClosedAtNotFromTheWindowsEnd) {
  auto store = OpenStore();
  Engine engine(Specs(), clock_);
  ASSERT_TRUE(Feed(*store, engine, 0, 400).ok());     // arrivals 1000..1399
  ASSERT_TRUE(store->Checkpoint(engine, 1400).ok());  // open windows' rows too
  const std::int64_t opens = Count("SELECT count(*) FROM windows WHERE status='open'");
  ASSERT_GT(opens, 0);
  const std::int64_t finals = Count("SELECT count(*) FROM windows WHERE status='final'");
  ASSERT_EQ(Count("SELECT count(*) FROM windows WHERE status='final' AND window_end >= 1000"), 0);
  EXPECT_EQ(*store->DeleteExpired(1000, 1000), 0);  // none closed before 1000
  const std::int64_t early =
      Count("SELECT count(*) FROM windows WHERE status='final' AND closed_at < 1200");
  ASSERT_GT(early, 10);
  ASSERT_LT(early, finals);
  EXPECT_EQ(*store->DeleteExpired(1200, 10), 10);  // in batches
  while (*store->DeleteExpired(1200, 10) > 0) {
  }
  EXPECT_EQ(Count("SELECT count(*) FROM windows WHERE status='final' AND closed_at < 1200"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM windows WHERE status='final'"), finals - early);
  EXPECT_EQ(Count("SELECT count(*) FROM windows WHERE status='open'"), opens);
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
    auto q = Db().Prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
    ASSERT_TRUE(q.ok()) << q.status().message;
    std::string plan;
    while (*q->Step() == sqlite::StepResult::kRow) plan += std::string(q->ColumnText(3)) + "; ";
    EXPECT_NE(plan.find("USING"), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("SCAN windows"), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("USE TEMP B-TREE"), std::string::npos) << sql << "\n" << plan;
  }
}

// ---- Incremental fingerprints (schema 6) ----

// Long tumbling windows and sessions that merge across checkpoints, so that fingerprints of
// records counted before a checkpoint are still needed after later ones.
class FingerprintStoreTest : public StateStoreTest {
 protected:
  static std::vector<PipelineSpec> LongSpecs() {
    return {MakeSpec("long", *WindowSpec::Tumbling(1000), 5, {{"n", "count()"}, {"avg", "avg(v)"}}),
            MakeSpec("session", *WindowSpec::Session(50), 500, {{"n", "count()"}})};
  }
  static OwnedRecord Reading(const std::string& device, Millis t) {
    return OwnedRecord(device, t, {{"v", double(t % 7)}}, static_cast<std::uint64_t>(t) * 31 + 7);
  }
  // Processes and commits one record; returns the outcome in pipeline `p`.
  static Outcome Send(StateStore& store, Engine& engine, const OwnedRecord& r, Millis arrival,
                      std::size_t p = 0) {
    Output out;
    const IngestResult result = engine.ProcessAt(r.view(), arrival, out);
    EXPECT_FALSE(result.rejected) << RejectReasonName(*result.rejected);
    if (result.rejected) return Outcome::kLate;
    const Outcome outcome = result.outcomes[p];
    EXPECT_TRUE(store.CommitRecord(r.view(), arrival, r.payload_hash ^ 0x5555, engine, out).ok());
    return outcome;
  }
  std::set<std::tuple<std::string, std::string, Millis, Millis, std::int64_t>> OpenRows() {
    std::set<std::tuple<std::string, std::string, Millis, Millis, std::int64_t>> rows;
    auto q = Db().Prepare(
        "SELECT pipeline, device, window_start, window_end, records FROM windows "
        "WHERE status = 'open'");
    EXPECT_TRUE(q.ok());
    while (*q->Step() == sqlite::StepResult::kRow) {
      rows.emplace(q->ColumnText(0), q->ColumnText(1), q->ColumnInt64(2), q->ColumnInt64(3),
                   q->ColumnInt64(4));
    }
    return rows;
  }
  static std::set<std::tuple<std::string, std::string, Millis, Millis, std::int64_t>> OpenWindows(
      const Engine& engine) {
    std::set<std::tuple<std::string, std::string, Millis, Millis, std::int64_t>> rows;
    for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
      engine.pipeline(p).ForEachOpenWindow([&](const WindowResult& w) {
        rows.emplace(engine.pipeline(p).spec().name, w.device, w.window.start, w.window.end,
                     w.records);
      });
    }
    return rows;
  }
};

TEST_F(FingerprintStoreTest, DuplicatesCountedBeforeEarlierCheckpointsAreRecognisedAfterACrash) {
  Engine live(LongSpecs(), clock_);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Recover(live).ok());
    // Two sessions of "s" and readings of "a" and "b"; checkpoint.
    for (Millis t : {0, 100})
      EXPECT_EQ(Send(*store, live, Reading("s", t), t, 1), Outcome::kAccepted);
    for (Millis t = 0; t < 200; t += 10) {
      Send(*store, live, Reading("a", t), 200 + t);
      Send(*store, live, Reading("b", t + 1), 200 + t);
    }
    ASSERT_TRUE(store->Checkpoint(live, 1000).ok());
    EXPECT_EQ(OpenRows(), OpenWindows(live));
    // More fingerprints; [60,110) grows the second session, [40,90) merges both; checkpoint.
    for (Millis t : {60, 40})
      EXPECT_EQ(Send(*store, live, Reading("s", t), 400 + t, 1), Outcome::kAccepted);
    for (Millis t = 200; t < 400; t += 10) Send(*store, live, Reading("a", t), 500 + t);
    ASSERT_TRUE(store->Checkpoint(live, 2000).ok());
    EXPECT_EQ(OpenRows(), OpenWindows(live));
    // And some only in the ingest log. Then the process dies (nothing more is written).
    for (Millis t = 400; t < 450; t += 10) Send(*store, live, Reading("a", t), 900 + t);
  }
  auto store = OpenStore();
  Engine recovered(LongSpecs(), clock_);
  auto stats = store->Recover(recovered);
  ASSERT_TRUE(stats.ok()) << stats.status().message;
  EXPECT_EQ(stats->replayed, 5);
  ExpectSameState(live, recovered);
  // Redeliveries of records counted before the first checkpoint, before the second and after
  // it are duplicates, in the restored engine as in the one that never stopped.
  for (const auto& [device, t, p] :
       std::vector<std::tuple<std::string, Millis, std::size_t>>{{"a", 0, 0},
                                                                 {"b", 101, 0},
                                                                 {"a", 250, 0},
                                                                 {"a", 440, 0},
                                                                 {"s", 0, 1},
                                                                 {"s", 100, 1},
                                                                 {"s", 60, 1}}) {
    SCOPED_TRACE(device + " " + std::to_string(t));
    const OwnedRecord r = Reading(device, t);
    EXPECT_EQ(Send(*store, recovered, r, 2000, p), Outcome::kDuplicate);
    Output out;
    EXPECT_EQ(live.ProcessAt(r.view(), 2000, out).outcomes[p], Outcome::kDuplicate);
  }
  ExpectSameState(live, recovered);
  // A checkpoint of the restored engine writes only the new, and a restart still knows all.
  ASSERT_TRUE(store->Checkpoint(recovered, 3000).ok());
  EXPECT_EQ(OpenRows(), OpenWindows(recovered));
  store.reset();
  store = OpenStore();
  Engine again(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(again).ok());
  ExpectSameState(live, again);
  EXPECT_EQ(Send(*store, again, Reading("a", 0), 3000), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("s", 40), 3000, 1), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("a", 1), 3000), Outcome::kAccepted);
}

TEST_F(FingerprintStoreTest, CheckpointsWriteOnlyNewFingerprintsAndDropThoseOfClosedWindows) {
  auto store = OpenStore();
  Engine engine(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(engine).ok());
  const auto fingerprint_bytes = [&] {
    return Count("SELECT coalesce(sum(length(fps)), 0) FROM fingerprints");
  };
  for (Millis t = 0; t < 500; ++t) Send(*store, engine, Reading("a", t), t);
  ASSERT_TRUE(store->Checkpoint(engine, 1000).ok());
  const std::int64_t first = fingerprint_bytes();
  EXPECT_GE(first, 2 * 500 * 8);  // both pipelines, 8 bytes a fingerprint
  EXPECT_LT(Count("SELECT max(length(state)) FROM device_state"), 200);
  // Ten more records: the next checkpoint writes those 2 x 10 fingerprints (in the device
  // blobs, rewritten anyway), not 1,000.
  for (Millis t = 500; t < 510; ++t) Send(*store, engine, Reading("a", t), t);
  ASSERT_TRUE(store->Checkpoint(engine, 2000).ok());
  EXPECT_EQ(fingerprint_bytes(), first);
  EXPECT_LT(Count("SELECT max(length(state)) FROM device_state"), 200 + 10 * 8 + 16);
  // Enough of them, and the blob's go to a row of their own.
  for (Millis t = 510; t < 600; ++t) Send(*store, engine, Reading("a", t), t);
  ASSERT_TRUE(store->Checkpoint(engine, 2500).ok());
  EXPECT_GT(fingerprint_bytes(), first);
  EXPECT_LT(Count("SELECT max(length(state)) FROM device_state"), 200 + 90 * 8 + 16);
  Engine copy(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(copy).ok());
  ExpectSameState(engine, copy);
  // The long window [0,1000) closes (the watermark passes 1000): its rows go at the next
  // checkpoint, and the session's too once it closes.
  Send(*store, engine, Reading("a", 1100), 1100);
  Send(*store, engine, Reading("a", 1200), 1200);
  ASSERT_TRUE(store->Checkpoint(engine, 3000).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM fingerprints WHERE pipeline = 'long' AND "
                  "max_start < 1000"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM fingerprints WHERE pipeline = 'session' AND "
                  "max_start < 1000"),
            0);
  EXPECT_LT(fingerprint_bytes(), 100);
  EXPECT_EQ(OpenRows(), OpenWindows(engine));
  Engine recovered(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(recovered).ok());
  ExpectSameState(engine, recovered);
}

TEST_F(FingerprintStoreTest, InlineFingerprintsOfAnOlderSchemaAreKept) {
  Engine live(LongSpecs(), clock_);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Recover(live).ok());
    for (Millis t = 0; t < 300; ++t) Send(*store, live, Reading(t % 2 ? "a" : "s", t), t, 0);
    ASSERT_TRUE(store->Checkpoint(live, 1000).ok());
    // As a schema-5 checkpoint left it: every fingerprint inline in the device blobs.
    const EngineSnapshot snap = live.Snapshot();
    for (std::size_t p = 0; p < snap.pipelines.size(); ++p) {
      for (const DeviceSnapshot& d : snap.pipelines[p].devices) {
        auto q =
            Db().Prepare("UPDATE device_state SET state = ? WHERE pipeline = ? AND device = ?");
        ASSERT_TRUE(q.ok());
        q->BindBlob(1, std::string_view(EncodeDevice(d)));
        q->Bind(2, std::string_view(snap.pipeline_names[p]));
        q->Bind(3, std::string_view(d.device));
        ASSERT_TRUE(q->Run().ok());
      }
    }
    ASSERT_TRUE(Db().Exec("DELETE FROM fingerprints").ok());
  }
  {
    auto store = OpenStore();
    Engine recovered(LongSpecs(), clock_);
    ASSERT_TRUE(store->Recover(recovered).ok());
    ExpectSameState(live, recovered);
    EXPECT_EQ(Count("SELECT count(*) FROM fingerprints"), 0);
    // A checkpoint of a changed device moves the blob's fingerprints to a row of their own.
    Send(*store, recovered, Reading("a", 301), 301);
    Send(*store, live, Reading("a", 301), 301);
    ASSERT_TRUE(store->Checkpoint(recovered, 2000).ok());
    EXPECT_EQ(Count("SELECT count(*) FROM fingerprints WHERE device = 'a'"), 2);
    EXPECT_EQ(Count("SELECT count(*) FROM fingerprints WHERE device = 's'"), 0);
  }
  auto store = OpenStore();
  Engine again(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(again).ok());
  ExpectSameState(live, again);
  EXPECT_EQ(Send(*store, again, Reading("s", 2), 3000), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("a", 3), 3000, 1), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("a", 301), 3000), Outcome::kDuplicate);
}

TEST_F(FingerprintStoreTest, ACheckpointAfterAFailedOneKeepsTheFileExact) {
  Engine live(LongSpecs(), clock_);
  const auto device = [](Millis t) { return "d" + std::to_string(t % 7); };
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Recover(live).ok());
    for (Millis t = 0; t < 200; ++t) Send(*store, live, Reading(device(t), t), t);
    ASSERT_TRUE(store->Checkpoint(live, 1000).ok());
    for (Millis t = 200; t < 300; ++t) Send(*store, live, Reading(device(t), t), t);
  }
  auto store = OpenStore();
  Engine engine(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(engine).ok());
  ExpectSameState(live, engine);
  Output out;
  for (Millis t = 300; t < 2000; ++t) {
    const OwnedRecord r = Reading("e" + std::to_string(t % 50), t);
    Send(*store, engine, r, t);
    live.ProcessAt(r.view(), t, out);
    out.clear();
  }
  // A checkpoint that fails (the file is full) leaves the file as it was; the caller recovers
  // and checkpoints again.
  const std::int64_t pages = Count("PRAGMA page_count");
  ASSERT_TRUE(store->SetMaxBytes(pages * Count("PRAGMA page_size")).ok());
  ASSERT_FALSE(store->Checkpoint(engine, 3000).ok());
  ASSERT_TRUE(store->SetMaxBytes(0).ok());
  Engine recovered(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(recovered).ok());
  ExpectSameState(live, recovered);
  ASSERT_TRUE(store->Checkpoint(recovered, 4000).ok());
  EXPECT_EQ(OpenRows(), OpenWindows(recovered));
  store.reset();
  store = OpenStore();
  Engine again(LongSpecs(), clock_);
  ASSERT_TRUE(store->Recover(again).ok());
  ExpectSameState(live, again);
  EXPECT_EQ(Send(*store, again, Reading("e10", 1010), 5000), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("e10", 1960), 5000, 1), Outcome::kDuplicate);
  EXPECT_EQ(Send(*store, again, Reading("e10", 1961), 5000), Outcome::kAccepted);
}

}  // namespace
}  // namespace tidemark
