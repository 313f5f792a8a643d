// HashBytes: the 64-bit hash (XXH64) that identifies a payload (Record::payload_hash) and an MQTT
// message (topic, then payload: redelivery detection). Stable across runs, builds and
// platforms, because it is stored in the database. Pure function; any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace tidemark {

std::uint64_t HashBytes(std::string_view bytes, std::uint64_t seed = 0);

}  // namespace tidemark
