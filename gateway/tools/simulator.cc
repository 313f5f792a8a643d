#include "gateway/tools/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace tidemark::sim {
namespace {

struct City {
  const char* name;
  double utc_offset_h;
  double base_temp;
};

// Devices 3.. take these in turn (then "sensor-NN"); 0-2 are Delhi, Sydney and Berlin.
constexpr City kCities[] = {
    {"saopaulo", -3, 22}, {"nairobi", 3, 19},   {"tokyo", 9, 16},     {"chicago", -6, 9},
    {"lagos", 1, 28},     {"oslo", 1, 5},       {"lima", -5, 19},     {"cairo", 2, 23},
    {"mumbai", 5.5, 28},  {"seoul", 9, 13},     {"toronto", -5, 8},   {"madrid", 1, 16},
    {"jakarta", 7, 28},   {"denver", -7, 10},   {"auckland", 12, 15}, {"reykjavik", 0, 5},
    {"dubai", 4, 29},     {"santiago", -4, 15}, {"hanoi", 7, 24},     {"perth", 8, 19},
};

std::string Numbered(const std::string& prefix, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "-%02d", n);
  return prefix + buf;
}

}  // namespace

std::vector<DeviceProfile> DefaultProfiles(int devices) {
  std::vector<DeviceProfile> out;
  for (int i = 0; i < devices; ++i) {
    DeviceProfile p;
    if (i == 0) {
      p = {"delhi-01", 0, 200, 0, 5.5, 26};
    } else if (i == 1) {
      p = {"sydney-01", 10 * kMinute, 30 * kSecond, 0, 11, 18};
    } else if (i == 2) {
      p = {"berlin-01", 2 * kSecond, kSecond, 90 * kSecond, 1, 11};
    } else {
      constexpr int kCityCount = static_cast<int>(std::size(kCities));
      const int k = i - 3;
      const City& c = kCities[k % kCityCount];
      const int round = k / kCityCount;
      p.name = k < 2 * kCityCount ? Numbered(c.name, round + 1) : Numbered("sensor", i);
      // A spread of small delays: 0.2 s .. 30 s, with jitter of a fifth of it.
      p.delay = 200 + static_cast<Millis>((i * 7919) % 30) * kSecond;
      p.jitter = p.delay / 5;
      p.utc_offset_h = c.utc_offset_h;
      p.base_temp = c.base_temp;
    }
    out.push_back(std::move(p));
  }
  return out;
}

Millis DefaultBacklog(double speed, Millis duration) {
  if (speed <= 1) return 0;
  const Millis run = duration > 0 ? duration : 10 * kMinute;
  return static_cast<Millis>(std::llround((speed - 1) * static_cast<double>(run)));
}

TimeMap::TimeMap(Millis wall_start, Millis backlog, double speed)
    : wall0_(wall_start), sim0_(wall_start - std::max<Millis>(backlog, 0)), speed_(speed) {}

Millis TimeMap::ToSim(Millis wall) const {
  const double linear = static_cast<double>(sim0_) + speed_ * static_cast<double>(wall - wall0_);
  return std::min(static_cast<Millis>(std::floor(linear)), wall);
}

Millis TimeMap::ToWall(Millis sim) const {
  const double linear = static_cast<double>(wall0_) + static_cast<double>(sim - sim0_) / speed_;
  return std::max(static_cast<Millis>(std::ceil(linear)), sim);
}

Millis TimeMap::live_from() const {
  if (sim0_ >= wall0_) return wall0_;
  if (speed_ <= 1) return kMaxTime;  // never catches up
  // sim0 + speed (w - w0) = w
  return static_cast<Millis>(std::ceil(
      (speed_ * static_cast<double>(wall0_) - static_cast<double>(sim0_)) / (speed_ - 1)));
}

std::string Payload(const std::string& device, Millis event_time, double temperature, BadKind bad) {
  char temp[32];
  std::snprintf(temp, sizeof temp, "%.1f", temperature);
  const std::string id = "{\"deviceId\":\"" + device + "\"";
  const std::string time = ",\"eventTime\":\"" + FormatRfc3339(event_time) + "\"";
  switch (bad) {
    case BadKind::kNone:
      return id + time + ",\"temperature\":" + temp + "}";
    case BadKind::kNotJson:  // cut off mid-transmission
      return id + time + ",\"temperature\":" + temp;
    case BadKind::kMissingTime:
      return id + ",\"temperature\":" + temp + "}";
    case BadKind::kStringTemperature:
      return id + time + ",\"temperature\":\"" + temp + " C\"}";
  }
  return {};
}

Simulator::Simulator(Options options, Millis wall_start)
    : options_(std::move(options)),
      time_(wall_start, options_.backlog, options_.speed),
      rng_(options_.seed),
      state_(options_.devices.size()) {}

double Simulator::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

double Simulator::Normal() {  // Box-Muller; deterministic across standard libraries
  const double u1 = 1.0 - Uniform();
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Simulator::Temperature(const DeviceProfile& p, Millis t) {
  const double hours = static_cast<double>(t) / static_cast<double>(kHour) + p.utc_offset_h;
  const double local = hours - 24.0 * std::floor(hours / 24.0);
  // Warmest at 15:00 local time, coolest at 03:00; a little sensor noise.
  const double v =
      p.base_temp + 6.0 * std::sin(2.0 * std::numbers::pi * (local - 9.0) / 24.0) + 0.3 * Normal();
  return std::round(v * 10.0) / 10.0;
}

void Simulator::TakeReading(std::int64_t index) {
  const std::size_t n = options_.devices.size();
  const double period = 1000.0 / options_.rate;  // wall ms between readings
  const Millis wall =
      time_.wall_start() + static_cast<Millis>(std::floor(static_cast<double>(index) * period));
  const std::size_t d = static_cast<std::size_t>(index) % n;
  const DeviceProfile& p = options_.devices[d];
  DeviceState& st = state_[d];

  Message m;
  m.device = d;
  m.read_at = time_.ToSim(wall);
  m.event_time = m.read_at + p.skew;
  m.temperature = Temperature(p, m.read_at);
  m.topic = options_.topic_prefix + "/" + p.name + "/telemetry";
  const auto jitter = [&] {
    return static_cast<Millis>(std::floor(Uniform() * static_cast<double>(p.jitter)));
  };
  std::uint64_t order = 0;
  if (m.read_at >= st.burst_until && options_.burst_every > 0) {
    // A burst starts with probability (this device's simulated time between readings) /
    // burst_every.
    const Millis next_wall = wall + static_cast<Millis>(period * static_cast<double>(n));
    const double interval =
        static_cast<double>(std::max<Millis>(time_.ToSim(next_wall) - m.read_at, 0));
    if (Uniform() < interval / static_cast<double>(options_.burst_every)) {
      st.burst_until = m.read_at + kMinute + static_cast<Millis>(Uniform() * 3.0 * kMinute);
      st.burst_send = st.burst_until + p.delay + jitter();
    }
  }
  Millis send_sim;
  if (m.read_at < st.burst_until) {
    m.in_burst = true;
    send_sim = st.burst_send;
    order = 1 + (rng_() >> 1);
  } else {
    send_sim = m.read_at + p.delay + jitter();
  }
  if (options_.bad_rate > 0 && Uniform() < options_.bad_rate) {
    const int kind = std::min(2, static_cast<int>(Uniform() * 3.0));
    m.bad = kind == 0   ? BadKind::kNotJson
            : kind == 1 ? BadKind::kMissingTime
                        : BadKind::kStringTemperature;
  }
  m.payload = Payload(p.name, m.event_time, m.temperature, m.bad);
  m.send_at = std::max(time_.ToWall(send_sim), wall);
  pending_.push(Pending{m.send_at, order, seq_++, std::move(m)});
}

std::vector<Message> Simulator::Due(Millis wall_now) {
  const double period = 1000.0 / options_.rate;
  for (;;) {
    const Millis at = time_.wall_start() +
                      static_cast<Millis>(std::floor(static_cast<double>(next_reading_) * period));
    if (at > wall_now) break;
    TakeReading(next_reading_++);
  }
  std::vector<Message> out;
  while (!pending_.empty() && pending_.top().send_at <= wall_now) {
    out.push_back(std::move(const_cast<Pending&>(pending_.top()).message));
    pending_.pop();
  }
  return out;
}

}  // namespace tidemark::sim
