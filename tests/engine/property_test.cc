// Randomized property tests: thousands of out-of-order records (with duplicates, bad values and
// future stamps) over many devices and every window kind, checked against a brute-force
// reference model written straight from docs/DESIGN.md §2; and snapshot/restore mid-stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "tests/engine/test_util.h"

namespace tidemark {
namespace {

using testing::OwnedRecord;

constexpr Millis kSkew = 5000;

const std::vector<std::pair<std::string, std::string>> kAllAggregates = {
    {"n", "count()"},  {"nv", "count(v)"}, {"sum", "sum(v)"},     {"avg", "avg(v)"},
    {"min", "min(v)"}, {"max", "max(v)"},  {"first", "first(v)"}, {"last", "last(v)"}};

struct Input {
  OwnedRecord record;
  Millis arrival;
};

std::vector<Input> MakeStream(std::mt19937_64& rng, int n) {
  auto uniform = [&](Millis lo, Millis hi) {
    return std::uniform_int_distribution<Millis>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  std::vector<Millis> cursor(7, -300);
  std::vector<Input> stream;
  for (int i = 0; i < n; ++i) {
    const Millis arrival = 100000 + i * 3;
    if (chance(0.05) && !stream.empty()) {  // an exact redelivery of an earlier record
      Input copy =
          stream[static_cast<std::size_t>(uniform(0, static_cast<Millis>(stream.size()) - 1))];
      copy.arrival = arrival;
      stream.push_back(copy);
      continue;
    }
    const auto d = static_cast<std::size_t>(uniform(0, 6));
    cursor[d] += uniform(0, 8);
    Millis t = cursor[d];
    if (chance(0.3)) t -= uniform(0, 60);                      // out of order
    if (chance(0.05)) t -= uniform(100, 400);                  // very late
    if (chance(0.02)) t = arrival + kSkew + uniform(1, 1000);  // future-stamped
    std::optional<double> v = static_cast<double>(uniform(-50, 50));
    std::vector<std::pair<std::string, std::optional<double>>> values{{"v", v}};
    if (chance(0.1))
      values.clear();  // missing: null
    else if (chance(0.03))
      values[0].second.reset();  // present, not a number: bad_value
    const std::uint64_t hash = static_cast<std::uint64_t>(i) * 7919 + 1;
    stream.push_back({OwnedRecord("D" + std::to_string(d), t, values, hash), arrival});
  }
  return stream;
}

PipelineSpec RandomSpec(std::mt19937_64& rng, int index) {
  auto uniform = [&](Millis lo, Millis hi) {
    return std::uniform_int_distribution<Millis>(lo, hi)(rng);
  };
  PipelineSpec spec = testing::MakeSpec(
      "p" + std::to_string(index), *WindowSpec::Tumbling(1), uniform(0, 120), kAllAggregates,
      uniform(0, 1) ? WatermarkScope::kGlobal : WatermarkScope::kDevice);
  switch (index % 3) {
    case 0:
      spec.window = *WindowSpec::Tumbling(uniform(5, 80), uniform(-20, 20));
      break;
    case 1: {
      const Millis size = uniform(5, 80);
      spec.window = *WindowSpec::Sliding(size, uniform(1, size), uniform(-20, 20));
      break;
    }
    default:
      spec.window = *WindowSpec::Session(uniform(3, 60));
  }
  return spec;
}

// The reference: obviously-correct and slow. Records and windows as plain lists.
class Reference {
 public:
  struct Rec {
    Millis t;
    std::optional<double> v;
    std::uint64_t seq;
  };
  struct Win {
    std::string device;
    Window w;
    std::vector<Rec> recs;
  };

  explicit Reference(PipelineSpec spec) : spec_(std::move(spec)) {}

  Outcome Process(const OwnedRecord& r, std::uint64_t seq) {
    const Millis frontier = Frontier(r.device);
    const Millis t = r.event_time;
    std::optional<double> v;
    if (!r.values.empty()) v = r.values[0].second;
    Outcome outcome;
    if (IsLateByBruteForce(t, frontier)) {
      outcome = Outcome::kLate;
    } else if (accepted_.count({r.device, t, r.payload_hash})) {
      outcome = Outcome::kDuplicate;
    } else {
      outcome = Outcome::kAccepted;
      accepted_.insert({r.device, t, r.payload_hash});
      Accept(r.device, {t, v, seq}, frontier);
    }
    Millis& m = device_max_[r.device];
    if (!device_max_seen_[r.device] || t > m) m = t;
    device_max_seen_[r.device] = true;
    if (!global_seen_ || t > global_max_) global_max_ = t;
    global_seen_ = true;
    return outcome;
  }

  // Windows whose end the device's frontier has reached (final) or not (open).
  std::vector<const Win*> Windows(bool final) const {
    std::vector<const Win*> out;
    for (const Win& w : windows_) {
      if ((w.w.end <= Frontier(w.device)) == final) out.push_back(&w);
    }
    return out;
  }

  static std::vector<std::optional<double>> Values(const Win& w) {
    std::vector<std::optional<double>> out;
    double sum = 0;
    std::int64_t nv = 0;
    std::optional<double> mn, mx;
    const Rec* first = nullptr;
    const Rec* last = nullptr;
    for (const Rec& r : w.recs) {
      if (!r.v) continue;
      ++nv;
      sum += *r.v;
      if (!mn || *r.v < *mn) mn = r.v;
      if (!mx || *r.v > *mx) mx = r.v;
      if (!first || std::tie(r.t, r.seq) < std::tie(first->t, first->seq)) first = &r;
      if (!last || std::tie(r.t, r.seq) > std::tie(last->t, last->seq)) last = &r;
    }
    out.push_back(static_cast<double>(w.recs.size()));
    out.push_back(static_cast<double>(nv));
    out.push_back(nv ? std::optional<double>(sum) : std::nullopt);
    out.push_back(nv ? std::optional<double>(sum / static_cast<double>(nv)) : std::nullopt);
    out.push_back(mn);
    out.push_back(mx);
    out.push_back(first ? first->v : std::nullopt);
    out.push_back(last ? last->v : std::nullopt);
    return out;
  }

 private:
  Millis Frontier(const std::string& device) const {
    if (spec_.scope == WatermarkScope::kGlobal) {
      return global_seen_ ? global_max_ - spec_.watermark_delay : INT64_MIN;
    }
    auto it = device_max_.find(device);
    return it == device_max_.end() ? INT64_MIN : it->second - spec_.watermark_delay;
  }

  // Every aligned window start s with s <= t < s + size, by scanning.
  std::vector<Window> ContainingWindows(Millis t) const {
    std::vector<Window> out;
    const WindowSpec& w = spec_.window;
    for (Millis s = t - w.size + 1; s <= t; ++s) {
      if (((s - w.offset) % w.slide + w.slide) % w.slide == 0) out.push_back({s, s + w.size});
    }
    return out;
  }

  bool IsLateByBruteForce(Millis t, Millis frontier) const {
    if (spec_.window.kind == WindowKind::kSession) return t + spec_.window.gap <= frontier;
    for (const Window& w : ContainingWindows(t)) {
      if (w.end > frontier) return false;
    }
    return true;
  }

  void Accept(const std::string& device, Rec rec, Millis frontier) {
    if (spec_.window.kind != WindowKind::kSession) {
      for (const Window& w : ContainingWindows(rec.t)) {
        if (w.end <= frontier) continue;
        Win* win = Find(device, w);
        if (!win) win = &windows_.emplace_back(Win{device, w, {}});
        win->recs.push_back(rec);
      }
      return;
    }
    Win merged{device, {rec.t, rec.t + spec_.window.gap}, {rec}};
    std::vector<Win> kept;
    for (Win& w : windows_) {
      const bool open = w.w.end > frontier;
      if (w.device == device && open && w.w.start < merged.w.end && rec.t < w.w.end) {
        merged.w.start = std::min(merged.w.start, w.w.start);
        merged.w.end = std::max(merged.w.end, w.w.end);
        merged.recs.insert(merged.recs.end(), w.recs.begin(), w.recs.end());
      } else {
        kept.push_back(std::move(w));
      }
    }
    kept.push_back(std::move(merged));
    windows_ = std::move(kept);
  }

  Win* Find(const std::string& device, Window w) {
    for (Win& x : windows_) {
      if (x.device == device && x.w == w) return &x;
    }
    return nullptr;
  }

  PipelineSpec spec_;
  std::vector<Win> windows_;
  std::set<std::tuple<std::string, Millis, std::uint64_t>> accepted_;
  std::map<std::string, Millis> device_max_;
  std::map<std::string, bool> device_max_seen_;
  Millis global_max_ = 0;
  bool global_seen_ = false;
};

using WindowKey = std::tuple<std::string, Millis, Millis>;

std::map<WindowKey, std::vector<std::optional<double>>> ByKey(
    const std::vector<WindowResult>& results, std::uint32_t pipeline) {
  std::map<WindowKey, std::vector<std::optional<double>>> out;
  for (const WindowResult& r : results) {
    if (r.pipeline != pipeline) continue;
    EXPECT_TRUE(out.emplace(WindowKey{r.device, r.window.start, r.window.end}, r.values).second)
        << "window emitted twice: " << r.device << " " << r.window.start;
  }
  return out;
}

std::map<WindowKey, std::vector<std::optional<double>>> ByKey(
    const std::vector<const Reference::Win*>& wins) {
  std::map<WindowKey, std::vector<std::optional<double>>> out;
  for (const Reference::Win* w : wins) {
    out.emplace(WindowKey{w->device, w->w.start, w->w.end}, Reference::Values(*w));
  }
  return out;
}

std::vector<WindowResult> OpenWindows(const Engine& engine) {
  std::vector<WindowResult> out;
  for (std::size_t i = 0; i < engine.pipeline_count(); ++i) {
    engine.pipeline(i).ForEachOpenWindow([&](const WindowResult& w) { out.push_back(w); });
  }
  return out;
}

TEST(Property, EveryWindowEqualsBruteForceRecomputation) {
  std::map<Outcome, std::int64_t> all_counts;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::vector<PipelineSpec> specs;
    for (int i = 0; i < 6; ++i) specs.push_back(RandomSpec(rng, i));
    std::vector<Reference> refs(specs.begin(), specs.end());
    const std::vector<Input> stream = MakeStream(rng, 3000);

    ManualClock clock;
    Engine engine(specs, clock, EngineOptions{kSkew});
    Output out;
    std::vector<std::map<Outcome, std::int64_t>> counts(specs.size());
    std::int64_t rejected = 0;
    std::uint64_t seq = 0;
    for (const Input& in : stream) {
      clock.Set(in.arrival);
      IngestResult result = engine.Process(in.record.view(), out);
      if (result.rejected) {
        ++rejected;
        continue;
      }
      for (std::size_t p = 0; p < specs.size(); ++p) {
        ASSERT_EQ(result.outcomes[p], refs[p].Process(in.record, seq)) << "pipeline " << p;
        ++counts[p][result.outcomes[p]];
      }
      ++seq;
    }
    EXPECT_GT(rejected, 0);
    const std::vector<WindowResult> open = OpenWindows(engine);
    for (std::size_t p = 0; p < specs.size(); ++p) {
      SCOPED_TRACE(specs[p].window.Describe());
      const auto index = static_cast<std::uint32_t>(p);
      EXPECT_EQ(ByKey(out.closed, index), ByKey(refs[p].Windows(true)));
      EXPECT_EQ(ByKey(open, index), ByKey(refs[p].Windows(false)));
      for (const auto& [outcome, n] : counts[p]) all_counts[outcome] += n;
      const PipelineCounters& c = engine.pipeline(p).Metrics().counters;
      EXPECT_EQ(c.records, counts[p][Outcome::kAccepted]);
      EXPECT_EQ(c.late, counts[p][Outcome::kLate]);
      EXPECT_EQ(c.duplicates, counts[p][Outcome::kDuplicate]);
      EXPECT_EQ(c.records + c.late + c.duplicates + rejected,
                static_cast<std::int64_t>(stream.size()));
      EXPECT_EQ(engine.pipeline(p).Metrics().open_windows,
                static_cast<std::int64_t>(refs[p].Windows(false).size()));
    }
  }
  // The streams exercise every path, many times.
  EXPECT_GT(all_counts[Outcome::kLate], 1000);
  EXPECT_GT(all_counts[Outcome::kDuplicate], 1000);
  EXPECT_GT(all_counts[Outcome::kAccepted], 100000);
}

bool SameResult(const WindowResult& a, const WindowResult& b) {
  return a.pipeline == b.pipeline && a.device == b.device && a.window == b.window &&
         a.final == b.final && a.closed_by == b.closed_by && a.closed_at == b.closed_at &&
         a.records == b.records && a.values == b.values;
}

TEST(Property, SnapshotAndRestoreMidStreamChangesNothing) {
  for (std::uint64_t seed = 100; seed < 106; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::vector<PipelineSpec> specs;
    for (int i = 0; i < 6; ++i) specs.push_back(RandomSpec(rng, i));
    specs[0].idle_timeout = 200;  // idle closes happen on ticks too
    const std::vector<Input> stream = MakeStream(rng, 2000);

    auto run = [&](Engine& engine, ManualClock& clock, std::size_t from, std::size_t to,
                   Output& out) {
      for (std::size_t i = from; i < to; ++i) {
        clock.Set(stream[i].arrival);
        engine.Process(stream[i].record.view(), out);
        if (i % 50 == 0) engine.Tick(out);
      }
    };
    ManualClock clock_a, clock_b;
    Engine whole(specs, clock_a, EngineOptions{kSkew});
    Output out_whole;
    run(whole, clock_a, 0, stream.size(), out_whole);

    const std::size_t cut = 777 + static_cast<std::size_t>(seed);
    Engine before(specs, clock_b, EngineOptions{kSkew});
    Output out_split;
    run(before, clock_b, 0, cut, out_split);
    const EngineSnapshot snap = before.Snapshot();
    Engine after(specs, clock_b, EngineOptions{kSkew});
    EXPECT_TRUE(after.Restore(snap).empty());
    run(after, clock_b, cut, stream.size(), out_split);

    // Windows closed by one watermark step may come out in another order after a restore
    // (timer order is not state); compare each step's set.
    for (Output* o : {&out_whole, &out_split}) {
      std::stable_sort(o->closed.begin(), o->closed.end(), [](const auto& a, const auto& b) {
        return std::tie(a.closed_at, a.pipeline, a.device, a.window.start) <
               std::tie(b.closed_at, b.pipeline, b.device, b.window.start);
      });
    }
    ASSERT_EQ(out_whole.closed.size(), out_split.closed.size());
    for (std::size_t i = 0; i < out_whole.closed.size(); ++i) {
      EXPECT_TRUE(SameResult(out_whole.closed[i], out_split.closed[i])) << "closed #" << i;
    }
    EXPECT_EQ(out_whole.late.size(), out_split.late.size());
    const auto open_whole = OpenWindows(whole);
    const auto open_split = OpenWindows(after);
    ASSERT_EQ(open_whole.size(), open_split.size());
    for (std::size_t i = 0; i < open_whole.size(); ++i) {
      EXPECT_TRUE(SameResult(open_whole[i], open_split[i]));
    }
    for (std::size_t p = 0; p < specs.size(); ++p) {
      EXPECT_EQ(whole.pipeline(p).Metrics().counters, after.pipeline(p).Metrics().counters);
      EXPECT_EQ(whole.pipeline(p).Watermark(), after.pipeline(p).Watermark());
    }
    EXPECT_EQ(whole.devices().all(), after.devices().all());
    EXPECT_EQ(whole.rejected(), after.rejected());
  }
}

}  // namespace
}  // namespace tidemark
