// Ingest, the write path, on a real SQLite file: an exception inside it (here from the [output]
// formatter, inside the commit) is a failed commit — the message is not acknowledged, the
// engine is reloaded from the database, and the retry commits it exactly once.
#include "gateway/ingest/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "engine/window_operator.h"

namespace tidemark {
namespace {

class ThrowingOutbox final : public OutboxFormat {
 public:
  bool Window(const PipelineSpec&, const WindowResult&, std::string& topic,
              std::string& payload) const override {
    if (throwing) throw std::runtime_error("formatter failed");
    topic = "t";
    payload = "w";
    return true;
  }
  bool Late(const PipelineSpec&, const LateRecord&, std::string&, std::string&) const override {
    return false;
  }
  bool throwing = false;
};

std::string Reading(Millis t) {
  return "{\"deviceId\":\"d1\",\"eventTime\":" + std::to_string(t) + "}";
}

TEST(IngestTest, AnExceptionInTheWritePathIsAFailedCommitNotAnAcknowledgement) {
  char tmpl[] = "/tmp/tidemark-ingest-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto config = ParseConfig("[storage]\npath = \"" + dir +
                                "/t.db\"\n\n[[pipeline]]\nname = \"n\"\nwindow = \"10 minutes\"\n"
                                "aggregates = { n = \"count()\" }\n",
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.error();
  // Any date: the engine and the store read only this ManualClock.
  const Millis base = 1'800'000'000'000;  // a multiple of 10 minutes
  ManualClock clock(base + kHour);
  auto owned = std::make_unique<ThrowingOutbox>();
  ThrowingOutbox& outbox = *owned;
  auto ingest = Ingest::Open(*config, clock, std::move(owned));
  ASSERT_TRUE(ingest.ok()) << ingest.error();
  Ingest& in = **ingest;

  ASSERT_TRUE(in.Handle("devices/d1/telemetry", Reading(base + kMinute), false));
  outbox.throwing = true;  // the reading at 11 min closes window 0: its [output] message throws
  bool ok = true;
  EXPECT_NO_THROW(ok = in.Handle("devices/d1/telemetry", Reading(base + 11 * kMinute), false));
  EXPECT_FALSE(ok) << "an uncommitted message must not be acknowledged";
  EXPECT_FALSE(in.health().storage_ok);
  std::int64_t total = -1;
  in.Inspect([&](const Engine& e) { total = e.total(); });
  EXPECT_EQ(total, 1) << "the engine is back at what the database holds";

  outbox.throwing = false;  // the retry commits it, once
  ASSERT_TRUE(in.Handle("devices/d1/telemetry", Reading(base + 11 * kMinute), false));
  EXPECT_TRUE(in.health().storage_ok);
  in.Inspect([&](const Engine& e) {
    total = e.total();
    EXPECT_EQ(e.pipeline(0).Metrics().counters.finalized, 1);
  });
  EXPECT_EQ(total, 2);
  EXPECT_EQ(in.health().messages, 2);
  ingest = Error{"closed"};
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark
