// mremap(2): shrink, grow in place, move. Linux: mm/mremap.c.
#include <cerrno>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::StatusOr<uint64_t> MmStruct::Mremap(uint64_t addr, uint64_t old_len,
                                          uint64_t new_len, int flags,
                                          uint64_t new_addr) {
  if (flags & ~(kMremapFixed | kMremapMaymove | kMremapDontunmap)) {
    return LinuxError(EINVAL, "unknown mremap flags");
  }
  if ((flags & kMremapFixed) && !(flags & kMremapMaymove)) {
    return LinuxError(EINVAL, "MREMAP_FIXED without MREMAP_MAYMOVE");
  }
  if ((flags & kMremapDontunmap) &&
      (!(flags & kMremapMaymove) || old_len != new_len)) {
    return LinuxError(EINVAL,
                      "MREMAP_DONTUNMAP needs MAYMOVE and equal "
                      "lengths");
  }
  if (!PageAligned(addr)) return LinuxError(EINVAL, "unaligned address");
  old_len = PageAlign(old_len);
  new_len = PageAlign(new_len);
  if (new_len == 0) return LinuxError(EINVAL, "new length is 0");

  WriteLock lock(&mmap_sem_);
  absl::StatusOr<uint64_t> result =
      MremapLocked(addr, old_len, new_len, flags, new_addr);
  ValidateIfDebugLocked();
  return result;
}

absl::StatusOr<uint64_t> MmStruct::MremapLocked(uint64_t addr, uint64_t old_len,
                                                uint64_t new_len, int flags,
                                                uint64_t new_addr) {
  mmap_sem_.AssertHeld();
  {
    const Vma* vma = FindVmaLocked(addr);
    if (vma == nullptr || vma->vm_start > addr) {
      return LinuxError(EFAULT, "no region at the old address");
    }
    if (flags & (kMremapFixed | kMremapDontunmap)) {
      return MremapToLocked(addr, old_len, new_addr, new_len, flags);
    }
    // Always allow a shrinking remap: that just unmaps the tail.
    if (old_len >= new_len) {
      if (old_len == new_len) return addr;
      absl::Status unmapped = DoMunmapLocked(addr + new_len, old_len - new_len);
      if (!unmapped.ok()) return unmapped;
      return addr;
    }
    absl::StatusOr<Vma> resized =
        VmaToResizeLocked(addr, old_len, new_len, flags);
    if (!resized.ok()) return resized.status();
    const Vma& target = *resized;
    // Grow in place when old_len reaches the end of the region and the
    // space after it is free (Linux: vma_expandable()).
    if (old_len == target.vm_end - addr) {
      const uint64_t delta = new_len - old_len;
      const uint64_t new_end = target.vm_end + delta;
      const Vma* next = FindVmaLocked(target.vm_end);
      const bool free_after = new_end > target.vm_end && new_end <= kTaskSize &&
                              (next == nullptr || next->vm_start >= new_end);
      if (free_after) {
        if (target.vm_flags & kVmSpecial) {
          return LinuxError(ENOMEM, "special regions do not grow");
        }
        // Linux: vma_merge_extend(): the extension merges into the region
        // and, when compatible, with the next one.
        Vma extension = target;
        extension.vm_start = target.vm_end;
        extension.vm_end = new_end;
        extension.vm_pgoff = target.vm_pgoff + target.pages();
        InsertMergeNewLocked(extension);
        VmStatAccountLocked(target.vm_flags, delta >> kPageShift);
        if (target.vm_flags & kVmLocked) {
          locked_vm_ += delta >> kPageShift;
          PopulateLocked(addr + old_len, addr + new_len);
        }
        return addr;
      }
    }
    if (!(flags & kMremapMaymove)) {
      return LinuxError(ENOMEM, "cannot grow in place without MREMAP_MAYMOVE");
    }
    int map_flags = (target.vm_flags & kVmMayshare) ? kMapShared : 0;
    uint64_t pgoff = target.vm_pgoff + ((addr - target.vm_start) >> kPageShift);
    absl::StatusOr<uint64_t> dest = GetUnmappedAreaLocked(
        target.vm_file.get(), 0, new_len, pgoff, map_flags, target.vm_flags);
    if (!dest.ok()) return dest.status();
    return MoveVmaLocked(addr, old_len, new_len, *dest, flags);
  }
}

absl::StatusOr<Vma> MmStruct::VmaToResizeLocked(uint64_t addr, uint64_t old_len,
                                                uint64_t new_len,
                                                int flags) const {
  const Vma* vma = FindVmaLocked(addr);
  if (vma == nullptr || vma->vm_start > addr) {
    return LinuxError(EFAULT, "no region at the old address");
  }
  if (old_len == 0 && !(vma->vm_flags & (kVmShared | kVmMayshare))) {
    return LinuxError(EINVAL, "old length 0 on a private mapping");
  }
  if ((flags & kMremapDontunmap) &&
      (vma->vm_flags & (kVmDontexpand | kVmPfnmap))) {
    return LinuxError(EINVAL, "MREMAP_DONTUNMAP on a special region");
  }
  if (old_len > vma->vm_end - addr) {
    return LinuxError(EFAULT, "old range crosses a region boundary");
  }
  if (new_len == old_len) return *vma;
  uint64_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
  if (pgoff + (new_len >> kPageShift) < pgoff) {
    return LinuxError(EINVAL, "offset overflows");
  }
  if (vma->vm_flags & (kVmDontexpand | kVmPfnmap)) {
    return LinuxError(EFAULT, "region may not expand");
  }
  if (!MlockFutureOkLocked(vma->vm_flags, new_len - old_len)) {
    return LinuxError(EAGAIN, "RLIMIT_MEMLOCK");
  }
  if (!MayExpandVmLocked(vma->vm_flags, (new_len - old_len) >> kPageShift)) {
    return LinuxError(ENOMEM, "RLIMIT_AS/RLIMIT_DATA");
  }
  return *vma;
}

absl::StatusOr<uint64_t> MmStruct::MremapToLocked(uint64_t addr,
                                                  uint64_t old_len,
                                                  uint64_t new_addr,
                                                  uint64_t new_len, int flags) {
  if (!PageAligned(new_addr))
    return LinuxError(EINVAL, "unaligned new address");
  if (new_len > kTaskSize || new_addr > kTaskSize - new_len) {
    return LinuxError(EINVAL, "new range beyond TASK_SIZE");
  }
  if (addr + old_len > new_addr && new_addr + new_len > addr) {
    return LinuxError(EINVAL, "old and new ranges overlap");
  }
  if ((flags & kMremapDontunmap) && map_count_ + 2 >= config_.max_map_count) {
    return LinuxError(ENOMEM, "map_count");
  }
  if (flags & kMremapFixed) {
    absl::Status unmapped = DoMunmapLocked(new_addr, new_len);
    if (!unmapped.ok()) return unmapped;
  }
  if (old_len > new_len) {
    absl::Status unmapped = DoMunmapLocked(addr + new_len, old_len - new_len);
    if (!unmapped.ok()) return unmapped;
    old_len = new_len;
  }
  absl::StatusOr<Vma> resized =
      VmaToResizeLocked(addr, old_len, new_len, flags);
  if (!resized.ok()) return resized.status();
  const Vma& vma = *resized;
  if ((flags & kMremapDontunmap) &&
      !MayExpandVmLocked(vma.vm_flags, old_len >> kPageShift)) {
    return LinuxError(ENOMEM, "RLIMIT_AS/RLIMIT_DATA");
  }
  int map_flags = 0;
  if (flags & kMremapFixed) map_flags |= kMapFixed;
  if (vma.vm_flags & kVmMayshare) map_flags |= kMapShared;
  uint64_t pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> kPageShift);
  absl::StatusOr<uint64_t> dest = GetUnmappedAreaLocked(
      vma.vm_file.get(), new_addr, new_len, pgoff, map_flags, vma.vm_flags);
  if (!dest.ok()) return dest.status();
  if (!(flags & kMremapFixed)) new_addr = *dest;
  return MoveVmaLocked(addr, old_len, new_len, new_addr, flags);
}

absl::StatusOr<uint64_t> MmStruct::MoveVmaLocked(uint64_t old_addr,
                                                 uint64_t old_len,
                                                 uint64_t new_len,
                                                 uint64_t new_addr, int flags) {
  // Linux: move_vma(): avoid failing later in munmap, which may split one
  // region into three.
  if (map_count_ >= config_.max_map_count - 3) {
    return LinuxError(ENOMEM, "map_count near max_map_count");
  }
  const Vma old = *FindVmaLocked(old_addr);
  // Linux: copy_vma(): an unfaulted anonymous region takes the pgoff of
  // its new address, to merge there.
  Vma moved = old;
  moved.vm_start = new_addr;
  moved.vm_end = new_addr + new_len;
  moved.vm_pgoff = old.vm_pgoff + ((old_addr - old.vm_start) >> kPageShift);
  if (old.IsAnonymous() && old.anon_vma == 0) {
    moved.vm_pgoff = new_addr >> kPageShift;
  }
  InsertMergeNewLocked(moved);
  VmStatAccountLocked(old.vm_flags, new_len >> kPageShift);

  if (flags & kMremapDontunmap) {
    // The old region stays mapped but loses VM_LOCKED; a region moved
    // whole gives up its anon_vma. Differs from Linux: Linux leaves
    // locked_vm as it was; mmsim subtracts the old region's locked pages
    // and adds the new ones, so locked_vm stays the sum over VM_LOCKED
    // regions.
    Vma* left = const_cast<Vma*>(FindVmaLocked(old_addr));
    if (left->vm_flags & kVmLocked) {
      locked_vm_ -= left->pages();
      locked_vm_ += new_len >> kPageShift;
    }
    left->vm_flags &= ~kVmLockedMask;
    if (left->vm_start == old_addr && left->vm_end == old_addr + old_len) {
      left->anon_vma = 0;
    }
    return new_addr;
  }
  absl::Status unmapped = AlignMunmapLocked(old_addr, old_addr + old_len);
  if (!unmapped.ok()) return unmapped;
  if (old.vm_flags & kVmLocked) {
    locked_vm_ += new_len >> kPageShift;
    if (new_len > old_len)
      PopulateLocked(new_addr + old_len, new_addr + new_len);
  }
  return new_addr;
}

}  // namespace mmsim
