#include "gateway/simulator_mqtt.h"

#include <mqtt/async_client.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <thread>

#include "gateway/log.h"

namespace tidemark::sim {
namespace {

std::atomic<int> g_signal{0};
extern "C" void OnSignal(int signal) { g_signal = signal; }

Millis WallNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Ago(Millis d) { return d <= 0 ? "now" : FormatDuration(d - d % kSecond) + " ago"; }

// What is worth saying about the profiles: Delhi, Sydney, skewed clocks.
void LogProfiles(const Options& o) {
  std::string line = "simulate: devices:";
  for (std::size_t i = 0; i < o.devices.size(); ++i) {
    const DeviceProfile& p = o.devices[i];
    if (i >= 3 && p.skew == 0) continue;
    line += " " + p.name + " (delay " + FormatDuration(p.delay) +
            (p.skew != 0 ? ", clock " + std::string(p.skew > 0 ? "+" : "-") +
                               FormatDuration(p.skew > 0 ? p.skew : -p.skew)
                         : "") +
            ")";
  }
  if (o.devices.size() > 3) {
    line += " and " + std::to_string(o.devices.size() - 3) + " more with small delays";
  }
  log::Info(line);
}

struct Counters {
  std::int64_t sent = 0, bad = 0, burst = 0, failed = 0;
  Millis first_event = kMaxTime, last_event = kMinTime;
};

}  // namespace

int RunSimulate(Options options, const PublishOptions& publish) {
  std::string client_id =
      publish.client_id.empty() ? "tidemark-sim-" + std::to_string(getpid()) : publish.client_id;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<mqtt::async_client> client;
  try {
    client = std::make_unique<mqtt::async_client>(publish.broker, client_id,
                                                  mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
    client->set_connection_lost_handler([](const std::string& cause) {
      try {
        log::Warning("simulate: connection lost" + (cause.empty() ? "" : ": " + cause) +
                     "; reconnecting");
      } catch (...) {
      }
    });
  } catch (const std::exception& e) {
    log::Error("simulate: --broker " + publish.broker + ": " + e.what());
    return 2;
  }
  auto connect_options = mqtt::connect_options_builder()
                             .clean_session(true)
                             .keep_alive_interval(std::chrono::seconds(30))
                             .connect_timeout(std::chrono::seconds(5))
                             .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(10))
                             .finalize();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    try {
      client->connect(connect_options)->wait();
      break;
    } catch (const std::exception& e) {
      if (g_signal != 0) return 0;
      if (std::chrono::steady_clock::now() > give_up) {
        log::Error("simulate: cannot connect to " + publish.broker + ": " + e.what());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  const Millis start = WallNow();
  Simulator sim(std::move(options), start);
  const Options& o = sim.options();
  const TimeMap& t = sim.time();
  std::string live;
  if (t.live_from() > start && t.live_from() < kMaxTime) {
    live = ", runs live (1x) from " + FormatRfc3339(t.live_from());
  }
  log::Info("simulate: connected to " + publish.broker + "; " + std::to_string(o.devices.size()) +
            " devices, " + Number(o.rate) + " msg/s, speed " + Number(o.speed) + "x, seed " +
            std::to_string(o.seed) + "; simulated time starts " + FormatRfc3339(t.sim_start()) +
            " (" + Ago(start - t.sim_start()) + ")" + live);
  LogProfiles(o);

  Counters c;
  std::deque<mqtt::delivery_token_ptr> outstanding;
  // Drops acknowledged tokens and waits while more than `keep` are outstanding, each at most
  // until `deadline` (so a dead broker cannot hold the loop or the shutdown for long).
  const auto settle = [&](std::size_t keep, std::chrono::steady_clock::time_point deadline) {
    while (outstanding.size() > keep ||
           (!outstanding.empty() && outstanding.front()->is_complete())) {
      try {
        const auto left = std::max(deadline - std::chrono::steady_clock::now(),
                                   std::chrono::steady_clock::duration::zero());
        if (!outstanding.front()->wait_for(
                std::chrono::duration_cast<std::chrono::milliseconds>(left))) {
          ++c.failed;
        }
      } catch (const std::exception&) {
        ++c.failed;
      }
      outstanding.pop_front();
    }
  };
  Millis next_report = start + 10 * kSecond;
  const Millis end = publish.duration > 0 ? start + publish.duration : kMaxTime;
  while (g_signal == 0) {
    const Millis now = std::min(WallNow(), end);
    for (Message& m : sim.Due(now)) {
      try {
        outstanding.push_back(
            client->publish(m.topic, m.payload.data(), m.payload.size(), publish.qos, false));
        ++c.sent;
        if (m.bad != BadKind::kNone) ++c.bad;
        if (m.in_burst) ++c.burst;
        if (m.bad != BadKind::kMissingTime) {
          c.first_event = std::min(c.first_event, m.event_time);
          c.last_event = std::max(c.last_event, m.event_time);
        }
      } catch (const std::exception&) {
        ++c.failed;  // not connected: the reading is lost, as on a real network
      }
      settle(4096, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    }
    settle(4096, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (now >= end) break;
    if (now >= next_report) {
      next_report += 10 * kSecond;
      log::Info("simulate: " + std::to_string(c.sent) + " messages sent (" + std::to_string(c.bad) +
                " malformed, " + std::to_string(c.burst) +
                " in out-of-order bursts); simulated time " + FormatRfc3339(sim.time().ToSim(now)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  settle(0, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  try {
    client->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception& e) {
    log::Warning(std::string("simulate: disconnect: ") + e.what());
  }
  const Millis ran = WallNow() - start;
  std::printf(
      "simulate: published %lld messages (%lld malformed, %lld in out-of-order bursts, "
      "%lld failed) from %zu devices in %s",
      static_cast<long long>(c.sent), static_cast<long long>(c.bad),
      static_cast<long long>(c.burst), static_cast<long long>(c.failed), o.devices.size(),
      FormatDuration(ran - ran % 100).c_str());
  if (c.first_event <= c.last_event) {
    std::printf("; event time %s .. %s", FormatRfc3339(c.first_event).c_str(),
                FormatRfc3339(c.last_event).c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace tidemark::sim
