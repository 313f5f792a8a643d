#include "tests/bench/e2e_mqtt_parts.h"

#include <mqtt/async_client.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace tidemark::bench {
namespace {

using Steady = std::chrono::steady_clock;

// The eventTime of a payload made by Publish (milliseconds), or 0.
std::int64_t EventTimeOf(std::string_view payload) {
  constexpr std::string_view kKey = "\"eventTime\":";
  const std::size_t at = payload.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::int64_t v = 0;
  const char* begin = payload.data() + at + kKey.size();
  std::from_chars(begin, payload.data() + payload.size(), v);
  return v;
}

struct PublisherOut {
  std::string error;
  std::int64_t sent = 0;
  std::int64_t start_us = 0;
  std::int64_t end_us = 0;
};

void RunPublisher(const PublishPlan& plan, int k, PublisherOut& out) {
  try {
    // Paho counts publishes queued but not yet written against max_buffered_messages (100 by
    // default) even while connected; the window bounds them.
    mqtt::create_options create(MQTTVERSION_3_1_1);
    create.set_max_buffered_messages(2 * plan.window + 100);
    mqtt::async_client client(plan.url, plan.client_id + "-" + std::to_string(k), create, nullptr);
    auto options = mqtt::connect_options_builder()
                       .clean_session(true)
                       .keep_alive_interval(std::chrono::seconds(60))
                       .max_inflight(plan.window)
                       .finalize();
    client.connect(options)->wait_for(std::chrono::seconds(10));
    if (!client.is_connected()) {
      out.error = "publisher could not connect";
      return;
    }
    const double rate = plan.rate / plan.publishers;  // per publisher
    std::deque<mqtt::delivery_token_ptr> pending;
    char topic[64];
    char payload[128];
    const Steady::time_point begin = Steady::now();
    out.start_us = WallMicros();
    for (std::int64_t i = plan.first + k; i < plan.first + plan.count; i += plan.publishers) {
      if (rate > 0) {
        const auto due =
            begin + std::chrono::duration_cast<Steady::duration>(
                        std::chrono::duration<double>(static_cast<double>(out.sent) / rate));
        if (Steady::now() < due) std::this_thread::sleep_until(due);
      }
      const int device = static_cast<int>(i % plan.devices);
      const double temperature = 15.0 + static_cast<double>((i / plan.devices) % 200) / 10.0;
      const int topic_len =
          std::snprintf(topic, sizeof topic, "devices/dev-%04d/telemetry", device);
      const int payload_len = std::snprintf(
          payload, sizeof payload, R"({"deviceId":"dev-%04d","eventTime":%lld,"temperature":%.1f})",
          device, static_cast<long long>(WallMicros() / 1000), temperature);
      pending.push_back(client.publish(std::string(topic, static_cast<std::size_t>(topic_len)),
                                       payload, static_cast<std::size_t>(payload_len), 1, false));
      ++out.sent;
      if (pending.size() >= static_cast<std::size_t>(plan.window)) {
        pending.front()->wait();
        pending.pop_front();
      }
    }
    for (auto& token : pending) token->wait();
    out.end_us = WallMicros();
    client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception& e) {
    out.error = std::string("publisher: ") + e.what();
  }
}

}  // namespace

std::int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ProcSample SampleProc(pid_t pid) {
  ProcSample s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return s;
  // After "pid (comm)": field 3 (state) is token 0, utime (14) token 11, stime (15) token 12.
  std::istringstream fields(text.substr(paren + 1));
  std::string token;
  double ticks = 0;
  for (int i = 0; i <= 12 && fields >> token; ++i) {
    if (i == 11 || i == 12) ticks += std::stod(token);
  }
  s.cpu_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::stoll(line.substr(6));
  }
  s.ok = true;
  return s;
}

LatencyStats Summarise(std::vector<std::int64_t> values) {
  LatencyStats s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(values.size()) + 0.999999);
    return static_cast<double>(values[std::clamp<std::size_t>(i, 1, values.size()) - 1]);
  };
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.max = static_cast<double>(values.back());
  return s;
}

PublishResult Publish(const PublishPlan& plan) {
  std::vector<PublisherOut> outs(static_cast<std::size_t>(plan.publishers));
  std::vector<std::thread> threads;
  for (int k = 0; k < plan.publishers; ++k) {
    threads.emplace_back(RunPublisher, std::cref(plan), k,
                         std::ref(outs[static_cast<std::size_t>(k)]));
  }
  for (auto& t : threads) t.join();
  PublishResult r;
  r.ok = true;
  for (const PublisherOut& o : outs) {
    if (!o.error.empty()) {
      r.ok = false;
      r.error = o.error;
    }
    r.sent += o.sent;
    r.start_us = r.start_us == 0 ? o.start_us : std::min(r.start_us, o.start_us);
    r.end_us = std::max(r.end_us, o.end_us);
  }
  return r;
}

bool PurgeSession(const std::string& url, const std::string& client_id) {
  try {
    mqtt::async_client client(url, client_id);
    client.connect(mqtt::connect_options_builder().clean_session(true).finalize())
        ->wait_for(std::chrono::seconds(10));
    if (!client.is_connected()) return false;
    client.disconnect()->wait_for(std::chrono::seconds(5));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int BareSubscriberMain(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s --bare-subscriber URL CLIENT_ID SATURATED PACED\n", argv[0]);
    return 2;
  }
  const std::string url = argv[2];
  const std::string client_id = argv[3];
  const std::int64_t saturated = std::atoll(argv[4]);
  const std::int64_t total = saturated + std::atoll(argv[5]);
  // Paho's threads inherit the mask; the main thread takes SIGTERM with sigwait.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);

  std::vector<std::int64_t> latency(static_cast<std::size_t>(total));
  std::int64_t received = 0;  // the callback thread only, until `done`
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  try {
    mqtt::async_client client(url, client_id);
    client.set_message_callback([&](mqtt::const_message_ptr message) {
      const std::int64_t now_us = WallMicros();
      const mqtt::binary_ref& payload = message->get_payload_ref();
      if (received < total) {
        latency[static_cast<std::size_t>(received)] =
            now_us / 1000 - EventTimeOf(std::string_view(payload.data(), payload.size()));
      }
      ++received;
      if (received % 100000 == 0) std::printf("progress %lld\n", static_cast<long long>(received));
      if (received == saturated) std::printf("phase 0 %lld\n", static_cast<long long>(now_us));
      if (received == total) {
        std::printf("phase 1 %lld\n", static_cast<long long>(now_us));
        std::lock_guard lock(mu);
        done = true;
        cv.notify_all();
      }
      std::fflush(stdout);
    });
    auto options = mqtt::connect_options_builder()
                       .clean_session(false)
                       .keep_alive_interval(std::chrono::seconds(30))
                       .finalize();
    client.connect(options)->wait();
    client.subscribe(std::string(kTopicFilter), 1)->wait();
    std::printf("subscribed\n");
    std::fflush(stdout);
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    const auto tail_begin = latency.begin() + std::max<std::int64_t>(0, saturated - kLatencyTail);
    const LatencyStats sat =
        Summarise(std::vector<std::int64_t>(tail_begin, latency.begin() + saturated));
    const LatencyStats paced =
        Summarise(std::vector<std::int64_t>(latency.begin() + saturated, latency.end()));
    std::printf("result %zu %g %g %g %zu %g %g %g\n", sat.n, sat.p50, sat.p99, sat.max, paced.n,
                paced.p50, paced.p99, paced.max);
    std::fflush(stdout);
    int signal = 0;
    sigwait(&term, &signal);
    client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace tidemark::bench
