// `tidemark demo`: the one-command demo. Starts a mosquitto on a free loopback port, the gateway
// (`tidemark --config`, a child process) with the demo config — avg_temp_10m by event time and
// avg_temp_10m_processing by arrival time, side by side — and the simulator (`tidemark
// simulate`, a child process: 20 devices, 60x speed), all writing into one directory (a fresh
// temporary one, or --keep DIR). Prints the dashboard URL, a curl line and what to compare;
// SIGINT/SIGTERM stops the simulator, the gateway and mosquitto (in that order, SIGTERM and
// wait) and removes the temporary directory.
//
// Children run in their own process groups (a terminal's Ctrl-C reaches only the demo, which
// stops them in order) and get SIGTERM if the demo dies (PR_SET_PDEATHSIG).
// Threads: RunDemo() is single-threaded and must be called before any other thread starts.
#pragma once

#include <string>

namespace tidemark::demo {

struct Options {
  int http_port = 8080;  // if taken, a free port is used instead (and said so)
  std::string keep_dir;  // non-empty: use this directory and keep it afterwards
};

// The demo's [[pipeline]] tables (TOML): avg_temp_10m (event time, 10-minute tumbling windows,
// 15-minute per-device watermark) and avg_temp_10m_processing (the same by processing time).
std::string PipelinesToml();

// The whole demo config for a broker URL, database path and http.listen address.
std::string ConfigToml(const std::string& broker_url, const std::string& db_path,
                       const std::string& listen);

// Runs the demo until SIGINT/SIGTERM; returns the exit code (0 after a clean stop, 1 when
// something failed to start or died, 2 for bad options).
int RunDemo(const Options& options);

}  // namespace tidemark::demo
