// A decoded record as the engine sees it, and the reasons a record can be rejected.
// Record is a non-owning view: the caller (the gateway's decoder, a test, a replay) owns the
// strings and the field array for the duration of one Engine::Process call.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/time.h"

namespace tidemark {

// One field value from the payload. Fields absent from the payload are simply not listed (SQL
// null). A present value that is not a finite number (a string, true, an object, NaN) is kept
// with is_number = false: a pipeline that reads it rejects the whole record (bad_value).
struct FieldValue {
  std::string_view name;  // dotted path, e.g. "temperature" or "sensor.temp"
  double number = 0;
  bool is_number = true;

  bool IsFiniteNumber() const { return is_number && std::isfinite(number); }
};

using DeviceId = std::uint32_t;

struct Record {
  std::string_view device;
  Millis event_time = 0;           // ignored by time = "processing" pipelines
  std::uint64_t payload_hash = 0;  // identity of the payload bytes, for duplicate suppression
  std::span<const FieldValue> fields;

  // The field named `name`, or nullptr when the record does not have it.
  const FieldValue* Find(std::string_view name) const {
    for (const FieldValue& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

// Why a record was rejected. The names (RejectReasonName) are a public contract: they appear in
// the HTTP API and metrics. The engine produces bad_time, future_time and bad_value; the
// gateway's decoder the others.
enum class RejectReason : std::uint8_t {
  kNotJson,
  kMissingDevice,
  kMissingTime,
  kBadTime,
  kBadValue,
  kFutureTime,
  kTooLarge,
  kBadDevice,
};
inline constexpr int kRejectReasonCount = 8;

constexpr std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kNotJson:
      return "not_json";
    case RejectReason::kMissingDevice:
      return "missing_device";
    case RejectReason::kMissingTime:
      return "missing_time";
    case RejectReason::kBadTime:
      return "bad_time";
    case RejectReason::kBadValue:
      return "bad_value";
    case RejectReason::kFutureTime:
      return "future_time";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kBadDevice:
      return "bad_device";
  }
  return "unknown";
}

}  // namespace tidemark
