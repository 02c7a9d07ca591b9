#include "bench/bench_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/vma.h"

namespace mmsim {
namespace bench {

int CountKernelVmas(uint64_t lo, uint64_t hi) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line)) {
    if (lo == 0 && hi == 0) {
      ++n;
      continue;
    }
    unsigned long long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &start, &end) != 2) continue;
    if (start >= lo && end <= hi) ++n;
  }
  return n;
}

int KernelMaxMapCount() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  int v = kDefaultMaxMapCount;
  f >> v;
  return v;
}

std::string CheckArenaEmpty() {
  void* p = mmap(
      ArenaAddr(0), kKernelArenaSize, PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) {
    return absl::StrCat("kernel arena not free: ", std::strerror(errno));
  }
  munmap(p, kKernelArenaSize);
  if (p != ArenaAddr(0)) {
    return "kernel ignores MAP_FIXED_NOREPLACE (Linux < 4.17?)";
  }
  return "";
}

std::string KernelBuildRegions(uint64_t pages) {
  void* p = mmap(
      ArenaAddr(0), pages * kPageSize, PROT_READ,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != ArenaAddr(0)) {
    return absl::StrCat("mmap arena: ", std::strerror(errno));
  }
  for (uint64_t i = 1; i < pages; i += 2) {
    if (mprotect(ArenaAddr(i * kPageSize), kPageSize, PROT_READ | PROT_WRITE) !=
        0) {
      return absl::StrCat("mprotect page ", i, ": ", std::strerror(errno));
    }
  }
  return "";
}

uint64_t KernelRegionCount(uint64_t wanted) {
  const int room = KernelMaxMapCount() - CountKernelVmas() - 16;
  if (room <= 0) return 0;
  return std::min<uint64_t>(wanted, static_cast<uint64_t>(room));
}

void KernelClearArena() { munmap(ArenaAddr(0), kKernelArenaSize); }

MmapArgs AnonArgs(uint64_t len, int prot, uint64_t addr, int extra) {
  MmapArgs args;
  args.addr = addr;
  args.len = len;
  args.prot = prot;
  args.flags = kMapPrivate | kMapAnonymous | extra;
  return args;
}

std::string SimBuildRegions(MmStruct& mm, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const int prot = (i % 2 == 0) ? kProtRead : (kProtRead | kProtWrite);
    absl::StatusOr<uint64_t> addr = mm.DoMmap(
        AnonArgs(kPageSize, prot, kSimRegionBase + i * kPageSize, kMapFixed));
    if (!addr.ok()) {
      return absl::StrCat("DoMmap region ", i, ": ",
                          std::string(addr.status().message()));
    }
  }
  const int count = mm.Counters().map_count;
  if (static_cast<uint64_t>(count) != n) {
    return absl::StrCat("expected ", n, " regions, map_count is ", count);
  }
  return "";
}

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace bench
}  // namespace mmsim
