#include "storage/codec.h"

#include <algorithm>
#include <cstring>

namespace tidemark {
namespace {

class Writer {
 public:
  template <typename T>
  void Put(T v) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    out_.append(bytes, sizeof(T));
  }
  void Str(std::string_view s) {
    Put(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T& v) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(&v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool Str(std::string& s) {
    std::uint32_t n = 0;
    if (!Get(n) || in_.size() < n) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  // A count of items each at least `min_bytes` long: rejects counts the blob cannot hold.
  bool Count(std::uint32_t& n, std::size_t min_bytes) {
    return Get(n) && std::size_t{n} * min_bytes <= in_.size();
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void PutState(Writer& w, const AggState& s) {
  w.Put(s.value);
  w.Put(s.count);
  w.Put(s.time);
  w.Put(s.seq);
}

bool GetState(Reader& r, AggState& s) {
  return r.Get(s.value) && r.Get(s.count) && r.Get(s.time) && r.Get(s.seq);
}

}  // namespace

std::string EncodeRecord(const Record& record) {
  Writer w;
  w.Str(record.device);
  w.Put(record.event_time);
  w.Put(record.payload_hash);
  w.Put(static_cast<std::uint32_t>(record.fields.size()));
  for (const FieldValue& f : record.fields) {
    w.Str(f.name);
    w.Put(f.number);
    w.Put(static_cast<std::uint8_t>(f.is_number));
  }
  return w.Take();
}

bool DecodeRecord(std::string_view blob, StoredRecord& out) {
  Reader r(blob);
  std::uint32_t n = 0;
  if (!r.Str(out.device) || !r.Get(out.event_time) || !r.Get(out.payload_hash) || !r.Count(n, 13)) {
    return false;
  }
  out.names.assign(n, {});
  out.fields.assign(n, {});
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint8_t is_number = 0;
    if (!r.Str(out.names[i]) || !r.Get(out.fields[i].number) || !r.Get(is_number)) return false;
    out.fields[i].is_number = is_number != 0;
  }
  for (std::uint32_t i = 0; i < n; ++i) out.fields[i].name = out.names[i];
  return r.done();
}

std::string EncodeDevice(const DeviceSnapshot& d) {
  Writer w;
  w.Str(d.device);
  w.Put(d.max_event_time);
  w.Put(d.idle_closed_until);
  w.Put(d.last_arrival);
  w.Put(d.records);
  w.Put(d.late);
  w.Put(d.duplicates);
  w.Put(static_cast<std::uint32_t>(d.windows.size()));
  for (const WindowSnapshot& ws : d.windows) {
    w.Put(ws.window.start);
    w.Put(ws.window.end);
    w.Put(ws.records);
    w.Put(static_cast<std::uint32_t>(ws.states.size()));
    for (const AggState& s : ws.states) PutState(w, s);
    w.Put(static_cast<std::uint32_t>(ws.fingerprints.size()));
    for (std::uint64_t fp : ws.fingerprints) w.Put(fp);
  }
  return w.Take();
}

bool DecodeDevice(std::string_view blob, DeviceSnapshot& d) {
  Reader r(blob);
  std::uint32_t windows = 0;
  if (!r.Str(d.device) || !r.Get(d.max_event_time) || !r.Get(d.idle_closed_until) ||
      !r.Get(d.last_arrival) || !r.Get(d.records) || !r.Get(d.late) || !r.Get(d.duplicates) ||
      !r.Count(windows, 32)) {
    return false;
  }
  d.windows.assign(windows, {});
  for (WindowSnapshot& ws : d.windows) {
    std::uint32_t states = 0, fps = 0;
    if (!r.Get(ws.window.start) || !r.Get(ws.window.end) || !r.Get(ws.records) ||
        !r.Count(states, 32)) {
      return false;
    }
    ws.states.assign(states, {});
    for (AggState& s : ws.states) {
      if (!GetState(r, s)) return false;
    }
    if (!r.Count(fps, 8)) return false;
    ws.fingerprints.assign(fps, 0);
    for (std::uint64_t& fp : ws.fingerprints) {
      if (!r.Get(fp)) return false;
    }
  }
  return r.done();
}

std::string EncodeFingerprints(const DeviceSnapshot& d) {
  std::uint32_t groups = 0;
  for (const WindowSnapshot& ws : d.windows) {
    if (!ws.fingerprints.empty()) ++groups;
  }
  if (groups == 0) return {};
  Writer w;
  w.Put(groups);
  for (const WindowSnapshot& ws : d.windows) {
    if (ws.fingerprints.empty()) continue;
    w.Put(ws.window.start);
    w.Put(static_cast<std::uint32_t>(ws.fingerprints.size()));
    for (std::uint64_t fp : ws.fingerprints) w.Put(fp);
  }
  return w.Take();
}

bool DecodeFingerprintsInto(std::string_view blob, DeviceSnapshot& d) {
  Reader r(blob);
  std::uint32_t groups = 0;
  if (!r.Count(groups, 12)) return false;
  for (std::uint32_t g = 0; g < groups; ++g) {
    Millis start = 0;
    std::uint32_t n = 0;
    if (!r.Get(start) || !r.Count(n, 8)) return false;
    // The last window starting at or before `start`: the exact one if open (starts are unique),
    // else a session containing it.
    auto it =
        std::upper_bound(d.windows.begin(), d.windows.end(), start,
                         [](Millis s, const WindowSnapshot& w) { return s < w.window.start; });
    WindowSnapshot* home = nullptr;
    if (it != d.windows.begin() && std::prev(it)->window.Contains(start)) home = &*std::prev(it);
    std::vector<std::uint64_t>* fps = home ? &home->fingerprints : nullptr;
    if (fps) fps->reserve(fps->size() + n);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint64_t fp = 0;
      if (!r.Get(fp)) return false;
      if (fps) fps->push_back(fp);
    }
  }
  return r.done();
}

}  // namespace tidemark
