// munmap(2). Linux: mm/vma.c do_vmi_munmap(), do_vmi_align_munmap(),
// vms_gather_munmap_vmas().
#include <cerrno>
#include <vector>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::Status MmStruct::DoMunmapUncounted(uint64_t start, uint64_t len) {
  MmapWriteGuard lock(this, MmapWriteGuard::kDeferred);
  lock.LockRange(start, start + std::min(PageAlign(len), kTaskSize));
  absl::Status status = DoMunmapLocked(start, len);
  ValidateIfDebugLocked();
  return status;
}

absl::Status MmStruct::DoMunmapLocked(uint64_t start, uint64_t len) {
  mmap_sem_.AssertHeld();
  if (!PageAligned(start) || start > kTaskSize || len > kTaskSize - start) {
    return LinuxError(EINVAL, "bad munmap range");
  }
  const uint64_t end = start + PageAlign(len);
  if (end == start) return LinuxError(EINVAL, "length is 0");
  // Unmapping a hole is not an error (Linux quirk, kept).
  return AlignMunmapLocked(start, end);
}

absl::Status MmStruct::AlignMunmapLocked(uint64_t start, uint64_t end) {
  mmap_sem_.AssertHeld();
  const Vma* first = FindVmaLocked(start);
  if (first == nullptr || first->vm_start >= end) return absl::OkStatus();
  if (start > first->vm_start) {
    // Make sure map_count after munmap() will not exceed its limit, but let
    // it pass the limit temporarily (Linux's words).
    if (end < first->vm_end && map_count_ >= config_.max_map_count) {
      return LinuxError(ENOMEM, "split would pass max_map_count");
    }
    absl::Status split = SplitVmaLocked(start, /*check_count=*/false);
    if (!split.ok()) return split;
  }
  const Vma* last = FindVmaLocked(end - 1);
  if (last != nullptr && last->vm_start < end && last->vm_end > end) {
    absl::Status split = SplitVmaLocked(end, /*check_count=*/false);
    if (!split.ok()) return split;
  }
  std::vector<Vma> doomed;
  for (auto it = vmas_.upper_bound(start);
       it != vmas_.end() && it->second->vm_start < end; ++it) {
    doomed.push_back(*it->second);
  }
  // Linux: unmap_region(): zap the pages, then free_pgtables().
  ZapRangeLocked(start, end);
  {
    MutexLock ptl(&page_table_lock_);
    pgd_.FreeEmptyTables(start, end);
  }
  for (const Vma& vma : doomed) {
    VmStatAccountLocked(vma.vm_flags, -static_cast<int64_t>(vma.pages()));
    if (vma.vm_flags & kVmLocked) locked_vm_ -= vma.pages();
    if (vma.vm_ops->close != nullptr) vma.vm_ops->close(vma);
    EraseLocked(vma.vm_end);
  }
  RefreshHolesLocked(start, end);
  return absl::OkStatus();
}

}  // namespace mmsim
