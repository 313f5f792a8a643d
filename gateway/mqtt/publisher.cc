#include "gateway/mqtt/publisher.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "gateway/log/log.h"

namespace tidemark {

StatusOr<std::unique_ptr<MqttPublisher>> MqttPublisher::Create(const std::string& broker,
                                                               const std::string& client_id,
                                                               std::string name) {
  std::unique_ptr<mqtt::async_client> client;
  try {
    client = std::make_unique<mqtt::async_client>(broker, client_id,
                                                  mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
  } catch (const std::exception& e) {
    return Error{"--broker " + broker + ": " + e.what()};
  }
  client->set_connection_lost_handler([name](const std::string& cause) {
    try {
      log::Warning(name + ": connection lost" + (cause.empty() ? "" : ": " + cause) +
                   "; reconnecting");
    } catch (...) {
    }
  });
  return std::unique_ptr<MqttPublisher>(
      new MqttPublisher(std::move(client), broker, std::move(name)));
}

MqttPublisher::MqttPublisher(std::unique_ptr<mqtt::async_client> client, std::string broker,
                             std::string name)
    : client_(std::move(client)), broker_(std::move(broker)), name_(std::move(name)) {}

MqttPublisher::~MqttPublisher() = default;

bool MqttPublisher::Connect(Millis give_up, const std::function<bool()>& stop) {
  auto options = mqtt::connect_options_builder()
                     .clean_session(true)
                     .keep_alive_interval(std::chrono::seconds(30))
                     .connect_timeout(std::chrono::seconds(5))
                     .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(10))
                     .finalize();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(give_up);
  for (;;) {
    try {
      client_->connect(options)->wait();
      return true;
    } catch (const std::exception& e) {
      if (stop()) return false;
      if (std::chrono::steady_clock::now() > deadline) {
        log::Error(name_ + ": cannot connect to " + broker_ + ": " + e.what());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

bool MqttPublisher::Publish(std::string_view topic, std::string_view payload, int qos) {
  try {
    outstanding_.push_back(
        client_->publish(std::string(topic), payload.data(), payload.size(), qos, false));
    return true;
  } catch (const std::exception&) {
    ++failed_;  // not connected: the message is lost, as on a real network
    return false;
  }
}

void MqttPublisher::Settle(std::size_t keep, Millis timeout) {
  // One deadline for the whole call, so a dead broker cannot hold the caller for long.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  while (outstanding_.size() > keep ||
         (!outstanding_.empty() && outstanding_.front()->is_complete())) {
    try {
      const auto left = std::max(deadline - std::chrono::steady_clock::now(),
                                 std::chrono::steady_clock::duration::zero());
      if (!outstanding_.front()->wait_for(
              std::chrono::duration_cast<std::chrono::milliseconds>(left))) {
        ++failed_;
      }
    } catch (const std::exception&) {
      ++failed_;
    }
    outstanding_.pop_front();
  }
}

void MqttPublisher::Close(Millis timeout) {
  Settle(0, timeout);
  try {
    client_->disconnect()->wait_for(std::chrono::milliseconds(timeout));
  } catch (const std::exception& e) {
    log::Warning(name_ + ": disconnect: " + e.what());
  }
}

}  // namespace tidemark
