// Paho connect options from an MqttConfig: keep-alive, MQTT version, credentials and TLS, and
// either a persistent session (the devices' broker: clean_session=false / clean_start=false with
// a session expiry, automatic reconnect) or a clean one (the uplink: its outbox in SQLite is
// what persists, and it reconnects itself). Pure function; any thread.
#pragma once

#include <mqtt/connect_options.h>

#include "gateway/config/config.h"

namespace tidemark {

enum class MqttSession { kPersistent, kClean };

mqtt::connect_options ConnectOptionsFor(const MqttConfig& c, MqttSession session);

}  // namespace tidemark
