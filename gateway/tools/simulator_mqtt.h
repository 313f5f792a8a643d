// `tidemark simulate`: publishes a sim::Simulator's messages to an MQTT broker (Paho C++, QoS 1
// by default, a clean session) at the wall-clock times they are due, until --duration has passed
// or SIGINT/SIGTERM arrives; then waits briefly for outstanding acknowledgements, disconnects
// and prints a summary line on stdout. Progress goes to stderr (gateway/log/log.h) every 10 s.
//
// Threads: RunSimulate() runs on the calling thread (it installs SIGINT/SIGTERM handlers for
// its duration); Paho's own threads deliver acknowledgements, and no exception escapes into them.
#pragma once

#include <string>

#include "engine/time.h"
#include "gateway/tools/simulator.h"

namespace tidemark::sim {

struct PublishOptions {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string client_id;  // default: "tidemark-sim-<pid>"
  int qos = 1;
  Millis duration = 0;  // wall time to run; 0: until SIGINT/SIGTERM
};

// Returns the process exit code: 0 after a clean run, 1 when the broker cannot be reached.
int RunSimulate(Options options, const PublishOptions& publish);

}  // namespace tidemark::sim
