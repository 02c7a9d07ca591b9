// madvise(2). Linux: mm/madvise.c do_madvise(), madvise_walk_vmas(),
// madvise_vma_behavior().
#include <cerrno>
#include <vector>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {
namespace {

// Linux: madvise_behavior_valid() on an x86-64 kernel with KSM, THP, SWAP
// and MEMORY_FAILURE.
bool BehaviorValid(int advice) {
  switch (advice) {
    case kMadvDofork:
    case kMadvDontfork:
    case kMadvNormal:
    case kMadvSequential:
    case kMadvRandom:
    case kMadvRemove:
    case kMadvWillneed:
    case kMadvDontneed:
    case kMadvDontneedLocked:
    case kMadvFree:
    case kMadvCold:
    case kMadvPageout:
    case kMadvPopulateRead:
    case kMadvPopulateWrite:
    case kMadvMergeable:
    case kMadvUnmergeable:
    case kMadvHugepage:
    case kMadvNohugepage:
    case kMadvCollapse:
    case kMadvDontdump:
    case kMadvDodump:
    case kMadvWipeonfork:
    case kMadvKeeponfork:
    case kMadvGuardInstall:
    case kMadvGuardRemove:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status MmStruct::MadviseUncounted(uint64_t start, uint64_t len_in,
                                        int advice) {
  if (!BehaviorValid(advice)) {
    // Differs from Linux: MADV_HWPOISON / MADV_SOFT_OFFLINE need
    // CAP_SYS_ADMIN and real pages; mmsim rejects them as unknown.
    return LinuxError(EINVAL, "unknown advice");
  }
  if (!PageAligned(start)) return LinuxError(EINVAL, "unaligned start");
  const uint64_t len = PageAlign(len_in);
  if (len_in != 0 && len == 0) return LinuxError(EINVAL, "length overflows");
  const uint64_t end = start + len;
  if (end < start) return LinuxError(EINVAL, "range wraps");
  if (end == start) return absl::OkStatus();

  MmapWriteGuard lock(this);
  if (advice == kMadvPopulateRead || advice == kMadvPopulateWrite) {
    absl::Status status =
        MadvisePopulateLocked(start, end, advice == kMadvPopulateWrite);
    ValidateIfDebugLocked();
    return status;
  }
  // Linux: madvise_walk_vmas(): apply to each mapped piece; a hole makes
  // the result ENOMEM but does not stop the walk.
  absl::Status unmapped_error;
  uint64_t addr = start;
  absl::Status result;
  while (true) {
    const Vma* vma = FindVmaLocked(addr);
    if (vma == nullptr) {
      result = LinuxError(ENOMEM, "range has unmapped pages");
      break;
    }
    if (addr < vma->vm_start) {
      unmapped_error = LinuxError(ENOMEM, "range has unmapped pages");
      addr = vma->vm_start;
      if (addr >= end) break;
    }
    const uint64_t tmp = std::min(vma->vm_end, end);
    absl::Status status = MadviseVmaLocked(addr, tmp, advice);
    if (!status.ok()) {
      result = status;
      break;
    }
    addr = tmp;
    if (addr >= end) break;
  }
  if (result.ok()) result = unmapped_error;
  ValidateIfDebugLocked();
  return result;
}

absl::Status MmStruct::MadvisePopulateLocked(uint64_t start, uint64_t end,
                                             bool write) {
  mmap_sem_.AssertHeld();
  // Linux: madvise_populate() -> faultin_page_range(): a hole is ENOMEM,
  // a region the access is not allowed on is EINVAL, a page past the end
  // of its file is EFAULT (SIGBUS). Regions before the failure stay
  // populated.
  uint64_t addr = start;
  while (addr < end) {
    const Vma* found = FindVmaLocked(addr);
    if (found == nullptr || found->vm_start > addr) {
      return LinuxError(ENOMEM, "range has unmapped pages");
    }
    Vma& vma = *const_cast<Vma*>(found);
    const uint64_t needed = write ? kVmWrite : kVmRead;
    if ((vma.vm_flags & (kVmIo | kVmPfnmap)) || !(vma.vm_flags & needed)) {
      return LinuxError(EINVAL, "access not allowed on the region");
    }
    const uint64_t last = std::min(vma.vm_end, end);
    bool sigbus = false;
    bool faults = true;
    if (vma.vm_file != nullptr) {
      const uint64_t offset =
          (vma.vm_pgoff << kPageShift) + (addr - vma.vm_start);
      const uint64_t eof = PageAlign(vma.vm_file->size);
      if (offset + (last - addr) > eof) sigbus = true;
      if (offset >= eof) faults = false;
    }
    // A write fault on a private region copies: it needs an anon_vma.
    // A read of private anonymous memory maps the zero page.
    if (faults && write && !(vma.vm_flags & kVmShared)) {
      AnonVmaPrepareLocked(&vma);
    }
    for (uint64_t page = addr; faults && page < last; page += kPageSize) {
      FaultResult r = FaultLocked(
          &vma, page, write ? FaultAccess::kWrite : FaultAccess::kRead);
      if (r.kind == FaultKind::kSigbus) break;
      if (r.kind == FaultKind::kSigsegv) {
        return LinuxError(EFAULT, "guard region");
      }
      if (r.kind == FaultKind::kOom) return LinuxError(ENOMEM, "out of memory");
    }
    if (sigbus) return LinuxError(EFAULT, "page past the end of the file");
    addr = last;
  }
  return absl::OkStatus();
}

absl::Status MmStruct::MadviseVmaLocked(uint64_t start, uint64_t end,
                                        int advice) {
  mmap_sem_.AssertHeld();
  const Vma& vma = *FindVmaLocked(start);
  const uint64_t flags = vma.vm_flags;
  uint64_t new_flags = flags;
  switch (advice) {
    case kMadvRemove:
      if (flags & kVmLocked) return LinuxError(EINVAL, "MADV_REMOVE on locked");
      if (vma.vm_file == nullptr) {
        return LinuxError(EINVAL, "MADV_REMOVE on anonymous memory");
      }
      if ((flags & (kVmShared | kVmMaywrite)) != (kVmShared | kVmMaywrite)) {
        return LinuxError(EACCES, "MADV_REMOVE needs a shared writable map");
      }
      // Linux: vfs_fallocate(PUNCH_HOLE): the pages leave every mapping
      // and the page cache.
      ZapRangeLocked(start, end);
      phys_->DropCachePages(
          vma.vm_file->ino,
          vma.vm_pgoff + ((start - vma.vm_start) >> kPageShift),
          vma.vm_pgoff + ((end - vma.vm_start) >> kPageShift) - 1);
      return absl::OkStatus();
    case kMadvWillneed:
      return absl::OkStatus();  // readahead / swapin: no change to regions
    case kMadvCold:
    case kMadvPageout:
      if (flags & (kVmLocked | kVmPfnmap | kVmHugetlb)) {
        return LinuxError(EINVAL, "locked or special region");
      }
      if (advice == kMadvPageout && vma.vm_file != nullptr) {
        // Linux: madvise_cold_or_pageout_pte_range() + reclaim_pages():
        // pages mapped only here are reclaimed. A file or shmem page is
        // unmapped (try_to_unmap); a clean one then leaves the page cache
        // (__remove_mapping), a dirty one stays (without swap
        // shmem_writeout() keeps it; mmsim writes nothing back). An
        // anonymous page needs swap space (add_to_swap): like Linux
        // without swap, mmsim keeps it mapped. Shared pages and the zero
        // page are skipped.
        std::vector<uint64_t> clean;  // file pgoffs to drop
        {
          MutexLock ptl(&page_table_lock_);
          pgd_.ForEach(
              start, end,
              [&](uint64_t addr, uint64_t* pte) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                if (!PtePresent(*pte)) return;
                const uint32_t pfn = PtePfn(*pte);
                if (pfn == PhysMem::kZeroPfn ||
                    phys_->Kind(pfn) == FrameKind::kAnon ||
                    phys_->MapCount(pfn) != 1) {
                  return;
                }
                ZapPteLocked(pte);
                if (!phys_->Dirty(pfn)) {
                  clean.push_back(vma.vm_pgoff +
                                  ((addr - vma.vm_start) >> kPageShift));
                }
              });
        }
        for (uint64_t pgoff : clean) {
          phys_->DropCachePages(vma.vm_file->ino, pgoff, pgoff);
        }
      }
      return absl::OkStatus();
    case kMadvFree:
    case kMadvDontneed:
    case kMadvDontneedLocked: {
      uint64_t forbidden = kVmPfnmap;
      if (advice != kMadvDontneedLocked) forbidden |= kVmLocked;
      if (flags & forbidden) {
        return LinuxError(EINVAL, "locked or special region");
      }
      if (advice == kMadvFree && !vma.IsAnonymous()) {
        return LinuxError(EINVAL, "MADV_FREE on non-anonymous memory");
      }
      // Differs from Linux: MADV_FREE frees lazily, under memory pressure
      // only; mmsim leaves the pages mapped (as Linux does until then).
      if (advice != kMadvFree) ZapRangeLocked(start, end);
      return absl::OkStatus();
    }
    case kMadvGuardInstall:
    case kMadvGuardRemove: {
      // Linux: is_valid_guard_vma(); only installing refuses locked memory.
      uint64_t disallowed = kVmSpecial | kVmHugetlb;
      if (advice == kMadvGuardInstall) disallowed |= kVmLocked;
      if (flags & disallowed) {
        return LinuxError(EINVAL, "guard regions need unlocked plain memory");
      }
      // Guard markers live in the page tables, which then need copying on
      // fork: every region gets an anon_vma, file-backed ones too (Linux:
      // madvise_guard_install() -> anon_vma_prepare()).
      if (advice == kMadvGuardInstall) {
        AnonVmaPrepareLocked(const_cast<Vma*>(&vma));
      }
      if (advice == kMadvGuardInstall) {
        GuardInstallLocked(start, end);
      } else {
        GuardRemoveLocked(start, end);
      }
      return absl::OkStatus();
    }
    case kMadvCollapse:
      return absl::OkStatus();
    case kMadvNormal:
      new_flags &= ~(kVmRandRead | kVmSeqRead);
      break;
    case kMadvSequential:
      new_flags = (new_flags & ~kVmRandRead) | kVmSeqRead;
      break;
    case kMadvRandom:
      new_flags = (new_flags & ~kVmSeqRead) | kVmRandRead;
      break;
    case kMadvDontfork:
      new_flags |= kVmDontcopy;
      break;
    case kMadvDofork:
      if (flags & kVmIo) return LinuxError(EINVAL, "MADV_DOFORK on VM_IO");
      new_flags &= ~kVmDontcopy;
      break;
    case kMadvWipeonfork:
      if (vma.vm_file != nullptr || (flags & kVmShared)) {
        return LinuxError(EINVAL, "MADV_WIPEONFORK on non-anonymous memory");
      }
      new_flags |= kVmWipeonfork;
      break;
    case kMadvKeeponfork:
      if (flags & kVmDroppable) return LinuxError(EINVAL, "droppable region");
      new_flags &= ~kVmWipeonfork;
      break;
    case kMadvDontdump:
      new_flags |= kVmDontdump;
      break;
    case kMadvDodump:
      if ((new_flags & kVmSpecial) || (flags & kVmDroppable)) {
        return LinuxError(EINVAL, "MADV_DODUMP on a special region");
      }
      new_flags &= ~kVmDontdump;
      break;
    case kMadvMergeable:
      if (!(flags &
            (kVmMergeable | kVmShared | kVmMayshare | kVmPfnmap | kVmIo |
             kVmDontexpand | kVmHugetlb | kVmMixedmap | kVmDroppable))) {
        new_flags |= kVmMergeable;
      }
      break;
    case kMadvUnmergeable:
      new_flags &= ~kVmMergeable;
      break;
    case kMadvHugepage:
      new_flags = (new_flags & ~kVmNohugepage) | kVmHugepage;
      break;
    case kMadvNohugepage:
      new_flags = (new_flags & ~kVmHugepage) | kVmNohugepage;
      break;
    default:
      return LinuxError(EINVAL, "unknown advice");
  }
  if (new_flags == flags) return absl::OkStatus();
  absl::Status status = VmaModifyLocked(start, end, new_flags);
  // Linux: "madvise() returns EAGAIN if kernel resources, such as slab, are
  // temporarily unavailable" - a refused split included.
  if (!status.ok() && LinuxErrno(status) == ENOMEM) {
    return LinuxError(EAGAIN, "split would pass max_map_count");
  }
  return status;
}

}  // namespace mmsim
