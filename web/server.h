// HttpServer: tidemark's HTTP face (README "HTTP API and dashboard") on cpp-httplib — the JSON API
// under /api/v1, Server-Sent Events at /api/v1/stream, /metrics, /livez, /readyz, the OpenAPI
// document and the dashboard page. Limits: a bounded worker pool (429 when saturated), a cap on
// concurrent streams, request size and read timeouts, a deadline for each whole request (plain
// HTTP: GuardedServer, against slowloris), TCP_NODELAY on every connection, an optional bearer
// token (constant-time compare) and optional TLS.
//
// Threading: Start() and Stop() from one thread (the gateway's main thread); requests run on
// the pool's workers and read only through ApiData, the EventFeed and atomics, so HTTP never
// takes the ingest thread's lock for longer than ApiData's snapshot copy.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/pipeline.h"
#include "engine/status.h"
#include "engine/time.h"
#include "web/api.h"
#include "web/api_data.h"
#include "web/event_feed.h"
#include "web/metrics_text.h"
#include "web/server_options.h"

namespace httplib {
class Server;
}

namespace tidemark::web {

class HttpServer {
 public:
  HttpServer(ServerOptions options, std::vector<PipelineSpec> pipelines, ApiData& data,
             EventFeed& feed);
  ~HttpServer();

  // Binds and starts serving on a thread of its own; an error says why it could not bind.
  StatusOr<int> Start();
  void Stop();
  int port() const { return port_; }

 private:
  void Routes();
  bool Authorized(const std::string& header, const std::string& query_token) const;
  bool HostAllowed(const std::string& host_header) const;

  ServerOptions options_;
  Api api_;
  EventFeed& feed_;
  HttpCounters counters_;
  std::atomic<int> streams_{0};
  std::atomic<bool> stopping_{false};
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// The OpenAPI 3 document of the API (GET /api/v1/openapi.json).
const std::string& OpenApiDocument();

}  // namespace tidemark::web
