// tidemark: the gateway binary. Parses the command line (CLI11) and dispatches: plain
// `tidemark [--config FILE ...]` loads the TOML config, applies flag overrides and runs the
// Service; `tidemark simulate ...` runs the device simulator (gateway/tools/simulator_mqtt.h);
// `tidemark demo ...` the one-command demo (gateway/tools/demo.h). Exit codes: 0 stopped cleanly,
// 1 runtime failure, 2 bad command line or config.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "gateway/config/config.h"
#include "gateway/log/log.h"
#include "gateway/service.h"
#include "gateway/tools/demo.h"
#include "gateway/tools/simulator_mqtt.h"

namespace {

constexpr const char* kDefaultConfigPath = "/etc/tidemark/tidemark.toml";

struct SimulateArgs {
  tidemark::sim::PublishOptions publish;
  tidemark::sim::Options sim;
  int devices = 10;
  std::string duration, backlog, burst_every = "1h";
  std::uint64_t seed = 0;
};

CLI::App* AddSimulate(CLI::App& app, SimulateArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "simulate", "publish simulated device telemetry (event time, delays, skew, bad payloads)");
  sub->add_option("--broker", a.publish.broker, "MQTT broker URI")->capture_default_str();
  sub->add_option("--devices", a.devices,
                  "number of devices: delhi-01 (on time), sydney-01 "
                  "(10 minutes late), berlin-01 (clock 90 s fast), more with small delays")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  sub->add_option("--rate", a.sim.rate, "messages per second of wall time, all devices together")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  sub->add_option("--speed", a.sim.speed,
                  "simulated (event) time per wall time; 60: an hour a "
                  "minute")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  sub->add_option("--duration", a.duration,
                  "wall time to run, e.g. \"30s\" (default: until "
                  "SIGINT/SIGTERM)");
  sub->add_option("--backlog", a.backlog,
                  "start simulated time this far in the past (default: "
                  "(speed-1) x duration, or x 10 minutes without --duration)");
  sub->add_option("--topic-prefix", a.sim.topic_prefix, "topics are PREFIX/<device>/telemetry")
      ->capture_default_str();
  sub->add_option("--seed", a.seed, "random seed (default: random, logged)");
  sub->add_option("--bad-rate", a.sim.bad_rate, "fraction of malformed payloads")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--burst-every", a.burst_every,
                  "mean simulated time between a device's "
                  "out-of-order bursts; \"0s\": none")
      ->capture_default_str();
  sub->add_option("--client-id", a.publish.client_id, "MQTT client id (default tidemark-sim-PID)");
  sub->add_option("--qos", a.publish.qos, "MQTT QoS")
      ->capture_default_str()
      ->check(CLI::Range(0, 1));
  return sub;
}

int RunSimulate(SimulateArgs& a) {
  using tidemark::ParseDuration;
  const auto duration = [](const std::string& flag, const std::string& text,
                           tidemark::Millis& out) {
    if (text.empty()) return true;
    auto d = ParseDuration(text);
    if (!d.ok()) {
      std::fprintf(stderr, "tidemark simulate: %s: %s\n", flag.c_str(), d.error().c_str());
      return false;
    }
    out = *d;
    return true;
  };
  tidemark::Millis backlog = -1;
  if (!duration("--duration", a.duration, a.publish.duration) ||
      !duration("--backlog", a.backlog, backlog) ||
      !duration("--burst-every", a.burst_every, a.sim.burst_every)) {
    return 2;
  }
  a.sim.backlog =
      backlog >= 0 ? backlog : tidemark::sim::DefaultBacklog(a.sim.speed, a.publish.duration);
  a.sim.devices = tidemark::sim::DefaultProfiles(a.devices);
  a.sim.seed = a.seed != 0 ? a.seed : std::random_device{}();
  return tidemark::sim::RunSimulate(std::move(a.sim), a.publish);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidemark: event-time window aggregates for MQTT devices, durably in SQLite"};
  std::string config_path;
  std::string broker, client_id, db, listen, log_file;
  bool check_config = false, print_default = false, version = false;
  app.add_option("-c,--config", config_path, "configuration file")->default_str(kDefaultConfigPath);
  app.add_flag("--check-config", check_config, "validate the configuration and exit");
  app.add_flag("--print-default-config", print_default, "print a commented default config");
  app.add_flag("--version", version, "print the version and exit");
  app.add_option("--broker", broker, "override mqtt.broker");
  app.add_option("--client-id", client_id, "override mqtt.client_id");
  app.add_option("--db", db, "override storage.path");
  app.add_option("--listen", listen, "override http.listen");
  app.add_option("--log-file", log_file, "append logs to this file instead of stderr");
  SimulateArgs simulate_args;
  CLI::App* simulate = AddSimulate(app, simulate_args);
  tidemark::demo::Options demo_options;
  CLI::App* demo = app.add_subcommand(
      "demo", "run mosquitto, the gateway and the simulator together (Ctrl-C stops them)");
  demo->add_option("--port-http", demo_options.http_port,
                   "dashboard port on 127.0.0.1 (a free "
                   "one if taken)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  demo->add_option("--keep", demo_options.keep_dir, "use this directory and keep its files");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*simulate) {
    if (!tidemark::log::Init()) return 2;
    return RunSimulate(simulate_args);
  }
  if (*demo) return tidemark::demo::RunDemo(demo_options);
  if (version) {
    std::printf("tidemark %s\n", PROJECT_VERSION);
    return 0;
  }
  if (print_default) {
    const std::string_view text = tidemark::DefaultConfigText();
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (!tidemark::log::Init(log_file)) {
    std::fprintf(stderr, "tidemark: cannot open log file %s\n", log_file.c_str());
    return 2;
  }
  if (config_path.empty()) {
    config_path = kDefaultConfigPath;
    if (!std::filesystem::exists(config_path)) {
      tidemark::log::Error(std::string("no configuration at ") + kDefaultConfigPath +
                           "; write one with `tidemark --print-default-config` or pass --config");
      return 2;
    }
  }
  auto loaded = tidemark::LoadConfig(config_path);
  if (!loaded.ok()) {
    tidemark::log::Error(loaded.error());
    return 2;
  }
  tidemark::Config config = std::move(loaded).value();
  if (!broker.empty()) config.mqtt.broker = broker;
  if (!client_id.empty()) config.mqtt.client_id = client_id;
  if (!db.empty()) config.storage.path = db;
  if (!listen.empty()) {
    if (auto problem = tidemark::CheckListenAddress(listen)) {
      tidemark::log::Error("--listen: " + *problem);
      return 2;
    }
    config.http.listen = listen;
    if (!tidemark::IsLoopbackListen(listen) && config.http.token_file.empty()) {
      tidemark::log::Error("--listen " + listen +
                           " is not a loopback address: set http.token_file first");
      return 2;
    }
  }
  if (check_config) {
    std::printf("%s: OK, %zu pipeline(s)\n", config_path.c_str(), config.pipelines.size());
    return 0;
  }
  tidemark::Service service(std::move(config));
  return service.Run();
}
