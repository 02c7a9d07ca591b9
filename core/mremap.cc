// mremap(2): shrink, grow in place, move, and (Linux >= 6.17) move several
// regions at once. Linux: mm/mremap.c do_mremap(), check_mremap_params(),
// check_prep_vma(), remap_move(), mremap_to(), mremap_at(), move_vma().
#include <cerrno>
#include <vector>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::StatusOr<uint64_t> MmStruct::MremapUncounted(uint64_t addr,
                                                   uint64_t old_len,
                                                   uint64_t new_len, int flags,
                                                   uint64_t new_addr) {
  old_len = PageAlign(old_len);
  new_len = PageAlign(new_len);
  // Linux: check_mremap_params().
  if (flags & ~(kMremapFixed | kMremapMaymove | kMremapDontunmap)) {
    return LinuxError(EINVAL, "unknown mremap flags");
  }
  if (!PageAligned(addr)) return LinuxError(EINVAL, "unaligned address");
  if (new_len == 0) return LinuxError(EINVAL, "new length is 0");
  if (new_len > kTaskSize) return LinuxError(EINVAL, "new length too large");
  const bool implies_new_addr = flags & (kMremapFixed | kMremapDontunmap);
  if (implies_new_addr) {
    if (new_addr > kTaskSize - new_len) {
      return LinuxError(EINVAL, "new range beyond TASK_SIZE");
    }
    if (!PageAligned(new_addr)) {
      return LinuxError(EINVAL, "unaligned new address");
    }
    if (addr + old_len > new_addr && new_addr + new_len > addr) {
      return LinuxError(EINVAL, "old and new ranges overlap");
    }
    if ((flags & kMremapFixed) && !(flags & kMremapMaymove)) {
      return LinuxError(EINVAL, "MREMAP_FIXED without MREMAP_MAYMOVE");
    }
    if ((flags & kMremapDontunmap) &&
        (!(flags & kMremapMaymove) || old_len != new_len)) {
      return LinuxError(EINVAL,
                        "MREMAP_DONTUNMAP needs MAYMOVE and equal lengths");
    }
  }
  MmapWriteGuard lock(this);
  absl::StatusOr<uint64_t> result =
      MremapLocked(addr, old_len, new_len, flags, new_addr);
  ValidateIfDebugLocked();
  return result;
}

absl::StatusOr<uint64_t> MmStruct::MremapLocked(uint64_t addr, uint64_t old_len,
                                                uint64_t new_len, int flags,
                                                uint64_t new_addr) {
  mmap_sem_.AssertHeld();
  if ((flags & kMremapDontunmap) && map_count_ + 2 >= config_.max_map_count) {
    return LinuxError(ENOMEM, "map_count near max_map_count");
  }
  // A MREMAP_FIXED move without resize may span several regions.
  if ((flags & kMremapFixed) && old_len == new_len) {
    return RemapMoveLocked(addr, old_len, new_addr, flags);
  }
  bool populate = false;
  absl::Status prep =
      CheckPrepVmaLocked(addr, old_len, new_len, flags, &populate);
  if (!prep.ok()) return prep;
  absl::StatusOr<uint64_t> result;
  if (flags & (kMremapFixed | kMremapDontunmap)) {
    result = MremapToLocked(addr, old_len, new_addr, new_len, flags);
  } else {
    result = MremapAtLocked(addr, old_len, new_len, flags);
  }
  if (result.ok() && populate && new_len > old_len) {
    PopulateLocked(*result + old_len, *result + new_len);
  }
  return result;
}

absl::Status MmStruct::CheckPrepVmaLocked(uint64_t addr, uint64_t old_len,
                                          uint64_t new_len, int flags,
                                          bool* populate) const {
  const Vma* vma = FindVmaLocked(addr);
  if (vma == nullptr || vma->vm_start > addr) {
    return LinuxError(EFAULT, "no region at the old address");
  }
  const bool will_map_new =
      new_len > old_len || (flags & (kMremapFixed | kMremapDontunmap));
  if (!will_map_new) return absl::OkStatus();
  // A shrinking move checks only the part that moves: the tail is simply
  // unmapped first, whatever it spans.
  if (new_len < old_len) old_len = new_len;
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
  if (new_len == old_len) return absl::OkStatus();
  if (vma->vm_flags & kVmLocked) *populate = true;
  const uint64_t delta =
      new_len > old_len ? new_len - old_len : old_len - new_len;
  uint64_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
  if (pgoff + (new_len >> kPageShift) < pgoff) {
    return LinuxError(EINVAL, "offset overflows");
  }
  if (vma->vm_flags & (kVmDontexpand | kVmPfnmap)) {
    return LinuxError(EFAULT, "region may not expand");
  }
  if (!MlockFutureOkLocked(vma->vm_flags, delta)) {
    return LinuxError(EAGAIN, "RLIMIT_MEMLOCK");
  }
  if (!MayExpandVmLocked(vma->vm_flags, delta >> kPageShift)) {
    return LinuxError(ENOMEM, "RLIMIT_AS/RLIMIT_DATA");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MmStruct::RemapMoveLocked(uint64_t start, uint64_t len,
                                                   uint64_t new_addr,
                                                   int flags) {
  // Linux: remap_move(): every region in [start, start + len) moves, the
  // gaps between them kept; no gap is allowed at the start.
  const uint64_t end = start + len;
  std::vector<std::pair<uint64_t, uint64_t>> sources;  // [vm_start, vm_end)
  std::vector<bool> multi_allowed;
  for (auto it = vmas_.upper_bound(start);
       it != vmas_.end() && it->second->vm_start < end; ++it) {
    sources.emplace_back(it->second->vm_start, it->second->vm_end);
    multi_allowed.push_back(
        !(it->second->vm_flags & (kVmDontexpand | kVmPfnmap | kVmHugetlb)));
  }
  absl::StatusOr<uint64_t> res = LinuxError(EFAULT, "nothing mapped to move");
  uint64_t target = new_addr;
  uint64_t last_end = 0;
  bool seen = false;
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto [vm_start, vm_end] = sources[i];
    const uint64_t addr = std::max(vm_start, start);
    const uint64_t piece = std::min(end, vm_end) - addr;
    if (!seen && start < vm_start) {
      return LinuxError(EFAULT, "range starts in a hole");
    }
    const uint64_t offset = seen ? vm_start - last_end : 0;
    last_end = vm_end;
    if (!multi_allowed[i]) {
      if (seen || vm_end < end) {
        return LinuxError(EFAULT, "special region in a multi-region move");
      }
    }
    bool populate = false;
    absl::Status prep =
        CheckPrepVmaLocked(addr, piece, piece, flags, &populate);
    if (!prep.ok()) return prep;
    absl::StatusOr<uint64_t> moved =
        MremapToLocked(addr, piece, target + offset, piece, flags);
    if (!moved.ok()) return moved;
    if (!seen) res = *moved;
    target = *moved + piece;
    seen = true;
  }
  return res;
}

absl::StatusOr<uint64_t> MmStruct::MremapAtLocked(uint64_t addr,
                                                  uint64_t old_len,
                                                  uint64_t new_len, int flags) {
  if (old_len == new_len) return addr;
  if (new_len < old_len) {
    // Always allowed: unmap the tail.
    absl::Status unmapped = DoMunmapLocked(addr + new_len, old_len - new_len);
    if (!unmapped.ok()) return unmapped;
    return addr;
  }
  const Vma target = *FindVmaLocked(addr);
  const uint64_t delta = new_len - old_len;
  // Grow in place when old_len reaches the end of the region and the space
  // after it is free (Linux: vrm_can_expand_in_place(), vma_expandable()).
  if (old_len == target.vm_end - addr) {
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
      RefreshHolesLocked(target.vm_end, new_end);
      VmStatAccountLocked(target.vm_flags, delta >> kPageShift);
      if (target.vm_flags & kVmLocked) locked_vm_ += delta >> kPageShift;
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

absl::StatusOr<uint64_t> MmStruct::MremapToLocked(uint64_t addr,
                                                  uint64_t old_len,
                                                  uint64_t new_addr,
                                                  uint64_t new_len, int flags) {
  if (flags & kMremapFixed) {
    absl::Status unmapped = DoMunmapLocked(new_addr, new_len);
    if (!unmapped.ok()) return unmapped;
    const Vma* vma = FindVmaLocked(addr);
    if (vma == nullptr || vma->vm_start > addr) {
      return LinuxError(EFAULT, "no region at the old address");
    }
  }
  if (new_len < old_len) {
    absl::Status unmapped = DoMunmapLocked(addr + new_len, old_len - new_len);
    if (!unmapped.ok()) return unmapped;
    old_len = new_len;
  }
  const Vma vma = *FindVmaLocked(addr);
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
  return MoveVmaLocked(addr, old_len, new_len, *dest, flags);
}

absl::StatusOr<uint64_t> MmStruct::MoveVmaLocked(uint64_t old_addr,
                                                 uint64_t old_len,
                                                 uint64_t new_len,
                                                 uint64_t new_addr, int flags) {
  // Linux: prep_move_vma(): avoid failing later in munmap, which may split
  // one region into three.
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
  // Linux: move_page_tables(): the pages go with the region.
  if (old_len != 0) MovePtesLocked(old_addr, new_addr, old_len);
  InsertMergeNewLocked(moved);
  RefreshHolesLocked(moved.vm_start, moved.vm_end);
  // Linux: vrm_stat_account().
  VmStatAccountLocked(old.vm_flags, new_len >> kPageShift);
  if (old.vm_flags & kVmLocked) locked_vm_ += new_len >> kPageShift;

  if (flags & kMremapDontunmap) {
    // The old region stays mapped but loses VM_LOCKED (its pages stay in
    // locked_vm, as Linux); a region moved whole gives up its anon_vma.
    Vma* left = const_cast<Vma*>(FindVmaLocked(old_addr));
    left->vm_flags &= ~kVmLockedMask;
    if (left->vm_start == old_addr && left->vm_end == old_addr + old_len) {
      left->anon_vma = 0;
    }
    return new_addr;
  }
  if (old_len != 0) {
    absl::Status unmapped = AlignMunmapLocked(old_addr, old_addr + old_len);
    if (!unmapped.ok()) return unmapped;
  }
  return new_addr;
}

}  // namespace mmsim
