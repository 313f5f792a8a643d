#include "web/server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>

#include "web/dashboard_assets.h"
#include "web/guarded_server.h"
#include "web/host_names.h"
#include "web/steady_clock.h"
#include "web/worker_pool.h"

namespace tidemark::web {
namespace {

constexpr std::size_t kEventsPerChunk = 256;
constexpr int kStreamPollMs = 1000;  // how often a waiting stream checks for shutdown

void Send(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
}

// Paths anyone may read without the token: probes and the page itself (it holds no data; it
// asks for the token and sends it with every API call).
bool IsPublic(const std::string& path) {
  return path == "/livez" || path == "/readyz" || path == "/" || path.rfind("/assets/", 0) == 0;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, std::vector<PipelineSpec> pipelines, ApiData& data,
                       EventFeed& feed)
    : options_(std::move(options)), api_(std::move(pipelines), data), feed_(feed) {}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::HostAllowed(const std::string& host_header) const {
  const std::string host = HostPart(host_header);
  return IsLoopbackHost(host) ||
         std::any_of(options_.allowed_hosts.begin(), options_.allowed_hosts.end(),
                     [&](const std::string& name) { return HostPart(name) == host; });
}

bool HttpServer::Authorized(const std::string& header, const std::string& query_token) const {
  if (options_.token.empty()) return true;
  static constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0) {
    return ConstantTimeEquals(header.substr(kBearer.size()), options_.token);
  }
  return !query_token.empty() && ConstantTimeEquals(query_token, options_.token);
}

StatusOr<int> HttpServer::Start() {
  if (!options_.cert_file.empty() || !options_.key_file.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.cert_file.c_str(), options_.key_file.c_str());
    if (!tls->is_valid()) {
      return Error{"http: cannot load TLS certificate " + options_.cert_file + " / key " +
                   options_.key_file};
    }
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<GuardedServer>(options_.request_timeout);
  }
  GuardedServer* guarded = dynamic_cast<GuardedServer*>(server_.get());
  httplib::Server& s = *server_;
  const auto threads =
      static_cast<std::size_t>(options_.threads) + static_cast<std::size_t>(options_.max_streams);
  const auto queue_max = static_cast<std::size_t>(options_.queue_max);
  const int nice = options_.worker_nice;
  s.new_task_queue = [threads, queue_max, nice] {
    return new WorkerPool(threads, queue_max, nice);
  };
  s.set_tcp_nodelay(true);
  // On every response: no MIME sniffing, and the page may load only its own scripts, styles and
  // data (no inline script, no framing), so an injected string can never run as code.
  s.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                         {"Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"},
                         {"Referrer-Policy", "no-referrer"}});
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_write_timeout(options_.write_timeout_s, 0);
  s.set_keep_alive_timeout(options_.keep_alive_s);
  s.set_keep_alive_max_count(1000);
  Routes();
  const int port = options_.port == 0
                       ? s.bind_to_any_port(options_.host)
                       : (s.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port <= 0) {
    return Error{"http: cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                 " (address in use, or not an address of this host?)"};
  }
  // Room for a burst of connections to wait for accept(); the pool then answers or 429s them.
  if (guarded) guarded->SetBacklog(options_.queue_max + options_.threads + options_.max_streams);
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port_;
}

void HttpServer::Stop() {
  if (!server_ || stopping_.exchange(true)) return;
  feed_.Close();  // wakes streams so their workers finish
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Routes() {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (WorkerPool::Saturated()) {
      Send(res, Problem(429, "the HTTP server is saturated; retry shortly"));
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      GuardedServer::CloseAfterResponse();
      return httplib::Server::HandlerResponse::Handled;
    }
    if (options_.token.empty() && req.has_header("Host") &&
        !HostAllowed(req.get_header_value("Host"))) {
      Send(res, Problem(403, "Host \"" + req.get_header_value("Host") +
                                 "\" is not this gateway's: without http.token_file it serves only "
                                 "requests for 127.0.0.1, [::1], localhost or http.allowed_hosts"));
      res.set_header("Connection", "close");
      GuardedServer::CloseAfterResponse(/*linger=*/true);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!IsPublic(req.path) &&
        !Authorized(req.get_header_value("Authorization"),
                    req.path == "/api/v1/stream" ? req.get_param_value("access_token") : "")) {
      Send(res, Problem(401,
                        "a bearer token is required: send \"Authorization: Bearer <token>\" "
                        "(the token is in http.token_file)"));
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_header("Connection", "close");  // a body it sent stays unread: never reuse
      GuardedServer::CloseAfterResponse(/*linger=*/true);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.get_header_value<std::uint64_t>("Content-Length") > options_.max_body_bytes) {
      Send(res, Problem(413, "the request body is larger than " +
                                 std::to_string(options_.max_body_bytes) + " bytes"));
      res.set_header("Connection", "close");
      GuardedServer::CloseAfterResponse(/*linger=*/true);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      Send(res, Problem(405, "only GET is supported, got " + req.method));
      res.set_header("Allow", "GET, HEAD");
      res.set_header("Connection", "close");  // a body it sent stays unread: never reuse
      GuardedServer::CloseAfterResponse(/*linger=*/true);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      const std::string detail = res.status == 404   ? "no such resource: " + req.path
                                 : res.status == 413 ? "the request body is too large"
                                                     : "the request could not be served";
      Send(res, Problem(res.status, detail));
    }
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        Send(res, Problem(500, what));
      });
  s.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    counters_.Count(res.status);
  });

  using Handler = Reply (Api::*)(const Params&) const;
  const std::pair<const char*, Handler> json_routes[] = {
      {"/api/v1/windows", &Api::Windows},
      {"/api/v1/devices", &Api::Devices},
      {"/api/v1/state", &Api::State},
      {"/api/v1/late", &Api::Late},
      {"/api/v1/rejected", &Api::Rejected},
      {"/api/v1/pipelines", &Api::Pipelines},
      {"/livez", &Api::Livez},
      {"/readyz", &Api::Readyz},
  };
  for (const auto& [path, handler] : json_routes) {
    s.Get(path, [this, handler = handler](const httplib::Request& req, httplib::Response& res) {
      Send(res, (api_.*handler)(req.params));
    });
  }
  s.Get("/api/v1/openapi.json", [](const httplib::Request& req, httplib::Response& res) {
    if (!req.params.empty()) return Send(res, Problem(400, "this endpoint takes no parameters"));
    res.set_content(OpenApiDocument(), "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.params.empty()) return Send(res, Problem(400, "this endpoint takes no parameters"));
    ApiData& data = api_.data();
    res.set_content(PrometheusText(*data.Live(), data.Health(), data.DatabaseBytes(), counters_,
                                   streams_.load()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/api/v1/stream", [this](const httplib::Request& req, httplib::Response& res) {
    for (const auto& [name, value] : req.params) {
      if (name != "access_token") {
        return Send(res, Problem(400, "unknown parameter \"" + name + "\"; allowed: access_token"));
      }
    }
    if (streams_.fetch_add(1) >= options_.max_streams) {
      --streams_;
      Send(res, Problem(429, "too many open streams (at most " +
                                 std::to_string(options_.max_streams) + "); retry later"));
      res.set_header("Retry-After", "5");
      return;
    }
    feed_.AddReader();
    struct Cursor {
      std::uint64_t after = 0;
      Millis last_write = 0;
      bool opened = false;
    };
    auto cursor = std::make_shared<Cursor>();
    cursor->after = req.has_header("Last-Event-ID")
                        ? feed_.ResumeAfter(req.get_header_value("Last-Event-ID"))
                        : feed_.Newest();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, cursor](std::size_t, httplib::DataSink& sink) {
          if (stopping_) return false;
          std::string chunk;
          if (!cursor->opened) {
            cursor->opened = true;
            chunk = "retry: 3000\n: connected\n\n";
          } else {
            for (const FeedEvent& e : feed_.Wait(cursor->after, kEventsPerChunk, kStreamPollMs)) {
              chunk += "id: " + feed_.IdOf(e.seq) + "\nevent: window\ndata: " + e.data + "\n\n";
              cursor->after = e.seq;
            }
          }
          const Millis now = SteadyMillis();
          if (chunk.empty() && now - cursor->last_write >= options_.heartbeat)
            chunk = ": heartbeat\n\n";
          if (chunk.empty()) return true;
          cursor->last_write = now;
          return sink.write(chunk.data(), chunk.size());
        },
        [this](bool) {
          feed_.RemoveReader();
          --streams_;
        });
  });
  s.Get(R"(/|/assets/[A-Za-z0-9._-]+)", [](const httplib::Request& req, httplib::Response& res) {
    const Asset* asset = FindDashboardAsset(req.path);
    if (!asset) return Send(res, Problem(404, "no such resource: " + req.path));
    res.set_header("Cache-Control", req.path == "/" ? "no-cache" : "max-age=3600");
    res.set_content(asset->body.data(), asset->body.size(), std::string(asset->content_type));
  });
}

}  // namespace tidemark::web
