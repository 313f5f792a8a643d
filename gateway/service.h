// Service: the running gateway — Ingest (storage + engine) fed by MqttSource, the HTTP API
// (web::HttpServer reading through ApiBackend; SSE events from FeedPublisher), driven by a
// Boost.Asio io_context that handles signals (SIGTERM/SIGINT: stop cleanly; SIGHUP: reopen
// logs), a one-second timer (engine ticks, checkpoints, retention, reconnects) and the systemd
// notifications (READY=1 once storage, HTTP and MQTT are up, WATCHDOG=1 while the writer is alive,
// STOPPING=1).
//
// Threads: Run() on the main thread runs the io_context; Paho's callback thread runs OnMessage.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>

#include "gateway/api_backend.h"
#include "gateway/config/config.h"
#include "gateway/ingest/ingest.h"
#include "gateway/mqtt/mqtt_source.h"
#include "gateway/mqtt/uplink.h"
#include "gateway/system_clock.h"
#include "web/event_feed.h"
#include "web/server.h"

namespace tidemark {

class Service {
 public:
  explicit Service(Config config) : config_(std::move(config)) {}
  // Runs until SIGTERM/SIGINT; returns the process exit code.
  int Run();

 private:
  void OnMessage(std::string_view topic, std::string_view payload, bool duplicate);
  [[noreturn]] void Park();
  bool StartHttp();
  void Stop();

  Config config_;
  SystemClock clock_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<MqttSource> mqtt_;
  std::unique_ptr<Uplink> uplink_;
  std::unique_ptr<web::EventFeed> feed_;
  std::unique_ptr<FeedPublisher> publisher_;
  std::unique_ptr<ApiBackend> api_;
  std::unique_ptr<web::HttpServer> http_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> in_handler_{false};
  std::atomic<bool> parked_{false};
  std::mutex mu_;
  std::condition_variable wake_;  // stopping_ changed
};

}  // namespace tidemark
