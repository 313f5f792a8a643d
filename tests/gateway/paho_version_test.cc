// The Paho MQTT C version check: the durable path needs the PUBACK after the callback returns,
// which Paho MQTT C does from 1.3.10 on (gateway/mqtt/paho_version.h).
#include "gateway/mqtt/paho_version.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

TEST(PahoVersionTest, ComparesVersionsByNumberNotByText) {
  EXPECT_TRUE(VersionAtLeast("1.3.10", 1, 3, 10));
  EXPECT_TRUE(VersionAtLeast("1.3.12", 1, 3, 10));
  EXPECT_TRUE(VersionAtLeast("1.4.0", 1, 3, 10));
  EXPECT_TRUE(VersionAtLeast("2", 1, 3, 10));
  EXPECT_TRUE(VersionAtLeast("1.3.10-rc1", 1, 3, 10));
  EXPECT_FALSE(VersionAtLeast("1.3.9", 1, 3, 10));  // "1.3.9" > "1.3.10" as text
  EXPECT_FALSE(VersionAtLeast("1.2.99", 1, 3, 10));
  EXPECT_FALSE(VersionAtLeast("1.3", 1, 3, 10));
  EXPECT_FALSE(VersionAtLeast("", 1, 3, 10));
  EXPECT_FALSE(VersionAtLeast("unknown", 1, 3, 10));
}

TEST(PahoVersionTest, TheLinkedLibraryIsRecentEnough) {
  const std::string version = PahoCVersion();
  EXPECT_FALSE(version.empty());
  EXPECT_EQ(PahoVersionProblem(), std::nullopt) << version;
}

}  // namespace
}  // namespace tidemark
