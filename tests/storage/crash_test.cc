// Crash consistency (docs/DESIGN.md §3): crash_driver streams records into a real StateStore on a
// real database file and is killed with SIGKILL at random points many times, then restarted;
// once a run completes, the durable state (final windows, late log, rejected samples) and the
// state Recover() rebuilds (open windows, counters, device statistics) must equal what the same
// stream gives in memory without crashes: no record lost, none counted twice.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "storage/state_store.h"
#include "tests/storage/crash_stream.h"

#ifndef CRASH_DRIVER_PATH
#error "CRASH_DRIVER_PATH must name the crash_driver binary"
#endif

extern char** environ;

namespace tidemark::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kSeed = 20251125;
constexpr std::size_t kCount = 40000;  // messages in the stream
constexpr int kKills = 60;             // SIGKILLs before the driver may finish
constexpr int kMaxStartKillMs = 60;    // kill delays, uniform: from the process start
constexpr int kMaxStreamKillMs = 20;   // from the driver's resume line

// What the stream gives without crashes.
struct Reference {
  ManualClock clock{kBase};
  Engine engine{Pipelines(), clock, Options()};
  std::vector<WindowResult> closed;
  std::vector<LateRecord> late;
  std::vector<std::pair<std::string, Millis>> rejected;  // (reason, arrival)
};

std::unique_ptr<Reference> RunReference(const std::vector<Message>& stream) {
  auto ref = std::make_unique<Reference>();
  Output out;
  auto persist = [&](const Step& step) {
    ref->closed.insert(ref->closed.end(), step.out.closed.begin(), step.out.closed.end());
    ref->late.insert(ref->late.end(), step.out.late.begin(), step.out.late.end());
    if (step.kind == Step::kRejected) {
      ref->rejected.emplace_back(RejectReasonName(step.reason), step.now);
    }
    return true;
  };
  EXPECT_TRUE(Feed(stream, 0, stream.size(), ref->engine, ref->clock, out, persist,
                   [](const Message&) { return true; }));
  return ref;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One run of the driver: its exit status, or killed.
struct RunResult {
  bool killed = false;
  int exit_code = -1;  // when it exited by itself
  int signal = 0;      // when a signal other than ours ended it
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tidemark_crash_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "crash test files kept in %s\n", dir_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // When to kill a run: never, `delay` after it starts (so also while it opens the database and
  // recovers), or `delay` after it printed its resume line (while records stream in).
  struct KillPlan {
    enum Mode { kNever, kAfterStart, kAfterResume } mode = kNever;
    std::chrono::microseconds delay{0};
  };

  // Starts the driver, kills it with SIGKILL as `kill` says and waits for it; gives up (killing
  // it) after `limit`.
  RunResult RunDriver(KillPlan kill, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const std::string db = (dir_ / "state.db").string();
    const std::string seed = std::to_string(kSeed);
    const std::string count = std::to_string(kCount);
    const fs::path out = dir_ / "driver.out";
    const std::string err = (dir_ / "driver.err").string();
    const char* argv[] = {CRASH_DRIVER_PATH, db.c_str(), seed.c_str(), count.c_str(), nullptr};
    std::error_code ec;
    const std::uintmax_t out_size = fs::exists(out) ? fs::file_size(out) : 0;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, CRASH_DRIVER_PATH, &actions, nullptr,
                               const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    RunResult result;
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << CRASH_DRIVER_PATH << ": " << std::strerror(rc);
      return result;
    }
    const auto start = Clock::now();
    const auto give_up = start + limit;
    std::optional<Clock::time_point> kill_at;
    if (kill.mode == KillPlan::kAfterStart) kill_at = start + kill.delay;
    int status = 0;
    for (;;) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      const auto now = Clock::now();
      if (kill.mode == KillPlan::kAfterResume && !kill_at && fs::file_size(out, ec) > out_size) {
        kill_at = now + kill.delay;
      }
      if ((kill_at && now >= *kill_at) || now >= give_up) {
        ::kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        if (!kill_at || now < *kill_at) {
          ADD_FAILURE() << "crash_driver did not finish within " << limit.count() << " s";
        }
        result.killed = true;
        return result;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
    return result;
  }

  // The "resume <index> ..." lines the driver printed, in order.
  std::vector<std::size_t> ResumePoints() const {
    std::vector<std::size_t> points;
    std::istringstream in(ReadFile(dir_ / "driver.out"));
    std::string word;
    std::size_t index = 0;
    while (in >> word) {
      if (word == "resume" && in >> index) points.push_back(index);
    }
    return points;
  }

  fs::path dir_;
};

// Minimal reader for the `vals` column: {"alias":number-or-null,...} in spec order.
std::optional<std::vector<std::optional<double>>> ParseVals(const std::string& text,
                                                            const PipelineSpec& spec) {
  std::vector<std::optional<double>> values;
  std::size_t pos = 0;
  auto expect = [&](char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
  };
  if (!expect('{')) return std::nullopt;
  for (std::size_t a = 0; a < spec.aggregates.size(); ++a) {
    if (a > 0 && !expect(',')) return std::nullopt;
    const std::string key = '"' + spec.aggregates[a].alias + "\":";
    if (text.compare(pos, key.size(), key) != 0) return std::nullopt;
    pos += key.size();
    if (text.compare(pos, 4, "null") == 0) {
      values.push_back(std::nullopt);
      pos += 4;
      continue;
    }
    const char* begin = text.c_str() + pos;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) return std::nullopt;
    values.push_back(v);
    pos += static_cast<std::size_t>(end - begin);
  }
  if (!expect('}') || pos != text.size()) return std::nullopt;
  return values;
}

using WindowKey = std::tuple<std::string, std::string, Millis, Millis>;  // pipeline, device, window
struct FinalRow {
  std::string closed_by;
  Millis closed_at = 0;
  std::int64_t records = 0;
  std::vector<std::optional<double>> values;
  friend bool operator==(const FinalRow&, const FinalRow&) = default;
};

std::string Describe(const std::optional<double>& v) {
  if (!v) return "null";
  std::ostringstream s;
  s.precision(17);
  s << *v;
  return s.str();
}

std::ostream& operator<<(std::ostream& os, const FinalRow& r) {
  os << "{" << r.closed_by << " at " << r.closed_at << ", " << r.records << " records, [";
  for (std::size_t i = 0; i < r.values.size(); ++i) os << (i ? "," : "") << Describe(r.values[i]);
  return os << "]}";
}

std::string KeyText(const WindowKey& k) {
  return std::get<0>(k) + "/" + std::get<1>(k) + " [" + std::to_string(std::get<2>(k)) + "," +
         std::to_string(std::get<3>(k)) + ")";
}

std::vector<std::string> DeviceStatsText(const Engine& engine) {
  std::vector<std::string> out;
  for (const DeviceStats& d : engine.devices().all()) {
    out.push_back(d.device + ": " + std::to_string(d.records) + " records, " +
                  std::to_string(d.rejected) + " rejected, last event " +
                  std::to_string(d.last_event_time) + ", last arrival " +
                  std::to_string(d.last_arrival_time));
  }
  return out;
}

std::vector<WindowResult> OpenWindows(const Engine& engine) {
  std::vector<WindowResult> out;
  for (std::size_t i = 0; i < engine.pipeline_count(); ++i) {
    engine.pipeline(i).ForEachOpenWindow([&](const WindowResult& w) { out.push_back(w); });
  }
  return out;
}

// Runs a query and returns each row's columns as text (NULL as "NULL").
std::vector<std::vector<std::string>> Rows(sqlite::Database& db, std::string_view sql) {
  std::vector<std::vector<std::string>> rows;
  auto q = db.Prepare(sql);
  if (!q.ok()) {
    ADD_FAILURE() << q.status().message;
    return rows;
  }
  for (;;) {
    auto step = q->Step();
    if (!step.ok()) {
      ADD_FAILURE() << step.status().message;
      return rows;
    }
    if (*step == sqlite::StepResult::kDone) break;
    std::vector<std::string>& row = rows.emplace_back();
    for (int c = 0; c < q->ColumnCount(); ++c) {
      row.emplace_back(q->ColumnIsNull(c) ? std::string_view("NULL") : q->ColumnText(c));
    }
  }
  return rows;
}

TEST_F(CrashTest, KilledAtRandomPointsLosesNothingAndCountsNothingTwice) {
  const auto started = Clock::now();
  const std::vector<Message> stream = MakeStream(kSeed, kCount);
  const std::unique_ptr<Reference> ref = RunReference(stream);

  // Kill the driver kKills times at random instants, restarting it each time, then let it finish.
  // One kill in four counts from the start of the process (it may land while the database is
  // opened or recovered), the others from the moment it resumed streaming.
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<int> start_delay_us(0, kMaxStartKillMs * 1000);
  std::uniform_int_distribution<int> stream_delay_us(0, kMaxStreamKillMs * 1000);
  int kills = 0;
  int runs = 0;
  RunResult last;
  for (;;) {
    KillPlan kill;
    if (kills < kKills) {
      kill =
          rng() % 4 == 0
              ? KillPlan{KillPlan::kAfterStart, std::chrono::microseconds(start_delay_us(rng))}
              : KillPlan{KillPlan::kAfterResume, std::chrono::microseconds(stream_delay_us(rng))};
    }
    last = RunDriver(kill);
    ++runs;
    if (!last.killed || kill.mode == KillPlan::kNever) break;
    ++kills;
  }
  const auto crashed_for = Clock::now() - started;
  ASSERT_FALSE(last.killed);
  ASSERT_EQ(last.signal, 0) << "crash_driver died of signal " << last.signal;
  ASSERT_EQ(last.exit_code, 0) << "crash_driver failed: " << ReadFile(dir_ / "driver.err");
  EXPECT_GE(kills, 20) << "the driver finished before it was killed often enough";

  // Durable progress never goes backwards: a committed message is never lost.
  const std::vector<std::size_t> resumed = ResumePoints();
  ASSERT_FALSE(resumed.empty());
  EXPECT_TRUE(std::is_sorted(resumed.begin(), resumed.end()));
  const auto mid_stream = std::count_if(resumed.begin(), resumed.end(),
                                        [](std::size_t i) { return i > 0 && i < kCount; });
  std::vector<std::size_t> distinct = resumed;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::printf(
      "[ crash    ] %d runs, %d SIGKILLs, %zu restarts resumed mid-stream (%zu distinct "
      "points), %.1f s\n",
      runs, kills, static_cast<std::size_t>(mid_stream), distinct.size(),
      std::chrono::duration<double>(crashed_for).count());
  EXPECT_GE(mid_stream, 20) << "too few kills landed while records were streaming";

  // A restart after the end changes nothing: every redelivery is recognised, nothing is left.
  const RunResult again = RunDriver({});
  ASSERT_EQ(again.exit_code, 0) << ReadFile(dir_ / "driver.err");
  EXPECT_EQ(ResumePoints().back(), kCount);

  // The state Recover() rebuilds equals the uncrashed engine's.
  StoreOptions options;
  options.path = (dir_ / "state.db").string();
  auto store = StateStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().message;
  ManualClock clock(kBase);
  Engine engine(Pipelines(), clock, Options());
  auto recovered = (*store)->Recover(engine);
  ASSERT_TRUE(recovered.ok()) << recovered.status().message;
  const Engine& want = ref->engine;
  EXPECT_EQ(engine.total(), static_cast<std::int64_t>(kCount));
  EXPECT_EQ(engine.total(), want.total());
  EXPECT_EQ(engine.rejected(), want.rejected());
  EXPECT_EQ(DeviceStatsText(engine), DeviceStatsText(want));
  for (std::size_t p = 0; p < want.pipeline_count(); ++p) {
    SCOPED_TRACE(want.pipeline(p).spec().name);
    const PipelineCounters& got = engine.pipeline(p).Metrics().counters;
    const PipelineCounters& exp = want.pipeline(p).Metrics().counters;
    EXPECT_EQ(got.records, exp.records);
    EXPECT_EQ(got.late, exp.late);
    EXPECT_EQ(got.duplicates, exp.duplicates);
    EXPECT_EQ(got.finalized, exp.finalized);
    EXPECT_EQ(got.evicted, exp.evicted);
    EXPECT_EQ(engine.pipeline(p).Watermark(), want.pipeline(p).Watermark());
  }
  const std::vector<WindowResult> open_got = OpenWindows(engine);
  const std::vector<WindowResult> open_want = OpenWindows(want);
  EXPECT_EQ(open_got.size(), open_want.size());
  for (std::size_t i = 0, shown = 0; i < std::min(open_got.size(), open_want.size()); ++i) {
    const WindowResult& g = open_got[i];
    const WindowResult& w = open_want[i];
    if (g.pipeline == w.pipeline && g.device == w.device && g.window == w.window &&
        g.records == w.records && g.values == w.values) {
      continue;
    }
    if (++shown > 10) break;
    ADD_FAILURE() << "open window #" << i << ": got " << g.pipeline << "/" << g.device << " ["
                  << g.window.start << "," << g.window.end << ") " << g.records << " records, want "
                  << w.pipeline << "/" << w.device << " [" << w.window.start << "," << w.window.end
                  << ") " << w.records << " records";
  }
  store->reset();

  // Final windows, late log and rejected samples on disk equal the uncrashed run's output.
  auto reader = sqlite::Database::OpenReader(options.path);
  ASSERT_TRUE(reader.ok()) << reader.status().message;
  std::map<std::string, const PipelineSpec*> specs;
  for (std::size_t p = 0; p < want.pipeline_count(); ++p) {
    specs[want.pipeline(p).spec().name] = &want.pipeline(p).spec();
  }

  std::map<WindowKey, FinalRow> final_want;
  for (const WindowResult& w : ref->closed) {
    const WindowKey key{want.pipeline(w.pipeline).spec().name, w.device, w.window.start,
                        w.window.end};
    const FinalRow row{std::string(ClosedByName(w.closed_by)), w.closed_at, w.records, w.values};
    ASSERT_TRUE(final_want.emplace(key, row).second) << "reference closed twice: " << KeyText(key);
  }
  std::map<WindowKey, FinalRow> final_got;
  for (const auto& r : Rows(*reader,
                            "SELECT pipeline, device, window_start, window_end, closed_by, "
                            "closed_at, records, vals FROM windows WHERE status = 'final'")) {
    const WindowKey key{r[0], r[1], std::stoll(r[2]), std::stoll(r[3])};
    auto spec = specs.find(r[0]);
    ASSERT_NE(spec, specs.end()) << "final window of an unknown pipeline: " << r[0];
    auto values = ParseVals(r[7], *spec->second);
    ASSERT_TRUE(values.has_value()) << "unreadable vals " << r[7];
    final_got.emplace(key, FinalRow{r[4], std::stoll(r[5]), std::stoll(r[6]), *values});
  }
  EXPECT_EQ(final_got.size(), final_want.size());
  int shown = 0;
  for (const auto& [key, row] : final_want) {
    auto it = final_got.find(key);
    if (it == final_got.end()) {
      ADD_FAILURE() << "final window missing on disk: " << KeyText(key) << " " << row;
    } else if (!(it->second == row)) {
      ADD_FAILURE() << "final window differs: " << KeyText(key) << " got " << it->second << " want "
                    << row;
    } else {
      continue;
    }
    if (++shown == 20) break;
  }
  for (const auto& [key, row] : final_got) {
    if (!final_want.count(key) && shown++ < 40) {
      ADD_FAILURE() << "final window on disk that the uncrashed run never closed: " << KeyText(key)
                    << " " << row;
    }
  }

  using LateKey = std::tuple<std::string, std::string, Millis, Millis, std::string, Millis, Millis>;
  std::multiset<LateKey> late_want;
  for (const LateRecord& l : ref->late) {
    late_want.insert({want.pipeline(l.pipeline).spec().name, l.device, l.event_time, l.arrival_time,
                      l.watermark == kNoTime ? std::string("NULL") : std::to_string(l.watermark),
                      l.missed.start, l.missed.end});
  }
  std::multiset<LateKey> late_got;
  for (const auto& r : Rows(*reader,
                            "SELECT pipeline, device, event_time, arrival_time, watermark, "
                            "window_start, window_end FROM late_log")) {
    late_got.insert(
        {r[0], r[1], std::stoll(r[2]), std::stoll(r[3]), r[4], std::stoll(r[5]), std::stoll(r[6])});
  }
  EXPECT_EQ(late_got.size(), late_want.size()) << "late-log rows";
  EXPECT_TRUE(late_got == late_want) << "the late log differs from the uncrashed run's";

  std::multiset<std::pair<std::string, Millis>> rejected_want(ref->rejected.begin(),
                                                              ref->rejected.end());
  std::multiset<std::pair<std::string, Millis>> rejected_got;
  for (const auto& r : Rows(*reader, "SELECT reason, arrival_time FROM rejected")) {
    rejected_got.insert({r[0], std::stoll(r[1])});
  }
  EXPECT_EQ(rejected_got.size(), rejected_want.size()) << "rejected samples";
  EXPECT_TRUE(rejected_got == rejected_want) << "the rejected samples differ";

  // The stream exercised what it is meant to.
  std::int64_t late = 0, duplicates = 0;
  for (std::size_t p = 0; p < want.pipeline_count(); ++p) {
    late += want.pipeline(p).Metrics().counters.late;
    duplicates += want.pipeline(p).Metrics().counters.duplicates;
  }
  EXPECT_GT(late, 100);
  EXPECT_GT(duplicates, 100);
  EXPECT_GT(ref->rejected.size(), 50u);
  EXPECT_GT(std::count_if(ref->closed.begin(), ref->closed.end(),
                          [](const WindowResult& w) { return w.closed_by == ClosedBy::kIdle; }),
            10);
  EXPECT_GT(open_want.size(), 10u);
  std::printf("[ crash    ] %zu final windows, %zu open, %zu late, %zu rejected; %.1f s in all\n",
              final_want.size(), open_want.size(), late_want.size(), rejected_want.size(),
              std::chrono::duration<double>(Clock::now() - started).count());
}

}  // namespace
}  // namespace tidemark::crash
