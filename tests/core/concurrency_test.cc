// Many threads on one system: faults on a shared mm (readers of mmap_sem)
// against region churn (writers), fork/exit, kernel threads borrowing mms,
// and reclaim under memory pressure. Every loop is bounded by a count.
// The ThreadSanitizer build (make tsan) runs it to find data races; every
// build checks the invariants and that nothing leaks at the end.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

constexpr int kIterations = 400;
constexpr uint64_t kRegionPages = 256;

// Run in both modes: mmap_sem for every fault (the 2.4 design), and per-VMA
// locks (MmConfig::per_vma_lock), where faults run beside the churn.
class ConcurrencyTest : public ::testing::TestWithParam<bool> {};

TEST_P(ConcurrencyTest, MixedOperationsKeepEveryInvariant) {
  SystemConfig config;
  config.mm.per_vma_lock = GetParam();
  config.phys.frames = 1024;  // less than the pages touched: swap runs
  config.phys.swap_pages = 8192;
  MmRegistry system(config);
  const int shared = *system.CreateProcess(ExecImage(), config.mm);
  const int lwp = *system.Clone(shared, kCloneVm);
  const int kthread = *system.CreateKernelThread("kswapd0");
  uint64_t base;
  uint64_t file_base;  // a shared file mapping: page cache, fault-around
  {
    MmRef mm = *system.MmGet(shared);
    MmapArgs args;
    args.len = Pages(kRegionPages);
    args.prot = kProtRead | kProtWrite;
    base = *mm->DoMmap(args);
    args.flags = kMapShared;
    args.file = *system.CreateFile("/data", Pages(kRegionPages), 0644);
    args.file_mode = kFmodeRead | kFmodeWrite;
    file_base = *mm->DoMmap(args);
  }
  std::atomic<uint64_t> faults{0};
  std::vector<std::thread> threads;
  // Two faulting threads, one per task sharing the mm.
  for (int who : {shared, lwp}) {
    threads.emplace_back([&, who] {
      std::mt19937_64 rng(who);
      for (int i = 0; i < kIterations * 4; ++i) {
        const uint64_t addr =
            (rng() % 4 == 0 ? file_base : base) + Pages(rng() % kRegionPages);
        const FaultAccess access =
            rng() % 2 ? FaultAccess::kWrite : FaultAccess::kRead;
        absl::StatusOr<TouchResult> r = system.Touch(who, addr, access);
        ASSERT_TRUE(r.ok());
        ASSERT_NE(r->fault.kind, FaultKind::kOom);
        faults.fetch_add(1);
      }
    });
  }
  // Region churn on the same mm: mmap, mprotect, DONTNEED, munmap.
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      MmRef mm = *system.MmGet(shared);
      MmapArgs args;
      args.len = Pages(8);
      args.prot = kProtRead | kProtWrite;
      absl::StatusOr<uint64_t> addr = mm->DoMmap(args);
      ASSERT_TRUE(addr.ok());
      mm->HandleMmFault(*addr, FaultAccess::kWrite);
      ASSERT_TRUE(mm->Mprotect(*addr, Pages(4), kProtRead).ok());
      ASSERT_TRUE(mm->Madvise(base, Pages(8), kMadvDontneed).ok());
      ASSERT_TRUE(mm->Madvise(file_base, Pages(8), kMadvPageout).ok());
      ASSERT_TRUE(mm->DoMunmap(*addr, Pages(8)).ok());
    }
  });
  // fork, write in the child, exit.
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations / 4; ++i) {
      absl::StatusOr<int> child = system.Fork(shared);
      ASSERT_TRUE(child.ok());
      ASSERT_TRUE(system
                      .Touch(*child, base + Pages(i % kRegionPages),
                             FaultAccess::kWrite)
                      .ok());
      ASSERT_TRUE(system.Exit(*child).ok());
    }
  });
  // The scheduler: the kernel thread borrows whatever ran before it.
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      const int cpu = i % 2;
      ASSERT_TRUE(system.Schedule(cpu, i % 3 == 0 ? shared : 0).ok() ||
                  i % 3 == 0);
      absl::Status s = system.Schedule(cpu, kthread);
      ASSERT_TRUE(s.ok() || LinuxErrno(s) == EBUSY);
    }
  });
  // Reclaim on request.
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations / 4; ++i) system.Reclaim(32, nullptr);
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(faults.load(), 2u * 4 * kIterations);

  (*system.MmGet(shared))->ValidateMm();
  const MmPageStats pages = (*system.MmGet(shared))->PageStats();
  EXPECT_LE(pages.rss.resident(), config.phys.frames);
  ASSERT_TRUE(system.Schedule(0, 0).ok());
  ASSERT_TRUE(system.Schedule(1, 0).ok());
  ASSERT_TRUE(system.RemoveProcess(shared).ok());
  ASSERT_TRUE(system.Exit(lwp).ok());  // CLONE_VM alone: a group of its own
  ASSERT_TRUE(system.Exit(kthread).ok());
  const SystemStats stats = system.Stats();
  EXPECT_EQ(stats.mmlist_nr, 1);
  EXPECT_EQ(stats.processes + stats.lwps + stats.kernel_threads, 0);
  EXPECT_EQ(stats.phys.frames_free + stats.phys.page_cache_pages,
            stats.phys.frames_total);
  EXPECT_EQ(stats.phys.swap_free, stats.phys.swap_total);
  EXPECT_EQ(stats.phys.swap_cache_pages, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ConcurrencyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PerVmaLock" : "MmapSem";
                         });

}  // namespace
}  // namespace mmsim::testing
