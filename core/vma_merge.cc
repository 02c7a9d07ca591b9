// Splitting and merging regions. Linux: mm/vma.c split_vma(),
// vma_merge_new_range(), vma_merge_existing_range(), vma_modify(), and
// mm/rmap.c find_mergeable_anon_vma().
#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {
namespace {

// Linux: is_mergeable_vma(): equal flags and file (no userfaultfd context
// or anon name in mmsim).
bool IsMergeableVma(const Vma& vma, uint64_t flags, const SimFile* file,
                    uint64_t file_open) {
  return vma.vm_flags == flags && vma.vm_file.get() == file &&
         vma.vm_file_open == file_open;
}

// Linux: vma_had_uncowed_parents().
bool HadUncowedParents(const Vma* vma) {
  return vma != nullptr && vma->anon_vma != 0 && vma->anon_vma_chain_shared;
}

// Linux: is_mergeable_anon_vma(): may the anonymous memory of `src` (the
// range being placed, whose region is `src_vma` if it exists) join `tgt`?
bool IsMergeableAnonVma(const Vma& tgt, uint64_t src_anon, const Vma* src_vma) {
  if (tgt.anon_vma == 0 && src_anon != 0) return !HadUncowedParents(src_vma);
  if (tgt.anon_vma != 0 && src_anon == 0) return !HadUncowedParents(&tgt);
  return tgt.anon_vma == src_anon;
}

// Linux: can_merge_remove_vma().
bool CanRemove(const Vma& vma) { return vma.vm_ops->close == nullptr; }

// Linux: anon_vma_compatible().
bool AnonVmaCompatible(const Vma& a, const Vma& b) {
  return a.vm_end == b.vm_start && a.vm_file == b.vm_file &&
         a.vm_file_open == b.vm_file_open &&
         ((a.vm_flags ^ b.vm_flags) & ~kVmAccessFlags) == 0 &&
         b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> kPageShift);
}

}  // namespace

absl::Status MmStruct::SplitVmaLocked(uint64_t addr, bool check_count) {
  mmap_sem_.AssertHeld();
  const Vma* found = FindVmaLocked(addr);
  if (found == nullptr || found->vm_start >= addr) return absl::OkStatus();
  if (check_count && map_count_ >= config_.max_map_count) {
    return LinuxError(ENOMEM, "split would pass max_map_count");
  }
  Vma lower = *found;
  Vma* upper = const_cast<Vma*>(found);
  lower.vm_end = addr;
  upper->vm_pgoff += (addr - upper->vm_start) >> kPageShift;
  upper->vm_start = addr;
  if (lower.vm_ops->open != nullptr) lower.vm_ops->open(lower);
  InsertLocked(lower);
  events_->CountSplit();
  return absl::OkStatus();
}

Vma* MmStruct::InsertMergeNewLocked(Vma vma) {
  mmap_sem_.AssertHeld();
  const Vma* prev = PrevVmaLocked(vma.vm_start);
  const Vma* next = FindVmaLocked(vma.vm_start);
  if (prev != nullptr && prev->vm_end != vma.vm_start) prev = nullptr;
  if (next != nullptr && next->vm_start != vma.vm_end) next = nullptr;
  if (vma.vm_flags & kVmSpecial) return InsertLocked(vma);
  const SimFile* file = vma.vm_file.get();
  // Linux: can_vma_merge_left() / can_vma_merge_after().
  bool merge_left =
      prev != nullptr &&
      IsMergeableVma(*prev, vma.vm_flags, file, vma.vm_file_open) &&
      IsMergeableAnonVma(*prev, vma.anon_vma, nullptr) &&
      prev->vm_pgoff + prev->pages() == vma.vm_pgoff;
  // Linux: can_vma_merge_right() / can_vma_merge_before().
  bool merge_right =
      next != nullptr &&
      IsMergeableVma(*next, vma.vm_flags, file, vma.vm_file_open) &&
      IsMergeableAnonVma(*next, vma.anon_vma, nullptr) &&
      next->vm_pgoff == vma.vm_pgoff + vma.pages();
  if (merge_left && merge_right) {
    merge_right = prev->anon_vma == 0 || next->anon_vma == 0 ||
                  prev->anon_vma == next->anon_vma;
    if (merge_right && !CanRemove(*next)) merge_right = false;
  }
  if (!merge_left && !merge_right) return InsertLocked(vma);
  events_->CountMerge();
  uint64_t anon = vma.anon_vma;
  if (merge_left && anon == 0) anon = prev->anon_vma;
  if (merge_right && anon == 0) anon = next->anon_vma;
  if (merge_left) {
    Vma merged = *prev;
    merged.vm_end = merge_right ? next->vm_end : vma.vm_end;
    merged.anon_vma = anon;
    uint64_t prev_end = prev->vm_end;
    if (merge_right) {
      if (next->vm_ops->close != nullptr) next->vm_ops->close(*next);
      EraseLocked(next->vm_end);
    }
    return RekeyLocked(prev_end, merged);
  }
  Vma* n = const_cast<Vma*>(next);
  n->vm_start = vma.vm_start;
  n->vm_pgoff = vma.vm_pgoff;
  n->anon_vma = anon;
  return n;
}

absl::Status MmStruct::VmaModifyLocked(uint64_t start, uint64_t end,
                                       uint64_t new_flags) {
  mmap_sem_.AssertHeld();
  const Vma* middle = FindVmaLocked(start);
  if (middle == nullptr || middle->vm_start > start || middle->vm_end < end) {
    std::abort();  // callers pass a range inside one region
  }
  const bool left_side = start == middle->vm_start;
  const bool right_side = end == middle->vm_end;
  const uint64_t pgoff =
      middle->vm_pgoff + ((start - middle->vm_start) >> kPageShift);
  const SimFile* file = middle->vm_file.get();
  const Vma* prev = left_side ? PrevVmaLocked(start) : nullptr;
  const Vma* next = nullptr;
  if (right_side) {
    auto it = vmas_.upper_bound(middle->vm_end);
    if (it != vmas_.end()) next = it->second.get();
  }
  if (prev != nullptr && prev->vm_end != start) prev = nullptr;
  if (next != nullptr && next->vm_start != end) next = nullptr;

  bool merge_left = false, merge_right = false;
  if (!(new_flags & kVmSpecial)) {
    // Linux: vma_merge_existing_range().
    merge_left = prev != nullptr &&
                 IsMergeableVma(*prev, new_flags, file, middle->vm_file_open) &&
                 IsMergeableAnonVma(*prev, middle->anon_vma, middle) &&
                 prev->vm_pgoff + prev->pages() == pgoff;
    merge_right =
        next != nullptr &&
        IsMergeableVma(*next, new_flags, file, middle->vm_file_open) &&
        IsMergeableAnonVma(*next, middle->anon_vma, middle) &&
        next->vm_pgoff == pgoff + ((end - start) >> kPageShift);
    if (merge_left && merge_right) {
      merge_right = prev->anon_vma == 0 || next->anon_vma == 0 ||
                    prev->anon_vma == next->anon_vma;
    }
    if ((merge_left || merge_right) && left_side && right_side &&
        !CanRemove(*middle)) {
      merge_left = merge_right = false;
    }
    if (merge_left && merge_right && !CanRemove(*next)) merge_right = false;
  }

  const uint64_t flags_before = middle->vm_flags;
  const uint64_t pages = (end - start) >> kPageShift;

  if (merge_left || merge_right) {
    events_->CountMerge();
    uint64_t anon = middle->anon_vma;
    if (merge_left && anon == 0) anon = prev->anon_vma;
    if (merge_right && anon == 0) anon = next->anon_vma;
    // Btree erases move elements: work from copies and keys only.
    const uint64_t middle_end = middle->vm_end;
    if (merge_left) {
      Vma merged = *prev;
      const uint64_t prev_end = prev->vm_end;
      merged.vm_end = merge_right ? next->vm_end : end;
      merged.anon_vma = anon;
      if (merge_right) {
        const uint64_t next_end = next->vm_end;
        EraseLocked(middle_end);
        EraseLocked(next_end);
      } else if (right_side) {
        EraseLocked(middle_end);
      } else {
        Vma* m = const_cast<Vma*>(middle);
        m->vm_start = end;
        m->vm_pgoff += pages;
      }
      RekeyLocked(prev_end, merged);
    } else {
      Vma grown = *next;
      grown.vm_start = start;
      grown.vm_pgoff = pgoff;
      grown.anon_vma = anon;
      const uint64_t next_end = next->vm_end;
      if (left_side) {
        EraseLocked(middle_end);
      } else {
        Vma shrunk = *middle;
        shrunk.vm_end = start;
        RekeyLocked(middle_end, shrunk);
      }
      RekeyLocked(next_end, grown);
    }
    VmStatAccountLocked(flags_before, -static_cast<int64_t>(pages));
    VmStatAccountLocked(new_flags, pages);
    return absl::OkStatus();
  }

  if (!left_side) {
    absl::Status status = SplitVmaLocked(start, /*check_count=*/true);
    if (!status.ok()) return status;
  }
  if (!right_side) {
    absl::Status status = SplitVmaLocked(end, /*check_count=*/true);
    if (!status.ok()) return status;
  }
  Vma* vma = const_cast<Vma*>(FindVmaLocked(start));
  vma->vm_flags = new_flags;
  VmStatAccountLocked(flags_before, -static_cast<int64_t>(pages));
  VmStatAccountLocked(new_flags, pages);
  return absl::OkStatus();
}

void MmStruct::AnonVmaPrepareLocked(Vma* vma) {
  mmap_sem_.AssertHeld();
  if (vma->anon_vma != 0) return;
  // Linux: find_mergeable_anon_vma(): try next, then prev.
  auto it = vmas_.upper_bound(vma->vm_end);
  if (it != vmas_.end()) {
    const Vma& next = *it->second;
    if (AnonVmaCompatible(*vma, next) && next.anon_vma != 0 &&
        !next.anon_vma_chain_shared) {
      vma->anon_vma = next.anon_vma;
      return;
    }
  }
  if (const Vma* prev = PrevVmaLocked(vma->vm_start)) {
    if (AnonVmaCompatible(*prev, *vma) && prev->anon_vma != 0 &&
        !prev->anon_vma_chain_shared) {
      vma->anon_vma = prev->anon_vma;
      return;
    }
  }
  vma->anon_vma = NewAnonVmaId();
}

}  // namespace mmsim
