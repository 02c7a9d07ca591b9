// brk(2). Linux: mm/mmap.c brk() and mm/vma.c do_brk_flags().
#include <cerrno>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

uint64_t MmStruct::BrkUncounted(uint64_t brk) {
  MmapWriteGuard lock(this);
  const uint64_t origbrk = layout_.brk;
  // CONFIG_COMPAT_BRK is off on x86-64 distributions: min_brk = start_brk.
  const uint64_t min_brk = layout_.start_brk;
  if (brk < min_brk) return origbrk;
  // Linux: check_data_rlimit(): brk - start_brk plus the data segment.
  const uint64_t rlim = config_.rlimits.data.cur;
  if (rlim < kRlimInfinity &&
      (brk - layout_.start_brk) + (layout_.end_data - layout_.start_data) >
          rlim) {
    return origbrk;
  }
  const uint64_t newbrk = PageAlign(brk);
  const uint64_t oldbrk = PageAlign(layout_.brk);
  if (oldbrk == newbrk) {
    layout_.brk = brk;
    return brk;
  }
  if (brk <= layout_.brk) {
    // Always allow shrinking brk, if a region lies in [newbrk, oldbrk).
    const Vma* brkvma = FindVmaLocked(newbrk);
    if (brkvma == nullptr || brkvma->vm_start >= oldbrk) return origbrk;
    layout_.brk = brk;
    if (!AlignMunmapLocked(newbrk, oldbrk).ok()) {
      layout_.brk = origbrk;
      return origbrk;
    }
    ValidateIfDebugLocked();
    return brk;
  }
  // Linux: check_brk_limits() -> get_unmapped_area(MAP_FIXED): the new
  // heap must end below TASK_SIZE (a break near 2^64 would otherwise wrap
  // the checks below and overlap the regions above the heap).
  const uint64_t len = newbrk - oldbrk;
  if (len > kTaskSize || oldbrk > kTaskSize - len) return origbrk;
  // Check against existing mappings, guard gap included.
  const Vma* next = FindVmaLocked(oldbrk);
  if (next != nullptr && next->vm_start < newbrk + kPageSize + kStackGuardGap &&
      newbrk + kPageSize > next->StartGap()) {
    return origbrk;
  }
  // Linux: check_brk_limits(): RLIMIT_MEMLOCK under mlockall(MCL_FUTURE).
  if (!MlockFutureOkLocked(def_flags_, newbrk - oldbrk)) return origbrk;
  if (!DoBrkFlagsLocked(oldbrk, newbrk - oldbrk).ok()) return origbrk;
  layout_.brk = brk;
  if (def_flags_ & kVmLocked) PopulateLocked(oldbrk, newbrk);
  ValidateIfDebugLocked();
  return brk;
}

absl::Status MmStruct::DoBrkFlagsLocked(uint64_t addr, uint64_t len) {
  mmap_sem_.AssertHeld();
  const uint64_t flags = kVmRead | kVmWrite | kVmMayread | kVmMaywrite |
                         kVmMayexec | kVmAccount | def_flags_;
  if (!MayExpandVmLocked(flags, len >> kPageShift)) {
    return LinuxError(ENOMEM, "RLIMIT_AS/RLIMIT_DATA");
  }
  if (map_count_ > config_.max_map_count) {
    return LinuxError(ENOMEM, "map_count above max_map_count");
  }
  // Expand the heap region if it ends at addr and is compatible (Linux's
  // "just expand" merge: with prev only, never with next).
  const Vma* prev = PrevVmaLocked(addr);
  bool expanded = false;
  if (prev != nullptr && prev->vm_end == addr &&
      prev->vm_end > layout_.start_brk && prev->vm_flags == flags &&
      prev->vm_file == nullptr && prev->IsAnonymous() &&
      prev->vm_pgoff + prev->pages() == (addr >> kPageShift) &&
      !(prev->anon_vma != 0 && prev->anon_vma_chain_shared)) {
    Vma grown = *prev;
    grown.vm_end = addr + len;
    RekeyLocked(prev->vm_end, grown);
    events_->CountMerge();
    expanded = true;
  }
  if (!expanded) {
    Vma vma;
    vma.vm_start = addr;
    vma.vm_end = addr + len;
    vma.vm_flags = flags;
    vma.vm_pgoff = addr >> kPageShift;
    InsertLocked(vma);
  }
  RefreshHolesLocked(addr, addr + len);
  VmStatAccountLocked(flags, len >> kPageShift);
  if (flags & kVmLocked) locked_vm_ += len >> kPageShift;
  return absl::OkStatus();
}

}  // namespace mmsim
