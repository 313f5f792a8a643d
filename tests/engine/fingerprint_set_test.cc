#include "engine/fingerprint_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace tidemark {
namespace {

TEST(FingerprintSet, BehavesLikeASetUnderGrowth) {
  FingerprintSet set;
  std::set<std::uint64_t> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::uint64_t fp = rng() % 3000;  // many repeats, and 0 and 1 both occur
    EXPECT_EQ(set.Insert(fp), model.insert(fp == 0 ? 1 : fp).second);
  }
  EXPECT_EQ(set.size(), model.size());
  for (std::uint64_t fp = 2; fp < 3000; ++fp) EXPECT_EQ(set.Contains(fp), model.count(fp) == 1);
  FingerprintSet copy = set;
  EXPECT_EQ(copy.size(), set.size());
  EXPECT_FALSE(copy.Insert(5));
}

TEST(FingerprintSet, MergeAndValues) {
  FingerprintSet a, b;
  a.Insert(10);
  a.Insert(11);
  b.Insert(11);
  b.Insert(12);
  a.Merge(b);
  EXPECT_EQ(a.size(), 3u);
  auto values = a.Values();
  EXPECT_EQ(std::set<std::uint64_t>(values.begin(), values.end()),
            (std::set<std::uint64_t>{10, 11, 12}));
  EXPECT_EQ(FingerprintSet().HeapBytes(), 0u);
}

TEST(FingerprintSet, RecordFingerprintSeparatesTimeAndPayload) {
  EXPECT_EQ(RecordFingerprint(5, 9), RecordFingerprint(5, 9));
  EXPECT_NE(RecordFingerprint(5, 9), RecordFingerprint(6, 9));
  EXPECT_NE(RecordFingerprint(5, 9), RecordFingerprint(5, 10));
}

}  // namespace
}  // namespace tidemark
