#include "storage/schema.h"

#include <string>

namespace tidemark {
namespace {

// Migration N takes user_version N-1 to N. Never edit a released one; append.
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE ingest_log(
  seq INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,            -- 0 record, 1 rejected, 2 tick
  arrival INTEGER NOT NULL,         -- processing time, ms
  message_hash INTEGER NOT NULL,    -- topic + payload identity, for redelivery detection
  body BLOB NOT NULL);
CREATE INDEX ingest_log_by_message ON ingest_log(message_hash);
CREATE TABLE checkpoint(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,             -- ingest_log entries up to here are included
  next_seq INTEGER NOT NULL,
  total INTEGER NOT NULL,
  rejected BLOB NOT NULL,
  written_at INTEGER NOT NULL);
CREATE TABLE pipeline_state(
  pipeline TEXT PRIMARY KEY,
  max_event_time INTEGER,           -- NULL: no event seen
  records INTEGER NOT NULL, late INTEGER NOT NULL, duplicates INTEGER NOT NULL,
  finalized INTEGER NOT NULL, evicted INTEGER NOT NULL);
CREATE TABLE device_state(
  pipeline TEXT NOT NULL,
  device TEXT NOT NULL,
  state BLOB NOT NULL,
  PRIMARY KEY (pipeline, device)) WITHOUT ROWID;
CREATE TABLE device_stats(
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL UNIQUE,
  records INTEGER NOT NULL, rejected INTEGER NOT NULL,
  last_event_time INTEGER, last_arrival_time INTEGER);
CREATE TABLE windows(
  pipeline TEXT NOT NULL,
  device TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'final')),
  closed_by TEXT,
  closed_at INTEGER,
  records INTEGER NOT NULL,
  vals TEXT NOT NULL,               -- JSON object: alias -> value
  PRIMARY KEY (pipeline, device, window_start, window_end)) WITHOUT ROWID;
CREATE INDEX windows_by_status ON windows(status, pipeline, device, window_start);
CREATE INDEX windows_by_start ON windows(pipeline, window_start);
CREATE TABLE late_log(
  id INTEGER PRIMARY KEY,
  pipeline TEXT NOT NULL, device TEXT NOT NULL,
  event_time INTEGER NOT NULL, arrival_time INTEGER NOT NULL, watermark INTEGER,
  window_start INTEGER NOT NULL, window_end INTEGER NOT NULL);
CREATE INDEX late_log_by_device ON late_log(pipeline, device, id);
CREATE TABLE rejected(
  id INTEGER PRIMARY KEY,
  reason TEXT NOT NULL, topic TEXT NOT NULL, device TEXT,
  arrival_time INTEGER NOT NULL, payload BLOB NOT NULL);
)sql",
    // 2: retention deletes final windows by end time.
    R"sql(
CREATE INDEX windows_final_by_end ON windows(window_end) WHERE status = 'final';
)sql",
    // 3: redeliveries are recognised from an in-memory set of recent hashes (the index cost
    // ~14 us a commit).
    R"sql(
DROP INDEX ingest_log_by_message;
)sql",
    // 4: a rejected sample says why in words, e.g. the timestamp parse error.
    R"sql(
ALTER TABLE rejected ADD COLUMN detail TEXT;
)sql",
    // 5: the results reader (HTTP API) lists the late log by pipeline or by device, and rejected
    // samples by reason, newest first. The rowid id is each index's implicit last column.
    R"sql(
CREATE INDEX late_log_by_pipeline ON late_log(pipeline);
CREATE INDEX late_log_by_device_only ON late_log(device);
CREATE INDEX rejected_by_reason ON rejected(reason);
)sql",
    // 6: duplicate-suppression fingerprints are checkpointed incrementally: each checkpoint
    // appends, per changed device, one row of the fingerprints added since the previous one
    // (grouped by window start, storage/codec.h); device_state blobs no longer carry them.
    // Rowid order keeps a checkpoint's rows together on a few pages. A row is deleted once
    // every window it holds fingerprints of has closed: when the device's first open window
    // starts after max_start. Blobs written before carry their fingerprints inline; Recover()
    // moves them here.
    R"sql(
CREATE TABLE fingerprints(
  chunk INTEGER PRIMARY KEY,
  pipeline TEXT NOT NULL,
  device TEXT NOT NULL,
  max_start INTEGER NOT NULL,       -- the newest window start among the row's groups
  fps BLOB NOT NULL);
)sql",
    // 7: the outbox of [output]: messages for the upstream broker, written in the transaction
    // that produced them, deleted once the upstream broker acknowledged them. AUTOINCREMENT:
    // ids never go back, even when every row has been deleted.
    R"sql(
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL);
)sql",
    // 8: retention counts from when a window became final (closed_at, the gateway's clock), not
    // from its end in event time: a window closed today from year-old readings is kept.
    R"sql(
DROP INDEX windows_final_by_end;
CREATE INDEX windows_final_by_closed_at ON windows(closed_at) WHERE status = 'final';
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status Migrate(sqlite::Database& db, int target) {
  auto version = db.UserVersion();
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return {sqlite::codes::kError, "database schema version " + std::to_string(*version) +
                                       " is newer than this tidemark understands (" +
                                       std::to_string(kSchemaVersion) + ")"};
  }
  if (*version >= target) return Status::Ok();
  auto tx = sqlite::Transaction::Begin(db);
  if (!tx.ok()) return tx.status();
  for (int v = *version; v < target; ++v) {
    if (auto s = db.Exec(kMigrations[v]); !s.ok()) {
      s.message = "migration to schema version " + std::to_string(v + 1) + ": " + s.message;
      return s;
    }
  }
  if (auto s = db.SetUserVersion(target); !s.ok()) return s;
  return tx->Commit();
}

}  // namespace tidemark
