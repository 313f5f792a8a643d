// Internals shared by the StateStore's source files (state_store.cc: opening and the commit
// path; state_store_checkpoint.cc; state_store_recovery.cc; state_store_outbox.cc). Include
// it from those files only. The threading contract is StateStore's: the ingest thread only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/state_store.h"

namespace tidemark::store_internal {

enum LogKind : int { kLogRecord = 0, kLogRejected = 1, kLogTick = 2 };

inline Status Corrupt(const std::string& what) { return {sqlite::codes::kCorrupt, what}; }

inline std::int64_t AsInt(std::uint64_t v) { return static_cast<std::int64_t>(v); }

inline std::string EncodeRejected(RejectReason reason, std::string_view device) {
  std::string out(1, static_cast<char>(reason));
  out.append(device);
  return out;
}

// Fingerprints a device snapshot carries, over all its windows.
inline std::size_t FingerprintCount(const DeviceSnapshot& d) {
  std::size_t n = 0;
  for (const WindowSnapshot& w : d.windows) n += w.fingerprints.size();
  return n;
}

}  // namespace tidemark::store_internal

namespace tidemark {

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

}  // namespace tidemark
