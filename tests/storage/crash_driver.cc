// crash_driver <db-path> <seed> <count>: feeds the crash test's stream (crash_stream.h) through
// a real StateStore on <db-path>, the way the gateway does, resuming where the durable state
// ends. crash_test kills it with SIGKILL at random points and restarts it until it exits 0.
//
// On start: Open, Recover, then resume at message engine.total() (every message, accepted or
// rejected, counts once). The broker redelivers what was never acknowledged, flagged as a
// duplicate: the last min(3, index) messages are re-sent flagged, and each must be recognised
// by SeenMessage (it was committed, so it must not be counted again). A tick that was due right
// before the crash is redone (ticks at the same instant are idempotent).
//
// Prints "resume <index> replayed <n>" on stdout at start. Exit codes: 0 done, 1 usage,
// 2 a store call failed (message on stderr), 3 the durable state is inconsistent.
// TIDEMARK_CRASH_SLEEP_US=<n> sleeps n microseconds after each message.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/state_store.h"
#include "tests/storage/crash_stream.h"

namespace tidemark::crash {
namespace {

int Fail(const Status& s, const char* what) {
  std::fprintf(stderr, "crash_driver: %s: %s (code %d)\n", what, s.message.c_str(), s.code);
  return 2;
}

int Run(const std::string& path, std::uint64_t seed, std::size_t count) {
  const char* sleep_env = std::getenv("TIDEMARK_CRASH_SLEEP_US");
  const auto sleep_us =
      static_cast<useconds_t>(sleep_env != nullptr ? std::strtoul(sleep_env, nullptr, 10) : 0);
  const std::vector<Message> stream = MakeStream(seed, count);

  StoreOptions options;
  options.path = path;
  options.synchronous = sqlite::Synchronous::kNormal;
  options.checkpoint_records = 200;
  options.checkpoint_interval = 10 * kSecond;
  auto store = StateStore::Open(options);
  if (!store.ok()) return Fail(store.status(), "open");
  ManualClock clock(kBase);
  Engine engine(Pipelines(), clock, Options());
  auto recovered = (*store)->Recover(engine);
  if (!recovered.ok()) return Fail(recovered.status(), "recover");

  const auto index = static_cast<std::size_t>(engine.total());
  std::printf("resume %zu replayed %lld\n", index, static_cast<long long>(recovered->replayed));
  std::fflush(stdout);
  if (index > count) {
    std::fprintf(stderr, "crash_driver: the store holds %zu messages, the stream has %zu\n", index,
                 count);
    return 3;
  }
  for (std::size_t i = index - std::min<std::size_t>(3, index); i < index; ++i) {
    if (!(*store)->SeenMessage(stream[i].message_hash)) {
      std::fprintf(stderr, "crash_driver: redelivered message %zu (committed) not recognised\n", i);
      return 3;
    }
  }

  StateStore& st = **store;
  Status failed;
  const char* failed_what = "";
  auto persist = [&](const Step& step) {
    switch (step.kind) {
      case Step::kRecord:
        failed = st.CommitRecord(step.message->view(), step.now, step.message->message_hash, engine,
                                 step.out);
        failed_what = "commit record";
        break;
      case Step::kRejected:
        failed = st.CommitRejected(step.reason, "", step.message->topic, step.message->device,
                                   step.now, step.message->message_hash, step.message->payload);
        failed_what = "commit rejected";
        break;
      case Step::kTick:
        failed = st.CommitTick(step.now, engine, step.out);
        failed_what = "commit tick";
        break;
    }
    return failed.ok();
  };
  auto after = [&](const Message& m) {
    if (st.CheckpointDue(m.arrival)) {
      failed = st.Checkpoint(engine, m.arrival);
      failed_what = "checkpoint";
      if (!failed.ok()) return false;
    }
    if (sleep_us > 0) usleep(sleep_us);
    return true;
  };

  Output out;
  if (index > 0 && index % kTickEvery == 0) {  // killed between a message and its tick
    const Millis now = stream[index - 1].arrival;
    clock.Set(now);
    engine.TickAt(now, out);
    if (!persist(Step{Step::kTick, nullptr, {}, now, out})) return Fail(failed, failed_what);
    out.clear();
  }
  if (!Feed(stream, index, count, engine, clock, out, persist, after)) {
    return Fail(failed, failed_what);
  }
  return 0;
}

}  // namespace
}  // namespace tidemark::crash

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_driver <db-path> <seed> <count>\n");
    return 1;
  }
  return tidemark::crash::Run(argv[1], std::strtoull(argv[2], nullptr, 10),
                              static_cast<std::size_t>(std::strtoull(argv[3], nullptr, 10)));
}
