#include "engine/fingerprint_set.h"

#include <algorithm>

namespace tidemark {
namespace {

std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::uint64_t RecordFingerprint(std::int64_t event_time, std::uint64_t payload_hash) {
  return Mix(payload_hash ^ Mix(static_cast<std::uint64_t>(event_time) + 0x9e3779b97f4a7c15ULL));
}

FingerprintSet::FingerprintSet(const FingerprintSet& other) { *this = other; }

FingerprintSet& FingerprintSet::operator=(const FingerprintSet& other) {
  if (this == &other) return *this;
  size_ = other.size_;
  capacity_ = other.capacity_;
  slots_.reset(capacity_ ? new std::uint64_t[capacity_] : nullptr);
  if (capacity_) std::copy_n(other.slots_.get(), capacity_, slots_.get());
  return *this;
}

bool FingerprintSet::Contains(std::uint64_t fp) const {
  if (capacity_ == 0) return false;
  const std::uint64_t v = Stored(fp);
  const std::uint32_t mask = capacity_ - 1;
  for (std::uint32_t i = static_cast<std::uint32_t>(v) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == v) return true;
    if (slots_[i] == 0) return false;
  }
}

bool FingerprintSet::Insert(std::uint64_t fp) {
  if ((size_ + 1) * 4 > capacity_ * 3) Grow();  // load factor <= 3/4
  const std::uint64_t v = Stored(fp);
  const std::uint32_t mask = capacity_ - 1;
  for (std::uint32_t i = static_cast<std::uint32_t>(v) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == v) return false;
    if (slots_[i] == 0) {
      slots_[i] = v;
      ++size_;
      return true;
    }
  }
}

void FingerprintSet::Merge(const FingerprintSet& other) {
  for (std::uint32_t i = 0; i < other.capacity_; ++i) {
    if (other.slots_[i] != 0) Insert(other.slots_[i]);
  }
}

std::vector<std::uint64_t> FingerprintSet::Values() const {
  std::vector<std::uint64_t> out;
  out.reserve(size_);
  for (std::uint32_t i = 0; i < capacity_; ++i) {
    if (slots_[i] != 0) out.push_back(slots_[i]);
  }
  return out;
}

void FingerprintSet::Grow() {
  FingerprintSet bigger;
  bigger.capacity_ = capacity_ ? capacity_ * 2 : 4;
  bigger.slots_.reset(new std::uint64_t[bigger.capacity_]());
  for (std::uint32_t i = 0; i < capacity_; ++i) {
    if (slots_[i] != 0) bigger.Insert(slots_[i]);
  }
  *this = std::move(bigger);
}

}  // namespace tidemark
