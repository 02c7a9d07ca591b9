#include "tests/conformance/sim_driver.h"

#include <cerrno>
#include <csignal>
#include <vector>

#include "core/limits.h"
#include "core/linux_error.h"

namespace mmsim {
namespace conformance {
namespace {

// Result of a call that returns a status.
void SetResult(const absl::Status& s, int64_t* ret, int64_t* err) {
  if (s.ok()) {
    *ret = 0;
    *err = 0;
    return;
  }
  *ret = -1;
  *err = LinuxErrno(s).value_or(-2);  // -2: a status without an errno
}

void SetResult(const absl::StatusOr<uint64_t>& s, int64_t* ret, int64_t* err) {
  if (s.ok()) {
    *ret = static_cast<int64_t>(*s);
    *err = 0;
    return;
  }
  *ret = -1;
  *err = LinuxErrno(s.status()).value_or(-2);
}

Rlimit Lim(uint64_t cur, uint64_t max) { return Rlimit{cur, max}; }

// The signal and si_code a fault result means to the process.
void FaultSignal(const FaultResult& f, int64_t* sig, int64_t* code) {
  *sig = 0;
  *code = 0;
  if (f.kind == FaultKind::kSigsegv) {
    *sig = SIGSEGV;
    *code = f.si_code;
  } else if (f.kind == FaultKind::kSigbus) {
    *sig = SIGBUS;
    *code = f.si_code;
  } else if (f.kind == FaultKind::kOom) {
    *sig = SIGKILL;  // the OOM killer; never expected here
  }
}

FaultAccess AccessOf(uint64_t a) {
  if (a == kTouchWrite) return FaultAccess::kWrite;
  if (a == kTouchExec) return FaultAccess::kExec;
  return FaultAccess::kRead;
}

}  // namespace

MmConfig SimConfigFor(const SeqConfig& cfg) {
  MmConfig mc;
  mc.mmap_base = cfg.mmap_base;
  mc.mmap_min_addr = cfg.mmap_min_addr;
  mc.max_map_count = static_cast<int>(cfg.max_map_count);
  mc.rlimits.as = Lim(cfg.rlim_cur[kRlimAs], cfg.rlim_max[kRlimAs]);
  mc.rlimits.data = Lim(cfg.rlim_cur[kRlimData], cfg.rlim_max[kRlimData]);
  mc.rlimits.memlock =
      Lim(cfg.rlim_cur[kRlimMemlock], cfg.rlim_max[kRlimMemlock]);
  mc.rlimits.stack = Lim(cfg.rlim_stack, kRlimInfinity);
  mc.cap_ipc_lock = false;  // the worker drops every capability
  mc.cap_sys_rawio = false;
  mc.thp_align_anon = cfg.thp_align_anon;
  return mc;
}

SimDriver::SimDriver(const SeqConfig& cfg, uint64_t scaled_max_map_count)
    : cfg_(cfg) {
  MmConfig mc = SimConfigFor(cfg);
  if (scaled_max_map_count != 0 && scaled_max_map_count < cfg.max_map_count) {
    // An even shift: the fill alternates two protections.
    uint64_t shift = (cfg.max_map_count - scaled_max_map_count) & ~uint64_t{1};
    map_count_shift_ = static_cast<int64_t>(shift);
    mc.max_map_count = static_cast<int>(cfg.max_map_count - shift);
  }
  mm_ = std::make_unique<MmStruct>(mc);
  for (int i = 0; i < kNumFiles; ++i) {
    auto f = std::make_shared<SimFile>();
    f->ino = cfg.files[i].ino;
    f->name = cfg.files[i].name;
    f->size = cfg.files[i].size;
    f->mode = 0777;
    f->dev_major = static_cast<uint32_t>(cfg.files[i].dev_major);
    f->dev_minor = static_cast<uint32_t>(cfg.files[i].dev_minor);
    f->shmem = true;  // memfds are shmem files (no THP alignment)
    files_[i] = f;
  }
  const RawRegion* prev_anon = nullptr;
  uint64_t prev_anon_vma = 0;
  for (const RawRegion& r : cfg.init) {
    if (r.name == "[vsyscall]") continue;  // the gate area is no VMA
    Vma v;
    v.vm_start = r.start;
    v.vm_end = r.end;
    uint64_t fl = 0;
    if (r.perms[0] == 'r') fl |= kVmRead;
    if (r.perms[1] == 'w') fl |= kVmWrite;
    if (r.perms[2] == 'x') fl |= kVmExec;
    if (r.perms[3] == 's') {
      fl |= kVmShared | kVmMayshare | kVmMayread;
      if (fl & kVmWrite) fl |= kVmMaywrite;
    } else {
      fl |= kVmMayread | kVmMaywrite | kVmMayexec;
    }
    bool special = r.inode == 0 && !r.name.empty() && r.name[0] == '[' &&
                   r.name != "[heap]" && r.name != "[stack]";
    if (special) {
      v.vm_ops = &kSpecialVmOps;
      v.special_name = r.name;
      fl |= kVmIo | kVmDontexpand;
      v.vm_pgoff = 0;
    } else if (r.inode != 0) {
      auto f = std::make_shared<SimFile>();
      f->ino = r.inode;
      f->name = r.name;
      f->dev_major = static_cast<uint32_t>(r.dev_major);
      f->dev_minor = static_cast<uint32_t>(r.dev_minor);
      f->size = r.offset + (r.end - r.start);
      f->shmem = r.name.rfind("/dev/zero", 0) == 0;
      v.vm_file = f;
      v.vm_ops = f->shmem ? &kShmemVmOps : &kFileVmOps;
      v.vm_pgoff = r.offset >> kPageShift;
      if ((fl & (kVmWrite | kVmShared)) == kVmWrite) fl |= kVmAccount;
    } else {
      v.vm_ops = &kAnonymousVmOps;
      // Adjacent anonymous regions with the same protection share one
      // anon_vma, as anon_vma_prepare() reuses a compatible neighbour's
      // (Linux: find_mergeable_anon_vma()). The static worker's .bss and
      // [heap] are such a pair: the kernel merges them once mlockall()
      // gives both the same flags.
      if (prev_anon != nullptr && prev_anon->end == r.start &&
          prev_anon->perms == r.perms) {
        v.anon_vma = prev_anon_vma;
      } else {
        v.anon_vma = NewAnonVmaId();
      }
      prev_anon = &r;
      prev_anon_vma = v.anon_vma;
      v.vm_pgoff = r.start >> kPageShift;
      if (r.name == "[stack]") fl |= kVmGrowsdown;
      if ((fl & (kVmWrite | kVmShared)) == kVmWrite) fl |= kVmAccount;
    }
    v.vm_flags = fl;
    absl::Status s = mm_->InsertVma(v);
    if (!s.ok()) {
      error_ = "InsertVma(" + FormatRawRegion(r) + "): " + s.ToString();
      return;
    }
  }
  MmLayout l;
  l.start_code = cfg.start_code;
  l.end_code = cfg.end_code;
  l.start_data = cfg.start_data;
  l.end_data = cfg.end_data;
  l.start_brk = cfg.start_brk;
  l.brk = cfg.brk;
  l.start_stack = cfg.start_stack;
  l.arg_start = cfg.arg_start;
  l.arg_end = cfg.arg_end;
  l.env_start = cfg.env_start;
  l.env_end = cfg.env_end;
  mm_->SetLayout(l);
}

State SimDriver::View(const MmStruct& mm) const {
  State s;
  MmCounters c = mm.Counters();
  std::vector<RawRegion> raw;
  std::vector<Pages> pages;
  for (const VmaSmaps& vs : mm.Smaps()) {
    const Vma& v = vs.vma;
    Pages p;
    p.rss = static_cast<int64_t>(vs.counts.rss >> 10);
    p.anon = static_cast<int64_t>(vs.counts.anonymous >> 10);
    p.locked = static_cast<int64_t>(vs.counts.locked_shifted >> 22);
    p.swap = static_cast<int64_t>(vs.counts.swap >> 10);
    pages.push_back(p);
    RawRegion r;
    r.start = v.vm_start;
    r.end = v.vm_end;
    r.perms = VmaPermString(v.vm_flags);
    if (v.vm_file) {
      r.offset = v.vm_pgoff << kPageShift;
      r.dev_major = v.vm_file->dev_major;
      r.dev_minor = v.vm_file->dev_minor;
      r.inode = v.vm_file->ino;
      r.name = v.vm_file->name;
    } else if (!v.special_name.empty()) {
      r.name = v.special_name;
    } else if (v.vm_start < c.layout.brk && v.vm_end > c.layout.start_brk) {
      // Linux: fs/proc/task_mmu.c vma_is_initial_heap()
      r.name = "[heap]";
    } else if (v.vm_start <= c.layout.start_stack &&
               v.vm_end >= c.layout.start_stack) {
      r.name = "[stack]";  // vma_is_initial_stack()
    }
    raw.push_back(r);
  }
  std::vector<size_t> kept;
  s.regions = Canonicalize(raw, cfg_.files, kNumFiles, nullptr, &kept);
  for (size_t i : kept) s.pages.push_back(pages[i]);
  s.pages_known = true;
  MaskWorkerPages(cfg_, &s);
  return s;
}

State SimDriver::Snapshot(int64_t ret, int64_t err) const {
  State s = View(*mm_);
  s.ret = ret;
  s.err = err;
  MmCounters c = mm_->Counters();
  s.counters.map_count = c.map_count;
  s.counters.total_vm = static_cast<int64_t>(c.total_vm);
  s.counters.locked_vm = static_cast<int64_t>(c.locked_vm);
  s.counters.data_vm = static_cast<int64_t>(c.data_vm);
  s.counters.exec_vm = static_cast<int64_t>(c.exec_vm);
  s.counters.stack_vm = static_cast<int64_t>(c.stack_vm);
  s.brk = c.layout.brk;
  if (shifted_) {
    s.counters.map_count += fill_shift_.map_count;
    s.counters.total_vm += fill_shift_.total_vm;
    s.counters.data_vm += fill_shift_.data_vm;
    s.counters.exec_vm += fill_shift_.exec_vm;
  }
  return s;
}

State SimDriver::Apply(const Op& op) {
  const uint64_t* a = op.a;
  int64_t ret = 0, err = 0;
  MmStruct& mm = *mm_;
  switch (op.kind) {
    case kOpMmap: {
      MmapArgs args;
      args.addr = a[0];
      args.len = a[1];
      args.prot = static_cast<int>(a[2]);
      args.flags = static_cast<int>(a[3]);
      args.offset = a[5];
      if (!(args.flags & kMapAnonymous) && a[4] < uint64_t{kNumFiles} * 3) {
        args.file = files_[a[4] / 3];
        static const int kModes[3] = {kFmodeRead, kFmodeRead | kFmodeWrite,
                                      kFmodeWrite};
        args.file_mode = kModes[a[4] % 3];
        args.file_open_id = a[4] + 1;  // each descriptor is its own open file
      }
      SetResult(mm.DoMmap(args), &ret, &err);
      break;
    }
    case kOpMunmap:
      SetResult(mm.DoMunmap(a[0], a[1]), &ret, &err);
      break;
    case kOpMprotect:
      SetResult(mm.Mprotect(a[0], a[1], static_cast<int>(a[2])), &ret, &err);
      break;
    case kOpMremap:
      SetResult(mm.Mremap(a[0], a[1], a[2], static_cast<int>(a[3]), a[4]), &ret,
                &err);
      break;
    case kOpBrk:
      ret = static_cast<int64_t>(mm.Brk(a[0]));
      break;
    case kOpMlock:
      SetResult(mm.Mlock(a[0], a[1], 0), &ret, &err);
      break;
    case kOpMlock2:
      SetResult(mm.Mlock(a[0], a[1], static_cast<int>(a[2])), &ret, &err);
      break;
    case kOpMunlock:
      SetResult(mm.Munlock(a[0], a[1]), &ret, &err);
      break;
    case kOpMlockall:
      SetResult(mm.Mlockall(static_cast<int>(a[0])), &ret, &err);
      break;
    case kOpMunlockall:
      SetResult(mm.Munlockall(), &ret, &err);
      break;
    case kOpMadvise:
      SetResult(mm.Madvise(a[0], a[1], static_cast<int>(a[2])), &ret, &err);
      break;
    case kOpSetrlimit: {
      static const RlimitResource kRes[3] = {
          RlimitResource::kAs, RlimitResource::kData, RlimitResource::kMemlock};
      if (a[0] > 2) {
        ret = -1;
        err = EINVAL;
        break;
      }
      SetResult(mm.SetRlimit(kRes[a[0]], Rlimit{a[1], a[2]}), &ret, &err);
      break;
    }
    case kOpFillMapCount: {
      uint64_t addr = a[0];
      int64_t n = 0;
      for (;;) {
        addr -= kPageSize;
        MmapArgs args;
        args.addr = addr;
        args.len = kPageSize;
        args.prot = static_cast<int>((n & 1) ? a[2] : a[1]);
        args.flags = kMapPrivate | kMapAnonymous | kMapFixedNoreplace;
        absl::StatusOr<uint64_t> r = mm.DoMmap(args);
        if (!r.ok()) {
          err = LinuxErrno(r.status()).value_or(-2);
          break;
        }
        ++n;
      }
      ret = n;
      if (map_count_shift_ != 0 && !shifted_) {
        // The kernel mapped map_count_shift_ more pages, half with each
        // protection (Linux: is_data_mapping(), is_exec_mapping()).
        int64_t half = map_count_shift_ / 2;
        auto data = [](uint64_t prot) { return (prot & kProtWrite) ? 1 : 0; };
        auto exec = [](uint64_t prot) {
          return (prot & kProtExec) && !(prot & kProtWrite) ? 1 : 0;
        };
        fill_shift_.map_count = map_count_shift_;
        fill_shift_.total_vm = map_count_shift_;
        fill_shift_.data_vm = half * (data(a[1]) + data(a[2]));
        fill_shift_.exec_vm = half * (exec(a[1]) + exec(a[2]));
        shifted_ = true;
        ret += map_count_shift_;
      }
      return Snapshot(ret, err);
    }
    case kOpTouch: {
      FaultResult f = mm.HandleMmFault(a[0], AccessOf(a[1]));
      State s = Snapshot(0, 0);
      FaultSignal(f, &s.sig, &s.si_code);
      return s;
    }
    case kOpFork: {
      // Linux: kernel/fork.c copy_mm() -> dup_mmap(); the child shares the
      // parent's frames (one machine).
      MmStruct child(mm.config(), mm.phys());
      absl::Status st = mm.DupMmap(child);
      if (!st.ok()) {
        SetResult(st, &ret, &err);
        child.ExitMmap();
        break;
      }
      std::vector<State> views;
      views.push_back(View(mm));
      views.push_back(View(child));
      FaultResult f = child.HandleMmFault(a[0], FaultAccess::kWrite);
      views.push_back(View(child));
      FaultSignal(f, &views[2].sig, &views[2].si_code);
      child.ExitMmap();
      State s = Snapshot(0, 0);
      s.views = std::move(views);
      return s;
    }
    default:
      ret = -1;
      err = EINVAL;
  }
  return Snapshot(ret, err);
}

}  // namespace conformance
}  // namespace mmsim
