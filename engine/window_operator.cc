#include "engine/window_operator.h"

#include <algorithm>
#include <utility>

namespace tidemark {
namespace {

constexpr std::size_t kMallocOverhead = 16;  // per heap block, for the state estimate

}  // namespace

WindowOperator::WindowOperator(PipelineSpec spec, std::uint32_t index)
    : spec_(std::move(spec)), index_(index) {}

bool WindowOperator::UsesGlobalWatermark() const {
  return spec_.scope == WatermarkScope::kGlobal || spec_.time == TimeMode::kProcessing;
}

WindowOperator::DeviceState& WindowOperator::Device(DeviceId id, std::string_view name) {
  if (id >= devices_.size()) devices_.resize(std::size_t{id} + 1);
  DeviceState& d = devices_[id];
  if (!d.seen) {
    d.seen = true;
    d.name = std::string(name);
  }
  return d;
}

void WindowOperator::MarkDirty(DeviceState& d, DeviceId id) {
  if (d.dirty) return;
  d.dirty = true;
  dirty_.push_back(id);
}

std::vector<DeviceId> WindowOperator::TakeDirtyDevices() {
  for (DeviceId id : dirty_) devices_[id].dirty = false;
  return std::exchange(dirty_, {});
}

Millis WindowOperator::ScopeWatermark(const DeviceState& d) const {
  const Millis source = UsesGlobalWatermark() ? max_event_time_ : d.max_event_time;
  return source == kNoTime ? kNoTime : source - spec_.watermark_delay;
}

Millis WindowOperator::ClosedUntil(const DeviceState& d) const {
  return std::max(ScopeWatermark(d), d.idle_closed_until);
}

std::optional<double> WindowOperator::FieldOf(const Record& r, std::size_t aggregate) const {
  const AggregateSpec& a = spec_.aggregates[aggregate];
  if (!a.ReadsField()) return std::nullopt;
  const FieldValue* f = r.Find(a.field);
  if (f == nullptr || !f->IsFiniteNumber()) return std::nullopt;  // Engine rejects non-numbers
  return f->number;
}

Outcome WindowOperator::Process(const Record& record, DeviceId id, Millis arrival,
                                std::uint64_t seq, Output& out) {
  DeviceState& d = Device(id, record.device);
  MarkDirty(d, id);
  const Millis t = spec_.time == TimeMode::kProcessing ? arrival : record.event_time;
  d.last_arrival = arrival;
  if (IsLate(spec_.window, t, ClosedUntil(d))) {
    ++d.late;
    ++counters_.late;
    out.late.push_back(
        {index_, d.name, t, arrival, ScopeWatermark(d), LatestWindow(spec_.window, t)});
    ObserveEventTime(d, id, t, arrival, out);
    return Outcome::kLate;
  }
  const std::uint64_t fp = spec_.dedup ? RecordFingerprint(t, record.payload_hash) : 0;
  if (spec_.dedup && IsDuplicate(d, t, fp)) {
    ++d.duplicates;
    ++counters_.duplicates;
    return Outcome::kDuplicate;
  }
  // Advancing the watermark first never closes one of this record's windows (each ends after
  // t >= the new watermark); it frees the windows that are due before new ones are allocated.
  ObserveEventTime(d, id, t, arrival, out);
  if (spec_.window.kind == WindowKind::kSession) {
    AddToSession(d, id, record, t, seq, fp);
  } else {
    AddToWindows(d, id, record, t, seq, fp);
  }
  ++d.records;
  ++counters_.records;
  return Outcome::kAccepted;
}

bool WindowOperator::IsDuplicate(const DeviceState& d, Millis t, std::uint64_t fp) const {
  // The fingerprint lives in the record's latest window (tumbling, sliding) or its session.
  const Millis latest_start = LatestWindow(spec_.window, t).start;
  for (const OpenWindow& w : d.windows) {
    const bool home = spec_.window.kind == WindowKind::kSession ? w.window.Contains(t)
                                                                : w.window.start == latest_start;
    if (home) return w.seen.Contains(fp);
  }
  return false;
}

void WindowOperator::AddToWindows(DeviceState& d, DeviceId id, const Record& r, Millis t,
                                  std::uint64_t seq, std::uint64_t fp) {
  const Millis closed_until = ClosedUntil(d);
  bool latest = true;
  ForEachWindow(spec_.window, t, [&](Window w) {
    if (w.end <= closed_until) return;  // that window is final; the record counts in the others
    const std::size_t index = FindOrInsertWindow(d, id, w);
    AddRecordTo(d, index, r, t, seq);
    if (latest && spec_.dedup && d.windows[index].seen.Insert(fp) && d.journal) {
      d.windows[index].unsaved.push_back(fp);
    }
    latest = false;
  });
}

void WindowOperator::AddToSession(DeviceState& d, DeviceId id, const Record& r, Millis t,
                                  std::uint64_t seq, std::uint64_t fp) {
  const Window own = LatestWindow(spec_.window, t);
  auto& ws = d.windows;
  // Open sessions are disjoint and sorted; [first, last) are those overlapping `own`.
  std::size_t first = 0;
  while (first < ws.size() && ws[first].window.end <= own.start) ++first;
  std::size_t last = first;
  while (last < ws.size() && ws[last].window.start < own.end) ++last;

  std::size_t index = first;
  if (first == last) {
    index = FindOrInsertWindow(d, id, own);
  } else {
    const std::size_t n = spec_.aggregates.size();
    OpenWindow& target = ws[first];
    const Window merged{std::min(target.window.start, own.start),
                        std::max(ws[last - 1].window.end, own.end)};
    for (std::size_t k = first + 1; k < last; ++k) {
      target.records += ws[k].records;
      target.seen.Merge(ws[k].seen);
      // Saved fingerprints of a merged session stay on disk under its old start, which lies
      // inside the merged one; the unsaved ones move with it.
      target.unsaved.insert(target.unsaved.end(), ws[k].unsaved.begin(), ws[k].unsaved.end());
      for (std::size_t a = 0; a < n; ++a) {
        AggMerge(spec_.aggregates[a].fn, d.states[first * n + a], d.states[k * n + a]);
      }
    }
    counters_.evicted += static_cast<std::int64_t>(last - first - 1);
    EraseWindows(d, first + 1, last - first - 1);
    ws[first].window = merged;  // its timer stays at the old end; FireGlobalTimers re-arms it
  }
  AddRecordTo(d, index, r, t, seq);
  if (spec_.dedup && ws[index].seen.Insert(fp) && d.journal) ws[index].unsaved.push_back(fp);
}

std::size_t WindowOperator::FindOrInsertWindow(DeviceState& d, DeviceId id, Window w) {
  auto& ws = d.windows;
  if (!ws.empty() && ws.back().window.start == w.start) return ws.size() - 1;  // the usual case
  auto it = std::lower_bound(ws.begin(), ws.end(), w.start, [](const OpenWindow& o, Millis start) {
    return o.window.start < start;
  });
  const auto index = static_cast<std::size_t>(it - ws.begin());
  if (it != ws.end() && it->window.start == w.start) return index;
  ws.insert(it, OpenWindow{w, 0, {}, {}});
  const std::size_t n = spec_.aggregates.size();
  d.states.insert(d.states.begin() + static_cast<std::ptrdiff_t>(index * n), n, AggState{});
  ++open_windows_;
  if (UsesGlobalWatermark()) timers_.push({w.end, id});
  return index;
}

void WindowOperator::AddRecordTo(DeviceState& d, std::size_t index, const Record& r, Millis t,
                                 std::uint64_t seq) {
  ++d.windows[index].records;
  const std::size_t n = spec_.aggregates.size();
  for (std::size_t a = 0; a < n; ++a) {
    AggAdd(spec_.aggregates[a].fn, d.states[index * n + a], FieldOf(r, a), t, seq);
  }
}

void WindowOperator::EraseWindows(DeviceState& d, std::size_t first, std::size_t count) {
  if (count == 0) return;
  const std::size_t n = spec_.aggregates.size();
  auto ws_begin = d.windows.begin() + static_cast<std::ptrdiff_t>(first);
  d.windows.erase(ws_begin, ws_begin + static_cast<std::ptrdiff_t>(count));
  auto st_begin = d.states.begin() + static_cast<std::ptrdiff_t>(first * n);
  d.states.erase(st_begin, st_begin + static_cast<std::ptrdiff_t>(count * n));
  open_windows_ -= static_cast<std::int64_t>(count);
}

void WindowOperator::ObserveEventTime(DeviceState& d, DeviceId id, Millis t, Millis now,
                                      Output& out) {
  d.max_event_time = std::max(d.max_event_time, t);
  if (t <= max_event_time_) {
    if (!UsesGlobalWatermark()) CloseDue(d, id, ClosedBy::kWatermark, now, out);
    return;
  }
  max_event_time_ = t;
  if (UsesGlobalWatermark()) {
    FireGlobalTimers(now, out);
  } else {
    CloseDue(d, id, ClosedBy::kWatermark, now, out);
  }
}

void WindowOperator::CloseDue(DeviceState& d, DeviceId id, ClosedBy by, Millis now, Output& out) {
  const Millis until = ClosedUntil(d);
  if (d.windows.empty() || d.windows.front().window.end > until) return;
  MarkDirty(d, id);
  std::size_t count = 0;
  while (count < d.windows.size() && d.windows[count].window.end <= until) {
    WindowResult result = ResultOf(d, count);
    result.final = true;
    result.closed_by = by;
    result.closed_at = now;
    out.closed.push_back(std::move(result));
    ++count;
  }
  counters_.finalized += static_cast<std::int64_t>(count);
  counters_.evicted += static_cast<std::int64_t>(count);
  EraseWindows(d, 0, count);
}

void WindowOperator::FireGlobalTimers(Millis now, Output& out) {
  const Millis watermark = Watermark();
  while (!timers_.empty() && timers_.top().first <= watermark) {
    const DeviceId id = timers_.top().second;
    timers_.pop();
    DeviceState& d = devices_[id];
    CloseDue(d, id, ClosedBy::kWatermark, now, out);
    // A session that grew past its timer gets one new timer at its current end: one pending
    // timer per window, not one per record.
    if (!d.windows.empty() && d.windows.front().window.end > watermark) {
      timers_.push({d.windows.front().window.end, id});
    }
  }
}

void WindowOperator::AdvanceProcessingTime(Millis now, Output& out) {
  if (spec_.time == TimeMode::kProcessing && now > max_event_time_) {
    max_event_time_ = now;
    FireGlobalTimers(now, out);
  }
  if (spec_.idle_timeout <= 0) return;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    DeviceState& d = devices_[i];
    if (d.windows.empty() || now - d.last_arrival < spec_.idle_timeout) continue;
    d.idle_closed_until = std::max(d.idle_closed_until, d.windows.back().window.end);
    CloseDue(d, static_cast<DeviceId>(i), ClosedBy::kIdle, now, out);
  }
}

Millis WindowOperator::Watermark() const {
  return max_event_time_ == kNoTime ? kNoTime : max_event_time_ - spec_.watermark_delay;
}

std::optional<Millis> WindowOperator::DeviceWatermark(DeviceId id) const {
  if (id >= devices_.size() || !devices_[id].seen) return std::nullopt;
  return ScopeWatermark(devices_[id]);
}

WindowResult WindowOperator::ResultOf(const DeviceState& d, std::size_t index) const {
  const std::size_t n = spec_.aggregates.size();
  WindowResult r;
  r.pipeline = index_;
  r.device = d.name;
  r.window = d.windows[index].window;
  r.records = d.windows[index].records;
  r.values.reserve(n);
  for (std::size_t a = 0; a < n; ++a) {
    r.values.push_back(AggFinalize(spec_.aggregates[a].fn, d.states[index * n + a]));
  }
  return r;
}

void WindowOperator::ForEachOpenWindow(const std::function<void(const WindowResult&)>& fn) const {
  for (const DeviceState& d : devices_) {
    for (std::size_t i = 0; i < d.windows.size(); ++i) fn(ResultOf(d, i));
  }
}

void WindowOperator::ForEachOpenWindowOf(DeviceId id,
                                         const std::function<void(const WindowResult&)>& fn) const {
  if (id >= devices_.size()) return;
  const DeviceState& d = devices_[id];
  for (std::size_t i = 0; i < d.windows.size(); ++i) fn(ResultOf(d, i));
}

std::optional<DeviceSummary> WindowOperator::Summary(DeviceId id) const {
  if (id >= devices_.size() || !devices_[id].seen) return std::nullopt;
  const DeviceState& d = devices_[id];
  return DeviceSummary{ScopeWatermark(d), d.records, d.late, d.duplicates};
}

PipelineMetrics WindowOperator::Metrics() const {
  std::size_t bytes =
      sizeof(*this) + devices_.capacity() * sizeof(DeviceState) + timers_.size() * sizeof(Timer);
  for (const DeviceState& d : devices_) {
    if (d.name.capacity() > 15) bytes += d.name.capacity() + 1 + kMallocOverhead;
    if (d.windows.capacity() > 0) {
      bytes += d.windows.capacity() * sizeof(OpenWindow) + kMallocOverhead;
      bytes += d.states.capacity() * sizeof(AggState) + kMallocOverhead;
    }
    for (const OpenWindow& w : d.windows) {
      if (w.seen.HeapBytes() > 0) bytes += w.seen.HeapBytes() + kMallocOverhead;
      if (w.unsaved.capacity() > 0) {
        bytes += w.unsaved.capacity() * sizeof(std::uint64_t) + kMallocOverhead;
      }
    }
  }
  return {open_windows_, static_cast<std::int64_t>(bytes), Watermark(), counters_};
}

DeviceSnapshot WindowOperator::SnapshotDevice(DeviceId id) const {
  const DeviceState& d = devices_[id];
  const std::size_t n = spec_.aggregates.size();
  DeviceSnapshot ds{d.name,    d.max_event_time, d.idle_closed_until, d.last_arrival,
                    d.records, d.late,           d.duplicates,        {}};
  for (std::size_t i = 0; i < d.windows.size(); ++i) {
    const OpenWindow& w = d.windows[i];
    auto states = d.states.begin() + static_cast<std::ptrdiff_t>(i * n);
    ds.windows.push_back(
        {w.window, w.records, {states, states + static_cast<std::ptrdiff_t>(n)}, w.seen.Values()});
  }
  return ds;
}

DeviceSnapshot WindowOperator::TakeDeviceCheckpoint(DeviceId id) {
  DeviceState& d = devices_[id];
  const std::size_t n = spec_.aggregates.size();
  DeviceSnapshot ds{d.name,    d.max_event_time, d.idle_closed_until, d.last_arrival,
                    d.records, d.late,           d.duplicates,        {}};
  ds.windows.reserve(d.windows.size());
  for (std::size_t i = 0; i < d.windows.size(); ++i) {
    OpenWindow& w = d.windows[i];
    auto states = d.states.begin() + static_cast<std::ptrdiff_t>(i * n);
    ds.windows.push_back({w.window,
                          w.records,
                          {states, states + static_cast<std::ptrdiff_t>(n)},
                          d.journal ? std::exchange(w.unsaved, {}) : w.seen.Values()});
  }
  d.journal = true;
  return ds;
}

OperatorSnapshot WindowOperator::Snapshot() const {
  OperatorSnapshot s = SnapshotHeader();
  for (std::size_t id = 0; id < devices_.size(); ++id) {
    if (devices_[id].seen) s.devices.push_back(SnapshotDevice(static_cast<DeviceId>(id)));
  }
  return s;
}

void WindowOperator::Restore(const OperatorSnapshot& s,
                             const std::function<DeviceId(std::string_view)>& intern) {
  devices_.clear();
  dirty_.clear();
  timers_ = {};
  open_windows_ = 0;
  max_event_time_ = s.max_event_time;
  counters_ = s.counters;
  const std::size_t n = spec_.aggregates.size();
  for (const DeviceSnapshot& ds : s.devices) {
    const DeviceId id = intern(ds.device);
    DeviceState& d = Device(id, ds.device);
    d.max_event_time = ds.max_event_time;
    d.idle_closed_until = ds.idle_closed_until;
    d.last_arrival = ds.last_arrival;
    d.records = ds.records;
    d.late = ds.late;
    d.duplicates = ds.duplicates;
    d.journal = true;  // the restored fingerprints are durable; new ones are kept until taken
    for (const WindowSnapshot& ws : ds.windows) {
      OpenWindow w{ws.window, ws.records, {}, {}};
      for (std::uint64_t fp : ws.fingerprints) w.seen.Insert(fp);
      d.windows.push_back(std::move(w));
      for (std::size_t a = 0; a < n; ++a) {
        d.states.push_back(a < ws.states.size() ? ws.states[a] : AggState{});
      }
      ++open_windows_;
      if (UsesGlobalWatermark()) timers_.push({ws.window.end, id});
    }
  }
}

}  // namespace tidemark
