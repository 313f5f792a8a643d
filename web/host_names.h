// Host names and addresses as the HTTP layer judges them: whether a host is this machine's
// loopback (127.0.0.0/8, ::1, ::ffff:127.x, or "localhost") — decided on the parsed address,
// never on its spelling — and the host part of a Host header or listen address. Pure functions;
// any thread.
#pragma once

#include <string>
#include <string_view>

namespace tidemark::web {

bool IsLoopbackHost(std::string_view host);
// "h:port" -> "h", "[v6]:port" -> "v6", "h" -> "h"; lower-cased.
std::string HostPart(std::string_view host_and_port);

}  // namespace tidemark::web
