#include "gateway/tools/simulator_mqtt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "gateway/log/log.h"
#include "gateway/mqtt/publisher.h"

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

constexpr std::size_t kOutstandingMax = 4096;  // messages awaiting their PUBACK
constexpr Millis kAckTimeout = 5 * kSecond;

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

  auto publisher = MqttPublisher::Create(publish.broker, client_id, "simulate");
  if (!publisher.ok()) {
    log::Error("simulate: " + publisher.error());
    return 2;
  }
  MqttPublisher& client = *publisher.value();
  if (!client.Connect(15 * kSecond, [] { return g_signal != 0; })) return g_signal != 0 ? 0 : 1;
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
  Millis next_report = start + 10 * kSecond;
  const Millis end = publish.duration > 0 ? start + publish.duration : kMaxTime;
  while (g_signal == 0) {
    const Millis now = std::min(WallNow(), end);
    for (Message& m : sim.Due(now)) {
      if (client.Publish(m.topic, m.payload, publish.qos)) {
        ++c.sent;
        if (m.bad != BadKind::kNone) ++c.bad;
        if (m.in_burst) ++c.burst;
        if (m.bad != BadKind::kMissingTime) {
          c.first_event = std::min(c.first_event, m.event_time);
          c.last_event = std::max(c.last_event, m.event_time);
        }
      }
      client.Settle(kOutstandingMax, kAckTimeout);
    }
    client.Settle(kOutstandingMax, kAckTimeout);
    if (now >= end) break;
    if (now >= next_report) {
      next_report += 10 * kSecond;
      log::Info("simulate: " + std::to_string(c.sent) + " messages sent (" + std::to_string(c.bad) +
                " malformed, " + std::to_string(c.burst) +
                " in out-of-order bursts); simulated time " + FormatRfc3339(sim.time().ToSim(now)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  client.Close(kAckTimeout);
  c.failed = client.failed();
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
