#include "storage/results_reader.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <system_error>
#include <utility>

#include "storage/schema.h"

namespace tidemark {

using sqlite::Statement;
using sqlite::StepResult;

namespace {

constexpr std::int64_t kMinInt = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

Status CheckLimit(int limit) {
  if (limit >= 1 && limit <= kMaxPageSize) return Status::Ok();
  return {sqlite::codes::kRange,
          "limit " + std::to_string(limit) + " is outside 1.." + std::to_string(kMaxPageSize)};
}

std::optional<std::int64_t> OptionalColumn(const Statement& q, int i) {
  if (q.ColumnIsNull(i)) return std::nullopt;
  return q.ColumnInt64(i);
}

// Calls on_row(q) for each row until it returns false or the rows end; then resets `q`, so no
// statement keeps the read transaction (and its WAL snapshot) open.
template <typename OnRow>
Status ForEachRow(Statement& q, OnRow on_row) {
  for (;;) {
    StatusOr<StepResult> step = q.Step();
    if (!step.ok() || *step == StepResult::kDone || !on_row(std::as_const(q))) {
      q.Reset();
      return step.status();
    }
  }
}

// Appends read(q) to `rows` for each row, stopping once `rows` holds `want`.
template <typename Row, typename Read>
Status Collect(Statement& q, std::size_t want, std::vector<Row>& rows, Read read) {
  if (rows.size() >= want) return Status::Ok();
  return ForEachRow(q, [&](const Statement& row) {
    read(row, rows.emplace_back());
    return rows.size() < want;
  });
}

// A page fetched limit + 1 rows: the extra one only says that more follow.
template <typename Page, typename KeyOf>
void Trim(Page& page, int limit, KeyOf key_of) {
  if (page.rows.size() <= static_cast<std::size_t>(limit)) return;
  page.rows.pop_back();
  page.next = key_of(page.rows.back());
}

// Newest-first pages hold ids <= this; none when nothing can be older than the cursor.
std::optional<std::int64_t> IdBound(const std::optional<std::int64_t>& after) {
  if (!after) return kMaxInt;
  if (*after == kMinInt) return std::nullopt;
  return *after - 1;
}

// A read transaction around one call: BEGIN (deferred: the snapshot is taken by the first read)
// .. COMMIT.
class ReadTx {
 public:
  ReadTx(Statement& begin, Statement& end) : end_(end) { status_ = begin.Run(); }
  ~ReadTx() {
    if (status_.ok()) (void)end_.Run();
  }
  ReadTx(const ReadTx&) = delete;
  ReadTx& operator=(const ReadTx&) = delete;
  const Status& status() const { return status_; }

 private:
  Statement& end_;
  Status status_;
};

void ReadWindow(const Statement& q, WindowRow& w) {
  w.pipeline = q.ColumnText(0);
  w.device = q.ColumnText(1);
  w.start = q.ColumnInt64(2);
  w.end = q.ColumnInt64(3);
  w.status = q.ColumnText(4) == "final" ? WindowStatus::kFinal : WindowStatus::kOpen;  // CHECK
  w.closed_by = q.ColumnText(5);
  w.closed_at = OptionalColumn(q, 6);
  w.records = q.ColumnInt64(7);
  w.values_json = q.ColumnText(8);
}

void ReadLate(const Statement& q, LateRow& l) {
  l.id = q.ColumnInt64(0);
  l.pipeline = q.ColumnText(1);
  l.device = q.ColumnText(2);
  l.event_time = q.ColumnInt64(3);
  l.arrival_time = q.ColumnInt64(4);
  l.watermark = OptionalColumn(q, 5);
  l.window_start = q.ColumnInt64(6);
  l.window_end = q.ColumnInt64(7);
}

void ReadRejected(const Statement& q, RejectedRow& r) {
  r.id = q.ColumnInt64(0);
  r.reason = q.ColumnText(1);
  r.topic = q.ColumnText(2);
  r.device = q.ColumnText(3);
  r.arrival_time = q.ColumnInt64(4);
  r.payload = q.ColumnBlob(5);
  r.detail = q.ColumnText(6);
}

void ReadDevice(const Statement& q, DeviceRow& d) {
  d.device = q.ColumnText(0);
  d.records = q.ColumnInt64(1);
  d.rejected = q.ColumnInt64(2);
  d.last_event_time = OptionalColumn(q, 3);
  d.last_arrival_time = OptionalColumn(q, 4);
}

}  // namespace

struct ResultsReader::Statements {
  Statement begin, end;
  // Windows, with and without a status filter ([1]): `walk` finds the first (pipeline, device)
  // group at or after a key, `rows` reads one group's rows in a start-time range.
  Statement walk[2], rows[2];
  Statement late[4];  // by filter: 1 pipeline, 2 device
  Statement rejected[2], devices[2];
  Statement window_counts, pipeline_state, page_count, page_size;
};

// A (pipeline, device) group of windows: the first two columns of their key.
struct ResultsReader::Group {
  std::string pipeline, device;
  friend auto operator<=>(const Group&, const Group&) = default;
};

ResultsReader::ResultsReader(sqlite::Database db, std::string path)
    : db_(std::move(db)), path_(std::move(path)), stmts_(std::make_unique<Statements>()) {}
ResultsReader::ResultsReader(ResultsReader&&) noexcept = default;
ResultsReader& ResultsReader::operator=(ResultsReader&&) noexcept = default;
ResultsReader::~ResultsReader() = default;

StatusOr<ResultsReader> ResultsReader::Open(const std::string& path) {
  auto db = sqlite::Database::OpenReader(path);
  if (!db.ok()) return db.status();
  auto version = db->UserVersion();
  if (!version.ok()) return version.status();
  if (*version != kSchemaVersion) {
    return Status{
        sqlite::codes::kError,
        "database " + path + " has schema version " + std::to_string(*version) +
            ", this reader needs " + std::to_string(kSchemaVersion) +
            (*version < kSchemaVersion ? " (the gateway migrates it when it starts)" : "")};
  }
  ResultsReader reader(std::move(db).value(), path);
  if (Status s = reader.Prepare(); !s.ok()) return s;
  return reader;
}

Status ResultsReader::Prepare() {
  const std::string window_columns =
      "SELECT pipeline, device, window_start, window_end, status, closed_by, closed_at, "
      "records, vals FROM windows ";
  // (window_start, window_end) > (?3, ?4) also serves as the lower bound of the range.
  const std::string group_rows =
      "pipeline = ?1 AND device = ?2 AND (window_start, window_end) > (?3, ?4) AND "
      "window_start < ?5 ORDER BY window_start, window_end";
  std::vector<std::pair<Statement*, std::string>> items = {
      {&stmts_->begin, "BEGIN"},
      {&stmts_->end, "COMMIT"},
      {&stmts_->walk[0],
       "SELECT pipeline, device FROM windows WHERE (pipeline, device) >= (?1, ?2) "
       "ORDER BY pipeline, device LIMIT 1"},
      {&stmts_->walk[1],
       "SELECT pipeline, device FROM windows INDEXED BY windows_by_status WHERE status = ?3 "
       "AND (pipeline, device) >= (?1, ?2) ORDER BY pipeline, device LIMIT 1"},
      {&stmts_->rows[0], window_columns + "WHERE " + group_rows},
      {&stmts_->rows[1],
       window_columns + "INDEXED BY windows_by_status WHERE status = ?6 AND " + group_rows},
      {&stmts_->rejected[0],
       "SELECT id, reason, topic, device, arrival_time, payload, detail FROM rejected "
       "WHERE id <= ?1 ORDER BY id DESC LIMIT ?2"},
      {&stmts_->rejected[1],
       "SELECT id, reason, topic, device, arrival_time, payload, detail FROM rejected "
       "WHERE id <= ?1 AND reason = ?3 ORDER BY id DESC LIMIT ?2"},
      {&stmts_->devices[0],
       "SELECT device, records, rejected, last_event_time, last_arrival_time FROM device_stats "
       "ORDER BY device LIMIT ?1"},
      {&stmts_->devices[1],
       "SELECT device, records, rejected, last_event_time, last_arrival_time FROM device_stats "
       "WHERE device > ?2 ORDER BY device LIMIT ?1"},
      {&stmts_->window_counts,
       "SELECT status, pipeline, count(*) FROM windows INDEXED BY windows_by_status "
       "GROUP BY status, pipeline"},
      {&stmts_->pipeline_state,
       "SELECT pipeline, max_event_time, records, late, duplicates, finalized, evicted "
       "FROM pipeline_state"},
      {&stmts_->page_count, "PRAGMA page_count"},
      {&stmts_->page_size, "PRAGMA page_size"},
  };
  for (int filter = 0; filter < 4; ++filter) {
    items.emplace_back(&stmts_->late[filter],
                       std::string("SELECT id, pipeline, device, event_time, arrival_time, "
                                   "watermark, window_start, window_end FROM late_log "
                                   "WHERE id <= ?1") +
                           (filter & 1 ? " AND pipeline = ?3" : "") +
                           (filter & 2 ? " AND device = ?4" : "") + " ORDER BY id DESC LIMIT ?2");
  }
  for (auto& [stmt, sql] : items) {
    auto prepared = db_.Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(prepared).value();
  }
  return Status::Ok();
}

StatusOr<bool> ResultsReader::FindGroup(const WindowQuery& q, Group& at) {
  if (!q.pipeline.empty() && !q.device.empty()) {  // a single group: nothing to walk
    return at.pipeline == q.pipeline && at.device == q.device;
  }
  Statement& walk = stmts_->walk[q.status ? 1 : 0];
  for (;;) {
    walk.Bind(1, at.pipeline);
    walk.Bind(2, at.device);
    if (q.status) walk.Bind(3, WindowStatusName(*q.status));
    std::optional<Group> found;
    Status s = ForEachRow(walk, [&](const Statement& row) {
      found = Group{std::string(row.ColumnText(0)), std::string(row.ColumnText(1))};
      return false;
    });
    if (!s.ok()) return s;
    if (!found || (!q.pipeline.empty() && found->pipeline != q.pipeline)) return false;
    if (q.device.empty() || found->device == q.device) {
      at = std::move(*found);
      return true;
    }
    // Seek q.device in this pipeline, or in the next one once past it.
    if (found->device > q.device) found->pipeline.push_back('\0');
    at = {std::move(found->pipeline), q.device};
  }
}

StatusOr<WindowPage> ResultsReader::Windows(const WindowQuery& q) {
  if (Status s = CheckLimit(q.limit); !s.ok()) return s;
  WindowPage page;
  // Every window has start < end, so start < kMaxInt and (start, end) > (from, kMinInt) are
  // exactly "no upper bound" and "start >= from".
  const Millis from = q.from.value_or(kMinInt), to = q.to.value_or(kMaxInt);
  if (from >= to) return page;
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  const std::size_t want = static_cast<std::size_t>(q.limit) + 1;
  // Groups from the later of the filters' first one and the cursor's ("" sorts first).
  Group at{q.pipeline, q.device};
  if (q.after) at = std::max(at, Group{q.after->pipeline, q.after->device});
  Statement& rows = stmts_->rows[q.status ? 1 : 0];
  while (page.rows.size() < want) {
    StatusOr<bool> found = FindGroup(q, at);
    if (!found.ok()) return found.status();
    if (!*found) break;
    std::pair<Millis, Millis> above{from, kMinInt};
    if (q.after && q.after->pipeline == at.pipeline && q.after->device == at.device) {
      above = std::max(above, {q.after->start, q.after->end});
    }
    rows.Bind(1, at.pipeline);
    rows.Bind(2, at.device);
    rows.Bind(3, above.first);
    rows.Bind(4, above.second);
    rows.Bind(5, to);
    if (q.status) rows.Bind(6, WindowStatusName(*q.status));
    if (Status s = Collect(rows, want, page.rows, ReadWindow); !s.ok()) return s;
    at.device.push_back('\0');  // the smallest device after this one in BINARY order
  }
  Trim(page, q.limit, [](const WindowRow& w) { return w.key(); });
  return page;
}

Statement& ResultsReader::LateStatement(const LateQuery& q) {
  return stmts_->late[(q.pipeline.empty() ? 0 : 1) | (q.device.empty() ? 0 : 2)];
}

StatusOr<LatePage> ResultsReader::Late(const LateQuery& q) {
  if (Status s = CheckLimit(q.limit); !s.ok()) return s;
  LatePage page;
  const std::optional<std::int64_t> max_id = IdBound(q.after);
  if (!max_id) return page;
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  Statement& stmt = LateStatement(q);
  stmt.Bind(1, *max_id);
  stmt.Bind(2, q.limit + 1);
  if (!q.pipeline.empty()) stmt.Bind(3, q.pipeline);
  if (!q.device.empty()) stmt.Bind(4, q.device);
  const auto want = static_cast<std::size_t>(q.limit) + 1;
  if (Status s = Collect(stmt, want, page.rows, ReadLate); !s.ok()) return s;
  Trim(page, q.limit, [](const LateRow& l) { return l.id; });
  return page;
}

StatusOr<RejectedPage> ResultsReader::Rejected(const RejectedQuery& q) {
  if (Status s = CheckLimit(q.limit); !s.ok()) return s;
  RejectedPage page;
  const std::optional<std::int64_t> max_id = IdBound(q.after);
  if (!max_id) return page;
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  Statement& stmt = stmts_->rejected[q.reason.empty() ? 0 : 1];
  stmt.Bind(1, *max_id);
  stmt.Bind(2, q.limit + 1);
  if (!q.reason.empty()) stmt.Bind(3, q.reason);
  const auto want = static_cast<std::size_t>(q.limit) + 1;
  if (Status s = Collect(stmt, want, page.rows, ReadRejected); !s.ok()) return s;
  Trim(page, q.limit, [](const RejectedRow& r) { return r.id; });
  return page;
}

StatusOr<DevicePage> ResultsReader::Devices(const DeviceQuery& q) {
  if (Status s = CheckLimit(q.limit); !s.ok()) return s;
  DevicePage page;
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  Statement& stmt = stmts_->devices[q.after ? 1 : 0];
  stmt.Bind(1, q.limit + 1);
  if (q.after) stmt.Bind(2, *q.after);
  const auto want = static_cast<std::size_t>(q.limit) + 1;
  if (Status s = Collect(stmt, want, page.rows, ReadDevice); !s.ok()) return s;
  Trim(page, q.limit, [](const DeviceRow& d) { return d.device; });
  return page;
}

StatusOr<std::vector<PipelineSummary>> ResultsReader::PipelineCounts() {
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  std::map<std::string, PipelineSummary, std::less<>> by_name;
  auto entry = [&](std::string_view name) -> PipelineSummary& {
    PipelineSummary& p = by_name[std::string(name)];
    p.pipeline = name;
    return p;
  };
  Status s = ForEachRow(stmts_->window_counts, [&](const Statement& row) {
    PipelineSummary& p = entry(row.ColumnText(1));
    (row.ColumnText(0) == "final" ? p.final_windows : p.open_windows) = row.ColumnInt64(2);
    return true;
  });
  if (!s.ok()) return s;
  s = ForEachRow(stmts_->pipeline_state, [&](const Statement& row) {
    PipelineSummary& p = entry(row.ColumnText(0));
    p.has_state = true;
    p.max_event_time = OptionalColumn(row, 1);
    p.counters = {row.ColumnInt64(2), row.ColumnInt64(3), row.ColumnInt64(4), row.ColumnInt64(5),
                  row.ColumnInt64(6)};
    return true;
  });
  if (!s.ok()) return s;
  std::vector<PipelineSummary> out;
  for (auto& [name, summary] : by_name) out.push_back(std::move(summary));
  return out;
}

StatusOr<std::int64_t> ResultsReader::DatabaseBytes() {
  ReadTx tx(stmts_->begin, stmts_->end);
  if (!tx.status().ok()) return tx.status();
  std::int64_t pages = 0, page_size = 0;
  Status s = ForEachRow(stmts_->page_count, [&](const Statement& row) {
    pages = row.ColumnInt64(0);
    return false;
  });
  if (s.ok()) {
    s = ForEachRow(stmts_->page_size, [&](const Statement& row) {
      page_size = row.ColumnInt64(0);
      return false;
    });
  }
  if (!s.ok()) return s;
  std::error_code error;  // no -wal file (none yet, or removed at the last close): 0 bytes
  const std::uintmax_t wal = std::filesystem::file_size(path_ + "-wal", error);
  return pages * page_size + (error ? 0 : static_cast<std::int64_t>(wal));
}

StatusOr<std::string> ResultsReader::Plans(std::initializer_list<Statement*> statements) {
  std::string out;
  for (Statement* stmt : statements) {
    auto explain = db_.Prepare(std::string("EXPLAIN QUERY PLAN ") + sqlite3_sql(stmt->raw()));
    if (!explain.ok()) return explain.status();
    Status s = ForEachRow(*explain, [&](const Statement& row) {
      out.append(row.ColumnText(3)).append("; ");
      return true;
    });
    if (!s.ok()) return s;
    out += '\n';
  }
  return out;
}

StatusOr<std::string> ResultsReader::Explain(const WindowQuery& q) {
  const int status = q.status ? 1 : 0;
  if (!q.pipeline.empty() && !q.device.empty()) return Plans({&stmts_->rows[status]});
  return Plans({&stmts_->walk[status], &stmts_->rows[status]});
}

StatusOr<std::string> ResultsReader::Explain(const LateQuery& q) {
  return Plans({&LateStatement(q)});
}

StatusOr<std::string> ResultsReader::Explain(const RejectedQuery& q) {
  return Plans({&stmts_->rejected[q.reason.empty() ? 0 : 1]});
}

StatusOr<std::string> ResultsReader::Explain(const DeviceQuery& q) {
  return Plans({&stmts_->devices[q.after ? 1 : 0]});
}

StatusOr<std::string> ResultsReader::ExplainPipelineCounts() {
  return Plans({&stmts_->window_counts, &stmts_->pipeline_state});
}

}  // namespace tidemark
