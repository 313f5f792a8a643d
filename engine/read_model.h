// The read model: what windows, late records and rejected samples look like when they are read
// back, and the queries and keyset cursors over them. One vocabulary of plain values: storage's
// ResultsReader returns it, web/ serves it (ApiData), [output] and the event stream format it.
// No logic beyond naming; safe from any thread.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/time.h"

namespace tidemark {

inline constexpr int kMaxPageSize = 1000;  // a query's limit is 1..kMaxPageSize

enum class WindowStatus { kOpen, kFinal };
inline std::string_view WindowStatusName(WindowStatus status) {
  return status == WindowStatus::kFinal ? "final" : "open";
}

// A window's primary key; the order of window lists and their cursor.
struct WindowKey {
  std::string pipeline;
  std::string device;
  Millis start = 0;
  Millis end = 0;
  friend auto operator<=>(const WindowKey&, const WindowKey&) = default;
};

struct WindowQuery {
  std::string pipeline;                // empty: any
  std::string device;                  // empty: any
  std::optional<WindowStatus> status;  // none: both
  std::optional<Millis> from;          // from <= window start
  std::optional<Millis> to;            // window start < to
  int limit = 100;                     // 1..kMaxPageSize
  std::optional<WindowKey> after;      // the last window of the previous page
};

struct WindowRow {
  std::string pipeline;
  std::string device;
  Millis start = 0;
  Millis end = 0;
  WindowStatus status = WindowStatus::kOpen;
  std::string closed_by;            // "watermark", "idle", ...; empty while open
  std::optional<Millis> closed_at;  // processing time of the close; none while open
  std::int64_t records = 0;
  std::string values_json;  // the aggregates as a JSON object: {"alias":value,...}, null for none
  WindowKey key() const { return {pipeline, device, start, end}; }
};

struct WindowPage {
  std::vector<WindowRow> rows;    // by pipeline, device, start, end
  std::optional<WindowKey> next;  // set only when more rows follow
};

// The late-data log and rejected samples are listed newest first (by descending id): they are
// bounded logs trimmed from the oldest end, and what an operator asks is "what just happened".
// `after` is the id of the last row of the previous page; the next page holds older rows.
struct LateQuery {
  std::string pipeline;  // empty: any
  std::string device;    // empty: any
  int limit = 100;
  std::optional<std::int64_t> after;
};

struct LateRow {
  std::int64_t id = 0;
  std::string pipeline;
  std::string device;
  Millis event_time = 0;
  Millis arrival_time = 0;
  std::optional<Millis> watermark;  // none: no watermark yet
  Millis window_start = 0;          // the window the record missed
  Millis window_end = 0;
};

struct LatePage {
  std::vector<LateRow> rows;
  std::optional<std::int64_t> next;
};

struct RejectedQuery {
  std::string reason;  // a RejectReasonName ("bad_time", ...); empty: any
  int limit = 100;
  std::optional<std::int64_t> after;
};

struct RejectedRow {
  std::int64_t id = 0;
  std::string reason;
  std::string topic;
  std::string device;  // empty when unknown
  Millis arrival_time = 0;
  std::string payload;  // bytes as stored (the writer keeps the first 1024)
  std::string detail;   // why, in words; empty for samples older than schema v4
};

struct RejectedPage {
  std::vector<RejectedRow> rows;
  std::optional<std::int64_t> next;
};

}  // namespace tidemark
