#include "gateway/ingest/ingest.h"

#include <chrono>

#include "gateway/ingest/message_hash.h"
#include "gateway/log/log.h"
#include "web/steady_clock.h"

namespace tidemark {
namespace {

constexpr std::int64_t kRetentionBatch = 1000;
constexpr Millis kSummaryEvery = kMinute;

// Why the engine rejected a decoded record, for the log and the rejected sample.
std::string EngineRejectionDetail(RejectReason reason, const Record& record, Millis now) {
  switch (reason) {
    case RejectReason::kFutureTime:
      return "event time " + FormatRfc3339(record.event_time) + " is ahead of the gateway clock (" +
             FormatRfc3339(now) + ") by more than input.max_future_skew";
    case RejectReason::kBadValue:
      return "a field a pipeline aggregates is not a finite number";
    case RejectReason::kBadTime:
      return "event time outside the years 0001-9999";
    default:
      return std::string(RejectReasonName(reason));
  }
}

}  // namespace

Ingest::Ingest(const Config& config, const Clock& clock, std::unique_ptr<OutboxFormat> outbox,
               std::unique_ptr<StateStore> store)
    : clock_(clock),
      retention_(config.storage.retention),
      engine_(config.pipelines, clock, EngineOptions{config.input.max_future_skew}),
      outbox_(std::move(outbox)),
      store_(std::move(store)),
      decoder_(DecoderOptionsOf(config)) {}

StatusOr<std::unique_ptr<Ingest>> Ingest::Open(const Config& config, const Clock& clock,
                                               std::unique_ptr<OutboxFormat> outbox) {
  StoreOptions options = StoreOptionsOf(config.storage);
  options.outbox = outbox.get();
  auto store = StateStore::Open(options);
  if (!store.ok()) return store.status().Prefixed("storage: ");
  std::unique_ptr<Ingest> ingest(
      new Ingest(config, clock, std::move(outbox), std::move(store).value()));
  const Millis begin = SteadyMillis();
  auto recovered = ingest->store_->Recover(ingest->engine_);
  if (!recovered.ok()) {
    return Error{"storage: recovery from " + config.storage.path +
                 " failed: " + recovered.status().message};
  }
  ingest->recovered_ = *recovered;
  ingest->health_.newest_commit = ingest->store_->newest_commit();
  ingest->recovered_.millis = SteadyMillis() - begin;
  const RecoveryStats& r = ingest->recovered_;
  log::Info("restored " + std::to_string(r.open_windows) + " open windows for " +
            std::to_string(r.devices) + " devices from " + config.storage.path + " in " +
            std::to_string(r.millis) + " ms (replayed " + std::to_string(r.replayed) +
            " ingest-log entries)");
  return ingest;
}

bool Ingest::Handle(std::string_view topic, std::string_view payload, bool duplicate) {
  std::lock_guard lock(mu_);
  const Millis now = clock_.Now();
  const std::int64_t begin = SteadyNanos();
  health_.busy_since = begin / 1'000'000;
  committed_ = false;
  bool ok = false;
  try {
    ok = HandleLocked(topic, payload, duplicate, now);
  } catch (const std::exception& e) {
    ok = HandlerThrew(e.what());
  } catch (...) {
    ok = HandlerThrew("an exception of unknown type");
  }
  health_.busy_since = 0;
  if (ok) commit_latency_.Record(SteadyNanos() - begin);
  return ok;
}

std::int64_t Ingest::OutboxAcked() {
  std::lock_guard lock(mu_);
  auto oldest = store_->OutboxOldest();
  const std::int64_t acked = oldest.ok() && *oldest > 0 ? *oldest - 1 : store_->outbox_newest();
  outbox_trimmed_ = acked;
  health_.outbox_newest = store_->outbox_newest();
  return acked;
}

void Ingest::TrimOutbox(std::int64_t acked) {
  std::lock_guard lock(mu_);
  if (acked <= outbox_trimmed_ || needs_recover_) return;
  if (Status s = store_->TrimOutbox(acked); !s.ok()) {
    log::Warning("storage: trimming the outbox: " + s.message);
    return;
  }
  outbox_trimmed_ = acked;
}

void Ingest::Inspect(const std::function<void(const Engine&)>& fn) {
  std::lock_guard lock(mu_);
  fn(engine_);
}

void Ingest::PublishClosed() {
  if (!listener_) return;
  for (const WindowResult& w : out_.closed) {
    listener_->OnWindow(engine_.pipeline(w.pipeline).spec(), w);
  }
}

void Ingest::PublishUpdates() {
  if (!listener_ || touched_.empty()) return;
  if (listener_->WantsUpdates()) {
    for (const std::string& device : touched_) {
      const std::optional<DeviceId> id = engine_.devices().Find(device);
      if (!id) continue;
      for (std::size_t i = 0; i < engine_.pipeline_count(); ++i) {
        const WindowOperator& op = engine_.pipeline(i);
        op.ForEachOpenWindowOf(*id,
                               [&](const WindowResult& w) { listener_->OnWindow(op.spec(), w); });
      }
    }
  }
  touched_.clear();
}

bool Ingest::HandleLocked(std::string_view topic, std::string_view payload, bool duplicate,
                          Millis now) {
  if (needs_recover_ && !TryRecover()) return false;
  if (ClockBehind(now)) return false;
  const std::uint64_t message_hash = HashBytes(payload, HashBytes(topic));
  if (duplicate && store_->SeenMessage(message_hash)) {
    ++health_.redeliveries;  // committed before a crash or reconnect: acknowledge, don't count
    return true;
  }
  const Decoded& decoded = decoder_.Decode(topic, payload);
  if (decoded.rejected) {
    engine_.CountRejected(*decoded.rejected, decoded.record.device, now);
    return CommitRejection(*decoded.rejected, decoded.detail, topic, decoded.record.device, now,
                           message_hash, payload);
  }
  out_.clear();
  const IngestResult result = engine_.ProcessAt(decoded.record, now, out_);
  if (result.rejected) {
    return CommitRejection(*result.rejected,
                           EngineRejectionDetail(*result.rejected, decoded.record, now), topic,
                           decoded.record.device, now, message_hash, payload);
  }
  if (Status s = store_->CommitRecord(decoded.record, now, message_hash, engine_, out_); !s.ok()) {
    return StorageFailed(s, "commit");
  }
  Committed(now);
  PublishClosed();
  if (listener_ && listener_->WantsUpdates()) touched_.emplace(decoded.record.device);
  if (store_->CheckpointDue(now)) {
    // The message is committed whatever happens here; a failed checkpoint reloads the engine.
    if (Status s = store_->Checkpoint(engine_, now); !s.ok()) StorageFailed(s, "checkpoint");
  }
  return true;
}

bool Ingest::CommitRejection(RejectReason reason, std::string_view detail, std::string_view topic,
                             std::string_view device, Millis now, std::uint64_t message_hash,
                             std::string_view payload) {
  if (Status s = store_->CommitRejected(reason, detail, topic, device, now, message_hash, payload);
      !s.ok()) {
    return StorageFailed(s, "commit");
  }
  Committed(now);
  ++health_.rejected;
  ++rejected_since_summary_;
  last_rejection_ = std::string(RejectReasonName(reason)) + " on " + std::string(topic) + ": " +
                    std::string(detail);
  SummariseRejections(now);
  return true;
}

void Ingest::Committed(Millis now) {
  committed_ = true;
  ++health_.messages;
  health_.newest_commit = store_->newest_commit();
  health_.outbox_newest = store_->outbox_newest();
  health_.last_commit = now;
  if (!health_.storage_ok) {
    log::Notice("storage: commits succeed again; ingest resumed");
    health_.storage_ok = true;
  }
}

void Ingest::SummariseRejections(Millis now) {
  if (rejected_since_summary_ == 0 || now - last_summary_ < kSummaryEvery) return;
  log::Warning("rejected " + std::to_string(rejected_since_summary_) +
               " records since the last report; latest: " + last_rejection_);
  rejected_since_summary_ = 0;
  last_summary_ = now;
}

// An exception escaped the write path. Before the commit it is a failed commit (the transaction
// rolled back when it unwound): reload the engine, do not acknowledge. After it, the message is
// durable and is acknowledged: retrying it would count it twice.
bool Ingest::HandlerThrew(std::string_view what) {
  if (committed_) {
    log::Error("ingest: after a commit: " + std::string(what) + " (the message is committed)");
    return true;
  }
  return StorageFailed(Error{"an exception: " + std::string(what)}, "handling a message");
}

bool Ingest::StorageFailed(const Status& status, std::string_view what) {
  ++health_.storage_errors;
  if (health_.storage_ok) {
    log::Error("storage: " + std::string(what) + " failed: " + status.message +
               "; not acknowledging, will retry");
  }
  health_.storage_ok = false;
  needs_recover_ = true;
  TryRecover();
  return false;
}

bool Ingest::TryRecover() {
  auto recovered = store_->Recover(engine_);
  if (!recovered.ok()) {
    log::Error("storage: reloading state failed: " + recovered.status().message);
    return false;
  }
  needs_recover_ = false;
  return true;
}

// Nothing may be committed at a processing time before one already committed: arrival times,
// idle closes and processing-time windows would run backwards. Logs when it starts and ends.
bool Ingest::ClockBehind(Millis now) {
  const Millis newest = store_->newest_commit();
  const bool behind = newest != kNoTime && now < newest;
  if (behind != health_.clock_ok) return behind;  // no change
  health_.clock_ok = !behind;
  if (behind) {
    log::Error("clock: the wall clock (" + FormatRfc3339(now) +
               ") is earlier than the newest commit in the database (" + FormatRfc3339(newest) +
               "): not set yet, or set back; holding messages unacknowledged until it catches up");
  } else {
    log::Notice("clock: the wall clock reached the newest commit in the database; ingest resumed");
  }
  return behind;
}

bool Ingest::Tick() {
  std::lock_guard lock(mu_);
  const Millis now = clock_.Now();
  health_.busy_since = SteadyMillis();
  bool ok = !needs_recover_ || TryRecover();
  if (ok && ClockBehind(now)) {
    health_.busy_since = 0;
    return true;
  }
  if (ok) {
    out_.clear();
    engine_.TickAt(now, out_);
    if (Status s = store_->CommitTick(now, engine_, out_); !s.ok()) {
      ok = StorageFailed(s, "tick commit");
    } else {
      PublishClosed();
      PublishUpdates();
    }
    if (ok && store_->CheckpointDue(now)) {
      if (Status c = store_->Checkpoint(engine_, now); !c.ok()) {
        ok = StorageFailed(c, "checkpoint");
      }
    }
  }
  if (ok) {
    auto deleted = store_->DeleteExpired(now - retention_, kRetentionBatch);
    if (!deleted.ok() && health_.storage_ok) {
      log::Warning("storage: retention: " + deleted.status().message);
    }
  }
  SummariseRejections(now);
  health_.busy_since = 0;
  return ok;
}

bool Ingest::Shutdown() {
  std::lock_guard lock(mu_);
  if (needs_recover_) return false;
  const Millis now = clock_.Now();
  Status s = store_->Checkpoint(engine_, now);
  if (!s.ok()) {
    log::Error("storage: final checkpoint failed: " + s.message + " (the log replays on start)");
    return false;
  }
  return true;
}

}  // namespace tidemark
