// Shared helpers of the disk, clock and HTTP-abuse fault tests (docs/TESTING.md): a publisher
// thread that streams sequence-numbered readings (fault_reference.h) while a fault is applied, HTTP
// GETs on the gateway's API with a bounded wait, and raw loopback sockets for clients that
// misbehave. Header-only so the tests' CMake stays one line per binary. The stream runs on its own
// thread; everything else is for one test thread at a time.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/gateway/fault_reference.h"
#include "tests/gateway/gateway_harness.h"

namespace tidemark::testing {

// The [http] table's body for a gateway listening on 127.0.0.1:port.
inline std::string HttpOn(int port, const std::string& extra = "") {
  return "listen = \"127.0.0.1:" + std::to_string(port) + "\"\n" + extra;
}

struct HttpReply {
  int status = -1;  // -1: no answer (connection refused, timeout)
  std::string body;
  double seconds = 0;  // how long the answer took
};

// One GET on its own connection, waiting at most `timeout` for connect and for the answer.
inline HttpReply HttpGet(int port, const std::string& path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto begin = std::chrono::steady_clock::now();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  HttpReply reply;
  if (auto res = client.Get(path.c_str())) {
    reply.status = res->status;
    reply.body = res->body;
  }
  reply.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  return reply;
}

// A JSON GET; a null json when the answer was not a 200 with JSON.
inline nlohmann::json HttpJson(int port, const std::string& path) {
  const HttpReply r = HttpGet(port, path);
  if (r.status != 200) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

// A Prometheus sample's value from /metrics text ("name{labels} value"); -1 when absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

// Polls `done` every 100 ms until it is true or `timeout` passes.
template <typename F>
bool Eventually(F&& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Publishes `readings` in order on a thread of its own (its own QoS 1 client), `batch` at a time
// with `pause` between batches, until all are sent or Stop(). A batch counts as published once
// the broker acknowledged all of it; published() is that prefix of `readings`.
class ReadingStream {
 public:
  ReadingStream(const std::string& broker_url, const std::string& client_id,
                std::vector<Reading> readings, std::size_t batch, std::chrono::milliseconds pause)
      : publisher_(broker_url, client_id),
        readings_(std::move(readings)),
        batch_(batch),
        pause_(pause) {}
  ~ReadingStream() { Stop(); }

  bool Start() {
    if (!publisher_.Connect()) return false;
    thread_ = std::thread([this] { Run(); });
    return true;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Blocks until every reading is published (or the stream failed), at most `timeout`.
  bool WaitDone(std::chrono::milliseconds timeout) {
    return Eventually([&] { return done_ || failed_; }, timeout) && !failed_;
  }
  std::size_t sent() const { return sent_; }
  bool failed() const { return failed_; }
  std::vector<Reading> published() const {
    return {readings_.begin(), readings_.begin() + static_cast<std::ptrdiff_t>(sent_.load())};
  }

 private:
  void Run() {
    while (!stop_ && sent_ < readings_.size()) {
      const std::size_t end = std::min(readings_.size(), sent_ + batch_);
      std::map<std::string, std::vector<std::string>> by_topic;  // order kept per device
      for (std::size_t i = sent_; i < end; ++i) {
        by_topic[Topic(readings_[i])].push_back(Payload(readings_[i]));
      }
      for (const auto& [topic, payloads] : by_topic) {
        if (!publisher_.Publish(topic, payloads)) {
          failed_ = true;
          return;
        }
      }
      sent_ = end;
      std::this_thread::sleep_for(pause_);
    }
    done_ = sent_ == readings_.size();
  }

  Publisher publisher_;
  const std::vector<Reading> readings_;
  const std::size_t batch_;
  const std::chrono::milliseconds pause_;
  std::atomic<std::size_t> sent_{0};
  std::atomic<bool> stop_{false}, done_{false}, failed_{false};
  std::thread thread_;
};

// A raw TCP connection to 127.0.0.1:port for clients that misbehave (closed on destruction).
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Close();
  }
  ~RawSocket() { Close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  // errno of the last failed recv (ECONNRESET: the peer reset the connection); 0 if none.
  int error() const { return error_; }
  // False once the peer closed or reset the connection.
  bool Send(const std::string& bytes) {
    std::size_t done = 0;
    while (fd_ >= 0 && done < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return fd_ >= 0;
  }
  // Reads until the peer closes, `until` appears, or `timeout` passes.
  std::string Receive(std::chrono::milliseconds timeout, const std::string& until = "") {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0) error_ = errno;
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  // True when the peer has closed the connection (EOF or reset) — without waiting. Discards
  // whatever the peer sent that was not read yet.
  bool PeerClosed() {
    if (fd_ < 0) return true;
    for (;;) {
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int error_ = 0;
};

}  // namespace tidemark::testing
