#include "server/metrics_collector.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/limits.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"

namespace mmsim::server {
namespace {

constexpr char kServicePrefix[] = "/mmsim.v1.MemoryManager/";

prometheus::MetricFamily GaugeFamily(std::string name, std::string help) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  return family;
}

void AddGauge(prometheus::MetricFamily* family, int pid, double value) {
  prometheus::ClientMetric metric;
  metric.label.push_back({"pid", absl::StrCat(pid)});
  metric.gauge.value = value;
  family->metric.push_back(std::move(metric));
}

// A family with one unlabelled sample.
prometheus::MetricFamily Single(std::string name, std::string help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family =
      GaugeFamily(std::move(name), std::move(help));
  family.type = type;
  family.metric.emplace_back();
  if (type == prometheus::MetricType::Counter) {
    family.metric.back().counter.value = value;
  } else {
    family.metric.back().gauge.value = value;
  }
  return family;
}

// Records the status an RPC sends, just before it is sent.
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  // gRPC creates one per call and destroys it when the call is done.
  RpcMetricsInterceptor(RpcMetrics* metrics, const char* method)
      : metrics_(metrics), method_(method == nullptr ? "" : method) {
    metrics_->RpcStarted();
  }
  ~RpcMetricsInterceptor() override { metrics_->RpcFinished(); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Record(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* const metrics_;
  const std::string method_;
};

class RpcMetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(RpcMetrics* metrics)
      : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(metrics_, info->method());
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

std::vector<prometheus::MetricFamily> MmMetricsCollector::Collect() const {
  std::vector<int> pids = registry_->Pids();
  prometheus::MetricFamily processes =
      GaugeFamily("mmsim_processes", "Number of simulated processes.");
  processes.metric.emplace_back();
  processes.metric.back().gauge.value = static_cast<double>(pids.size());

  prometheus::MetricFamily map_count = GaugeFamily(
      "mmsim_map_count",
      "Regions (VMAs) of a process, for at most --metrics_max_pids pids.");
  prometheus::MetricFamily total_vm =
      GaugeFamily("mmsim_total_vm_bytes",
                  "Mapped bytes (total_vm) of a process, for at most "
                  "--metrics_max_pids pids.");
  prometheus::MetricFamily rss = GaugeFamily(
      "mmsim_rss_bytes",
      "Resident bytes of a process by type (anon, file, shmem) and bytes in "
      "swap (swap), for at most --metrics_max_pids pids.");
  std::sort(pids.begin(), pids.end());
  if (static_cast<int>(pids.size()) > max_pids_) pids.resize(max_pids_);
  for (int pid : pids) {
    absl::StatusOr<std::shared_ptr<const MmStruct>> mm = registry_->MmPeek(pid);
    if (!mm.ok()) continue;  // removed meanwhile
    MmCounters counters = (*mm)->Counters();
    AddGauge(&map_count, pid, counters.map_count);
    AddGauge(&total_vm, pid,
             static_cast<double>(counters.total_vm * kPageSize));
    const RssCounters pages = (*mm)->PageStats().rss;
    const std::pair<const char*, uint64_t> by_type[] = {{"anon", pages.anon},
                                                        {"file", pages.file},
                                                        {"shmem", pages.shmem},
                                                        {"swap", pages.swap}};
    for (const auto& [type, count] : by_type) {
      AddGauge(&rss, pid, static_cast<double>(count * kPageSize));
      rss.metric.back().label.push_back({"type", type});
    }
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(processes));
  out.push_back(std::move(map_count));
  out.push_back(std::move(total_vm));
  out.push_back(std::move(rss));
  const SystemStats stats = registry_->Stats();
  const double page = static_cast<double>(kPageSize);
  using prometheus::MetricType;
  out.push_back(Single("mmsim_mmlist_nr",
                       "Memory descriptors on mmlist, init_mm included.",
                       MetricType::Gauge, stats.mmlist_nr));
  out.push_back(Single("mmsim_memory_bytes", "Simulated RAM.",
                       MetricType::Gauge, stats.phys.frames_total * page));
  out.push_back(Single("mmsim_memory_free_bytes", "Free simulated RAM.",
                       MetricType::Gauge, stats.phys.frames_free * page));
  out.push_back(Single("mmsim_page_cache_bytes", "Page cache (file, shmem).",
                       MetricType::Gauge, stats.phys.page_cache_pages * page));
  out.push_back(Single("mmsim_swap_bytes", "Simulated swap space.",
                       MetricType::Gauge, stats.phys.swap_total * page));
  out.push_back(Single("mmsim_swap_free_bytes", "Free swap space.",
                       MetricType::Gauge, stats.phys.swap_free * page));
  out.push_back(Single("mmsim_swap_out_pages_total",
                       "Pages written to swap by reclaim.", MetricType::Counter,
                       stats.phys.swap_outs));
  out.push_back(Single("mmsim_swap_in_pages_total",
                       "Pages read back from swap (major faults).",
                       MetricType::Counter, stats.phys.swap_ins));
  out.push_back(Single("mmsim_oom_kills_total",
                       "Processes the OOM killer killed.", MetricType::Counter,
                       stats.oom_kills));
  return out;
}

RpcMetrics::RpcMetrics(prometheus::Registry* registry)
    : rpcs_(prometheus::BuildCounter()
                .Name("mmsim_rpcs_total")
                .Help("Finished RPCs by method and gRPC status code.")
                .Register(*registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("mmsim_rpcs_in_flight")
                     .Help("RPCs started and not yet finished.")
                     .Register(*registry)
                     .Add({})) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          "mmsim.v1.MemoryManager");
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    methods_.insert(service->method(i)->name());
  }
}

void RpcMetrics::Record(absl::string_view full_method, grpc::StatusCode code) {
  absl::string_view method = "other";
  if (absl::ConsumePrefix(&full_method, kServicePrefix) &&
      methods_.contains(full_method)) {
    method = full_method;
  }
  // Unknown or out-of-range codes cannot come from gRPC; keep them bounded.
  std::string code_name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  rpcs_.Add({{"method", std::string(method)}, {"code", code_name}}).Increment();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::NewInterceptorFactory() {
  return std::make_unique<RpcMetricsInterceptorFactory>(this);
}

}  // namespace mmsim::server
