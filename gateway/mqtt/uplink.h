// Uplink: publishes the outbox (final windows, optionally late records, written by StateStore
// in the same transaction as the message that produced them) to the upstream broker of
// [output], at QoS 1, oldest first, with up to `max_inflight` messages awaiting PUBACK. It
// reads the outbox through its own read-only connection and only reports how far the upstream
// broker has acknowledged (acked()); the ingest thread deletes those rows (the database keeps
// one writer). After an outage or a restart it resends from the oldest unacknowledged row:
// at-least-once, each window identified by pipeline, device and start.
// The outbox is read through storage's OutboxReader; nothing here knows its SQL.
//
// Threading: Start()/Stop() from the main thread; a thread of its own publishes; acked(),
// connected(), published() and set_aside() from any thread; Wake() from the ingest thread after a
// commit.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/config/config.h"
#include "storage/outbox_reader.h"
#include "storage/state_store.h"

namespace mqtt {
class async_client;
}

namespace tidemark {

// What [output] sends: a final window as the API's window object to `topic`, a late record as
// the API's late-log object to `late_topic` (when `late`), {pipeline}/{device} replaced.
class OutboxMessages final : public OutboxFormat {
 public:
  explicit OutboxMessages(OutputConfig config) : config_(std::move(config)) {}
  bool Window(const PipelineSpec& spec, const WindowResult& window, std::string& topic,
              std::string& payload) const override;
  bool Late(const PipelineSpec& spec, const LateRecord& late, std::string& topic,
            std::string& payload) const override;

 private:
  const OutputConfig config_;
};

class Uplink {
 public:
  // `acked` is where a previous run got to (StateStore::outbox_acked()).
  Uplink(OutputConfig config, std::string db_path, std::int64_t acked);
  ~Uplink();

  void Start();
  void Stop();
  void Wake();

  std::int64_t acked() const { return acked_; }
  bool connected() const { return connected_; }
  std::int64_t published() const { return published_; }
  // Rows set aside: refused by the upstream broker (an MQTT 5 PUBACK failure reason) three times
  // in a row; logged with their id and topic, then skipped so the rows behind them go out.
  std::int64_t set_aside() const { return set_aside_; }

 private:
  void Run();
  bool Connect();
  // Outbox rows after acked_, up to max_inflight; false when the database cannot be read.
  bool ReadBatch(std::vector<OutboxRow>& rows);
  // Publishes one batch; false when the connection failed (resend from acked_).
  bool PublishBatch();
  void Refused(const OutboxRow& row, const std::string& why);
  bool Failed(const std::string& why);  // logs, disconnects; false

  const OutputConfig config_;
  std::unique_ptr<mqtt::async_client> client_;
  OutboxReader outbox_;  // used by the uplink thread only
  std::atomic<std::int64_t> acked_;
  std::atomic<std::int64_t> published_{0};
  std::atomic<std::int64_t> set_aside_{0};
  std::int64_t refused_id_ = 0;  // the row refused last, and how many times in a row
  int refusals_ = 0;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace tidemark
