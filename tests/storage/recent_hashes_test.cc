#include "storage/recent_hashes.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

TEST(RecentHashesTest, ForgetsTheOldestOnceFull) {
  RecentHashes recent(3);
  for (std::uint64_t h : {1u, 2u, 3u}) recent.Add(h);
  EXPECT_TRUE(recent.Contains(1));
  recent.Add(4);
  EXPECT_FALSE(recent.Contains(1));
  EXPECT_TRUE(recent.Contains(2));
  EXPECT_TRUE(recent.Contains(4));
  EXPECT_EQ(recent.size(), 3u);
}

TEST(RecentHashesTest, ARepeatedHashStaysUntilItsLastCopyLeaves) {
  RecentHashes recent(3);
  recent.Add(7);
  recent.Add(7);
  recent.Add(8);
  recent.Add(9);  // evicts the first 7; the second remains
  EXPECT_TRUE(recent.Contains(7));
  recent.Add(10);  // evicts the second 7
  EXPECT_FALSE(recent.Contains(7));
  recent.Clear();
  EXPECT_FALSE(recent.Contains(9));
  EXPECT_EQ(recent.size(), 0u);
}

}  // namespace
}  // namespace tidemark
