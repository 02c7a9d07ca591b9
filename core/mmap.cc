// mmap(2). Linux: arch/x86/kernel/sys_x86_64.c sys_mmap(), mm/mmap.c
// ksys_mmap_pgoff() and do_mmap(), mm/vma.c __mmap_region().
#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::StatusOr<uint64_t> MmStruct::DoMmapUncounted(const MmapArgs& args) {
  // Linux: sys_mmap(): the byte offset must be page aligned.
  if (!PageAligned(args.offset)) {
    return LinuxError(EINVAL, "offset is not page aligned");
  }
  if (!(args.flags & kMapAnonymous)) {
    if (args.file == nullptr) return LinuxError(EBADF, "no file to map");
    // Only hugetlbfs files take MAP_HUGETLB.
    if (args.flags & kMapHugetlb) {
      return LinuxError(EINVAL, "MAP_HUGETLB on a file that is not hugetlbfs");
    }
  } else if (args.flags & kMapHugetlb) {
    // Differs from Linux only in that mmsim has no huge page pool: Linux
    // answers ENOMEM the same way when vm.nr_hugepages is 0.
    return LinuxError(ENOMEM, "no huge pages reserved");
  }
  uint64_t addr;
  {
    // MAP_FIXED knows its range; a placed mapping may land anywhere.
    const bool fixed = args.flags & (kMapFixed | kMapFixedNoreplace);
    MmapWriteGuard lock(
        this, fixed ? MmapWriteGuard::kDeferred : MmapWriteGuard::kWhole);
    lock.LockRange(args.addr,
                   args.addr + std::min(PageAlign(args.len), kTaskSize));
    absl::StatusOr<uint64_t> mapped = DoMmapLocked(args, 0);
    if (!mapped.ok()) return mapped;
    addr = *mapped;
    ValidateIfDebugLocked();
  }
  return addr;
}

absl::StatusOr<uint64_t> MmStruct::DoMmapLocked(const MmapArgs& args,
                                                uint64_t extra_vm_flags) {
  mmap_sem_.AssertHeld();
  const SimFile* file =
      (args.flags & kMapAnonymous) ? nullptr : args.file.get();
  uint64_t addr = args.addr;
  uint64_t len = args.len;
  int flags = args.flags;
  const int prot = args.prot;
  uint64_t pgoff = args.offset >> kPageShift;

  if (len == 0) return LinuxError(EINVAL, "length is 0");
  if (flags & kMapFixedNoreplace) flags |= kMapFixed;
  if (!(flags & kMapFixed)) {
    // Linux: round_hint_to_min().
    addr &= kPageMask;
    if (addr != 0 && addr < HintMinAddrLocked()) {
      addr = PageAlign(HintMinAddrLocked());
    }
  }
  len = PageAlign(len);
  if (len == 0) return LinuxError(ENOMEM, "length overflows");
  if (pgoff + (len >> kPageShift) < pgoff) {
    return LinuxError(EOVERFLOW, "offset + length overflows");
  }
  if (map_count_ > config_.max_map_count) {
    return LinuxError(ENOMEM,
                      absl::StrFormat("map_count %d above %d", map_count_,
                                      config_.max_map_count));
  }
  uint64_t vm_flags = extra_vm_flags;
  absl::StatusOr<uint64_t> area =
      GetUnmappedAreaLocked(file, addr, len, file ? pgoff : 0, flags, vm_flags);
  if (!area.ok()) return area.status();
  addr = *area;
  if (args.flags & kMapFixedNoreplace) {
    const Vma* vma = FindVmaLocked(addr);
    if (vma != nullptr && vma->vm_start < addr + len) {
      return LinuxError(
          EEXIST, absl::StrFormat("MAP_FIXED_NOREPLACE: [%#x, %#x) is mapped",
                                  addr, addr + len));
    }
  }
  // Linux: calc_vm_prot_bits() | calc_vm_flag_bits() | def_flags | VM_MAY*.
  if (prot & kProtRead) vm_flags |= kVmRead;
  if (prot & kProtWrite) vm_flags |= kVmWrite;
  if (prot & kProtExec) vm_flags |= kVmExec;
  if (flags & kMapGrowsdown) vm_flags |= kVmGrowsdown;
  if (flags & kMapLocked) vm_flags |= kVmLocked;
  if ((flags & kMapType) == kMapSharedValidate && (flags & kMapSync)) {
    vm_flags |= kVmSync;
  }
  if (flags & kMapStack) vm_flags |= kVmNohugepage;  // Linux >= 6.7
  vm_flags |= def_flags_ | kVmMayread | kVmMaywrite | kVmMayexec;

  if (flags & kMapLocked) {
    // Linux: can_do_mlock().
    if (config_.rlimits.memlock.cur == 0 && !config_.cap_ipc_lock) {
      return LinuxError(EPERM, "MAP_LOCKED with RLIMIT_MEMLOCK 0");
    }
  }
  if (!MlockFutureOkLocked(vm_flags, len)) {
    return LinuxError(EAGAIN, "locked memory would exceed RLIMIT_MEMLOCK");
  }

  std::shared_ptr<const SimFile> file_ref;
  const VmOps* ops = &kAnonymousVmOps;
  if (file != nullptr) {
    // Linux: file_mmap_ok() with MAX_LFS_FILESIZE for regular files.
    constexpr uint64_t kMaxLfsFilesize = 0x7fffffffffffffffULL;
    if (len > kMaxLfsFilesize ||
        pgoff > ((kMaxLfsFilesize - len) >> kPageShift)) {
      return LinuxError(EOVERFLOW, "offset beyond the maximum file size");
    }
    const int mode = args.file_mode;
    switch (flags & kMapType) {
      case kMapShared:
      case kMapSharedValidate:
        if ((flags & kMapType) == kMapShared) {
          flags &= kLegacyMapMask;
        } else if (flags & ~(kLegacyMapMask | kMapSync | kMapFixedNoreplace)) {
          // MAP_SYNC needs a DAX file: Linux rejects it here too.
          return LinuxError(EOPNOTSUPP,
                            "unknown flags with MAP_SHARED_VALIDATE");
        } else if (flags & kMapSync) {
          return LinuxError(EOPNOTSUPP, "MAP_SYNC on a file without DAX");
        }
        if ((prot & kProtWrite) && !(mode & kFmodeWrite)) {
          return LinuxError(EACCES,
                            "shared writable mapping of a file not "
                            "opened for writing");
        }
        vm_flags |= kVmShared | kVmMayshare;
        if (!(mode & kFmodeWrite)) vm_flags &= ~(kVmMaywrite | kVmShared);
        [[fallthrough]];
      case kMapPrivate:
        if (!(mode & kFmodeRead)) {
          return LinuxError(EACCES, "file not opened for reading");
        }
        if (vm_flags & kVmGrowsdown) {
          return LinuxError(EINVAL, "MAP_GROWSDOWN on a file mapping");
        }
        break;
      default:
        return LinuxError(EINVAL, "bad MAP_TYPE");
    }
    file_ref = args.file;
    ops = file->shmem ? &kShmemVmOps : &kFileVmOps;
  } else {
    switch (flags & kMapType) {
      case kMapShared:
        if (vm_flags & kVmGrowsdown) {
          return LinuxError(EINVAL, "MAP_GROWSDOWN on a shared mapping");
        }
        pgoff = 0;
        vm_flags |= kVmShared | kVmMayshare;
        break;
      case kMapDroppable:
        // Linux >= 6.11: memory the kernel may drop under pressure.
        if (flags & kMapLocked) {
          return LinuxError(EINVAL, "MAP_DROPPABLE with MAP_LOCKED");
        }
        if (vm_flags & kVmGrowsdown) {
          return LinuxError(EINVAL, "MAP_DROPPABLE with MAP_GROWSDOWN");
        }
        vm_flags |= kVmDroppable | kVmNoreserve | kVmWipeonfork | kVmDontdump;
        [[fallthrough]];
      case kMapPrivate:
        pgoff = addr >> kPageShift;
        break;
      default:
        return LinuxError(EINVAL, "bad MAP_TYPE for an anonymous mapping");
    }
  }
  // Linux: overcommit mode 0 honours MAP_NORESERVE.
  if (flags & kMapNoreserve) vm_flags |= kVmNoreserve;

  absl::StatusOr<uint64_t> mapped = MmapRegionLocked(
      file_ref, file ? args.file_open_id : 0, ops, addr, len, vm_flags, pgoff);
  if (!mapped.ok()) return mapped;
  if ((vm_flags & kVmLocked) ||
      (flags & (kMapPopulate | kMapNonblock)) == kMapPopulate) {
    PopulateLocked(addr, addr + len);
  }
  return addr;
}

absl::StatusOr<uint64_t> MmStruct::MmapRegionLocked(
    const std::shared_ptr<const SimFile>& file, uint64_t file_open,
    const VmOps* ops, uint64_t addr, uint64_t len, uint64_t vm_flags,
    uint64_t pgoff) {
  mmap_sem_.AssertHeld();
  const uint64_t end = addr + len;
  // Linux: vms_gather_munmap_vmas(): a mapping placed strictly inside one
  // region needs a split that must not pass max_map_count.
  uint64_t replaced_pages = 0;
  const Vma* first = FindVmaLocked(addr);
  if (first != nullptr && first->vm_start < end) {
    if (first->vm_start < addr && end < first->vm_end &&
        map_count_ >= config_.max_map_count) {
      return LinuxError(ENOMEM, "split would pass max_map_count");
    }
    for (auto it = vmas_.upper_bound(addr);
         it != vmas_.end() && it->second->vm_start < end; ++it) {
      uint64_t lo = std::max(it->second->vm_start, addr);
      uint64_t hi = std::min(it->second->vm_end, end);
      replaced_pages += (hi - lo) >> kPageShift;
    }
  }
  if (replaced_pages != 0) {
    // Linux gathers the regions it replaces first, splitting at both ends;
    // a failure below leaves those splits in place.
    absl::Status split = SplitVmaLocked(addr, /*check_count=*/false);
    if (split.ok()) split = SplitVmaLocked(end, /*check_count=*/false);
    if (!split.ok()) return split;
  }
  if (!MayExpandVmLocked(vm_flags, (len >> kPageShift) - replaced_pages)) {
    return LinuxError(ENOMEM, "address space limit (RLIMIT_AS/RLIMIT_DATA)");
  }
  // Linux: accountable_mapping(): private writable memory is committed.
  if ((vm_flags & (kVmNoreserve | kVmShared | kVmWrite)) == kVmWrite) {
    vm_flags |= kVmAccount;
  }
  if (replaced_pages != 0) {
    absl::Status unmapped = AlignMunmapLocked(addr, end);
    if (!unmapped.ok()) return unmapped;
  }
  Vma vma;
  vma.vm_start = addr;
  vma.vm_end = end;
  vma.vm_flags = vm_flags;
  vma.vm_pgoff = pgoff;
  vma.vm_file = file;
  vma.vm_file_open = file_open;
  vma.vm_ops = ops;
  if (file == nullptr && (vm_flags & kVmShared)) {
    // Linux: shmem_zero_setup() gives the region its own /dev/zero inode.
    vma.vm_file = NewShmemFile(len);
    vma.vm_ops = &kShmemVmOps;
  }
  if (vma.vm_ops->open != nullptr) vma.vm_ops->open(vma);
  // Special and droppable regions are never locked (Linux:
  // __mmap_complete()).
  if ((vm_flags & kVmLocked) && (vm_flags & (kVmSpecial | kVmDroppable))) {
    vm_flags &= ~kVmLockedMask;
    vma.vm_flags = vm_flags;
  }
  InsertMergeNewLocked(vma);
  RefreshHolesLocked(addr, end);
  VmStatAccountLocked(vm_flags, len >> kPageShift);
  if (vm_flags & kVmLocked) locked_vm_ += len >> kPageShift;
  return addr;
}

bool MmStruct::PopulateLocked(uint64_t start, uint64_t end,
                              bool stop_at_error) {
  mmap_sem_.AssertHeld();
  // Linux: __mm_populate() -> populate_vma_page_range(): a write fault on a
  // private writable region prepares its anon_vma; read faults do not.
  // Preparing an anon_vma changes no key of the index, so iterating is safe.
  bool ok = true;
  for (auto it = vmas_.upper_bound(start);
       it != vmas_.end() && it->second->vm_start < end; ++it) {
    Vma& vma = *it->second;
    if (vma.vm_flags & (kVmIo | kVmPfnmap)) continue;
    if (vma.vm_flags & kVmLockonfault) continue;
    if ((vma.vm_flags & kVmAccessFlags) == 0) {
      ok = false;  // get_user_pages: -EFAULT on PROT_NONE
      if (stop_at_error) return false;
      continue;
    }
    const uint64_t first = std::max(vma.vm_start, start);
    const uint64_t last = std::min(vma.vm_end, end);
    if (vma.vm_file != nullptr) {
      // A file page past EOF is SIGBUS: the fault fails, nothing copies.
      uint64_t offset = (vma.vm_pgoff << kPageShift) + (first - vma.vm_start);
      uint64_t eof = PageAlign(vma.vm_file->size);
      if (offset + (last - first) > eof) ok = false;
      if (offset >= eof) {
        if (stop_at_error) return false;
        continue;
      }
    }
    const bool write = (vma.vm_flags & (kVmWrite | kVmShared)) == kVmWrite;
    if (write) AnonVmaPrepareLocked(&vma);
    // Fault every page in; the first failure ends this region.
    for (uint64_t addr = first; addr < last; addr += kPageSize) {
      if (!PopulatePageLocked(&vma, addr, write)) {
        ok = false;
        break;
      }
    }
    if (!ok && stop_at_error) return false;
  }
  return ok;
}

}  // namespace mmsim
