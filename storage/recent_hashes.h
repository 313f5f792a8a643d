// RecentHashes: the message hashes of the newest `capacity` ingest-log entries, in memory, so
// that a redelivered MQTT message is recognised without an index lookup on every commit
// (StateStore::SeenMessage). Rebuilt from the ingest-log tail by StateStore::Recover.
// Not thread-safe: owned by the StateStore, used by the ingest thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tidemark {

class RecentHashes {
 public:
  explicit RecentHashes(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

  // Remembers `hash` as the newest entry, forgetting the oldest once full.
  void Add(std::uint64_t hash);
  bool Contains(std::uint64_t hash) const { return counts_.count(hash) != 0; }
  void Clear();
  std::size_t size() const { return size_; }

 private:
  std::vector<std::uint64_t> ring_;
  std::size_t next_ = 0;  // slot the next Add writes
  std::size_t size_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> counts_;  // hash -> entries in the ring
};

}  // namespace tidemark
