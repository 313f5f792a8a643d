#include "gateway/mqtt/paho_version.h"

#include <MQTTAsync.h>

#include <charconv>

namespace tidemark {

bool VersionAtLeast(std::string_view version, int major, int minor, int patch) {
  int parts[3] = {0, 0, 0};
  const char* at = version.data();
  const char* const end = version.data() + version.size();
  for (int i = 0; i < 3; ++i) {
    const auto [next, ec] = std::from_chars(at, end, parts[i]);
    if (ec != std::errc()) {
      if (i == 0) return false;  // not a version at all
      break;
    }
    at = next;
    if (at == end || *at != '.') break;
    ++at;
  }
  const int want[3] = {major, minor, patch};
  for (int i = 0; i < 3; ++i) {
    if (parts[i] != want[i]) return parts[i] > want[i];
  }
  return true;
}

std::string PahoCVersion() {
  for (const MQTTAsync_nameValue* v = MQTTAsync_getVersionInfo(); v && v->name; ++v) {
    if (std::string_view(v->name) == "Version" && v->value) return v->value;
  }
  return "";
}

std::optional<std::string> PahoVersionProblem() {
  const std::string version = PahoCVersion();
  if (VersionAtLeast(version, 1, 3, 10)) return std::nullopt;
  return "Paho MQTT C " + (version.empty() ? std::string("of an unknown version") : version) +
         " is too old: before 1.3.10 it acknowledges a message before tidemark has committed "
         "it; install libpaho-mqtt1.3 1.3.10 or later";
}

}  // namespace tidemark
