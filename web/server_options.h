// ServerOptions: what the HTTP server is started with (address, token, TLS files, workers and
// limits). Plain values with their defaults — the one place those defaults live
// (gateway/config/ reads the [http] keys into them). Safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/time.h"

namespace tidemark::web {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port (tests); port() tells which
  std::string token;      // bearer token; empty: no authentication
  std::string cert_file;  // with key_file: HTTPS
  std::string key_file;
  int threads = 4;                         // workers for ordinary requests (http.threads)
  int queue_max = 64;                      // accepted connections waiting for a worker; beyond: 429
  int max_streams = 8;                     // concurrent /api/v1/stream connections; beyond: 429
  std::size_t max_body_bytes = 64 * 1024;  // larger request bodies: 413
  int read_timeout_s = 5;                  // slow clients are cut off
  Millis request_timeout = 5 * kSecond;    // a whole request, from accept or keep-alive (HTTP)
  int write_timeout_s = 5;
  int keep_alive_s = 5;
  int worker_nice = 10;             // HTTP workers' scheduling priority below the ingest thread's
  Millis heartbeat = 15 * kSecond;  // SSE comment line when no event came
  // Without a token, only requests whose Host is a loopback address, localhost or one of these
  // names are served (DNS rebinding: a web page must not read a loopback API through a browser).
  std::vector<std::string> allowed_hosts;
};

}  // namespace tidemark::web
