#include "web/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

namespace tidemark::web {
namespace {
thread_local bool tls_saturated = false;
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
    q.jobs.push_back(std::move(fn));
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

void WorkerPool::Work(Queue& q, bool overflow) {
  tls_saturated = overflow;
  // Linux: a thread id names just this thread. Failure (a seccomp filter) only costs priority.
  if (nice_ != 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice_);
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mu_);
      q.ready.wait(lock, [&] { return shutdown_ || !q.jobs.empty(); });
      if (q.jobs.empty()) return;  // shut down and drained
      fn = std::move(q.jobs.front());
      q.jobs.pop_front();
    }
    fn();
  }
}

}  // namespace tidemark::web
