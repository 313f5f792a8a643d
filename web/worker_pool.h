// WorkerPool: cpp-httplib's TaskQueue with a bound. `threads` workers take accepted connections
// from a queue of at most `queue_max`; when it is full, the connection goes to one overflow
// thread that only answers 429 (Saturated() is true there), so a flood of clients costs a
// short reply each instead of an unbounded queue of waiting sockets. Workers lower their own
// scheduling priority by `nice` (setpriority on the thread), so on a small box the ingest
// thread wins the CPU when both want it: HTTP load must never slow ingest down.
//
// Threading: httplib's accept thread calls enqueue(); shutdown() once, from the thread that
// stops the server.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tidemark::web {

class WorkerPool final : public httplib::TaskQueue {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_max, int nice);
  ~WorkerPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // True on the overflow thread: the request must be answered 429.
  static bool Saturated();
  // On a worker: when the job it runs was queued (steady-clock ms; 0 elsewhere) — for a
  // connection, when it was accepted.
  static std::int64_t QueuedAt();
  // On a worker: true while connections wait in the queue for a worker (an idle keep-alive
  // connection should then make room instead of holding its worker).
  static bool OthersWaiting();

 private:
  struct Job {
    std::function<void()> fn;
    std::int64_t queued_at;
  };
  struct Queue {
    std::deque<Job> jobs;
    std::condition_variable ready;
  };
  void Work(Queue& q, bool overflow);

  std::atomic<std::size_t> waiting_{0};  // main_.jobs.size(), readable without the lock
  const std::size_t queue_max_;
  const int nice_;
  std::mutex mu_;
  bool shutdown_ = false;
  Queue main_, overflow_;
  std::vector<std::thread> threads_;
};

}  // namespace tidemark::web
