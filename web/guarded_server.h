// GuardedServer: cpp-httplib's plain-HTTP server with tidemark's own connection loop, because
// cpp-httplib 0.11 (Debian) has two holes a slow or hostile client can use to hold a worker:
//  - its read timeout applies to each recv(), so a client trickling one header byte every few
//    seconds (slowloris) keeps a worker forever; a few dozen such clients starve everybody;
//  - it ignores "Connection: close" in a response, so after a 413 or a 429 it keeps the
//    connection open for the keep-alive timeout — on the single overflow thread, that stalls
//    every other 429.
// Here every request must arrive whole within `request_timeout` of its first chance to be read
// (the connection's accept for the first request, the end of the keep-alive wait for later
// ones): past it, what has already arrived is still read but nothing is waited for, and a
// request cut short (httplib answers 400) ends the connection. So a slow client costs a worker
// at most that long, and queued slow connections whose time is up go at once, while a request
// that arrived whole is served even if it waited in the queue. A handler that calls
// CloseAfterResponse() ends the connection after its reply (lingering briefly so the client
// reads it before the close). HTTPS keeps httplib's own loop (SSLServer).
//
// Threading: process_and_close_socket runs on the worker that took the connection;
// CloseAfterResponse() marks the connection of the calling worker.
#pragma once

#include <httplib.h>

#include "engine/time.h"

namespace tidemark::web {

class GuardedServer final : public httplib::Server {
 public:
  explicit GuardedServer(Millis request_timeout) : request_timeout_(request_timeout) {}

  // After binding: a listen backlog of `connections` (httplib's is 5, so a burst of connects
  // while the accept thread waits for the CPU has its SYNs dropped and retried a second later).
  bool SetBacklog(int connections);

  // From a handler: close this connection once the reply is written; `linger` when the client
  // may still be sending a body (the worker waits up to half a second for it, reading).
  static void CloseAfterResponse(bool linger = false);

 private:
  bool process_and_close_socket(socket_t sock) override;

  const Millis request_timeout_;
};

}  // namespace tidemark::web
