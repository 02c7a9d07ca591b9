// Page faults and the page-level side of the region calls: handle_mm_fault,
// stack growth, populate, zap, pte moves, write protection, mincore, guard
// markers, and swap-out of one mm. Linux: arch/x86/mm/fault.c,
// mm/memory.c, mm/mmap.c expand_downwards(), mm/mincore.c, mm/madvise.c,
// and the 2.4 swap_out_mm() of mm/vmscan.c.
#include <algorithm>
#include <cerrno>
#include <optional>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {
namespace {

// Linux: vmalloc space of x86-64 with 4-level paging.
constexpr uint64_t kVmallocStart = 0xffffc90000000000;
constexpr uint64_t kVmallocEnd = 0xffffe8ffffffffff;

bool IsCowMapping(uint64_t flags) {
  return (flags & (kVmShared | kVmMaywrite)) == kVmMaywrite;
}

uint64_t PteBitsFor(uint64_t vm_flags, bool writable) {
  uint64_t bits = kPteUser | kPteAccessed;
  if (writable) bits |= kPteRw | kPteDirty;
  if (!(vm_flags & kVmExec)) bits |= kPteNx;
  return bits;
}

FaultResult Segv(int code) {
  FaultResult r;
  r.kind = FaultKind::kSigsegv;
  r.si_code = code;
  return r;
}

// What a fault on an empty or read-only pte needs from outside
// page_table_lock.
enum class Need { kNothing, kAnonFrame, kCachePage, kSwapIn };

}  // namespace

void MmStruct::RssAddLocked(FrameKind kind, int64_t pages) {
  switch (kind) {
    case FrameKind::kAnon:
      rss_.anon += pages;
      break;
    case FrameKind::kFile:
      rss_.file += pages;
      break;
    case FrameKind::kShmem:
      rss_.shmem += pages;
      break;
    default:
      return;
  }
  if (pages > 0) hiwater_rss_ = std::max(hiwater_rss_, rss_.resident());
}

void MmStruct::SetCpuLoaded(int cpu, bool loaded) {
  const uint64_t bit = uint64_t{1} << (cpu & 63);
  if (loaded) {
    cpu_vm_mask_.fetch_or(bit);
  } else {
    cpu_vm_mask_.fetch_and(~bit);
  }
}

MmPageStats MmStruct::PageStats() const {
  MmPageStats stats;
  {
    MutexLock ptl(&page_table_lock_);
    stats.rss = rss_;
    stats.hiwater_rss = hiwater_rss_;
    stats.pgtable_pages = pgd_.table_pages();
  }
  stats.min_flt = min_flt_.load();
  stats.maj_flt = maj_flt_.load();
  stats.cow_faults = cow_faults_.load();
  stats.segv_maperr = segv_maperr_.load();
  stats.segv_accerr = segv_accerr_.load();
  stats.vmalloc_syncs = vmalloc_syncs_.load();
  stats.cpu_vm_mask = cpu_vm_mask_.load();
  return stats;
}

MmSample MmStruct::Sample() const {
  MmSample sample;
  sample.mm = this;
  sample.mm_id = mm_id;
  {
    ReadLock lock(&mmap_sem_);
    sample.map_count = map_count_;
    sample.total_vm = total_vm_;
    sample.locked_vm = locked_vm_;
    MutexLock ptl(&page_table_lock_);
    sample.rss = rss_;
  }
  sample.mm_users = mm_users.load(std::memory_order_relaxed);
  sample.mm_count = mm_count.load(std::memory_order_relaxed);
  return sample;
}

// --- the fault handler ---

FaultResult MmStruct::HandleMmFaultUncounted(uint64_t addr, FaultAccess access,
                                             bool user) {
  FaultResult result;
  if (addr >= kTaskSize) {
    // Kernel half. Only kernel-mode accesses to vmalloc space are legal:
    // a missing pgd entry is copied from init_mm (Linux 2.6 x86-64
    // vmalloc_fault(); the seed's deferred approach).
    if (user || init_mm_ == nullptr || addr < kVmallocStart ||
        addr > kVmallocEnd) {
      segv_maperr_.fetch_add(1);
      return Segv(kSegvMaperr);
    }
    const int index = PageTable::PgdIndex(addr);
    uint64_t master;
    bool present;
    // init_mm itself holds the master entries: nothing to copy.
    {
      MutexLock kptl(&init_mm_->page_table_lock_);
      master = init_mm_->pgd_.pgd_entry(index);
      const uint64_t* pte = init_mm_->pgd_.Lookup(addr);
      present = pte != nullptr && PtePresent(*pte);
    }
    if (!present) {
      segv_maperr_.fetch_add(1);
      return Segv(kSegvMaperr);  // an oops in the kernel
    }
    MutexLock ptl(&page_table_lock_);
    if (pgd_.pgd_entry(index) != master) {
      pgd_.set_kernel_pgd_entry(index, master);
      vmalloc_syncs_.fetch_add(1);
      min_flt_.fetch_add(1);
      result.kind = FaultKind::kMinor;
      result.vmalloc_synced = true;
    }
    return result;
  }

  if (per_vma_lock_) {
    if (std::optional<FaultResult> r = FaultUnderVmaLock(addr, access)) {
      return *r;
    }
  }
  {
    ReadLock lock(&mmap_sem_);
    const Vma* found = FindVmaLocked(addr);
    if (found == nullptr) {
      segv_maperr_.fetch_add(1);
      return Segv(kSegvMaperr);
    }
    const bool grows = found->vm_start > addr;
    const bool needs_anon_vma = access == FaultAccess::kWrite &&
                                (found->vm_flags & kVmWrite) &&
                                !(found->vm_flags & kVmShared) &&
                                found->anon_vma == 0 && found->vm_start <= addr;
    if (grows && !(found->vm_flags & kVmGrowsdown)) {
      segv_maperr_.fetch_add(1);
      return Segv(kSegvMaperr);
    }
    if (!grows && !needs_anon_vma) {
      return FaultLocked(const_cast<Vma*>(found), addr, access);
    }
  }
  // Stack growth and anon_vma_prepare() change the region: redo the
  // lookup with mmap_sem held for writing (Linux 6.x
  // lock_mm_and_find_vma() upgrades the same way).
  MmapWriteGuard lock(this);
  Vma* vma = const_cast<Vma*>(FindVmaLocked(addr));
  if (vma == nullptr) {
    segv_maperr_.fetch_add(1);
    return Segv(kSegvMaperr);
  }
  bool expanded = false;
  if (vma->vm_start > addr) {
    if (!(vma->vm_flags & kVmGrowsdown) || !ExpandStackLocked(vma, addr).ok()) {
      segv_maperr_.fetch_add(1);
      return Segv(kSegvMaperr);
    }
    expanded = true;
  }
  if (access == FaultAccess::kWrite && (vma->vm_flags & kVmWrite) &&
      !(vma->vm_flags & kVmShared)) {
    AnonVmaPrepareLocked(vma);
  }
  result = FaultLocked(vma, addr, access);
  result.stack_expanded = expanded;
  ValidateIfDebugLocked();
  return result;
}

// Linux 6.4: lock_vma_under_rcu() and vma_start_read(). The snapshot stands
// in for the RCU-walked maple tree; a region's seq, checked under its read
// lock, says whether the snapshot's copy of it is still current.
std::optional<FaultResult> MmStruct::FaultUnderVmaLock(uint64_t addr,
                                                       FaultAccess access)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {  // the VmaLock stands in for mmap_sem_
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<const VmaSnapshot> snapshot = LoadVmaSnapshot();
    if (snapshot == nullptr) return std::nullopt;
    const VmaSnapshot::Entry* entry = snapshot->Find(addr);
    // Cases the mmap_sem path decides: no region, stack growth, and a first
    // write to a private region, which needs anon_vma_prepare().
    if (entry == nullptr || entry->vma.vm_start > addr) return std::nullopt;
    const Vma& vma = entry->vma;
    if (access == FaultAccess::kWrite && (vma.vm_flags & kVmWrite) &&
        !(vma.vm_flags & kVmShared) && vma.anon_vma == 0) {
      return std::nullopt;
    }
    VmaLock& lock = *entry->lock;
    const uint64_t acquired_at = lock.sem.ReadLock();
    std::optional<FaultResult> result;
    if (lock.seq.load(std::memory_order_relaxed) == entry->seq) {
      // The copy is this fault's alone; FaultLocked does not write it.
      Vma copy = vma;
      result = FaultLocked(&copy, addr, access, /*mmap_sem_held=*/false);
    }
    lock.sem.ReadUnlock(acquired_at);
    if (result.has_value()) return result;
    // The region changed after the snapshot was taken: look again.
  }
  return std::nullopt;
}

const MmStruct::VmaSnapshot::Entry* MmStruct::VmaSnapshot::Find(
    uint64_t addr) const {
  auto it = std::upper_bound(
      entries.begin(), entries.end(), addr,
      [](uint64_t a, const Entry& e) { return a < e.vma.vm_end; });
  return it == entries.end() ? nullptr : &*it;
}

std::shared_ptr<const MmStruct::VmaSnapshot> MmStruct::LoadVmaSnapshot() const {
  ReadLock lock(&snapshot_lock_);
  return vma_snapshot_;
}

void MmStruct::PublishVmaSnapshotLocked() {
  auto snapshot = std::make_shared<VmaSnapshot>();
  snapshot->entries.reserve(vmas_.size());
  absl::flat_hash_map<const Vma*, std::shared_ptr<VmaLock>> locks;
  locks.reserve(vmas_.size());
  for (const auto& [end, vma] : vmas_) {
    // A region keeps its lock while it lives; a new one (a split's other
    // half, a new mapping) gets a fresh one.
    auto it = vma_locks_.find(vma.get());
    std::shared_ptr<VmaLock> lock = it != vma_locks_.end()
                                        ? std::move(it->second)
                                        : std::make_shared<VmaLock>();
    const uint64_t seq = lock->seq.load(std::memory_order_relaxed);
    snapshot->entries.push_back({*vma, lock, seq});
    locks.emplace(vma.get(), std::move(lock));
  }
  vma_locks_ = std::move(locks);
  std::shared_ptr<const VmaSnapshot> old;
  {
    WriteLock lock(&snapshot_lock_);
    old = std::exchange(vma_snapshot_, std::move(snapshot));
  }
  if (old != nullptr) retired_snapshots_.push_back(std::move(old));
  // Free the replaced copies no fault holds any more: a snapshot that is
  // no longer published gains no new holder.
  retired_snapshots_.erase(
      std::remove_if(retired_snapshots_.begin(), retired_snapshots_.end(),
                     [](const std::shared_ptr<const VmaSnapshot>& s) {
                       return s.use_count() == 1;
                     }),
      retired_snapshots_.end());
}

MmStruct::MmapWriteGuard::MmapWriteGuard(MmStruct* mm, Range range) : mm_(mm) {
  mm_->mmap_sem_.WriteLock();
  if (range == kWhole) LockRegions(0, ~uint64_t{0});
}

void MmStruct::MmapWriteGuard::LockRange(uint64_t start, uint64_t end) {
  mm_->mmap_sem_.AssertHeld();
  start = std::min(start & kPageMask, kTaskSize);
  end = std::clamp(end, start, kTaskSize);
  // The region holding or ending at start, and the one holding or
  // starting at end, may be split, merged into or shrunk.
  if (start > 0) {
    const Vma* before = mm_->FindVmaLocked(start - 1);
    if (before != nullptr && before->vm_start < start) {
      start = before->vm_start;
    }
  }
  const Vma* after = mm_->FindVmaLocked(end);
  if (after != nullptr && after->vm_start <= end) end = after->vm_end;
  LockRegions(start, std::max(end, start + kPageSize));
}

// The locks taken here are released by the destructor: beyond what clang's
// analysis follows.
void MmStruct::MmapWriteGuard::LockRegions(uint64_t start, uint64_t end)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mm_->mmap_sem_.AssertHeld();
  if (!mm_->per_vma_lock_ || locked_) return;
  locked_ = true;
  // Linux: vma_start_write() on each. Writers hold mmap_sem for writing,
  // so only one locks several at a time.
  for (auto it = mm_->vmas_.upper_bound(start);
       it != mm_->vmas_.end() && it->second->vm_start < end; ++it) {
    std::shared_ptr<VmaLock>& lock = mm_->vma_locks_[it->second.get()];
    if (lock == nullptr) lock = std::make_shared<VmaLock>();
    lock->sem.WriteLock();
    lock->seq.fetch_add(1, std::memory_order_relaxed);
    held_.push_back(lock);
  }
}

MmStruct::MmapWriteGuard::~MmapWriteGuard() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mm_->mmap_sem_.AssertHeld();
  if (locked_) {
    mm_->PublishVmaSnapshotLocked();
    for (const std::shared_ptr<VmaLock>& lock : held_) lock->sem.WriteUnlock();
  }
  mm_->mmap_sem_.WriteUnlock();
}

absl::Status MmStruct::ExpandStackLocked(Vma* vma, uint64_t addr) {
  mmap_sem_.AssertHeld();
  const uint64_t address = addr & kPageMask;
  if (address < config_.mmap_min_addr && !config_.cap_sys_rawio) {
    return LinuxError(EPERM, "below mmap_min_addr");
  }
  const Vma* prev = PrevVmaLocked(vma->vm_start);
  if (prev != nullptr && !(prev->vm_flags & kVmGrowsdown) &&
      (prev->vm_flags & kVmAccessFlags) &&
      address - prev->vm_end < kStackGuardGap) {
    return LinuxError(ENOMEM, "stack guard gap");
  }
  if (prev != nullptr && address < prev->vm_end) {
    return LinuxError(ENOMEM, "stack would overlap");
  }
  // Linux: "We must make sure the anon_vma is allocated" - even when the
  // limits below then refuse the growth.
  if (vma->IsAnonymous()) AnonVmaPrepareLocked(vma);
  const uint64_t size = vma->vm_end - address;
  const uint64_t grow = (vma->vm_start - address) >> kPageShift;
  // Linux: acct_stack_growth().
  if (grow > vma->vm_pgoff) return LinuxError(ENOMEM, "pgoff underflow");
  if (!MayExpandVmLocked(vma->vm_flags, grow)) {
    return LinuxError(ENOMEM, "RLIMIT_AS");
  }
  if (size > config_.rlimits.stack.cur) {
    return LinuxError(ENOMEM, "RLIMIT_STACK");
  }
  if (!MlockFutureOkLocked(vma->vm_flags, grow << kPageShift)) {
    return LinuxError(ENOMEM, "RLIMIT_MEMLOCK");
  }
  const uint64_t old_start = vma->vm_start;
  vma->vm_start = address;  // the key (vm_end) does not change
  vma->vm_pgoff -= grow;
  if (vma->vm_flags & kVmLocked) locked_vm_ += grow;
  VmStatAccountLocked(vma->vm_flags, static_cast<int64_t>(grow));
  RefreshHolesLocked(address, old_start);
  mmap_cache_.store(nullptr, std::memory_order_relaxed);
  return absl::OkStatus();
}

FaultResult MmStruct::FaultLocked(Vma* vma, uint64_t addr, FaultAccess access,
                                  bool mmap_sem_held) {
  // Reclaim may swap this mm out under the mmap_sem its caller holds; in
  // per-VMA lock mode it must try-lock mmap_sem like any other mm.
  MmStruct* const reclaim_held = mmap_sem_held ? this : nullptr;
  const uint64_t page = addr & kPageMask;
  const uint64_t flags = vma->vm_flags;
  const bool write = access == FaultAccess::kWrite;
  // Linux: arch/x86/mm/fault.c access_error().
  if ((write && !(flags & kVmWrite)) || (!write && !(flags & kVmAccessFlags))) {
    segv_accerr_.fetch_add(1);
    return Segv(kSegvAccerr);
  }
  FaultResult result;
  const bool special = vma->vm_ops == &kSpecialVmOps ||
                       (flags & (kVmIo | kVmPfnmap | kVmMixedmap));
  if (vma->vm_file != nullptr && !special && !write &&
      config_.fault_around_pages > 1) {
    // Linux: do_read_fault() maps the cached neighbours first, before
    // ->fault() (which may then fail with SIGBUS past EOF).
    bool none;
    {
      MutexLock ptl(&page_table_lock_);
      const uint64_t* pte = pgd_.Lookup(page);
      none = pte == nullptr || *pte == 0;
    }
    if (none) FaultAroundLocked(vma, page);
  }
  const uint64_t file_pgoff =
      vma->vm_pgoff + ((page - vma->vm_start) >> kPageShift);

  // Each pass decides under page_table_lock what it needs, gets it without
  // the lock (allocation may reclaim, which takes page table locks), and
  // installs it if the pte did not change meanwhile.
  for (int pass = 0; pass < 8; ++pass) {
    Need need = Need::kNothing;
    uint64_t snapshot = 0;
    uint32_t old_pfn = 0;
    {
      MutexLock ptl(&page_table_lock_);
      uint64_t* pte = pgd_.Lookup(page);
      snapshot = pte == nullptr ? 0 : *pte;
      if (PteIsGuard(snapshot)) {
        segv_maperr_.fetch_add(1);
        return Segv(kSegvMaperr);
      }
      if (PtePresent(snapshot)) {
        *pte |= kPteAccessed;
        if (!write || (snapshot & kPteRw)) {
          if (write) *pte |= kPteDirty;
          break;  // the access succeeds now
        }
        // Linux: do_wp_page().
        old_pfn = PtePfn(snapshot);
        if ((flags & kVmShared) || (old_pfn != PhysMem::kZeroPfn &&
                                    phys_->Kind(old_pfn) == FrameKind::kAnon &&
                                    phys_->RefCount(old_pfn) == 1)) {
          *pte |= kPteRw | kPteDirty;
          if (result.kind == FaultKind::kNone) result.kind = FaultKind::kMinor;
          if (result.source == FaultSource::kNone) {
            result.source = FaultSource::kWriteReuse;
          }
          min_flt_.fetch_add(1);
          break;
        }
        need = Need::kAnonFrame;  // copy-on-write
      } else if (PteIsSwap(snapshot)) {
        need = Need::kSwapIn;
      } else if (special) {
        // vdso/vvar and device memory: the pfn is not a managed frame.
        uint64_t* slot = pte != nullptr ? pte : pgd_.Alloc(page);
        *slot = MakePte(PhysMem::kZeroPfn, PteBitsFor(flags, false));
        result.kind = FaultKind::kMinor;
        min_flt_.fetch_add(1);
        break;
      } else {
        // A pte never filled: the region's vm_ops->nopage decides.
        const NopageResult np = vma->vm_ops->nopage(*vma, page, write);
        if (np == NopageResult::kSigbus) {
          result.kind = FaultKind::kSigbus;
          result.si_code = kBusAdrerr;
          return result;
        }
        if (np == NopageResult::kZeroPage) {
          // Linux: do_anonymous_page() maps the shared zero page.
          uint64_t* slot = pte != nullptr ? pte : pgd_.Alloc(page);
          *slot = MakePte(PhysMem::kZeroPfn, PteBitsFor(flags, false));
          result.kind = FaultKind::kMinor;
          result.source = FaultSource::kZeroPage;
          min_flt_.fetch_add(1);
          break;
        }
        need =
            np == NopageResult::kAnonPage ? Need::kAnonFrame : Need::kCachePage;
      }
    }

    // Get the page without page_table_lock.
    uint32_t pfn = 0;
    bool major = false;
    bool created = false;
    std::optional<uint32_t> got;
    switch (need) {
      case Need::kAnonFrame:
        got = phys_->AllocFrameOrReclaim(FrameKind::kAnon, reclaim_held);
        break;
      case Need::kCachePage:
        got = phys_->FindOrCreateCachePage(vma->vm_file->ino, file_pgoff,
                                           vma->vm_file->shmem, &created,
                                           reclaim_held);
        major = created && !vma->vm_file->shmem;
        break;
      case Need::kSwapIn:
        got = phys_->SwapIn(PteSwapSlot(snapshot), &major, reclaim_held);
        break;
      case Need::kNothing:
        break;
    }
    if (!got.has_value()) {
      result.kind = FaultKind::kOom;
      return result;
    }
    pfn = *got;

    MutexLock ptl(&page_table_lock_);
    uint64_t* pte = pgd_.Alloc(page);
    if (*pte != snapshot) {  // raced with another fault: try again
      phys_->PutFrame(pfn);
      continue;
    }
    FaultSource source = FaultSource::kNone;
    bool copied = false;
    if (need == Need::kSwapIn) {
      // Linux: do_swap_page(): map the page, drop the pte's slot
      // reference; a write then takes the write-protect path above.
      phys_->MapFrame(pfn);
      *pte = MakePte(pfn, PteBitsFor(flags, false) | kPteDirty);
      RssAddLocked(FrameKind::kAnon, 1);
      --rss_.swap;
      phys_->SwapFree(PteSwapSlot(snapshot));
      source = major ? FaultSource::kSwapIn : FaultSource::kSwapCache;
    } else if (need == Need::kCachePage && !(write && IsCowMapping(flags))) {
      phys_->MapFrame(pfn);
      const bool rw = write && (flags & kVmShared);
      *pte = MakePte(pfn, PteBitsFor(flags, rw));
      RssAddLocked(phys_->Kind(pfn), 1);
      source = vma->vm_file->shmem ? FaultSource::kShmemPage
                                   : FaultSource::kPageCache;
    } else if (need == Need::kCachePage) {
      // A write to a private file mapping copies the file page
      // (Linux: do_cow_fault()).
      std::optional<uint32_t> copy = phys_->AllocFrame(FrameKind::kAnon);
      phys_->PutFrame(pfn);  // the copy, not the cache page, is mapped
      if (!copy.has_value()) {
        result.kind = FaultKind::kOom;
        return result;
      }
      phys_->MapFrame(*copy);
      *pte = MakePte(*copy, PteBitsFor(flags, true));
      RssAddLocked(FrameKind::kAnon, 1);
      source = FaultSource::kCopyOnWrite;
      copied = true;
    } else if (PtePresent(snapshot)) {
      // Copy-on-write of a present read-only page (Linux: wp_page_copy():
      // the old page's counter drops before the new one's rises, so an
      // anonymous copy leaves rss and its high-water mark unchanged).
      if (old_pfn != PhysMem::kZeroPfn) {
        RssAddLocked(phys_->Kind(old_pfn), -1);
        phys_->UnmapFrame(old_pfn);
        phys_->PutFrame(old_pfn);
      }
      phys_->MapFrame(pfn);
      *pte = MakePte(pfn, PteBitsFor(flags, true));
      RssAddLocked(FrameKind::kAnon, 1);
      source = FaultSource::kCopyOnWrite;
      copied = true;
    } else {
      phys_->MapFrame(pfn);
      *pte = MakePte(pfn, PteBitsFor(flags, true));
      RssAddLocked(FrameKind::kAnon, 1);
      source = FaultSource::kAnonPage;
    }
    if (copied) {
      cow_faults_.fetch_add(1);
      result.cow = true;
    }
    if (major) {
      maj_flt_.fetch_add(1);
      result.kind = FaultKind::kMajor;
    } else {
      min_flt_.fetch_add(1);
      if (result.kind == FaultKind::kNone) result.kind = FaultKind::kMinor;
    }
    if (result.source == FaultSource::kNone) result.source = source;
    // A write to a page just swapped in goes round once more.
    if (!(write && need == Need::kSwapIn)) break;
  }
  if (access == FaultAccess::kExec && !(flags & kVmExec)) {
    // The page is mapped, but NX stops the instruction fetch.
    segv_accerr_.fetch_add(1);
    result.kind = FaultKind::kSigsegv;
    result.si_code = kSegvAccerr;
  }
  return result;
}

void MmStruct::FaultAroundLocked(Vma* vma, uint64_t page) {
  // Linux: do_fault_around(): from_pte/to_pte within the page table.
  const uint64_t nr = config_.fault_around_pages;
  const uint64_t pte_off = (page >> kPageShift) & 511;
  const uint64_t vma_off = (page - vma->vm_start) >> kPageShift;
  const uint64_t vma_pages = (vma->vm_end - vma->vm_start) >> kPageShift;
  const uint64_t from =
      std::max(pte_off / nr * nr, pte_off - std::min(pte_off, vma_off));
  const uint64_t to =
      std::min({from + nr, uint64_t{512}, pte_off + vma_pages - vma_off}) - 1;
  const uint64_t pgoff = vma->vm_pgoff + vma_off;
  // filemap_map_pages(): not past the end of the file.
  const uint64_t file_pages = PageAlign(vma->vm_file->size) >> kPageShift;
  for (uint64_t i = from; i <= to; ++i) {
    if (i == pte_off) continue;
    const uint64_t addr = page + (i - pte_off) * kPageSize;
    const uint64_t file_pgoff = pgoff + i - pte_off;
    if (file_pgoff >= file_pages) break;
    {
      MutexLock ptl(&page_table_lock_);
      const uint64_t* pte = pgd_.Lookup(addr);
      if (pte != nullptr && *pte != 0) continue;
    }
    std::optional<uint32_t> pfn =
        phys_->FindCachePage(vma->vm_file->ino, file_pgoff);
    if (!pfn.has_value()) continue;
    MutexLock ptl(&page_table_lock_);
    uint64_t* pte = pgd_.Alloc(addr);
    if (*pte != 0) {
      phys_->PutFrame(*pfn);
      continue;
    }
    phys_->MapFrame(*pfn);
    *pte = MakePte(*pfn, PteBitsFor(vma->vm_flags, false));
    RssAddLocked(phys_->Kind(*pfn), 1);
  }
}

bool MmStruct::PopulatePageLocked(Vma* vma, uint64_t addr, bool write) {
  FaultResult r =
      FaultLocked(vma, addr, write ? FaultAccess::kWrite : FaultAccess::kRead);
  return r.kind == FaultKind::kNone || r.kind == FaultKind::kMinor ||
         r.kind == FaultKind::kMajor;
}

// --- zap, move, protect ---

void MmStruct::ZapPteLocked(uint64_t* pte) {
  const uint64_t value = *pte;
  *pte = 0;
  if (PtePresent(value)) {
    const uint32_t pfn = PtePfn(value);
    if (pfn == PhysMem::kZeroPfn) return;
    // Linux: zap_present_ptes() moves the pte's dirty bit to the folio.
    if ((value & kPteDirty) && phys_->Kind(pfn) != FrameKind::kAnon) {
      phys_->SetDirty(pfn);
    }
    RssAddLocked(phys_->Kind(pfn), -1);
    phys_->UnmapFrame(pfn);
    phys_->PutFrame(pfn);
  } else if (PteIsSwap(value)) {
    --rss_.swap;
    phys_->SwapFree(PteSwapSlot(value));
  }
}

void MmStruct::ZapRangeLocked(uint64_t start, uint64_t end) {
  MutexLock ptl(&page_table_lock_);
  pgd_.ForEach(start, end,
               [&](uint64_t, uint64_t* pte)
                   ABSL_NO_THREAD_SAFETY_ANALYSIS { ZapPteLocked(pte); });
}

void MmStruct::MovePtesLocked(uint64_t old_addr, uint64_t new_addr,
                              uint64_t len) {
  MutexLock ptl(&page_table_lock_);
  std::vector<std::pair<uint64_t, uint64_t>> moved;
  pgd_.ForEach(old_addr, old_addr + len, [&](uint64_t addr, uint64_t* pte) {
    moved.emplace_back(addr - old_addr, *pte);
    *pte = 0;
  });
  for (const auto& [offset, pte] : moved) {
    uint64_t* slot = pgd_.Alloc(new_addr + offset);
    if (*slot != 0) ZapPteLocked(slot);
    *slot = pte;
  }
  pgd_.FreeEmptyTables(old_addr, old_addr + len);
}

void MmStruct::WriteProtectRangeLocked(uint64_t start, uint64_t end) {
  for (auto it = vmas_.upper_bound(start);
       it != vmas_.end() && it->second->vm_start < end; ++it) {
    const Vma& vma = *it->second;
    const bool writable = vma.vm_flags & kVmWrite;
    const bool exec = vma.vm_flags & kVmExec;
    MutexLock ptl(&page_table_lock_);
    pgd_.ForEach(std::max(start, vma.vm_start), std::min(end, vma.vm_end),
                 [&](uint64_t, uint64_t* pte) {
                   if (!PtePresent(*pte)) return;
                   if (!writable) *pte &= ~kPteRw;
                   if (exec) {
                     *pte &= ~kPteNx;
                   } else {
                     *pte |= kPteNx;
                   }
                 });
  }
}

void MmStruct::GuardInstallLocked(uint64_t start, uint64_t end) {
  MutexLock ptl(&page_table_lock_);
  for (uint64_t addr = start; addr < end; addr += kPageSize) {
    uint64_t* pte = pgd_.Alloc(addr);
    if (*pte != 0 && !PteIsGuard(*pte)) ZapPteLocked(pte);
    *pte = kPteGuardMarker;
  }
}

void MmStruct::GuardRemoveLocked(uint64_t start, uint64_t end) {
  MutexLock ptl(&page_table_lock_);
  pgd_.ForEach(start, end, [&](uint64_t, uint64_t* pte) {
    if (PteIsGuard(*pte)) *pte = 0;
  });
}

bool MmStruct::RangeHasGuardLocked(uint64_t start, uint64_t end) const {
  MutexLock ptl(&page_table_lock_);
  bool found = false;
  pgd_.ForEach(start, end, [&](uint64_t, uint64_t* pte) {
    if (PteIsGuard(*pte)) found = true;
  });
  return found;
}

// --- mincore ---

absl::StatusOr<std::vector<uint8_t>> MmStruct::MincoreUncounted(
    uint64_t start, uint64_t len) const {
  // Linux: mm/mincore.c sys_mincore().
  if (!PageAligned(start)) return LinuxError(EINVAL, "unaligned start");
  if (start > kTaskSize || len > kTaskSize - start) {
    return LinuxError(ENOMEM, "range outside the address space");
  }
  const uint64_t end = start + PageAlign(len);
  std::vector<uint8_t> vec;
  vec.reserve((end - start) >> kPageShift);
  ReadLock lock(&mmap_sem_);
  uint64_t addr = start;
  while (addr < end) {
    const Vma* vma = FindVmaLocked(addr);
    if (vma == nullptr || vma->vm_start > addr) {
      return LinuxError(ENOMEM, "range has unmapped pages");
    }
    const uint64_t stop = std::min(end, vma->vm_end);
    MutexLock ptl(&page_table_lock_);
    for (; addr < stop; addr += kPageSize) {
      const uint64_t* pte = pgd_.Lookup(addr);
      const uint64_t value = pte == nullptr ? 0 : *pte;
      bool resident = PtePresent(value);
      if (!resident && value == 0 && vma->vm_file != nullptr) {
        resident = phys_->CachePagePresent(
            vma->vm_file->ino,
            vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift));
      }
      vec.push_back(resident ? 1 : 0);
    }
  }
  return vec;
}

// --- swap-out of one mm (Linux 2.4 mm/vmscan.c swap_out_mm) ---

uint64_t MmStruct::TrySwapOut(uint64_t budget) {
  uint64_t acquired_at = 0;
  if (!mmap_sem_.TryReadLock(&acquired_at)) return 0;
  uint64_t freed = SwapOutLocked(budget);
  mmap_sem_.ReadUnlock(acquired_at);
  return freed;
}

uint64_t MmStruct::SwapOutHeld(uint64_t budget) {
  return SwapOutLocked(budget);
}

uint64_t MmStruct::SwapOutLocked(uint64_t budget) {
  uint64_t freed = 0;
  uint64_t scanned = 0;
  const uint64_t start = swap_address_.load();
  // Two rounds from the cursor: the first may only clear accessed bits.
  for (int round = 0; round < 2 && freed < budget; ++round) {
    for (int half = 0; half < 2 && freed < budget; ++half) {
      const uint64_t lo = half == 0 ? start : 0;
      const uint64_t hi = half == 0 ? kTaskSize : start;
      for (auto it = vmas_.upper_bound(lo);
           it != vmas_.end() && it->second->vm_start < hi && freed < budget;
           ++it) {
        const Vma& vma = *it->second;
        if (vma.vm_flags & (kVmLocked | kVmIo | kVmPfnmap)) continue;
        MutexLock ptl(&page_table_lock_);
        pgd_.ForEach(
            std::max(lo, vma.vm_start), std::min(hi, vma.vm_end),
            [&](uint64_t addr, uint64_t* pte) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              if (freed >= budget || !PtePresent(*pte)) return;
              ++scanned;
              const uint32_t pfn = PtePfn(*pte);
              if (pfn == PhysMem::kZeroPfn) return;
              if (*pte & kPteAccessed) {  // young: age it, keep it
                *pte &= ~kPteAccessed;
                return;
              }
              const FrameKind kind = phys_->Kind(pfn);
              if (kind == FrameKind::kAnon) {
                std::optional<uint32_t> slot = phys_->SwapOutFrame(pfn);
                if (!slot.has_value()) return;  // swap is full
                *pte = MakeSwapPte(*slot);
                ++rss_.swap;
              } else {
                *pte = 0;  // file and shmem pages stay in the page cache
              }
              RssAddLocked(kind, -1);
              phys_->UnmapFrame(pfn);
              // An anonymous page held only by this pte and the swap cache
              // is freed by the put (its contents are on the slot now).
              const bool last =
                  kind == FrameKind::kAnon && phys_->RefCount(pfn) == 2;
              phys_->PutFrame(pfn);
              if (last) ++freed;
              swap_address_.store(addr + kPageSize);
            });
      }
    }
  }
  if (freed < budget) swap_address_.store(0);
  return freed;
}

// --- kernel pages (init_mm) ---

absl::Status MmStruct::MapKernelPages(uint64_t addr, uint64_t pages) {
  for (uint64_t i = 0; i < pages; ++i) {
    std::optional<uint32_t> pfn =
        phys_->AllocFrameOrReclaim(FrameKind::kKernel, nullptr);
    if (!pfn.has_value()) {
      UnmapKernelPages(addr, i);
      return LinuxError(ENOMEM, "no frame for vmalloc");
    }
    MutexLock ptl(&page_table_lock_);
    phys_->MapFrame(*pfn);
    *pgd_.Alloc(addr + i * kPageSize) =
        MakePte(*pfn, kPteRw | kPteDirty | kPteAccessed | kPteNx);
  }
  return absl::OkStatus();
}

void MmStruct::UnmapKernelPages(uint64_t addr, uint64_t pages) {
  MutexLock ptl(&page_table_lock_);
  pgd_.ForEach(addr, addr + pages * kPageSize, [&](uint64_t, uint64_t* pte) {
    if (!PtePresent(*pte)) return;
    const uint32_t pfn = PtePfn(*pte);
    *pte = 0;
    phys_->UnmapFrame(pfn);
    phys_->PutFrame(pfn);
  });
}

}  // namespace mmsim
