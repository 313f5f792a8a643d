// The fault tests' steady publisher (docs/TESTING.md): a thread that publishes fault_reference
// readings seq 0, 1, 2, ... at a fixed rate with QoS 1, keeping up to `window` unacknowledged. When
// the connection breaks (a broker restart), it reconnects with a fresh client and republishes every
// reading not PUBACKed yet — which may duplicate readings the broker already had; the gateway's
// dedup counts those once (docs/DESIGN.md §2). ResendOnReconnect(n) also sends the last n
// acknowledged readings again after each reconnect, like a device that cannot tell what got
// through: certain duplicates. Stop() returns exactly the readings that were made, each once: the
// input of Recompute(). Header-only; one instance per test.
#pragma once

#include <mqtt/async_client.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/gateway/fault_reference.h"

namespace tidemark::testing {

class StreamPublisher {
 public:
  using Clock = std::chrono::steady_clock;

  // Readings over `devices` devices, event time base + seq * step_ms (MakeReadings).
  StreamPublisher(std::string broker_url, int devices, std::int64_t base, std::int64_t step_ms,
                  double per_second, std::size_t window = 20)
      : url_(std::move(broker_url)),
        devices_(devices),
        base_(base),
        step_ms_(step_ms),
        interval_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(1.0 / per_second))),
        window_(window) {}
  ~StreamPublisher() { Stop(std::chrono::seconds(1)); }

  // Before Start(): after every reconnect, send the last `n` acknowledged readings once more.
  void ResendOnReconnect(std::size_t n) { resend_ = n; }
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  // Stops making new readings, keeps trying until every one made is acknowledged (up to
  // `drain`), and returns them in seq order. unacked() > 0 afterwards means the drain timed out.
  std::vector<Reading> Stop(std::chrono::milliseconds drain) {
    drain_deadline_ = Clock::now() + drain;
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    return made_;
  }

  std::int64_t made() const { return made_count_; }
  std::int64_t acked() const { return acked_; }
  std::int64_t unacked() const { return made_count_ - acked_; }
  int reconnects() const { return reconnects_; }
  std::int64_t republished() const { return republished_; }  // unacknowledged, sent again
  // Copies of acknowledged readings that the broker acknowledged again (each one certainly
  // reached the broker twice), and every copy sent, acknowledged or not.
  std::int64_t resent() const { return resent_acked_; }
  std::int64_t resent_sent() const { return resent_sent_; }

 private:
  struct Pending {
    Reading reading;
    mqtt::delivery_token_ptr token;  // null: not (re)sent on the current connection
    Clock::time_point sent;
    bool copy = false;  // a resent acknowledged reading: not counted in acked_
  };

  void Run() {
    Clock::time_point next = Clock::now();
    while (true) {
      const auto now = Clock::now();
      if (stopping_ && (pending_.empty() || now >= drain_deadline_)) break;
      if (!client_ || !client_->is_connected() || broken_) {
        Reconnect();
        continue;
      }
      Collect(now);
      if (broken_) continue;
      if (!stopping_ && now >= next && pending_.size() < window_) {
        Reading r = MakeReadings(made_count_, 1, devices_, base_, step_ms_)[0];
        made_.push_back(r);
        ++made_count_;
        pending_.push_back({r, nullptr, now});
        Send(pending_.back());
        // A steady rate: after a stall, carry on from now rather than bursting to catch up.
        next = std::max(next + interval_, now - std::chrono::milliseconds(50));
        continue;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    Disconnect();
  }

  void Send(Pending& p) {
    try {
      const std::string payload = Payload(p.reading);
      p.token = client_->publish(Topic(p.reading), payload.data(), payload.size(), 1, false);
      p.sent = Clock::now();
    } catch (const std::exception&) {
      broken_ = true;
    }
  }

  // Retires acknowledged readings in order; a failed or long-silent one breaks the connection.
  void Collect(Clock::time_point now) {
    while (!pending_.empty()) {
      Pending& p = pending_.front();
      bool done = false;
      try {
        done = p.token && p.token->try_wait();
      } catch (const std::exception&) {
        broken_ = true;
        return;
      }
      if (!done) {
        if (!p.token || now - p.sent > std::chrono::seconds(10)) broken_ = true;
        return;
      }
      ++(p.copy ? resent_acked_ : acked_);
      pending_.pop_front();
    }
  }

  void Disconnect() {
    for (Pending& p : pending_) p.token.reset();
    if (!client_) return;
    try {
      if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const std::exception&) {
    }
    client_.reset();
  }

  // A fresh client (clean session); everything unacknowledged is sent again.
  void Reconnect() {
    Disconnect();
    broken_ = false;
    try {
      client_ = std::make_unique<mqtt::async_client>(url_, "fault-publisher");
      auto options = mqtt::connect_options_builder()
                         .clean_session(true)
                         .connect_timeout(std::chrono::seconds(2))
                         .keep_alive_interval(std::chrono::seconds(5))
                         .max_inflight(static_cast<int>(window_ + resend_) + 16)
                         .finalize();
      client_->connect(options)->wait_for(std::chrono::seconds(3));
    } catch (const std::exception&) {
    }
    if (!client_ || !client_->is_connected()) {
      client_.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return;
    }
    if (connected_once_) ++reconnects_;
    connected_once_ = true;
    // Copies still unacknowledged are dropped (the broker may or may not have them: they count
    // in resent_sent() only), so pending_ never exceeds window_ + resend_.
    std::erase_if(pending_, [](const Pending& p) { return p.copy; });
    for (Pending& p : pending_) {
      Send(p);
      if (!p.copy) ++republished_;
    }
    // Acknowledged readings are made_[0, acked_); send the newest `resend_` of them again.
    const std::size_t acked = static_cast<std::size_t>(acked_.load());
    for (std::size_t i = acked - std::min(acked, resend_); i < acked && !broken_; ++i) {
      pending_.push_back({made_[i], nullptr, Clock::now(), true});
      Send(pending_.back());
      ++resent_sent_;
    }
  }

  const std::string url_;
  const int devices_;
  const std::int64_t base_, step_ms_;
  const Clock::duration interval_;
  const std::size_t window_;
  std::size_t resend_ = 0;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  Clock::time_point drain_deadline_;
  std::unique_ptr<mqtt::async_client> client_;
  bool broken_ = false;
  bool connected_once_ = false;
  std::deque<Pending> pending_;
  std::vector<Reading> made_;  // read by Stop() after the join only
  std::atomic<std::int64_t> made_count_{0}, acked_{0}, republished_{0}, resent_acked_{0},
      resent_sent_{0};
  std::atomic<int> reconnects_{0};
};

}  // namespace tidemark::testing
