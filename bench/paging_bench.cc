// Paging: the simulator's page faults, fork and page-table memory against
// the real kernel, in the same binary as kernel_vs_sim_bench.cc (the same
// arena, bench/bench_arena.h). bench_main.cc prints the ratios and the
// memory figures after the run. Nothing here asserts on time.
//
//   BM_Kernel_FirstTouch / BM_Sim_FirstTouch   one minor anonymous fault
//   BM_Kernel_Fork/N / BM_Sim_Fork/N           fork + exit with N regions
//   BM_Sim_PageTableBytes/N                    page-table bytes per page
//   BM_Sim_RegionBytes/N                       heap bytes per region
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_arena.h"
#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/mm_struct.h"
#include "core/phys_mem.h"

namespace mmsim {
namespace {

using bench::AnonArgs;
using bench::ArenaAddr;
using bench::CheckArenaEmpty;
using bench::CountKernelVmas;
using bench::KernelBuildRegions;
using bench::KernelClearArena;
using bench::kSimRegionBase;
using bench::SimBuildRegions;
using bench::ThreadCpuNs;

// Pages faulted in per fresh mapping (64 MiB). When they are used up the
// mapping is replaced with timing paused, so the unmap (freeing the pages
// and tables) is not counted.
constexpr uint64_t kTouchBatchPages = 16384;

// Regions of the fork benchmarks (the 1,000), plus 0 as the
// kernel's baseline: what forking the benchmark process itself costs.
constexpr int kForkRegions = 1000;

constexpr uint64_t kTenMillion = 10'000'000;
constexpr uint64_t kOneMillion = 1'000'000;

PhysMemConfig Pool(uint64_t frames) {
  PhysMemConfig config;
  config.frames = frames;
  config.swap_pages = 0;
  return config;
}

uint64_t MinorFaults() {
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<uint64_t>(ru.ru_minflt);
}

// Bytes malloc has handed out (arena in use plus mmapped chunks), chunk
// headers and alignment waste included.
uint64_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// ---------------------------------------------------------------------------
// First touch: a write to a never-touched page of a private anonymous
// mapping, which the kernel resolves with a new zeroed page
// (do_anonymous_page) and the simulator with HandleMmFault(kWrite).

// A fresh kTouchBatchPages-page RW mapping at the arena base, THP off
// (MADV_NOHUGEPAGE) so that every page is its own 4 KiB fault.
char* KernelTouchMapping(std::string* err) {
  const uint64_t len = kTouchBatchPages * kPageSize;
  void* p = mmap(ArenaAddr(0), len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != ArenaAddr(0)) {
    *err = absl::StrCat("mmap: ", std::strerror(errno));
    if (p != MAP_FAILED) munmap(p, len);
    return nullptr;
  }
  if (madvise(p, len, MADV_NOHUGEPAGE) != 0) {
    *err = absl::StrCat("madvise(MADV_NOHUGEPAGE): ", std::strerror(errno));
    munmap(p, len);
    return nullptr;
  }
  return static_cast<char*>(p);
}

void BM_Kernel_FirstTouch(benchmark::State& state) {
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::string err;
  char* base = KernelTouchMapping(&err);
  if (base == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  uint64_t i = 0;
  const uint64_t faults_before = MinorFaults();
  for (auto _ : state) {
    if (i == kTouchBatchPages) {
      state.PauseTiming();
      munmap(base, kTouchBatchPages * kPageSize);
      base = KernelTouchMapping(&err);
      state.ResumeTiming();
      if (base == nullptr) {
        state.SkipWithError(err.c_str());
        return;
      }
      i = 0;
    }
    *static_cast<volatile char*>(base + i * kPageSize) = 1;
    ++i;
  }
  // About 1.0 when every touch was one fault (PauseTiming's own faults, if
  // any, come on top).
  state.counters["faults_per_touch"] =
      static_cast<double>(MinorFaults() - faults_before) /
      static_cast<double>(state.iterations());
  KernelClearArena();
}
BENCHMARK(BM_Kernel_FirstTouch);

void BM_Sim_FirstTouch(benchmark::State& state) {
  auto phys = std::make_shared<PhysMem>(Pool(2 * kTouchBatchPages));
  MmStruct mm(MmConfig(), phys);
  const uint64_t len = kTouchBatchPages * kPageSize;
  const MmapArgs args =
      AnonArgs(len, kProtRead | kProtWrite, kSimRegionBase, kMapFixed);
  if (!mm.DoMmap(args).ok()) {
    state.SkipWithError("DoMmap failed");
    return;
  }
  uint64_t i = 0;
  for (auto _ : state) {
    if (i == kTouchBatchPages) {
      state.PauseTiming();
      const bool ok =
          mm.DoMunmap(kSimRegionBase, len).ok() && mm.DoMmap(args).ok();
      state.ResumeTiming();
      if (!ok) {
        state.SkipWithError("DoMunmap/DoMmap failed");
        return;
      }
      i = 0;
    }
    const FaultResult r =
        mm.HandleMmFault(kSimRegionBase + i * kPageSize, FaultAccess::kWrite);
    if (r.kind != FaultKind::kMinor) {
      state.SkipWithError("HandleMmFault: not a minor fault");
      return;
    }
    ++i;
  }
}
BENCHMARK(BM_Sim_FirstTouch);

// ---------------------------------------------------------------------------
// fork with N extra regions: N one-page regions with alternating
// protections (KernelBuildRegions / SimBuildRegions), every RW one
// written, so N/2 regions have an anon_vma and one resident page to copy.
//
// One iteration is a whole fork: the kernel side is fork() + the child's
// _exit(0) + waitpid; the simulator side is a fresh child mm, DupMmap into
// it, ExitMmap and its destruction. Most of the kernel's work for the
// child's exit (exit_mmap) runs in the child, on its own CPU time, so the
// thread CPU clock would miss it. Both sides therefore use manual time:
// this thread's CPU time for the iteration plus, on the kernel side, the
// child's CPU time from wait4(). Time spent descheduled counts on neither
// side. Counters: parent_cpu_ns, child_cpu_ns and wall_ns per fork.

void BM_Kernel_Fork(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  if (n > 0) {
    if (std::string err = KernelBuildRegions(n); !err.empty()) {
      KernelClearArena();
      state.SkipWithError(err.c_str());
      return;
    }
    for (uint64_t i = 1; i < n; i += 2) {
      *static_cast<volatile char*>(ArenaAddr(i * kPageSize)) = 1;
    }
  }
  const int vmas = CountKernelVmas();
  double parent_ns = 0, child_ns = 0, wall_ns = 0;
  for (auto _ : state) {
    timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    const int64_t t0 = ThreadCpuNs();
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      state.SkipWithError(absl::StrCat("fork: ", std::strerror(errno)).c_str());
      break;
    }
    int status = 0;
    rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
      state.SkipWithError(
          absl::StrCat("wait4: ", std::strerror(errno)).c_str());
      break;
    }
    const int64_t t1 = ThreadCpuNs();
    clock_gettime(CLOCK_MONOTONIC, &w1);
    const double child = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    parent_ns += static_cast<double>(t1 - t0);
    child_ns += child;
    wall_ns += (w1.tv_sec - w0.tv_sec) * 1e9 + (w1.tv_nsec - w0.tv_nsec);
    state.SetIterationTime((static_cast<double>(t1 - t0) + child) * 1e-9);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["regions"] = static_cast<double>(n);
  state.counters["kernel_vmas"] = vmas;
  state.counters["parent_cpu_ns"] = parent_ns / iters;
  state.counters["child_cpu_ns"] = child_ns / iters;
  state.counters["wall_ns"] = wall_ns / iters;
  KernelClearArena();
}
BENCHMARK(BM_Kernel_Fork)
    ->Arg(0)
    ->Arg(kForkRegions)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Sim_Fork(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  MmStruct parent(MmConfig(), std::make_shared<PhysMem>(Pool(1 << 16)));
  if (std::string err = SimBuildRegions(parent, n); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (uint64_t i = 1; i < n; i += 2) {
    if (parent
            .HandleMmFault(kSimRegionBase + i * kPageSize, FaultAccess::kWrite)
            .kind != FaultKind::kMinor) {
      state.SkipWithError("HandleMmFault: not a minor fault");
      return;
    }
  }
  double cpu_ns = 0, wall_ns = 0;
  for (auto _ : state) {
    timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    const int64_t t0 = ThreadCpuNs();
    {
      MmStruct child(parent.config(), parent.phys());
      if (!parent.DupMmap(child).ok()) {
        state.SkipWithError("DupMmap failed");
        break;
      }
      child.ExitMmap();
    }
    const int64_t t1 = ThreadCpuNs();
    clock_gettime(CLOCK_MONOTONIC, &w1);
    cpu_ns += static_cast<double>(t1 - t0);
    wall_ns += (w1.tv_sec - w0.tv_sec) * 1e9 + (w1.tv_nsec - w0.tv_nsec);
    state.SetIterationTime(static_cast<double>(t1 - t0) * 1e-9);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["regions"] = static_cast<double>(n);
  state.counters["parent_cpu_ns"] = cpu_ns / iters;
  state.counters["wall_ns"] = wall_ns / iters;
  state.counters["resident_pages"] =
      static_cast<double>(parent.PageStats().rss.resident());
}
BENCHMARK(BM_Sim_Fork)
    ->Arg(0)
    ->Arg(kForkRegions)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------
// Memory. One iteration builds the whole state; the figures are counters.

// range(0) resident pages: one RW region, every page written once.
//   pgtable_bytes_per_page = table_pages() * 4096 / resident pages (what
//                            VmPTE would show; the hardware needs 8)
//   heap_bytes_per_page    = malloc's growth while faulting / resident
//                            pages: the tables as allocated (4 KiB-aligned
//                            operator new), plus anything else faults keep
//   ns_per_fault           = the iteration's time / resident pages
// The frame pool (16 bytes of metadata per frame, 160 MB at 10M frames) is
// allocated before and is not counted.
void BM_Sim_PageTableBytes(benchmark::State& state) {
  const uint64_t pages = static_cast<uint64_t>(state.range(0));
  auto phys = std::make_shared<PhysMem>(Pool(pages + 1024));
  uint64_t resident = 0, table_pages = 0, heap = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto mm = std::make_unique<MmStruct>(MmConfig(), phys);
    absl::StatusOr<uint64_t> base =
        mm->DoMmap(AnonArgs(pages * kPageSize, kProtRead | kProtWrite));
    const uint64_t heap_before = HeapInUse();
    state.ResumeTiming();
    if (!base.ok()) {
      state.SkipWithError(std::string(base.status().message()).c_str());
      return;
    }
    for (uint64_t i = 0; i < pages; ++i) {
      if (mm->HandleMmFault(*base + i * kPageSize, FaultAccess::kWrite).kind !=
          FaultKind::kMinor) {
        state.SkipWithError("HandleMmFault: not a minor fault");
        return;
      }
    }
    state.PauseTiming();
    heap = HeapInUse() - heap_before;
    const MmPageStats stats = mm->PageStats();
    resident = stats.rss.resident();
    table_pages = stats.pgtable_pages;
    mm->ExitMmap();
    mm.reset();
    state.ResumeTiming();
  }
  const double r = static_cast<double>(resident);
  state.counters["resident_pages"] = r;
  state.counters["pgtable_pages"] = static_cast<double>(table_pages);
  state.counters["pgtable_bytes_per_page"] =
      static_cast<double>(table_pages * kPageSize) / r;
  state.counters["heap_bytes_per_page"] = static_cast<double>(heap) / r;
}
BENCHMARK(BM_Sim_PageTableBytes)
    ->Arg(kTenMillion)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// range(0) one-page regions with alternating protections (so none merges)
// in one mm whose max_map_count is raised to 2,000,000. bytes_per_region =
// malloc's growth while building them / regions: the Vma objects, the index
// nodes and whatever else a region costs, malloc's chunk headers included.
void BM_Sim_RegionBytes(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  MmConfig config;
  config.max_map_count = 2'000'000;
  auto phys = std::make_shared<PhysMem>(Pool(1024));
  uint64_t heap = 0;
  int regions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto mm = std::make_unique<MmStruct>(config, phys);
    const uint64_t heap_before = HeapInUse();
    state.ResumeTiming();
    if (std::string err = SimBuildRegions(*mm, n); !err.empty()) {
      state.SkipWithError(err.c_str());
      return;
    }
    state.PauseTiming();
    heap = HeapInUse() - heap_before;
    regions = mm->Counters().map_count;
    mm.reset();
    state.ResumeTiming();
  }
  state.counters["regions"] = regions;
  state.counters["bytes_per_region"] =
      static_cast<double>(heap) / static_cast<double>(regions);
  state.counters["sizeof_vma"] = sizeof(Vma);
}
BENCHMARK(BM_Sim_RegionBytes)
    ->Arg(kOneMillion)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mmsim
