// Prometheus metrics of the server (a first set; the full metrics are a
// later issue):
//   mmsim_processes                      gauge, number of processes
//   mmsim_map_count{pid}                 gauge, regions of each process
//   mmsim_total_vm_bytes{pid}            gauge, total_vm of each process
//   mmsim_rpcs_total{method,code}        counter, finished RPCs
//   mmsim_rpcs_in_flight                 gauge, RPCs started, not finished
// Per-process series exist for at most `max_pids` processes (the lowest
// pids), so label cardinality stays bounded however many processes exist.
#ifndef MMSIM_SERVER_METRICS_COLLECTOR_H_
#define MMSIM_SERVER_METRICS_COLLECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "core/mm_registry.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace mmsim::server {

// Reads core's counters when scraped; nothing on the RPC path. Thread-safe.
// Does not own `registry`, which must outlive the collector.
class MmMetricsCollector : public prometheus::Collectable {
 public:
  MmMetricsCollector(MmRegistry* registry, int max_pids)
      : registry_(registry), max_pids_(max_pids) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  MmRegistry* const registry_;
  const int max_pids_;
};

// Counts finished RPCs by method and status code. The families are built in
// the constructor (prometheus-cpp throws on bad names: at startup only).
// Thread-safe.
class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry* registry);

  // Counts one RPC. `full_method` is "/package.Service/Method"; methods
  // outside mmsim.v1.MemoryManager are counted as "other".
  void Record(absl::string_view full_method, grpc::StatusCode code);

  // RPCs (of every service) that started and have not finished.
  void RpcStarted() { in_flight_.Increment(); }
  void RpcFinished() { in_flight_.Decrement(); }
  int InFlight() const { return static_cast<int>(in_flight_.Value()); }

  // Returns a server interceptor factory that calls Record() for every RPC.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

 private:
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Gauge& in_flight_;
  absl::flat_hash_set<std::string> methods_;  // MemoryManager's, immutable
};

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_METRICS_COLLECTOR_H_
