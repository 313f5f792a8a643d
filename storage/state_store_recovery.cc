// StateStore recovery: the checkpoint (counters, device statistics, pipeline state, device
// state and fingerprints) into an EngineSnapshot, restored into the engine; the index of what
// is on disk rebuilt from it; then the ingest log after the checkpoint replayed.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "storage/codec.h"
#include "storage/state_store_internal.h"

namespace tidemark {

using namespace store_internal;
using sqlite::Statement;
using sqlite::StepResult;

// What the checkpoint holds, read before anything is restored.
struct StateStore::Checkpointed {
  EngineSnapshot snap;
  std::int64_t seq = 0;  // ingest-log entries up to this are in it
  // Per snapshot pipeline and device: the fingerprints its blob carries (before schema 6: all).
  std::vector<std::vector<std::uint32_t>> inline_fingerprints;
  // The fingerprints rows, in the order written, with the snapshot device they belong to.
  struct FingerprintRowOf {
    std::size_t pipeline = 0, device = 0;
    DiskDevice::FingerprintRow row;
  };
  std::vector<FingerprintRowOf> fingerprint_rows;

  // The snapshot pipeline of that name; pipelines.size() when it has none.
  std::size_t PipelineIndex(std::string_view name) const {
    std::size_t i = 0;
    while (i < snap.pipeline_names.size() && snap.pipeline_names[i] != name) ++i;
    return i;
  }
};

namespace {

// Runs `q`, calling `row(q)` for each row, until the end, a failed step or a failed `row`.
template <typename Fn>
Status ForEachRow(Statement& q, Fn&& row) {
  for (;;) {
    auto step = q.Step();
    if (!step.ok()) return step.status();
    if (*step == StepResult::kDone) return Status::Ok();
    if (Status s = row(q); !s.ok()) return s;
  }
}

template <typename Fn>
Status ForEachRow(sqlite::Database& db, const char* sql, Fn&& row) {
  auto q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  return ForEachRow(*q, std::forward<Fn>(row));
}

}  // namespace

StatusOr<RecoveryStats> StateStore::Recover(Engine& engine) {
  disk_loaded_ = false;
  auto stats = RecoverTx(engine);
  disk_loaded_ = stats.ok();
  return stats;
}

StatusOr<RecoveryStats> StateStore::RecoverTx(Engine& engine) {
  disk_.clear();
  newest_commit_ = kNoTime;
  stats_written_.clear();
  Checkpointed c;
  for (Status (StateStore::*read)(Checkpointed&) :
       {&StateStore::ReadCheckpointRow, &StateStore::ReadDeviceStats,
        &StateStore::ReadPipelineState, &StateStore::ReadDeviceState,
        &StateStore::ReadFingerprints}) {
    if (Status s = (this->*read)(c); !s.ok()) return s;
  }
  engine.Restore(c.snap);
  IndexRestored(engine, c);
  last_seq_ = checkpoint_seq_ = c.seq;
  if (Status s = LoadRecentHashes(); !s.ok()) return s;
  RecoveryStats stats;
  if (Status s = ReplayLog(engine, c.seq, stats.replayed); !s.ok()) return s;
  stats.devices = static_cast<std::int64_t>(engine.devices().size());
  for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
    stats.open_windows += engine.pipeline(p).Metrics().open_windows;
  }
  return stats;
}

// The checkpoint row: where the log was, the engine's counters, when it was written.
Status StateStore::ReadCheckpointRow(Checkpointed& c) {
  return ForEachRow(
      db_, "SELECT seq, next_seq, total, rejected, written_at FROM checkpoint WHERE id = 1",
      [&](Statement& q) -> Status {
        c.seq = q.ColumnInt64(0);
        c.snap.next_seq = static_cast<std::uint64_t>(q.ColumnInt64(1));
        c.snap.total = q.ColumnInt64(2);
        const std::string_view rejected = q.ColumnBlob(3);
        if (rejected.size() != sizeof(c.snap.rejected)) {
          return Corrupt("checkpoint: bad rejected counts");
        }
        std::memcpy(c.snap.rejected.data(), rejected.data(), rejected.size());
        newest_commit_ = q.ColumnInt64(4);
        return Status::Ok();
      });
}

// Device statistics, by DeviceId (their row id order).
Status StateStore::ReadDeviceStats(Checkpointed& c) {
  return ForEachRow(
      db_,
      "SELECT device, records, rejected, last_event_time, last_arrival_time "
      "FROM device_stats ORDER BY id",
      [&](Statement& q) {
        stats_written_.push_back(q.ColumnInt64(1));
        c.snap.devices.push_back({std::string(q.ColumnText(0)), q.ColumnInt64(1), q.ColumnInt64(2),
                                  q.ColumnIsNull(3) ? kNoTime : q.ColumnInt64(3),
                                  q.ColumnIsNull(4) ? kNoTime : q.ColumnInt64(4)});
        return Status::Ok();
      });
}

// Each checkpointed pipeline's watermark and counters.
Status StateStore::ReadPipelineState(Checkpointed& c) {
  return ForEachRow(db_,
                    "SELECT pipeline, max_event_time, records, late, duplicates, finalized, "
                    "evicted FROM pipeline_state",
                    [&](Statement& q) {
                      c.snap.pipeline_names.emplace_back(q.ColumnText(0));
                      OperatorSnapshot& op = c.snap.pipelines.emplace_back();
                      op.max_event_time = q.ColumnIsNull(1) ? kNoTime : q.ColumnInt64(1);
                      op.counters = {q.ColumnInt64(2), q.ColumnInt64(3), q.ColumnInt64(4),
                                     q.ColumnInt64(5), q.ColumnInt64(6)};
                      return Status::Ok();
                    });
}

// Each device's state blob (open windows, watermark, the newest fingerprints).
Status StateStore::ReadDeviceState(Checkpointed& c) {
  c.inline_fingerprints.resize(c.snap.pipelines.size());
  return ForEachRow(db_, "SELECT pipeline, state FROM device_state", [&](Statement& q) {
    const std::string_view pipeline = q.ColumnText(0);
    const std::size_t i = c.PipelineIndex(pipeline);
    if (i == c.snap.pipelines.size()) return Status::Ok();  // of a pipeline not checkpointed
    DeviceSnapshot& d = c.snap.pipelines[i].devices.emplace_back();
    if (!DecodeDevice(q.ColumnBlob(1), d)) {
      return Corrupt("device_state of " + std::string(pipeline) + " is damaged");
    }
    c.inline_fingerprints[i].push_back(static_cast<std::uint32_t>(FingerprintCount(d)));
    return Status::Ok();
  });
}

// The older fingerprints, from their rows into their devices' windows.
Status StateStore::ReadFingerprints(Checkpointed& c) {
  std::vector<std::unordered_map<std::string_view, std::size_t>> by_name;
  const auto index = [&] {  // built at the first row: often there is none
    by_name.resize(c.snap.pipelines.size());
    for (std::size_t i = 0; i < c.snap.pipelines.size(); ++i) {
      const std::vector<DeviceSnapshot>& devices = c.snap.pipelines[i].devices;
      by_name[i].reserve(devices.size());
      for (std::size_t k = 0; k < devices.size(); ++k) by_name[i].emplace(devices[k].device, k);
    }
  };
  return ForEachRow(
      db_, "SELECT chunk, pipeline, device, max_start, fps FROM fingerprints", [&](Statement& q) {
        const std::string_view pipeline = q.ColumnText(1);
        const std::size_t i = c.PipelineIndex(pipeline);
        if (i == c.snap.pipelines.size()) return Status::Ok();
        if (by_name.empty()) index();
        const auto it = by_name[i].find(q.ColumnText(2));
        if (it == by_name[i].end()) return Status::Ok();  // of no device with state: cannot be
        if (!DecodeFingerprintsInto(q.ColumnBlob(4), c.snap.pipelines[i].devices[it->second])) {
          return Corrupt("fingerprints of " + std::string(pipeline) + "/" +
                         std::string(q.ColumnText(2)) + " are damaged");
        }
        c.fingerprint_rows.push_back({i, it->second, {q.ColumnInt64(3), q.ColumnInt64(0)}});
        return Status::Ok();
      });
}

// What is on disk now, per configured pipeline and device: the checkpoint's open windows and
// fingerprints rows (so the next checkpoint writes only what changed).
void StateStore::IndexRestored(const Engine& engine, const Checkpointed& c) {
  const EngineSnapshot& snap = c.snap;
  std::vector<std::vector<DiskDevice>*> disks(snap.pipelines.size(), nullptr);
  std::vector<std::vector<DeviceId>> ids(snap.pipelines.size());
  for (std::size_t i = 0; i < snap.pipelines.size(); ++i) {
    bool configured = false;
    for (std::size_t p = 0; p < engine.pipeline_count(); ++p) {
      configured = configured || engine.pipeline(p).spec().name == snap.pipeline_names[i];
    }
    if (!configured) continue;  // ignored by Restore
    std::vector<DiskDevice>& disk = *(disks[i] = &DiskDevices(snap.pipeline_names[i]));
    disk.resize(engine.devices().size());
    ids[i].reserve(snap.pipelines[i].devices.size());
    for (std::size_t k = 0; k < snap.pipelines[i].devices.size(); ++k) {
      const DeviceSnapshot& d = snap.pipelines[i].devices[k];
      const DeviceId id = ids[i].emplace_back(*engine.devices().Find(d.device));
      DiskDevice& dd = disk[id];
      dd.inline_fingerprints = c.inline_fingerprints[i][k];
      dd.open.reserve(d.windows.size());
      for (const WindowSnapshot& w : d.windows) {
        dd.open.push_back({w.window.start, w.window.end, w.records});
      }
    }
  }
  for (const Checkpointed::FingerprintRowOf& r : c.fingerprint_rows) {
    if (disks[r.pipeline] == nullptr) continue;
    (*disks[r.pipeline])[ids[r.pipeline][r.device]].fingerprint_rows.push_back(r.row);
  }
}

// Replays the ingest log after `seq` through the engine; what replay produces was committed
// with the original message, so it is discarded.
Status StateStore::ReplayLog(Engine& engine, std::int64_t seq, std::int64_t& replayed) {
  auto q =
      db_.Prepare("SELECT seq, kind, arrival, body FROM ingest_log WHERE seq > ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, seq);
  Output discard;
  StoredRecord record;
  return ForEachRow(*q, [&](Statement& row) {
    last_seq_ = row.ColumnInt64(0);
    const Millis arrival = row.ColumnInt64(2);
    newest_commit_ = std::max(newest_commit_, arrival);
    const std::string_view body = row.ColumnBlob(3);
    switch (row.ColumnInt64(1)) {
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
    ++replayed;
    return Status::Ok();
  });
}

Status StateStore::LoadRecentHashes() {
  recent_.Clear();
  pending_hash_.reset();
  auto q = db_.Prepare("SELECT message_hash FROM ingest_log WHERE kind != ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int>(kLogTick));
  return ForEachRow(*q, [&](Statement& row) {
    recent_.Add(static_cast<std::uint64_t>(row.ColumnInt64(0)));
    return Status::Ok();
  });
}

}  // namespace tidemark
