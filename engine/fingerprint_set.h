// FingerprintSet: a compact open-addressing set of 64-bit record fingerprints, used to count a
// duplicated record once while its window is open (docs/DESIGN.md §2 "Duplicates"). 16 bytes when
// empty, ~8-16 bytes per entry. Not thread-safe: owned by one window of one operator.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace tidemark {

class FingerprintSet {
 public:
  FingerprintSet() = default;
  FingerprintSet(const FingerprintSet& other);
  FingerprintSet& operator=(const FingerprintSet& other);
  FingerprintSet(FingerprintSet&& other) noexcept { *this = std::move(other); }
  FingerprintSet& operator=(FingerprintSet&& other) noexcept {
    slots_ = std::move(other.slots_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  // Adds fp; false when it was already present.
  bool Insert(std::uint64_t fp);
  bool Contains(std::uint64_t fp) const;
  void Merge(const FingerprintSet& other);

  std::uint32_t size() const { return size_; }
  // Heap bytes held (for state metrics).
  std::size_t HeapBytes() const { return std::size_t{capacity_} * sizeof(std::uint64_t); }
  // The fingerprints, in no particular order (for snapshots).
  std::vector<std::uint64_t> Values() const;

 private:
  static std::uint64_t Stored(std::uint64_t fp) { return fp == 0 ? 1 : fp; }  // 0 marks empty
  void Grow();

  std::unique_ptr<std::uint64_t[]> slots_;
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;  // 0 or a power of two
};

// Mixes an event time and a payload hash into a fingerprint (splitmix64 finalizer).
std::uint64_t RecordFingerprint(std::int64_t event_time, std::uint64_t payload_hash);

}  // namespace tidemark
