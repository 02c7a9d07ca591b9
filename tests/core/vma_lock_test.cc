// Per-VMA lock mode (MmConfig::per_vma_lock): faults take their region's
// own lock instead of mmap_sem, and every answer equals the default mode's.
// The concurrent side (races, deadlocks) is ConcurrencyTest under TSan,
// which runs in both modes.
#include <cerrno>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/lock_stats.h"
#include "core/mm_struct.h"
#include "gtest/gtest.h"

namespace mmsim {
namespace {

constexpr uint64_t kPage = kPageSize;

MmConfig PerVma(bool on) {
  MmConfig config;
  config.per_vma_lock = on;
  return config;
}

LockStat Stat(const std::string& lock, const std::string& mode) {
  for (const LockStat& s : SnapshotLockStats()) {
    if (s.lock_name == lock && s.mode_name == mode) return s;
  }
  return LockStat{};
}

// Once a region has its anon_vma, faults in it take vma_lock for reading
// and never mmap_sem; the first write fault (anon_vma_prepare) and a fault
// in a hole still go through mmap_sem, as in Linux.
TEST(VmaLockTest, FaultsTakeTheRegionsLockNotMmapSem) {
  MmStruct mm(PerVma(true));
  MmapArgs args;
  args.len = 16 * kPage;
  args.prot = kProtRead | kProtWrite;
  absl::StatusOr<uint64_t> base = mm.DoMmap(args);
  ASSERT_TRUE(base.ok()) << base.status();

  uint64_t sem_reads = Stat("mmap_sem", "read").acquisitions;
  uint64_t sem_writes = Stat("mmap_sem", "write").acquisitions;
  EXPECT_EQ(mm.HandleMmFault(*base, FaultAccess::kWrite).kind,
            FaultKind::kMinor);
  // anon_vma_prepare() ran under mmap_sem (write).
  EXPECT_GT(Stat("mmap_sem", "write").acquisitions, sem_writes);

  sem_reads = Stat("mmap_sem", "read").acquisitions;
  sem_writes = Stat("mmap_sem", "write").acquisitions;
  const uint64_t vma_reads = Stat("vma_lock", "read").acquisitions;
  for (uint64_t p = 1; p < 16; ++p) {
    const FaultResult r = mm.HandleMmFault(
        *base + p * kPage, p % 2 ? FaultAccess::kWrite : FaultAccess::kRead);
    EXPECT_EQ(r.kind, FaultKind::kMinor) << p;
  }
  EXPECT_EQ(Stat("vma_lock", "read").acquisitions - vma_reads, 15u);
  EXPECT_EQ(Stat("mmap_sem", "read").acquisitions, sem_reads);
  EXPECT_EQ(Stat("mmap_sem", "write").acquisitions, sem_writes);
  EXPECT_EQ(mm.PageStats().rss.anon, 9u);  // page 0 and the odd pages written

  // A hole: the lookup fails in the snapshot, mmap_sem decides (SEGV).
  const FaultResult hole =
      mm.HandleMmFault(*base + 16 * kPage, FaultAccess::kRead);
  EXPECT_EQ(hole.kind, FaultKind::kSigsegv);
  EXPECT_EQ(hole.si_code, kSegvMaperr);
  EXPECT_GT(Stat("mmap_sem", "read").acquisitions, sem_reads);

  // After munmap the snapshot no longer has the region.
  ASSERT_TRUE(mm.DoMunmap(*base, 16 * kPage).ok());
  EXPECT_EQ(mm.HandleMmFault(*base, FaultAccess::kRead).kind,
            FaultKind::kSigsegv);
  EXPECT_EQ(mm.PageStats().rss.anon, 0u);
  mm.ValidateMm();
}

// The same seeded sequence of region calls and faults on two mms, one per
// mode: every status, every fault's result, the region list and the page
// counters agree after every step.
TEST(VmaLockTest, RandomSequencesAnswerAsTheMmapSemMode) {
  constexpr uint64_t kWindow = 64;  // pages
  const int prots[] = {kProtNone, kProtRead, kProtRead | kProtWrite,
                       kProtRead | kProtExec};
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    MmStruct plain(PerVma(false));
    MmStruct fast(PerVma(true));
    std::mt19937_64 rng(seed);
    MmapArgs window;
    window.len = kWindow * kPage;
    window.prot = kProtNone;
    absl::StatusOr<uint64_t> base = plain.DoMmap(window);
    ASSERT_TRUE(base.ok());
    ASSERT_EQ(*fast.DoMmap(window), *base);
    ASSERT_TRUE(plain.DoMunmap(*base, window.len).ok());
    ASSERT_TRUE(fast.DoMunmap(*base, window.len).ok());
    auto page = [&](uint64_t p) { return *base + p * kPage; };
    for (int step = 0; step < 400; ++step) {
      const uint64_t p = rng() % kWindow;
      const uint64_t n = 1 + rng() % 8;
      const int op = static_cast<int>(rng() % 10);
      std::string what;
      absl::Status a, b;
      if (op < 4) {
        const uint64_t at = page(rng() % (kWindow + 4));
        const FaultAccess access = static_cast<FaultAccess>(rng() % 3);
        const FaultResult x = plain.HandleMmFault(at, access);
        const FaultResult y = fast.HandleMmFault(at, access);
        what = absl::StrFormat("fault %#x access %d", at,
                               static_cast<int>(access));
        ASSERT_EQ(x.kind, y.kind)
            << "seed " << seed << " step " << step << " " << what;
        ASSERT_EQ(x.source, y.source) << what;
        ASSERT_EQ(x.si_code, y.si_code) << what;
        ASSERT_EQ(x.cow, y.cow) << what;
      } else if (op < 6) {
        MmapArgs args;
        args.addr = page(p);
        args.len = n * kPage;
        args.prot = prots[rng() % 4];
        args.flags = kMapAnonymous | kMapFixed |
                     (rng() % 4 == 0 ? kMapShared : kMapPrivate);
        what = absl::StrFormat("mmap %#x +%d", args.addr, n);
        absl::StatusOr<uint64_t> x = plain.DoMmap(args);
        absl::StatusOr<uint64_t> y = fast.DoMmap(args);
        a = x.status();
        b = y.status();
        if (x.ok() && y.ok()) {
          ASSERT_EQ(*x, *y) << what;
        }
      } else if (op == 6) {
        what = absl::StrFormat("munmap %#x +%d", page(p), n);
        a = plain.DoMunmap(page(p), n * kPage);
        b = fast.DoMunmap(page(p), n * kPage);
      } else if (op == 7) {
        const int prot = prots[rng() % 4];
        what = absl::StrFormat("mprotect %#x +%d %d", page(p), n, prot);
        a = plain.Mprotect(page(p), n * kPage, prot);
        b = fast.Mprotect(page(p), n * kPage, prot);
      } else if (op == 8) {
        what = absl::StrFormat("madvise dontneed %#x +%d", page(p), n);
        a = plain.Madvise(page(p), n * kPage, kMadvDontneed);
        b = fast.Madvise(page(p), n * kPage, kMadvDontneed);
      } else {
        // Grow in place or move (MREMAP_MAYMOVE).
        what = absl::StrFormat("mremap %#x +%d", page(p), n);
        absl::StatusOr<uint64_t> x = plain.Mremap(
            page(p), n * kPage, (n + 1) * kPage, kMremapMaymove, 0);
        absl::StatusOr<uint64_t> y =
            fast.Mremap(page(p), n * kPage, (n + 1) * kPage, kMremapMaymove, 0);
        a = x.status();
        b = y.status();
        if (x.ok() && y.ok()) {
          ASSERT_EQ(*x, *y) << what;
        }
      }
      ASSERT_EQ(a.code(), b.code()) << "seed " << seed << " step " << step
                                    << " " << what << ": " << a << " / " << b;
      const std::vector<Vma> vx = plain.Vmas();
      const std::vector<Vma> vy = fast.Vmas();
      ASSERT_EQ(vx.size(), vy.size()) << "step " << step << " " << what;
      for (size_t i = 0; i < vx.size(); ++i) {
        ASSERT_EQ(vx[i].vm_start, vy[i].vm_start) << what;
        ASSERT_EQ(vx[i].vm_end, vy[i].vm_end) << what;
        ASSERT_EQ(vx[i].vm_flags, vy[i].vm_flags) << what;
        ASSERT_EQ(vx[i].vm_pgoff, vy[i].vm_pgoff) << what;
        ASSERT_EQ(vx[i].anon_vma != 0, vy[i].anon_vma != 0) << what;
      }
      const MmPageStats sx = plain.PageStats();
      const MmPageStats sy = fast.PageStats();
      ASSERT_EQ(sx.rss.anon, sy.rss.anon) << "step " << step << " " << what;
      ASSERT_EQ(sx.rss.shmem, sy.rss.shmem) << what;
      ASSERT_EQ(sx.min_flt, sy.min_flt) << what;
      ASSERT_EQ(sx.cow_faults, sy.cow_faults) << what;
      ASSERT_EQ(sx.segv_maperr, sy.segv_maperr) << what;
      ASSERT_EQ(sx.segv_accerr, sy.segv_accerr) << what;
    }
    plain.ValidateMm();
    fast.ValidateMm();
  }
}

}  // namespace
}  // namespace mmsim
