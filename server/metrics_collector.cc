#include "server/metrics_collector.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/event_stats.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "core/lock_stats.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"

namespace mmsim::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr char kServicePrefix[] = "/mmsim.v1.MemoryManager/";
constexpr double kPage = static_cast<double>(kPageSize);

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

// Appends a sample with `labels` to a gauge or counter family.
void Add(MetricFamily* family, std::vector<ClientMetric::Label> labels,
         double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family->type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family->metric.push_back(std::move(metric));
}

// A family with one unlabelled sample.
MetricFamily Single(std::string name, std::string help, MetricType type,
                    double value) {
  MetricFamily family = Family(std::move(name), std::move(help), type);
  Add(&family, {}, value);
  return family;
}

// A histogram over the mms, filled by Observe() and emitted by ToFamily().
// Bounds are upper bounds ("le"), ascending; +Inf is implicit.
class MmHistogram {
 public:
  explicit MmHistogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

  void Observe(double value) {
    const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                     bounds_.begin();
    ++counts_[i];
    sum_ += value;
  }

  MetricFamily ToFamily(std::string name, std::string help) const {
    MetricFamily family =
        Family(std::move(name), std::move(help), MetricType::Histogram);
    ClientMetric metric;
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += counts_[i];
      ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < bounds_.size()
                               ? bounds_[i]
                               : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(bucket);
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = sum_;
    family.metric.push_back(std::move(metric));
    return family;
  }

 private:
  const std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
};

// A lock histogram from per-bucket counts (core/lock_stats.h: bucket i <
// 13 is <= LockHistUpperBoundSeconds(i), the last is +Inf).
ClientMetric LockHistogram(
    const std::array<uint64_t, kLockHistBuckets>& buckets, uint64_t ns_total) {
  ClientMetric metric;
  uint64_t cumulative = 0;
  for (int i = 0; i < kLockHistBuckets; ++i) {
    cumulative += buckets[i];
    ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i + 1 < kLockHistBuckets
                             ? LockHistUpperBoundSeconds(i)
                             : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = static_cast<double>(ns_total) * 1e-9;
  return metric;
}

// The lock families (mmsim_lock_*), process-wide totals.
void AddLockFamilies(std::vector<MetricFamily>* out) {
  MetricFamily acquisitions =
      Family("mmsim_lock_acquisitions_total",
             "Lock acquisitions by lock class and mode.", MetricType::Counter);
  MetricFamily contended =
      Family("mmsim_lock_contended_total",
             "Lock acquisitions that had to wait (the first try failed).",
             MetricType::Counter);
  MetricFamily wait =
      Family("mmsim_lock_wait_seconds",
             "Time waiting for a lock (contended acquisitions only).",
             MetricType::Histogram);
  MetricFamily hold = Family("mmsim_lock_hold_seconds", "Time a lock was held.",
                             MetricType::Histogram);
  for (const LockStat& stat : SnapshotLockStats()) {
    std::vector<ClientMetric::Label> labels = {
        {"lock", std::string(stat.lock_name)},
        {"mode", std::string(stat.mode_name)}};
    Add(&acquisitions, labels, static_cast<double>(stat.acquisitions));
    Add(&contended, labels, static_cast<double>(stat.contended));
    ClientMetric w = LockHistogram(stat.wait_buckets, stat.wait_ns_total);
    w.label = labels;
    wait.metric.push_back(std::move(w));
    ClientMetric h = LockHistogram(stat.hold_buckets, stat.hold_ns_total);
    h.label = std::move(labels);
    hold.metric.push_back(std::move(h));
  }
  out->push_back(std::move(acquisitions));
  out->push_back(std::move(contended));
  out->push_back(std::move(wait));
  out->push_back(std::move(hold));
}

// first, first * factor, ... while <= last.
std::vector<double> Geometric(double first, double factor, double last) {
  std::vector<double> out;
  for (double b = first; b <= last; b *= factor) out.push_back(b);
  return out;
}

// The per-process families (label pid, selected pids only).
struct ProcessFamilies {
  MetricFamily vmas =
      Family("mmsim_process_vmas", "Regions (VMAs, map_count) of a process.",
             MetricType::Gauge);
  MetricFamily total_vm =
      Family("mmsim_process_total_vm_bytes",
             "Mapped bytes (total_vm) of a process.", MetricType::Gauge);
  MetricFamily locked_vm =
      Family("mmsim_process_locked_vm_bytes",
             "Locked bytes (locked_vm) of a process.", MetricType::Gauge);
  MetricFamily rss = Family(
      "mmsim_process_rss_bytes",
      "Resident bytes of a process by type (anon, file, shmem) and bytes "
      "swapped out (swap: MM_SWAPENTS).",
      MetricType::Gauge);
  MetricFamily refs = Family(
      "mmsim_process_mm_refs",
      "Reference counts of a process's mm_struct (ref = mm_users, mm_count).",
      MetricType::Gauge);

  void Add(int pid, const MmSample& s) {
    const std::string p = absl::StrCat(pid);
    server::Add(&vmas, {{"pid", p}}, s.map_count);
    server::Add(&total_vm, {{"pid", p}}, s.total_vm * kPage);
    server::Add(&locked_vm, {{"pid", p}}, s.locked_vm * kPage);
    const std::pair<const char*, uint64_t> by_type[] = {{"anon", s.rss.anon},
                                                        {"file", s.rss.file},
                                                        {"shmem", s.rss.shmem},
                                                        {"swap", s.rss.swap}};
    for (const auto& [type, pages] : by_type) {
      server::Add(&rss, {{"pid", p}, {"type", type}}, pages * kPage);
    }
    server::Add(&refs, {{"pid", p}, {"ref", "mm_users"}}, s.mm_users);
    server::Add(&refs, {{"pid", p}, {"ref", "mm_count"}}, s.mm_count);
  }
};

// The sample of the task `pid`'s mm, read directly (a --metrics_pids pid).
std::optional<MmSample> SampleOf(const MmRegistry& registry, int pid) {
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = registry.MmPeek(pid);
  if (!mm.ok()) return std::nullopt;  // no such task, or a kernel thread
  return (*mm)->Sample();
}

// Records the status an RPC sends, just before it is sent, and how long
// the RPC took from the creation of its interceptor (when gRPC starts the
// call on the server) to then.
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  // gRPC creates one per call and destroys it when the call is done.
  RpcMetricsInterceptor(RpcMetrics* metrics, const char* method)
      : metrics_(metrics),
        method_(method == nullptr ? "" : method),
        start_(std::chrono::steady_clock::now()) {
    metrics_->RpcStarted();
  }
  ~RpcMetricsInterceptor() override { metrics_->RpcFinished(); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start_;
      metrics_->Record(method_, methods->GetSendStatus().error_code(),
                       elapsed.count());
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* const metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
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

absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view text) {
  std::vector<int> pids;
  if (text.empty()) return pids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int pid = 0;
    if (!absl::SimpleAtoi(part, &pid) || pid <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a pid: \"", part, "\""));
    }
    pids.push_back(pid);
  }
  return pids;
}

std::vector<MetricFamily> MmMetricsCollector::Collect() const {
  std::lock_guard<std::mutex> lock(mu_);
  registry_->SampleMms(&samples_);

  // --- across all mms: histograms and sums, and the top N by rss ---
  MmHistogram vmas(Geometric(1, 2, 65536));
  MmHistogram rss(Geometric(4096, 4, 64.0 * (uint64_t{1} << 30)));
  std::vector<double> vm_bounds =
      Geometric(65536, 4, 64.0 * (uint64_t{1} << 40));
  vm_bounds.push_back(128.0 * (uint64_t{1} << 40));  // the x86-64 user half
  MmHistogram total_vm(std::move(vm_bounds));
  RssCounters rss_sum;
  uint64_t locked_sum = 0;
  // A min-heap of the top N (rss, then the older mm first).
  using Ranked = std::pair<uint64_t, uint64_t>;  // rss pages, ~mm_id
  std::vector<std::pair<Ranked, size_t>> top;
  const size_t n = static_cast<size_t>(std::max(0, options_.top_pids));
  top.reserve(n + 1);
  auto greater = [](const auto& a, const auto& b) { return a.first > b.first; };
  for (size_t i = 0; i < samples_.size(); ++i) {
    const MmSample& s = samples_[i];
    vmas.Observe(s.map_count);
    rss.Observe(s.rss.resident() * kPage);
    total_vm.Observe(s.total_vm * kPage);
    rss_sum.anon += s.rss.anon;
    rss_sum.file += s.rss.file;
    rss_sum.shmem += s.rss.shmem;
    rss_sum.swap += s.rss.swap;
    locked_sum += s.locked_vm;
    // An mm without users belongs to no task: it has no pid to show.
    if (n == 0 || s.mm_users <= 0) continue;
    const Ranked rank{s.rss.resident(), ~s.mm_id};
    if (top.size() < n) {
      top.push_back({rank, i});
      std::push_heap(top.begin(), top.end(), greater);
    } else if (rank > top.front().first) {
      std::pop_heap(top.begin(), top.end(), greater);
      top.back() = {rank, i};
      std::push_heap(top.begin(), top.end(), greater);
    }
  }

  // --- per process: the top N and the named pids, by pid ---
  std::vector<const MmSample*> top_samples;
  for (const auto& [rank, i] : top) top_samples.push_back(&samples_[i]);
  const std::vector<int> top_pids = registry_->LowestPidsOf(top_samples);
  std::vector<std::pair<int, MmSample>> selected;
  absl::flat_hash_set<int> seen;
  for (size_t k = 0; k < top.size(); ++k) {
    if (top_pids[k] == 0) continue;  // exited meanwhile
    seen.insert(top_pids[k]);
    selected.push_back({top_pids[k], samples_[top[k].second]});
  }
  for (int pid : options_.pids) {
    if (!seen.insert(pid).second) continue;
    std::optional<MmSample> sample = SampleOf(*registry_, pid);
    if (sample.has_value()) selected.push_back({pid, *sample});
  }
  std::sort(selected.begin(), selected.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  ProcessFamilies process;
  for (const auto& [pid, sample] : selected) process.Add(pid, sample);

  std::vector<MetricFamily> out;
  out.push_back(std::move(process.vmas));
  out.push_back(std::move(process.total_vm));
  out.push_back(std::move(process.locked_vm));
  out.push_back(std::move(process.rss));
  out.push_back(std::move(process.refs));
  out.push_back(
      vmas.ToFamily("mmsim_mm_vmas", "Regions (map_count) of each user mm."));
  out.push_back(rss.ToFamily("mmsim_mm_rss_bytes",
                             "Resident bytes (anon + file + shmem) of each "
                             "user mm."));
  out.push_back(total_vm.ToFamily("mmsim_mm_total_vm_bytes",
                                  "Mapped bytes (total_vm) of each user mm."));
  MetricFamily system_rss =
      Family("mmsim_system_rss_bytes",
             "Resident bytes of all user mms by type (anon, file, shmem) and "
             "their swapped-out bytes (swap).",
             MetricType::Gauge);
  Add(&system_rss, {{"type", "anon"}}, rss_sum.anon * kPage);
  Add(&system_rss, {{"type", "file"}}, rss_sum.file * kPage);
  Add(&system_rss, {{"type", "shmem"}}, rss_sum.shmem * kPage);
  Add(&system_rss, {{"type", "swap"}}, rss_sum.swap * kPage);
  out.push_back(std::move(system_rss));
  out.push_back(Single("mmsim_system_locked_vm_bytes",
                       "Locked bytes (locked_vm) of all user mms.",
                       MetricType::Gauge, locked_sum * kPage));
  out.push_back(Single("mmsim_mms",
                       "User mm_structs alive (mm_count > 0), init_mm not "
                       "included.",
                       MetricType::Gauge,
                       static_cast<double>(samples_.size())));

  // --- system ---
  const SystemStats stats = registry_->Stats();
  MetricFamily tasks = Family(
      "mmsim_tasks", "Tasks by kind (process, thread, kernel_thread, idle).",
      MetricType::Gauge);
  Add(&tasks, {{"kind", "process"}}, stats.processes);
  Add(&tasks, {{"kind", "thread"}}, stats.lwps);
  Add(&tasks, {{"kind", "kernel_thread"}}, stats.kernel_threads);
  Add(&tasks, {{"kind", "idle"}}, registry_->IdleTasks());
  out.push_back(std::move(tasks));
  out.push_back(Single("mmsim_mmlist_nr",
                       "Memory descriptors on mmlist, init_mm included.",
                       MetricType::Gauge, stats.mmlist_nr));
  out.push_back(Single("mmsim_memory_bytes", "Simulated RAM.",
                       MetricType::Gauge, stats.phys.frames_total * kPage));
  out.push_back(Single("mmsim_memory_free_bytes", "Free simulated RAM.",
                       MetricType::Gauge, stats.phys.frames_free * kPage));
  out.push_back(Single("mmsim_page_cache_bytes", "Page cache (file, shmem).",
                       MetricType::Gauge, stats.phys.page_cache_pages * kPage));
  out.push_back(Single("mmsim_swap_bytes", "Simulated swap space.",
                       MetricType::Gauge, stats.phys.swap_total * kPage));
  out.push_back(Single("mmsim_swap_free_bytes", "Free swap space.",
                       MetricType::Gauge, stats.phys.swap_free * kPage));

  // --- events ---
  const SystemEventStats events = registry_->EventStats();
  out.push_back(Single("mmsim_oom_kills_total",
                       "Processes the OOM killer killed.", MetricType::Counter,
                       events.oom_kills));
  out.push_back(Single("mmsim_vmalloc_syncs_total",
                       "Kernel pgd entries copied from init_mm by vmalloc "
                       "faults.",
                       MetricType::Counter, events.vmalloc_syncs));
  MetricFamily faults =
      Family("mmsim_page_faults_total",
             "Page faults by outcome (minor, major, segv_maperr, segv_accerr, "
             "sigbus, oom); each fault counts once.",
             MetricType::Counter);
  for (int i = 0; i < kFaultOutcomeCount; ++i) {
    Add(&faults, {{"result", FaultOutcomeName(static_cast<FaultOutcome>(i))}},
        events.faults[i]);
  }
  out.push_back(std::move(faults));
  out.push_back(Single("mmsim_cow_faults_total",
                       "Copy-on-write breaks (faults that copied a page).",
                       MetricType::Counter, events.cow_faults));
  MetricFamily syscalls = Family(
      "mmsim_syscalls_total",
      "Region system calls by name and result (errno \"0\" on success, else "
      "its name).",
      MetricType::Counter);
  for (int s = 0; s < kSyscallCount; ++s) {
    const char* name = SyscallName(static_cast<Syscall>(s));
    for (int e = 0; e < kErrnoSlots; ++e) {
      const uint64_t count = events.syscalls[s][e];
      if (e != 0 && count == 0) continue;  // errors appear when they happen
      std::string err = "0";
      if (e != 0) {
        err = ErrnoName(e);
        if (err == "E?") err = absl::StrCat("E", e);  // no name known
      }
      Add(&syscalls, {{"syscall", name}, {"errno", std::move(err)}}, count);
    }
  }
  out.push_back(std::move(syscalls));
  out.push_back(Single("mmsim_vma_merges_total",
                       "Regions merged with a neighbour.", MetricType::Counter,
                       events.vma_merges));
  out.push_back(Single("mmsim_vma_splits_total", "Regions split in two.",
                       MetricType::Counter, events.vma_splits));
  out.push_back(Single("mmsim_swap_out_pages_total",
                       "Pages written to swap by reclaim.", MetricType::Counter,
                       events.swap_out_pages));
  out.push_back(Single("mmsim_swap_in_pages_total",
                       "Pages read back from swap (major faults).",
                       MetricType::Counter, events.swap_in_pages));
  MetricFamily task_events =
      Family("mmsim_task_events_total",
             "Task events: fork, clone (CLONE_VM or of a kernel thread), exec, "
             "exit (every task), kthread (kernel threads created).",
             MetricType::Counter);
  const std::pair<const char*, uint64_t> by_event[] = {
      {"fork", events.forks},
      {"clone", events.clones},
      {"exec", events.execs},
      {"exit", events.exits},
      {"kthread", events.kthreads}};
  for (const auto& [event, count] : by_event) {
    Add(&task_events, {{"event", event}}, count);
  }
  out.push_back(std::move(task_events));
  AddLockFamilies(&out);
  return out;
}

RpcMetrics::RpcMetrics(prometheus::Registry* registry)
    : rpcs_(prometheus::BuildCounter()
                .Name("mmsim_rpcs_total")
                .Help("Finished RPCs by method and gRPC status code.")
                .Register(*registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("mmsim_rpc_duration_seconds")
                     .Help("Server-side RPC latency by method.")
                     .Register(*registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("mmsim_rpcs_in_flight")
                     .Help("RPCs started and not yet finished.")
                     .Register(*registry)
                     .Add({})) {
  const prometheus::Histogram::BucketBoundaries bounds = {
      1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10};
  std::vector<std::string> methods = {"other"};
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          "mmsim.v1.MemoryManager");
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    methods.push_back(service->method(i)->name());
  }
  // Every method's histogram exists from the start (zeros until called),
  // and the RPC path finds it without Family's lock.
  for (const std::string& method : methods) {
    by_method_[method] = &durations_.Add({{"method", method}}, bounds);
  }
}

absl::string_view RpcMetrics::MethodLabel(absl::string_view full_method) const {
  if (absl::ConsumePrefix(&full_method, kServicePrefix) &&
      by_method_.contains(full_method) && full_method != "other") {
    return full_method;
  }
  return "other";
}

void RpcMetrics::Record(absl::string_view full_method, grpc::StatusCode code,
                        double seconds) {
  const absl::string_view method = MethodLabel(full_method);
  // Unknown or out-of-range codes cannot come from gRPC; keep them bounded.
  std::string code_name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  rpcs_.Add({{"method", std::string(method)}, {"code", code_name}}).Increment();
  by_method_.find(method)->second->Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::NewInterceptorFactory() {
  return std::make_unique<RpcMetricsInterceptorFactory>(this);
}

}  // namespace mmsim::server
