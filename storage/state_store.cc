#include "storage/state_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "storage/codec.h"
#include "storage/schema.h"

namespace tidemark {

using sqlite::StepResult;

namespace {

enum LogKind : int { kLogRecord = 0, kLogRejected = 1, kLogTick = 2 };

Status Corrupt(const std::string& what) { return {sqlite::codes::kCorrupt, what}; }

std::int64_t AsInt(std::uint64_t v) { return static_cast<std::int64_t>(v); }

std::string EncodeRejected(RejectReason reason, std::string_view device) {
  std::string out(1, static_cast<char>(reason));
  out.append(device);
  return out;
}

}  // namespace

// A device's rows on disk as of the last checkpoint that wrote it (or as loaded), so that a
// checkpoint writes only what changed.
struct StateStore::DiskDevice {
  struct OpenRow {
    Millis start = 0, end = 0;
    std::int64_t records = 0;
  };
  struct FingerprintRow {
    Millis max_start = 0;
    std::int64_t chunk = 0;
  };
  std::vector<OpenRow> open;                     // windows rows with status 'open', by start
  std::vector<FingerprintRow> fingerprint_rows;  // its fingerprints rows
  std::uint32_t inline_fingerprints = 0;         // in its device_state blob
};

struct StateStore::Statements {
  sqlite::Statement begin, commit, rollback, append_log, upsert_final, insert_late, insert_rejected,
      upsert_device_state, select_device_state, insert_fingerprints, delete_fingerprints,
      delete_open_one, insert_open, update_open, upsert_pipeline, upsert_stats, update_stats,
      upsert_checkpoint, trim_log, trim_late, trim_rejected, delete_expired, insert_outbox,
      trim_outbox, outbox_oldest;
};

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
  if (options.max_bytes > 0) {
    // page_size is 4096 unless the file says otherwise; max_page_count never shrinks a file.
    auto page_size = db->Prepare("PRAGMA page_size");
    if (!page_size.ok()) return page_size.status();
    if (auto step = page_size->Step(); !step.ok()) return step.status();
    const std::int64_t pages =
        std::max<std::int64_t>(1, options.max_bytes / page_size->ColumnInt64(0));
    if (Status s = db->Exec("PRAGMA max_page_count = " + std::to_string(pages)); !s.ok()) return s;
  }
  std::unique_ptr<StateStore> store(new StateStore(std::move(db).value(), options));
  if (Status s = store->Prepare(); !s.ok()) return s;
  return store;
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

std::vector<StateStore::DiskDevice>& StateStore::DiskDevices(std::string_view pipeline) {
  for (auto& [name, devices] : disk_) {
    if (name == pipeline) return devices;
  }
  return disk_.emplace_back(std::string(pipeline), std::vector<DiskDevice>{}).second;
}

namespace {

std::size_t FingerprintCount(const DeviceSnapshot& d) {
  std::size_t n = 0;
  for (const WindowSnapshot& w : d.windows) n += w.fingerprints.size();
  return n;
}

}  // namespace

// Writes what changed of a device since `disk`, which it updates: the small part of its state
// and the newest fingerprints to device_state, older fingerprints as fingerprints rows
// (deleting those whose windows have all closed), and its open windows' rows that are new or
// changed.
//
// Fingerprints: `d` carries those added since the device's previous checkpoint. Up to
// kInlineFingerprints ride in the device_state blob (rewritten anyway), the previous blob's
// ones still of open windows included; past that, the previous blob's go to a fingerprints row
// (and the new ones too if they alone are more). So a device that gets a few records between
// checkpoints writes a row every few checkpoints, and one with a few in all (100,000 devices,
// a reading each) has no row to restore.
Status StateStore::WriteDevice(const PipelineSpec& spec, DeviceSnapshot& d, DiskDevice& disk) {
  constexpr std::size_t kInlineFingerprints = 64;
  Statements& st = *stmts_;
  const std::string_view pipeline = spec.name;
  const std::string_view device = d.device;
  // A fingerprint's window has closed once the first open window starts after it: closed
  // windows never reopen, and a window opened later starts after every fingerprint's window of
  // those closed (sessions included: a record is late unless its own session ends after the
  // closed ones). Groups are keyed by their window's start when written (storage/codec.h).
  const Millis front =
      d.windows.empty() ? std::numeric_limits<Millis>::max() : d.windows.front().window.start;

  DeviceSnapshot previous;  // the previous blob's fingerprints of open windows
  if (disk.inline_fingerprints > 0) {
    st.select_device_state.Bind(1, pipeline);
    st.select_device_state.Bind(2, device);
    auto step = st.select_device_state.Step();
    if (!step.ok()) return step.status();
    const bool ok =
        *step != StepResult::kRow || DecodeDevice(st.select_device_state.ColumnBlob(0), previous);
    st.select_device_state.Reset();
    if (!ok) return Corrupt("device_state of " + std::string(pipeline) + " is damaged");
    std::erase_if(previous.windows, [front](const WindowSnapshot& w) {
      return w.window.start < front || w.fingerprints.empty();
    });
  }
  const auto write_row = [&](const DeviceSnapshot& of) -> Status {
    Millis max_start = kNoTime;
    for (const WindowSnapshot& w : of.windows) {
      if (!w.fingerprints.empty()) max_start = w.window.start;  // windows are sorted by start
    }
    if (max_start == kNoTime) return Status::Ok();
    st.insert_fingerprints.Bind(1, pipeline);
    st.insert_fingerprints.Bind(2, device);
    st.insert_fingerprints.Bind(3, max_start);
    st.insert_fingerprints.BindBlob(4, std::string_view(EncodeFingerprints(of)));
    if (Status s = st.insert_fingerprints.Run(); !s.ok()) return s;
    disk.fingerprint_rows.push_back({max_start, db_.LastInsertRowId()});
    return Status::Ok();
  };
  const std::size_t added = FingerprintCount(d);
  const std::size_t kept = FingerprintCount(previous);
  if (added > kInlineFingerprints) {  // all to a row
    if (kept > 0 && !DecodeFingerprintsInto(EncodeFingerprints(previous), d)) {
      return Corrupt("fingerprints of " + std::string(pipeline) + "/" + std::string(device));
    }
    if (Status s = write_row(d); !s.ok()) return s;
    for (WindowSnapshot& w : d.windows) w.fingerprints.clear();
  } else if (kept + added > kInlineFingerprints) {  // the previous to a row, the new inline
    if (Status s = write_row(previous); !s.ok()) return s;
  } else if (kept > 0 && !DecodeFingerprintsInto(EncodeFingerprints(previous), d)) {  // inline
    return Corrupt("fingerprints of " + std::string(pipeline) + "/" + std::string(device));
  }
  disk.inline_fingerprints = static_cast<std::uint32_t>(FingerprintCount(d));

  for (const DiskDevice::FingerprintRow& r : disk.fingerprint_rows) {
    if (r.max_start >= front) continue;
    st.delete_fingerprints.Bind(1, r.chunk);
    if (Status s = st.delete_fingerprints.Run(); !s.ok()) return s;
  }
  std::erase_if(disk.fingerprint_rows,
                [front](const DiskDevice::FingerprintRow& r) { return r.max_start < front; });

  st.upsert_device_state.Bind(1, pipeline);
  st.upsert_device_state.Bind(2, device);
  st.upsert_device_state.BindBlob(3, std::string_view(EncodeDevice(d)));
  if (Status s = st.upsert_device_state.Run(); !s.ok()) return s;

  // Open windows' rows. Those gone from memory were closed (their final row replaced the open
  // one: the delete leaves it alone) or merged into another session.
  const auto delete_open_row = [&](const DiskDevice::OpenRow& r) {
    st.delete_open_one.Bind(1, pipeline);
    st.delete_open_one.Bind(2, device);
    st.delete_open_one.Bind(3, r.start);
    st.delete_open_one.Bind(4, r.end);
    return st.delete_open_one.Run();
  };
  std::vector<DiskDevice::OpenRow> open;
  open.reserve(d.windows.size());
  std::vector<std::optional<double>> values;
  std::size_t old = 0;  // both lists are sorted by start, and starts are unique in each
  for (const WindowSnapshot& w : d.windows) {
    const DiskDevice::OpenRow row{w.window.start, w.window.end, w.records};
    for (; old < disk.open.size() &&
           (disk.open[old].start < row.start ||
            (disk.open[old].start == row.start && disk.open[old].end != row.end));
         ++old) {
      if (Status s = delete_open_row(disk.open[old]); !s.ok()) return s;
    }
    open.push_back(row);
    bool on_disk = false;
    if (old < disk.open.size() && disk.open[old].start == row.start) {
      // The same window: unchanged unless its records did (every change adds a record).
      if (disk.open[old++].records == row.records) continue;
      on_disk = true;
    }
    values.clear();
    for (std::size_t a = 0; a < spec.aggregates.size(); ++a) {
      values.push_back(AggFinalize(spec.aggregates[a].fn, w.states[a]));
    }
    const std::string vals = ValuesJson(spec, values);
    if (on_disk) {  // an update in place: the row's indexed columns stay as they are
      st.update_open.Bind(1, row.records);
      st.update_open.Bind(2, std::string_view(vals));
      st.update_open.Bind(3, pipeline);
      st.update_open.Bind(4, device);
      st.update_open.Bind(5, row.start);
      st.update_open.Bind(6, row.end);
      if (Status s = st.update_open.Run(); !s.ok()) return s;
      if (db_.Changes() == 1) continue;
    }
    st.insert_open.Bind(1, pipeline);
    st.insert_open.Bind(2, device);
    st.insert_open.Bind(3, row.start);
    st.insert_open.Bind(4, row.end);
    st.insert_open.Bind(5, row.records);
    st.insert_open.Bind(6, std::string_view(vals));
    if (Status s = st.insert_open.Run(); !s.ok()) return s;
  }
  for (; old < disk.open.size(); ++old) {
    if (Status s = delete_open_row(disk.open[old]); !s.ok()) return s;
  }
  disk.open = std::move(open);
  return Status::Ok();
}

// What the database holds per device, for a checkpoint after Open() or a failed checkpoint
// without Recover() (Recover() builds it from what it reads anyway). Devices the engine does
// not know are left out.
Status StateStore::LoadDiskState(const Engine& engine) {
  disk_.clear();
  const auto device_of = [&](std::string_view pipeline, std::string_view device) -> DiskDevice* {
    const std::optional<DeviceId> id = engine.devices().Find(device);
    if (!id) return nullptr;
    std::vector<DiskDevice>& disk = DiskDevices(pipeline);
    if (*id >= disk.size()) disk.resize(std::size_t{*id} + 1);
    return &disk[*id];
  };
  auto q = db_.Prepare(
      "SELECT pipeline, device, window_start, window_end, records FROM windows "
      "WHERE status = 'open' ORDER BY pipeline, device, window_start");
  if (!q.ok()) return q.status();
  for (;;) {
    auto step = q->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) break;
    if (DiskDevice* d = device_of(q->ColumnText(0), q->ColumnText(1))) {
      d->open.push_back({q->ColumnInt64(2), q->ColumnInt64(3), q->ColumnInt64(4)});
    }
  }
  auto b = db_.Prepare("SELECT pipeline, device FROM device_state");
  if (!b.ok()) return b.status();
  for (;;) {
    auto step = b->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) break;
    // Its blob may carry fingerprints: WriteDevice() reads it to find out.
    if (DiskDevice* d = device_of(b->ColumnText(0), b->ColumnText(1))) d->inline_fingerprints = 1;
  }
  auto f = db_.Prepare("SELECT pipeline, device, max_start, chunk FROM fingerprints");
  if (!f.ok()) return f.status();
  for (;;) {
    auto step = f->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) break;
    if (DiskDevice* d = device_of(f->ColumnText(0), f->ColumnText(1))) {
      d->fingerprint_rows.push_back({f->ColumnInt64(2), f->ColumnInt64(3)});
    }
  }
  disk_loaded_ = true;
  return Status::Ok();
}

bool StateStore::SeenMessage(std::uint64_t message_hash) const {
  return recent_.Contains(message_hash);
}

// BEGIN IMMEDIATE .. COMMIT with statements prepared once (re-preparing them cost ~2 us a
// message); rolls back in the destructor unless committed.
class StateStore::Tx {
 public:
  explicit Tx(Statements& st) : st_(st) { status_ = st_.begin.Run(); }
  ~Tx() {
    if (status_.ok() && !committed_ &&
        sqlite3_get_autocommit(sqlite3_db_handle(st_.begin.raw())) == 0) {
      (void)st_.rollback.Run();
    }
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  const Status& status() const { return status_; }
  Status Commit() {
    Status s = st_.commit.Run();
    committed_ = s.ok();
    return s;
  }

 private:
  Statements& st_;
  Status status_;
  bool committed_ = false;
};

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

Status StateStore::AppendOutbox(std::string_view topic, std::string_view payload) {
  sqlite::Statement& q = stmts_->insert_outbox;
  q.Bind(1, topic);
  q.Bind(2, payload);
  if (Status s = q.Run(); !s.ok()) return s;
  outbox_pending_ = db_.LastInsertRowId();
  return Status::Ok();
}

StatusOr<std::int64_t> StateStore::OutboxOldest() {
  sqlite::Statement& q = stmts_->outbox_oldest;
  auto step = q.Step();
  if (!step.ok()) return step.status();
  const std::int64_t oldest = q.ColumnInt64(0);
  q.Reset();
  return oldest;
}

Status StateStore::TrimOutbox(std::int64_t acked) {
  sqlite::Statement& q = stmts_->trim_outbox;
  q.Bind(1, acked);
  return q.Run();
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

bool StateStore::CheckpointDue(Millis now) const {
  if (last_seq_ == checkpoint_seq_) return false;
  return last_seq_ - checkpoint_seq_ >= options_.checkpoint_records ||
         last_checkpoint_ == kNoTime || now - last_checkpoint_ >= options_.checkpoint_interval;
}

Status StateStore::Checkpoint(Engine& engine, Millis now) {
  if (!disk_loaded_) {
    if (Status s = LoadDiskState(engine); !s.ok()) return s;
  }
  Status s = CheckpointTx(engine, now);
  if (!s.ok()) disk_loaded_ = false;  // rolled back: disk_ is ahead of the database
  return s;
}

Status StateStore::CheckpointTx(Engine& engine, Millis now) {
  Tx tx(*stmts_);
  if (!tx.status().ok()) return tx.status();
  Statements& st = *stmts_;
  for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
    const WindowOperator& op = engine.pipeline(p);
    const std::string_view name = op.spec().name;
    std::vector<DiskDevice>& disk = DiskDevices(name);
    for (DeviceId id : engine.TakeDirtyDevices(p)) {
      if (id >= disk.size()) disk.resize(std::size_t{id} + 1);
      DeviceSnapshot d = engine.TakeDeviceCheckpoint(p, id);
      if (Status s = WriteDevice(op.spec(), d, disk[id]); !s.ok()) return s;
    }
    const OperatorSnapshot header = op.SnapshotHeader();
    st.upsert_pipeline.Bind(1, name);
    if (header.max_event_time == kNoTime) {
      st.upsert_pipeline.BindNull(2);
    } else {
      st.upsert_pipeline.Bind(2, header.max_event_time);
    }
    st.upsert_pipeline.Bind(3, header.counters.records);
    st.upsert_pipeline.Bind(4, header.counters.late);
    st.upsert_pipeline.Bind(5, header.counters.duplicates);
    st.upsert_pipeline.Bind(6, header.counters.finalized);
    st.upsert_pipeline.Bind(7, header.counters.evicted);
    if (Status s = st.upsert_pipeline.Run(); !s.ok()) return s;
  }
  // Device statistics change with every message of a device: write those whose count moved.
  const auto& stats = engine.devices().all();
  std::vector<std::int64_t> stats_pending = stats_written_;
  stats_pending.resize(stats.size(), -1);
  for (std::size_t id = 0; id < stats.size(); ++id) {
    const DeviceStats& d = stats[id];
    if (stats_pending[id] == d.records) continue;
    const std::optional<std::int64_t> last_event =
        d.last_event_time == kNoTime ? std::nullopt : std::optional(d.last_event_time);
    const std::optional<std::int64_t> last_arrival =
        d.last_arrival_time == kNoTime ? std::nullopt : std::optional(d.last_arrival_time);
    if (stats_pending[id] >= 0) {  // its row exists: an update leaves the device index alone
      stats_pending[id] = d.records;
      st.update_stats.Bind(1, d.records);
      st.update_stats.Bind(2, d.rejected);
      st.update_stats.Bind(3, last_event);
      st.update_stats.Bind(4, last_arrival);
      st.update_stats.Bind(5, static_cast<std::int64_t>(id));
      if (Status s = st.update_stats.Run(); !s.ok()) return s;
      continue;
    }
    stats_pending[id] = d.records;
    st.upsert_stats.Bind(1, static_cast<std::int64_t>(id));
    st.upsert_stats.Bind(2, std::string_view(d.device));
    st.upsert_stats.Bind(3, d.records);
    st.upsert_stats.Bind(4, d.rejected);
    st.upsert_stats.Bind(5, d.last_event_time == kNoTime
                                ? std::nullopt
                                : std::optional<std::int64_t>(d.last_event_time));
    st.upsert_stats.Bind(6, d.last_arrival_time == kNoTime
                                ? std::nullopt
                                : std::optional<std::int64_t>(d.last_arrival_time));
    if (Status s = st.upsert_stats.Run(); !s.ok()) return s;
  }
  const RejectCounts& rejected = engine.rejected();
  st.upsert_checkpoint.Bind(1, last_seq_);
  st.upsert_checkpoint.Bind(2, AsInt(engine.next_seq()));
  st.upsert_checkpoint.Bind(3, engine.total());
  st.upsert_checkpoint.BindBlob(
      4, std::string_view(reinterpret_cast<const char*>(rejected.data()), sizeof(rejected)));
  st.upsert_checkpoint.Bind(5, now);
  if (Status s = st.upsert_checkpoint.Run(); !s.ok()) return s;
  st.trim_log.Bind(1, last_seq_ - options_.redelivery_window);
  if (Status s = st.trim_log.Run(); !s.ok()) return s;
  st.trim_late.Bind(1, options_.late_log_max);
  if (Status s = st.trim_late.Run(); !s.ok()) return s;
  st.trim_rejected.Bind(1, options_.rejected_max);
  if (Status s = st.trim_rejected.Run(); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  stats_written_ = std::move(stats_pending);
  checkpoint_seq_ = last_seq_;
  last_checkpoint_ = now;
  newest_commit_ = std::max(newest_commit_, now);
  return Status::Ok();
}

StatusOr<RecoveryStats> StateStore::Recover(Engine& engine) {
  disk_loaded_ = false;
  auto stats = RecoverTx(engine);
  disk_loaded_ = stats.ok();
  return stats;
}

StatusOr<RecoveryStats> StateStore::RecoverTx(Engine& engine) {
  disk_.clear();
  newest_commit_ = kNoTime;
  EngineSnapshot snap;
  std::int64_t seq = 0;
  {
    auto q = db_.Prepare(
        "SELECT seq, next_seq, total, rejected, written_at FROM checkpoint WHERE id = 1");
    if (!q.ok()) return q.status();
    auto step = q->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kRow) {
      seq = q->ColumnInt64(0);
      snap.next_seq = static_cast<std::uint64_t>(q->ColumnInt64(1));
      snap.total = q->ColumnInt64(2);
      std::string_view rejected = q->ColumnBlob(3);
      if (rejected.size() != sizeof(snap.rejected))
        return Corrupt("checkpoint: bad rejected counts");
      std::memcpy(snap.rejected.data(), rejected.data(), rejected.size());
      newest_commit_ = q->ColumnInt64(4);
    }
  }
  stats_written_.clear();
  {
    auto q = db_.Prepare(
        "SELECT device, records, rejected, last_event_time, last_arrival_time FROM device_stats "
        "ORDER BY id");
    if (!q.ok()) return q.status();
    for (;;) {
      auto step = q->Step();
      if (!step.ok()) return step.status();
      if (*step == StepResult::kDone) break;
      stats_written_.push_back(q->ColumnInt64(1));
      snap.devices.push_back({std::string(q->ColumnText(0)), q->ColumnInt64(1), q->ColumnInt64(2),
                              q->ColumnIsNull(3) ? kNoTime : q->ColumnInt64(3),
                              q->ColumnIsNull(4) ? kNoTime : q->ColumnInt64(4)});
    }
  }
  {
    auto q = db_.Prepare(
        "SELECT pipeline, max_event_time, records, late, duplicates, finalized, evicted "
        "FROM pipeline_state");
    if (!q.ok()) return q.status();
    for (;;) {
      auto step = q->Step();
      if (!step.ok()) return step.status();
      if (*step == StepResult::kDone) break;
      snap.pipeline_names.emplace_back(q->ColumnText(0));
      OperatorSnapshot& op = snap.pipelines.emplace_back();
      op.max_event_time = q->ColumnIsNull(1) ? kNoTime : q->ColumnInt64(1);
      op.counters = {q->ColumnInt64(2), q->ColumnInt64(3), q->ColumnInt64(4), q->ColumnInt64(5),
                     q->ColumnInt64(6)};
    }
  }
  RecoveryStats stats;
  // Per snapshot device: the fingerprints its blob carries (before schema 6: all of them).
  std::vector<std::vector<std::uint32_t>> inline_fingerprints(snap.pipelines.size());
  {
    auto q = db_.Prepare("SELECT pipeline, state FROM device_state");
    if (!q.ok()) return q.status();
    for (;;) {
      auto step = q->Step();
      if (!step.ok()) return step.status();
      if (*step == StepResult::kDone) break;
      const std::string_view pipeline = q->ColumnText(0);
      std::size_t i = 0;
      while (i < snap.pipeline_names.size() && snap.pipeline_names[i] != pipeline) ++i;
      if (i == snap.pipelines.size()) continue;  // state of a pipeline no longer checkpointed
      std::vector<DeviceSnapshot>& devices = snap.pipelines[i].devices;
      DeviceSnapshot& d = devices.emplace_back();
      if (!DecodeDevice(q->ColumnBlob(1), d)) {
        return Corrupt("device_state of " + std::string(pipeline) + " is damaged");
      }
      inline_fingerprints[i].push_back(static_cast<std::uint32_t>(FingerprintCount(d)));
    }
  }
  // The fingerprints rows, in the order written, into their devices' windows.
  struct FingerprintRowOf {
    std::size_t pipeline = 0, device = 0;  // in snap
    DiskDevice::FingerprintRow row;
  };
  std::vector<FingerprintRowOf> fingerprint_rows;
  {
    std::vector<std::unordered_map<std::string_view, std::size_t>> by_name;
    const auto index = [&] {  // built at the first row: often there is none
      by_name.resize(snap.pipelines.size());
      for (std::size_t i = 0; i < snap.pipelines.size(); ++i) {
        const std::vector<DeviceSnapshot>& devices = snap.pipelines[i].devices;
        by_name[i].reserve(devices.size());
        for (std::size_t k = 0; k < devices.size(); ++k) by_name[i].emplace(devices[k].device, k);
      }
    };
    auto q = db_.Prepare("SELECT chunk, pipeline, device, max_start, fps FROM fingerprints");
    if (!q.ok()) return q.status();
    for (;;) {
      auto step = q->Step();
      if (!step.ok()) return step.status();
      if (*step == StepResult::kDone) break;
      const std::string_view pipeline = q->ColumnText(1);
      std::size_t i = 0;
      while (i < snap.pipeline_names.size() && snap.pipeline_names[i] != pipeline) ++i;
      if (i == snap.pipelines.size()) continue;
      if (by_name.empty()) index();
      const auto it = by_name[i].find(q->ColumnText(2));
      if (it == by_name[i].end()) continue;  // of no device with state: cannot happen
      if (!DecodeFingerprintsInto(q->ColumnBlob(4), snap.pipelines[i].devices[it->second])) {
        return Corrupt("fingerprints of " + std::string(pipeline) + "/" +
                       std::string(q->ColumnText(2)) + " are damaged");
      }
      fingerprint_rows.push_back({i, it->second, {q->ColumnInt64(3), q->ColumnInt64(0)}});
    }
  }
  engine.Restore(snap);
  // What is on disk now, per device: the checkpoint's open windows and fingerprints rows.
  disk_.clear();
  std::vector<const PipelineSpec*> specs(snap.pipelines.size(), nullptr);
  std::vector<std::vector<DiskDevice>*> disks(snap.pipelines.size(), nullptr);
  std::vector<std::vector<DeviceId>> ids(snap.pipelines.size());
  for (std::size_t i = 0; i < snap.pipelines.size(); ++i) {
    for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
      if (engine.pipeline(p).spec().name == snap.pipeline_names[i]) {
        specs[i] = &engine.pipeline(p).spec();
      }
    }
    if (specs[i] == nullptr) continue;  // not configured: ignored by Restore
    std::vector<DiskDevice>& disk = *(disks[i] = &DiskDevices(snap.pipeline_names[i]));
    disk.resize(engine.devices().size());
    ids[i].reserve(snap.pipelines[i].devices.size());
    for (std::size_t k = 0; k < snap.pipelines[i].devices.size(); ++k) {
      const DeviceSnapshot& d = snap.pipelines[i].devices[k];
      const DeviceId id = ids[i].emplace_back(*engine.devices().Find(d.device));
      DiskDevice& dd = disk[id];
      dd.inline_fingerprints = inline_fingerprints[i][k];
      dd.open.reserve(d.windows.size());
      for (const WindowSnapshot& w : d.windows) {
        dd.open.push_back({w.window.start, w.window.end, w.records});
      }
    }
  }
  for (const FingerprintRowOf& r : fingerprint_rows) {
    if (disks[r.pipeline] == nullptr) continue;
    (*disks[r.pipeline])[ids[r.pipeline][r.device]].fingerprint_rows.push_back(r.row);
  }
  last_seq_ = checkpoint_seq_ = seq;

  if (Status s = LoadRecentHashes(); !s.ok()) return s;
  auto q =
      db_.Prepare("SELECT seq, kind, arrival, body FROM ingest_log WHERE seq > ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, seq);
  Output discard;  // what replay produces was committed with the original message
  StoredRecord record;
  for (;;) {
    auto step = q->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) break;
    last_seq_ = q->ColumnInt64(0);
    const Millis arrival = q->ColumnInt64(2);
    newest_commit_ = std::max(newest_commit_, arrival);
    const std::string_view body = q->ColumnBlob(3);
    switch (q->ColumnInt64(1)) {
      case kLogRecord:
        if (!DecodeRecord(body, record)) return Corrupt("ingest_log entry is damaged");
        engine.ProcessAt(record.view(), arrival, discard);
        break;
      case kLogRejected:
        if (body.empty() || static_cast<unsigned char>(body[0]) >= kRejectReasonCount) {
          return Corrupt("ingest_log rejected entry is damaged");
        }
        engine.CountRejected(static_cast<RejectReason>(body[0]), body.substr(1), arrival);
        break;
      case kLogTick:
        engine.TickAt(arrival, discard);
        break;
      default:
        return Corrupt("ingest_log entry of unknown kind");
    }
    discard.clear();
    ++stats.replayed;
  }
  stats.devices = static_cast<std::int64_t>(engine.devices().size());
  stats.open_windows = 0;
  for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
    stats.open_windows += engine.pipeline(p).Metrics().open_windows;
  }
  return stats;
}

Status StateStore::LoadRecentHashes() {
  recent_.Clear();
  pending_hash_.reset();
  auto q = db_.Prepare("SELECT message_hash FROM ingest_log WHERE kind != ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int>(kLogTick));
  for (;;) {
    auto step = q->Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) return Status::Ok();
    recent_.Add(static_cast<std::uint64_t>(q->ColumnInt64(0)));
  }
}

StatusOr<std::int64_t> StateStore::DeleteExpired(Millis closed_before, std::int64_t batch) {
  sqlite::Statement& q = stmts_->delete_expired;
  q.Bind(1, closed_before);
  q.Bind(2, batch);
  if (Status s = q.Run(); !s.ok()) return s;
  return static_cast<std::int64_t>(db_.Changes());
}

}  // namespace tidemark
