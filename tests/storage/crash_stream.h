// The deterministic message stream and pipelines of the crash-consistency test, shared by
// crash_driver (which feeds them through a real StateStore and gets killed) and crash_test
// (which feeds them through an Engine alone, without crashes, for the expected result).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "tests/engine/test_util.h"

namespace tidemark::crash {

inline constexpr Millis kBase = 1'700'000'000'000;  // arrival of message 0
inline constexpr Millis kArrivalStep = 1;           // ms between consecutive arrivals
inline constexpr Millis kSkew = 5000;               // EngineOptions::max_future_skew
inline constexpr std::size_t kTickEvery = 50;       // messages between Engine::TickAt calls
inline constexpr std::size_t kQuietPhase = 300;     // D6 is silent in every other such phase

// One MQTT message as the gateway would receive it.
struct Message {
  Millis arrival = 0;
  std::string topic;
  std::string payload;
  std::uint64_t message_hash = 0;            // hash of topic and payload
  std::optional<RejectReason> decode_error;  // rejected by the decoder (not_json)
  std::string device;                        // decoded fields, when decode_error is empty
  Millis event_time = 0;
  std::uint64_t payload_hash = 0;
  std::vector<std::pair<std::string, std::optional<double>>> values;  // nullopt: not a number
  mutable std::vector<FieldValue> fields;

  Record view() const {
    fields.clear();
    for (const auto& [name, v] : values) fields.push_back({name, v.value_or(0), v.has_value()});
    return Record{device, event_time, payload_hash, fields};
  }
};

inline std::uint64_t Fnv1a(std::string_view bytes, std::uint64_t h = 14695981039346656037ull) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

inline EngineOptions Options() { return EngineOptions{kSkew}; }

// Event-time tumbling (global watermark), sliding and session (per-device watermark, idle
// close), and a processing-time tumbling window that closes on ticks.
inline std::vector<PipelineSpec> Pipelines() {
  using testing::MakeSpec;
  std::vector<PipelineSpec> specs;
  specs.push_back(MakeSpec("tumble_global", *WindowSpec::Tumbling(100), 60,
                           {{"n", "count()"},
                            {"sum", "sum(v)"},
                            {"first", "first(v)"},
                            {"last", "last(v)"},
                            {"avg", "avg(v)"}},
                           WatermarkScope::kGlobal));
  specs.push_back(MakeSpec("slide_device", *WindowSpec::Sliding(60, 20, 7), 20,
                           {{"nv", "count(v)"},
                            {"avg", "avg(v)"},
                            {"min", "min(v)"},
                            {"max", "max(v)"},
                            {"last", "last(v)"}}));
  specs.back().idle_timeout = 150;
  specs.push_back(MakeSpec("session_device", *WindowSpec::Session(25), 10,
                           {{"n", "count()"},
                            {"sum", "sum(v)"},
                            {"first", "first(v)"},
                            {"last", "last(v)"},
                            {"max", "max(v)"}}));
  specs.back().idle_timeout = 120;
  specs.push_back(MakeSpec("proc_tumble", *WindowSpec::Tumbling(40), 0,
                           {{"n", "count()"}, {"sum", "sum(v)"}, {"last", "last(v)"}},
                           WatermarkScope::kGlobal));
  specs.back().time = TimeMode::kProcessing;
  return specs;
}

// `count` messages from `seed`, arriving kArrivalStep apart: seven devices (D6 silent in every
// other phase, so its windows close as idle), out-of-order and late event times, exact
// duplicates of earlier messages, missing and non-numeric values, future stamps, and a few
// payloads the decoder rejects. Every message has a distinct payload (it carries its index)
// except the deliberate duplicates, which repeat an earlier message byte for byte.
inline std::vector<Message> MakeStream(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](Millis lo, Millis hi) {
    return std::uniform_int_distribution<Millis>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  std::vector<Millis> cursor(7, kBase - 300);
  std::vector<std::size_t> paused_until(7, 0);
  bool quiet_device_active = false;
  std::vector<Message> stream;
  stream.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const Millis arrival = kBase + static_cast<Millis>(i) * kArrivalStep;
    if (!stream.empty() && chance(0.04)) {  // the device published the same message again
      const auto from = static_cast<Millis>(stream.size() > 200 ? stream.size() - 200 : 0);
      Message copy =
          stream[static_cast<std::size_t>(uniform(from, static_cast<Millis>(stream.size()) - 1))];
      copy.arrival = arrival;
      stream.push_back(std::move(copy));
      continue;
    }
    Message m;
    m.arrival = arrival;
    if (chance(0.01)) {  // not JSON: the decoder rejects it before the engine sees a record
      m.topic = "sensors/D" + std::to_string(uniform(0, 6)) + "/data";
      m.payload = "{\"seq\":" + std::to_string(i) + ",\"v\":";
      m.decode_error = RejectReason::kNotJson;
      m.message_hash = Fnv1a(m.payload, Fnv1a(m.topic));
      stream.push_back(std::move(m));
      continue;
    }
    const bool quiet_phase_on = (i / kQuietPhase) % 2 == 1;
    if (quiet_phase_on && !quiet_device_active) {  // D6 wakes up in step with the others
      for (std::size_t d = 0; d < 6; ++d) cursor[6] = std::max(cursor[6], cursor[d]);
    }
    quiet_device_active = quiet_phase_on;
    if (chance(0.005)) {  // a device pauses: its sessions end, its windows close as idle
      paused_until[static_cast<std::size_t>(uniform(0, 5))] =
          i + static_cast<std::size_t>(uniform(40, 160));
    }
    auto d = static_cast<std::size_t>(uniform(0, quiet_phase_on ? 6 : 5));
    if (i < paused_until[d]) d = static_cast<std::size_t>(uniform(0, 5));  // one more try
    // Devices advance at their own pace, but none falls far behind the stream's event clock.
    const Millis event_clock = arrival - 300;
    cursor[d] = std::max(cursor[d] + uniform(0, 8), event_clock - uniform(0, 30));
    Millis t = cursor[d];
    if (chance(0.3)) t -= uniform(0, 60);                        // out of order
    if (chance(0.05)) t -= uniform(100, 400);                    // very late
    if (chance(0.02)) t = arrival + kSkew + uniform(250, 1000);  // future: rejected, copies too
    m.device = "D" + std::to_string(d);
    m.event_time = t;
    m.topic = "sensors/" + m.device + "/data";
    m.payload = "{\"device\":\"" + m.device + "\",\"time\":" + std::to_string(t) +
                ",\"seq\":" + std::to_string(i);
    const Millis v = uniform(-50, 50);
    if (chance(0.1)) {
      // v missing: null
    } else if (chance(0.03)) {
      m.values.push_back({"v", std::nullopt});  // present, not a number: bad_value
      m.payload += ",\"v\":\"n/a\"";
    } else {
      m.values.push_back({"v", static_cast<double>(v)});
      m.payload += ",\"v\":" + std::to_string(v);
    }
    m.payload += '}';
    m.payload_hash = Fnv1a(m.payload);
    m.message_hash = Fnv1a(m.payload, Fnv1a(m.topic));
    stream.push_back(std::move(m));
  }
  return stream;
}

// One step of feeding the stream, for the caller to persist.
struct Step {
  enum Kind { kRecord, kRejected, kTick } kind;
  const Message* message = nullptr;  // kRecord, kRejected
  RejectReason reason{};             // kRejected
  Millis now = 0;
  const Output& out;
};

// Feeds messages [from, to) of `stream` exactly as the gateway does: the decoder's rejections go
// to CountRejected, everything else through ProcessAt at the message's arrival time, and the
// engine ticks after every kTickEvery-th message (counting from the start of the stream).
// `persist(step)` is called after each engine call; `after(message)` after each message. Either
// returning false stops the feed (returns false). `out` is cleared after each persist.
template <typename Persist, typename After>
bool Feed(const std::vector<Message>& stream, std::size_t from, std::size_t to, Engine& engine,
          ManualClock& clock, Output& out, Persist&& persist, After&& after) {
  for (std::size_t i = from; i < to; ++i) {
    const Message& m = stream[i];
    clock.Set(m.arrival);
    bool ok;
    if (m.decode_error) {
      engine.CountRejected(*m.decode_error, {}, m.arrival);
      ok = persist(Step{Step::kRejected, &m, *m.decode_error, m.arrival, out});
    } else {
      const IngestResult result = engine.ProcessAt(m.view(), m.arrival, out);
      ok = result.rejected ? persist(Step{Step::kRejected, &m, *result.rejected, m.arrival, out})
                           : persist(Step{Step::kRecord, &m, {}, m.arrival, out});
    }
    out.clear();
    if (!ok) return false;
    if ((i + 1) % kTickEvery == 0) {
      engine.TickAt(m.arrival, out);
      ok = persist(Step{Step::kTick, nullptr, {}, m.arrival, out});
      out.clear();
      if (!ok) return false;
    }
    if (!after(m)) return false;
  }
  return true;
}

}  // namespace tidemark::crash
