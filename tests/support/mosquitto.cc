#include "tests/support/mosquitto.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

namespace tidemark::testing {

Mosquitto::Mosquitto(std::filesystem::path dir) : dir_(std::move(dir)), port_(FreeLoopbackPort()) {
  std::ofstream conf(dir_ / "mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "set_tcp_nodelay true\n"
       << "persistence true\n"
       << "persistence_location " << dir_.string() << "/\n"
       << "autosave_interval 1\n"
       << "max_queued_messages 0\n"  // unlimited: tests count every message
       << "max_inflight_messages 20\n"
       << "log_dest stdout\n";
  // Started as root, mosquitto switches to the "mosquitto" user unless told to stay who it is,
  // and then cannot write its persistence file in our directory.
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr) conf << "user " << pw->pw_name << "\n";
}

void Mosquitto::AddListener(const std::string& bind_address) {
  std::ofstream(dir_ / "mosquitto.conf", std::ios::app)
      << "listener " << port_ << " " << bind_address << "\n";
}

void Mosquitto::AddConfig(const std::string& lines) {
  std::ofstream(dir_ / "mosquitto.conf", std::ios::app) << lines << "\n";
}

bool Mosquitto::Start() {
  process_ =
      Process({"mosquitto", "-c", (dir_ / "mosquitto.conf").string()}, dir_ / "mosquitto.log");
  return WaitForPort(port_, std::chrono::seconds(10));
}

void Mosquitto::Stop() {
  process_.Signal(SIGTERM);
  process_.Wait(std::chrono::seconds(10));
}

}  // namespace tidemark::testing
