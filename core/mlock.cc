// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2).
// Linux: mm/mlock.c.
#include <cerrno>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::Status MmStruct::MlockFixupLocked(uint64_t start, uint64_t end,
                                        uint64_t newflags) {
  mmap_sem_.AssertHeld();
  const Vma* vma = FindVmaLocked(start);
  const uint64_t oldflags = vma->vm_flags;
  // Special, hugetlb and droppable regions are never locked or counted.
  if (newflags == oldflags || (oldflags & (kVmSpecial | kVmDroppable))) {
    return absl::OkStatus();
  }
  absl::Status status = VmaModifyLocked(start, end, newflags);
  if (!status.ok()) return status;
  const uint64_t pages = (end - start) >> kPageShift;
  if (!(newflags & kVmLocked)) {
    locked_vm_ -= pages;
  } else if (!(oldflags & kVmLocked)) {
    locked_vm_ += pages;
  }
  return absl::OkStatus();
}

absl::Status MmStruct::ApplyVmaLockFlagsLocked(uint64_t start, uint64_t end,
                                               uint64_t flags) {
  mmap_sem_.AssertHeld();
  if (end < start) return LinuxError(EINVAL, "range wraps");
  if (end == start) return absl::OkStatus();
  const Vma* vma = FindVmaLocked(start);
  if (vma == nullptr || vma->vm_start > start) {
    return LinuxError(ENOMEM, "range starts in a hole");
  }
  uint64_t nstart = start;
  uint64_t tmp = vma->vm_start;
  while (nstart < end) {
    const Vma* cur = FindVmaLocked(nstart);
    if (cur == nullptr || cur->vm_start >= end) break;
    if (cur->vm_start != tmp) return LinuxError(ENOMEM, "range has a hole");
    uint64_t newflags = (cur->vm_flags & ~kVmLockedMask) | flags;
    tmp = std::min(cur->vm_end, end);
    absl::Status status = MlockFixupLocked(nstart, tmp, newflags);
    if (!status.ok()) return status;
    tmp = FindVmaLocked(nstart)->vm_end;  // Linux: vma_iter_end()
    nstart = tmp;
  }
  if (tmp < end) return LinuxError(ENOMEM, "range ends in a hole");
  return absl::OkStatus();
}

absl::Status MmStruct::MlockUncounted(uint64_t start, uint64_t len, int flags) {
  // Linux: mlock2(): only MLOCK_ONFAULT.
  if (flags & ~kMlockOnfault) return LinuxError(EINVAL, "unknown mlock2 flags");
  uint64_t vm_flags = kVmLocked;
  if (flags & kMlockOnfault) vm_flags |= kVmLockonfault;

  MmapWriteGuard lock(this);
  // Linux: do_mlock().
  if (config_.rlimits.memlock.cur == 0 && !config_.cap_ipc_lock) {
    return LinuxError(EPERM, "RLIMIT_MEMLOCK is 0");
  }
  len = PageAlign(len + (start & ~kPageMask));
  start &= kPageMask;
  const uint64_t lock_limit = config_.rlimits.memlock.cur >> kPageShift;
  uint64_t locked = (len >> kPageShift) + locked_vm_;
  if (locked > lock_limit && !config_.cap_ipc_lock) {
    // Pages of the range that are already locked are not counted twice
    // (Linux: count_mm_mlocked_page_nr(), its unsigned arithmetic kept).
    const uint64_t end =
        (~uint64_t{0} - len < start) ? ~uint64_t{0} : start + len;
    uint64_t count = 0;
    for (auto it = vmas_.upper_bound(start);
         it != vmas_.end() && it->second->vm_start < end; ++it) {
      const Vma& vma = *it->second;
      if (!(vma.vm_flags & kVmLocked)) continue;
      if (start > vma.vm_start) count -= start - vma.vm_start;
      if (end < vma.vm_end) {
        count += end - vma.vm_start;
        break;
      }
      count += vma.vm_end - vma.vm_start;
    }
    locked -= count >> kPageShift;
  }
  absl::Status status;
  if (locked <= lock_limit || config_.cap_ipc_lock) {
    status = ApplyVmaLockFlagsLocked(start, start + len, vm_flags);
  } else {
    status = LinuxError(ENOMEM, "locked memory would exceed RLIMIT_MEMLOCK");
  }
  if (status.ok() && !PopulateLocked(start, start + len, true)) {
    // Linux: __mlock_posix_error_return(): EFAULT from populating is ENOMEM.
    status = LinuxError(ENOMEM, "range could not be populated");
  }
  ValidateIfDebugLocked();
  return status;
}

absl::Status MmStruct::MunlockUncounted(uint64_t start, uint64_t len) {
  MmapWriteGuard lock(this);
  len = PageAlign(len + (start & ~kPageMask));
  start &= kPageMask;
  absl::Status status = ApplyVmaLockFlagsLocked(start, start + len, 0);
  ValidateIfDebugLocked();
  return status;
}

absl::Status MmStruct::MlockallUncounted(int flags) {
  if (flags == 0 || (flags & ~(kMclCurrent | kMclFuture | kMclOnfault)) ||
      flags == kMclOnfault) {
    return LinuxError(EINVAL, "bad mlockall flags");
  }
  MmapWriteGuard lock(this);
  if (config_.rlimits.memlock.cur == 0 && !config_.cap_ipc_lock) {
    return LinuxError(EPERM, "RLIMIT_MEMLOCK is 0");
  }
  const uint64_t lock_limit = config_.rlimits.memlock.cur >> kPageShift;
  if ((flags & kMclCurrent) && total_vm_ > lock_limit &&
      !config_.cap_ipc_lock) {
    return LinuxError(ENOMEM, "total_vm exceeds RLIMIT_MEMLOCK");
  }
  ApplyMlockallFlagsLocked(flags);
  if (flags & kMclCurrent) PopulateLocked(0, kTaskSize);
  ValidateIfDebugLocked();
  return absl::OkStatus();
}

absl::Status MmStruct::MunlockallUncounted() {
  MmapWriteGuard lock(this);
  ApplyMlockallFlagsLocked(0);
  ValidateIfDebugLocked();
  return absl::OkStatus();
}

void MmStruct::ApplyMlockallFlagsLocked(int flags) {
  mmap_sem_.AssertHeld();
  def_flags_ &= ~kVmLockedMask;
  if (flags & kMclFuture) {
    def_flags_ |= kVmLocked;
    if (flags & kMclOnfault) def_flags_ |= kVmLockonfault;
    if (!(flags & kMclCurrent)) return;
  }
  uint64_t to_add = 0;
  if (flags & kMclCurrent) {
    to_add |= kVmLocked;
    if (flags & kMclOnfault) to_add |= kVmLockonfault;
  }
  // Walk by address: fixups merge and split, so re-find after each.
  uint64_t addr = 0;
  while (const Vma* vma = FindVmaLocked(addr)) {
    const uint64_t start = std::max(addr, vma->vm_start);
    const uint64_t end = vma->vm_end;
    const uint64_t newflags = (vma->vm_flags & ~kVmLockedMask) | to_add;
    // Errors are ignored, as Linux does.
    (void)MlockFixupLocked(start, end, newflags);
    addr = end;
  }
}

}  // namespace mmsim
