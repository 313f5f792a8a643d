// Integration-test harness for the tidemark binary: a real mosquitto, the real gateway process
// with a config file, a real Paho publisher, and read-only queries on the real database file.
// One test thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/mosquitto.h"
#include "tests/support/process.h"

namespace mqtt {
class async_client;
}

namespace tidemark::testing {

// The wall clock of the tidemark processes a test starts. The shifted-clock CI phase sets
// TIDEMARK_TEST_CLOCK_SHIFT_DAYS (e.g. 1100 or -1100): every tidemark process then runs under
// libfaketime that many days away from the real date, and NowMillis() — the test's "now", from
// which fixtures take their event times — moves with it. A suite that passes only near today's
// date fails that phase.
std::int64_t ClockShiftMillis();
// The command line of a tidemark process: TIDEMARK_BINARY and `args`, run under libfaketime
// with its wall clock `offset` ms away from the real one when `offset` is not 0 (the offset is
// read from `dir`/faketime.rc, rewritten by each call, and re-read by the process every second).
std::vector<std::string> TidemarkCommand(const std::filesystem::path& dir,
                                         const std::vector<std::string>& args,
                                         std::int64_t offset = ClockShiftMillis());

// The gateway binary with a config written to `dir/tidemark.toml`.
class Gateway {
 public:
  // `pipelines` is TOML text with one or more [[pipeline]] tables; the extras go into [input]
  // and [storage]; `http` is the [http] table's body (default: no HTTP server); `mqtt_extra`
  // goes into [mqtt] (e.g. keep_alive, reconnect_max).
  Gateway(const std::filesystem::path& dir, const std::string& broker_url,
          const std::string& pipelines, const std::string& input_extra = "",
          const std::string& storage_extra = "", const std::string& http = "listen = \"\"",
          const std::string& mqtt_extra = "");
  // Fails the running test if a run of the gateway logged a ThreadSanitizer report (see Launch).
  ~Gateway();
  Gateway(Gateway&&) = default;
  Gateway& operator=(Gateway&&) = default;
  // Words run before the binary, e.g. {"ip", "netns", "exec", "ns1"} (it must exec the binary,
  // so that signals reach the gateway itself). Takes effect at the next Start()/Launch().
  void SetCommandPrefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }
  // Sets the gateway's wall clock `by` ms away from NowMillis() (negative: behind): at the next
  // Start()/Launch(), or within about a second while it runs if it was started with a clock
  // shift (a shifted-clock run, or SetClockOffset before Launch).
  void SetClockOffset(std::int64_t by);
  // Starts it and waits for its "ready" log line; false if it did not get ready.
  bool Start();
  // Starts it without waiting; WaitReady() waits for the "ready" line of this start.
  void Launch();
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM and wait; the exit code (-1 on timeout).
  int Stop();
  void Kill();
  bool Running() { return process_.Running(); }
  std::string Log() const { return process_.Log(); }
  const Process& process() const { return process_; }
  std::string db_path() const { return (dir_ / "tidemark.db").string(); }

 private:
  void ExpectNoSanitizerReport() const;

  std::filesystem::path dir_;
  std::vector<std::string> prefix_;
  std::int64_t clock_offset_ = 0;  // from NowMillis()
  Process process_;
};

// A QoS 1 publisher (Paho C++) that waits for every PUBACK.
class Publisher {
 public:
  explicit Publisher(const std::string& broker_url, const std::string& client_id = "test-pub");
  ~Publisher();
  bool Connect();
  // Publishes and waits for the broker's acknowledgements; false on any failure.
  bool Publish(const std::string& topic, const std::vector<std::string>& payloads);
  bool Publish(const std::string& topic, const std::string& payload) {
    return Publish(topic, std::vector<std::string>{payload});
  }
  void Disconnect();

 private:
  std::unique_ptr<mqtt::async_client> client_;
};

// Read-only queries on the gateway's database (WAL: safe while it runs).
std::int64_t QueryInt(const std::string& db_path, const std::string& sql);
double QueryDouble(const std::string& db_path, const std::string& sql);
std::vector<std::string> QueryStrings(const std::string& db_path, const std::string& sql);
// Messages the gateway has logged (records and rejections, not ticks).
std::int64_t LoggedMessages(const std::string& db_path);
// Polls LoggedMessages until it reaches `count`; false on timeout.
bool WaitForLogged(const std::string& db_path, std::int64_t count,
                   std::chrono::milliseconds timeout);

// Epoch milliseconds now on the gateway's clock (with ClockShiftMillis()), and floored to `unit`.
std::int64_t NowMillis();
std::int64_t FloorTo(std::int64_t t, std::int64_t unit);

}  // namespace tidemark::testing
