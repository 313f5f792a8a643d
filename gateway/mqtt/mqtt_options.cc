#include "gateway/mqtt/mqtt_options.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace tidemark {
namespace {

std::chrono::seconds Seconds(Millis ms) {
  return std::chrono::seconds(std::max<Millis>(1, ms / kSecond));
}

}  // namespace

mqtt::connect_options ConnectOptionsFor(const MqttConfig& c, MqttSession session) {
  const bool persistent = session == MqttSession::kPersistent;
  mqtt::connect_options_builder b;
  b.keep_alive_interval(Seconds(c.keep_alive)).connect_timeout(std::chrono::seconds(10));
  if (persistent) b.automatic_reconnect(Seconds(c.reconnect_min), Seconds(c.reconnect_max));
  if (c.version == 5) {
    b.mqtt_version(MQTTVERSION_5).clean_start(!persistent);
    if (persistent) {
      const auto expiry = static_cast<std::int32_t>(
          std::min<Millis>(c.session_expiry / kSecond, std::numeric_limits<std::int32_t>::max()));
      b.properties(mqtt::properties{{mqtt::property::SESSION_EXPIRY_INTERVAL, expiry}});
    }
  } else {
    b.mqtt_version(MQTTVERSION_3_1_1).clean_session(!persistent);
  }
  if (!c.username.empty()) b.user_name(c.username).password(c.password);
  const bool tls = c.broker.rfind("ssl://", 0) == 0 || c.broker.rfind("mqtts://", 0) == 0 ||
                   c.broker.rfind("wss://", 0) == 0;
  if (tls) {
    mqtt::ssl_options_builder ssl;
    ssl.enable_server_cert_auth(true).verify(true);
    if (!c.ca_file.empty()) {
      ssl.trust_store(c.ca_file);
    } else {
      ssl.ca_path("/etc/ssl/certs");
    }
    if (!c.cert_file.empty()) ssl.key_store(c.cert_file);
    if (!c.key_file.empty()) ssl.private_key(c.key_file);
    b.ssl(ssl.finalize());
  }
  return b.finalize();
}

}  // namespace tidemark
