// The simulator against the real kernel, in one process: each pair runs the
// same region operation as a real system call on this process
// (BM_Kernel_*) and as an MmStruct call (BM_Sim_*). bench_main.cc prints the
// ratio sim / kernel after the run. Nothing here asserts on time.
//
// The kernel side works only inside its own arena (bench/bench_arena.h).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_arena.h"
#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/mm_struct.h"
#include "core/vma.h"

namespace mmsim {
namespace {

using bench::AnonArgs;
using bench::ArenaAddr;
using bench::CheckArenaEmpty;
using bench::CountKernelVmas;
using bench::KernelBuildRegions;
using bench::KernelClearArena;
using bench::KernelRegionCount;
using bench::kKernelArenaBase;
using bench::kKernelArenaSize;
using bench::kSimRegionBase;
using bench::SimBuildRegions;

// Addresses for lookups come from a precomputed table so that the random
// generator stays out of the timed loop. A power of two, indexed with a mask.
constexpr size_t kAddrTableSize = size_t{1} << 16;
constexpr uint64_t kSeed = 0x6d6d73696d;  // "mmsim"

// Regions already mapped in the "Among" placement benchmarks: close to
// max_map_count, leaving the kernel side room for this process's own VMAs
// and the new mapping.
constexpr int kAmongRegions = 65000;

// Page-aligned addresses spread uniformly over `pages` pages from `base`.
std::vector<uint64_t> RandomPageAddrs(uint64_t base, uint64_t pages) {
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<uint64_t> page(0, pages - 1);
  std::vector<uint64_t> addrs(kAddrTableSize);
  for (uint64_t& a : addrs) a = base + page(rng) * kPageSize;
  return addrs;
}

// The simulator's find_vma runs on byte addresses, not just page starts.
std::vector<uint64_t> RandomByteAddrs(uint64_t base, uint64_t pages) {
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<uint64_t> off(0, pages * kPageSize - 1);
  std::vector<uint64_t> addrs(kAddrTableSize);
  for (uint64_t& a : addrs) a = base + off(rng);
  return addrs;
}

// ---------------------------------------------------------------------------
// mmap + munmap of one anonymous page.

// The timed loop of the kernel side: mmap of one page at a hint in the
// middle of the arena, then munmap.
void KernelMmapMunmapLoop(benchmark::State& state) {
  void* const hint = ArenaAddr(kKernelArenaSize / 2);
  for (auto _ : state) {
    void* p = mmap(hint, kPageSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != hint) {
      if (p != MAP_FAILED) munmap(p, kPageSize);
      state.SkipWithError("mmap did not honour the arena hint");
      break;
    }
    munmap(p, kPageSize);
  }
}

// Kernel: a hint inside the arena, not MAP_FIXED, like the simulator call
// below (which has no hint and searches top-down; both searches are cheap
// next to the rest of mmap_region()). The page is never touched, so no page
// fault is counted, as in the simulator.
void BM_Kernel_MmapMunmap1Page(benchmark::State& state) {
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  KernelMmapMunmapLoop(state);
  state.counters["kernel_vmas"] = CountKernelVmas();
}
BENCHMARK(BM_Kernel_MmapMunmap1Page);

void BM_Sim_MmapMunmap1Page(benchmark::State& state) {
  MmStruct mm;  // default MmConfig
  const MmapArgs args = AnonArgs(kPageSize, kProtRead | kProtWrite);
  for (auto _ : state) {
    absl::StatusOr<uint64_t> addr = mm.DoMmap(args);
    if (!addr.ok()) {
      state.SkipWithError(std::string(addr.status().message()).c_str());
      break;
    }
    absl::Status st = mm.DoMunmap(*addr, kPageSize);
    if (!st.ok()) {
      state.SkipWithError(std::string(st.message()).c_str());
      break;
    }
  }
}
BENCHMARK(BM_Sim_MmapMunmap1Page);

// The same with range(0) regions already mapped: does placing a mapping
// stay cheap when the address space is full? The simulator's regions sit
// where top-down mmap(NULL, ...) calls leave them, packed just under
// mmap_base, and the new mapping is again mmap(NULL, ...) as in
// BM_Sim_MmapMunmap1Page, so the search has to get past all of them. The
// kernel's regions are in the arena and its mmap keeps the hint above them
// (the hole search of mmap(NULL) would start at this process's mmap_base,
// outside the arena); its maple tree keeps per-node gap sizes, so its search
// does not depend on where the regions are.
void BM_Kernel_MmapMunmap1PageAmong(benchmark::State& state) {
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  const uint64_t n = KernelRegionCount(static_cast<uint64_t>(state.range(0)));
  if (std::string err = KernelBuildRegions(n); !err.empty()) {
    KernelClearArena();
    state.SkipWithError(err.c_str());
    return;
  }
  KernelMmapMunmapLoop(state);
  state.counters["regions"] = static_cast<double>(n);
  KernelClearArena();
}
BENCHMARK(BM_Kernel_MmapMunmap1PageAmong)->Arg(1000)->Arg(kAmongRegions);

void BM_Sim_MmapMunmap1PageAmong(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  MmStruct mm;
  const uint64_t top = mm.config().mmap_base;
  // What n calls of mmap(NULL, 4096) with alternating protections leave,
  // built with MAP_FIXED because n searches would take O(n^2).
  for (uint64_t i = 0; i < n; ++i) {
    const int prot = (i % 2 == 0) ? kProtRead : (kProtRead | kProtWrite);
    absl::StatusOr<uint64_t> addr = mm.DoMmap(
        AnonArgs(kPageSize, prot, top - (i + 1) * kPageSize, kMapFixed));
    if (!addr.ok()) {
      state.SkipWithError(std::string(addr.status().message()).c_str());
      return;
    }
  }
  const MmapArgs args = AnonArgs(kPageSize, kProtRead | kProtWrite);
  for (auto _ : state) {
    absl::StatusOr<uint64_t> addr = mm.DoMmap(args);
    if (!addr.ok() || !mm.DoMunmap(*addr, kPageSize).ok()) {
      state.SkipWithError("DoMmap/DoMunmap failed");
      break;
    }
  }
  state.counters["regions"] = static_cast<double>(mm.Counters().map_count);
}
BENCHMARK(BM_Sim_MmapMunmap1PageAmong)->Arg(1000)->Arg(kAmongRegions);

// ---------------------------------------------------------------------------
// mprotect split + re-merge: three RW pages; the middle one goes to R (one
// VMA becomes three) and back to RW (three merge into one). One iteration is
// both calls.

void BM_Kernel_MprotectSplitMerge(benchmark::State& state) {
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  void* const base = ArenaAddr(0);
  void* const mid = ArenaAddr(kPageSize);
  const uint64_t lo = kKernelArenaBase;
  const uint64_t hi = lo + kKernelArenaSize;
  if (mmap(base, 3 * kPageSize, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != base) {
    state.SkipWithError("mmap of 3 pages in the arena failed");
    return;
  }
  // Check once, untimed, that the kernel really splits and re-merges.
  mprotect(mid, kPageSize, PROT_READ);
  const int split = CountKernelVmas(lo, hi);
  mprotect(mid, kPageSize, PROT_READ | PROT_WRITE);
  const int merged = CountKernelVmas(lo, hi);
  if (split != 3 || merged != 1) {
    KernelClearArena();
    state.SkipWithError(
        absl::StrCat("kernel VMAs split/merged: ", split, "/", merged).c_str());
    return;
  }
  for (auto _ : state) {
    if (mprotect(mid, kPageSize, PROT_READ) != 0 ||
        mprotect(mid, kPageSize, PROT_READ | PROT_WRITE) != 0) {
      state.SkipWithError("mprotect failed");
      break;
    }
  }
  KernelClearArena();
}
BENCHMARK(BM_Kernel_MprotectSplitMerge);

void BM_Sim_MprotectSplitMerge(benchmark::State& state) {
  MmStruct mm;
  absl::StatusOr<uint64_t> base =
      mm.DoMmap(AnonArgs(3 * kPageSize, kProtRead | kProtWrite));
  if (!base.ok()) {
    state.SkipWithError(std::string(base.status().message()).c_str());
    return;
  }
  const uint64_t mid = *base + kPageSize;
  (void)mm.Mprotect(mid, kPageSize, kProtRead);
  const int split = mm.Counters().map_count;
  (void)mm.Mprotect(mid, kPageSize, kProtRead | kProtWrite);
  const int merged = mm.Counters().map_count;
  if (split != 3 || merged != 1) {
    state.SkipWithError(
        absl::StrCat("sim VMAs split/merged: ", split, "/", merged).c_str());
    return;
  }
  for (auto _ : state) {
    absl::Status a = mm.Mprotect(mid, kPageSize, kProtRead);
    absl::Status b = mm.Mprotect(mid, kPageSize, kProtRead | kProtWrite);
    if (!a.ok() || !b.ok()) {
      state.SkipWithError("Mprotect failed");
      break;
    }
  }
}
BENCHMARK(BM_Sim_MprotectSplitMerge);

// ---------------------------------------------------------------------------
// find_vma. The kernel has no find_vma system call. The closest is
// msync(addr, 4096, MS_ASYNC) on a private anonymous page: in mm/msync.c it
// takes mmap_read_lock, calls find_vma() once, sees there is nothing to
// write back and unlocks, so it is syscall entry/exit + read lock + one
// maple-tree walk. mincore() of one page (vma_lookup plus a one-page page
// table walk and a copy_to_user) is measured too, for reference.
//
// Both sides get the same layout: range(0) one-page regions with
// alternating protections. The kernel side is capped by vm.max_map_count
// less the VMAs this process already has; counter "regions" says how many
// it really got.

template <int (*kCall)(void* page)>
void KernelLookupBench(benchmark::State& state) {
  if (std::string err = CheckArenaEmpty(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  const uint64_t n = KernelRegionCount(static_cast<uint64_t>(state.range(0)));
  if (n == 0) {
    state.SkipWithError("no room under vm.max_map_count");
    return;
  }
  if (std::string err = KernelBuildRegions(n); !err.empty()) {
    KernelClearArena();
    state.SkipWithError(err.c_str());
    return;
  }
  const std::vector<uint64_t> addrs = RandomPageAddrs(kKernelArenaBase, n);
  size_t i = 0;
  for (auto _ : state) {
    void* page = reinterpret_cast<void*>(addrs[i++ & (kAddrTableSize - 1)]);
    if (kCall(page) != 0) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  state.counters["regions"] = static_cast<double>(n);
  state.counters["kernel_vmas"] = CountKernelVmas();
  KernelClearArena();
}

int MsyncAsync(void* page) { return msync(page, kPageSize, MS_ASYNC); }
int MincoreOnePage(void* page) {
  unsigned char vec;
  return mincore(page, kPageSize, &vec);
}

void BM_Kernel_FindVma(benchmark::State& state) {
  KernelLookupBench<MsyncAsync>(state);
}
BENCHMARK(BM_Kernel_FindVma)->Arg(1)->Arg(1000)->Arg(kDefaultMaxMapCount);

void BM_Kernel_Mincore1Page(benchmark::State& state) {
  KernelLookupBench<MincoreOnePage>(state);
}
BENCHMARK(BM_Kernel_Mincore1Page)->Arg(1)->Arg(1000)->Arg(kDefaultMaxMapCount);

// The cost of entering and leaving the kernel at all: the floor under every
// BM_Kernel_* number.
void BM_Kernel_SyscallFloor(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(syscall(SYS_getppid));
  }
}
BENCHMARK(BM_Kernel_SyscallFloor);

// The simulator's FindVma at range(0) regions, random byte addresses over
// the mapped range, 2^16 of them in a table.
void BM_Sim_FindVma(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  MmStruct mm;
  if (std::string err = SimBuildRegions(mm, n); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  const std::vector<uint64_t> addrs = RandomByteAddrs(kSimRegionBase, n);
  size_t i = 0;
  for (auto _ : state) {
    std::optional<Vma> vma = mm.FindVma(addrs[i++ & (kAddrTableSize - 1)]);
    benchmark::DoNotOptimize(vma);
  }
  state.counters["regions"] = static_cast<double>(n);
}
BENCHMARK(BM_Sim_FindVma)->Arg(1)->Arg(1000)->Arg(kDefaultMaxMapCount);

// The same, walking the regions in address order, one page per call (the
// access pattern of a fault-in loop or of /proc/PID/maps readers).
void BM_Sim_FindVmaSequential(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  MmStruct mm;
  if (std::string err = SimBuildRegions(mm, n); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  uint64_t page = 0;
  for (auto _ : state) {
    std::optional<Vma> vma = mm.FindVma(kSimRegionBase + page * kPageSize);
    benchmark::DoNotOptimize(vma);
    if (++page == n) page = 0;
  }
  state.counters["regions"] = static_cast<double>(n);
}
BENCHMARK(BM_Sim_FindVmaSequential)->Arg(1000)->Arg(kDefaultMaxMapCount);

}  // namespace
}  // namespace mmsim
