#include "web/event_feed.h"

#include <charconv>
#include <chrono>

namespace tidemark::web {

EventFeed::EventFeed(std::int64_t boot, std::size_t capacity)
    : boot_(boot), capacity_(capacity > 0 ? capacity : 1) {}

void EventFeed::Publish(std::string data) {
  {
    std::lock_guard lock(mu_);
    ring_.push_back({++newest_, std::move(data)});
    if (ring_.size() > capacity_) ring_.pop_front();
  }
  changed_.notify_all();
}

bool EventFeed::HasReaders() const { return readers_.load(std::memory_order_relaxed) > 0; }
void EventFeed::AddReader() { ++readers_; }
void EventFeed::RemoveReader() { --readers_; }

std::string EventFeed::IdOf(std::uint64_t seq) const {
  return std::to_string(boot_) + "-" + std::to_string(seq);
}

std::uint64_t EventFeed::ResumeAfter(std::string_view id) const {
  const std::size_t dash = id.find('-');
  if (dash == std::string_view::npos) return 0;
  std::int64_t boot = 0;
  std::uint64_t seq = 0;
  const char* b = id.data();
  if (std::from_chars(b, b + dash, boot).ptr != b + dash || boot != boot_) return 0;
  if (std::from_chars(b + dash + 1, b + id.size(), seq).ptr != b + id.size()) return 0;
  std::lock_guard lock(mu_);
  return seq <= newest_ ? seq : 0;
}

std::uint64_t EventFeed::Newest() const {
  std::lock_guard lock(mu_);
  return newest_;
}

std::vector<FeedEvent> EventFeed::Wait(std::uint64_t after, std::size_t max, int timeout_ms) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return closed_ || newest_ > after; });
  std::vector<FeedEvent> events;
  if (closed_ || ring_.empty() || newest_ <= after) return events;
  const std::uint64_t oldest = ring_.front().seq;
  std::size_t i = after < oldest ? 0 : static_cast<std::size_t>(after - oldest + 1);
  for (; i < ring_.size() && events.size() < max; ++i) events.push_back(ring_[i]);
  return events;
}

void EventFeed::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

}  // namespace tidemark::web
