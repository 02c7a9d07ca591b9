#include "client/load_histogram.h"

#include <algorithm>

namespace mmsim::client {
namespace {

constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
constexpr int kSub = 1 << kSubBits;
constexpr int kBuckets = 38 * kSub;  // up to 2^43 ns; beyond: last bucket

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

int LatencyHistogram::BucketOf(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);     // exact below 64 ns
  const int exponent = 63 - __builtin_clzll(ns);  // 2^exponent <= ns
  const int shift = exponent - kSubBits;
  const int sub = static_cast<int>((ns >> shift) & (kSub - 1));
  const int bucket = (shift + 1) * kSub + sub;
  return std::min(bucket, kBuckets - 1);
}

uint64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  const int shift = bucket / kSub - 1;
  const uint64_t sub = static_cast<uint64_t>(bucket % kSub);
  return ((uint64_t{kSub} + sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t ns) {
  ++buckets_[BucketOf(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_ += ns;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen > 0 && static_cast<double>(seen) >= rank) {
      return std::min(UpperBound(i), max_);
    }
  }
  return max_;
}

std::vector<std::pair<uint64_t, uint64_t>> LatencyHistogram::NonEmptyBuckets()
    const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (int i = 0; i < kBuckets; ++i) {
    if (buckets_[i] != 0) out.emplace_back(UpperBound(i), buckets_[i]);
  }
  return out;
}

}  // namespace mmsim::client
