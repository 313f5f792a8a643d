#include "web/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "web/steady_clock.h"

namespace tidemark::web {
namespace {
thread_local bool tls_saturated = false;
thread_local std::int64_t tls_queued_at = 0;
thread_local const std::atomic<std::size_t>* tls_waiting = nullptr;

}  // namespace

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_max, int nice)
    : queue_max_(queue_max), nice_(nice) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(main_, false); });
  threads_.emplace_back([this] { Work(overflow_, true); });
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    Queue& q = main_.jobs.size() < queue_max_ ? main_ : overflow_;
    q.jobs.push_back({std::move(fn), SteadyMillis()});
    waiting_ = main_.jobs.size();
    q.ready.notify_one();
  }
}

void WorkerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
  }
  main_.ready.notify_all();
  overflow_.ready.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkerPool::Saturated() { return tls_saturated; }

std::int64_t WorkerPool::QueuedAt() { return tls_queued_at; }

bool WorkerPool::OthersWaiting() { return tls_waiting != nullptr && *tls_waiting > 0; }

void WorkerPool::Work(Queue& q, bool overflow) {
  tls_saturated = overflow;
  tls_waiting = &waiting_;
  // Linux: a thread id names just this thread. Failure (a seccomp filter) only costs priority.
  if (nice_ != 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice_);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      q.ready.wait(lock, [&] { return shutdown_ || !q.jobs.empty(); });
      if (q.jobs.empty()) return;  // shut down and drained
      job = std::move(q.jobs.front());
      q.jobs.pop_front();
      waiting_ = main_.jobs.size();
    }
    tls_queued_at = job.queued_at;
    job.fn();
    tls_queued_at = 0;
  }
}

}  // namespace tidemark::web
