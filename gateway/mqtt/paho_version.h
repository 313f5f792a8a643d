// The Paho MQTT C library's version, checked at start-up: tidemark's durability rests on Paho
// sending the PUBACK only after the message callback returns (docs/DESIGN.md §3), which holds
// from Paho MQTT C 1.3.10; the build requires it too (gateway/mqtt/CMakeLists.txt), this
// catches an older shared library swapped in underneath. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tidemark {

// True when `version` ("1.3.12", "1.4.0-rc1") is at least major.minor.patch.
bool VersionAtLeast(std::string_view version, int major, int minor, int patch);
// The running library's version ("Version" of MQTTAsync_getVersionInfo; "" when absent).
std::string PahoCVersion();
// Why the running Paho MQTT C cannot be used, or nothing.
std::optional<std::string> PahoVersionProblem();

}  // namespace tidemark
