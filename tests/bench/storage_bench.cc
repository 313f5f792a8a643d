// Storage write path and restore time (Google Benchmark; prints figures, asserts nothing).
// Every database is a real file in a fresh directory under /var/tmp, removed at exit.
//
// Per message: Engine::ProcessAt + StateStore::CommitRecord (+ Checkpoint when CheckpointDue),
// for 1,000 devices each reading once a second of event time, in order, into a 10-minute
// tumbling avg(temperature) pipeline with a 30-minute watermark; processing time follows event
// time, so the checkpoint cadence is the one that stream would see live. Arg full: 0 =
// synchronous=NORMAL, 1 = FULL. Counters: per-message latency percentiles (the time a PUBACK
// waits, checkpoints included), checkpoints taken, their mean duration, the latency of the
// message after one, the share of time spent checkpointing, and the checkpointed state's size
// (device_state blobs, fingerprints rows) at the end.
// Baseline in the same run: a raw SQLite loop committing one small INSERT per transaction on
// the same file settings — the bare cost the store must approach.
//
// Restore: a store holding 100,000 open windows, checkpointed (optionally followed by a tail of
// logged records); each iteration times StateStore::Open + Recover into a fresh Engine on a copy
// of the files as a kill -9 leaves them (the writer still open, its WAL not checkpointed).
// Baseline: a fresh connection scanning the checkpoint tables with SELECT *.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "storage/sqlite.h"
#include "storage/state_store.h"

namespace tidemark {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr Millis kStart = 1'795'608'000'000;  // 2026-11-25T12:00:00Z
constexpr int kStreamDevices = 1000;
constexpr std::int64_t kRestoreWindows = 100000;
// The tables of device state Checkpoint() writes and Recover() reads (storage/state_store.cc):
// the small part of each device's state, and the duplicate-suppression fingerprints.
constexpr const char* kCheckpointTables[] = {"device_state", "fingerprints"};

// A directory under /var/tmp (a real disk, unlike a tmpfs /tmp), removed at exit.
class TempDir {
 public:
  TempDir() {
    std::string name = fs::is_directory("/var/tmp") ? "/var/tmp" : "/tmp";
    name += "/tidemark-storage-bench-XXXXXX";
    if (mkdtemp(name.data()) != nullptr) path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }  // empty if mkdtemp failed

 private:
  std::string path_;
};

TempDir& Dir() {
  static TempDir dir;
  return dir;
}

const char* const kSuffixes[] = {"", "-wal", "-shm", "-journal"};

void RemoveDatabase(const std::string& path) {
  std::error_code ignored;
  for (const char* suffix : kSuffixes) fs::remove(path + suffix, ignored);
}

// Copies a database as it is on disk (main file and WAL; the -shm index is rebuilt on open, as
// after a reboot).
bool CopyDatabase(const std::string& from, const std::string& to) {
  RemoveDatabase(to);
  std::error_code error;
  for (const char* suffix : {"", "-wal"}) {
    if (!fs::exists(from + suffix)) continue;
    fs::copy_file(from + suffix, to + suffix, fs::copy_options::overwrite_existing, error);
    if (error) return false;
  }
  return true;
}

double FileMegabytes(const std::string& path) {
  std::error_code error;
  double bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    const std::uintmax_t size = fs::file_size(path + suffix, error);
    if (!error) bytes += static_cast<double>(size);
  }
  return bytes / 1e6;
}

bool Ok(benchmark::State& state, const Status& status) {
  if (status.ok()) return true;
  state.SkipWithError(status.message.c_str());
  return false;
}

PipelineSpec AvgPipeline() {
  PipelineSpec spec;
  spec.name = "avg_temp";
  spec.window = *WindowSpec::Tumbling(10 * kMinute);
  spec.watermark_delay = 30 * kMinute;
  spec.aggregates = {*ParseAggregate("avg_temp", "avg(temperature)")};
  return spec;
}

std::vector<std::string> DeviceNames(int count) {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) names.push_back("device-" + std::to_string(i));
  return names;
}

std::uint64_t PayloadHash(std::uint64_t i) { return (i + 1) * 0x9e3779b97f4a7c15ULL; }
std::uint64_t MessageHash(std::uint64_t i) { return (i + 1) * 0xc2b2ae3d27d4eb4fULL; }

double Micros(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Per-iteration timings, reported as p50/p99/p99.9/max counters in µs.
class Latencies {
 public:
  explicit Latencies(benchmark::State& state) {
    micros_.reserve(static_cast<std::size_t>(state.max_iterations));
  }
  void Add(Steady::duration d) { micros_.push_back(Micros(d)); }
  void Report(benchmark::State& state) {
    if (micros_.empty()) return;
    std::sort(micros_.begin(), micros_.end());
    const auto at = [&](double q) {
      return micros_[static_cast<std::size_t>(q * static_cast<double>(micros_.size() - 1))];
    };
    state.counters["p50_us"] = at(0.5);
    state.counters["p99_us"] = at(0.99);
    state.counters["p999_us"] = at(0.999);
    state.counters["max_us"] = micros_.back();
  }

 private:
  std::vector<double> micros_;
};

// ---- Per-message path ----

void BM_PerMessage_ProcessCommit(benchmark::State& state) {
  const std::string path = Dir().path() + "/per_message.db";
  RemoveDatabase(path);
  StoreOptions options;
  options.path = path;
  options.synchronous =
      state.range(0) != 0 ? sqlite::Synchronous::kFull : sqlite::Synchronous::kNormal;
  auto opened = StateStore::Open(options);
  if (!Ok(state, opened.status())) return;
  StateStore& store = **opened;
  ManualClock clock(kStart);
  Engine engine({AvgPipeline()}, clock);
  if (!Ok(state, store.Recover(engine).status())) return;

  const std::vector<std::string> devices = DeviceNames(kStreamDevices);
  FieldValue temperature{"temperature", 21.5, true};
  Output out;
  std::uint64_t i = 0;
  // Warm-up, in memory only: the same stream for 45 minutes of event time, so every device
  // holds 4 open windows (with their duplicate-suppression fingerprints) and has begun closing;
  // then one full checkpoint.
  Millis now = kStart;
  for (; now < kStart + 45 * kMinute; now += kSecond) {
    for (const std::string& device : devices) {
      Record r{device, now, PayloadHash(i++), {&temperature, 1}};
      engine.ProcessAt(r, now, out);
      out.clear();
    }
  }
  if (!Ok(state, store.Checkpoint(engine, now))) return;
  const Millis base = now;
  const std::uint64_t first = i;

  Latencies latencies(state);
  std::int64_t checkpoints = 0, rejected = 0;
  Steady::duration total_time{}, checkpoint_time{}, after_checkpoint_time{};
  bool checkpointed = false;  // the previous message took a checkpoint
  for (auto _ : state) {
    const std::uint64_t n = i - first;
    now = base + static_cast<Millis>(n / kStreamDevices) * kSecond;
    Record r{devices[n % kStreamDevices], now, PayloadHash(i), {&temperature, 1}};
    const Steady::time_point begin = Steady::now();
    if (engine.ProcessAt(r, now, out).rejected) ++rejected;
    Status status = store.CommitRecord(r, now, MessageHash(i), engine, out);
    Steady::time_point end = Steady::now();
    if (checkpointed) after_checkpoint_time += end - begin;
    checkpointed = false;
    if (status.ok() && store.CheckpointDue(now)) {
      const Steady::time_point checkpoint_begin = end;
      status = store.Checkpoint(engine, now);
      end = Steady::now();
      checkpoint_time += end - checkpoint_begin;
      ++checkpoints;
      checkpointed = true;
    }
    latencies.Add(end - begin);
    total_time += end - begin;
    out.clear();
    ++i;
    if (!Ok(state, status)) break;
  }
  state.SetItemsProcessed(state.iterations());
  latencies.Report(state);
  const double per_checkpoint = checkpoints > 0 ? 1.0 / static_cast<double>(checkpoints) : 0;
  state.counters["checkpoints"] = static_cast<double>(checkpoints);
  state.counters["ckpt_ms"] = Ms(checkpoint_time) * per_checkpoint;
  // The message after a checkpoint commits on top of the checkpoint's WAL frames.
  state.counters["after_ckpt_ms"] = Ms(after_checkpoint_time) * per_checkpoint;
  state.counters["ckpt_share"] = total_time.count() > 0 ? Ms(checkpoint_time) / Ms(total_time) : 0;
  state.counters["open_windows"] = static_cast<double>(engine.pipeline(0).Metrics().open_windows);
  state.counters["rejected"] = static_cast<double>(rejected);
  state.counters["db_mb"] = FileMegabytes(path);
  auto reader = sqlite::Database::OpenReader(path);  // a look at the file beside the writer
  const auto megabytes = [&](const char* sql) {
    if (!reader.ok()) return 0.0;
    auto q = reader->Prepare(sql);
    if (!q.ok()) return 0.0;
    auto step = q->Step();
    return step.ok() && *step == sqlite::StepResult::kRow ? q->ColumnDouble(0) / 1e6 : 0.0;
  };
  state.counters["ckpt_state_mb"] = megabytes("SELECT total(length(state)) FROM device_state");
  state.counters["fingerprints_mb"] = megabytes("SELECT total(length(fps)) FROM fingerprints");
}

void BM_Baseline_RawSqliteInsertPerTxn(benchmark::State& state) {
  const std::string path = Dir().path() + "/raw_insert.db";
  RemoveDatabase(path);
  auto db = sqlite::Database::OpenWriter(
      path, state.range(0) != 0 ? sqlite::Synchronous::kFull : sqlite::Synchronous::kNormal);
  if (!Ok(state, db.status())) return;
  if (!Ok(state, db->Exec("CREATE TABLE log(seq INTEGER PRIMARY KEY, arrival INTEGER NOT NULL, "
                          "hash INTEGER NOT NULL, body BLOB NOT NULL)"))) {
    return;
  }
  auto begin_sql = db->Prepare("BEGIN IMMEDIATE");
  auto insert = db->Prepare("INSERT INTO log(arrival, hash, body) VALUES (?, ?, ?)");
  auto commit = db->Prepare("COMMIT");
  if (!Ok(state, begin_sql.status()) || !Ok(state, insert.status()) ||
      !Ok(state, commit.status())) {
    return;
  }
  const std::string body(48, 'x');  // about the size of a logged one-field record
  Latencies latencies(state);
  std::uint64_t i = 0;
  for (auto _ : state) {
    const Steady::time_point begin = Steady::now();
    Status status = begin_sql->Run();
    if (status.ok()) {
      insert->Bind(1, kStart + static_cast<std::int64_t>(i));
      insert->Bind(2, static_cast<std::int64_t>(MessageHash(i)));
      insert->BindBlob(3, body);
      status = insert->Run();
    }
    if (status.ok()) status = commit->Run();
    latencies.Add(Steady::now() - begin);
    ++i;
    if (!Ok(state, status)) break;
  }
  state.SetItemsProcessed(state.iterations());
  latencies.Report(state);
  state.counters["db_mb"] = FileMegabytes(path);
}

// ---- Restore ----

// A store with kRestoreWindows open windows (kRestoreWindows / per_device devices), one
// checkpoint, then `tail` records logged after it. The writer stays open (as under kill -9), so
// its files are copied in the state a crash leaves.
struct RestoreStore {
  std::string path;
  std::int64_t devices = 0;
  std::unique_ptr<StateStore> writer;
  std::string error;
};

const RestoreStore& BuildRestoreStore(int per_device, int tail) {
  static std::map<std::pair<int, int>, RestoreStore> built;
  RestoreStore& s = built[{per_device, tail}];
  if (!s.path.empty()) return s;
  s.path =
      Dir().path() + "/restore-" + std::to_string(per_device) + "-" + std::to_string(tail) + ".db";
  s.devices = kRestoreWindows / per_device;
  StoreOptions options;
  options.path = s.path;
  auto opened = StateStore::Open(options);
  if (!opened.ok()) {
    s.error = opened.status().message;
    return s;
  }
  s.writer = std::move(*opened);
  ManualClock clock(kStart);
  Engine engine({AvgPipeline()}, clock);
  const std::vector<std::string> devices = DeviceNames(static_cast<int>(s.devices));
  FieldValue temperature{"temperature", 21.5, true};
  Output out;
  std::uint64_t i = 0;
  Status status = s.writer->Recover(engine).status();
  // One reading per window: minute 1 of windows 0..per_device-1. The newest is at most minute
  // 31, so every watermark stays below 10 minutes and nothing closes.
  Millis now = kStart;
  for (int w = 0; w < per_device; ++w) {
    now = kStart + w * 10 * kMinute + kMinute;
    for (const std::string& device : devices) {
      Record r{device, now, PayloadHash(i++), {&temperature, 1}};
      engine.ProcessAt(r, now, out);
    }
  }
  if (status.ok()) status = s.writer->Checkpoint(engine, now);
  // The tail: logged records after the checkpoint, in windows still open (minute 2 onwards of
  // the newest window, one second apart per round of devices).
  for (int k = 0; k < tail && status.ok(); ++k) {
    const std::uint64_t n = static_cast<std::uint64_t>(k);
    now = kStart + (per_device - 1) * 10 * kMinute + 2 * kMinute +
          static_cast<Millis>(n / devices.size()) * kSecond;
    Record r{devices[n % devices.size()], now, PayloadHash(i), {&temperature, 1}};
    engine.ProcessAt(r, now, out);
    status = s.writer->CommitRecord(r, now, MessageHash(i), engine, out);
    ++i;
  }
  if (out.closed.size() + out.late.size() > 0 && status.ok()) {
    status = {sqlite::codes::kError, "restore fixture closed windows or produced late records"};
  }
  if (!status.ok()) s.error = status.message;
  return s;
}

void BM_Restore_OpenRecover(benchmark::State& state) {
  const RestoreStore& built =
      BuildRestoreStore(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  if (!built.error.empty()) {
    state.SkipWithError(built.error.c_str());
    return;
  }
  const std::string path = Dir().path() + "/restore-copy.db";
  StoreOptions options;
  options.path = path;
  ManualClock clock(kStart);
  RecoveryStats stats;
  Steady::duration open_time{}, recover_time{};
  for (auto _ : state) {
    if (!CopyDatabase(built.path, path)) {
      state.SkipWithError("copying the database failed");
      break;
    }
    const Steady::time_point begin = Steady::now();
    auto store = StateStore::Open(options);
    const Steady::time_point opened = Steady::now();
    if (!Ok(state, store.status())) break;
    Engine engine({AvgPipeline()}, clock);
    auto recovered = (*store)->Recover(engine);
    const Steady::time_point end = Steady::now();
    state.SetIterationTime(std::chrono::duration<double>(end - begin).count());
    open_time += opened - begin;
    recover_time += end - opened;
    if (!Ok(state, recovered.status())) break;
    stats = *recovered;
    // The engine and the store are destroyed here, outside the timed interval.
  }
  const auto per_iteration = [&](Steady::duration d) {
    return state.iterations() > 0 ? Ms(d) / static_cast<double>(state.iterations()) : 0;
  };
  state.counters["open_ms"] = per_iteration(open_time);
  state.counters["recover_ms"] = per_iteration(recover_time);
  state.counters["open_windows"] = static_cast<double>(stats.open_windows);
  state.counters["devices"] = static_cast<double>(stats.devices);
  state.counters["replayed"] = static_cast<double>(stats.replayed);
  state.counters["db_mb"] = FileMegabytes(built.path);
  RemoveDatabase(path);
}

// Reads every column of every row of the checkpoint tables through a fresh connection.
void BM_Baseline_RawCheckpointScan(benchmark::State& state) {
  const RestoreStore& built = BuildRestoreStore(static_cast<int>(state.range(0)), 0);
  if (!built.error.empty()) {
    state.SkipWithError(built.error.c_str());
    return;
  }
  const std::string path = Dir().path() + "/scan-copy.db";
  std::int64_t rows = 0, bytes = 0;
  for (auto _ : state) {
    if (!CopyDatabase(built.path, path)) {
      state.SkipWithError("copying the database failed");
      break;
    }
    const Steady::time_point begin = Steady::now();
    auto db = sqlite::Database::OpenWriter(path, sqlite::Synchronous::kNormal);
    if (!Ok(state, db.status())) break;
    rows = bytes = 0;
    Status status;
    for (const char* table : kCheckpointTables) {
      auto select = db->Prepare(std::string("SELECT * FROM ") + table);
      if (!select.ok()) {
        status = select.status();
        break;
      }
      sqlite3_stmt* raw = select->raw();
      const int columns = select->ColumnCount();
      StatusOr<sqlite::StepResult> step = select->Step();
      for (; step.ok() && *step == sqlite::StepResult::kRow; step = select->Step()) {
        ++rows;
        for (int c = 0; c < columns; ++c) {
          switch (sqlite3_column_type(raw, c)) {
            case SQLITE_INTEGER:
              benchmark::DoNotOptimize(sqlite3_column_int64(raw, c));
              break;
            case SQLITE_FLOAT:
              benchmark::DoNotOptimize(sqlite3_column_double(raw, c));
              break;
            case SQLITE_TEXT:
            case SQLITE_BLOB:
              bytes += static_cast<std::int64_t>(select->ColumnBlob(c).size());
              break;
            default:
              break;
          }
        }
      }
      if (!step.ok()) {
        status = step.status();
        break;
      }
    }
    const Steady::time_point end = Steady::now();
    state.SetIterationTime(std::chrono::duration<double>(end - begin).count());
    if (!Ok(state, status)) break;
  }
  state.SetLabel("device_state + fingerprints");
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["blob_mb"] = static_cast<double>(bytes) / 1e6;
  RemoveDatabase(path);
}

// Arg full: 0 = synchronous=NORMAL, 1 = FULL. Real time: the work waits on the disk.
BENCHMARK(BM_Baseline_RawSqliteInsertPerTxn)->ArgName("full")->Arg(0)->Arg(1)->UseRealTime();
// Fixed iteration counts, so each run spans several checkpoints (one per 10,000 messages: the
// 10 s checkpoint_interval at this stream's 1,000 messages/s).
BENCHMARK(BM_PerMessage_ProcessCommit)->ArgName("full")->Arg(0)->Iterations(100000)->UseRealTime();
BENCHMARK(BM_PerMessage_ProcessCommit)->ArgName("full")->Arg(1)->Iterations(30000)->UseRealTime();
// Args: open windows per device (100,000 in all), records logged after the checkpoint.
BENCHMARK(BM_Baseline_RawCheckpointScan)
    ->ArgName("per_device")
    ->Arg(4)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Restore_OpenRecover)
    ->ArgNames({"per_device", "tail"})
    ->Args({4, 0})
    ->Args({1, 0})
    ->Args({4, 50000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tidemark

BENCHMARK_MAIN();
