#include "web/guarded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "web/steady_clock.h"
#include "web/worker_pool.h"

namespace tidemark::web {
namespace {

constexpr Millis kLinger = 500;    // after refusing a body: time for the client to read the reply
constexpr Millis kStopPoll = 100;  // how often the keep-alive wait checks for a server stop
// A keep-alive connection is given up for a waiting one only after being idle this long: a
// client sends its next request a moment after reading the reply, and closing in that moment
// makes it fail (wrk -c4 counted 100-400 socket errors a run when the give-up was immediate).
constexpr Millis kIdleGrace = 50;

thread_local bool tls_close_after = false;
thread_local bool tls_linger = false;

// poll() for `events` up to `ms` (EINTR retried); true when ready.
bool Wait(int fd, short events, Millis ms) {
  const Millis end = SteadyMillis() + std::max<Millis>(ms, 0);
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::max<Millis>(end - SteadyMillis(), 0)));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

void Address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? getpeername(fd, sa, &len) : getsockname(fd, sa, &len)) != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  ip = text;
}

// A socket stream whose reads fail once the current request's deadline has passed; each wait is
// also bounded by the per-read timeout. Buffered, as httplib reads request lines byte by byte.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int fd, Millis read_timeout, Millis write_timeout)
      : fd_(fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  void set_deadline(Millis deadline) { deadline_ = deadline; }

  bool is_readable() const override {
    return Wait(fd_, POLLIN, std::min(read_timeout_, deadline_ - SteadyMillis()));
  }
  bool is_writable() const override { return Wait(fd_, POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ < len_) {
      const size_t n = std::min(size, len_ - off_);
      std::memcpy(ptr, buf_.data() + off_, n);
      off_ += n;
      return static_cast<ssize_t>(n);
    }
    // Past the deadline only what has already arrived is read: no more waiting for this client.
    if (!is_readable()) {
      failed_ = true;
      return -1;
    }
    ssize_t n;
    do {
      n = recv(fd_, buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      failed_ = true;
      return n;
    }
    len_ = static_cast<size_t>(n);
    off_ = std::min(size, len_);
    std::memcpy(ptr, buf_.data(), off_);
    return static_cast<ssize_t>(off_);
  }

  ssize_t write(const char* ptr, size_t size) override {
    size_t done = 0;
    while (done < size) {
      if (!is_writable()) return -1;
      const ssize_t n = send(fd_, ptr + done, size - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      done += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

  // Bytes already received and not yet consumed (the start of a pipelined request).
  bool buffered() const { return off_ < len_; }
  // A read timed out, passed the deadline, or met the end of the connection: the request was
  // cut short (httplib answers 400), and the connection must end.
  bool failed() const { return failed_; }

 private:
  const int fd_;
  const Millis read_timeout_, write_timeout_;
  Millis deadline_ = 0;
  std::array<char, 4096> buf_{};
  size_t off_ = 0, len_ = 0;
  bool failed_ = false;
};

}  // namespace

void GuardedServer::CloseAfterResponse(bool linger) {
  tls_close_after = true;
  tls_linger = linger;
}

bool GuardedServer::SetBacklog(int connections) {
  const socket_t fd = svr_sock_;
  return fd != INVALID_SOCKET && ::listen(fd, connections) == 0;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  DeadlineStream stream(sock, read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000,
                        write_timeout_sec_ * 1000 + write_timeout_usec_ / 1000);
  // The first request's time runs from the accept (time spent queued for a worker counts).
  Millis ready_at = WorkerPool::QueuedAt() > 0 ? WorkerPool::QueuedAt() : SteadyMillis();
  bool linger = false;
  for (std::size_t count = keep_alive_max_count_; count > 0; --count) {
    // Keep-alive: wait for the next request, checking now and then whether the server stops.
    // At least one look, even past the deadline: a request that is already here is served.
    // After a request, an idle connection gives its worker up when others wait for one (after
    // kIdleGrace).
    const bool first = count == keep_alive_max_count_;
    Millis idle_until = SteadyMillis() + keep_alive_timeout_sec_ * 1000;
    if (first) idle_until = std::min(idle_until, ready_at + request_timeout_);
    bool readable = stream.buffered() || Wait(sock, POLLIN, first ? 0 : kIdleGrace);
    while (!readable && svr_sock_ != INVALID_SOCKET && SteadyMillis() < idle_until &&
           (first || !WorkerPool::OthersWaiting())) {
      readable = Wait(sock, POLLIN, std::min(kStopPoll, idle_until - SteadyMillis()));
    }
    if (!readable || svr_sock_ == INVALID_SOCKET) break;
    if (!first) ready_at = SteadyMillis();
    stream.set_deadline(ready_at + request_timeout_);
    tls_close_after = tls_linger = false;
    bool connection_closed = false;
    const bool ok = process_request(stream, count == 1, connection_closed, nullptr);
    linger = tls_close_after && tls_linger;
    if (!ok || connection_closed || tls_close_after || stream.failed()) break;
  }
  tls_close_after = tls_linger = false;
  // Half-close and read what the client sent after its request (with `linger`, what it still
  // sends for a moment, say the body of a refused request): closing with unread data would
  // reset the connection, and the client could lose the reply.
  shutdown(sock, SHUT_WR);
  const Millis until = SteadyMillis() + (linger ? kLinger : 0);
  char sink[4096];
  while (Wait(sock, POLLIN, until - SteadyMillis()) && recv(sock, sink, sizeof sink, 0) > 0) {
  }
  shutdown(sock, SHUT_RDWR);
  close(sock);
  return true;
}

}  // namespace tidemark::web
