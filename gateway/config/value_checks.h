// The checks config.cc applies to single values (addresses, broker URLs, topic filters, field
// paths, names) and the small text helpers its messages use. A Problem is what is wrong, in
// words, or nothing. For gateway/config/ only. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tidemark::config_checks {

inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t kMaxMqttPacket = 268435455;  // MQTT's largest packet (256 MiB - 1)
using Problem = std::optional<std::string>;

std::string Quote(std::string_view s);
std::string Join(std::string_view prefix, std::string_view key);
std::size_t EditDistance(std::string_view a, std::string_view b);
bool AllDigits(std::string_view s);
Problem CheckHostPort(std::string_view s, bool port_required);
Problem CheckNotEmpty(std::string_view s);
Problem CheckListen(std::string_view s);
Problem CheckBroker(std::string_view url);
bool IsTlsBroker(std::string_view url);
Problem CheckTopicFilter(std::string_view filter);
Problem CheckOutputTopic(std::string_view topic);
Problem CheckFieldPath(std::string_view path);
Problem CheckDeviceSource(std::string_view s);
Problem CheckPipelineName(std::string_view name);
Problem CheckHostName(std::string_view name);

}  // namespace tidemark::config_checks
