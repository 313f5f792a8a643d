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

// Epoch milliseconds now, and floored to `unit`.
std::int64_t NowMillis();
std::int64_t FloorTo(std::int64_t t, std::int64_t unit);

}  // namespace tidemark::testing
