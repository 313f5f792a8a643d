// tidemark: the gateway binary. Parses the command line (CLI11), loads the TOML config, applies
// flag overrides and runs the Service. Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad
// command line or config.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/service.h"

namespace {

constexpr const char* kDefaultConfigPath = "/etc/tidemark/tidemark.toml";

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
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
