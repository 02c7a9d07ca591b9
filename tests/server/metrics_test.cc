// The Prometheus collector and the RPC metrics against the real server: a
// grpc::Server on 127.0.0.1:0 built by StartGrpcServer (as mmsimd builds
// it), driven through the real MmClient. Every value asserted is the one
// GetMm / GetSystemStats report, or a count of the calls the test made.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/mm_registry.h"
#include "core/vma.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/grpc_server.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

namespace mmsim::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using Labels = std::map<std::string, std::string>;

constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnon = kMapPrivate | kMapAnonymous;

const MetricFamily* FindFamily(const std::vector<MetricFamily>& families,
                               const std::string& name) {
  for (const MetricFamily& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// The sample of family `name` whose labels are exactly `labels`.
const ClientMetric* FindMetric(const std::vector<MetricFamily>& families,
                               const std::string& name, const Labels& labels) {
  const MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return nullptr;
  for (const ClientMetric& metric : family->metric) {
    Labels have;
    for (const auto& label : metric.label) have[label.name] = label.value;
    if (have == labels) return &metric;
  }
  return nullptr;
}

// A gauge's or counter's value; nullopt when the series does not exist.
std::optional<double> Value(const std::vector<MetricFamily>& families,
                            const std::string& name,
                            const Labels& labels = {}) {
  const ClientMetric* metric = FindMetric(families, name, labels);
  if (metric == nullptr) return std::nullopt;
  const MetricFamily* family = FindFamily(families, name);
  return family->type == prometheus::MetricType::Counter ? metric->counter.value
                                                         : metric->gauge.value;
}

// The pids that have per-process series.
std::vector<int> PidsShown(const std::vector<MetricFamily>& families) {
  std::vector<int> pids;
  const MetricFamily* family = FindFamily(families, "mmsim_process_vmas");
  if (family == nullptr) return pids;
  for (const ClientMetric& metric : family->metric) {
    pids.push_back(std::stoi(metric.label.at(0).value));
  }
  return pids;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("127.0.0.1:0", &service_, &rpc_metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    client_ = std::make_unique<client::MmClient>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", started->port),
                            grpc::InsecureChannelCredentials()),
        std::chrono::seconds(20));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
  }

  int NewProcess() {
    absl::StatusOr<int> pid = client_->CreateProcess();
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.value_or(-1);
  }

  // Makes `pid` resident in `pages` more anonymous pages (a new mapping).
  void Touch(int pid, int pages) {
    absl::StatusOr<uint64_t> addr =
        client_->MmapAnon(pid, 0, pages * kPageSize, kRw, kAnon);
    ASSERT_TRUE(addr.ok()) << addr.status();
    for (int i = 0; i < pages; ++i) {
      ASSERT_TRUE(
          client_->Touch(pid, *addr + i * kPageSize, v1::FAULT_ACCESS_WRITE)
              .ok());
    }
  }

  std::vector<MetricFamily> Collect(MetricsOptions options = {}) {
    MmMetricsCollector collector(&registry_, std::move(options));
    return collector.Collect();
  }

  v1::GetMmResponse GetMm(int pid) {
    absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
    EXPECT_TRUE(mm.ok()) << mm.status();
    return mm.value_or(v1::GetMmResponse());
  }

  MmRegistry registry_;
  MmServiceImpl service_{&registry_};
  std::shared_ptr<prometheus::Registry> metrics_ =
      std::make_shared<prometheus::Registry>();
  RpcMetrics rpc_metrics_{metrics_.get()};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::MmClient> client_;
};

TEST_F(MetricsTest, ParsePidList) {
  EXPECT_THAT(ParsePidList("").value(), ::testing::IsEmpty());
  EXPECT_THAT(ParsePidList("7,12").value(), ::testing::ElementsAre(7, 12));
  EXPECT_FALSE(ParsePidList("7,x").ok());
  EXPECT_FALSE(ParsePidList("0").ok());
  EXPECT_FALSE(ParsePidList("7,").ok());
}

TEST_F(MetricsTest, PerPidValuesEqualGetMm) {
  const int pid = NewProcess();
  Touch(pid, 3);
  absl::StatusOr<uint64_t> locked =
      client_->MmapAnon(pid, 0, 2 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(locked.ok());
  ASSERT_TRUE(client_->Mlock(pid, *locked, 2 * kPageSize).ok());
  ASSERT_TRUE(client_->Clone(pid, kCloneVm | kCloneThread).ok());  // mm_users 2

  const std::vector<MetricFamily> m = Collect();
  const v1::GetMmResponse mm = GetMm(pid);
  const std::string p = absl::StrCat(pid);
  ASSERT_GT(mm.locked_vm(), 0u);
  ASSERT_EQ(mm.mm_users(), 2);
  EXPECT_EQ(Value(m, "mmsim_process_vmas", {{"pid", p}}), mm.map_count());
  EXPECT_EQ(Value(m, "mmsim_process_total_vm_bytes", {{"pid", p}}),
            mm.total_vm() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_process_locked_vm_bytes", {{"pid", p}}),
            mm.locked_vm() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_process_rss_bytes", {{"pid", p}, {"type", "anon"}}),
            mm.pages().rss_anon() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_process_rss_bytes", {{"pid", p}, {"type", "file"}}),
            mm.pages().rss_file() * kPageSize);
  EXPECT_EQ(
      Value(m, "mmsim_process_rss_bytes", {{"pid", p}, {"type", "shmem"}}),
      mm.pages().rss_shmem() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_process_rss_bytes", {{"pid", p}, {"type", "swap"}}),
            mm.pages().rss_swap() * kPageSize);
  EXPECT_EQ(
      Value(m, "mmsim_process_mm_refs", {{"pid", p}, {"ref", "mm_users"}}),
      mm.mm_users());
  EXPECT_EQ(
      Value(m, "mmsim_process_mm_refs", {{"pid", p}, {"ref", "mm_count"}}),
      mm.mm_count());
  // The thread shares the mm: one series, under the lowest pid.
  EXPECT_THAT(PidsShown(m), ::testing::ElementsAre(pid));
}

TEST_F(MetricsTest, TopPidsAreTheLargestByRssPlusNamedPids) {
  std::vector<int> pids;
  for (int i = 0; i < 5; ++i) {
    pids.push_back(NewProcess());
    Touch(pids.back(), 2 + 3 * i);  // pids[4] largest, pids[0] smallest
  }
  std::vector<MetricFamily> m = Collect({/*top_pids=*/2, {}});
  EXPECT_THAT(PidsShown(m), ::testing::ElementsAre(pids[3], pids[4]));

  absl::StatusOr<int> kthread = client_->CreateKernelThread("kworker");
  ASSERT_TRUE(kthread.ok());
  // Named pids come on top; a kernel thread (no mm) and a pid that does not
  // exist have no series.
  m = Collect({/*top_pids=*/2, {pids[0], pids[4], *kthread, 99999}});
  EXPECT_THAT(PidsShown(m), ::testing::ElementsAre(pids[0], pids[3], pids[4]));
  m = Collect({/*top_pids=*/0, {}});
  EXPECT_THAT(PidsShown(m), ::testing::IsEmpty());
  // Every process fits: all of them.
  m = Collect({/*top_pids=*/10, {}});
  EXPECT_THAT(PidsShown(m), ::testing::ElementsAreArray(pids));
}

TEST_F(MetricsTest, HistogramsAndSumsCoverEveryMm) {
  std::vector<int> pids;
  for (int i = 0; i < 4; ++i) {
    pids.push_back(NewProcess());
    Touch(pids.back(), 1 + i);
  }
  const std::vector<MetricFamily> m = Collect({/*top_pids=*/1, {}});
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  uint64_t vmas = 0, rss = 0, total_vm = 0;
  RssCounters sum;
  int max_vmas = 0;
  for (int pid : pids) {
    const v1::GetMmResponse mm = GetMm(pid);
    vmas += mm.map_count();
    max_vmas = std::max(max_vmas, mm.map_count());
    total_vm += mm.total_vm();
    sum.anon += mm.pages().rss_anon();
    sum.file += mm.pages().rss_file();
    sum.shmem += mm.pages().rss_shmem();
    sum.swap += mm.pages().rss_swap();
  }
  rss = sum.resident();
  // Every user mm (init_mm not included) is in each histogram.
  ASSERT_EQ(stats->mm_descriptors() - 1, 4);
  EXPECT_EQ(Value(m, "mmsim_mms"), 4);
  for (const char* name :
       {"mmsim_mm_vmas", "mmsim_mm_rss_bytes", "mmsim_mm_total_vm_bytes"}) {
    const ClientMetric* h = FindMetric(m, name, {});
    ASSERT_NE(h, nullptr) << name;
    EXPECT_EQ(h->histogram.sample_count, 4u) << name;
    EXPECT_EQ(h->histogram.bucket.back().cumulative_count, 4u) << name;
    EXPECT_TRUE(std::isinf(h->histogram.bucket.back().upper_bound)) << name;
  }
  const ClientMetric* h = FindMetric(m, "mmsim_mm_vmas", {});
  EXPECT_EQ(h->histogram.sample_sum, vmas);
  // Buckets 1, 2, 4, ... 65536, then +Inf; cumulative.
  ASSERT_EQ(h->histogram.bucket.size(), 18u);
  EXPECT_EQ(h->histogram.bucket[16].upper_bound, 65536);
  for (const auto& bucket : h->histogram.bucket) {
    EXPECT_EQ(bucket.cumulative_count, bucket.upper_bound >= max_vmas ? 4u : 0u)
        << bucket.upper_bound;  // all four processes have the same layout
  }
  EXPECT_EQ(FindMetric(m, "mmsim_mm_rss_bytes", {})->histogram.sample_sum,
            rss * kPageSize);
  EXPECT_EQ(FindMetric(m, "mmsim_mm_total_vm_bytes", {})->histogram.sample_sum,
            total_vm * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_system_rss_bytes", {{"type", "anon"}}),
            sum.anon * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_system_rss_bytes", {{"type", "file"}}),
            sum.file * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_system_rss_bytes", {{"type", "swap"}}),
            sum.swap * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_system_locked_vm_bytes"), 0);
  EXPECT_EQ(Value(m, "mmsim_tasks", {{"kind", "process"}}), stats->processes());
  EXPECT_EQ(Value(m, "mmsim_tasks", {{"kind", "idle"}}), 2);  // two CPUs
  EXPECT_EQ(Value(m, "mmsim_mmlist_nr"), stats->mmlist_nr());
  EXPECT_EQ(Value(m, "mmsim_memory_bytes"),
            stats->phys().frames_total() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_memory_free_bytes"),
            stats->phys().frames_free() * kPageSize);
  EXPECT_EQ(Value(m, "mmsim_swap_free_bytes"),
            stats->phys().swap_free() * kPageSize);
}

TEST_F(MetricsTest, TaskEventsCountForkCloneExecExitKthread) {
  const int pid = NewProcess();
  auto event = [&](const char* name) {
    return Value(Collect(), "mmsim_task_events_total", {{"event", name}})
        .value_or(-1);
  };
  EXPECT_EQ(event("fork"), 0);
  absl::StatusOr<int> child = client_->Fork(pid);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(event("fork"), 1);
  ASSERT_TRUE(client_->Clone(pid, kCloneVm).ok());
  EXPECT_EQ(event("clone"), 1);
  ASSERT_TRUE(client_->Exec(*child).ok());
  EXPECT_EQ(event("exec"), 1);
  ASSERT_TRUE(client_->Exit(*child).ok());
  EXPECT_EQ(event("exit"), 1);
  ASSERT_TRUE(client_->CreateKernelThread("kswapd0").ok());
  EXPECT_EQ(event("kthread"), 1);
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(event("fork"), stats->forks());
  EXPECT_EQ(event("exit"), stats->exits());
  EXPECT_EQ(Value(Collect(), "mmsim_tasks", {{"kind", "kernel_thread"}}),
            stats->kernel_threads());
}

TEST_F(MetricsTest, FaultCountersCountEachFaultOnceByResult) {
  const int pid = NewProcess();
  auto faults = [&](const char* result) {
    return Value(Collect(), "mmsim_page_faults_total", {{"result", result}})
        .value_or(-1);
  };
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 2 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE).ok());
  EXPECT_EQ(faults("minor"), 1);
  // The pte allows it now: no fault.
  ASSERT_TRUE(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE).ok());
  EXPECT_EQ(faults("minor"), 1);
  ASSERT_TRUE(client_->Touch(pid, 0x1000, v1::FAULT_ACCESS_READ).ok());
  EXPECT_EQ(faults("segv_maperr"), 1);
  // A user access by a kernel thread (no mm) faults too.
  absl::StatusOr<int> kthread = client_->CreateKernelThread("kworker");
  ASSERT_TRUE(kthread.ok());
  ASSERT_TRUE(client_->Touch(*kthread, 0x1000, v1::FAULT_ACCESS_READ).ok());
  EXPECT_EQ(faults("segv_maperr"), 2);
  ASSERT_TRUE(client_->Mprotect(pid, *addr, kPageSize, kProtRead).ok());
  ASSERT_TRUE(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE).ok());
  EXPECT_EQ(faults("segv_accerr"), 1);
  // Copy-on-write after fork: a minor fault that copies.
  ASSERT_TRUE(client_->Mprotect(pid, *addr, kPageSize, kRw).ok());
  ASSERT_TRUE(client_->Fork(pid).ok());
  EXPECT_EQ(Value(Collect(), "mmsim_cow_faults_total"), 0);
  ASSERT_TRUE(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE).ok());
  EXPECT_EQ(Value(Collect(), "mmsim_cow_faults_total"), 1);
  EXPECT_EQ(faults("minor"), 2);
  EXPECT_EQ(GetMm(pid).pages().cow_faults(), 1u);
  EXPECT_EQ(faults("major"), 0);
  EXPECT_EQ(faults("sigbus"), 0);
  EXPECT_EQ(faults("oom"), 0);
  // The counts stay when the process goes (monotonic totals).
  ASSERT_TRUE(client_->RemoveProcess(pid).ok());
  EXPECT_EQ(faults("minor"), 2);
}

TEST_F(MetricsTest, VmallocSyncsAreCounted) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> area = client_->Vmalloc(1);
  ASSERT_TRUE(area.ok());
  absl::StatusOr<v1::TouchResponse> touched =
      client_->Touch(pid, *area, v1::FAULT_ACCESS_READ, /*kernel_mode=*/true);
  ASSERT_TRUE(touched.ok());
  ASSERT_TRUE(touched->vmalloc_synced());
  EXPECT_EQ(Value(Collect(), "mmsim_vmalloc_syncs_total"), 1);
  EXPECT_EQ(GetMm(pid).pages().vmalloc_syncs(), 1u);
}

TEST_F(MetricsTest, SyscallsAreCountedByErrnoName) {
  const int pid = NewProcess();
  auto calls = [&](const char* syscall, const char* err) {
    return Value(Collect(), "mmsim_syscalls_total",
                 {{"syscall", syscall}, {"errno", err}});
  };
  // Every syscall has its success series from the start.
  for (const char* name :
       {"mmap", "munmap", "mprotect", "mremap", "brk", "mlock", "munlock",
        "mlockall", "munlockall", "madvise", "mincore"}) {
    EXPECT_EQ(calls(name, "0"), 0) << name;
  }
  EXPECT_EQ(calls("munmap", "EINVAL"), std::nullopt);
  ASSERT_TRUE(client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon).ok());
  EXPECT_EQ(calls("mmap", "0"), 1);
  ASSERT_FALSE(client_->Munmap(pid, 0x1001, kPageSize).ok());
  ASSERT_FALSE(client_->Munmap(pid, 0x1001, kPageSize).ok());
  EXPECT_EQ(calls("munmap", "EINVAL"), 2);
  EXPECT_EQ(calls("munmap", "0"), 0);
  // mprotect over a hole is ENOMEM (a Linux quirk).
  ASSERT_FALSE(client_->Mprotect(pid, 0x10000, kPageSize, kProtRead).ok());
  EXPECT_EQ(calls("mprotect", "ENOMEM"), 1);
  ASSERT_FALSE(client_->MmapAnon(pid, 0, 0, kRw, kAnon).ok());
  EXPECT_EQ(calls("mmap", "EINVAL"), 1);
  ASSERT_TRUE(client_->Mincore(pid, 0x10000, kPageSize).status().code() ==
              absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(calls("mincore", "ENOMEM"), 1);
  // A break into the stack cannot move: brk(2) returns the old break,
  // below the request, which glibc's brk() reports as ENOMEM.
  ASSERT_TRUE(client_->Brk(pid, 0x7ffffff00000).ok());
  EXPECT_EQ(calls("brk", "ENOMEM"), 1);
  ASSERT_TRUE(client_->Brk(pid, 0).ok());  // brk(0): the query succeeds
  EXPECT_EQ(calls("brk", "0"), 1);
}

TEST_F(MetricsTest, MergesAndSplitsAreCounted) {
  const int pid = NewProcess();
  auto merges = [&] { return Value(Collect(), "mmsim_vma_merges_total"); };
  auto splits = [&] { return Value(Collect(), "mmsim_vma_splits_total"); };
  const double merges0 = merges().value_or(-1);
  const double splits0 = splits().value_or(-1);
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  // Unmapping the middle splits once (then removes the middle part).
  ASSERT_TRUE(client_->Munmap(pid, *addr + kPageSize, kPageSize).ok());
  EXPECT_EQ(splits(), splits0 + 2);
  // Mapping the hole again joins all three.
  ASSERT_TRUE(
      client_
          ->MmapAnon(pid, *addr + kPageSize, kPageSize, kRw, kAnon | kMapFixed)
          .ok());
  EXPECT_EQ(merges(), merges0 + 1);
}

TEST_F(MetricsTest, RpcDurationsAreObservedByMethod) {
  NewProcess();
  NewProcess();
  ASSERT_FALSE(client_->Munmap(1, 0x1001, kPageSize).ok());
  const std::vector<MetricFamily> m = metrics_->Collect();
  const ClientMetric* created = FindMetric(m, "mmsim_rpc_duration_seconds",
                                           {{"method", "CreateProcess"}});
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->histogram.sample_count, 2u);
  EXPECT_GT(created->histogram.sample_sum, 0);
  EXPECT_EQ(created->histogram.bucket.size(), 14u);  // 13 bounds and +Inf
  EXPECT_EQ(FindMetric(m, "mmsim_rpc_duration_seconds", {{"method", "Munmap"}})
                ->histogram.sample_count,
            1u);
  // Methods not called yet have an empty histogram.
  EXPECT_EQ(FindMetric(m, "mmsim_rpc_duration_seconds", {{"method", "Mremap"}})
                ->histogram.sample_count,
            0u);
  EXPECT_EQ(Value(m, "mmsim_rpcs_total",
                  {{"method", "CreateProcess"}, {"code", "OK"}}),
            2);
  // (mmsim_rpcs_in_flight may still count the last call: gRPC ends it
  // after the client has its answer.)
  EXPECT_NE(Value(m, "mmsim_rpcs_in_flight"), std::nullopt);
}

TEST_F(MetricsTest, LockFamiliesCoverEveryLockAndMode) {
  const int pid = NewProcess();
  auto writes = [&] {
    return Value(Collect(), "mmsim_lock_acquisitions_total",
                 {{"lock", "mmap_sem"}, {"mode", "write"}})
        .value_or(-1);
  };
  const double before = writes();
  ASSERT_TRUE(client_->MmapAnon(pid, 0, kPageSize, kRw, kAnon).ok());
  EXPECT_GT(writes(), before);  // the mmap took mmap_sem for writing

  const std::vector<MetricFamily> m = Collect();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"mmap_sem", "read"},
      {"mmap_sem", "write"},
      {"page_table_lock", "exclusive"},
      {"tasklist_lock", "read"},
      {"tasklist_lock", "write"},
      {"mmlist_lock", "exclusive"},
      {"vmlist_lock", "exclusive"},
      {"oom_lock", "exclusive"},
      {"pagecache_lock", "exclusive"},
      {"zone_lock", "exclusive"},
      {"vma_lock", "read"},
      {"vma_lock", "write"}};
  for (const auto& [lock, mode] : pairs) {
    const Labels labels = {{"lock", lock}, {"mode", mode}};
    EXPECT_NE(Value(m, "mmsim_lock_acquisitions_total", labels), std::nullopt)
        << lock << " " << mode;
    EXPECT_NE(Value(m, "mmsim_lock_contended_total", labels), std::nullopt);
    for (const char* name :
         {"mmsim_lock_wait_seconds", "mmsim_lock_hold_seconds"}) {
      const ClientMetric* h = FindMetric(m, name, labels);
      ASSERT_NE(h, nullptr) << name << " " << lock << " " << mode;
      ASSERT_EQ(h->histogram.bucket.size(), 14u);
      EXPECT_DOUBLE_EQ(h->histogram.bucket[0].upper_bound, 6.4e-08);
      EXPECT_DOUBLE_EQ(h->histogram.bucket[12].upper_bound, 1.073741824);
      EXPECT_TRUE(std::isinf(h->histogram.bucket[13].upper_bound));
    }
  }
  const ClientMetric* hold = FindMetric(
      m, "mmsim_lock_hold_seconds", {{"lock", "mmap_sem"}, {"mode", "write"}});
  EXPECT_GT(hold->histogram.sample_count, 0u);
}

TEST_F(MetricsTest, TextSerializationHasCatalogTypes) {
  Touch(NewProcess(), 1);
  const std::string text = prometheus::TextSerializer().Serialize(Collect());
  for (const char* line :
       {"# TYPE mmsim_process_vmas gauge", "# TYPE mmsim_mm_vmas histogram",
        "# TYPE mmsim_page_faults_total counter",
        "# TYPE mmsim_syscalls_total counter",
        "mmsim_mm_vmas_bucket{le=\"+Inf\"} 1", "mmsim_mm_vmas_count 1"}) {
    EXPECT_THAT(text, ::testing::HasSubstr(line));
  }
}

}  // namespace
}  // namespace mmsim::server
