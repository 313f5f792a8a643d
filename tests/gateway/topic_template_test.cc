// [output] topic templates: one pass over the template (a value is never expanded again) and
// every value one encoded topic level, never a wildcard (gateway/mqtt/topic_template.h).
#include "gateway/mqtt/topic_template.h"

#include <gtest/gtest.h>

#include <string>

namespace tidemark {
namespace {

// The reverse of the encoding, as the README gives it to consumers: each %XX is its byte.
std::string Decode(const std::string& level) {
  std::string out;
  for (std::size_t i = 0; i < level.size(); ++i) {
    if (level[i] == '%' && i + 2 < level.size()) {
      out += static_cast<char>(std::stoi(level.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += level[i];
    }
  }
  return out;
}

TEST(TopicTemplateTest, ReplacesEachPlaceholderOnce) {
  EXPECT_EQ(ExpandTopic("tidemark/{pipeline}/{device}", "avg", "d1"), "tidemark/avg/d1");
  EXPECT_EQ(ExpandTopic("{device}/{device}-{pipeline}", "p", "d"), "d/d-p");
  EXPECT_EQ(ExpandTopic("fixed/topic", "p", "d"), "fixed/topic");
  EXPECT_EQ(ExpandTopic("{devic}{device", "p", "d"), "{devic}{device");  // not placeholders
}

TEST(TopicTemplateTest, AValueThatIsAPlaceholderIsNotExpandedAgain) {
  EXPECT_EQ(ExpandTopic("t/{pipeline}/{device}", "p", "{device}"), "t/p/%7Bdevice%7D");
  EXPECT_EQ(ExpandTopic("t/{device}", "{device}", "{pipeline}"), "t/%7Bpipeline%7D");
}

TEST(TopicTemplateTest, ValuesNeverBecomeWildcardsOrLevels) {
  EXPECT_EQ(ExpandTopic("t/{device}", "p", "+"), "t/%2B");
  EXPECT_EQ(ExpandTopic("t/{device}", "p", "#"), "t/%23");
  EXPECT_EQ(ExpandTopic("t/{device}", "p", "a/b"), "t/a%2Fb");
  EXPECT_EQ(ExpandTopic("t/{device}", "p", "50%"), "t/50%25");
  EXPECT_EQ(ExpandTopic("t/{device}", "p", std::string("a\0b\x1f\x7f", 5)), "t/a%00b%1F%7F");
  EXPECT_EQ(ExpandTopic("t/{device}", "p", "température-東京"), "t/température-東京");
}

TEST(TopicTemplateTest, TheEncodingIsReversible) {
  for (const std::string id :
       {"plain", "{device}", "a/b/c", "+#+", "%2F", "100%", "x{pipeline}y", "é/東京"}) {
    const std::string level = EncodeTopicLevel(id);
    EXPECT_EQ(level.find_first_of("/+#{}"), std::string::npos) << level;
    EXPECT_EQ(Decode(level), id) << level;
  }
}

}  // namespace
}  // namespace tidemark
