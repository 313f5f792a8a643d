// ResultsReader against a real SQLite file written by the real StateStore + Engine: filters,
// ordering and keyset paging of every list, counts and sizes, the query plans (every
// query by pipeline, device, status and time range uses an index), schema-version refusal and
// WAL visibility of new commits.
#include "storage/results_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "storage/schema.h"
#include "storage/state_store.h"
#include "tests/engine/test_util.h"
#include "tests/storage/own_connection.h"

namespace tidemark {
namespace {

using testing::MakeSpec;
using testing::OwnedRecord;

// Device names chosen so that group skipping is exercised: "d1" is a prefix of others, and
// "d1-x" sorts between "d1" and "d10" in BINARY order.
const char* const kDevices[] = {"d1", "d1a", "d10", "d2", "d1-x"};
constexpr int kDeviceCount = 5;
constexpr Millis kForever = std::numeric_limits<Millis>::max();  // retention: every final window

std::string Describe(const WindowQuery& q) {
  std::ostringstream s;
  s << "pipeline='" << q.pipeline << "' device='" << q.device
    << "' status=" << (q.status ? std::string(WindowStatusName(*q.status)) : "any")
    << " from=" << (q.from ? std::to_string(*q.from) : "-")
    << " to=" << (q.to ? std::to_string(*q.to) : "-") << " limit=" << q.limit;
  return s.str();
}

}  // namespace

// In namespace tidemark so that argument-dependent lookup finds them (vector ==, gtest <<).
bool operator==(const WindowRow& a, const WindowRow& b) {
  return std::tie(a.pipeline, a.device, a.start, a.end, a.status, a.closed_by, a.closed_at,
                  a.records, a.values_json) == std::tie(b.pipeline, b.device, b.start, b.end,
                                                        b.status, b.closed_by, b.closed_at,
                                                        b.records, b.values_json);
}

bool operator==(const LateRow& a, const LateRow& b) {
  return std::tie(a.id, a.pipeline, a.device, a.event_time, a.arrival_time, a.watermark,
                  a.window_start, a.window_end) ==
         std::tie(b.id, b.pipeline, b.device, b.event_time, b.arrival_time, b.watermark,
                  b.window_start, b.window_end);
}

bool operator==(const RejectedRow& a, const RejectedRow& b) {
  return std::tie(a.id, a.reason, a.topic, a.device, a.arrival_time, a.payload, a.detail) ==
         std::tie(b.id, b.reason, b.topic, b.device, b.arrival_time, b.payload, b.detail);
}

std::ostream& operator<<(std::ostream& os, const WindowRow& w) {
  return os << w.pipeline << "/" << w.device << "/[" << w.start << "," << w.end << ")/"
            << WindowStatusName(w.status);
}
std::ostream& operator<<(std::ostream& os, const LateRow& l) { return os << "late#" << l.id; }
std::ostream& operator<<(std::ostream& os, const RejectedRow& r) {
  return os << "rejected#" << r.id << "/" << r.reason;
}

namespace {

std::optional<std::int64_t> Nullable(const sqlite::Statement& q, int i) {
  if (q.ColumnIsNull(i)) return std::nullopt;
  return q.ColumnInt64(i);
}

class ResultsReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tidemark-reader-XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.path = dir_ + "/state.db";
    options_.checkpoint_records = 1000000;  // tests checkpoint explicitly
  }
  void TearDown() override {
    engine_.reset();
    db_.Close();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // "alpha2" has "alpha" as a prefix; alpha closes idle devices.
  static std::vector<PipelineSpec> Specs() {
    std::vector<PipelineSpec> specs;
    specs.push_back(
        MakeSpec("alpha", *WindowSpec::Tumbling(10), 5, {{"n", "count()"}, {"avg", "avg(v)"}}));
    specs.back().idle_timeout = 200;
    specs.push_back(MakeSpec("alpha2", *WindowSpec::Tumbling(25), 8, {{"sum", "sum(v)"}},
                             WatermarkScope::kGlobal));
    specs.push_back(MakeSpec("beta", *WindowSpec::Session(7), 3, {{"max", "max(v)"}}));
    return specs;
  }

  sqlite::Database& Db() { return db_.To(options_.path); }

  void OpenWriter() {
    auto store = StateStore::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status().message;
    store_ = std::move(store).value();
    engine_ = std::make_unique<Engine>(Specs(), clock_);
    auto recovered = store_->Recover(*engine_);
    ASSERT_TRUE(recovered.ok()) << recovered.status().message;
  }

  ResultsReader OpenReader() {
    auto reader = ResultsReader::Open(options_.path);
    EXPECT_TRUE(reader.ok()) << reader.status().message;
    return std::move(reader).value();
  }

  // Messages i in [from, to) through the engine and the store, as the gateway would: record i is
  // on kDevices[i % 5] (device "e" joins for i < 200 and then falls silent, so alpha closes it
  // as idle), every 9th is 60 ms early (late in some pipelines), every 37th is stamped 10 min in
  // the future (rejected by the engine), every 41st is not JSON (rejected by the decoder), and
  // every 50th message is followed by a processing-time tick.
  void Feed(int from, int to) {
    Output out;
    for (int i = from; i < to; ++i) {
      const Millis arrival = arrival_base_ + i;
      const std::string device =
          (i < 200 && i % 7 == 3) ? std::string("e") : std::string(kDevices[i % kDeviceCount]);
      const std::string topic = "devices/" + device + "/telemetry";
      const auto hash = static_cast<std::uint64_t>(i) + 1;
      if (i % 41 == 40) {
        engine_->CountRejected(RejectReason::kNotJson, "", arrival);
        ASSERT_TRUE(store_
                        ->CommitRejected(RejectReason::kNotJson, "not JSON", topic, "", arrival,
                                         hash, "{oops " + std::to_string(i))
                        .ok());
        ++rejected_written_;
        continue;
      }
      Millis t = i * 3 - (i % 9 == 0 ? 60 : 0);
      if (i % 37 == 36) t = arrival + 10 * kMinute;
      OwnedRecord r(device, t, {{"v", double(i % 11)}}, hash);
      const IngestResult result = engine_->ProcessAt(r.view(), arrival, out);
      if (result.rejected) {
        ASSERT_EQ(*result.rejected, RejectReason::kFutureTime);
        ASSERT_TRUE(store_
                        ->CommitRejected(*result.rejected, "in the future", topic, device, arrival,
                                         hash, "{\"t\":" + std::to_string(t) + "}")
                        .ok());
        ++rejected_written_;
      } else {
        ASSERT_TRUE(store_->CommitRecord(r.view(), arrival, hash, *engine_, out).ok());
      }
      Remember(out);
      if (i % 50 == 49) {
        engine_->TickAt(arrival, out);
        ASSERT_TRUE(store_->CommitTick(arrival, *engine_, out).ok());
        Remember(out);
      }
    }
  }

  void Remember(Output& out) {
    for (const WindowResult& w : out.closed) {
      const std::string& name = engine_->pipeline(w.pipeline).spec().name;
      finals_[{name, w.device, w.window.start, w.window.end}] = w;
    }
    late_written_ += static_cast<std::int64_t>(out.late.size());
    out.clear();
  }

  // The standard data set: messages, a tick far enough on for alpha to close every device as
  // idle, more messages, a checkpoint (open windows, device stats, counters).
  void Populate() {
    OpenWriter();
    if (::testing::Test::HasFatalFailure()) return;
    Feed(0, 400);
    Output out;
    engine_->TickAt(arrival_base_ + 1000, out);
    ASSERT_FALSE(out.closed.empty());
    ASSERT_TRUE(store_->CommitTick(arrival_base_ + 1000, *engine_, out).ok());
    Remember(out);
    arrival_base_ += 1000;
    Feed(400, 700);
    ASSERT_TRUE(store_->Checkpoint(*engine_, arrival_base_ + 700).ok());
  }

  std::int64_t OpenWindowsInEngine(std::size_t p) const {
    return engine_->pipeline(p).Metrics().open_windows;
  }

  // What is in the file, read through the writer's connection with plain SQL.
  std::vector<WindowRow> AllWindows() {
    std::vector<WindowRow> rows;
    auto q = Db().Prepare(
        "SELECT pipeline, device, window_start, window_end, status, closed_by, closed_at, "
        "records, vals FROM windows ORDER BY pipeline, device, window_start, window_end");
    EXPECT_TRUE(q.ok()) << q.status().message;
    while (*q->Step() == sqlite::StepResult::kRow) {
      WindowRow& w = rows.emplace_back();
      w.pipeline = q->ColumnText(0);
      w.device = q->ColumnText(1);
      w.start = q->ColumnInt64(2);
      w.end = q->ColumnInt64(3);
      w.status = q->ColumnText(4) == "final" ? WindowStatus::kFinal : WindowStatus::kOpen;
      w.closed_by = q->ColumnText(5);
      w.closed_at = Nullable(*q, 6);
      w.records = q->ColumnInt64(7);
      w.values_json = q->ColumnText(8);
    }
    return rows;
  }

  std::vector<LateRow> AllLate() {  // newest first
    std::vector<LateRow> rows;
    auto q = Db().Prepare(
        "SELECT id, pipeline, device, event_time, arrival_time, watermark, window_start, "
        "window_end FROM late_log ORDER BY id DESC");
    EXPECT_TRUE(q.ok()) << q.status().message;
    while (*q->Step() == sqlite::StepResult::kRow) {
      rows.push_back({q->ColumnInt64(0), std::string(q->ColumnText(1)),
                      std::string(q->ColumnText(2)), q->ColumnInt64(3), q->ColumnInt64(4),
                      Nullable(*q, 5), q->ColumnInt64(6), q->ColumnInt64(7)});
    }
    return rows;
  }

  std::vector<RejectedRow> AllRejected() {  // newest first
    std::vector<RejectedRow> rows;
    auto q = Db().Prepare(
        "SELECT id, reason, topic, device, arrival_time, payload, detail FROM rejected "
        "ORDER BY id DESC");
    EXPECT_TRUE(q.ok()) << q.status().message;
    while (*q->Step() == sqlite::StepResult::kRow) {
      rows.push_back({q->ColumnInt64(0), std::string(q->ColumnText(1)),
                      std::string(q->ColumnText(2)), std::string(q->ColumnText(3)),
                      q->ColumnInt64(4), std::string(q->ColumnBlob(5)),
                      std::string(q->ColumnText(6))});
    }
    return rows;
  }

  std::int64_t WriterInt(const std::string& sql) {
    auto q = Db().Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status().message;
    EXPECT_EQ(*q->Step(), sqlite::StepResult::kRow);
    return q->ColumnInt64(0);
  }

  // Every page of `q` (q.after is ignored): checks page sizes and cursors on the way.
  static std::vector<WindowRow> AllPages(ResultsReader& reader, WindowQuery q) {
    std::vector<WindowRow> all;
    q.after.reset();
    for (int pages = 0;; ++pages) {
      auto page = reader.Windows(q);
      EXPECT_TRUE(page.ok()) << page.status().message;
      if (!page.ok() || pages > 100000) break;
      all.insert(all.end(), page->rows.begin(), page->rows.end());
      if (!page->next) {
        EXPECT_LE(page->rows.size(), static_cast<std::size_t>(q.limit)) << Describe(q);
        break;
      }
      EXPECT_EQ(page->rows.size(), static_cast<std::size_t>(q.limit)) << Describe(q);
      EXPECT_FALSE(page->rows.empty());
      if (page->rows.empty()) break;
      EXPECT_EQ(*page->next, page->rows.back().key()) << Describe(q);
      q.after = page->next;
    }
    return all;
  }

  std::string dir_;
  StoreOptions options_;
  ManualClock clock_{0};
  std::unique_ptr<StateStore> store_;
  OwnConnection db_;  // the test's own connection to the file
  std::unique_ptr<Engine> engine_;
  Millis arrival_base_ = 1000;
  int next_message_ = 700;                    // the first message after Populate()
  std::map<WindowKey, WindowResult> finals_;  // every window the engine closed
  std::int64_t late_written_ = 0;
  std::int64_t rejected_written_ = 0;
};

bool Matches(const WindowQuery& q, const WindowRow& w) {
  return (q.pipeline.empty() || w.pipeline == q.pipeline) &&
         (q.device.empty() || w.device == q.device) && (!q.status || w.status == *q.status) &&
         (!q.from || *q.from <= w.start) && (!q.to || w.start < *q.to);
}

std::vector<WindowRow> Filter(const std::vector<WindowRow>& all, const WindowQuery& q) {
  std::vector<WindowRow> out;
  for (const WindowRow& w : all) {
    if (Matches(q, w)) out.push_back(w);
  }
  return out;
}

// The data set itself: what the reader is checked against is what the writer produced.
TEST_F(ResultsReaderTest, TheDataSetIsWhatTheEngineProduced) {
  Populate();
  const std::vector<WindowRow> all = AllWindows();
  std::map<WindowKey, WindowRow> finals_in_file;
  std::map<std::string, std::int64_t> open_in_file;
  std::set<std::string> closed_by;
  for (const WindowRow& w : all) {
    if (w.status == WindowStatus::kFinal) {
      finals_in_file[w.key()] = w;
      closed_by.insert(w.closed_by);
    } else {
      ++open_in_file[w.pipeline];
      EXPECT_EQ(w.closed_by, "");
      EXPECT_EQ(w.closed_at, std::nullopt);
    }
  }
  ASSERT_EQ(finals_in_file.size(), finals_.size());
  for (const auto& [key, result] : finals_) {
    ASSERT_TRUE(finals_in_file.count(key)) << key.pipeline << "/" << key.device << "/" << key.start;
    const WindowRow& w = finals_in_file[key];
    EXPECT_EQ(w.closed_by, ClosedByName(result.closed_by));
    EXPECT_EQ(w.closed_at, result.closed_at);
    EXPECT_EQ(w.records, result.records);
  }
  EXPECT_EQ(closed_by, (std::set<std::string>{"idle", "watermark"}));
  for (std::size_t p = 0; p < engine_->pipeline_count(); ++p) {
    const std::string& name = engine_->pipeline(p).spec().name;
    EXPECT_GT(OpenWindowsInEngine(p), 0) << name;
    EXPECT_EQ(open_in_file[name], OpenWindowsInEngine(p)) << name;
  }
  EXPECT_GT(late_written_, 10);
  EXPECT_EQ(static_cast<std::int64_t>(AllLate().size()), late_written_);
  EXPECT_GT(rejected_written_, 10);
  EXPECT_EQ(static_cast<std::int64_t>(AllRejected().size()), rejected_written_);
}

TEST_F(ResultsReaderTest, WindowsAreOrderedAndComplete) {
  Populate();
  ResultsReader reader = OpenReader();
  const std::vector<WindowRow> all = AllWindows();
  ASSERT_GT(all.size(), 1000u);
  std::vector<WindowRow> sorted = all;
  std::sort(sorted.begin(), sorted.end(),
            [](const WindowRow& a, const WindowRow& b) { return a.key() < b.key(); });
  ASSERT_EQ(sorted, all);  // SQLite's BINARY order is std::string's order
  WindowQuery q;
  q.limit = kMaxPageSize;
  EXPECT_EQ(AllPages(reader, q), all);
  // More windows than fit one page: the first page is full and says more follow.
  auto page = reader.Windows(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), static_cast<std::size_t>(kMaxPageSize));
  ASSERT_TRUE(page->next);
  EXPECT_EQ(*page->next, all[kMaxPageSize - 1].key());
}

TEST_F(ResultsReaderTest, WindowFiltersAndPagesMatchEveryCombination) {
  Populate();
  ResultsReader reader = OpenReader();
  const std::vector<WindowRow> all = AllWindows();
  const std::string pipelines[] = {"", "alpha", "alpha2", "beta", "alph", "zzz"};
  const std::string devices[] = {"", "d1", "d1a", "d10", "d1-x", "e", "d", "zzz"};
  const std::optional<WindowStatus> statuses[] = {std::nullopt, WindowStatus::kOpen,
                                                  WindowStatus::kFinal};
  const std::pair<std::optional<Millis>, std::optional<Millis>> ranges[] = {
      {std::nullopt, std::nullopt},
      {300, std::nullopt},
      {std::nullopt, 600},
      {900, 1500},
      {1000, 1001},
      {1000, 1000},
      {1500, 900},
      {-100, 0}};
  int non_empty = 0;
  for (const std::string& pipeline : pipelines) {
    for (const std::string& device : devices) {
      for (const auto& status : statuses) {
        for (const auto& [from, to] : ranges) {
          WindowQuery q;
          q.pipeline = pipeline;
          q.device = device;
          q.status = status;
          q.from = from;
          q.to = to;
          const std::vector<WindowRow> expected = Filter(all, q);
          if (!expected.empty()) ++non_empty;
          for (int limit : {kMaxPageSize, 13, 1}) {
            if (limit == 1 && expected.size() > 60) continue;
            q.limit = limit;
            ASSERT_EQ(AllPages(reader, q), expected) << Describe(q);
          }
        }
      }
    }
  }
  EXPECT_GT(non_empty, 200);
}

// Any cursor, not only one a page handed out: a key that exists, one between two keys, one in
// another pipeline or device group than the filters ask for, one past everything.
TEST_F(ResultsReaderTest, AnyCursorStartsRightAfterItsKey) {
  Populate();
  ResultsReader reader = OpenReader();
  const std::vector<WindowRow> all = AllWindows();
  std::vector<WindowKey> cursors = {
      {"", "", 0, 0},
      {"alpha", "", 0, 0},
      {"alpha", "d1", std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::min()},
      {"alpha", "d1", 100000, 100010},
      {"alpha", "d1-x", 0, 0},
      {"alpha", "d1\x01", 0, 0},
      {"alpha2", "zzz", 0, 0},
      {"alph", "d1", 0, 0},
      {"b", "", 0, 0},
      {"beta", "d10", 500, 500},
      {"zzz", "", 0, 0}};
  for (std::size_t i = 0; i < all.size(); i += 97) {
    WindowKey k = all[i].key();
    cursors.push_back(k);
    cursors.push_back({k.pipeline, k.device, k.start, k.end - 1});
    cursors.push_back({k.pipeline, k.device, k.start, k.end + 1});
    cursors.push_back({k.pipeline, k.device, k.start + 1, 0});
  }
  int checked = 0;
  for (const std::string pipeline : {"", "alpha", "beta", "alph"}) {
    for (const std::string device : {"", "d1", "d10", "d"}) {
      for (const auto& status :
           {std::optional<WindowStatus>(), std::optional<WindowStatus>(WindowStatus::kOpen),
            std::optional<WindowStatus>(WindowStatus::kFinal)}) {
        for (const auto& [from, to] :
             {std::pair<std::optional<Millis>, std::optional<Millis>>{},
              std::pair<std::optional<Millis>, std::optional<Millis>>{600, 1200}}) {
          WindowQuery q;
          q.pipeline = pipeline;
          q.device = device;
          q.status = status;
          q.from = from;
          q.to = to;
          q.limit = 5;
          const std::vector<WindowRow> matching = Filter(all, q);
          for (const WindowKey& after : cursors) {
            q.after = after;
            std::vector<WindowRow> expected;
            for (const WindowRow& w : matching) {
              if (w.key() > after) expected.push_back(w);
            }
            const bool more = expected.size() > 5;
            if (more) expected.resize(5);
            auto page = reader.Windows(q);
            ASSERT_TRUE(page.ok()) << page.status().message;
            ASSERT_EQ(page->rows, expected)
                << Describe(q) << " after " << after.pipeline << "/" << after.device << "/"
                << after.start << "/" << after.end;
            ASSERT_EQ(page->next.has_value(), more) << Describe(q);
            if (!expected.empty()) ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST_F(ResultsReaderTest, WindowRowsCarryTheirFields) {
  Populate();
  ResultsReader reader = OpenReader();
  WindowQuery q;
  q.pipeline = "alpha";
  q.device = "e";
  q.status = WindowStatus::kFinal;
  q.limit = kMaxPageSize;
  auto page = reader.Windows(q);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->rows.empty());
  bool idle = false;
  for (const WindowRow& w : page->rows) {
    const WindowResult& r = finals_.at(w.key());
    EXPECT_EQ(w.closed_by, ClosedByName(r.closed_by));
    EXPECT_EQ(w.closed_at, r.closed_at);
    EXPECT_EQ(w.records, r.records);
    EXPECT_EQ(w.end - w.start, 10);
    EXPECT_EQ(w.values_json.rfind("{\"n\":", 0), 0u) << w.values_json;
    idle = idle || w.closed_by == "idle";
  }
  EXPECT_TRUE(idle);  // "e" fell silent and was closed by the tick
  q.status = WindowStatus::kOpen;
  q.device = "d2";
  page = reader.Windows(q);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->rows.empty());
  for (const WindowRow& w : page->rows) {
    EXPECT_EQ(w.status, WindowStatus::kOpen);
    EXPECT_EQ(w.closed_by, "");
    EXPECT_EQ(w.closed_at, std::nullopt);
    EXPECT_GT(w.records, 0);
  }
}

TEST_F(ResultsReaderTest, RowsWrittenBetweenPagesShiftNothing) {
  Populate();
  ResultsReader reader = OpenReader();
  for (const std::optional<WindowStatus>& status :
       {std::optional<WindowStatus>(), std::optional<WindowStatus>(WindowStatus::kFinal)}) {
    const std::vector<WindowRow> before = AllWindows();
    WindowQuery q;
    q.status = status;
    q.limit = 50;
    std::vector<WindowKey> seen;
    int round = 0;
    for (;;) {
      auto page = reader.Windows(q);
      ASSERT_TRUE(page.ok()) << page.status().message;
      for (const WindowRow& w : page->rows) seen.push_back(w.key());
      if (!page->next) break;
      q.after = page->next;
      // Between pages: new messages (new final windows and late rows in every device group,
      // before and after the cursor), a checkpoint (open windows deleted and rewritten), and
      // retention deleting some old final windows.
      Feed(next_message_, next_message_ + 20);
      next_message_ += 20;
      ASSERT_TRUE(store_->Checkpoint(*engine_, arrival_base_ + next_message_).ok());
      if (round % 3 == 0) {
        ASSERT_TRUE(store_->DeleteExpired(kForever, 2).ok());
      }
      ++round;
    }
    ASSERT_GT(round, 10);
    for (std::size_t i = 1; i < seen.size(); ++i) {
      ASSERT_LT(seen[i - 1], seen[i]) << "page order broken or duplicate at " << i;
    }
    // Every window that existed before and after the paging was listed.
    const std::vector<WindowRow> after = AllWindows();
    std::set<WindowKey> stable;
    for (const WindowRow& w : after) {
      if (!status || w.status == *status) stable.insert(w.key());
    }
    std::set<WindowKey> was;
    for (const WindowRow& w : before) {
      if (!status || w.status == *status) was.insert(w.key());
    }
    const std::set<WindowKey> listed(seen.begin(), seen.end());
    std::int64_t checked = 0;
    for (const WindowKey& k : stable) {
      if (!was.count(k)) continue;
      EXPECT_TRUE(listed.count(k)) << k.pipeline << "/" << k.device << "/" << k.start;
      ++checked;
    }
    EXPECT_GT(checked, 1000);
  }
}

TEST_F(ResultsReaderTest, LimitOutOfRangeIsAnError) {
  Populate();
  ResultsReader reader = OpenReader();
  for (int limit : {0, -1, kMaxPageSize + 1}) {
    WindowQuery w;
    w.limit = limit;
    auto windows = reader.Windows(w);
    ASSERT_FALSE(windows.ok()) << limit;
    EXPECT_EQ(windows.status().primary_code(), sqlite::codes::kRange);
    EXPECT_NE(windows.status().message.find(std::to_string(limit)), std::string::npos);
    LateQuery l;
    l.limit = limit;
    auto late = reader.Late(l);
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.status().primary_code(), sqlite::codes::kRange);
    RejectedQuery r;
    r.limit = limit;
    auto rejected = reader.Rejected(r);
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.status().primary_code(), sqlite::codes::kRange);
    DeviceQuery d;
    d.limit = limit;
    auto devices = reader.Devices(d);
    ASSERT_FALSE(devices.ok());
    EXPECT_EQ(devices.status().primary_code(), sqlite::codes::kRange);
  }
  for (int limit : {1, kMaxPageSize}) {
    WindowQuery w;
    w.limit = limit;
    auto page = reader.Windows(w);
    ASSERT_TRUE(page.ok()) << page.status().message;
    EXPECT_EQ(page->rows.size(), static_cast<std::size_t>(limit));
    EXPECT_TRUE(page->next);
  }
  // An empty time range is no error, just no rows (and a limit is still checked first).
  WindowQuery empty;
  empty.from = 100;
  empty.to = 100;
  auto page = reader.Windows(empty);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->rows.empty());
  EXPECT_FALSE(page->next);
  empty.limit = 0;
  EXPECT_FALSE(reader.Windows(empty).ok());
}

TEST_F(ResultsReaderTest, LateLogIsNewestFirstFilteredAndPaged) {
  Populate();
  ResultsReader reader = OpenReader();
  const std::vector<LateRow> all = AllLate();
  ASSERT_GT(all.size(), 10u);
  std::set<std::string> pipelines_seen;
  for (const LateRow& l : all) pipelines_seen.insert(l.pipeline);
  EXPECT_GE(pipelines_seen.size(), 2u);
  int non_empty = 0;
  for (const std::string pipeline : {"", "alpha", "alpha2", "beta", "alph", "zzz"}) {
    for (const std::string device : {"", "d1", "d1a", "d10", "e", "d", "zzz"}) {
      std::vector<LateRow> expected;
      for (const LateRow& l : all) {
        if ((pipeline.empty() || l.pipeline == pipeline) &&
            (device.empty() || l.device == device)) {
          expected.push_back(l);
        }
      }
      if (!expected.empty()) ++non_empty;
      for (int limit : {kMaxPageSize, 4, 1}) {
        LateQuery q;
        q.pipeline = pipeline;
        q.device = device;
        q.limit = limit;
        std::vector<LateRow> got;
        for (int pages = 0; pages < 10000; ++pages) {
          auto page = reader.Late(q);
          ASSERT_TRUE(page.ok()) << page.status().message;
          got.insert(got.end(), page->rows.begin(), page->rows.end());
          if (!page->next) {
            EXPECT_LE(page->rows.size(), static_cast<std::size_t>(limit));
            break;
          }
          ASSERT_EQ(page->rows.size(), static_cast<std::size_t>(limit));
          EXPECT_EQ(*page->next, page->rows.back().id);
          q.after = page->next;
        }
        ASSERT_EQ(got, expected) << "pipeline='" << pipeline << "' device='" << device
                                 << "' limit=" << limit;
      }
    }
  }
  EXPECT_GT(non_empty, 8);
  // A cursor below every id (or the smallest integer) yields an empty page, not an error.
  for (std::int64_t after : {std::int64_t{1}, std::int64_t{0}, std::int64_t{-5},
                             std::numeric_limits<std::int64_t>::min()}) {
    LateQuery q;
    q.after = after;
    auto page = reader.Late(q);
    ASSERT_TRUE(page.ok());
    EXPECT_TRUE(page->rows.empty());
    EXPECT_FALSE(page->next);
  }
}

TEST_F(ResultsReaderTest, RejectedSamplesAreNewestFirstFilteredAndPaged) {
  Populate();
  ResultsReader reader = OpenReader();
  const std::vector<RejectedRow> all = AllRejected();
  ASSERT_GT(all.size(), 10u);
  for (const std::string reason : {"", "not_json", "future_time", "bad_time"}) {
    std::vector<RejectedRow> expected;
    for (const RejectedRow& r : all) {
      if (reason.empty() || r.reason == reason) expected.push_back(r);
    }
    if (reason == "bad_time") {
      EXPECT_TRUE(expected.empty());
    } else {
      EXPECT_GT(expected.size(), 3u) << reason;
    }
    for (int limit : {kMaxPageSize, 3, 1}) {
      RejectedQuery q;
      q.reason = reason;
      q.limit = limit;
      std::vector<RejectedRow> got;
      for (int pages = 0; pages < 10000; ++pages) {
        auto page = reader.Rejected(q);
        ASSERT_TRUE(page.ok()) << page.status().message;
        got.insert(got.end(), page->rows.begin(), page->rows.end());
        if (!page->next) break;
        ASSERT_EQ(page->rows.size(), static_cast<std::size_t>(limit));
        EXPECT_EQ(*page->next, page->rows.back().id);
        q.after = page->next;
      }
      ASSERT_EQ(got, expected) << "reason='" << reason << "' limit=" << limit;
    }
  }
  // Fields as committed.
  RejectedQuery q;
  q.reason = "not_json";
  q.limit = 1;
  auto page = reader.Rejected(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  const RejectedRow& r = page->rows[0];
  EXPECT_EQ(r.device, "");
  EXPECT_EQ(r.detail, "not JSON");
  EXPECT_EQ(r.payload.rfind("{oops ", 0), 0u);
  EXPECT_EQ(r.topic.rfind("devices/", 0), 0u);
  q.reason = "future_time";
  page = reader.Rejected(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_NE(page->rows[0].device, "");
  EXPECT_EQ(page->rows[0].detail, "in the future");
  EXPECT_EQ(page->rows[0].topic, "devices/" + page->rows[0].device + "/telemetry");
}

TEST_F(ResultsReaderTest, DevicesAreOrderedAndPaged) {
  Populate();
  ResultsReader reader = OpenReader();
  std::vector<DeviceStats> expected = engine_->devices().all();
  std::sort(expected.begin(), expected.end(),
            [](const DeviceStats& a, const DeviceStats& b) { return a.device < b.device; });
  ASSERT_EQ(expected.size(), 6u);  // kDevices and "e"
  for (int limit : {kMaxPageSize, 6, 4, 1}) {
    DeviceQuery q;
    q.limit = limit;
    std::vector<DeviceRow> got;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = reader.Devices(q);
      ASSERT_TRUE(page.ok()) << page.status().message;
      got.insert(got.end(), page->rows.begin(), page->rows.end());
      if (!page->next) break;
      ASSERT_EQ(page->rows.size(), static_cast<std::size_t>(limit));
      EXPECT_EQ(*page->next, page->rows.back().device);
      q.after = page->next;
    }
    ASSERT_EQ(got.size(), expected.size()) << limit;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].device, expected[i].device);
      EXPECT_EQ(got[i].records, expected[i].records) << got[i].device;
      EXPECT_EQ(got[i].rejected, expected[i].rejected) << got[i].device;
      EXPECT_EQ(got[i].last_event_time, expected[i].last_event_time) << got[i].device;
      EXPECT_EQ(got[i].last_arrival_time, expected[i].last_arrival_time) << got[i].device;
    }
  }
  std::int64_t rejected = 0;
  for (const DeviceStats& d : expected) rejected += d.rejected;
  EXPECT_GT(rejected, 0);  // the future-stamped records
  DeviceQuery past;
  past.after = "zzz";
  auto page = reader.Devices(past);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->rows.empty());
  EXPECT_FALSE(page->next);
}

TEST_F(ResultsReaderTest, PipelineCountsMatchWhatWasWritten) {
  OpenWriter();
  Feed(0, 300);
  {
    // Before any checkpoint: final windows only, no pipeline_state rows yet.
    ResultsReader reader = OpenReader();
    auto counts = reader.PipelineCounts();
    ASSERT_TRUE(counts.ok()) << counts.status().message;
    ASSERT_EQ(counts->size(), 3u);
    for (const PipelineSummary& p : *counts) {
      EXPECT_FALSE(p.has_state) << p.pipeline;
      EXPECT_EQ(p.open_windows, 0);
      EXPECT_GT(p.final_windows, 0);
      EXPECT_EQ(p.max_event_time, std::nullopt);
    }
  }
  Output out;
  engine_->TickAt(arrival_base_ + 1000, out);
  ASSERT_TRUE(store_->CommitTick(arrival_base_ + 1000, *engine_, out).ok());
  Remember(out);
  arrival_base_ += 1000;
  Feed(300, 600);
  ASSERT_TRUE(store_->Checkpoint(*engine_, arrival_base_ + 600).ok());
  ResultsReader reader = OpenReader();
  auto counts = reader.PipelineCounts();
  ASSERT_TRUE(counts.ok()) << counts.status().message;
  ASSERT_EQ(counts->size(), engine_->pipeline_count());
  std::map<std::string, std::int64_t> finals;
  for (const auto& [key, result] : finals_) ++finals[key.pipeline];
  std::vector<std::string> names;
  for (std::size_t p = 0; p < engine_->pipeline_count(); ++p) {
    names.push_back(engine_->pipeline(p).spec().name);
  }
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i < counts->size(); ++i) {
    const PipelineSummary& s = (*counts)[i];
    EXPECT_EQ(s.pipeline, names[i]);  // by name
    std::size_t p = 0;
    while (engine_->pipeline(p).spec().name != s.pipeline) ++p;
    const WindowOperator& op = engine_->pipeline(p);
    EXPECT_TRUE(s.has_state);
    EXPECT_EQ(s.open_windows, op.Metrics().open_windows) << s.pipeline;
    EXPECT_EQ(s.final_windows, finals[s.pipeline]) << s.pipeline;
    EXPECT_EQ(s.counters, op.SnapshotHeader().counters) << s.pipeline;
    EXPECT_EQ(s.max_event_time, op.SnapshotHeader().max_event_time) << s.pipeline;
    EXPECT_EQ(s.final_windows, WriterInt("SELECT count(*) FROM windows WHERE status='final' AND "
                                         "pipeline='" +
                                         s.pipeline + "'"));
  }
  // Retention is reflected on the next call.
  auto deleted = store_->DeleteExpired(kForever, 5);
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(*deleted, 5);
  auto later = reader.PipelineCounts();
  ASSERT_TRUE(later.ok());
  std::int64_t before_total = 0, after_total = 0;
  for (const PipelineSummary& s : *counts) before_total += s.final_windows;
  for (const PipelineSummary& s : *later) after_total += s.final_windows;
  EXPECT_EQ(after_total, before_total - 5);
}

TEST_F(ResultsReaderTest, DatabaseBytesIsPagesPlusWal) {
  Populate();
  ResultsReader reader = OpenReader();
  auto bytes = reader.DatabaseBytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status().message;
  const std::int64_t pages = WriterInt("PRAGMA page_count") * WriterInt("PRAGMA page_size");
  const auto wal = static_cast<std::int64_t>(std::filesystem::file_size(options_.path + "-wal"));
  EXPECT_GT(wal, 0);
  EXPECT_EQ(*bytes, pages + wal);
  EXPECT_GE(*bytes, static_cast<std::int64_t>(std::filesystem::file_size(options_.path)));
  Feed(700, 1500);
  ASSERT_TRUE(store_->Checkpoint(*engine_, arrival_base_ + 1500).ok());
  auto grown = reader.DatabaseBytes();
  ASSERT_TRUE(grown.ok());
  EXPECT_GT(*grown, *bytes);
  EXPECT_EQ(*grown,
            WriterInt("PRAGMA page_count") * WriterInt("PRAGMA page_size") +
                static_cast<std::int64_t>(std::filesystem::file_size(options_.path + "-wal")));
}

// Each plan line (one per statement) must seek an index: "SEARCH ... USING [COVERING] INDEX",
// "USING PRIMARY KEY" or "USING INTEGER PRIMARY KEY"; never a table scan or a sort.
void ExpectSeeks(const std::string& plans, const std::string& what, const std::string& index) {
  std::istringstream lines(plans);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++count;
    EXPECT_EQ(line.rfind("SEARCH ", 0), 0u) << what << "\n" << plans;
    EXPECT_EQ(line.find("SCAN"), std::string::npos) << what << "\n" << plans;
    EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << what << "\n" << plans;
    EXPECT_NE(line.find("USING "), std::string::npos) << what << "\n" << plans;
  }
  EXPECT_GE(count, 1) << what;
  if (!index.empty()) {
    EXPECT_NE(plans.find(index), std::string::npos) << what << "\n" << plans;
  }
}

TEST_F(ResultsReaderTest, EveryQueryShapeUsesAnIndex) {
  Populate();
  ResultsReader reader = OpenReader();
  for (const std::string pipeline : {"", "alpha"}) {
    for (const std::string device : {"", "d1"}) {
      for (const auto& status :
           {std::optional<WindowStatus>(), std::optional<WindowStatus>(WindowStatus::kOpen),
            std::optional<WindowStatus>(WindowStatus::kFinal)}) {
        for (const bool from : {false, true}) {
          for (const bool to : {false, true}) {
            for (const bool after : {false, true}) {
              WindowQuery q;
              q.pipeline = pipeline;
              q.device = device;
              q.status = status;
              if (from) q.from = 100;
              if (to) q.to = 500;
              if (after) q.after = WindowKey{"alpha", "d1", 200, 210};
              auto plans = reader.Explain(q);
              ASSERT_TRUE(plans.ok()) << plans.status().message;
              const std::size_t statements =
                  static_cast<std::size_t>(std::count(plans->begin(), plans->end(), '\n'));
              EXPECT_EQ(statements, !pipeline.empty() && !device.empty() ? 1u : 2u) << *plans;
              ExpectSeeks(*plans, Describe(q), status ? "windows_by_status" : "PRIMARY KEY");
              // The seek covers the (pipeline, device) group and the start-time range.
              EXPECT_NE(plans->find("window_start"), std::string::npos) << *plans;
            }
          }
        }
      }
    }
  }
  const std::pair<std::pair<std::string, std::string>, std::string> late_shapes[] = {
      {{"", ""}, "INTEGER PRIMARY KEY"},
      {{"alpha", ""}, "late_log_by_pipeline"},
      {{"", "d1"}, "late_log_by_device_only"},
      {{"alpha", "d1"}, "late_log_by_device"},
  };
  for (const auto& [filter, index] : late_shapes) {
    for (const bool after : {false, true}) {
      LateQuery q;
      q.pipeline = filter.first;
      q.device = filter.second;
      if (after) q.after = 10;
      auto plans = reader.Explain(q);
      ASSERT_TRUE(plans.ok()) << plans.status().message;
      ExpectSeeks(*plans, "late " + filter.first + "/" + filter.second, index);
      EXPECT_NE(plans->find("id<?"), std::string::npos) << *plans;  // the cursor is sought
    }
  }
  for (const std::string reason : {"", "not_json"}) {
    RejectedQuery q;
    q.reason = reason;
    auto plans = reader.Explain(q);
    ASSERT_TRUE(plans.ok()) << plans.status().message;
    ExpectSeeks(*plans, "rejected " + reason,
                reason.empty() ? "INTEGER PRIMARY KEY" : "rejected_by_reason");
  }
  {
    DeviceQuery q;
    q.after = "d1";
    auto plans = reader.Explain(q);
    ASSERT_TRUE(plans.ok()) << plans.status().message;
    ExpectSeeks(*plans, "devices after", "sqlite_autoindex_device_stats");
    // The first page reads the unique index in order from its start: no sort, no table scan.
    q.after.reset();
    plans = reader.Explain(q);
    ASSERT_TRUE(plans.ok()) << plans.status().message;
    EXPECT_NE(plans->find("USING INDEX sqlite_autoindex_device_stats"), std::string::npos)
        << *plans;
    EXPECT_EQ(plans->find("TEMP B-TREE"), std::string::npos) << *plans;
  }
  auto counts = reader.ExplainPipelineCounts();
  ASSERT_TRUE(counts.ok()) << counts.status().message;
  const std::string first_line = counts->substr(0, counts->find('\n'));
  EXPECT_NE(first_line.find("SCAN windows USING COVERING INDEX windows_by_status"),
            std::string::npos)
      << *counts;
  EXPECT_EQ(first_line.find("TEMP B-TREE"), std::string::npos) << *counts;
}

TEST_F(ResultsReaderTest, RefusesAnOlderOrNewerSchemaVersion) {
  {
    auto db = sqlite::Database::OpenWriter(options_.path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(*db, kSchemaVersion - 1).ok());
  }
  auto reader = ResultsReader::Open(options_.path);
  ASSERT_FALSE(reader.ok());
  const std::string& message = reader.status().message;
  EXPECT_NE(message.find(options_.path), std::string::npos) << message;
  EXPECT_NE(message.find("schema version " + std::to_string(kSchemaVersion - 1)), std::string::npos)
      << message;
  EXPECT_NE(message.find("migrates"), std::string::npos) << message;
  {
    auto db = sqlite::Database::OpenWriter(options_.path);
    ASSERT_TRUE(db->SetUserVersion(kSchemaVersion + 1).ok());
  }
  reader = ResultsReader::Open(options_.path);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message.find("schema version " + std::to_string(kSchemaVersion + 1)),
            std::string::npos)
      << reader.status().message;
  // A missing file is an error too (the reader never creates one).
  reader = ResultsReader::Open(dir_ + "/missing.db");
  ASSERT_FALSE(reader.ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/missing.db"));
}

TEST_F(ResultsReaderTest, AnEmptyDatabaseHasEmptyLists) {
  OpenWriter();
  ResultsReader reader = OpenReader();
  auto windows = reader.Windows({});
  ASSERT_TRUE(windows.ok()) << windows.status().message;
  EXPECT_TRUE(windows->rows.empty());
  EXPECT_FALSE(windows->next);
  auto late = reader.Late({});
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->rows.empty());
  auto rejected = reader.Rejected({});
  ASSERT_TRUE(rejected.ok());
  EXPECT_TRUE(rejected->rows.empty());
  auto devices = reader.Devices({});
  ASSERT_TRUE(devices.ok());
  EXPECT_TRUE(devices->rows.empty());
  auto counts = reader.PipelineCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_TRUE(counts->empty());
  auto bytes = reader.DatabaseBytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_GT(*bytes, 0);
}

// A reader is a separate connection next to the open writer: each call sees the commits made
// before it, and no call leaves a read transaction open (the writer can checkpoint the whole
// WAL right after it, even when a page stopped early).
TEST_F(ResultsReaderTest, SeesNewCommitsOnTheNextCallAndHoldsNoSnapshot) {
  OpenWriter();
  Feed(0, 100);
  ResultsReader reader = OpenReader();
  auto checkpoint_wal = [&] {
    auto q = Db().Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    EXPECT_TRUE(q.ok());
    EXPECT_EQ(*q->Step(), sqlite::StepResult::kRow);
    return q->ColumnInt64(0);  // 1 when a reader blocked it
  };
  auto finals = [&] {
    WindowQuery q;
    q.status = WindowStatus::kFinal;
    q.limit = kMaxPageSize;
    return AllPages(reader, q).size();
  };
  const std::size_t first = finals();
  ASSERT_GT(first, 0u);
  EXPECT_EQ(first, finals_.size());
  EXPECT_EQ(reader.Late({})->rows.size(), static_cast<std::size_t>(late_written_));
  EXPECT_TRUE(reader.Devices({})->rows.empty());  // device stats arrive with checkpoints

  Feed(100, 200);
  EXPECT_GT(finals(), first);
  EXPECT_EQ(finals(), finals_.size());
  EXPECT_EQ(reader.Late({})->rows.size(), static_cast<std::size_t>(late_written_));
  EXPECT_EQ(reader.Rejected({})->rows.size(), static_cast<std::size_t>(rejected_written_));
  ASSERT_TRUE(store_->Checkpoint(*engine_, arrival_base_ + 200).ok());
  EXPECT_EQ(reader.Devices({})->rows.size(), engine_->devices().size());
  WindowQuery open;
  open.status = WindowStatus::kOpen;
  open.limit = kMaxPageSize;
  std::int64_t open_windows = 0;
  for (std::size_t p = 0; p < engine_->pipeline_count(); ++p)
    open_windows += OpenWindowsInEngine(p);
  EXPECT_EQ(static_cast<std::int64_t>(AllPages(reader, open).size()), open_windows);

  // Calls that stopped reading early (a short page, a single group) left nothing open.
  WindowQuery short_page;
  short_page.limit = 1;
  ASSERT_TRUE(reader.Windows(short_page).ok());
  LateQuery late;
  late.limit = 1;
  ASSERT_TRUE(reader.Late(late).ok());
  ASSERT_TRUE(reader.Devices({1, std::nullopt}).ok());
  ASSERT_TRUE(reader.PipelineCounts().ok());
  ASSERT_TRUE(reader.DatabaseBytes().ok());
  EXPECT_EQ(checkpoint_wal(), 0);
  EXPECT_EQ(std::filesystem::file_size(options_.path + "-wal"), 0u);
  // And after the WAL was reset under it, the reader still sees everything.
  Feed(200, 250);
  EXPECT_EQ(finals(), finals_.size());
}

}  // namespace
}  // namespace tidemark
