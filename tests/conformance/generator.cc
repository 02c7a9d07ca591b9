#include "tests/conformance/generator.h"

#include <algorithm>

namespace mmsim {
namespace conformance {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = (uint64_t{1} << 47) - kPage;
constexpr uint64_t kInf = ~uint64_t{0};

// Linux uapi values (kept here so the generator does not depend on core).
constexpr int kR = 1, kW = 2, kX = 4;
constexpr int kShared = 0x01, kPrivate = 0x02, kSharedValidate = 0x03;
constexpr int kFixed = 0x10, kAnon = 0x20, k32Bit = 0x40;
constexpr int kGrowsdown = 0x100, kDenywrite = 0x800, kExecutable = 0x1000;
constexpr int kLocked = 0x2000, kNoreserve = 0x4000, kPopulate = 0x8000;
constexpr int kStack = 0x20000, kSync = 0x80000, kNoreplace = 0x100000;
constexpr int kMaymove = 1, kMremapFixed = 2, kDontunmap = 4;

int ProtOf(const std::string& perms) {
  int p = 0;
  if (perms[0] == 'r') p |= kR;
  if (perms[1] == 'w') p |= kW;
  if (perms[2] == 'x') p |= kX;
  return p;
}

bool IsFile(const Region& r) { return r.file.size() >= 2 && r.file[0] == 'F'; }

Op MakeOp(uint32_t kind, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
          uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
  Op op;
  op.kind = kind;
  op.a[0] = a0;
  op.a[1] = a1;
  op.a[2] = a2;
  op.a[3] = a3;
  op.a[4] = a4;
  op.a[5] = a5;
  return op;
}

}  // namespace

OpGenerator::OpGenerator(uint64_t seed, const Window& window,
                         const Counters& initial)
    // Not a multiple of splitmix's increment: seeds n and n+1 must not give
    // the same stream shifted by one.
    : state_((seed + 1) * 0xD1B54A32D192ED03ULL ^ 0x5851F42D4C957F2DULL),
      w_(window),
      initial_(initial) {}

uint64_t OpGenerator::Rand() {  // splitmix64: the same on every platform
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t OpGenerator::Below(uint64_t n) { return Rand() % n; }
bool OpGenerator::Chance(int percent) {
  return Below(100) < static_cast<uint64_t>(percent);
}

uint64_t OpGenerator::SmallPages() {
  uint64_t r = Below(100);
  if (r < 25) return 1;
  if (r < 60) return 2 + Below(3);
  if (r < 85) return 5 + Below(12);
  if (r < 95) return 17 + Below(48);
  return 512;  // 2 MiB: THP alignment
}

int OpGenerator::RandomProt() {
  uint64_t r = Below(100);
  int p;
  if (r < 10)
    p = 0;
  else if (r < 35)
    p = kR;
  else if (r < 70)
    p = kR | kW;
  else if (r < 80)
    p = kR | kX;
  else if (r < 88)
    p = kR | kW | kX;
  else if (r < 94)
    p = kW;
  else if (r < 97)
    p = kX;
  else
    p = kR | 0x8;  // PROT_SEM: accepted, ignored on x86
  return p;
}

int OpGenerator::ExtraMapFlags() {
  int f = 0;
  if (Chance(8)) f |= kPopulate;
  if (Chance(4)) f |= kLocked;
  if (Chance(6)) f |= kNoreserve;
  if (Chance(3)) f |= kGrowsdown;
  if (Chance(3)) f |= kStack;
  if (Chance(2)) f |= kDenywrite | kExecutable;
  return f;
}

std::vector<Region> OpGenerator::WindowRegions(const State& s) const {
  std::vector<Region> out;
  for (Region r : s.regions) {
    for (Span win : {Span{w_.lo, w_.hi}, Span{w_.brk_lo, w_.brk_hi}}) {
      if (r.end <= win.lo || r.start >= win.hi) continue;
      Region c = r;
      c.start = std::max(r.start, win.lo);
      c.end = std::min(r.end, win.hi);
      out.push_back(c);
    }
  }
  return out;
}

OpGenerator::Span OpGenerator::Clip(uint64_t lo, uint64_t hi) const {
  Span win{w_.lo, w_.hi};
  if (lo >= w_.brk_lo && lo < w_.brk_hi) win = {w_.brk_lo, w_.brk_hi};
  lo = std::clamp(lo, win.lo, win.hi - kPage);
  if (hi > win.hi) hi = win.hi;
  if (hi <= lo) hi = lo + kPage;
  return {lo, hi};
}

uint64_t OpGenerator::InterestingAddr(const std::vector<Region>& rs) {
  uint64_t r = Below(100);
  if (!rs.empty() && r < 60) {
    const Region& g = rs[Below(rs.size())];
    uint64_t pages = (g.end - g.start) / kPage;
    switch (Below(6)) {
      case 0:
        return g.start;
      case 1:
        return g.end;
      case 2:
        return g.start + kPage * Below(pages);
      case 3:
        return g.end - kPage;
      case 4:
        return g.start >= w_.lo + 4 * kPage ? g.start - kPage * (1 + Below(3))
                                            : g.start;
      default:
        return g.end + kPage * Below(4);
    }
  }
  if (r < 85) {  // near the top, where top-down placement puts mappings
    return w_.hi - kPage * (1 + Below(4096));
  }
  if (r < 93) return w_.lo + kPage * Below((w_.hi - w_.lo) / kPage);
  return w_.brk_lo + kPage * Below(1024);
}

OpGenerator::Span OpGenerator::InterestingRange(const std::vector<Region>& rs) {
  uint64_t a = InterestingAddr(rs);
  uint64_t b;
  if (Chance(50)) {
    b = InterestingAddr(rs);
    if (b < a) std::swap(a, b);
    if (b - a > (64u << 20)) b = a + SmallPages() * kPage;
  } else {
    b = a + SmallPages() * kPage;
  }
  return Clip(a, b);
}

Op OpGenerator::MmapOp(const State& s, const std::vector<Region>& rs) {
  (void)s;
  uint64_t r = Below(100);
  int extra = ExtraMapFlags();
  if (r < 22 || rs.empty()) {  // no hint, anonymous
    uint64_t pages = SmallPages();
    if (Chance(8)) pages = 512 * (1 + Below(2)) + (Chance(30) ? 1 : 0);
    int flags = (Chance(75) ? kPrivate : kShared) | kAnon | extra;
    if (Chance(1)) flags |= k32Bit;
    return MakeOp(kOpMmap, 0, pages * kPage, RandomProt(), flags, kFdNone, 0);
  }
  if (r < 55) {  // MAP_FIXED next to a region: merge or not
    const Region& g = rs[Below(rs.size())];
    uint64_t len = SmallPages() * kPage;
    bool after = Chance(50);
    uint64_t addr = after ? g.end : g.start - len;
    if (Chance(20)) {  // fill the hole after g exactly
      for (const Region& n : rs) {
        if (n.start > g.end && n.start - g.end <= 32 * kPage) {
          addr = g.end;
          len = n.start - g.end;
          after = true;
          break;
        }
      }
    }
    Span sp = Clip(addr, addr + len);
    addr = sp.lo;
    len = sp.hi - sp.lo;
    int prot = Chance(65) ? ProtOf(g.perms) : RandomProt();
    bool shared = g.perms[3] == 's';
    if (Chance(10)) shared = !shared;
    int flags =
        (shared ? kShared : kPrivate) | kFixed | (Chance(50) ? 0 : extra);
    if (IsFile(g) && Chance(80)) {
      int file = g.file[1] - '0';
      uint64_t off;
      if (Chance(70)) {
        off = after ? g.offset + (g.end - g.start)
                    : (g.offset >= len ? g.offset - len : 0);
      } else {
        off = kPage * Below(kFileSizes[file] / kPage + 2);
      }
      int mode = (shared && (prot & kW)) ? 1 : static_cast<int>(Below(2));
      return MakeOp(kOpMmap, addr, len, prot, flags, FdSel(file, mode), off);
    }
    return MakeOp(kOpMmap, addr, len, prot, flags | kAnon, kFdNone, 0);
  }
  if (r < 70) {  // MAP_FIXED over whatever is there
    Span sp = InterestingRange(rs);
    int flags = (Chance(80) ? kPrivate : kShared) | kFixed | extra;
    if (Chance(30)) {
      int file = static_cast<int>(Below(kNumFiles));
      return MakeOp(kOpMmap, sp.lo, sp.hi - sp.lo, RandomProt(), flags,
                    FdSel(file, static_cast<int>(Below(2))),
                    kPage * Below(kFileSizes[file] / kPage + 1));
    }
    return MakeOp(kOpMmap, sp.lo, sp.hi - sp.lo, RandomProt(), flags | kAnon,
                  kFdNone, 0);
  }
  if (r < 77) {  // MAP_FIXED_NOREPLACE, free or taken
    Span sp = InterestingRange(rs);
    int flags = kPrivate | kAnon | kNoreplace | (Chance(20) ? kFixed : 0);
    return MakeOp(kOpMmap, sp.lo, sp.hi - sp.lo, RandomProt(), flags, kFdNone,
                  0);
  }
  if (r < 84) {  // a hint: used when free, else top-down
    uint64_t addr = InterestingAddr(rs);
    uint64_t len = SmallPages() * kPage;
    if (Chance(10)) addr += 123;  // unaligned hint: rounded
    return MakeOp(kOpMmap, addr, len, RandomProt(), kPrivate | kAnon | extra,
                  kFdNone, 0);
  }
  // A file mapping without a hint.
  int file = static_cast<int>(Below(kNumFiles));
  uint64_t pages = file == 3 && Chance(50) ? 512 : SmallPages();
  int mode = Chance(40) ? 0 : (Chance(85) ? 1 : 2);
  int flags = (Chance(50) ? kShared : kPrivate) | extra;
  if (Chance(5)) flags = (flags & ~kShared) | kSharedValidate;
  uint64_t off = kPage * Below(kFileSizes[file] / kPage + 4);
  return MakeOp(kOpMmap, 0, pages * kPage, RandomProt(), flags,
                FdSel(file, mode), off);
}

Op OpGenerator::MremapOp(const std::vector<Region>& rs) {
  if (rs.empty()) return InvalidOp(rs);
  const Region& g = rs[Below(rs.size())];
  uint64_t pages = (g.end - g.start) / kPage;
  uint64_t old_addr = Chance(70) ? g.start : g.start + kPage * Below(pages);
  uint64_t old_len = g.end - old_addr;
  uint64_t r = Below(100);
  if (r < 20 && old_len > kPage) {
    old_len = kPage * (1 + Below(old_len / kPage - 1));
  } else if (r < 28) {
    old_len += SmallPages() * kPage;  // past the region: EFAULT or spans
  }
  Span sp = Clip(old_addr, old_addr + old_len);
  old_len = sp.hi - sp.lo;
  uint64_t new_len;
  r = Below(100);
  if (r < 35) {
    new_len = old_len > kPage
                  ? old_len - kPage * (1 + Below(old_len / kPage - 1))
                  : old_len;
  } else if (r < 80) {
    new_len = old_len + SmallPages() * kPage;
  } else if (r < 92) {
    new_len = old_len;
  } else if (r < 96) {
    new_len = 0;
  } else {
    new_len = old_len + 100;  // unaligned: rounded up
  }
  uint64_t flags, new_addr = 0;
  r = Below(100);
  if (r < 25) {
    flags = 0;
  } else if (r < 60) {
    flags = kMaymove;
  } else if (r < 78) {
    flags = kMaymove | kMremapFixed;
    uint64_t len = std::max<uint64_t>(new_len, kPage);
    new_addr = Chance(10) ? old_addr + kPage  // overlaps the source
                          : InterestingAddr(rs);
    Span n = Clip(new_addr, new_addr + len);
    new_addr = n.hi - n.lo < len ? n.hi - len : n.lo;
  } else if (r < 90) {
    flags = kMaymove | kDontunmap;
    if (Chance(70)) new_len = old_len;
  } else if (r < 94) {
    flags = kMremapFixed;  // without MAYMOVE: EINVAL
    new_addr = w_.lo;
  } else if (r < 97) {
    flags = kDontunmap;  // without MAYMOVE: EINVAL
  } else {
    flags = 8;  // unknown
  }
  if (g.perms[3] == 's' && Chance(15)) {
    old_len = 0;  // duplicates a shared mapping
    flags = kMaymove;
    new_len = SmallPages() * kPage;
  }
  return MakeOp(kOpMremap, old_addr, old_len, new_len, flags, new_addr);
}

uint64_t OpGenerator::TouchAddr(const std::vector<Region>& rs) {
  uint64_t r = Below(100);
  uint64_t addr;
  if (rs.empty() || r >= 95) {
    addr = InterestingAddr(rs);
  } else {
    const Region& g = rs[Below(rs.size())];
    uint64_t pages = (g.end - g.start) / kPage;
    if (r < 75) {
      addr = g.start + kPage * Below(pages);
    } else if (r < 87) {
      // Just below: a hole, or the guard gap of a VM_GROWSDOWN region.
      addr = g.start - kPage * (1 + Below(Chance(70) ? 2 : 300));
    } else {
      addr = g.end + kPage * Below(3);
    }
  }
  Span sp = Clip(addr, addr + kPage);
  return sp.lo + Below(kPage);
}

Op OpGenerator::TouchOp(const State& s, const std::vector<Region>& rs) {
  uint64_t addr = TouchAddr(rs);
  uint64_t q = Below(100);
  uint64_t access = q < 45 ? kTouchRead : (q < 90 ? kTouchWrite : kTouchExec);
  if (access == kTouchExec) {
    // Only where the access must fault (the worker refuses the others): the
    // region holding addr, or the one above a hole, has no 'x'.
    for (const Region& g : s.regions) {
      if (addr < g.end) {
        if (g.perms[2] == 'x') access = kTouchRead;
        break;
      }
    }
  }
  return MakeOp(kOpTouch, addr, access);
}

Op OpGenerator::InvalidOp(const std::vector<Region>& rs) {
  uint64_t top = w_.hi - kPage * (1 + Below(64));
  int anon = kPrivate | kAnon;
  switch (Below(30)) {
    case 0:
      return MakeOp(kOpMmap, 0, 0, kR, anon, kFdNone, 0);
    case 1:
      return MakeOp(kOpMmap, 0, ~uint64_t{0} - 100, kR, anon, kFdNone, 0);
    case 2:
      return MakeOp(kOpMmap, 0, kTaskSize + kPage, kR, anon, kFdNone, 0);
    case 3:
      return MakeOp(kOpMmap, top + 100, kPage, kR, anon | kFixed, kFdNone, 0);
    case 4:
      return MakeOp(kOpMmap, 0, kPage, kR, anon, kFdNone, 100);
    case 5:
      return MakeOp(kOpMmap, 0, kPage, kR, kAnon, kFdNone, 0);  // no type
    case 6: {
      static const int kTypes[] = {0x4, 0x8, 0xf, 0x7};
      return MakeOp(kOpMmap, 0, kPage, kR | kW, kTypes[Below(4)] | kAnon,
                    kFdNone, 0);
    }
    case 7: {
      int extra = Chance(50) ? kSync : 0x400;  // 0x400: no such flag
      return MakeOp(kOpMmap, 0, kPage, kR, kSharedValidate | kAnon | extra,
                    kFdNone, 0);
    }
    case 8:
      return MakeOp(kOpMmap, 0, kPage, kR, kShared | kSync | kAnon, kFdNone,
                    0);  // MAP_SYNC ignored without VALIDATE
    case 9: {
      bool file = Chance(60);
      return MakeOp(kOpMmap, 0, kPage, kR, file ? kShared : (kShared | kAnon),
                    file ? FdSel(0, 0) : kFdNone, uint64_t{1} << 63);
    }
    case 10:
      return MakeOp(kOpMmap, 0, kPage, kR, kPrivate, kFdNone, 0);
    case 11:
      return MakeOp(kOpMmap, 0, kPage, kR, kPrivate, kFdBad,
                    Chance(50) ? 0 : 100);
    case 12:
      return MakeOp(kOpMmap, 0, kPage, kR | kW, kShared, FdSel(1, 0), 0);
    case 13:
      return MakeOp(kOpMmap, 0, kPage, kR, kPrivate, FdSel(1, 2), 0);
    case 14:
      return MakeOp(kOpMmap, 0x1000, kPage, kR, anon | kFixed, kFdNone,
                    0);  // below vm.mmap_min_addr
    case 15:
      return MakeOp(kOpMmap, 0x1000, kPage, kR, anon, kFdNone, 0);
    case 16:
      return MakeOp(kOpMunmap, top + 100, kPage);
    case 17:
      return MakeOp(kOpMunmap, top, 0);
    case 18:
      return MakeOp(kOpMunmap, top, kTaskSize);
    case 19:
      return MakeOp(kOpMprotect, top + 100, kPage, kR);
    case 20:
      return MakeOp(kOpMprotect, top, ~uint64_t{0} - kPage, kR);
    case 21:
      return MakeOp(kOpMprotect, top, kPage, Chance(50) ? 0x10 : 0x03000000);
    case 22:
      return MakeOp(kOpMprotect, top, 0, kR);
    case 23:
      return MakeOp(kOpMremap, top + 100, kPage, kPage, 0, 0);
    case 24:
      return MakeOp(kOpMremap, rs.empty() ? top : rs[0].start, kPage, kPage,
                    kMaymove | kMremapFixed, rs.empty() ? top : rs[0].start);
    case 25:
      return MakeOp(kOpMadvise, top + 100, kPage, 4);
    case 26:
      return MakeOp(kOpMadvise, top, kPage, Chance(50) ? 999 : 7);
    case 27:
      return MakeOp(kOpMlock2, top, kPage, 2);
    case 28:
      return MakeOp(kOpMlockall, Chance(50) ? 0 : 8);
    default:
      return MakeOp(kOpMlock, top, ~uint64_t{0} - kPage);
  }
}

Op OpGenerator::Next(const State& s) {
  int step = step_++;
  if (step == 0) {  // RLIMIT_MEMLOCK: 0 (EPERM), 64 KiB, 1 MiB, the hard limit
    static const uint64_t kMem[] = {0, 64 << 10, 1 << 20, kInf};
    uint64_t cur = std::min(kMem[Below(4)], w_.rlim_max[kRlimMemlock]);
    return MakeOp(kOpSetrlimit, kRlimMemlock, cur, w_.rlim_max[kRlimMemlock]);
  }
  if (step == 1) {  // RLIMIT_AS: room for 64 or 256 MiB more, or the hard one
    uint64_t base = static_cast<uint64_t>(initial_.total_vm) * kPage;
    uint64_t cur =
        Chance(60) ? kInf : base + (Chance(50) ? 64u << 20 : 256u << 20);
    cur = std::min(cur, w_.rlim_max[kRlimAs]);
    return MakeOp(kOpSetrlimit, kRlimAs, cur, w_.rlim_max[kRlimAs]);
  }
  if (step == 2) {  // RLIMIT_DATA
    uint64_t base = static_cast<uint64_t>(initial_.data_vm) * kPage;
    uint64_t cur =
        Chance(70) ? kInf : base + (Chance(50) ? 16u << 20 : 64u << 20);
    cur = std::min(cur, w_.rlim_max[kRlimData]);
    return MakeOp(kOpSetrlimit, kRlimData, cur, w_.rlim_max[kRlimData]);
  }
  std::vector<Region> rs = WindowRegions(s);
  // Touches (17%) and an occasional fork (1%) on top of the system calls.
  uint64_t t = Below(1000);
  if (t < 170) return TouchOp(s, rs);
  if (t < 180) return MakeOp(kOpFork, TouchAddr(rs));
  uint64_t r = Below(1000);
  if (r < 310) return MmapOp(s, rs);
  if (r < 410) {
    Span sp = InterestingRange(rs);
    return MakeOp(kOpMunmap, sp.lo, sp.hi - sp.lo);
  }
  if (r < 550) {
    Span sp;
    if (!rs.empty() && Chance(50)) {
      const Region& g = rs[Below(rs.size())];
      uint64_t pages = (g.end - g.start) / kPage;
      uint64_t a = Below(pages), b = a + 1 + Below(pages - a);
      if (Chance(25)) {
        a = 0;
        b = pages;
      }
      sp = {g.start + a * kPage, g.start + b * kPage};
    } else {
      sp = InterestingRange(rs);
    }
    uint64_t prot = static_cast<uint64_t>(RandomProt());
    if (Chance(5)) prot |= 0x01000000;  // PROT_GROWSDOWN
    return MakeOp(kOpMprotect, sp.lo, sp.hi - sp.lo, prot);
  }
  if (r < 650) return MremapOp(rs);
  if (r < 690) {
    uint64_t cur = s.brk, t;
    uint64_t q = Below(100);
    if (q < 40)
      t = cur + SmallPages() * kPage;
    else if (q < 70)
      t = cur > SmallPages() * kPage ? cur - SmallPages() * kPage : 0;
    else if (q < 80)
      t = cur + 1 + Below(3 * kPage);
    else if (q < 85)
      t = 0;
    else if (q < 90)
      t = 0x1000;  // below the data segment: refused
    else
      t = w_.brk_lo + kPage * Below(2048);
    if (t != 0 && t != 0x1000) t = std::clamp(t, w_.brk_lo, w_.brk_hi);
    return MakeOp(kOpBrk, t);
  }
  if (r < 750) {
    Span sp = InterestingRange(rs);
    uint64_t q = Below(100);
    if (q < 40) return MakeOp(kOpMlock, sp.lo, sp.hi - sp.lo);
    if (q < 65) {
      return MakeOp(kOpMlock2, sp.lo, sp.hi - sp.lo, Chance(80) ? 1 : 0);
    }
    return MakeOp(kOpMunlock, sp.lo, sp.hi - sp.lo);
  }
  if (r < 762) {
    if (Chance(40)) return MakeOp(kOpMunlockall);
    static const uint64_t kFlags[] = {1, 2, 3, 5, 6, 7, 4};
    return MakeOp(kOpMlockall, kFlags[Below(7)]);
  }
  if (r < 830) {
    static const uint64_t kAdvice[] = {4,  4,  3,  10, 11, 0,  1,   2,
                                       14, 15, 16, 17, 18, 19, 20,  21,
                                       8,  9,  22, 23, 12, 13, 102, 103};
    Span sp = InterestingRange(rs);
    uint64_t advice = kAdvice[Below(sizeof(kAdvice) / sizeof(kAdvice[0]))];
    return MakeOp(kOpMadvise, sp.lo, Chance(5) ? 0 : sp.hi - sp.lo, advice);
  }
  if (r < 990) return InvalidOp(rs);
  // Occasionally change a limit mid-sequence.
  if (Chance(50)) {
    static const uint64_t kMem[] = {0, 64 << 10, 1 << 20, kInf};
    return MakeOp(kOpSetrlimit, kRlimMemlock,
                  std::min(kMem[Below(4)], w_.rlim_max[kRlimMemlock]),
                  w_.rlim_max[kRlimMemlock]);
  }
  return MakeOp(kOpSetrlimit, kRlimAs, w_.rlim_max[kRlimAs],
                w_.rlim_max[kRlimAs]);
}

}  // namespace conformance
}  // namespace mmsim
