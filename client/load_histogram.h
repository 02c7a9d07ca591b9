// A latency histogram for the load generator: log-linear buckets (exact
// below 64 ns, then 64 per power of two, so a value is within 1.6% of its
// bucket's bounds) up to about two hours, mergeable across threads. Not
// thread-safe: each thread records into its own and the report merges them.
#ifndef MMSIM_CLIENT_LOAD_HISTOGRAM_H_
#define MMSIM_CLIENT_LOAD_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace mmsim::client {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t ns);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The smallest recorded-bucket upper bound with at least q of the values
  // at or below it (q in [0, 1]); 0 when empty.
  uint64_t Quantile(double q) const;

  // Buckets with at least one value: (upper bound ns, count), ascending.
  std::vector<std::pair<uint64_t, uint64_t>> NonEmptyBuckets() const;

 private:
  static int BucketOf(uint64_t ns);
  static uint64_t UpperBound(int bucket);

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace mmsim::client

#endif  // MMSIM_CLIENT_LOAD_HISTOGRAM_H_
