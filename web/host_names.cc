#include "web/host_names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

namespace tidemark::web {

bool IsLoopbackHost(std::string_view host) {
  const std::string h(host);
  if (h == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

std::string HostPart(std::string_view s) {
  std::string_view host = s;
  if (s.starts_with('[')) {
    host = s.substr(1, s.find(']') == std::string_view::npos ? s.size() : s.find(']') - 1);
  } else if (const std::size_t colon = s.rfind(':');
             colon != std::string_view::npos && s.find(':') == colon) {
    host = s.substr(0, colon);  // one colon: host:port (more: a bare IPv6 address)
  }
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace tidemark::web
