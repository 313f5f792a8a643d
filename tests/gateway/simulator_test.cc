// Tests for gateway/tools/simulator.h: the generation logic of `tidemark simulate`, driven by a
// fake wall clock (the times passed to Due()) and fixed seeds. Payloads are checked with the
// gateway's own RecordDecoder under the default config's input settings.
#include "gateway/tools/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/ingest/decoder.h"

namespace tidemark::sim {
namespace {

// 2026-11-25T12:00:00Z
constexpr Millis kNoon = 1795608000000;

Options Demo(std::uint64_t seed = 7, double speed = 60) {
  Options o;
  o.devices = DefaultProfiles(20);
  o.rate = 100;
  o.speed = speed;
  o.backlog = DefaultBacklog(speed, 0);
  o.seed = seed;
  return o;
}

// Runs a simulator from kNoon for `wall` ms, stepping the fake clock by `step`.
std::vector<Message> RunFor(Simulator& sim, Millis wall, Millis step = 10) {
  std::vector<Message> out;
  for (Millis t = kNoon; t <= kNoon + wall; t += step) {
    for (Message& m : sim.Due(t)) {
      EXPECT_LE(m.send_at, t);
      out.push_back(std::move(m));
    }
  }
  return out;
}

TEST(SimulatorTest, DefaultProfiles) {
  const std::vector<DeviceProfile> p = DefaultProfiles(100);
  ASSERT_EQ(p.size(), 100u);
  EXPECT_EQ(p[0].name, "delhi-01");
  EXPECT_EQ(p[0].delay, 0);
  EXPECT_EQ(p[1].name, "sydney-01");
  EXPECT_EQ(p[1].delay, 10 * kMinute);
  EXPECT_EQ(p[2].skew, 90 * kSecond);  // the one device with a fast clock
  std::set<std::string> names;
  for (std::size_t i = 0; i < p.size(); ++i) {
    names.insert(p[i].name);
    if (i >= 2) {
      EXPECT_LE(p[i].delay + p[i].jitter, 40 * kSecond) << p[i].name;
    }
    if (i != 2) {
      EXPECT_EQ(p[i].skew, 0) << p[i].name;
    }
    EXPECT_LT(p[i].skew, InputConfig{}.max_future_skew);
  }
  EXPECT_EQ(names.size(), p.size());  // unique device ids
  EXPECT_EQ(DefaultProfiles(1).size(), 1u);
}

TEST(SimulatorTest, TimeMapRunsFastThenLiveAndNeverAhead) {
  EXPECT_EQ(DefaultBacklog(60, 30 * kSecond), 59 * 30 * kSecond);
  EXPECT_EQ(DefaultBacklog(60, 0), 590 * kMinute);
  EXPECT_EQ(DefaultBacklog(1, 0), 0);
  const TimeMap t(kNoon, DefaultBacklog(60, 0), 60);
  EXPECT_EQ(t.ToSim(kNoon), kNoon - 590 * kMinute);
  EXPECT_EQ(t.ToSim(kNoon + kMinute), kNoon - 530 * kMinute);  // an hour per minute
  EXPECT_EQ(t.live_from(), kNoon + 10 * kMinute);
  EXPECT_EQ(t.ToSim(kNoon + 10 * kMinute), kNoon + 10 * kMinute);
  EXPECT_EQ(t.ToSim(kNoon + kHour), kNoon + kHour);  // live: 1x, never ahead of the clock
  for (Millis w = kNoon; w < kNoon + 2 * kHour; w += 777) {
    EXPECT_LE(t.ToSim(w), w);
    EXPECT_GE(t.ToSim(t.ToWall(t.ToSim(w))), t.ToSim(w));
    EXPECT_LE(t.ToWall(t.ToSim(w)), w);
  }
  const TimeMap live(kNoon, 0, 1);
  EXPECT_EQ(live.ToSim(kNoon + 5), kNoon + 5);
  EXPECT_EQ(live.live_from(), kNoon);
}

TEST(SimulatorTest, RateIsOverallAndRoundRobin) {
  Options o = Demo();
  o.bad_rate = 0;
  o.burst_every = 0;
  Simulator sim(o, kNoon);
  sim.Due(kNoon + 10 * kSecond - 1);
  EXPECT_EQ(sim.readings(), 1000);  // 100/s for 10 s, across all devices
}

TEST(SimulatorTest, DelaysFollowTheProfiles) {
  Options o = Demo();
  o.burst_every = 0;
  Simulator sim(o, kNoon);
  const std::vector<Message> msgs = RunFor(sim, 30 * kSecond);
  std::map<std::size_t, int> per_device;
  for (const Message& m : msgs) {
    const DeviceProfile& p = o.devices[m.device];
    const Millis delay = sim.time().ToSim(m.send_at) - m.read_at;  // in simulated time
    EXPECT_GE(delay, p.delay) << p.name;
    EXPECT_LE(delay, p.delay + p.jitter + 60) << p.name;  // + one wall ms at 60x
    EXPECT_EQ(m.event_time, m.read_at + p.skew);
    ++per_device[m.device];
  }
  // Delhi's 30 s of readings are all out; Sydney's first arrive after 10 s (10 minutes at 60x).
  EXPECT_EQ(per_device[0], 150);
  EXPECT_GT(per_device[1], 0);
  EXPECT_LT(per_device[1], 150 * 2 / 3 + 5);
}

TEST(SimulatorTest, EventTimeNeverAheadOfTheWallClockBeyondTheSkew) {
  // 20 wall minutes at 60x: ten of fast replay, then live.
  Options o = Demo();
  o.rate = 20;
  o.burst_every = 5 * kMinute;
  Simulator sim(o, kNoon);
  const std::vector<Message> msgs = RunFor(sim, 20 * kMinute, 100);
  ASSERT_GT(msgs.size(), 20000u);
  Millis max_ahead = kMinTime;
  for (const Message& m : msgs) {
    if (m.bad == BadKind::kMissingTime) continue;
    max_ahead = std::max(max_ahead, m.event_time - m.send_at);
    if (o.devices[m.device].skew == 0) {
      EXPECT_LE(m.event_time, m.send_at);
    }
  }
  EXPECT_LE(max_ahead, 90 * kSecond);                   // berlin-01's fast clock
  EXPECT_LT(max_ahead, InputConfig{}.max_future_skew);  // never rejected as future_time
  EXPECT_GT(max_ahead, 0);
}

TEST(SimulatorTest, OutOfOrderBurstsStayWithinTheDemoWatermark) {
  Options o = Demo();
  o.burst_every = 10 * kMinute;
  Simulator sim(o, kNoon);
  const std::vector<Message> msgs = RunFor(sim, 3 * kMinute);
  std::map<std::size_t, Millis> newest;
  int bursts = 0, inversions = 0;
  Millis worst = 0;
  for (const Message& m : msgs) {
    if (m.in_burst) ++bursts;
    Millis& n = newest.try_emplace(m.device, kMinTime).first->second;
    if (m.event_time < n) {
      ++inversions;
      worst = std::max(worst, n - m.event_time);
    }
    n = std::max(n, m.event_time);
  }
  EXPECT_GT(bursts, 100);
  EXPECT_GT(inversions, 50);
  // The demo's avg_temp_10m: 15-minute watermark per device; no reading is that far behind.
  EXPECT_LT(worst, 15 * kMinute);
}

TEST(SimulatorTest, BadPayloadRateAndKinds) {
  Options o = Demo();
  o.bad_rate = 0.1;
  Simulator sim(o, kNoon);
  const std::vector<Message> msgs = RunFor(sim, 2 * kMinute, 50);
  ASSERT_GT(msgs.size(), 10000u);
  DecoderOptions d;  // the default config's [input]
  d.fields = {"temperature"};
  RecordDecoder decoder(d);
  std::map<BadKind, int> kinds;
  for (const Message& m : msgs) {
    ++kinds[m.bad];
    const Decoded& r = decoder.Decode(m.topic, m.payload);
    switch (m.bad) {
      case BadKind::kNone:
        ASSERT_FALSE(r.rejected) << m.payload << ": " << r.detail;
        EXPECT_EQ(r.record.device, o.devices[m.device].name);
        EXPECT_EQ(r.record.event_time, m.event_time);
        ASSERT_EQ(r.record.fields.size(), 1u);
        EXPECT_TRUE(r.record.fields[0].is_number);
        EXPECT_DOUBLE_EQ(r.record.fields[0].number, m.temperature);
        break;
      case BadKind::kNotJson:
        EXPECT_EQ(r.rejected, RejectReason::kNotJson) << m.payload;
        break;
      case BadKind::kMissingTime:
        EXPECT_EQ(r.rejected, RejectReason::kMissingTime) << m.payload;
        break;
      case BadKind::kStringTemperature:  // the engine rejects it: bad_value
        ASSERT_FALSE(r.rejected) << m.payload;
        ASSERT_EQ(r.record.fields.size(), 1u);
        EXPECT_FALSE(r.record.fields[0].is_number);
        break;
    }
  }
  const double bad =
      static_cast<double>(msgs.size() - static_cast<std::size_t>(kinds[BadKind::kNone]));
  EXPECT_NEAR(bad / static_cast<double>(msgs.size()), 0.1, 0.015);
  EXPECT_GT(kinds[BadKind::kNotJson], 200);
  EXPECT_GT(kinds[BadKind::kMissingTime], 200);
  EXPECT_GT(kinds[BadKind::kStringTemperature], 200);
}

TEST(SimulatorTest, PayloadAndTopicShape) {
  EXPECT_EQ(Payload("delhi-01", kNoon + 4 * kMinute, 21.5, BadKind::kNone),
            R"({"deviceId":"delhi-01","eventTime":"2026-11-25T12:04:00Z","temperature":21.5})");
  EXPECT_EQ(Payload("d", kNoon + 1, 3, BadKind::kStringTemperature),
            R"({"deviceId":"d","eventTime":"2026-11-25T12:00:00.001Z","temperature":"3.0 C"})");
  Options o = Demo();
  o.topic_prefix = "site7/devices";
  Simulator sim(o, kNoon);
  const std::vector<Message> msgs = sim.Due(kNoon + kSecond);
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs[0].topic, "site7/devices/delhi-01/telemetry");
}

TEST(SimulatorTest, SameSeedSameRunOtherSeedOtherRun) {
  const auto run = [](std::uint64_t seed) {
    Simulator sim(Demo(seed), kNoon);
    std::vector<std::string> out;
    for (const Message& m : RunFor(sim, 20 * kSecond, 37)) {
      out.push_back(m.topic + " " + m.payload + " " + std::to_string(m.send_at));
    }
    return out;
  };
  const std::vector<std::string> a = run(42);
  EXPECT_EQ(a, run(42));
  EXPECT_NE(a, run(43));
  EXPECT_GT(a.size(), 1000u);
}

}  // namespace
}  // namespace tidemark::sim
