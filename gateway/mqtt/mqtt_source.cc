#include "gateway/mqtt/mqtt_source.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "gateway/log/log.h"
#include "gateway/mqtt/mqtt_options.h"
#include "gateway/mqtt/paho_version.h"

namespace tidemark {
// Routes Paho's success/failure notifications for connect and subscribe back to the source.
class MqttSource::Listener : public mqtt::iaction_listener {
 public:
  using Callback = std::function<void(bool ok, const mqtt::token& token)>;
  explicit Listener(Callback callback) : callback_(std::move(callback)) {}
  void on_success(const mqtt::token& token) override { Call(true, token); }
  void on_failure(const mqtt::token& token) override { Call(false, token); }

 private:
  void Call(bool ok, const mqtt::token& token) {
    try {
      callback_(ok, token);
    } catch (const std::exception& e) {
      log::Error(std::string("mqtt: ") + e.what());
    }
  }
  Callback callback_;
};

MqttSource::MqttSource(const MqttConfig& config, Handler handler)
    : config_(config), handler_(std::move(handler)) {}

MqttSource::~MqttSource() = default;

StatusOr<std::unique_ptr<MqttSource>> MqttSource::Create(const MqttConfig& config,
                                                         Handler handler) {
  if (auto problem = PahoVersionProblem()) return Error{"mqtt: " + *problem};
  std::unique_ptr<MqttSource> source(new MqttSource(config, std::move(handler)));
  try {
    mqtt::create_options create(config.version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    source->client_ =
        std::make_unique<mqtt::async_client>(config.broker, config.client_id, create, nullptr);
  } catch (const std::exception& e) {
    return Error{"mqtt.broker: cannot use \"" + config.broker + "\": " + e.what()};
  }
  MqttSource* self = source.get();
  self->connect_listener_ = std::make_unique<Listener>([self](bool ok, const mqtt::token& t) {
    self->connecting_ = false;
    if (ok) return;  // connected_handler subscribes
    log::Warning("mqtt: cannot connect to " + self->config_.broker + " (code " +
                 std::to_string(t.get_return_code()) + "); retrying");
  });
  self->subscribe_listener_ = std::make_unique<Listener>([self](bool ok, const mqtt::token& t) {
    if (ok) {
      self->subscribed_ = true;
      log::Info("mqtt: subscribed to " + std::to_string(self->config_.topics.size()) +
                " topic filter(s) at QoS " + std::to_string(self->config_.qos));
    } else {
      log::Error("mqtt: subscribe failed (code " + std::to_string(t.get_return_code()) + ")");
    }
  });
  self->client_->set_connected_handler([self](const std::string&) {
    ++self->connects_;
    self->ever_connected_ = true;
    self->connecting_ = false;
    log::Info("mqtt: connected to " + self->config_.broker + " as " + self->config_.client_id);
    self->Subscribe();
  });
  self->client_->set_connection_lost_handler([self](const std::string& cause) {
    self->subscribed_ = false;
    log::Warning("mqtt: connection lost" + (cause.empty() ? std::string() : ": " + cause) +
                 "; reconnecting");
  });
  self->client_->set_message_callback([self](mqtt::const_message_ptr message) {
    try {
      const mqtt::binary_ref& payload = message->get_payload_ref();
      const mqtt::string_ref& topic = message->get_topic_ref();
      self->handler_(std::string_view(topic.data(), topic.size()),
                     std::string_view(payload.data(), payload.size()), message->is_duplicate());
    } catch (const std::exception& e) {
      log::Error(std::string("mqtt: message handler failed: ") + e.what());
    } catch (...) {
      log::Error("mqtt: message handler failed");
    }
  });
  return source;
}

void MqttSource::Subscribe() {
  try {
    auto filters = mqtt::string_collection::create(config_.topics);
    mqtt::iasync_client::qos_collection qos(config_.topics.size(), config_.qos);
    client_->subscribe(filters, qos, nullptr, *subscribe_listener_);
  } catch (const std::exception& e) {
    log::Error(std::string("mqtt: subscribe: ") + e.what());
  }
}

void MqttSource::Connect() {
  connecting_ = true;
  try {
    client_->connect(ConnectOptionsFor(config_, MqttSession::kPersistent), nullptr,
                     *connect_listener_);
  } catch (const std::exception& e) {
    connecting_ = false;
    log::Warning("mqtt: connect to " + config_.broker + ": " + e.what());
  }
}

void MqttSource::Start() {
  log::Info("mqtt: connecting to " + config_.broker);
  Connect();
}

void MqttSource::Poll(Millis steady_now) {
  if (ever_connected_ || connecting_) return;
  if (retry_at_ == 0) {  // the first attempt just failed
    backoff_ = std::max<Millis>(config_.reconnect_min, kSecond);
    retry_at_ = steady_now + backoff_;
    return;
  }
  if (steady_now < retry_at_) return;
  backoff_ = std::min(backoff_ * 2, std::max(config_.reconnect_max, config_.reconnect_min));
  retry_at_ = steady_now + backoff_;
  Connect();
}

void MqttSource::Stop(Millis timeout) {
  subscribed_ = false;
  try {
    if (client_->is_connected()) {
      client_->disconnect()->wait_for(std::chrono::milliseconds(timeout));
    }
  } catch (const std::exception& e) {
    log::Warning(std::string("mqtt: disconnect: ") + e.what());
  }
}

}  // namespace tidemark
