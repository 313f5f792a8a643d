#include "gateway/ingest/decoder.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "gateway/ingest/message_hash.h"

namespace tidemark {

namespace {

constexpr std::size_t kMaxDetailBytes = 200;  // longer details are cut (at a UTF-8 boundary)

// Parses "topic[N]" into N; -1 when `s` is not of that form.
int TopicLevel(std::string_view s) {
  constexpr std::string_view kPrefix = "topic[";
  if (s.size() < kPrefix.size() + 2 || s.substr(0, kPrefix.size()) != kPrefix || s.back() != ']') {
    return -1;
  }
  const std::string_view digits = s.substr(kPrefix.size(), s.size() - kPrefix.size() - 1);
  int level = -1;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), level);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || level < 0) return -1;
  return level;
}

// The `level`-th '/'-separated level of `topic`, or nullopt when the topic has fewer levels.
std::optional<std::string_view> TopicLevelText(std::string_view topic, int level) {
  std::size_t start = 0;
  for (int i = 0; i < level; ++i) {
    const std::size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return std::nullopt;
    start = slash + 1;
  }
  const std::size_t end = topic.find('/', start);
  return topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF). Payload strings are checked by the JSON parser; topics are not.
bool IsUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the first continuation byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

// Cuts `detail` to at most kMaxDetailBytes, ending in "..." when cut, without splitting a UTF-8
// sequence.
void CapDetail(std::string& detail) {
  if (detail.size() <= kMaxDetailBytes) return;
  constexpr std::string_view kEllipsis = "...";
  std::size_t keep = kMaxDetailBytes - kEllipsis.size();
  while (keep > 0 && (static_cast<unsigned char>(detail[keep]) & 0xC0) == 0x80) --keep;
  detail.resize(keep);
  detail.append(kEllipsis);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SAX handler: walks the payload without building a DOM, and stores the values found at the
// wanted paths into the decoder's nodes. Subtrees that hold no wanted path are skipped with a
// depth counter, so memory does not grow with nesting (nlohmann's SAX parser is itself
// iterative: deep nesting cannot overflow the stack).

class RecordDecoder::Handler {
 public:
  using json = nlohmann::json;

  Handler(std::vector<PathNode>& nodes, std::vector<std::uint32_t>& stack)
      : nodes_(nodes), stack_(stack) {
    stack_.clear();
  }

  bool not_object() const { return not_object_; }
  const std::string& error() const { return error_; }

  bool null() { return Scalar(Kind::kNull); }
  bool boolean(bool /*value*/) { return Scalar(Kind::kBool); }
  bool number_integer(json::number_integer_t value) {
    PathNode* n = Target();
    if (n == nullptr) return !not_object_;
    n->kind = Kind::kInteger;
    n->integer = value;
    n->number = static_cast<double>(value);
    return true;
  }
  bool number_unsigned(json::number_unsigned_t value) {
    PathNode* n = Target();
    if (n == nullptr) return !not_object_;
    // nlohmann reports every non-negative integer as unsigned.
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      n->kind = Kind::kInteger;
      n->integer = static_cast<std::int64_t>(value);
    } else {
      n->kind = Kind::kUnsigned;
      n->uinteger = value;
    }
    n->number = static_cast<double>(value);
    return true;
  }
  bool number_float(json::number_float_t value, const json::string_t& /*raw*/) {
    PathNode* n = Target();
    if (n == nullptr) return !not_object_;
    n->kind = Kind::kFloat;
    n->number = value;
    return true;
  }
  bool string(json::string_t& value) {
    PathNode* n = Target();
    if (n == nullptr) return !not_object_;
    n->kind = Kind::kString;
    if (n->keep_text) n->text.assign(value);
    return true;
  }
  bool binary(json::binary_t& /*value*/) { return Scalar(Kind::kNull); }  // not in JSON text

  bool start_object(std::size_t /*elements*/) {
    if (!started_) {
      started_ = true;
      stack_.push_back(0);
      return true;
    }
    if (skip_depth_ > 0 || pending_ < 0) {
      ++skip_depth_;
      return true;
    }
    PathNode& n = nodes_[static_cast<std::size_t>(pending_)];
    n.kind = Kind::kObject;
    stack_.push_back(static_cast<std::uint32_t>(pending_));
    pending_ = -1;
    return true;
  }
  bool end_object() { return End(); }

  bool start_array(std::size_t /*elements*/) {
    if (!started_) {
      not_object_ = true;
      return false;
    }
    // Arrays are not addressable by dotted paths: note the type and skip the contents.
    if (skip_depth_ == 0 && pending_ >= 0)
      nodes_[static_cast<std::size_t>(pending_)].kind = Kind::kArray;
    pending_ = -1;
    ++skip_depth_;
    return true;
  }
  bool end_array() { return End(); }

  bool key(json::string_t& k) {
    if (skip_depth_ > 0) return true;
    pending_ = -1;
    const PathNode& parent = nodes_[stack_.back()];
    for (std::uint32_t child : parent.children) {
      if (nodes_[child].key == k) {
        pending_ = static_cast<std::int32_t>(child);
        // A duplicated key replaces the whole earlier value (the last one wins, as in
        // JavaScript's JSON.parse), including what was found below it.
        for (std::uint32_t i = child; i < nodes_[child].subtree_end; ++i) {
          nodes_[i].kind = Kind::kAbsent;
        }
        break;
      }
    }
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> from "parse".
    std::string_view what = ex.what();
    const std::size_t bracket = what.find("] ");
    if (what.starts_with("[json.exception.") && bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    error_.assign(what);
    return false;
  }

 private:
  // The node the next value belongs to, or nullptr when it is not wanted. A value before the
  // root object means the payload is not an object.
  PathNode* Target() {
    if (!started_) {
      not_object_ = true;
      return nullptr;
    }
    if (skip_depth_ > 0 || pending_ < 0) return nullptr;
    PathNode* n = &nodes_[static_cast<std::size_t>(pending_)];
    pending_ = -1;
    return n;
  }

  bool Scalar(Kind kind) {
    PathNode* n = Target();
    if (n == nullptr) return !not_object_;
    n->kind = kind;
    return true;
  }

  bool End() {
    if (skip_depth_ > 0) {
      --skip_depth_;
    } else {
      stack_.pop_back();
    }
    pending_ = -1;
    return true;
  }

  std::vector<PathNode>& nodes_;
  std::vector<std::uint32_t>& stack_;  // tracked objects; the root object at the bottom
  bool started_ = false;
  bool not_object_ = false;
  std::int32_t pending_ = -1;   // the node of the value after the last key, -1 if untracked
  std::size_t skip_depth_ = 0;  // nesting depth inside an untracked value
  std::string error_;
};

// ---------------------------------------------------------------------------------------------

RecordDecoder::RecordDecoder(DecoderOptions options) : options_(std::move(options)) {
  device_topic_level_ = TopicLevel(options_.device);
  nodes_.emplace_back();  // the root
  if (device_topic_level_ < 0) device_node_ = AddPath(options_.device);
  time_node_ = AddPath(options_.event_time);
  for (const std::string& f : options_.fields) field_nodes_.push_back(AddPath(f));
  if (device_topic_level_ < 0) nodes_[device_node_].keep_text = true;
  nodes_[time_node_].keep_text = true;

  // Renumber in preorder, so that every subtree is a contiguous range.
  std::vector<PathNode> built = std::move(nodes_);
  std::vector<std::uint32_t> new_index(built.size());
  nodes_.clear();
  nodes_.reserve(built.size());
  auto visit = [&](auto& self, std::uint32_t old) -> void {
    const auto index = static_cast<std::uint32_t>(nodes_.size());
    new_index[old] = index;
    nodes_.push_back(std::move(built[old]));
    std::vector<std::uint32_t> children = std::move(nodes_[index].children);
    for (std::uint32_t& c : children) {
      self(self, c);
      c = new_index[c];
    }
    nodes_[index].children = std::move(children);
    nodes_[index].subtree_end = static_cast<std::uint32_t>(nodes_.size());
  };
  visit(visit, 0);
  device_node_ = new_index[device_node_];
  time_node_ = new_index[time_node_];
  for (std::uint32_t& f : field_nodes_) f = new_index[f];

  fields_.reserve(options_.fields.size());
  stack_.reserve(nodes_.size());
}

std::uint32_t RecordDecoder::AddPath(std::string_view dotted) {
  std::uint32_t node = 0;
  while (true) {
    const std::size_t dot = dotted.find('.');
    const std::string_view key = dotted.substr(0, dot);
    std::uint32_t next = 0;
    for (std::uint32_t c : nodes_[node].children) {
      if (nodes_[c].key == key) next = c;
    }
    if (next == 0) {
      next = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
      nodes_.back().key.assign(key);
      nodes_[node].children.push_back(next);
    }
    node = next;
    if (dot == std::string_view::npos) return node;
    dotted.remove_prefix(dot + 1);
  }
}

void RecordDecoder::Reject(RejectReason reason, std::string_view what, std::string_view why) {
  result_.rejected = reason;
  result_.detail.assign(what).append(": ").append(why);
  CapDetail(result_.detail);
}

namespace {

std::string_view KindName(bool is_bool, bool is_object, bool is_array) {
  if (is_bool) return "a boolean";
  if (is_object) return "an object";
  if (is_array) return "an array";
  return "a non-integer number";
}

}  // namespace

// Sets device_ (and result_.record.device) from the topic or the payload; false after a
// rejection.
bool RecordDecoder::TakeDevice(std::string_view topic) {
  const std::string_view what = options_.device;
  if (device_topic_level_ >= 0) {
    const std::optional<std::string_view> level = TopicLevelText(topic, device_topic_level_);
    if (!level || level->empty()) {
      Reject(RejectReason::kMissingDevice, what,
             std::string(level ? "empty topic level in \"" : "no such topic level in \"")
                 .append(topic)
                 .append("\""));
      return false;
    }
    device_.assign(*level);
  } else {
    const PathNode& n = nodes_[device_node_];
    switch (n.kind) {
      case Kind::kAbsent:
        Reject(RejectReason::kMissingDevice, what, "missing");
        return false;
      case Kind::kNull:
        Reject(RejectReason::kMissingDevice, what, "null");
        return false;
      case Kind::kString:
        device_.assign(n.text);
        break;
      case Kind::kInteger:
      case Kind::kUnsigned: {
        char buf[24];
        const auto r = n.kind == Kind::kInteger ? std::to_chars(buf, buf + sizeof buf, n.integer)
                                                : std::to_chars(buf, buf + sizeof buf, n.uinteger);
        device_.assign(buf, r.ptr);
        break;
      }
      case Kind::kFloat:
      case Kind::kBool:
      case Kind::kObject:
      case Kind::kArray: {
        std::string why = "expected a string or an integer, got ";
        why += KindName(n.kind == Kind::kBool, n.kind == Kind::kObject, n.kind == Kind::kArray);
        Reject(RejectReason::kBadDevice, what, why);
        return false;
      }
    }
  }
  if (device_.empty()) {
    Reject(RejectReason::kBadDevice, what, "empty");
    return false;
  }
  if (device_.size() > options_.max_device_bytes) {
    Reject(RejectReason::kBadDevice, what,
           "longer than " + std::to_string(options_.max_device_bytes) + " bytes");
    return false;
  }
  if (std::any_of(device_.begin(), device_.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    Reject(RejectReason::kBadDevice, what, "contains a control character");
    return false;
  }
  // A device id is a JSON string everywhere (API, page tokens, [output]); a topic level may be
  // any bytes when the broker does not check UTF-8.
  if (device_topic_level_ >= 0 && !IsUtf8(device_)) {
    Reject(RejectReason::kBadDevice, what, "not valid UTF-8");
    return false;
  }
  result_.record.device = device_;
  return true;
}

// Sets result_.record.event_time; false after a rejection. When the event time is not required
// it is read if present and valid, and otherwise left at 0 without a rejection.
bool RecordDecoder::TakeEventTime() {
  const std::string_view what = options_.event_time;
  const bool required = options_.require_event_time;
  const PathNode& n = nodes_[time_node_];
  StatusOr<Millis> t = Millis{0};
  switch (n.kind) {
    case Kind::kAbsent:
    case Kind::kNull:
      if (required)
        Reject(RejectReason::kMissingTime, what, n.kind == Kind::kNull ? "null" : "missing");
      return !required;
    case Kind::kInteger:
    case Kind::kUnsigned:
    case Kind::kFloat:
      t = EpochNumberToMillis(n.number);
      break;
    case Kind::kString:
      t = ParseTimestamp(n.text);
      break;
    case Kind::kBool:
    case Kind::kObject:
    case Kind::kArray:
      if (!required) return true;
      Reject(RejectReason::kBadTime, what,
             std::string("expected an epoch number or a timestamp string, got ") +
                 std::string(KindName(n.kind == Kind::kBool, n.kind == Kind::kObject,
                                      n.kind == Kind::kArray)));
      return false;
  }
  if (!t.ok()) {
    if (!required) return true;
    Reject(RejectReason::kBadTime, what, t.error());
    return false;
  }
  result_.record.event_time = *t;
  return true;
}

const Decoded& RecordDecoder::Decode(std::string_view topic, std::string_view payload) {
  result_.rejected.reset();
  result_.detail.clear();
  result_.record = Record{};
  device_.clear();
  fields_.clear();

  if (payload.size() > options_.max_payload_bytes) {
    // The topic device is still worth counting; a payload device cannot be read.
    if (device_topic_level_ >= 0) TakeDevice(topic);
    Reject(RejectReason::kTooLarge, "payload",
           std::to_string(payload.size()) + " bytes, more than the limit of " +
               std::to_string(options_.max_payload_bytes));
    return result_;
  }

  for (PathNode& n : nodes_) n.kind = Kind::kAbsent;
  Handler handler(nodes_, stack_);
  const bool parsed =
      nlohmann::json::sax_parse(payload, &handler, nlohmann::json::input_format_t::json,
                                /*strict=*/true, /*ignore_comments=*/false);
  if (!parsed) {
    if (device_topic_level_ >= 0) TakeDevice(topic);
    Reject(RejectReason::kNotJson, "payload",
           handler.not_object() ? "not a JSON object" : handler.error());
    return result_;
  }
  if (!TakeDevice(topic)) return result_;
  if (!TakeEventTime()) return result_;

  for (std::size_t i = 0; i < field_nodes_.size(); ++i) {
    const PathNode& n = nodes_[field_nodes_[i]];
    switch (n.kind) {
      case Kind::kAbsent:
      case Kind::kNull:
        break;
      case Kind::kInteger:
      case Kind::kUnsigned:
      case Kind::kFloat:
        fields_.push_back(FieldValue{options_.fields[i], n.number, true});
        break;
      case Kind::kString:
      case Kind::kBool:
      case Kind::kObject:
      case Kind::kArray:
        fields_.push_back(FieldValue{options_.fields[i], 0, false});
        break;
    }
  }
  result_.record.fields = fields_;
  result_.record.payload_hash = HashBytes(payload);
  return result_;
}

DecoderOptions DecoderOptionsOf(const Config& config) {
  DecoderOptions d;
  d.device = config.input.device;
  d.event_time = config.input.event_time;
  d.require_event_time = UsesEventTime(config);
  d.fields = FieldsRead(config);
  d.max_payload_bytes = config.input.max_payload_bytes;
  return d;
}

}  // namespace tidemark
