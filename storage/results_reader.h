// ResultsReader: the read side of tidemark's SQLite file, for the HTTP API (README "HTTP API and
// dashboard"): window results by pipeline, device, status and start time; the late-data log;
// rejected samples; device statistics; per-pipeline counts; the size of the database.
//
// Threading: each HTTP handler thread opens its own ResultsReader (one read-only connection,
// statements prepared once in Open). An object is used by one thread at a time. Readers and
// the writer (the gateway's ingest thread, StateStore) never block each other: every call runs
// in one read transaction, so it sees one consistent snapshot, and ends it before returning,
// so the next call sees newer commits and the WAL is never held back between calls.
//
// What is there: final windows and late-log rows are committed with each message; open
// windows, device statistics and pipeline counters as of the last checkpoint (10 s).
//
// Paging: lists take a limit (1..kMaxPageSize) and a keyset cursor `after` (the key of the
// last row of the previous page); a page's `next` is set only when more rows follow, and is
// passed back as `after`. Rows written or deleted between pages shift nothing.
//
// Cost: every query seeks an index for each filter it offers (tests/storage/
// results_reader_test.cc checks the plans), except PipelineCounts, which counts windows by
// scanning the windows_by_status index. A windows query walks the (pipeline, device) groups
// that match its pipeline/device/status filters, seeking the start-time range within each:
// O(log n) per group visited plus the rows returned.
//
// Errors are Status values: a limit out of range is codes::kRange; a database of
// another schema version is refused at Open (the gateway migrates it when it starts).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/read_model.h"
#include "engine/snapshot.h"
#include "engine/time.h"
#include "storage/sqlite.h"

namespace tidemark {

// Device statistics, by device name.
struct DeviceQuery {
  int limit = 100;
  std::optional<std::string> after;  // the device of the last row of the previous page
};

struct DeviceRow {
  std::string device;
  std::int64_t records = 0;  // messages seen, rejected ones included
  std::int64_t rejected = 0;
  std::optional<Millis> last_event_time;
  std::optional<Millis> last_arrival_time;
};

struct DevicePage {
  std::vector<DeviceRow> rows;
  std::optional<std::string> next;
};

struct PipelineSummary {
  std::string pipeline;
  std::int64_t open_windows = 0;   // rows in windows
  std::int64_t final_windows = 0;  // rows in windows (retention deletes old ones)
  bool has_state = false;          // pipeline_state has a row (written at checkpoints)
  std::optional<Millis> max_event_time;
  PipelineCounters counters;
};

class ResultsReader {
 public:
  // Opens `path` read-only. The file must exist with the current schema version.
  static StatusOr<ResultsReader> Open(const std::string& path);

  ResultsReader(ResultsReader&&) noexcept;
  ResultsReader& operator=(ResultsReader&&) noexcept;
  ~ResultsReader();

  StatusOr<WindowPage> Windows(const WindowQuery& q);
  StatusOr<LatePage> Late(const LateQuery& q);
  StatusOr<RejectedPage> Rejected(const RejectedQuery& q);
  StatusOr<DevicePage> Devices(const DeviceQuery& q);
  // Every pipeline that has windows or a pipeline_state row, by name.
  StatusOr<std::vector<PipelineSummary>> PipelineCounts();
  // page_count * page_size of the main file plus the size of the -wal file.
  StatusOr<std::int64_t> DatabaseBytes();

  // Diagnostics (and the tests' index checks): EXPLAIN QUERY PLAN of each statement the call
  // would run, one line per statement, its plan rows separated by "; ".
  StatusOr<std::string> Explain(const WindowQuery& q);
  StatusOr<std::string> Explain(const LateQuery& q);
  StatusOr<std::string> Explain(const RejectedQuery& q);
  StatusOr<std::string> Explain(const DeviceQuery& q);
  StatusOr<std::string> ExplainPipelineCounts();

 private:
  struct Statements;
  struct Group;
  ResultsReader(sqlite::Database db, std::string path);
  Status Prepare();
  StatusOr<bool> FindGroup(const WindowQuery& q, Group& at);
  sqlite::Statement& LateStatement(const LateQuery& q);
  StatusOr<std::string> Plans(std::initializer_list<sqlite::Statement*> statements);

  sqlite::Database db_;
  std::string path_;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace tidemark
