#include "storage/state_store.h"

#include <algorithm>

#include "storage/codec.h"
#include "storage/schema.h"
#include "storage/state_store_internal.h"

namespace tidemark {

using namespace store_internal;
using sqlite::StepResult;

StateStore::StateStore(sqlite::Database db, StoreOptions options)
    : db_(std::move(db)),
      options_(std::move(options)),
      recent_(static_cast<std::size_t>(std::max<std::int64_t>(options_.redelivery_window, 1))) {}

StateStore::~StateStore() = default;

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const StoreOptions& options) {
  auto db = sqlite::Database::OpenWriter(options.path, options.synchronous);
  if (!db.ok()) return db.status();
  if (Status s = db->QuickCheck(); !s.ok()) {
    s.message = "database " + options.path + " is damaged (" + s.message +
                "); refusing to start: restore it from a backup or move it away";
    return s;
  }
  if (Status s = Migrate(*db); !s.ok()) {
    s.message = "database " + options.path + ": " + s.message;
    return s;
  }
  std::unique_ptr<StateStore> store(new StateStore(std::move(db).value(), options));
  if (Status s = store->Prepare(); !s.ok()) return s;
  if (options.max_bytes > 0) {
    if (Status s = store->SetMaxBytes(options.max_bytes); !s.ok()) return s;
  }
  return store;
}

Status StateStore::SetMaxBytes(std::int64_t bytes) {
  constexpr std::int64_t kNoCap = 1073741823;  // SQLite's default max_page_count
  // page_size is 4096 unless the file says otherwise; max_page_count never shrinks a file.
  auto page_size = db_.Prepare("PRAGMA page_size");
  if (!page_size.ok()) return page_size.status();
  if (auto step = page_size->Step(); !step.ok()) return step.status();
  const std::int64_t pages =
      bytes > 0 ? std::max<std::int64_t>(1, bytes / page_size->ColumnInt64(0)) : kNoCap;
  return db_.Exec("PRAGMA max_page_count = " + std::to_string(pages));
}

Status StateStore::Prepare() {
  stmts_ = std::make_unique<Statements>();
  struct Item {
    sqlite::Statement* stmt;
    const char* sql;
  };
  const Item items[] = {
      {&stmts_->append_log,
       "INSERT INTO ingest_log(seq, kind, arrival, message_hash, body) VALUES(?,?,?,?,?)"},
      {&stmts_->begin, "BEGIN IMMEDIATE"},
      {&stmts_->commit, "COMMIT"},
      {&stmts_->rollback, "ROLLBACK"},
      {&stmts_->upsert_final,
       "INSERT OR REPLACE INTO windows(pipeline, device, window_start, window_end, status, "
       "closed_by, closed_at, records, vals) VALUES(?,?,?,?,'final',?,?,?,?)"},
      {&stmts_->insert_outbox, "INSERT INTO outbox(topic, payload) VALUES(?,?)"},
      {&stmts_->trim_outbox, "DELETE FROM outbox WHERE id <= ?"},
      {&stmts_->outbox_oldest, "SELECT coalesce(min(id), 0) FROM outbox"},
      {&stmts_->insert_late,
       "INSERT INTO late_log(pipeline, device, event_time, arrival_time, watermark, "
       "window_start, window_end) VALUES(?,?,?,?,?,?,?)"},
      {&stmts_->insert_rejected,
       "INSERT INTO rejected(reason, topic, device, arrival_time, payload, detail) "
       "VALUES(?,?,?,?,?,?)"},
      {&stmts_->upsert_device_state,
       "INSERT OR REPLACE INTO device_state(pipeline, device, state) VALUES(?,?,?)"},
      {&stmts_->select_device_state,
       "SELECT state FROM device_state WHERE pipeline = ? AND device = ?"},
      {&stmts_->insert_fingerprints,
       "INSERT INTO fingerprints(pipeline, device, max_start, fps) VALUES(?,?,?,?)"},
      {&stmts_->delete_fingerprints, "DELETE FROM fingerprints WHERE chunk = ?"},
      {&stmts_->delete_open_one,
       "DELETE FROM windows WHERE pipeline = ? AND device = ? AND window_start = ? AND "
       "window_end = ? AND +status = 'open'"},  // +: by primary key, not windows_by_status
      {&stmts_->update_open,
       "UPDATE windows SET records = ?, vals = ? WHERE pipeline = ? AND device = ? AND "
       "window_start = ? AND window_end = ? AND +status = 'open'"},
      {&stmts_->insert_open,
       "INSERT OR REPLACE INTO windows(pipeline, device, window_start, window_end, status, "
       "records, vals) VALUES(?,?,?,?,'open',?,?)"},
      {&stmts_->upsert_pipeline,
       "INSERT OR REPLACE INTO pipeline_state(pipeline, max_event_time, records, late, "
       "duplicates, finalized, evicted) VALUES(?,?,?,?,?,?,?)"},
      {&stmts_->upsert_stats,
       "INSERT OR REPLACE INTO device_stats(id, device, records, rejected, last_event_time, "
       "last_arrival_time) VALUES(?,?,?,?,?,?)"},
      {&stmts_->update_stats,
       "UPDATE device_stats SET records = ?, rejected = ?, last_event_time = ?, "
       "last_arrival_time = ? WHERE id = ?"},
      {&stmts_->upsert_checkpoint,
       "INSERT OR REPLACE INTO checkpoint(id, seq, next_seq, total, rejected, written_at) "
       "VALUES(1,?,?,?,?,?)"},
      {&stmts_->trim_log, "DELETE FROM ingest_log WHERE seq <= ?"},
      {&stmts_->trim_late, "DELETE FROM late_log WHERE id <= (SELECT max(id) FROM late_log) - ?"},
      {&stmts_->trim_rejected,
       "DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?"},
      {&stmts_->delete_expired,
       "DELETE FROM windows WHERE (pipeline, device, window_start, window_end) IN ("
       "SELECT pipeline, device, window_start, window_end FROM windows "
       "WHERE status = 'final' AND closed_at < ? LIMIT ?)"},
  };
  for (const Item& item : items) {
    auto stmt = db_.Prepare(item.sql);
    if (!stmt.ok()) return stmt.status();
    *item.stmt = std::move(stmt).value();
  }
  return Status::Ok();
}

bool StateStore::SeenMessage(std::uint64_t message_hash) const {
  return recent_.Contains(message_hash);
}

Status StateStore::AppendLog(int kind, Millis arrival, std::uint64_t message_hash,
                             std::string_view body) {
  sqlite::Statement& q = stmts_->append_log;
  q.Bind(1, last_seq_ + 1);
  q.Bind(2, kind);
  q.Bind(3, arrival);
  q.Bind(4, AsInt(message_hash));
  q.BindBlob(5, body);
  Status s = q.Run();
  if (s.ok() && kind != kLogTick) pending_hash_ = message_hash;
  return s;
}

void StateStore::Committed(Millis arrival) {
  ++last_seq_;
  newest_commit_ = std::max(newest_commit_, arrival);
  if (pending_hash_) recent_.Add(*pending_hash_);
  pending_hash_.reset();
}

Status StateStore::WriteOutput(const Engine& engine, const Output& out) {
  for (const WindowResult& w : out.closed) {
    const PipelineSpec& spec = engine.pipeline(w.pipeline).spec();
    sqlite::Statement& q = stmts_->upsert_final;
    q.Bind(1, std::string_view(spec.name));
    q.Bind(2, std::string_view(w.device));
    q.Bind(3, w.window.start);
    q.Bind(4, w.window.end);
    q.Bind(5, ClosedByName(w.closed_by));
    q.Bind(6, w.closed_at);
    q.Bind(7, w.records);
    q.Bind(8, std::string_view(ValuesJson(spec, w.values)));
    if (Status s = q.Run(); !s.ok()) return s;
    if (options_.outbox) {
      std::string topic, payload;
      if (options_.outbox->Window(spec, w, topic, payload)) {
        if (Status s = AppendOutbox(topic, payload); !s.ok()) return s;
      }
    }
  }
  for (const LateRecord& l : out.late) {
    sqlite::Statement& q = stmts_->insert_late;
    q.Bind(1, std::string_view(engine.pipeline(l.pipeline).spec().name));
    q.Bind(2, std::string_view(l.device));
    q.Bind(3, l.event_time);
    q.Bind(4, l.arrival_time);
    if (l.watermark == kNoTime) {
      q.BindNull(5);
    } else {
      q.Bind(5, l.watermark);
    }
    q.Bind(6, l.missed.start);
    q.Bind(7, l.missed.end);
    if (Status s = q.Run(); !s.ok()) return s;
    if (options_.outbox) {
      std::string topic, payload;
      if (options_.outbox->Late(engine.pipeline(l.pipeline).spec(), l, topic, payload)) {
        if (Status s = AppendOutbox(topic, payload); !s.ok()) return s;
      }
    }
  }
  return Status::Ok();
}

Status StateStore::CommitRecord(const Record& record, Millis arrival, std::uint64_t message_hash,
                                const Engine& engine, const Output& out) {
  Tx tx(*stmts_);
  if (!tx.status().ok()) return tx.status();
  if (Status s = AppendLog(kLogRecord, arrival, message_hash, EncodeRecord(record)); !s.ok()) {
    return s;
  }
  if (Status s = WriteOutput(engine, out); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  Committed(arrival);
  return Status::Ok();
}

Status StateStore::CommitRejected(RejectReason reason, std::string_view detail,
                                  std::string_view topic, std::string_view device, Millis arrival,
                                  std::uint64_t message_hash, std::string_view payload) {
  Tx tx(*stmts_);
  if (!tx.status().ok()) return tx.status();
  if (Status s = AppendLog(kLogRejected, arrival, message_hash, EncodeRejected(reason, device));
      !s.ok()) {
    return s;
  }
  sqlite::Statement& q = stmts_->insert_rejected;
  q.Bind(1, RejectReasonName(reason));
  q.Bind(2, topic);
  q.Bind(3, device);
  q.Bind(4, arrival);
  q.BindBlob(5, payload.substr(0, options_.rejected_payload_max));
  q.Bind(6, detail);
  if (Status s = q.Run(); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  Committed(arrival);
  return Status::Ok();
}

Status StateStore::CommitTick(Millis now, const Engine& engine, const Output& out) {
  if (out.closed.empty() && out.late.empty()) return Status::Ok();
  Tx tx(*stmts_);
  if (!tx.status().ok()) return tx.status();
  if (Status s = AppendLog(kLogTick, now, 0, {}); !s.ok()) return s;
  if (Status s = WriteOutput(engine, out); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  Committed(now);
  return Status::Ok();
}

StatusOr<std::int64_t> StateStore::DeleteExpired(Millis closed_before, std::int64_t batch) {
  sqlite::Statement& q = stmts_->delete_expired;
  q.Bind(1, closed_before);
  q.Bind(2, batch);
  if (Status s = q.Run(); !s.ok()) return s;
  return static_cast<std::int64_t>(db_.Changes());
}

}  // namespace tidemark
