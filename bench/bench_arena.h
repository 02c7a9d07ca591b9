// Helpers shared by the kernel-vs-simulator benchmarks: the kernel side's
// private address range (the arena) and the region layouts both sides build.
//
// The kernel side works only inside its arena,
// [kKernelArenaBase, kKernelArenaBase + kKernelArenaSize), far from this
// process's heap, libraries and stacks. The arena is checked to be empty
// before use (MAP_FIXED_NOREPLACE), every mapping is made there, and every
// benchmark leaves it empty again, so the real syscalls never touch memory
// that the benchmark library, malloc or the simulator own.
#ifndef MMSIM_BENCH_BENCH_ARENA_H_
#define MMSIM_BENCH_BENCH_ARENA_H_

#include <cstdint>
#include <string>

#include "core/mm_struct.h"

namespace mmsim {
namespace bench {

// 32 TiB up: far below both the PIE binary and its heap (0x55.., ~85 TiB)
// and the mmap area and stacks (0x7f.., ~127 TiB), with or without ASLR, so
// neither malloc nor the loader places anything here. It is also above
// AddressSanitizer's shadow, which ends at 0x10007fff8000. (ThreadSanitizer
// does not allow application mappings here; it drops the hint, and the
// kernel benchmarks then report an error instead of running.)
inline constexpr uint64_t kKernelArenaBase = uint64_t{0x200000000000};
inline constexpr uint64_t kKernelArenaSize = uint64_t{1} << 30;  // 1 GiB

// The simulator's regions for the lookup benchmarks start here (any address
// above mmap_min_addr would do: it is a simulated address space).
inline constexpr uint64_t kSimRegionBase = uint64_t{0x10000000};

inline void* ArenaAddr(uint64_t offset) {
  return reinterpret_cast<void*>(kKernelArenaBase + offset);
}

// Returns the number of lines of /proc/self/maps whose range lies in
// [lo, hi), or, with lo == hi == 0, all of them.
int CountKernelVmas(uint64_t lo = 0, uint64_t hi = 0);

// vm.max_map_count of the running kernel.
int KernelMaxMapCount();

// Returns "" when the arena is empty, else why it cannot be used.
std::string CheckArenaEmpty();

// Maps `pages` pages at the arena base with alternating protections
// (even pages R, odd pages RW), which gives `pages` separate VMAs.
std::string KernelBuildRegions(uint64_t pages);

// Returns how many of `wanted` one-page regions the kernel side can have:
// vm.max_map_count less the VMAs this process already has, less a margin.
uint64_t KernelRegionCount(uint64_t wanted);

// Unmaps the whole arena.
void KernelClearArena();

MmapArgs AnonArgs(uint64_t len, int prot, uint64_t addr = 0, int extra = 0);

// Builds `n` one-page simulated regions from kSimRegionBase with
// alternating protections (even R, odd RW, as KernelBuildRegions), so that
// none merges with its neighbour. Returns "" or what went wrong.
std::string SimBuildRegions(MmStruct& mm, uint64_t n);

// Thread CPU time (CLOCK_THREAD_CPUTIME_ID), in ns.
int64_t ThreadCpuNs();

}  // namespace bench
}  // namespace mmsim

#endif  // MMSIM_BENCH_BENCH_ARENA_H_
