// The server under load: many client threads, each with its own MmClient,
// call the real gRPC server in-process for a bounded time, mixing every
// operation (faults, mmap/munmap/mremap churn, mprotect, madvise, fork,
// clone, exit, exec, kernel threads borrowing mms, swap-out, the /proc
// views) on one shared mm and on private ones. Then it checks:
//  - no call failed with a code that means a bug (INTERNAL, UNKNOWN,
//    DATA_LOSS) or the transport (UNAVAILABLE);
//  - ValidateMm() holds for every mm;
//  - after every task exits nothing leaks: mmlist_nr back to 1, every
//    frame and swap slot free, no task left.
// A watchdog fails the test with every thread's lock state and last
// operation when no call completes for 10 seconds (a deadlock).
//
// The ThreadSanitizer build runs it in `make tsan` (MMSIM_STRESS_SECONDS
// sets the duration, default 8 s); every other build runs it in ctest.
// Readers of a dying mm (GetMm, GetSmaps, ListMms while the last task
// exits and a kernel thread still borrows the mm) run in the mix, so a
// freed descriptor being read shows up as a sanitizer report.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "core/lock_stats.h"
#include "core/mm_registry.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "server/grpc_server.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

namespace mmsim::server {
namespace {

constexpr int kClients = 8;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kSharedPages = 512;
constexpr auto kWatchdogLimit = std::chrono::seconds(10);

int StressSeconds() {
  const char* env = std::getenv("MMSIM_STRESS_SECONDS");
  const int seconds = env == nullptr ? 8 : std::atoi(env);
  return seconds > 0 ? seconds : 8;
}

// What a client thread does, for the watchdog's report.
enum class Op {
  kIdle,
  kTouch,
  kMapChurn,
  kMprotect,
  kMadvise,
  kMremap,
  kForkTouchExit,
  kCloneExit,
  kExec,
  kKernelThread,
  kReclaim,
  kViews,
  kDyingMm,
  kCount,
};
constexpr const char* kOpNames[] = {
    "idle",    "touch",           "map-churn",  "mprotect", "madvise",
    "mremap",  "fork-touch-exit", "clone-exit", "exec",     "kernel-thread",
    "reclaim", "views",           "dying-mm",
};

// The parameter: per-VMA lock mode (MmConfig::per_vma_lock) on or off.
class StressTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("127.0.0.1:0", &service_, &rpc_metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    address_ = absl::StrCat("127.0.0.1:", started->port);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
  }

  std::unique_ptr<client::MmClient> NewClient() {
    // Separate channels: each client thread has its own connection.
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return std::make_unique<client::MmClient>(
        grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(),
                                  args),
        std::chrono::seconds(60));
  }

  static SystemConfig Config(bool per_vma_lock) {
    SystemConfig config;
    config.mm.per_vma_lock = per_vma_lock;
    config.phys.frames = 2048;  // fewer than the pages touched: swap runs
    config.phys.swap_pages = 1 << 16;
    config.cpus = 2;
    return config;
  }

  MmRegistry registry_{Config(GetParam())};
  MmServiceImpl service_{&registry_};
  std::shared_ptr<prometheus::Registry> metrics_ =
      std::make_shared<prometheus::Registry>();
  RpcMetrics rpc_metrics_{metrics_.get()};
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// Codes a correct server never returns to these calls.
bool IsBug(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss ||
         code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded;
}

struct Shared {
  int pid = 0;        // the shared process
  uint64_t base = 0;  // kSharedPages of anonymous rw memory in it
  int kthread = 0;
};

class Worker {
 public:
  Worker(int id, const Shared& shared, std::unique_ptr<client::MmClient> c,
         std::atomic<uint64_t>* progress)
      : id_(id),
        shared_(shared),
        client_(std::move(c)),
        progress_(progress),
        rng_(1234 + id) {}

  void Run(std::chrono::steady_clock::time_point until) {
    absl::StatusOr<int> mine = client_->CreateProcess();
    Check(mine.status(), "create");
    if (!mine.ok()) return;
    own_pid_ = *mine;
    while (std::chrono::steady_clock::now() < until) {
      const Op op =
          static_cast<Op>(1 + rng_() % (static_cast<int>(Op::kCount) - 1));
      current_.store(op, std::memory_order_relaxed);
      RunOne(op);
      current_.store(Op::kIdle, std::memory_order_relaxed);
      progress_->fetch_add(1, std::memory_order_relaxed);
      ++ops_;
    }
    Check(client_->RemoveProcess(own_pid_), "remove own");
  }

  Op current() const { return current_.load(std::memory_order_relaxed); }
  uint64_t ops() const { return ops_; }
  const absl::flat_hash_map<std::string, int>& bugs() const { return bugs_; }

 private:
  // Records a status; only codes that mean a bug count against the test.
  void Check(const absl::Status& status, const char* what) {
    if (IsBug(status.code())) {
      ++bugs_[absl::StrCat(what, ": ", status.ToString())];
    }
  }
  template <typename T>
  void Check(const absl::StatusOr<T>& v, const char* what) {
    Check(v.status(), what);
  }

  uint64_t SharedPage() {
    return shared_.base + (rng_() % kSharedPages) * kPage;
  }

  void RunOne(Op op) {
    const v1::FaultAccess access =
        rng_() % 2 ? v1::FAULT_ACCESS_WRITE : v1::FAULT_ACCESS_READ;
    switch (op) {
      case Op::kTouch:
        for (int i = 0; i < 8; ++i) {
          Check(client_->Touch(shared_.pid, SharedPage(), access), "touch");
        }
        Check(client_->Touch(own_pid_, own_addr_ != 0 ? own_addr_ : 0x1000,
                             access),
              "touch own");
        break;
      case Op::kMapChurn: {
        const int pid = rng_() % 2 ? shared_.pid : own_pid_;
        absl::StatusOr<uint64_t> addr = client_->MmapAnon(
            pid, 0, 8 * kPage, kProtRead | kProtWrite, kMapPrivate);
        Check(addr, "mmap");
        if (!addr.ok()) break;
        Check(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE), "touch new");
        if (pid == own_pid_ && own_addr_ == 0) {
          own_addr_ = *addr;  // keep one region of our own
          break;
        }
        Check(client_->Munmap(pid, *addr + 2 * kPage, 2 * kPage), "munmap");
        Check(client_->Munmap(pid, *addr, 8 * kPage), "munmap");
        break;
      }
      case Op::kMprotect: {
        const uint64_t page = SharedPage();
        Check(client_->Mprotect(shared_.pid, page, kPage, kProtRead),
              "mprotect");
        Check(
            client_->Mprotect(shared_.pid, page, kPage, kProtRead | kProtWrite),
            "mprotect");
        break;
      }
      case Op::kMadvise:
        Check(client_->Madvise(shared_.pid, SharedPage(), 4 * kPage,
                               kMadvDontneed),
              "madvise");
        break;
      case Op::kMremap: {
        absl::StatusOr<uint64_t> addr = client_->MmapAnon(
            own_pid_, 0, 4 * kPage, kProtRead | kProtWrite, kMapPrivate);
        Check(addr, "mmap");
        if (!addr.ok()) break;
        Check(client_->Touch(own_pid_, *addr, v1::FAULT_ACCESS_WRITE), "touch");
        absl::StatusOr<uint64_t> moved = client_->Mremap(
            own_pid_, *addr, 4 * kPage, 16 * kPage, kMremapMaymove);
        Check(moved, "mremap");
        Check(client_->Munmap(own_pid_, moved.value_or(*addr),
                              moved.ok() ? 16 * kPage : 4 * kPage),
              "munmap");
        break;
      }
      case Op::kForkTouchExit: {
        const int parent = rng_() % 4 == 0 ? shared_.pid : own_pid_;
        absl::StatusOr<int> child = client_->Fork(parent);
        Check(child, "fork");
        if (!child.ok()) break;
        const uint64_t addr = parent == shared_.pid ? SharedPage() : own_addr_;
        if (addr != 0) {
          Check(client_->Touch(*child, addr, v1::FAULT_ACCESS_WRITE),
                "touch child");
        }
        Check(client_->Exit(*child), "exit child");
        break;
      }
      case Op::kCloneExit: {
        absl::StatusOr<int> thread =
            client_->Clone(shared_.pid, kCloneVm | kCloneThread);
        Check(thread, "clone");
        if (!thread.ok()) break;
        Check(client_->Touch(*thread, SharedPage(), access), "touch thread");
        Check(client_->Exit(*thread), "exit thread");
        break;
      }
      case Op::kExec: {
        // A child of our own process execs: a new mm replaces the copy.
        absl::StatusOr<int> child = client_->Fork(own_pid_);
        Check(child, "fork");
        if (!child.ok()) break;
        v1::ExecImage image;
        image.set_exe_name("/bin/stress");
        Check(client_->Exec(*child, image), "exec");
        Check(client_->Exit(*child), "exit");
        break;
      }
      case Op::kKernelThread: {
        // The kernel thread borrows whatever mm the CPU ran last.
        const int cpu = static_cast<int>(rng_() % 2);
        Check(client_->Schedule(cpu, rng_() % 2 ? shared_.pid : own_pid_),
              "schedule");
        Check(client_->Schedule(cpu, shared_.kthread), "schedule kthread");
        Check(client_->Schedule(cpu, 0), "schedule idle");
        break;
      }
      case Op::kReclaim:
        Check(client_->Reclaim(64), "reclaim");
        break;
      case Op::kViews:
        Check(client_->GetMm(shared_.pid), "getmm");
        Check(client_->GetMaps(shared_.pid), "maps");
        Check(client_->GetSmaps(own_pid_), "smaps");
        Check(client_->ListMms(), "listmms");
        Check(client_->GetLockStats(), "lockstats");
        break;
      case Op::kDyingMm: {
        // A process whose mm a CPU then a kernel thread borrow, exiting
        // while views of it run: mm_users drops to 0 while mm_count pins
        // the descriptor.
        absl::StatusOr<int> child = client_->Fork(own_pid_);
        Check(child, "fork");
        if (!child.ok()) break;
        const int cpu = static_cast<int>(rng_() % 2);
        Check(client_->Schedule(cpu, *child), "schedule child");
        Check(client_->Schedule(cpu, shared_.kthread), "schedule kthread");
        Check(client_->Exit(*child), "exit child");
        absl::StatusOr<v1::GetMmResponse> gone = client_->GetMm(*child);
        if (gone.ok() || gone.status().code() != absl::StatusCode::kNotFound) {
          ++bugs_["GetMm of an exited task did not give ESRCH"];
        }
        Check(client_->ListMms(), "listmms");
        Check(client_->Schedule(cpu, 0), "schedule idle");
        break;
      }
      case Op::kIdle:
      case Op::kCount:
        break;
    }
  }

  const int id_;
  const Shared shared_;
  std::unique_ptr<client::MmClient> client_;
  std::atomic<uint64_t>* const progress_;
  std::mt19937 rng_;
  int own_pid_ = 0;
  uint64_t own_addr_ = 0;
  std::atomic<Op> current_{Op::kIdle};
  uint64_t ops_ = 0;
  absl::flat_hash_map<std::string, int> bugs_;
};

TEST_P(StressTest, ManyClientsEveryOperationNoLeakNoDeadlock) {
  std::unique_ptr<client::MmClient> setup = NewClient();
  Shared shared;
  shared.pid = *setup->CreateProcess();
  shared.base = *setup->MmapAnon(shared.pid, 0, kSharedPages * kPage,
                                 kProtRead | kProtWrite, kMapPrivate);
  absl::StatusOr<int> kthread = setup->CreateKernelThread("kswapd0");
  ASSERT_TRUE(kthread.ok()) << kthread.status();
  shared.kthread = *kthread;

  std::atomic<uint64_t> progress{0};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kClients; ++i) {
    workers.push_back(
        std::make_unique<Worker>(i, shared, NewClient(), &progress));
  }
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds(StressSeconds());

  // The watchdog: no completed call for kWatchdogLimit is a deadlock.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    uint64_t last = progress.load();
    auto last_change = std::chrono::steady_clock::now();
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const uint64_t now_progress = progress.load();
      const auto now = std::chrono::steady_clock::now();
      if (now_progress != last) {
        last = now_progress;
        last_change = now;
        continue;
      }
      if (now - last_change < kWatchdogLimit) continue;
      std::string report = "watchdog: no call completed for 10 s\n";
      for (int i = 0; i < kClients; ++i) {
        absl::StrAppend(&report, "client ", i, " in ",
                        kOpNames[static_cast<int>(workers[i]->current())],
                        "\n");
      }
      report += DumpLockState();
      std::fprintf(stderr, "%s", report.c_str());
      std::fflush(stderr);
      std::abort();  // the test cannot finish: fail it loudly, now
    }
  });

  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&worker, until] { worker->Run(until); });
  }
  for (std::thread& t : threads) t.join();
  done = true;
  watchdog.join();

  uint64_t total_ops = 0;
  for (const auto& worker : workers) {
    total_ops += worker->ops();
    for (const auto& [what, count] : worker->bugs()) {
      ADD_FAILURE() << count << "x " << what;
    }
  }
  EXPECT_GT(total_ops, uint64_t{kClients});  // every client made progress
  std::printf("stress: %llu operations by %d clients in %d s\n",
              static_cast<unsigned long long>(total_ops), kClients,
              StressSeconds());

  // Every mm is consistent.
  for (const TaskInfo& task : registry_.Tasks()) {
    absl::StatusOr<std::shared_ptr<const MmStruct>> mm =
        registry_.MmPeek(task.pid);
    if (mm.ok() && *mm != nullptr) (*mm)->ValidateMm();
  }

  // Contention happened and was counted.
  uint64_t contended = 0;
  for (const LockStat& stat : SnapshotLockStats()) contended += stat.contended;
  std::printf("stress: %llu contended lock acquisitions\n",
              static_cast<unsigned long long>(contended));

  // Everything exits; nothing leaks.
  ASSERT_TRUE(setup->Schedule(0, 0).ok());
  ASSERT_TRUE(setup->Schedule(1, 0).ok());
  ASSERT_TRUE(setup->RemoveProcess(shared.pid).ok());
  ASSERT_TRUE(setup->Exit(shared.kthread).ok());
  absl::StatusOr<v1::GetSystemStatsResponse> stats = setup->GetSystemStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->mmlist_nr(), 1);
  EXPECT_EQ(stats->processes() + stats->lwps() + stats->kernel_threads(), 0);
  // Besides init_mm, only the mms an idle CPU still borrows (lazy TLB:
  // Linux keeps the last mm as the idle task's active_mm) are alive, with
  // no users, one mm_count reference per borrowing CPU (both CPUs may
  // borrow the same mm) and nothing mapped.
  absl::StatusOr<std::vector<v1::CpuInfo>> cpus = setup->ListCpus();
  absl::StatusOr<std::vector<v1::MmInfo>> mms = setup->ListMms();
  ASSERT_TRUE(cpus.ok() && mms.ok());
  EXPECT_LE(stats->mm_descriptors(), 1 + static_cast<int>(cpus->size()));
  for (const v1::MmInfo& mm : *mms) {
    if (mm.is_init_mm()) continue;
    int borrowers = 0;
    for (const v1::CpuInfo& cpu : *cpus) {
      if (cpu.curr_pid() == 0 && cpu.active_mm_id() == mm.mm_id()) ++borrowers;
    }
    EXPECT_GT(borrowers, 0) << "mm " << mm.mm_id() << " leaked";
    EXPECT_EQ(mm.mm_users(), 0);
    EXPECT_EQ(mm.mm_count(), borrowers);
    EXPECT_FALSE(mm.on_mmlist());
    EXPECT_EQ(mm.map_count(), 0);
  }
  EXPECT_EQ(stats->phys().frames_free() + stats->phys().page_cache_pages(),
            stats->phys().frames_total());
  EXPECT_EQ(stats->phys().swap_free(), stats->phys().swap_total());
  EXPECT_EQ(stats->phys().swap_cache_pages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, StressTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PerVmaLock" : "MmapSem";
                         });

}  // namespace
}  // namespace mmsim::server
