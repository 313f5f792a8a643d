#include "gateway/service.h"

#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "gateway/log/log.h"
#include "web/steady_clock.h"

namespace tidemark {
namespace {

constexpr auto kTickEvery = std::chrono::seconds(1);
constexpr Millis kStallRetry = kSecond;
constexpr Millis kStopWait = 10 * kSecond;
constexpr std::size_t kFeedEvents = 10000;  // SSE events kept for clients that resume

// http.listen "host:port" / "[v6]:port" into a host and a port (the config loader checked it).
// The bearer token: the file's content without surrounding whitespace.
StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"http.token_file: cannot read " + path};
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return Error{"http.token_file: " + path + " is empty"};
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  return token;
}

}  // namespace

void Service::OnMessage(std::string_view topic, std::string_view payload, bool duplicate) {
  in_handler_ = true;
  for (;;) {
    if (stopping_) Park();  // returning would acknowledge a message we did not take
    if (ingest_->Handle(topic, payload, duplicate)) break;
    // Storage failed, or the clock is behind the database: keep the message (no PUBACK) and
    // retry until it commits.
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(kStallRetry),
                   [this] { return stopping_.load(); });
  }
  in_handler_ = false;
}

void Service::Park() {
  parked_ = true;
  in_handler_ = false;
  std::unique_lock lock(mu_);
  for (;;) wake_.wait(lock);  // the process exits around this thread (see Run)
}

int Service::Run() {
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<OutboxFormat> outbox;
  if (config_.output.enabled) outbox = std::make_unique<OutboxMessages>(config_.output);
  auto ingest = Ingest::Open(config_, clock_, std::move(outbox));
  if (!ingest.ok()) {
    log::Error(ingest.error());
    return 1;
  }
  ingest_ = std::move(ingest).value();
  auto mqtt =
      MqttSource::Create(config_.mqtt, [this](std::string_view topic, std::string_view payload,
                                              bool dup) { OnMessage(topic, payload, dup); });
  if (!mqtt.ok()) {
    log::Error(mqtt.error());
    return 1;
  }
  mqtt_ = std::move(mqtt).value();
  if (config_.output.enabled) {
    uplink_ =
        std::make_unique<Uplink>(config_.output, config_.storage.path, ingest_->OutboxAcked());
    uplink_->Start();
    log::Info("output: final windows go to " + config_.output.connection.broker + " (topic " +
              config_.output.topic + ")");
  }
  if (!StartHttp()) return 1;

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
          log::Reopen();
          log::Info("reopened logs (SIGHUP)");
          signals.async_wait(on_signal);
          return;
        }
        log::Info(std::string("stopping (") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") + ")");
        io.stop();
      };
  signals.async_wait(on_signal);

  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const Millis watchdog_ms = static_cast<Millis>(watchdog_usec / 1000);
  bool ready = false;
  bool clock_ok = true;  // as last told to systemd (STATUS=)
  boost::asio::steady_timer timer(io);
  std::function<void(const boost::system::error_code&)> on_tick =
      [&](const boost::system::error_code& ec) {
        if (ec) return;
        const Millis now = SteadyMillis();
        ingest_->Tick();
        if (uplink_) {
          ingest_->TrimOutbox(uplink_->acked());
          uplink_->Wake();
        }
        mqtt_->Poll(now);
        const IngestHealth& health = ingest_->health();
        if (!ready && mqtt_->connected() && health.storage_ok) {
          ready = true;
          sd_notify(0, "READY=1\nSTATUS=ingesting");
          log::Info(http_ ? "ready: storage open, HTTP listening, MQTT subscribed"
                          : "ready: storage open, MQTT subscribed (HTTP disabled)");
        }
        if (ready && health.clock_ok != clock_ok) {
          clock_ok = health.clock_ok;
          sd_notify(0, clock_ok ? "STATUS=ingesting"
                                : "STATUS=holding messages: the wall clock is earlier than the "
                                  "newest commit in the database");
        }
        const Millis busy = health.busy_since;
        if (watchdog && (busy == 0 || now - busy < watchdog_ms)) sd_notify(0, "WATCHDOG=1");
        timer.expires_after(kTickEvery);
        timer.async_wait(on_tick);
      };
  mqtt_->Start();
  timer.expires_after(std::chrono::milliseconds(100));
  timer.async_wait(on_tick);
  log::Info("tidemark " PROJECT_VERSION " running: " + std::to_string(config_.pipelines.size()) +
            " pipeline(s), database " + config_.storage.path);
  io.run();

  Stop();
  // Exit without destroying the Paho client: its destructor would wait for Paho's thread, which
  // may be parked holding a message it must not acknowledge (the broker redelivers it on the next
  // start). Everything acknowledged is committed; the final checkpoint is written.
  log::Info(parked_ ? "stopped; a received message was left unacknowledged for redelivery"
                    : "stopped");
  std::fflush(stderr);
  std::_Exit(0);
}

bool Service::StartHttp() {
  feed_ = std::make_unique<web::EventFeed>(clock_.Now(), kFeedEvents);
  publisher_ = std::make_unique<FeedPublisher>(*feed_);
  ingest_->SetWindowListener(publisher_.get());
  if (config_.http.listen.empty()) {
    log::Info("http: disabled (http.listen = \"\")");
    return true;
  }
  web::ServerOptions options = ServerOptionsOf(config_.http);
  if (!config_.http.token_file.empty()) {
    auto token = ReadToken(config_.http.token_file);
    if (!token.ok()) {
      log::Error(token.error());
      return false;
    }
    options.token = *token;
  }
  api_ = std::make_unique<ApiBackend>(config_.storage.path, *ingest_, mqtt_.get(), uplink_.get(),
                                      clock_);
  http_ = std::make_unique<web::HttpServer>(options, config_.pipelines, *api_, *feed_);
  auto port = http_->Start();
  if (!port.ok()) {
    log::Error(port.error());
    return false;
  }
  log::Info(
      std::string("http: listening on ") + (options.cert_file.empty() ? "http" : "https") + "://" +
      (options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host) +
      ":" + std::to_string(*port) + "/" +
      (options.token.empty() ? "" : " (bearer token required)"));
  return true;
}

void Service::Stop() {
  if (feed_) feed_->Close();  // open streams end; the rest of HTTP serves until exit
  sd_notify(0, "STOPPING=1");
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Let the message in hand finish and commit.
  const Millis deadline = SteadyMillis() + kStopWait;
  while (in_handler_ && SteadyMillis() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Paho runs the message callback holding its client lock, so while a callback is parked no
  // Paho call returns: disconnect only when none is, from a helper thread we can abandon (one may
  // park meanwhile). Without a clean DISCONNECT the broker still keeps the session.
  if (!parked_) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread([source = mqtt_.get(), done] {
      source->Stop(2 * kSecond);
      *done = true;
    }).detach();
    const Millis disconnect_deadline = SteadyMillis() + 3 * kSecond;
    while (!*done && SteadyMillis() < disconnect_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    log::Info(*done ? "mqtt: disconnected" : "mqtt: no clean disconnect (a message is held)");
  }
  if (uplink_) uplink_->Stop();  // unacknowledged windows stay in the outbox for the next start
  if (ingest_->Shutdown()) log::Info("final checkpoint written");
}

}  // namespace tidemark
