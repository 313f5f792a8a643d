// Test support: a real mosquitto broker on a free loopback port, with its own config,
// persistence file and log in a test directory. Restartable on the same port (persistence on,
// so queued messages for persistent sessions survive a clean broker restart).
#pragma once

#include <filesystem>
#include <string>

#include "tests/support/process.h"

namespace tidemark::testing {

class Mosquitto {
 public:
  // Writes the config under `dir`; Start() runs the broker.
  explicit Mosquitto(std::filesystem::path dir);
  // A second listener on the same port at `bind_address` (e.g. a veth address a network
  // namespace reaches); call before Start().
  void AddListener(const std::string& bind_address);
  // More mosquitto.conf lines (an acl_file, limits); call before Start().
  void AddConfig(const std::string& lines);
  // Starts the broker and waits until it accepts connections; false if it did not.
  bool Start();
  // SIGTERM (mosquitto saves its persistence file) and wait.
  void Stop();
  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return process_.Log(); }

 private:
  std::filesystem::path dir_;
  int port_;
  Process process_;
};

}  // namespace tidemark::testing
