// mmload's latency histogram: exact below 64 ns, within 1.6% above,
// quantiles, merging.
#include "client/load_histogram.h"

#include "gtest/gtest.h"

namespace mmsim::client {
namespace {

TEST(LatencyHistogramTest, EmptyHasNoValues) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.Quantile(0.5), 0u);
  EXPECT_TRUE(h.NonEmptyBuckets().empty());
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 50u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 50u);
  EXPECT_EQ(h.Quantile(0.5), 25u);
  EXPECT_EQ(h.Quantile(1.0), 50u);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(LatencyHistogramTest, LargeValuesWithinTheBucketError) {
  for (uint64_t v :
       {100ull, 1000ull, 123456ull, 987654321ull, 60ull * 1000 * 1000 * 1000}) {
    LatencyHistogram h;
    h.Record(v);
    h.Record(v * 2);  // so the quantile is not clamped to max
    const uint64_t p = h.Quantile(0.5);
    EXPECT_GE(p, v) << v;
    EXPECT_LE(static_cast<double>(p), static_cast<double>(v) * 1.016) << v;
  }
}

TEST(LatencyHistogramTest, QuantilesOfAUniformSpread) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1us..100ms
  const double p99 = static_cast<double>(h.Quantile(0.99));
  EXPECT_GE(p99, 99e6);
  EXPECT_LE(p99, 99e6 * 1.016);
  const double p50 = static_cast<double>(h.Quantile(0.5));
  EXPECT_GE(p50, 50e6);
  EXPECT_LE(p50, 50e6 * 1.016);
  uint64_t total = 0;
  for (const auto& [bound, count] : h.NonEmptyBuckets()) total += count;
  EXPECT_EQ(total, 100000u);
}

TEST(LatencyHistogramTest, MergeAddsCountsAndKeepsExtremes) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.Record(10);
  a.Record(20);
  b.Record(5);
  b.Record(1000000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 1000000u);
  EXPECT_EQ(a.Quantile(0.5), 10u);
}

}  // namespace
}  // namespace mmsim::client
