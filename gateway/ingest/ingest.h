// Ingest: tidemark's single write path (docs/DESIGN.md §3) — decode -> engine -> one SQLite commit
// per MQTT message — plus the work timers do on the same state (idle and processing-time closes,
// checkpoints, retention, the rejected-record summary).
//
// Threads: Paho's callback thread calls Handle(); the event-loop thread calls Tick() and
// Shutdown(); both serialise on one internal lock. Health() may be read from any thread.
// Inspect() runs a function on the engine under that lock (the HTTP API's live snapshot).
// A WindowListener hears about windows after they are committed: closes as they happen, and
// (when it wants them) the open windows of devices that received records, once per Tick().
// Handle() returns true only after the message is durably committed (or recognised as a
// redelivery of one that was): only then may the caller return from Paho's callback, which
// sends the PUBACK. On a storage failure it rolls the engine back to what is on disk, reports
// not-ready, and returns false: the caller keeps the message and retries. An exception in the
// write path is handled the same way (Handle() never throws). It also returns false,
// committing nothing, while the wall clock is earlier than the newest commit in the database
// (an edge box without a real-time clock boots in 1970; a clock set back): rejecting every
// record as future_time and acknowledging it would lose them. Tick() does nothing meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "engine/engine.h"
#include "gateway/config/config.h"
#include "gateway/ingest/decoder.h"
#include "gateway/ingest/latency_histogram.h"
#include "storage/state_store.h"

namespace tidemark {

// Counters and state for readiness, the watchdog and metrics; atomics, readable anywhere.
struct IngestHealth {
  std::atomic<bool> storage_ok{true};
  // False while the wall clock is earlier than the newest commit in the database: messages are
  // held unacknowledged (see Ingest::ClockBehind).
  std::atomic<bool> clock_ok{true};
  std::atomic<Millis> newest_commit{kNoTime};  // StateStore::newest_commit()
  std::atomic<std::int64_t> messages{0};       // handled (committed) MQTT messages
  std::atomic<std::int64_t> redeliveries{0};   // recognised as already committed
  std::atomic<std::int64_t> rejected{0};
  std::atomic<std::int64_t> storage_errors{0};
  std::atomic<Millis> last_commit{0};          // processing time of the newest commit
  std::atomic<Millis> busy_since{0};           // start of the call in progress; 0 when idle
  std::atomic<std::int64_t> outbox_newest{0};  // newest committed outbox id ([output])
};

// Called on the ingest thread with the Ingest lock held: must be quick and must not call back.
class WindowListener {
 public:
  virtual ~WindowListener() = default;
  virtual bool WantsUpdates() const = 0;
  virtual void OnWindow(const PipelineSpec& spec, const WindowResult& window) = 0;
};

class Ingest {
 public:
  // Opens the store, recovers the engine from it and logs what was restored. `outbox` formats
  // what [output] sends (null without [output]); the store writes it in each commit.
  static StatusOr<std::unique_ptr<Ingest>> Open(const Config& config, const Clock& clock,
                                                std::unique_ptr<OutboxFormat> outbox = nullptr);

  bool Handle(std::string_view topic, std::string_view payload, bool duplicate);
  // Timer work at clock.Now(); returns false when storage failed (state was reloaded).
  bool Tick();
  // Final checkpoint so the next start replays little; call after ingest has stopped.
  bool Shutdown();

  // Set before ingest starts; `listener` must outlive this object.
  void SetWindowListener(WindowListener* listener) { listener_ = listener; }
  void Inspect(const std::function<void(const Engine&)>& fn);

  // [output]: where the uplink starts (the newest id already acknowledged: every older row was
  // deleted), and deleting rows the upstream broker acknowledged (event-loop thread).
  std::int64_t OutboxAcked();
  void TrimOutbox(std::int64_t acked);

  const IngestHealth& health() const { return health_; }
  const LatencyHistogram& commit_latency() const { return commit_latency_; }
  const RecoveryStats& recovered() const { return recovered_; }

 private:
  Ingest(const Config& config, const Clock& clock, std::unique_ptr<OutboxFormat> outbox,
         std::unique_ptr<StateStore> store);
  bool HandleLocked(std::string_view topic, std::string_view payload, bool duplicate, Millis now);
  bool CommitRejection(RejectReason reason, std::string_view detail, std::string_view topic,
                       std::string_view device, Millis now, std::uint64_t message_hash,
                       std::string_view payload);
  void Committed(Millis now);
  bool StorageFailed(const Status& status, std::string_view what);
  bool HandlerThrew(std::string_view what);
  bool TryRecover();
  bool ClockBehind(Millis now);
  void SummariseRejections(Millis now);
  void PublishClosed();
  void PublishUpdates();

  const Clock& clock_;
  Millis retention_;
  std::mutex mu_;  // guards everything below
  Engine engine_;
  std::unique_ptr<OutboxFormat> outbox_;  // before store_: the store uses it
  std::unique_ptr<StateStore> store_;
  std::int64_t outbox_trimmed_ = 0;
  RecordDecoder decoder_;
  Output out_;
  RecoveryStats recovered_;
  bool needs_recover_ = false;  // a failed write left the engine ahead of the database
  bool committed_ = false;      // the message in Handle() is committed
  // Rejected-record summary, logged at most once a minute.
  std::int64_t rejected_since_summary_ = 0;
  Millis last_summary_ = 0;
  std::string last_rejection_;
  IngestHealth health_;
  LatencyHistogram commit_latency_;
  WindowListener* listener_ = nullptr;
  std::unordered_set<std::string> touched_;  // devices with records since the last updates
};

}  // namespace tidemark
