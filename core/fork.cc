// fork(2)'s copy of an address space and the teardown of one.
// Linux: kernel/fork.c dup_mmap(), mm/memory.c copy_page_range(),
// mm/mmap.c exit_mmap().
#include <cstdlib>

#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::Status MmStruct::DupMmap(MmStruct& child) {
  if (child.phys_ != phys_) std::abort();  // one machine, one pool
  MmapWriteGuard parent_lock(this);
  MmapWriteGuard child_lock(&child);
  child.config_ = config_;
  child.layout_ = layout_;
  // Linux: mm_init(): def_flags & VM_INIT_DEF_MASK (VM_NOHUGEPAGE).
  child.def_flags_ = def_flags_ & kVmNohugepage;
  for (const auto& [end, vma_ptr] : vmas_) {
    const Vma& vma = *vma_ptr;
    if (vma.vm_flags & kVmDontcopy) continue;
    Vma copy = vma;
    copy.vm_flags &= ~kVmLockedMask;  // locks are not inherited
    const bool wipe = vma.vm_flags & kVmWipeonfork;
    if (wipe) {
      copy.anon_vma = 0;
      copy.anon_vma_chain_shared = false;
    } else if (vma.anon_vma != 0) {
      // Linux: anon_vma_fork(): the child gets its own anon_vma, chained
      // to the parent's.
      copy.anon_vma = NewAnonVmaId();
      copy.anon_vma_chain_shared = true;
    }
    if (copy.vm_ops->open != nullptr) copy.vm_ops->open(copy);
    child.InsertLocked(copy);
    child.VmStatAccountLocked(copy.vm_flags, copy.pages());

    // Linux: vma_needs_copy(): only regions with anonymous pages (or raw
    // pfns) copy their ptes; the child faults file pages in itself.
    if (wipe ||
        (vma.anon_vma == 0 && !(vma.vm_flags & (kVmPfnmap | kVmMixedmap)))) {
      continue;
    }
    const bool cow = (vma.vm_flags & (kVmShared | kVmMaywrite)) == kVmMaywrite;
    MutexLock parent_ptl(&page_table_lock_);
    MutexLock child_ptl(&child.page_table_lock_);
    pgd_.ForEach(vma.vm_start, vma.vm_end,
                 [&](uint64_t addr, uint64_t* pte)
                     ABSL_NO_THREAD_SAFETY_ANALYSIS {
                       uint64_t value = *pte;
                       if (PtePresent(value)) {
                         const uint32_t pfn = PtePfn(value);
                         if (pfn != PhysMem::kZeroPfn) {
                           phys_->GetFrame(pfn);
                           phys_->MapFrame(pfn);
                           child.RssAddLocked(phys_->Kind(pfn), 1);
                         }
                         // Linux: copy_present_pte(): both sides lose write
                         // access to a private page, and the child's pte starts
                         // old.
                         if (cow && (value & kPteRw)) {
                           *pte &= ~kPteRw;
                           value &= ~kPteRw;
                         }
                         if (vma.vm_flags & kVmShared) value &= ~kPteDirty;
                         value &= ~kPteAccessed;
                       } else if (PteIsSwap(value)) {
                         phys_->SwapDup(PteSwapSlot(value));
                         ++child.rss_.swap;
                       }
                       *child.pgd_.Alloc(addr) = value;
                     });
  }
  child.RefreshHolesLocked(0, kTaskSize);
  child.hiwater_vm_ = child.total_vm_;
  {
    MutexLock child_ptl(&child.page_table_lock_);
    child.hiwater_rss_ = child.rss_.resident();
  }
  child.ValidateIfDebugLocked();
  return absl::OkStatus();
}

void MmStruct::ExitMmap() {
  MmapWriteGuard lock(this);
  // Unmapping everything cannot split a region, so it cannot fail.
  (void)AlignMunmapLocked(0, kTaskSize);
  locked_vm_ = 0;  // mremap(MREMAP_DONTUNMAP) may have left some behind
  {
    MutexLock ptl(&page_table_lock_);
    pgd_.FreeEmptyTables(0, kTaskSize);
  }
  ValidateIfDebugLocked();
}

}  // namespace mmsim
