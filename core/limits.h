// Constants of the simulated machine: x86-64 with 4-level paging, 4 KiB
// pages, and the uapi values of mmap(2), mprotect(2), mremap(2), madvise(2)
// and mlock(2) flags. The values are Linux's own so a request can carry the
// numbers a C program would pass.
#ifndef MMSIM_CORE_LIMITS_H_
#define MMSIM_CORE_LIMITS_H_

#include <cstdint>

namespace mmsim {

inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
inline constexpr uint64_t kPageMask = ~(kPageSize - 1);
inline constexpr uint64_t kPmdSize = uint64_t{2} << 20;  // THP size

// Linux: arch/x86/include/asm/page_64_types.h TASK_SIZE_MAX (4-level).
inline constexpr uint64_t kTaskSize = (uint64_t{1} << 47) - kPageSize;
// Linux: TASK_UNMAPPED_BASE, the bottom-up (legacy) mmap base.
inline constexpr uint64_t kTaskUnmappedBase =
    ((kTaskSize / 3) + kPageSize - 1) & kPageMask;
// Linux: mm/util.c mmap_base() without randomization: TASK_SIZE - 128 MiB.
inline constexpr uint64_t kDefaultMmapBase = kTaskSize - (uint64_t{128} << 20);
// Linux: vm.max_map_count default (DEFAULT_MAX_MAP_COUNT).
inline constexpr int kDefaultMaxMapCount = 65530;
// Linux: vm.mmap_min_addr, Debian's default.
inline constexpr uint64_t kDefaultMmapMinAddr = 65536;
// Linux: mm/mmap.c stack_guard_gap = 256 pages.
inline constexpr uint64_t kStackGuardGap = 256 * kPageSize;
inline constexpr uint64_t kRlimInfinity = ~uint64_t{0};

// <asm-generic/mman-common.h>
inline constexpr int kProtNone = 0x0;
inline constexpr int kProtRead = 0x1;
inline constexpr int kProtWrite = 0x2;
inline constexpr int kProtExec = 0x4;
inline constexpr int kProtSem = 0x8;
inline constexpr int kProtGrowsdown = 0x01000000;
inline constexpr int kProtGrowsup = 0x02000000;

inline constexpr int kMapShared = 0x01;
inline constexpr int kMapPrivate = 0x02;
inline constexpr int kMapSharedValidate = 0x03;
inline constexpr int kMapDroppable = 0x08;
inline constexpr int kMapType = 0x0f;
inline constexpr int kMapFixed = 0x10;
inline constexpr int kMapAnonymous = 0x20;
inline constexpr int kMap32Bit = 0x40;
inline constexpr int kMapGrowsdown = 0x0100;
inline constexpr int kMapDenywrite = 0x0800;
inline constexpr int kMapExecutable = 0x1000;
inline constexpr int kMapLocked = 0x2000;
inline constexpr int kMapNoreserve = 0x4000;
inline constexpr int kMapPopulate = 0x8000;
inline constexpr int kMapNonblock = 0x10000;
inline constexpr int kMapStack = 0x20000;
inline constexpr int kMapHugetlb = 0x40000;
inline constexpr int kMapSync = 0x80000;
inline constexpr int kMapFixedNoreplace = 0x100000;
inline constexpr int kMapUninitialized = 0x4000000;
// Linux: LEGACY_MAP_MASK, the flags MAP_SHARED silently accepts.
inline constexpr int kLegacyMapMask =
    kMapShared | kMapPrivate | kMapFixed | kMapAnonymous | kMapDenywrite |
    kMapExecutable | kMapUninitialized | kMapGrowsdown | kMapLocked |
    kMapNoreserve | kMapPopulate | kMapNonblock | kMapStack | kMapHugetlb;

inline constexpr int kMremapMaymove = 1;
inline constexpr int kMremapFixed = 2;
inline constexpr int kMremapDontunmap = 4;

inline constexpr int kMlockOnfault = 0x01;
inline constexpr int kMclCurrent = 1;
inline constexpr int kMclFuture = 2;
inline constexpr int kMclOnfault = 4;

inline constexpr int kMadvNormal = 0;
inline constexpr int kMadvRandom = 1;
inline constexpr int kMadvSequential = 2;
inline constexpr int kMadvWillneed = 3;
inline constexpr int kMadvDontneed = 4;
inline constexpr int kMadvFree = 8;
inline constexpr int kMadvRemove = 9;
inline constexpr int kMadvDontfork = 10;
inline constexpr int kMadvDofork = 11;
inline constexpr int kMadvMergeable = 12;
inline constexpr int kMadvUnmergeable = 13;
inline constexpr int kMadvHugepage = 14;
inline constexpr int kMadvNohugepage = 15;
inline constexpr int kMadvDontdump = 16;
inline constexpr int kMadvDodump = 17;
inline constexpr int kMadvWipeonfork = 18;
inline constexpr int kMadvKeeponfork = 19;
inline constexpr int kMadvCold = 20;
inline constexpr int kMadvPageout = 21;
inline constexpr int kMadvPopulateRead = 22;
inline constexpr int kMadvPopulateWrite = 23;
inline constexpr int kMadvDontneedLocked = 24;
inline constexpr int kMadvCollapse = 25;
inline constexpr int kMadvGuardInstall = 102;
inline constexpr int kMadvGuardRemove = 103;

// Open mode of the descriptor a file mapping is made through (FMODE_*).
inline constexpr int kFmodeRead = 0x1;
inline constexpr int kFmodeWrite = 0x2;

inline constexpr uint64_t PageAlign(uint64_t x) {
  return (x + kPageSize - 1) & kPageMask;
}
inline constexpr bool PageAligned(uint64_t x) { return (x & ~kPageMask) == 0; }

}  // namespace mmsim

#endif  // MMSIM_CORE_LIMITS_H_
