// MqttSource: the Paho MQTT C++ async client set up for tidemark's durable path (docs/DESIGN.md §3):
// the configured QoS (1: at-least-once), a persistent session (clean_session=false, or MQTT 5
// clean_start=false with a session expiry), a stable client id, automatic reconnect with
// backoff, and a resubscribe on every (re)connect. Each message goes to one Handler on Paho's
// callback thread; Paho sends the PUBACK when the handler returns, so the handler must return
// only once the message is committed (never start_consuming(): its queue acknowledges first).
//
// Threads: Create/Start/Poll/Stop from the event-loop thread; connected() from any thread; the
// handler runs on Paho's thread. No exception escapes into Paho.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "engine/status.h"
#include "gateway/config/config.h"

namespace mqtt {
class async_client;
}

namespace tidemark {

class MqttSource {
 public:
  using Handler =
      std::function<void(std::string_view topic, std::string_view payload, bool duplicate)>;

  // Validates the options (URI, TLS files); nothing connects yet.
  static StatusOr<std::unique_ptr<MqttSource>> Create(const MqttConfig& config, Handler handler);
  ~MqttSource();

  // Begins connecting; returns at once. Failures are logged and retried by Poll().
  void Start();
  // Retries a failed first connection with backoff (afterwards Paho's automatic reconnect does
  // it). Call about once a second with a steady-clock time in ms.
  void Poll(Millis steady_now);
  // Disconnects cleanly, waiting at most `timeout`. The handler is not called afterwards.
  void Stop(Millis timeout);

  // Connected and subscribed.
  bool connected() const { return subscribed_; }
  std::int64_t connects() const { return connects_; }

 private:
  class Listener;
  MqttSource(const MqttConfig& config, Handler handler);
  void Connect();
  void Subscribe();

  MqttConfig config_;
  Handler handler_;
  std::unique_ptr<mqtt::async_client> client_;
  std::unique_ptr<Listener> connect_listener_;
  std::unique_ptr<Listener> subscribe_listener_;
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> ever_connected_{false};
  std::atomic<bool> connecting_{false};
  std::atomic<std::int64_t> connects_{0};
  Millis retry_at_ = 0;
  Millis backoff_ = 0;
};

}  // namespace tidemark
