// mprotect(2). Linux: mm/mprotect.c do_mprotect_pkey(), mprotect_fixup().
#include <cerrno>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::Status MmStruct::MprotectUncounted(uint64_t start, uint64_t len,
                                         int prot) {
  const int grows = prot & (kProtGrowsdown | kProtGrowsup);
  prot &= ~(kProtGrowsdown | kProtGrowsup);
  if (grows == (kProtGrowsdown | kProtGrowsup)) {
    return LinuxError(EINVAL, "PROT_GROWSDOWN and PROT_GROWSUP together");
  }
  if (!PageAligned(start)) return LinuxError(EINVAL, "unaligned start");
  if (len == 0) return absl::OkStatus();
  len = PageAlign(len);
  uint64_t end = start + len;
  if (end <= start) return LinuxError(ENOMEM, "range wraps");
  // Linux: arch_validate_prot().
  if (prot & ~(kProtRead | kProtWrite | kProtExec | kProtSem)) {
    return LinuxError(EINVAL, "unknown prot bits");
  }

  MmapWriteGuard lock(this, MmapWriteGuard::kDeferred);
  lock.LockRange(start, end);
  const Vma* vma = FindVmaLocked(start);
  if (vma == nullptr || vma->vm_start >= end) {
    return LinuxError(ENOMEM, "range is not mapped");
  }
  if (grows & kProtGrowsdown) {
    start = vma->vm_start;
    if (!(vma->vm_flags & kVmGrowsdown)) {
      return LinuxError(EINVAL,
                        "PROT_GROWSDOWN on a region that does not "
                        "grow down");
    }
  } else {
    if (vma->vm_start > start) {
      return LinuxError(ENOMEM, "range starts in a hole");
    }
    if (grows & kProtGrowsup) {
      return LinuxError(EINVAL, "PROT_GROWSUP on x86-64");
    }
  }

  uint64_t vm_prot = 0;
  if (prot & kProtRead) vm_prot |= kVmRead;
  if (prot & kProtWrite) vm_prot |= kVmWrite;
  if (prot & kProtExec) vm_prot |= kVmExec;

  // Walk the regions of [start, end), changing each in turn; stop at the
  // first hole or error, keeping what was already changed (as Linux).
  uint64_t nstart = start;
  uint64_t tmp = vma->vm_start;
  absl::Status error;
  while (nstart < end) {
    const Vma* cur = FindVmaLocked(nstart);
    if (cur == nullptr || cur->vm_start >= end) break;
    if (cur->vm_start != tmp) {
      error = LinuxError(ENOMEM, "range has a hole");
      break;
    }
    uint64_t newflags = vm_prot | (cur->vm_flags & ~kVmAccessFlags);
    // newflags >> 4 shifts VM_MAY* in place of VM_*.
    if ((newflags & ~(newflags >> 4)) & kVmAccessFlags) {
      error = LinuxError(EACCES, "protection beyond what the mapping allows");
      break;
    }
    tmp = std::min(cur->vm_end, end);
    const uint64_t oldflags = cur->vm_flags;
    if (newflags != oldflags) {
      // Linux: mprotect_fixup().
      const uint64_t nrpages = (tmp - nstart) >> kPageShift;
      if (newflags & kVmWrite) {
        if (!MayExpandVmLocked(newflags, nrpages) &&
            MayExpandVmLocked(oldflags, nrpages)) {
          error = LinuxError(ENOMEM, "RLIMIT_DATA");
          break;
        }
        if (!(oldflags & (kVmAccount | kVmWrite | kVmHugetlb | kVmShared |
                          kVmNoreserve))) {
          newflags |= kVmAccount;
        }
      } else if ((oldflags & kVmAccount) && cur->IsAnonymous() &&
                 cur->anon_vma == 0) {
        newflags &= ~kVmAccount;
      }
      if (newflags != oldflags) {
        error = VmaModifyLocked(nstart, tmp, newflags);
        if (!error.ok()) break;
        // A locked private region made writable is populated for writing
        // at once, so it keeps no copy-on-write pages.
        if ((oldflags & (kVmWrite | kVmShared | kVmLocked)) == kVmLocked &&
            (newflags & kVmWrite)) {
          PopulateLocked(nstart, tmp);
        }
      }
    }
    // Continue after the region that now holds nstart: a merge may have
    // carried it past tmp (Linux: tmp = vma_iter_end()).
    tmp = FindVmaLocked(nstart)->vm_end;
    nstart = tmp;
  }
  if (error.ok() && tmp < end) {
    error = LinuxError(ENOMEM, "range ends in a hole");
  }
  // Linux: change_protection() on the ptes of what changed.
  WriteProtectRangeLocked(start, std::min(end, nstart));
  ValidateIfDebugLocked();
  return error;
}

}  // namespace mmsim
