// RecordDecoder: an MQTT message (topic + JSON payload) -> a Record for the engine, or a
// rejection with a reason (docs/DESIGN.md §2 "Bad input"). Reads only what the pipelines need: the
// device (a payload field or a topic level), the event time (epoch s/ms number, RFC 3339 or
// epoch string) and the fields the aggregates read, by dotted path into nested objects.
// One decoder per ingest thread: Decode() reuses internal buffers, and the returned Record views
// them until the next call (never the caller's topic or payload). Never throws.
//
// The payload is walked once with nlohmann-json's SAX parser (no DOM is built), so deep nesting
// costs no stack. Path rules: "a.b" is key "b" of object "a"; array elements and keys that
// themselves contain a dot cannot be addressed; for a duplicated key the last one wins (as in
// JavaScript), replacing everything below the earlier one. Which checks stay with the engine:
// a field that is not a finite number is delivered with is_number = false, and the time range
// and future skew are the engine's (a time the parsers cannot represent is bad_time here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/record.h"
#include "gateway/config/config.h"

namespace tidemark {

struct DecoderOptions {
  std::string device = "deviceId";  // dotted payload path, or "topic[N]" (0-based topic level)
  std::string event_time = "eventTime";
  // false when every pipeline uses processing time: the event time is then read when it is
  // present and valid (for device stats), and otherwise left at 0, never a rejection.
  bool require_event_time = true;
  std::vector<std::string> fields;  // dotted paths the aggregates read
  std::size_t max_payload_bytes = 64 * 1024;
  std::size_t max_device_bytes = 256;
};

struct Decoded {
  std::optional<RejectReason> rejected;  // set: `record` is meaningless except record.device
  std::string detail;                    // why, for logs and the rejected sample
  Record record;
};

class RecordDecoder {
 public:
  explicit RecordDecoder(DecoderOptions options);

  // Decodes one message. The result (its record's strings and fields) is valid until the next
  // call. A rejection may still carry the device when it was found (for per-device counts).
  const Decoded& Decode(std::string_view topic, std::string_view payload);

 private:
  // The payload paths the decoder reads (device, event time, fields) form a tree of keys, built
  // once in the constructor; node 0 is the payload object itself. Nodes are numbered in
  // preorder, so the nodes below node i are i+1 .. subtree_end-1. During a Decode each node
  // holds the value found at its path in the current payload (kAbsent when there is none).
  enum class Kind : std::uint8_t {
    kAbsent,
    kNull,
    kInteger,   // fits in int64 (value in `integer`, also in `number`)
    kUnsigned,  // above INT64_MAX (value in `uinteger`, also in `number`)
    kFloat,     // value in `number`
    kString,    // value in `text` when keep_text
    kBool,
    kObject,
    kArray,
  };
  struct PathNode {
    std::string key;  // the object key leading here from the parent ("" for the root)
    std::vector<std::uint32_t> children;
    std::uint32_t subtree_end = 0;
    bool keep_text = false;  // a string here is needed as text (device, event time)
    // The value in the current payload.
    Kind kind = Kind::kAbsent;
    std::int64_t integer = 0;
    std::uint64_t uinteger = 0;
    double number = 0;
    std::string text;
  };
  class Handler;  // the JSON SAX handler (decoder.cc) that fills the nodes

  std::uint32_t AddPath(std::string_view dotted);
  void Reject(RejectReason reason, std::string_view what, std::string_view why);
  bool TakeDevice(std::string_view topic);
  bool TakeEventTime();

  DecoderOptions options_;
  int device_topic_level_ = -1;  // >= 0 when options_.device is "topic[N]"
  std::vector<PathNode> nodes_;
  std::uint32_t device_node_ = 0;  // when device_topic_level_ < 0
  std::uint32_t time_node_ = 0;
  std::vector<std::uint32_t> field_nodes_;  // parallel to options_.fields
  std::vector<std::uint32_t> stack_;        // SAX: the tracked objects being parsed
  Decoded result_;
  std::string device_;
  std::vector<FieldValue> fields_;
};

// The record decoder's options for this config ([input] keys, FieldsRead, UsesEventTime).
DecoderOptions DecoderOptionsOf(const Config& config);

}  // namespace tidemark
