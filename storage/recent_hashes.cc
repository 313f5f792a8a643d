#include "storage/recent_hashes.h"

namespace tidemark {

void RecentHashes::Add(std::uint64_t hash) {
  if (size_ == ring_.size()) {
    auto oldest = counts_.find(ring_[next_]);
    if (oldest != counts_.end() && --oldest->second == 0) counts_.erase(oldest);
  } else {
    ++size_;
  }
  ring_[next_] = hash;
  ++counts_[hash];
  next_ = (next_ + 1) % ring_.size();
}

void RecentHashes::Clear() {
  next_ = 0;
  size_ = 0;
  counts_.clear();
}

}  // namespace tidemark
