// MqttPublisher: a plain QoS 0/1 publisher over a clean session (Paho MQTT C++), for the tools
// that play devices (`tidemark simulate`): connect with retries, publish without waiting, keep
// at most a bounded number of messages awaiting their PUBACK, and wait for the rest at the end.
// A message that cannot be sent (not connected) or is not acknowledged in time counts as failed.
//
// Threads: every method from one thread (the tool's); Paho's own threads deliver
// acknowledgements, and no exception escapes into them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

namespace mqtt {
class async_client;
class delivery_token;
}  // namespace mqtt

namespace tidemark {

class MqttPublisher {
 public:
  // Validates the broker URI; nothing connects yet. `name` prefixes log lines ("simulate").
  static StatusOr<std::unique_ptr<MqttPublisher>> Create(const std::string& broker,
                                                         const std::string& client_id,
                                                         std::string name);
  ~MqttPublisher();

  // Connects, retrying each second for up to `give_up`; false when it could not, or when
  // `stop()` turned true meanwhile (then with nothing logged).
  bool Connect(Millis give_up, const std::function<bool()>& stop);
  // Queues one message; false when it could not be sent (counted as failed).
  bool Publish(std::string_view topic, std::string_view payload, int qos);
  // Drops acknowledged messages and waits while more than `keep` await their PUBACK, each at
  // most `timeout`.
  void Settle(std::size_t keep, Millis timeout);
  // Waits up to `timeout` for what is outstanding, then disconnects.
  void Close(Millis timeout);

  std::int64_t failed() const { return failed_; }

 private:
  MqttPublisher(std::unique_ptr<mqtt::async_client> client, std::string broker, std::string name);

  std::unique_ptr<mqtt::async_client> client_;
  const std::string broker_;
  const std::string name_;
  std::deque<std::shared_ptr<mqtt::delivery_token>> outstanding_;
  std::int64_t failed_ = 0;
};

}  // namespace tidemark
