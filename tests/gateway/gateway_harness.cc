#include "tests/gateway/gateway_harness.h"

#include <gtest/gtest.h>
#include <mqtt/async_client.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "storage/sqlite.h"

#ifndef TIDEMARK_BINARY
#error "TIDEMARK_BINARY must name the tidemark binary"
#endif

namespace tidemark::testing {

namespace fs = std::filesystem;

namespace {

// libfaketime's multi-threaded variant, from Debian's faketime package.
std::string FaketimeLibrary() {
  std::error_code ec;
  for (const fs::directory_entry& arch : fs::directory_iterator("/usr/lib", ec)) {
    const fs::path lib = arch.path() / "faketime" / "libfaketimeMT.so.1";
    if (fs::exists(lib, ec)) return lib.string();
  }
  std::fprintf(stderr, "libfaketimeMT.so.1 not found: apt-get install faketime\n");
  std::abort();
}

// The offset libfaketime reads (FAKETIME_TIMESTAMP_FILE): whole seconds, signed.
void WriteClockOffset(const fs::path& rc, std::int64_t offset) {
  std::ofstream(rc) << (offset >= 0 ? "+" : "") << offset / 1000 << "\n";
}

}  // namespace

std::int64_t ClockShiftMillis() {
  static const std::int64_t shift = [] {
    const char* days = std::getenv("TIDEMARK_TEST_CLOCK_SHIFT_DAYS");
    if (days == nullptr || *days == '\0') return std::int64_t{0};
    char* end = nullptr;
    const long long n = std::strtoll(days, &end, 10);
    if (*end != '\0') {
      std::fprintf(stderr, "TIDEMARK_TEST_CLOCK_SHIFT_DAYS=%s: want a whole number of days\n",
                   days);
      std::abort();
    }
    return static_cast<std::int64_t>(n) * 86'400'000;
  }();
  return shift;
}

std::vector<std::string> TidemarkCommand(const fs::path& dir, const std::vector<std::string>& args,
                                         std::int64_t offset) {
  std::vector<std::string> argv;
  if (offset != 0) {
    const fs::path rc = dir / "faketime.rc";
    WriteClockOffset(rc, offset);
    const char* asan = std::getenv("ASAN_OPTIONS");
    argv = {"env", "LD_PRELOAD=" + FaketimeLibrary(), "FAKETIME_TIMESTAMP_FILE=" + rc.string(),
            "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
            // An ASan build wants its runtime first; libfaketime only wraps the clock calls.
            std::string("ASAN_OPTIONS=") + (asan ? asan : "") + ":verify_asan_link_order=0"};
  }
  argv.push_back(TIDEMARK_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Gateway::Gateway(const fs::path& dir, const std::string& broker_url, const std::string& pipelines,
                 const std::string& input_extra, const std::string& storage_extra,
                 const std::string& http, const std::string& mqtt_extra)
    : dir_(dir) {
  std::ofstream conf(dir_ / "tidemark.toml");
  conf << "[mqtt]\n"
       << "broker = \"" << broker_url << "\"\n"
       << "client_id = \"tidemark-test\"\n"
       << "topics = [\"devices/+/telemetry\"]\n"
       << "qos = 1\n"
       << mqtt_extra << "\n\n"
       << "[input]\n"
       << input_extra << "\n"
       << "[storage]\n"
       << "path = \"" << db_path() << "\"\n"
       << "checkpoint_interval = \"1s\"\n"
       << storage_extra << "\n\n"
       << "[http]\n"
       << http << "\n\n"
       << pipelines << "\n";
}

Gateway::~Gateway() { ExpectNoSanitizerReport(); }

// Under ThreadSanitizer (.ci/tsan builds the binary with it, TSAN_OPTIONS halt_on_error=1) a race
// inside the gateway process is written to its log and ends it: whatever the test checked, such
// a report fails it, shown with the report.
void Gateway::ExpectNoSanitizerReport() const {
  if (!process_.started()) return;
  const std::string log = process_.Log();
  const std::size_t at = log.find("WARNING: ThreadSanitizer");
  if (at != std::string::npos) {
    ADD_FAILURE() << "the gateway (pid " << process_.pid() << ") reported a data race:\n"
                  << log.substr(at, 20000);
  }
}

bool Gateway::Start() {
  Launch();
  return WaitReady();
}

void Gateway::Launch() {
  static int starts = 0;  // a fresh log file per start, so old lines never match
  const std::string log = "tidemark-" + std::to_string(++starts) + ".log";
  std::vector<std::string> argv = prefix_;
  const std::vector<std::string> command = TidemarkCommand(
      dir_, {"--config", (dir_ / "tidemark.toml").string()}, ClockShiftMillis() + clock_offset_);
  argv.insert(argv.end(), command.begin(), command.end());
  ExpectNoSanitizerReport();  // of the previous run, before its Process goes
  process_ = Process(argv, dir_ / log);
}

bool Gateway::WaitReady(std::chrono::milliseconds timeout) {
  return process_.WaitForLog("ready:", timeout);
}

int Gateway::Stop() {
  process_.Signal(SIGTERM);
  return process_.Wait(std::chrono::seconds(20));
}

void Gateway::SetClockOffset(std::int64_t by) {
  clock_offset_ = by;
  const fs::path rc = dir_ / "faketime.rc";
  if (fs::exists(rc)) WriteClockOffset(rc, ClockShiftMillis() + by);  // a running one re-reads it
}

void Gateway::Kill() {
  process_.Signal(SIGKILL);
  process_.Wait(std::chrono::seconds(10));
}

Publisher::Publisher(const std::string& broker_url, const std::string& client_id)
    : client_(std::make_unique<mqtt::async_client>(broker_url, client_id)) {}

Publisher::~Publisher() { Disconnect(); }

bool Publisher::Connect() {
  try {
    auto options = mqtt::connect_options_builder().clean_session(true).finalize();
    client_->connect(options)->wait_for(std::chrono::seconds(10));
    return client_->is_connected();
  } catch (const std::exception&) {
    return false;
  }
}

bool Publisher::Publish(const std::string& topic, const std::vector<std::string>& payloads) {
  try {
    std::vector<mqtt::delivery_token_ptr> pending;
    for (const std::string& p : payloads) {
      pending.push_back(client_->publish(topic, p.data(), p.size(), 1, false));
      if (pending.size() == 100) {
        for (auto& t : pending) t->wait();
        pending.clear();
      }
    }
    for (auto& t : pending) t->wait();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

void Publisher::Disconnect() {
  try {
    if (client_ && client_->is_connected())
      client_->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception&) {
  }
}

namespace {

template <typename F>
void Query(const std::string& db_path, const std::string& sql, F&& row) {
  auto db = sqlite::Database::OpenReader(db_path);
  if (!db.ok()) throw std::runtime_error(db.status().message);
  auto q = db->Prepare(sql);
  if (!q.ok()) throw std::runtime_error(q.status().message);
  for (;;) {
    auto step = q->Step();
    if (!step.ok()) throw std::runtime_error(step.status().message);
    if (*step == sqlite::StepResult::kDone) return;
    row(*q);
  }
}

}  // namespace

std::int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  std::int64_t v = 0;
  Query(db_path, sql, [&](sqlite::Statement& q) { v = q.ColumnInt64(0); });
  return v;
}

double QueryDouble(const std::string& db_path, const std::string& sql) {
  double v = 0;
  Query(db_path, sql, [&](sqlite::Statement& q) { v = q.ColumnDouble(0); });
  return v;
}

std::vector<std::string> QueryStrings(const std::string& db_path, const std::string& sql) {
  std::vector<std::string> v;
  Query(db_path, sql, [&](sqlite::Statement& q) { v.emplace_back(q.ColumnText(0)); });
  return v;
}

std::int64_t LoggedMessages(const std::string& db_path) {
  // The checkpoint's total counts what was trimmed from the log; rows after it the rest.
  return QueryInt(db_path,
                  "SELECT (SELECT count(*) FROM ingest_log WHERE kind != 2 AND seq > "
                  "coalesce((SELECT seq FROM checkpoint), 0)) + "
                  "coalesce((SELECT total FROM checkpoint), 0)");
}

bool WaitForLogged(const std::string& db_path, std::int64_t count,
                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    try {
      if (LoggedMessages(db_path) >= count) return true;
    } catch (const std::exception&) {
      // not created yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         ClockShiftMillis();
}

std::int64_t FloorTo(std::int64_t t, std::int64_t unit) { return t - ((t % unit) + unit) % unit; }

}  // namespace tidemark::testing
