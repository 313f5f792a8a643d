// ExpandTopic: an [output] topic template ("tidemark/{pipeline}/{device}") with its
// placeholders replaced, in one pass over the template — a value is never searched again, so a
// device id "{device}" cannot loop. Each value is encoded so that it stays one topic level of
// its own and never becomes a wildcard: '%', '/', '+', '#', '{', '}' and control characters
// become %XX (two upper-case hex digits of the byte), everything else (UTF-8 included) is kept.
// Reversible: replace each %XX by its byte. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace tidemark {

std::string EncodeTopicLevel(std::string_view value);
std::string ExpandTopic(std::string_view topic_template, std::string_view pipeline,
                        std::string_view device);

}  // namespace tidemark
