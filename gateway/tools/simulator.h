// Simulator: the pure generation logic behind `tidemark simulate` — realistic device telemetry
// whose event time matters. No I/O and no clock reads: the caller passes the wall clock to Due(),
// and all randomness comes from one seeded generator, so a run is reproducible from its seed
// and unit-testable with a fake clock (the publishing loop is in simulator_mqtt.h).
//
// Time model. Readings are taken round-robin over the devices at `rate` per second of wall time.
// Simulated time runs at `speed` x the wall clock from `wall_start - backlog`, but never past the
// wall clock: once it catches up (after backlog / (speed - 1) of wall time) it runs at 1x, live.
// So simulated "now" is never in the future, and a device's stamped event time is at most its
// clock skew (default profiles: +90 s, under the gateway's default max_future_skew of 5 minutes)
// ahead of the wall clock. A reading taken at simulated time s is stamped s + skew and delivered
// when simulated time reaches s + delay + jitter: Sydney's 10-minute delay is 10 s of wall time
// at --speed 60, and 10 real minutes once live.
//
// Out of order: now and then (about once per `burst_every` of simulated time per device) a
// device holds its readings for 1-4 simulated minutes and then sends them together, shuffled.
// Bad payloads: a `bad_rate` fraction is malformed — not JSON, no eventTime, or a string
// temperature (rejected by the gateway as not_json, missing_time, bad_value).
//
// Threads: one thread per Simulator.
#pragma once

#include <cstdint>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "engine/time.h"

namespace tidemark::sim {

struct DeviceProfile {
  std::string name;         // deviceId and topic level, e.g. "sydney-01"
  Millis delay = 0;         // network delay, in simulated time
  Millis jitter = 0;        // extra delay, uniform in [0, jitter]
  Millis skew = 0;          // the device clock minus true time (positive: runs ahead)
  double utc_offset_h = 0;  // local time zone: the temperature follows the local time of day
  double base_temp = 20;    // daily mean temperature, °C
};

// Profiles for `devices` devices: 0 "delhi-01" (no delay), 1 "sydney-01" (10 minutes late), 2
// "berlin-01" with a clock 90 s fast, the rest small delays (0.2-30 s) in other cities.
std::vector<DeviceProfile> DefaultProfiles(int devices);

struct Options {
  std::vector<DeviceProfile> devices;  // at least one
  double rate = 100;                   // readings per second of wall time, all devices together
  double speed = 1;                    // simulated time per wall time (> 0)
  Millis backlog = 0;                  // simulated time starts this far before wall_start
  double bad_rate = 0.01;              // fraction of malformed payloads, [0, 1]
  Millis burst_every = kHour;          // mean simulated time between a device's bursts; 0: none
  std::string topic_prefix = "devices";
  std::uint64_t seed = 1;
};

// The backlog used when none is given: enough that simulated time reaches the wall clock at the
// end of a `duration` run ((speed - 1) x duration), or after 10 minutes when it runs until
// stopped (duration 0); 0 when speed <= 1.
Millis DefaultBacklog(double speed, Millis duration);

// Simulated time as a function of wall time, and back: sim(w) = min(sim0 + speed (w - w0), w).
class TimeMap {
 public:
  TimeMap(Millis wall_start, Millis backlog, double speed);
  Millis ToSim(Millis wall) const;
  // The earliest wall time at which simulated time reaches `sim`.
  Millis ToWall(Millis sim) const;
  Millis wall_start() const { return wall0_; }
  Millis sim_start() const { return sim0_; }
  // The wall time from which simulated time runs live (1x); wall_start when it starts live.
  Millis live_from() const;

 private:
  Millis wall0_, sim0_;
  double speed_;
};

enum class BadKind { kNone, kNotJson, kMissingTime, kStringTemperature };

struct Message {
  std::string topic;    // "<prefix>/<device>/telemetry"
  std::string payload;  // {"deviceId":"...","eventTime":"...Z","temperature":21.5}
  std::size_t device = 0;
  Millis read_at = 0;     // simulated (true) time of the reading
  Millis event_time = 0;  // as stamped by the device clock: read_at + skew
  Millis send_at = 0;     // wall time it is due
  double temperature = 0;
  BadKind bad = BadKind::kNone;
  bool in_burst = false;  // held back and sent shuffled with others
};

class Simulator {
 public:
  Simulator(Options options, Millis wall_start);

  // Every message due at or before `wall_now`, in sending order. Call with non-decreasing times.
  std::vector<Message> Due(Millis wall_now);

  const Options& options() const { return options_; }
  const TimeMap& time() const { return time_; }
  std::int64_t readings() const { return next_reading_; }  // taken so far (sent or not)

 private:
  struct Pending {
    Millis send_at;
    std::uint64_t order;  // random within a burst, else increasing: breaks ties
    std::uint64_t seq;
    Message message;
    bool operator>(const Pending& o) const {
      if (send_at != o.send_at) return send_at > o.send_at;
      if (order != o.order) return order > o.order;
      return seq > o.seq;
    }
  };
  struct DeviceState {
    Millis burst_until = 0;  // simulated time: readings before it are held
    Millis burst_send = 0;   // simulated time the held readings go out
  };

  void TakeReading(std::int64_t index);
  double Uniform();  // [0, 1)
  double Normal();   // mean 0, deviation 1
  double Temperature(const DeviceProfile& p, Millis t);

  Options options_;
  TimeMap time_;
  std::mt19937_64 rng_;
  std::vector<DeviceState> state_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  std::int64_t next_reading_ = 0;
  std::uint64_t seq_ = 0;
};

// The payload of a reading, well-formed or malformed as `bad` says.
std::string Payload(const std::string& device, Millis event_time, double temperature, BadKind bad);

}  // namespace tidemark::sim
