#include "tests/conformance/cases.h"

namespace mmsim {
namespace conformance {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kR = 1, kW = 2, kX = 4, kRW = 3;
constexpr uint64_t kShared = 0x01, kPrivate = 0x02;
constexpr uint64_t kFixed = 0x10, kAnon = 0x20;
constexpr uint64_t kGrowsdown = 0x100, kLocked = 0x2000, kPopulate = 0x8000;
constexpr uint64_t kStack = 0x20000, kNoreplace = 0x100000;
constexpr uint64_t kMaymove = 1, kMremapFixed = 2, kDontunmap = 4;
constexpr uint64_t kInf = ~uint64_t{0};

// Builds the ops of one case. Page(i) is page i of a 1024-page area that
// ends 4 MiB below the window top, so layouts read left to right as in the
// kernel's tools/testing/vma tests.
class B {
 public:
  explicit B(const Window& w) : w_(w), base_(w.hi - (8u << 20)) {}
  uint64_t Page(uint64_t i) const { return base_ + i * kPage; }
  static uint64_t Pages(uint64_t n) { return n * kPage; }

  B& Op6(uint32_t kind, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
         uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
    Op op;
    op.kind = kind;
    op.a[0] = a0;
    op.a[1] = a1;
    op.a[2] = a2;
    op.a[3] = a3;
    op.a[4] = a4;
    op.a[5] = a5;
    ops_.push_back(op);
    return *this;
  }
  // Anonymous MAP_FIXED mapping of n pages at page i.
  B& Anon(uint64_t i, uint64_t n, uint64_t prot, uint64_t extra = 0,
          uint64_t type = kPrivate) {
    return Op6(kOpMmap, Page(i), Pages(n), prot, type | kFixed | kAnon | extra,
               kFdNone, 0);
  }
  // File MAP_FIXED mapping of n pages at page i, file page `pgoff`.
  B& File(uint64_t i, uint64_t n, uint64_t prot, uint64_t type, int file,
          int mode, uint64_t pgoff) {
    return Op6(kOpMmap, Page(i), Pages(n), prot, type | kFixed,
               FdSel(file, mode), pgoff * kPage);
  }
  B& Munmap(uint64_t i, uint64_t n) {
    return Op6(kOpMunmap, Page(i), Pages(n));
  }
  B& Mprotect(uint64_t i, uint64_t n, uint64_t prot) {
    return Op6(kOpMprotect, Page(i), Pages(n), prot);
  }
  B& Memlock(uint64_t bytes) {
    return Op6(kOpSetrlimit, kRlimMemlock, std::min(bytes, w_.rlim_max[2]),
               w_.rlim_max[2]);
  }
  // One access at page i (+ off bytes).
  B& Read(uint64_t i, uint64_t off = 0) {
    return Op6(kOpTouch, Page(i) + off, kTouchRead);
  }
  B& Write(uint64_t i, uint64_t off = 0) {
    return Op6(kOpTouch, Page(i) + off, kTouchWrite);
  }
  // Only where it must fault (see kOpTouch).
  B& Exec(uint64_t i) { return Op6(kOpTouch, Page(i), kTouchExec); }
  B& Fork(uint64_t child_writes_page) {
    return Op6(kOpFork, Page(child_writes_page));
  }
  B& Madvise(uint64_t i, uint64_t n, uint64_t advice) {
    return Op6(kOpMadvise, Page(i), Pages(n), advice);
  }
  std::vector<Op> Done() { return ops_; }

  const Window& w_;
  uint64_t base_;
  std::vector<Op> ops_;
};

std::vector<Case> MakeCases() {
  std::vector<Case> c;
  auto add = [&c](const char* name, const char* rule,
                  std::function<void(B&)> body) {
    c.push_back({name, rule, [body](const Window& w) {
                   B b(w);
                   body(b);
                   return b.Done();
                 }});
  };

  // --- merges (mm/vma.c vma_merge_new_range) ---
  add("MergeAnonAdjacentSameProt",
      "a new anonymous mapping right after one with equal flags extends it",
      [](B& b) {
        b.Anon(0, 2, kRW).Anon(2, 2, kRW).Anon(6, 2, kRW).Anon(4, 2, kRW);
      });
  add("MergeAnonDifferentProt",
      "adjacent anonymous mappings with different protections stay apart",
      [](B& b) { b.Anon(0, 2, kRW).Anon(2, 2, kR).Anon(4, 2, kRW); });
  add("MergeFillHoleBothSides",
      "filling the hole between two compatible mappings merges all three",
      [](B& b) { b.Anon(0, 3, kR).Anon(5, 3, kR).Anon(3, 2, kR); });
  add("MergeFileContiguousPgoff",
      "file mappings merge only when the file offsets are contiguous",
      [](B& b) {
        b.File(0, 2, kRW, kShared, 0, 1, 0).File(2, 2, kRW, kShared, 0, 1, 2);
        b.File(10, 2, kRW, kShared, 0, 1, 0).File(12, 2, kRW, kShared, 0, 1, 8);
        b.File(20, 2, kR, kPrivate, 1, 0, 4).File(18, 2, kR, kPrivate, 1, 0, 2);
        b.File(30, 2, kR, kPrivate, 1, 0, 0).File(32, 2, kR, kPrivate, 0, 0, 2);
      });
  add("MergeVmAccountDiffers",
      "a read-only private mapping is not accounted (no VM_ACCOUNT), so it "
      "does not merge with a writable one until mprotect makes it writable",
      [](B& b) { b.Anon(0, 2, kR).Anon(2, 2, kRW).Mprotect(0, 2, kRW); });
  add("MergeSharedAnonNever",
      "shared anonymous mappings are separate shmem objects and never merge",
      [](B& b) { b.Anon(0, 2, kRW, 0, kShared).Anon(2, 2, kRW, 0, kShared); });
  add("MergeAnonVmaCompatibility",
      "populated (faulted) regions get different anon_vmas; filling the hole "
      "between two of them merges with one side only",
      [](B& b) {
        b.Anon(0, 2, kRW, kPopulate).Anon(4, 2, kRW, kPopulate).Anon(2, 2, kRW);
      });

  // --- Understanding the Linux Kernel, figure 8-1 ---
  add("Fig81Enlarge", "adding a compatible adjacent interval enlarges a region",
      [](B& b) { b.Anon(0, 4, kR).Anon(4, 4, kR); });
  add("Fig81Create", "an incompatible interval creates a new region",
      [](B& b) { b.Anon(0, 4, kR).Anon(4, 4, kRW); });
  add("Fig81Shrink", "removing the end of a region shrinks it",
      [](B& b) { b.Anon(0, 8, kRW).Munmap(6, 2).Munmap(0, 2); });
  add("Fig81Split", "removing the middle of a region splits it in two",
      [](B& b) { b.Anon(0, 8, kRW).Munmap(3, 2); });

  // --- munmap ---
  add("MunmapHoleIsNotAnError", "munmap of an unmapped range returns 0",
      [](B& b) { b.Munmap(100, 4).Anon(0, 2, kR).Munmap(2, 10); });
  add("MunmapSpanningRegionsAndHoles",
      "one munmap removes every region in the range and trims the ends",
      [](B& b) {
        b.Anon(0, 3, kR).Anon(4, 3, kRW).Anon(8, 3, kR | kX).Munmap(1, 9);
      });
  add("MunmapInvalid", "unaligned address or zero length is EINVAL", [](B& b) {
    b.Anon(0, 2, kR)
        .Op6(kOpMunmap, b.Page(0) + 1, kPage)
        .Op6(kOpMunmap, b.Page(0), 0)
        .Op6(kOpMunmap, b.Page(0), ~uint64_t{0} - b.Page(0));
  });

  // --- mprotect ---
  add("MprotectSplitMiddle", "mprotect of the middle of a region splits it",
      [](B& b) { b.Anon(0, 5, kRW).Mprotect(2, 1, kR).Mprotect(2, 1, kRW); });
  add("MprotectHolePartialEffect",
      "mprotect over a hole fails with ENOMEM after changing the part before "
      "the hole",
      [](B& b) { b.Anon(0, 2, kRW).Anon(3, 2, kRW).Mprotect(0, 5, kR); });
  add("MprotectStartsInHole", "mprotect starting in a hole is ENOMEM",
      [](B& b) { b.Anon(2, 2, kRW).Mprotect(0, 4, kR); });
  add("MprotectReadOnlySharedFile",
      "a shared mapping of a read-only descriptor cannot become writable "
      "(EACCES); a private one can",
      [](B& b) {
        b.File(0, 2, kR, kShared, 0, 0, 0).Mprotect(0, 2, kRW);
        b.File(4, 2, kR, kPrivate, 0, 0, 0).Mprotect(4, 2, kRW);
      });
  add("MprotectInvalid", "unaligned start, unknown bits: EINVAL; len 0: 0",
      [](B& b) {
        b.Anon(0, 2, kRW)
            .Op6(kOpMprotect, b.Page(0) + 8, kPage, kR)
            .Op6(kOpMprotect, b.Page(0), kPage, 0x10)
            .Op6(kOpMprotect, b.Page(0), 0, kR)
            .Op6(kOpMprotect, b.Page(0), kPage, 0x03000000);
      });
  add("MprotectGrowsdown",
      "PROT_GROWSDOWN extends the change down to the start of a "
      "MAP_GROWSDOWN region; on other regions it is EINVAL",
      [](B& b) {
        b.Anon(0, 4, kRW, kGrowsdown).Mprotect(2, 1, kR | 0x01000000);
        b.Anon(8, 4, kRW).Mprotect(10, 1, kR | 0x01000000);
      });

  // --- mremap ---
  add("MremapShrinkGrowInPlace",
      "mremap shrinks in place and grows in place when the space after is free",
      [](B& b) {
        b.Anon(0, 4, kRW)
            .Op6(kOpMremap, b.Page(0), b.Pages(4), b.Pages(2), 0)
            .Op6(kOpMremap, b.Page(0), b.Pages(2), b.Pages(6), 0);
      });
  add("MremapGrowBlocked",
      "growing into an occupied range is ENOMEM without MREMAP_MAYMOVE and "
      "moves with it",
      [](B& b) {
        b.Anon(0, 4, kRW)
            .Anon(4, 1, kR)
            .Op6(kOpMremap, b.Page(0), b.Pages(4), b.Pages(8), 0)
            .Op6(kOpMremap, b.Page(0), b.Pages(4), b.Pages(8), kMaymove);
      });
  add("MremapFixedAndDontunmap",
      "MREMAP_FIXED moves to the given address (replacing what is there); "
      "MREMAP_DONTUNMAP leaves the source mapped",
      [](B& b) {
        b.Anon(0, 4, kRW)
            .Anon(20, 2, kR)
            .Op6(kOpMremap, b.Page(0), b.Pages(4), b.Pages(4),
                 kMaymove | kMremapFixed, b.Page(19))
            .Op6(kOpMremap, b.Page(19), b.Pages(4), b.Pages(4),
                 kMaymove | kDontunmap);
      });
  add("MremapErrors",
      "EINVAL for unaligned addresses, unknown flags, FIXED without MAYMOVE, "
      "new_len 0, overlapping FIXED ranges; EFAULT for a range that is not "
      "one mapping",
      [](B& b) {
        b.Anon(0, 4, kRW).Anon(4, 2, kR);
        b.Op6(kOpMremap, b.Page(0) + 1, kPage, kPage, 0);
        b.Op6(kOpMremap, b.Page(0), kPage, kPage, 8);
        b.Op6(kOpMremap, b.Page(0), kPage, kPage, kMremapFixed, b.Page(10));
        b.Op6(kOpMremap, b.Page(0), kPage, 0, kMaymove);
        b.Op6(kOpMremap, b.Page(0), b.Pages(2), b.Pages(2),
              kMaymove | kMremapFixed, b.Page(1));
        b.Op6(kOpMremap, b.Page(0), b.Pages(6), b.Pages(8), kMaymove);
        b.Op6(kOpMremap, b.Page(10), b.Pages(1), b.Pages(2), kMaymove);
        b.Op6(kOpMremap, b.Page(0), b.Pages(2), b.Pages(4), kDontunmap);
      });
  add("MremapSharedDuplicate",
      "old_len 0 on a shared mapping creates a second mapping of the same "
      "pages",
      [](B& b) {
        b.Anon(0, 4, kRW, 0, kShared)
            .Op6(kOpMremap, b.Page(0), 0, b.Pages(2), kMaymove)
            .Anon(8, 2, kRW)
            .Op6(kOpMremap, b.Page(8), 0, b.Pages(2), kMaymove);
      });

  // --- brk ---
  add("Brk",
      "brk grows and shrinks the heap; a request below the start or "
      "into another mapping leaves it unchanged",
      [](B& b) {
        uint64_t lo = b.w_.brk_lo;
        b.Op6(kOpBrk, 0)
            .Op6(kOpBrk, lo + b.Pages(3))
            .Op6(kOpBrk, lo + b.Pages(1))
            .Op6(kOpBrk, lo + b.Pages(1) + 5)
            .Op6(kOpBrk, 0x1000)
            .Op6(kOpMmap, lo + b.Pages(8), b.Pages(2), kR,
                 kPrivate | kAnon | kFixed, kFdNone, 0)
            .Op6(kOpBrk, lo + b.Pages(9))
            .Op6(kOpBrk, lo + b.Pages(8))
            .Op6(kOpBrk, lo);
      });

  // --- mlock ---
  add("MlockAccounting",
      "mlock splits regions and counts locked_vm; mlock2 ONFAULT too; "
      "munlock reverses; the limit gives ENOMEM",
      [](B& b) {
        b.Memlock(64 << 10)
            .Anon(0, 8, kRW)
            .Op6(kOpMlock, b.Page(2), b.Pages(3))
            .Op6(kOpMlock2, b.Page(5), b.Pages(2), 1)
            .Op6(kOpMlock, b.Page(0), b.Pages(8))
            .Op6(kOpMunlock, b.Page(3), b.Pages(1))
            .Anon(16, 32, kRW)
            .Op6(kOpMlock, b.Page(16), b.Pages(32))
            .Op6(kOpMlock, b.Page(9), b.Pages(2));
      });
  add("MlockLimitZero",
      "with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK, mlock and MAP_LOCKED are "
      "EPERM",
      [](B& b) {
        b.Memlock(0)
            .Anon(0, 2, kRW)
            .Op6(kOpMlock, b.Page(0), b.Pages(1))
            .Anon(4, 2, kRW, kLocked)
            .Op6(kOpMlockall, 1);
      });
  add("MapLockedOverLimit", "MAP_LOCKED beyond RLIMIT_MEMLOCK is EAGAIN",
      [](B& b) {
        b.Memlock(16 << 10).Anon(0, 2, kRW, kLocked).Anon(4, 8, kRW, kLocked);
      });
  add("MlockallFuture",
      "mlockall(MCL_FUTURE) locks later mappings; munlockall clears it",
      [](B& b) {
        b.Memlock(64 << 20)
            .Op6(kOpMlockall, 2)
            .Anon(0, 2, kRW)
            .Anon(2, 2, kRW)
            .Op6(kOpMunlockall)
            .Anon(4, 2, kRW)
            .Op6(kOpMlockall, 0)
            .Op6(kOpMlockall, 4)
            .Op6(kOpMlockall, 1 | 4)
            .Op6(kOpMunlockall);
      });

  // --- madvise ---
  add("MadviseHoleEnomem",
      "madvise over a hole applies to the mapped parts and returns ENOMEM",
      [](B& b) {
        b.Anon(0, 2, kRW)
            .Anon(3, 2, kRW)
            .Op6(kOpMadvise, b.Page(0), b.Pages(5), 4)
            .Op6(kOpMadvise, b.Page(0), b.Pages(5), 10)
            .Op6(kOpMadvise, b.Page(10), b.Pages(2), 3);
      });
  add("MadviseFlagsSplit",
      "advice that changes vm_flags (DONTFORK, DONTDUMP, HUGEPAGE...) splits "
      "and merges back",
      [](B& b) {
        b.Anon(0, 6, kRW)
            .Op6(kOpMadvise, b.Page(2), b.Pages(2), 10)
            .Op6(kOpMadvise, b.Page(2), b.Pages(2), 11)
            .Op6(kOpMadvise, b.Page(1), b.Pages(1), 16)
            .Op6(kOpMadvise, b.Page(0), b.Pages(6), 14)
            .Op6(kOpMadvise, b.Page(0), b.Pages(6), 18)
            .Op6(kOpMadvise, b.Page(0), b.Pages(6), 999);
      });
  add("MadviseDontneedLocked", "MADV_DONTNEED on a locked region is EINVAL",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 2, kRW, kLocked)
            .Op6(kOpMadvise, b.Page(0), b.Pages(2), 4);
      });

  // --- mmap argument checks and placement ---
  add("MmapErrors",
      "EINVAL (len 0, bad type, unaligned offset), ENOMEM (len overflow), "
      "EBADF, EACCES (descriptor mode), EEXIST (MAP_FIXED_NOREPLACE), EPERM "
      "(below vm.mmap_min_addr), EOVERFLOW (file offset)",
      [](B& b) {
        b.Op6(kOpMmap, 0, 0, kR, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, kPage, kR, kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, kPage, kR, kPrivate | kAnon, kFdNone, 12);
        b.Op6(kOpMmap, 0, ~uint64_t{0} - 10, kR, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, kPage, kR, kPrivate, kFdNone, 0);
        b.Op6(kOpMmap, 0, kPage, kR, kPrivate, kFdBad, 0);
        b.Op6(kOpMmap, 0, kPage, kRW, kShared, FdSel(0, 0), 0);
        b.Op6(kOpMmap, 0, kPage, kR, kPrivate, FdSel(0, 2), 0);
        b.Anon(0, 2, kR).Op6(kOpMmap, b.Page(1), b.Pages(2), kR,
                             kPrivate | kAnon | kNoreplace, kFdNone, 0);
        b.Op6(kOpMmap, 0x1000, kPage, kR, kPrivate | kAnon | kFixed, kFdNone,
              0);
        b.Op6(kOpMmap, 0, kPage, kR, kShared, FdSel(0, 0), uint64_t{1} << 63);
        b.Op6(kOpMmap, 0, kPage, kR, 0x03 | kAnon | 0x400, kFdNone, 0);
      });
  add("MmapTopDownPlacement",
      "mappings without a hint go top-down below mmap_base; a free hint is "
      "used; a taken hint is ignored",
      [](B& b) {
        b.Op6(kOpMmap, 0, b.Pages(3), kR, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, b.Pages(1), kRW, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, b.Page(40), b.Pages(2), kR, kPrivate | kAnon, kFdNone,
              0);
        b.Op6(kOpMmap, b.Page(40), b.Pages(2), kR, kPrivate | kAnon, kFdNone,
              0);
      });
  add("MmapThpAlignment",
      "anonymous private mappings whose length is a multiple of 2 MiB are "
      "2 MiB aligned (Linux >= 6.7); other lengths and shared ones are not",
      [](B& b) {
        b.Op6(kOpMmap, 0, b.Pages(1), kRW, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, 2u << 20, kRW, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, (2u << 20) + kPage, kRW, kPrivate | kAnon, kFdNone,
              0);
        b.Op6(kOpMmap, 0, 4u << 20, kR, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, 2u << 20, kRW, kShared | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, 2u << 20, kRW, kPrivate | kAnon | kStack, kFdNone, 0);
        b.Op6(kOpMmap, 0, 2u << 20, kR, kPrivate, FdSel(3, 0), 0);
      });
  add("MmapGrowsdownGuardGap",
      "top-down placement keeps the stack guard gap below a MAP_GROWSDOWN "
      "region",
      [](B& b) {
        b.Op6(kOpMmap, 0, b.Pages(4), kRW, kPrivate | kAnon | kGrowsdown,
              kFdNone, 0);
        b.Op6(kOpMmap, 0, b.Pages(4), kRW, kPrivate | kAnon, kFdNone, 0);
      });
  add("MmapFixedReplaces",
      "MAP_FIXED over existing regions unmaps what it covers", [](B& b) {
        b.Anon(0, 3, kR)
            .Anon(3, 3, kRW)
            .Anon(2, 2, kR | kX)
            .File(0, 6, kR, kPrivate, 0, 0, 0);
      });
  add("MmapDroppable",
      "MAP_DROPPABLE (type 0x08, Linux >= 6.11) is private anonymous only",
      [](B& b) {
        b.Op6(kOpMmap, 0, b.Pages(2), kRW, 0x08 | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0, b.Pages(2), kRW, 0x08, FdSel(0, 1), 0);
      });

  // --- rules first found by the random suite (minimized reproducers) ---
  add("MmapHintBelowLsmMinAddr",
      "a hint below the kernel's internal mmap_min_addr (max of the sysctl "
      "and CONFIG_LSM_MMAP_MIN_ADDR) is rounded up to it, while MAP_FIXED "
      "there is checked against the sysctl only",
      [](B& b) {
        b.Op6(kOpMmap, 0x1000, kPage, kR, kPrivate | kAnon, kFdNone, 0);
        b.Op6(kOpMmap, 0x2000, kPage, kR, kPrivate | kAnon | kFixed, kFdNone,
              0);
      });
  add("Map32Bit",
      "MAP_32BIT without a hint places the mapping in [1 GiB, 2 GiB) "
      "bottom-up (x86-64)",
      [](B& b) {
        b.Op6(kOpMmap, 0, b.Pages(3), 0, kPrivate | kAnon | 0x40, kFdNone, 0);
        b.Op6(kOpMmap, 0, b.Pages(3), 0, kShared | kAnon | 0x40, kFdNone, 0);
      });
  add("MremapFixedOntoItselfInHole",
      "MREMAP_FIXED with overlapping source and destination is EINVAL even "
      "when the source is not mapped",
      [](B& b) {
        b.Op6(kOpMremap, b.Page(0), kPage, kPage, kMaymove | kMremapFixed,
              b.Page(0));
      });
  add("MremapMovesSeveralVmas",
      "Linux >= 6.17 moves a range spanning several VMAs with "
      "MREMAP_MAYMOVE|MREMAP_FIXED when the length does not change",
      [](B& b) {
        b.Anon(0, 5, kW).Mprotect(1, 3, 0).Op6(
            kOpMremap, b.Page(0), b.Pages(2), b.Pages(2),
            kMaymove | kMremapFixed, b.Page(40));
      });
  add("MremapFixedSourceCheckedFirst",
      "when the source range is not one mapping, mremap fails (EFAULT) "
      "before it unmaps anything at the destination or the source's tail",
      [](B& b) {
        b.Anon(0, 5, kRW, 0, kShared)
            .Munmap(1, 1)
            .Anon(20, 8, kW)
            .Op6(kOpMremap, b.Page(0), b.Pages(5), b.Pages(7),
                 kMaymove | kMremapFixed, b.Page(22));
        b.Anon(40, 1, kR)
            .Anon(50, 1, kRW, 0, kShared)
            .Op6(kOpMremap, b.Page(40), b.Pages(11), b.Pages(8),
                 kMaymove | kMremapFixed, b.Page(60));
      });
  add("MremapSharedDuplicateNoSplit",
      "mremap(old_len = 0) of a shared mapping leaves the source region whole",
      [](B& b) {
        b.Anon(0, 16, kR | kX, 0, kShared)
            .Op6(kOpMremap, b.Page(8), 0, b.Pages(4), kMaymove);
      });
  add("MlockLenOverflow",
      "mlock with a length that wraps is ENOMEM (the RLIMIT_MEMLOCK check "
      "comes before the range check)",
      [](B& b) {
        b.Anon(0, 2, kR, kLocked)
            .Op6(kOpMlock, b.Page(1), ~uint64_t{0} - kPage);
      });
  add("BrkWithMlockallFuture",
      "after mlockall(MCL_FUTURE), brk growth is locked: refused past "
      "RLIMIT_MEMLOCK, merged with a locked heap otherwise",
      [](B& b) {
        b.Memlock(64 << 10)
            .Op6(kOpMlockall, 2 | 4)
            .Op6(kOpBrk, b.w_.brk_lo + b.Pages(64))
            .Op6(kOpMunlockall)
            .Memlock(8 << 20)
            .Op6(kOpMlockall, 1 | 2 | 4)
            .Op6(kOpBrk, b.w_.brk_lo + b.Pages(2));
      });
  add("ShmemFileNoThpAlignment",
      "a 2 MiB shared mapping of a memfd is not 2 MiB aligned while "
      "shmem_enabled is never",
      [](B& b) {
        b.Op6(kOpMmap, 0, 2u << 20, kR, kShared, FdSel(2, 0), 0);
        b.Op6(kOpMmap, 0, 2u << 20, kR, kPrivate, FdSel(3, 0), 0);
      });
  add("MadvisePopulate",
      "MADV_POPULATE_READ/WRITE fault pages in (a write fault gives an "
      "anon_vma, which changes later merges); they fail on PROT_NONE, "
      "beyond EOF and on holes",
      [](B& b) {
        b.Anon(0, 4, kRW)
            .Op6(kOpMadvise, b.Page(0), b.Pages(4), 23)
            .Anon(4, 4, kRW)
            .Anon(10, 2, 0)
            .Op6(kOpMadvise, b.Page(10), b.Pages(2), 23)
            .Op6(kOpMadvise, b.Page(10), b.Pages(2), 22)
            .File(20, 4, kR, kShared, 2, 0, 0)
            .Op6(kOpMadvise, b.Page(20), b.Pages(4), 22)
            .Op6(kOpMadvise, b.Page(0), b.Pages(10), 23);
      });
  add("MadviseGuardInstall",
      "MADV_GUARD_INSTALL/REMOVE (Linux >= 6.13) on anonymous memory",
      [](B& b) {
        b.Anon(0, 4, kRW)
            .Op6(kOpMadvise, b.Page(1), b.Pages(1), 102)
            .Anon(4, 2, kRW)
            .Mprotect(0, 6, kR)
            .Op6(kOpMadvise, b.Page(1), b.Pages(1), 103);
      });

  add("MergeFileNeedsSameOpenFile",
      "file mappings merge only when they come from the same open file "
      "(vm_file is a struct file, not an inode): two descriptors of one file "
      "give two regions even with contiguous offsets",
      [](B& b) {
        b.File(0, 2, kR, kPrivate, 0, 0, 0).File(2, 2, kR, kPrivate, 0, 1, 2);
        b.File(10, 2, kR, kShared, 1, 0, 0).File(12, 2, kR, kShared, 1, 1, 2);
      });
  add("DroppableNeverLocked",
      "MAP_DROPPABLE mappings are not locked by mlockall(MCL_FUTURE) and do "
      "not count in locked_vm",
      [](B& b) {
        b.Memlock(1 << 20)
            .Op6(kOpMlockall, 2)
            .Op6(kOpMmap, 0, b.Pages(2), kRW, 0x08 | kAnon, kFdNone, 0)
            .Op6(kOpMunlockall);
      });
  add("MprotectWritableOnLockedPopulates",
      "mprotect adding PROT_WRITE to a VM_LOCKED private region populates "
      "it (write faults give it an anon_vma), so a later mprotect back does "
      "not merge it with unfaulted neighbours",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 3, kR)
            .Op6(kOpMlock, b.Page(0), b.Pages(3))
            .Mprotect(1, 1, kW)
            .Mprotect(1, 1, kR);
      });
  add("GuardInstallRejectsLockedAndShared",
      "MADV_GUARD_INSTALL is EINVAL on VM_LOCKED mappings and allowed on "
      "shared ones",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 2, kRW, kLocked)
            .Op6(kOpMadvise, b.Page(0), b.Pages(2), 102)
            .Anon(4, 2, kRW, 0, kShared)
            .Op6(kOpMadvise, b.Page(4), b.Pages(2), 102);
      });

  add("MlockProtNone",
      "mlock of a PROT_NONE region sets VM_LOCKED but the populate step "
      "fails (no FOLL_FORCE without access), so mlock returns ENOMEM; "
      "mlock2(MLOCK_ONFAULT) does not populate and succeeds",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 2, 0)
            .Op6(kOpMlock, b.Page(0), b.Pages(2))
            .Anon(4, 2, kR)
            .Anon(6, 2, 0)
            .Op6(kOpMlock2, b.Page(4), b.Pages(4), 1);
      });

  add("MlockLenOverflowInsideLockedRegion",
      "mlock with a wrapping length that starts inside a VM_LOCKED region is "
      "ENOMEM (the RLIMIT_MEMLOCK check comes first)",
      [](B& b) {
        b.Anon(0, 33, kRW, kLocked)
            .Op6(kOpMlock, b.Page(5), ~uint64_t{0} - kPage);
      });
  add("MremapLockedGrowOverLimit",
      "growing a VM_LOCKED mapping with mremap past RLIMIT_MEMLOCK is "
      "EAGAIN, with or without MREMAP_FIXED",
      [](B& b) {
        b.Memlock(64 << 10)
            .Op6(kOpMlockall, 2)
            .Anon(0, 6, kRW)
            .Op6(kOpMremap, b.Page(0), b.Pages(6), b.Pages(20), kMaymove)
            .Op6(kOpMremap, b.Page(0), b.Pages(6), b.Pages(20),
                 kMaymove | kMremapFixed, b.Page(100))
            .Op6(kOpMremap, b.Page(0), b.Pages(6), b.Pages(8), kMaymove)
            // The limit is checked before the destination (itself locked)
            // is unmapped.
            .Memlock(128 << 10)
            .Anon(200, 6, kRW)
            .Anon(300, 8, kRW)
            .Op6(kOpMremap, b.Page(200), b.Pages(6), b.Pages(18),
                 kMaymove | kMremapFixed, b.Page(300));
      });
  add("MlockShmemBeyondObjectSize",
      "mremap can grow a shared anonymous mapping past its shmem object's "
      "size; populating those pages fails, so mlock returns ENOMEM",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 1, kR, 0, kShared)
            .Op6(kOpMremap, b.Page(0), b.Pages(1), b.Pages(8), 0)
            .Op6(kOpMlock, b.Page(0), b.Pages(8))
            .Op6(kOpMlock2, b.Page(0), b.Pages(8), 1);
      });

  add("MremapDontunmapLockedAccounting",
      "MREMAP_DONTUNMAP of a VM_LOCKED mapping: the new mapping is locked "
      "and counted in locked_vm, the old one keeps its pages counted too",
      [](B& b) {
        b.Memlock(1 << 20)
            .Op6(kOpMlockall, 2)
            .Anon(0, 4, kR, 0, kShared)
            .Op6(kOpMremap, b.Page(3), b.Pages(1), b.Pages(1),
                 kMaymove | kDontunmap)
            .Anon(10, 4, kRW)
            .Op6(kOpMremap, b.Page(10), b.Pages(4), b.Pages(4),
                 kMaymove | kDontunmap);
      });

  // --- vm.max_map_count ---
  add("MaxMapCount",
      "map_count may not pass vm.max_map_count: mmap is ENOMEM at the limit, "
      "and so is any munmap or mprotect that would split a region",
      [](B& b) {
        b.Anon(0, 3, kRW);
        b.Op6(kOpFillMapCount, b.Page(0) - (8u << 20), kR, kRW);
        b.Op6(kOpMmap, 0, kPage, kR, kPrivate | kAnon, kFdNone, 0);
        b.Munmap(1, 1)
            .Mprotect(1, 1, kR)
            .Mprotect(0, 1, kR)
            .Munmap(0, 1)
            .Munmap(1, 1);
      });
  // --- faults and pages (mm/memory.c, arch/x86/mm/fault.c) ---
  constexpr uint64_t kDontneed = 4;
  add("TouchReadAnonMapsZeroPage",
      "a read of untouched private anonymous memory maps the shared zero "
      "page: no fault signal and Rss stays 0",
      [](B& b) { b.Anon(0, 4, kRW).Read(1).Read(1, 100).Read(3); });
  add("TouchWriteAnonAllocates",
      "a write fault allocates one anonymous page: Rss 4 kB, Anonymous 4 kB; "
      "a write after a read replaces the zero page",
      [](B& b) { b.Anon(0, 4, kRW).Write(1).Write(1, 9).Read(2).Write(2); });
  add("TouchHoleMaperr",
      "an access to an address with no region is SIGSEGV SEGV_MAPERR",
      [](B& b) {
        b.Anon(0, 2, kRW).Anon(4, 2, kRW).Read(2).Write(3).Exec(2).Read(7);
      });
  add("TouchProtNoneAccerr",
      "any access to a PROT_NONE region is SIGSEGV SEGV_ACCERR",
      [](B& b) { b.Anon(0, 2, 0).Read(0).Write(1).Exec(0); });
  add("TouchWriteReadOnlyAccerr",
      "a write to a read-only region is SEGV_ACCERR, a read of it maps the "
      "zero page, and so is one after mprotect takes write away",
      [](B& b) {
        b.Anon(0, 2, kR).Write(0).Read(0).Anon(4, 2, kRW).Write(4).Mprotect(
            4, 2, kR);
        b.Write(4).Write(5).Read(4);
      });
  add("TouchExecNonExecAccerr",
      "an instruction fetch from a mapped region without PROT_EXEC is "
      "SEGV_ACCERR (NX), whether the page is present or not",
      [](B& b) {
        b.Anon(0, 2, kRW).Write(0).Exec(0).Exec(1).Anon(4, 1, kR).Exec(4);
      });
  add("TouchBelowGrowsdownExpands",
      "an access just below a MAP_GROWSDOWN region grows it down to the "
      "page; within stack_guard_gap (256 pages) of an accessible region "
      "below, or below a region without VM_GROWSDOWN, it is SEGV_MAPERR; a "
      "PROT_NONE region below does not count for the gap",
      [](B& b) {
        b.Anon(300, 4, kRW, kGrowsdown)
            .Write(299)
            .Read(290, 5)
            .Anon(100, 2, kRW)
            .Read(289)
            .Munmap(100, 2)
            .Anon(100, 2, 0)
            .Write(288)
            .Anon(400, 2, kRW)
            .Write(399);
      });
  add("GuardMarkersFaultAndStopPopulate",
      "a guard marker (MADV_GUARD_INSTALL) makes any access SEGV_MAPERR and "
      "makes mlock and MADV_POPULATE_* over it fail (ENOMEM / EFAULT) after "
      "populating the pages before it",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 4, kRW)
            .Madvise(2, 1, 102)  // MADV_GUARD_INSTALL
            .Read(2)
            .Write(2)
            .Madvise(0, 4, 22)  // MADV_POPULATE_READ
            .Madvise(0, 4, 23)  // MADV_POPULATE_WRITE
            .Op6(kOpMlock, b.Page(0), b.Pages(4))
            .Madvise(2, 1, 103)  // MADV_GUARD_REMOVE
            .Op6(kOpMlock, b.Page(0), b.Pages(4));
      });
  add("MapPopulateRss",
      "MAP_POPULATE faults in every page: writable private anonymous gets "
      "real pages (Rss = Anonymous = length), read-only gets the zero page",
      [](B& b) {
        b.Anon(0, 5, kRW, kPopulate)
            .Anon(10, 3, kR, kPopulate)
            .Anon(20, 3, kRW, kPopulate, kShared)
            .File(30, 4, kR, kPrivate | kPopulate, 0, 0, 0)
            .File(40, 4, kRW, kShared | kPopulate, 1, 1, 0);
      });
  add("MlockPopulateLocked",
      "mlock populates the range (write faults on writable private memory) "
      "and smaps shows it as Locked; munlock keeps the pages",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 8, kRW)
            .Op6(kOpMlock, b.Page(2), b.Pages(3))
            .Op6(kOpMlock2, b.Page(6), b.Pages(2), 1)
            .Write(7)
            .Op6(kOpMunlock, b.Page(0), b.Pages(8))
            .Anon(10, 2, kRW, kLocked)
            .Anon(20, 2, kR)
            .Op6(kOpMlock, b.Page(20), b.Pages(2));
      });
  add("MadviseDontneedDropsRss",
      "MADV_DONTNEED zaps the pages of a private mapping (Rss drops; the "
      "next read maps the zero page) but leaves the region",
      [kDontneed](B& b) {
        b.Anon(0, 6, kRW, kPopulate)
            .Madvise(1, 2, kDontneed)
            .Read(1)
            .Write(2)
            .Madvise(0, 6, kDontneed)
            .File(10, 3, kRW, kShared, 1, 1, 0)
            .Write(10)
            .Write(11)
            .Madvise(10, 1, kDontneed)
            .Read(10);
      });
  add("PrivateFileReadThenWrite",
      "a read of a private file mapping maps the page-cache page (Rss, not "
      "Anonymous); a write copies it (Anonymous); past EOF is SIGBUS",
      [](B& b) {
        b.File(0, 4, kRW, kPrivate, 0, 1, 0)
            .Read(0)
            .Read(1)
            .Write(1)
            .Write(2)
            .File(10, 4, kRW, kPrivate, 2, 1, 0)
            .Read(10)
            .Write(11)
            .Read(12)
            .Write(13);
      });
  add("SharedMemfdWrite",
      "a write to a shared memfd mapping maps the shmem page (Rss, never "
      "Anonymous); another mapping of the file sees it only after its own "
      "fault",
      [](B& b) {
        b.File(0, 4, kRW, kShared, 1, 1, 0)
            .Write(0)
            .Write(3)
            .File(10, 4, kR, kShared, 1, 0, 0)
            .Read(10)
            .Read(11)
            .Anon(20, 2, kRW, 0, kShared)
            .Write(20)
            .Read(21);
      });
  add("ForkCopyOnWrite",
      "fork copies the region list; the child's write to a private page "
      "copies it (both keep Rss), a shared page stays shared, "
      "MADV_DONTFORK regions are not copied and the child drops mlock",
      [](B& b) {
        b.Memlock(1 << 20)
            .Anon(0, 4, kRW)
            .Write(0)
            .Write(1)
            .Anon(10, 2, kRW, 0, kShared)
            .Write(10)
            .Anon(20, 2, kRW, kLocked)
            .Anon(30, 2, kRW)
            .Write(30)
            .Madvise(30, 2, 10)  // MADV_DONTFORK
            .Fork(0)
            .Fork(2)
            .Fork(10)
            .Fork(11)
            .Fork(20)
            .Fork(30)
            .Write(0);
      });
  add("ForkWipeonforkAndUntouched",
      "MADV_WIPEONFORK regions come back empty in the child; a region "
      "without an anon_vma has no pages to copy; the child's write to a "
      "read-only page is SEGV_ACCERR",
      [](B& b) {
        b.Anon(0, 2, kRW)
            .Write(0)
            .Madvise(0, 2, 18)  // MADV_WIPEONFORK
            .Anon(10, 2, kRW)
            .Anon(20, 2, kR)
            .Read(20)
            .Fork(0)
            .Fork(10)
            .Fork(20)
            .Fork(40);
      });
  (void)kInf;
  (void)kW;
  return c;
}

}  // namespace

const std::vector<Case>& AllCases() {
  static const std::vector<Case>* cases = new std::vector<Case>(MakeCases());
  return *cases;
}

}  // namespace conformance
}  // namespace mmsim
