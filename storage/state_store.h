// StateStore: tidemark's durable state in one SQLite file (docs/DESIGN.md §3), used by the
// gateway's ingest thread only (it owns the single writer connection). HTTP reads through its own
// read-only connections (sqlite::Database::OpenReader), never through this object.
//
// Write path, per MQTT message, inside the message callback and before it returns (so Paho's
// PUBACK follows the commit):
//   Engine::ProcessAt(record, arrival, out)  ->  StateStore::CommitRecord(record, arrival, out)
// One transaction appends the record to the ingest log and writes everything it produced
// (final windows, late-log rows). Open window state lives in memory and is checkpointed in
// batches (Checkpoint(): changed devices only, every `checkpoint_records` messages or
// `checkpoint_interval`); on start Recover() loads the checkpoint and replays the log tail
// through the engine, so a crash at any instant loses nothing and counts nothing twice.
// If a commit or a Checkpoint() fails (disk full, I/O error) the transaction rolls back, the
// caller must not acknowledge the message, and must call Recover() to bring the engine back to what
// is on disk before it goes on.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "storage/recent_hashes.h"
#include "storage/sqlite.h"
#include "storage/store_options.h"

namespace tidemark {

struct RecoveryStats {
  std::int64_t open_windows = 0;
  std::int64_t devices = 0;
  std::int64_t replayed = 0;  // ingest-log entries replayed after the checkpoint
  Millis millis = 0;          // wall time taken, filled by the caller that has a clock
};

class StateStore {
 public:
  // Opens (creating if needed) the database, runs PRAGMA quick_check (a damaged file is an
  // error naming it, never a silent reset) and applies schema migrations in one transaction.
  static StatusOr<std::unique_ptr<StateStore>> Open(const StoreOptions& options);
  ~StateStore();

  // Replaces the engine's state with the checkpoint and replays the ingest log after it.
  StatusOr<RecoveryStats> Recover(Engine& engine);

  // True when `message_hash` (a hash of topic and payload) is among the newest
  // `redelivery_window` logged messages: a redelivery of a message already counted. Check only
  // messages the broker flags as duplicates. In memory; rebuilt by Recover().
  bool SeenMessage(std::uint64_t message_hash) const;

  // The per-message commit of an accepted-or-late-or-duplicate record.
  Status CommitRecord(const Record& record, Millis arrival, std::uint64_t message_hash,
                      const Engine& engine, const Output& out);
  // The per-message commit of a rejected message (after Engine::CountRejected or a rejecting
  // ProcessAt): logs it for replay and keeps a bounded sample with the reason.
  // `detail` says why in words (kept with the sample).
  Status CommitRejected(RejectReason reason, std::string_view detail, std::string_view topic,
                        std::string_view device, Millis arrival, std::uint64_t message_hash,
                        std::string_view payload);
  // Commits what a Tick produced (idle closes, processing-time closes); a no-op when nothing.
  Status CommitTick(Millis now, const Engine& engine, const Output& out);

  // True when a checkpoint is due at processing time `now`.
  bool CheckpointDue(Millis now) const;
  // Writes the changed devices' state, the open windows' current values, device statistics
  // and counters, and trims the ingest log, late log and rejected samples.
  Status Checkpoint(Engine& engine, Millis now);

  // Retention: deletes up to `batch` final windows that became final (closed_at, processing
  // time) before `closed_before`; returns how many. A window's event time does not matter.
  StatusOr<std::int64_t> DeleteExpired(Millis closed_before, std::int64_t batch);

  // The outbox: the newest id written, the oldest still there (0 when empty), and deleting what
  // the upstream broker acknowledged (ids <= `acked`; its own small transaction).
  std::int64_t outbox_newest() const { return outbox_newest_; }
  StatusOr<std::int64_t> OutboxOldest();
  Status TrimOutbox(std::int64_t acked);

  // Caps the database size from now on: writes past `bytes` fail like a full disk
  // (SQLITE_FULL); 0 lifts the cap. What StoreOptions::max_bytes sets at Open.
  Status SetMaxBytes(std::int64_t bytes);
  std::int64_t last_seq() const { return last_seq_; }
  // The newest processing time committed (a message's arrival, a tick, a checkpoint); kNoTime
  // for a new database. Set by Recover(), moved forward by every commit. The gateway holds
  // messages while its clock is earlier (the clock went back, or is not set yet).
  Millis newest_commit() const { return newest_commit_; }

 private:
  StateStore(sqlite::Database db, StoreOptions options);
  Status Prepare();
  Status AppendLog(int kind, Millis arrival, std::uint64_t message_hash, std::string_view body);
  Status WriteOutput(const Engine& engine, const Output& out);
  Status AppendOutbox(std::string_view topic, std::string_view payload);
  struct DiskDevice;
  Status WriteDevice(const PipelineSpec& spec, DeviceSnapshot& device, DiskDevice& disk);
  Status LoadDiskState(const Engine& engine);
  Status CheckpointTx(Engine& engine, Millis now);
  StatusOr<RecoveryStats> RecoverTx(Engine& engine);
  // Recovery's steps (state_store_recovery.cc), in order.
  struct Checkpointed;
  Status ReadCheckpointRow(Checkpointed& c);
  Status ReadDeviceStats(Checkpointed& c);
  Status ReadPipelineState(Checkpointed& c);
  Status ReadDeviceState(Checkpointed& c);
  Status ReadFingerprints(Checkpointed& c);
  void IndexRestored(const Engine& engine, const Checkpointed& c);
  Status ReplayLog(Engine& engine, std::int64_t seq, std::int64_t& replayed);
  std::vector<DiskDevice>& DiskDevices(std::string_view pipeline);
  void Committed(Millis arrival);
  Status LoadRecentHashes();  // bookkeeping after a logged message's transaction committed
  class Tx;

  sqlite::Database db_;
  StoreOptions options_;
  std::int64_t last_seq_ = 0;        // newest ingest-log sequence number
  std::int64_t outbox_newest_ = 0;   // newest committed outbox id
  std::int64_t outbox_pending_ = 0;  // newest outbox id of the open transaction
  std::int64_t checkpoint_seq_ = 0;  // log entries up to this are in the checkpoint
  Millis last_checkpoint_ = kNoTime;
  Millis newest_commit_ = kNoTime;
  RecentHashes recent_;
  std::optional<std::uint64_t> pending_hash_;  // of the log entry in the open transaction
  std::vector<std::int64_t> stats_written_;    // device_stats.records as checkpointed, by id
  // What each device's rows hold on disk, by pipeline name then DeviceId, so that a checkpoint
  // writes only what changed. Built by Recover(), else loaded by the first Checkpoint(); stale
  // after a failed checkpoint (reloaded by the next).
  std::deque<std::pair<std::string, std::vector<DiskDevice>>> disk_;  // stable references
  bool disk_loaded_ = false;
  struct Statements;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace tidemark
