#include "gateway/mqtt/topic_template.h"

namespace tidemark {

std::string EncodeTopicLevel(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool encode = byte < 0x20 || byte == 0x7F || c == '%' || c == '/' || c == '+' ||
                        c == '#' || c == '{' || c == '}';
    if (encode) {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ExpandTopic(std::string_view topic_template, std::string_view pipeline,
                        std::string_view device) {
  static constexpr std::string_view kPipeline = "{pipeline}";
  static constexpr std::string_view kDevice = "{device}";
  std::string out;
  out.reserve(topic_template.size() + pipeline.size() + device.size());
  for (std::size_t i = 0; i < topic_template.size();) {
    const std::string_view rest = topic_template.substr(i);
    if (rest.starts_with(kPipeline)) {
      out += EncodeTopicLevel(pipeline);
      i += kPipeline.size();
    } else if (rest.starts_with(kDevice)) {
      out += EncodeTopicLevel(device);
      i += kDevice.size();
    } else {
      out += topic_template[i++];
    }
  }
  return out;
}

}  // namespace tidemark
