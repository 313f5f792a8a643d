// ReplyCache: a micro-cache of whole replies for at most `ttl_ms` (nginx-style "microcaching"):
// many clients asking the same page in the same second (dashboards, scripts polling) cost one
// SQLite query, so HTTP load spends little CPU the ingest thread needs. Bounded: at most
// `max_entries`, the oldest dropped first, and every expired reply dropped at each Put, so the
// cache never holds stale pages for long.
//
// Threading: any thread; one mutex, held only to copy a reply in or out.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "web/api.h"
#include "web/steady_clock.h"

namespace tidemark::web {

class ReplyCache {
 public:
  ReplyCache(std::int64_t ttl_ms, std::size_t max_entries)
      : ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  std::optional<Reply> Get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || SteadyMillis() - it->second.at >= ttl_ms_) return std::nullopt;
    return it->second.reply;
  }

  void Put(const std::string& key, const Reply& reply) {
    std::lock_guard lock(mu_);
    // A Put follows a miss (a query ran): sweeping the few entries then is cheap.
    const std::int64_t now = SteadyMillis();
    std::erase_if(order_, [&](const std::string& k) {
      auto e = entries_.find(k);
      if (now - e->second.at < ttl_ms_) return false;
      entries_.erase(e);
      return true;
    });
    auto [it, inserted] = entries_.insert_or_assign(key, Entry{reply, now});
    if (inserted) order_.push_back(key);
    while (entries_.size() > max_entries_ && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  std::size_t size() {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Reply reply;
    std::int64_t at = 0;
  };
  const std::int64_t ttl_ms_;
  const std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace tidemark::web
