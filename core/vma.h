// A memory region: struct Vma (Linux: struct vm_area_struct), its flags,
// its operations table and the simulated files that back file mappings.
// Linux: include/linux/mm_types.h, include/linux/mm.h.
#ifndef MMSIM_CORE_VMA_H_
#define MMSIM_CORE_VMA_H_

#include <cstdint>
#include <memory>
#include <string>

#include "core/limits.h"

namespace mmsim {

// vm_flags bits, with Linux's values (include/linux/mm.h).
inline constexpr uint64_t kVmNone = 0;
inline constexpr uint64_t kVmRead = 0x1;
inline constexpr uint64_t kVmWrite = 0x2;
inline constexpr uint64_t kVmExec = 0x4;
inline constexpr uint64_t kVmShared = 0x8;
inline constexpr uint64_t kVmMayread = 0x10;
inline constexpr uint64_t kVmMaywrite = 0x20;
inline constexpr uint64_t kVmMayexec = 0x40;
inline constexpr uint64_t kVmMayshare = 0x80;
inline constexpr uint64_t kVmGrowsdown = 0x100;
inline constexpr uint64_t kVmPfnmap = 0x400;
inline constexpr uint64_t kVmLocked = 0x2000;
inline constexpr uint64_t kVmIo = 0x4000;
inline constexpr uint64_t kVmSeqRead = 0x8000;
inline constexpr uint64_t kVmRandRead = 0x10000;
inline constexpr uint64_t kVmDontcopy = 0x20000;
inline constexpr uint64_t kVmDontexpand = 0x40000;
inline constexpr uint64_t kVmLockonfault = 0x80000;
inline constexpr uint64_t kVmAccount = 0x100000;
inline constexpr uint64_t kVmNoreserve = 0x200000;
inline constexpr uint64_t kVmHugetlb = 0x400000;
inline constexpr uint64_t kVmSync = 0x800000;
inline constexpr uint64_t kVmWipeonfork = 0x2000000;
inline constexpr uint64_t kVmDontdump = 0x4000000;
inline constexpr uint64_t kVmMixedmap = 0x10000000;
inline constexpr uint64_t kVmHugepage = 0x20000000;
inline constexpr uint64_t kVmNohugepage = 0x40000000;
inline constexpr uint64_t kVmMergeable = 0x80000000;
// Linux >= 6.11 VM_DROPPABLE (a high flag bit; its value is not visible).
inline constexpr uint64_t kVmDroppable = uint64_t{1} << 40;

inline constexpr uint64_t kVmAccessFlags = kVmRead | kVmWrite | kVmExec;
inline constexpr uint64_t kVmLockedMask = kVmLocked | kVmLockonfault;
inline constexpr uint64_t kVmStack = kVmGrowsdown;  // x86: VM_STACK
// Linux: VM_SPECIAL, mappings that never merge, grow or get mlocked.
inline constexpr uint64_t kVmSpecial =
    kVmIo | kVmDontexpand | kVmPfnmap | kVmMixedmap;

// A simulated file (an inode). Immutable once created; shared by every Vma
// that maps it.
struct SimFile {
  uint64_t ino = 0;
  std::string name;      // path shown in /proc/PID/maps
  uint64_t size = 0;     // bytes
  uint32_t mode = 0644;  // permission bits, checked when a file is opened
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  bool shmem = false;  // backs a shared anonymous mapping ("/dev/zero")
};

struct Vma;

// What a fault on a page of a region resolves to (Linux: vm_fault_t).
enum class NopageResult {
  kZeroPage,
  kAnonPage,
  kPageCache,
  kShmemPage,
  kSigbus
};

// Linux: struct vm_operations_struct (open, close, and nopage, today's
// fault). The functions must be cheap and must not call back into the mm.
struct VmOps {
  const char* name;
  void (*open)(const Vma& vma);   // a new Vma now refers to the same object
  void (*close)(const Vma& vma);  // a Vma goes away (nullptr: nothing to do)
  NopageResult (*nopage)(const Vma& vma, uint64_t addr, bool write);
};

// Private anonymous memory. Linux keeps vm_ops == NULL for these; mmsim
// gives them a table so nopage has one home. vma_is_anonymous() is
// vm_ops == &kAnonymousVmOps.
extern const VmOps kAnonymousVmOps;
// File mappings (Linux: generic_file_vm_ops).
extern const VmOps kFileVmOps;
// Shared anonymous mappings (Linux: shmem_vm_ops on a /dev/zero inode).
extern const VmOps kShmemVmOps;
// Special mappings (vdso, vvar, device memory) imported from a real
// process: VM_SPECIAL, with a close hook, never merged.
extern const VmOps kSpecialVmOps;

// A memory region. A plain value: the mm owns its copies and hands out
// copies, never pointers. Linux: struct vm_area_struct.
struct Vma {
  uint64_t vm_start = 0;  // first byte
  uint64_t vm_end = 0;    // first byte after
  uint64_t vm_flags = 0;
  uint64_t vm_pgoff = 0;  // offset in vm_file, in pages (anon: vm_start >> 12)
  std::shared_ptr<const SimFile> vm_file;
  // Which open file (struct file) of vm_file the region was mapped through:
  // Linux's vm_file is the open file, so regions mapped through two opens
  // of one inode never merge. 0 for anonymous memory.
  uint64_t vm_file_open = 0;
  // Identity of the anonymous memory (Linux: anon_vma); 0 = none yet.
  // Linux assigns it at the first anonymous fault; merges require equal
  // identities, or one of them unset (mm/vma.c is_mergeable_anon_vma()).
  uint64_t anon_vma = 0;
  // True when anon_vma_chain is longer than one link (after fork), which
  // stops an unset identity from merging with a set one.
  bool anon_vma_chain_shared = false;
  const VmOps* vm_ops = &kAnonymousVmOps;
  // Name of a special mapping ("[vdso]", "[vvar]"); empty otherwise.
  std::string special_name;

  uint64_t pages() const { return (vm_end - vm_start) >> kPageShift; }
  bool IsAnonymous() const { return vm_ops == &kAnonymousVmOps; }
  bool Contains(uint64_t addr) const {
    return vm_start <= addr && addr < vm_end;
  }
  // x86-64 PTE protection bits for this region's flags (Linux:
  // vm_get_page_prot()): present, rw, user, nx.
  uint64_t vm_page_prot() const;
  // Linux: vm_start_gap(): vm_start less the stack guard gap when the
  // region grows down.
  uint64_t StartGap(uint64_t guard_gap = kStackGuardGap) const;
};

// "rwxp"-style permission string of /proc/PID/maps.
std::string VmaPermString(uint64_t vm_flags);

}  // namespace mmsim

#endif  // MMSIM_CORE_VMA_H_
