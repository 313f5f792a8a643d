#include <algorithm>
#include <cstring>
#include <limits>

#include "storage/codec.h"
#include "storage/state_store_internal.h"

namespace tidemark {

using namespace store_internal;
using sqlite::StepResult;

std::vector<StateStore::DiskDevice>& StateStore::DiskDevices(std::string_view pipeline) {
  for (auto& [name, devices] : disk_) {
    if (name == pipeline) return devices;
  }
  return disk_.emplace_back(std::string(pipeline), std::vector<DiskDevice>{}).second;
}

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

}  // namespace tidemark
