// Prometheus metrics of the server. The names, types and labels are the
// contract in the README's metrics section (and the dashboard's): per
// process (pid label, selected pids only), across all mms (histograms and
// sums, fixed cardinality), system gauges, event counters, RPCs.
//
// Per-process series exist for the top `top_pids` mms by rss plus the pids
// named in `pids`, so label cardinality stays bounded however many
// processes exist. A scrape is one pass over the mms (MmRegistry::
// SampleMms) with a bounded heap for the top N.
#ifndef MMSIM_SERVER_METRICS_COLLECTOR_H_
#define MMSIM_SERVER_METRICS_COLLECTOR_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/mm_registry.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace mmsim::server {

struct MetricsOptions {
  int top_pids = 10;      // per-pid series for the N largest mms by rss
  std::vector<int> pids;  // and for these pids, whatever their rss
};

// Parses --metrics_pids: "" or a comma list of pids > 0 ("7,12").
// Errors: INVALID_ARGUMENT.
absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view text);

// Reads core's counters when scraped; nothing on the RPC path. Thread-safe
// (scrapes are serialized). Does not own `registry`, which must outlive
// the collector.
class MmMetricsCollector : public prometheus::Collectable {
 public:
  MmMetricsCollector(MmRegistry* registry, MetricsOptions options)
      : registry_(registry), options_(std::move(options)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  MmRegistry* const registry_;
  const MetricsOptions options_;
  mutable std::mutex mu_;                  // one scrape at a time
  mutable std::vector<MmSample> samples_;  // reused between scrapes
};

// Counts finished RPCs by method and status code and times them. The
// families are built in the constructor (prometheus-cpp throws on bad
// names: at startup only). Thread-safe.
class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry* registry);

  // Counts one RPC that took `seconds` (server side). `full_method` is
  // "/package.Service/Method"; methods outside mmsim.v1.MemoryManager are
  // counted as "other".
  void Record(absl::string_view full_method, grpc::StatusCode code,
              double seconds);

  // RPCs (of every service) that started and have not finished.
  void RpcStarted() { in_flight_.Increment(); }
  void RpcFinished() { in_flight_.Decrement(); }
  int InFlight() const { return static_cast<int>(in_flight_.Value()); }

  // Returns a server interceptor factory that calls Record() for every RPC.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

 private:
  absl::string_view MethodLabel(absl::string_view full_method) const;

  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& in_flight_;
  // MemoryManager's methods and "other": immutable after construction.
  absl::flat_hash_map<std::string, prometheus::Histogram*> by_method_;
};

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_METRICS_COLLECTOR_H_
