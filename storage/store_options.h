// StoreOptions: what a StateStore is opened with (the file, its durability level, checkpoint
// cadence, log bounds, the size cap) and OutboxFormat, how [output] messages are made. Plain
// values with their defaults — the one place those defaults live (gateway/config/ reads the
// TOML keys into them). Safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/time.h"
#include "storage/sqlite.h"

namespace tidemark {

struct PipelineSpec;  // engine/pipeline.h
struct WindowResult;  // engine/window_operator.h
struct LateRecord;

// The messages of [output] for a final window or a late record: the gateway decides topic and
// payload; StateStore writes them to the outbox in the transaction that produced them.
// Called on the ingest thread inside that transaction: must not touch the store.
class OutboxFormat {
 public:
  virtual ~OutboxFormat() = default;
  // False: nothing to send for this one.
  virtual bool Window(const PipelineSpec& spec, const WindowResult& window, std::string& topic,
                      std::string& payload) const = 0;
  virtual bool Late(const PipelineSpec& spec, const LateRecord& late, std::string& topic,
                    std::string& payload) const = 0;
};

struct StoreOptions {
  std::string path;
  sqlite::Synchronous synchronous = sqlite::Synchronous::kNormal;
  std::int64_t checkpoint_records = 50000;  // messages between checkpoints
  Millis checkpoint_interval = 10 * kSecond;
  std::int64_t late_log_max = 100000;       // rows kept in the late-data log
  std::int64_t rejected_max = 10000;        // rejected-record samples kept
  std::int64_t redelivery_window = 100000;  // logged messages kept to recognise redeliveries
  std::size_t rejected_payload_max = 1024;  // bytes of a rejected payload kept
  const OutboxFormat* outbox = nullptr;     // none: no [output]; must outlive the store
  std::int64_t max_bytes = 0;  // database size cap (PRAGMA max_page_count); 0 = none. Writes past
                               // it fail like a full disk (SQLITE_FULL).
};

}  // namespace tidemark
