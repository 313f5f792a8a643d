#include "gateway/config/value_checks.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace tidemark::config_checks {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

// Levenshtein distance, for "did you mean" hints on unknown keys.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Validators: an error text (without location) or nullopt.

// "host:port" or "[v6]:port"; with `port_required` false the ":port" may be left out.
Problem CheckHostPort(std::string_view s, bool port_required) {
  std::string_view host = s, port;
  if (s.starts_with('[')) {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in " + Quote(s);
    host = s.substr(0, close + 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return "expected \":port\" after " + Quote(host);
    if (!rest.empty()) port = rest.substr(1);
    if (rest.empty() && port_required) return "expected \"host:port\", got " + Quote(s);
  } else if (std::size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  } else if (port_required) {
    return "expected \"host:port\", got " + Quote(s);
  }
  if (host.empty()) return "missing host in " + Quote(s);
  if (port.empty() && (port_required || host.size() != s.size())) {
    return "missing port in " + Quote(s);
  }
  if (!port.empty() && (!AllDigits(port) || port.size() > 5 || std::stoi(std::string(port)) < 1 ||
                        std::stoi(std::string(port)) > 65535)) {
    return "port must be 1..65535, got " + Quote(port);
  }
  return std::nullopt;
}

Problem CheckNotEmpty(std::string_view s) {
  return s.empty() ? Problem("must not be empty") : std::nullopt;
}

// http.listen: "host:port", or "" (no HTTP server).
Problem CheckListen(std::string_view s) {
  return s.empty() ? std::nullopt : CheckHostPort(s, true);
}

Problem CheckBroker(std::string_view url) {
  static constexpr std::string_view kSchemes[] = {"tcp://",   "ssl://", "mqtt://",
                                                  "mqtts://", "ws://",  "wss://"};
  for (std::string_view scheme : kSchemes) {
    if (!url.starts_with(scheme)) continue;
    std::string_view authority = url.substr(scheme.size());
    authority = authority.substr(0, authority.find('/'));  // ws:// URLs may have a path
    if (Problem p = CheckHostPort(authority, false))
      return "invalid broker " + Quote(url) + ": " + *p;
    return std::nullopt;
  }
  return "invalid broker " + Quote(url) +
         ": the scheme must be tcp://, ssl://, mqtt://, mqtts://, ws:// or wss://";
}

bool IsTlsBroker(std::string_view url) {
  return url.starts_with("ssl://") || url.starts_with("mqtts://") || url.starts_with("wss://");
}

// An MQTT subscription filter: '+' is a whole level, '#' a whole and last level.
Problem CheckTopicFilter(std::string_view filter) {
  const std::string bad = "invalid topic filter " + Quote(filter) + ": ";
  if (filter.empty()) return bad + "empty";
  if (filter.size() > 65535) return bad + "longer than 65535 bytes";
  if (filter.find('\0') != std::string_view::npos) return bad + "contains a NUL character";
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = filter.find('/', start);
    const std::string_view level = filter.substr(start, slash - start);
    const bool last = slash == std::string_view::npos;
    if (level.find('#') != std::string_view::npos && (level != "#" || !last)) {
      return bad + "'#' must be the whole last level";
    }
    if (level.find('+') != std::string_view::npos && level != "+") {
      return bad + "'+' must be a whole level";
    }
    if (last) return std::nullopt;
    start = slash + 1;
  }
}

// An [output] topic: a topic name (no wildcards) in which "{pipeline}" and "{device}" are
// replaced by the window's pipeline and device.
Problem CheckOutputTopic(std::string_view topic) {
  const std::string bad = "invalid output topic " + Quote(topic) + ": ";
  if (topic.empty()) return bad + "empty";
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return bad + "wildcards ('+', '#') are for subscriptions, not for publishing";
  }
  if (topic.find('\0') != std::string_view::npos) return bad + "contains a NUL character";
  return std::nullopt;
}

// A dotted path into the JSON payload: non-empty segments, no spaces or control characters.
Problem CheckFieldPath(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (std::any_of(path.begin(), path.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '\0';
      })) {
    return "invalid field path " + Quote(path) + ": contains whitespace";
  }
  if (path.front() == '.' || path.back() == '.' || path.find("..") != std::string_view::npos) {
    return "invalid field path " + Quote(path) + ": empty segment";
  }
  return std::nullopt;
}

// input.device: a payload field path, or "topic[N]" for topic level N (0-based).
Problem CheckDeviceSource(std::string_view s) {
  if (!s.starts_with("topic[")) return CheckFieldPath(s);
  std::string_view digits = s.substr(6);
  if (!digits.ends_with(']') || !AllDigits(digits.substr(0, digits.size() - 1)) ||
      digits.size() > 3) {
    return "expected \"topic[N]\" with N a topic level 0..99, got " + Quote(s);
  }
  return std::nullopt;
}

Problem CheckPipelineName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      })) {
    return "invalid name " + Quote(name) + ": use only letters, digits, '_', '.' and '-'";
  }
  return std::nullopt;
}

Problem CheckHostName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
      })) {
    return "invalid host name " + Quote(name) + ": letters, digits, '-' and '.' only, no port";
  }
  return std::nullopt;
}

}  // namespace tidemark::config_checks
