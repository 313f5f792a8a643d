// EventFeed: the window updates and closes behind GET /api/v1/stream (Server-Sent Events). A
// bounded ring of the newest events, each with an id "<boot>-<n>": <boot> names this process
// (its start time in ms), <n> counts from 1, so a client resuming with Last-Event-ID after a
// gateway restart is recognised and replayed what the ring still holds.
//
// Threading: the ingest thread calls Publish(); HTTP stream threads call After() and Wait();
// all are thread-safe. Publish() never blocks on readers (a short lock to append).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::web {

struct FeedEvent {
  std::uint64_t seq = 0;
  std::string data;  // one JSON object, no newlines
};

class EventFeed {
 public:
  EventFeed(std::int64_t boot, std::size_t capacity);

  void Publish(std::string data);
  // Readers attached (streams open): the ingest thread skips building updates when none.
  bool HasReaders() const;
  void AddReader();
  void RemoveReader();

  // The event id text of `seq` and the seq a Last-Event-ID names: the events to send after it
  // (0: from the oldest held; a foreign or malformed id also starts there).
  std::string IdOf(std::uint64_t seq) const;
  std::uint64_t ResumeAfter(std::string_view last_event_id) const;
  // The newest seq published so far (0 when none): a new stream without Last-Event-ID starts
  // here, receiving only what comes next.
  std::uint64_t Newest() const;

  // Events with seq > after, oldest first, up to `max`. Waits up to `timeout_ms` for one when
  // there are none; returns empty on timeout or after Close().
  std::vector<FeedEvent> Wait(std::uint64_t after, std::size_t max, int timeout_ms);
  // Wakes every waiter and makes further waits return at once (server shutdown).
  void Close();

 private:
  const std::int64_t boot_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<FeedEvent> ring_;  // seqs are consecutive
  std::uint64_t newest_ = 0;
  std::atomic<int> readers_{0};
  bool closed_ = false;
};

}  // namespace tidemark::web
