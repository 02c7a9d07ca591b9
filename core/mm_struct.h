// The memory descriptor of one simulated process: class MmStruct (Linux:
// struct mm_struct) with its ordered region index and the region system
// calls. Behaviour follows Linux 6.x (mm/mmap.c, mm/vma.c, mm/mprotect.c,
// mm/mremap.c, mm/mlock.c, mm/madvise.c); the kernel conformance suite in
// tests/conformance compares the two live.
//
// Lock order, outer to inner; never acquire upward.
//   MmRegistry::table_lock_        pid -> mm map; held only to look up,
//                                  insert, erase
//     MmStruct::mmap_sem_          one mm's region index and layout (rw)
//       MmStruct::page_table_lock_ that mm's page table and rss counters
//         frame allocator          simulated physical frames
// mmlist_lock is taken alone. No lock is held while observers run.
//
// Invariants (checked by ValidateMmLocked()):
//   1. Every region is non-empty and page aligned: vm_start < vm_end.
//   2. Regions are sorted and do not overlap; the index key is vm_end.
//   3. map_count_ equals the number of regions.
//   4. total_vm_, data_vm_, exec_vm_, stack_vm_ equal the sums over the
//      regions, classified as Linux's vm_stat_account(); locked_vm_ is at
//      least the pages of VM_LOCKED regions (mremap DONTUNMAP leaves more).
//   5. mmap_cache_, when set, points at a region of vmas_.
//   6. Every region lies in [0, kTaskSize).
//   7. holes_ lists exactly the non-empty gaps between regions.
#ifndef MMSIM_CORE_MM_STRUCT_H_
#define MMSIM_CORE_MM_STRUCT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/limits.h"
#include "core/locks.h"
#include "core/vma.h"

namespace mmsim {

struct Rlimit {
  uint64_t cur = kRlimInfinity;
  uint64_t max = kRlimInfinity;
};

// The resource limits that bound an address space (bytes).
struct Rlimits {
  Rlimit as;                              // RLIMIT_AS
  Rlimit data;                            // RLIMIT_DATA
  Rlimit stack{8u << 20, kRlimInfinity};  // RLIMIT_STACK
  Rlimit memlock{8u << 20, 8u << 20};     // RLIMIT_MEMLOCK
};

enum class RlimitResource { kAs, kData, kStack, kMemlock };

// Per-process parameters that the host would hold elsewhere (sysctls,
// capabilities, personality).
struct MmConfig {
  uint64_t mmap_base = kDefaultMmapBase;          // top-down search top
  uint64_t mmap_legacy_base = kTaskUnmappedBase;  // bottom-up fallback
  uint64_t mmap_min_addr = kDefaultMmapMinAddr;   // vm.mmap_min_addr
  // CONFIG_LSM_MMAP_MIN_ADDR: hints and searches start at the larger of the
  // two (the kernel's mmap_min_addr variable); only vm.mmap_min_addr
  // decides EPERM for MAP_FIXED (Linux: cap_mmap_addr()).
  uint64_t lsm_mmap_min_addr = 65536;
  int max_map_count = kDefaultMaxMapCount;  // vm.max_map_count
  Rlimits rlimits;
  bool cap_ipc_lock = false;  // CAP_IPC_LOCK: mlock past RLIMIT_MEMLOCK
  // CAP_SYS_RAWIO: map below mmap_min_addr.
  bool cap_sys_rawio = false;
  // Linux >= 6.7: anonymous mappings whose length is a multiple of 2 MiB
  // and that have no hint are placed 2 MiB aligned (CONFIG_THP).
  bool thp_align_anon = true;
  // Regular files whose filesystem aligns large mappings to 2 MiB (ext4,
  // xfs: thp_get_unmapped_area()).
  bool thp_align_file = true;
};

// The layout fields of mm_struct (bytes).
struct MmLayout {
  uint64_t start_code = 0, end_code = 0;
  uint64_t start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0;
  uint64_t start_stack = 0;
  uint64_t arg_start = 0, arg_end = 0;
  uint64_t env_start = 0, env_end = 0;
};

// A consistent copy of the descriptor's counters, taken under mmap_sem.
struct MmCounters {
  int map_count = 0;
  uint64_t total_vm = 0;    // pages
  uint64_t locked_vm = 0;   // pages
  uint64_t data_vm = 0;     // pages
  uint64_t exec_vm = 0;     // pages
  uint64_t stack_vm = 0;    // pages
  uint64_t hiwater_vm = 0;  // pages
  uint64_t def_flags = 0;
  uint64_t mmap_base = 0;
  MmLayout layout;
  int mm_users = 0;
  int mm_count = 0;
};

struct MmapArgs {
  uint64_t addr = 0;  // hint, or the address for MAP_FIXED
  uint64_t len = 0;   // bytes
  int prot = kProtNone;
  int flags = kMapPrivate | kMapAnonymous;
  std::shared_ptr<const SimFile> file;  // required unless MAP_ANONYMOUS
  int file_mode = kFmodeRead;           // how the "fd" was opened
  // Identity of the open file ("fd"); mappings through different opens of
  // one file never merge. 0 means the file's one shared open.
  uint64_t file_open_id = 0;
  uint64_t offset = 0;  // bytes into the file
};

class MmStruct {  // Thread-safe: every public method takes mmap_sem_ itself.
 public:
  explicit MmStruct(const MmConfig& config = MmConfig());
  MmStruct(const MmStruct&) = delete;
  MmStruct& operator=(const MmStruct&) = delete;
  ~MmStruct();

  // --- lookups (mmap_sem as reader) ---

  // Returns the first region with addr < vm_end; it may not contain addr.
  // Linux: mm/mmap.c find_vma().
  std::optional<Vma> FindVma(uint64_t addr) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Returns FindVma(addr) and the region before it.
  // Linux: find_vma_prev().
  std::pair<std::optional<Vma>, std::optional<Vma>> FindVmaPrev(
      uint64_t addr) const ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Returns the first region overlapping [start, end).
  // Linux: find_vma_intersection().
  std::optional<Vma> FindVmaIntersection(uint64_t start, uint64_t end) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Returns the region containing addr. Linux: vma_lookup().
  std::optional<Vma> VmaLookup(uint64_t addr) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Returns where a mapping of `len` bytes would go, without mapping it.
  // Errors: ENOMEM when nothing fits, EINVAL for an unaligned MAP_FIXED
  // address. Linux: get_unmapped_area() with x86-64's top-down allocator.
  absl::StatusOr<uint64_t> GetUnmappedArea(const SimFile* file, uint64_t addr,
                                           uint64_t len, uint64_t pgoff,
                                           int flags) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // Returns a copy of every region in address order.
  std::vector<Vma> Vmas() const ABSL_LOCKS_EXCLUDED(mmap_sem_);
  MmCounters Counters() const ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Returns /proc/PID/maps text exactly as Linux formats it.
  std::string ProcMaps() const ABSL_LOCKS_EXCLUDED(mmap_sem_);
  MmConfig config() const ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // --- region system calls (mmap_sem as writer) ---

  // Maps a region as mmap(2) does and returns its address.
  // Errors, in Linux's order: EBADF (no file without MAP_ANONYMOUS), EINVAL
  // (len 0, unaligned offset, bad MAP_TYPE, unknown flags with
  // MAP_SHARED_VALIDATE is EOPNOTSUPP), ENOMEM (len overflow, map_count,
  // no space, RLIMIT_AS/DATA), EOVERFLOW (pgoff overflow), EEXIST
  // (MAP_FIXED_NOREPLACE over a region), EPERM (MAP_LOCKED without
  // permission, below mmap_min_addr), EAGAIN (RLIMIT_MEMLOCK), EACCES (file
  // open mode). Linux: mm/mmap.c do_mmap(), mm/vma.c mmap_region().
  absl::StatusOr<uint64_t> DoMmap(const MmapArgs& args)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Unmaps [start, start + len) as munmap(2). A hole is not an error.
  // Errors: EINVAL (unaligned, len 0, out of range), ENOMEM (a split would
  // pass max_map_count). Linux: mm/vma.c do_vmi_munmap().
  absl::Status DoMunmap(uint64_t start, uint64_t len)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Changes protection as mprotect(2), splitting and merging. Over a hole it
  // fails with ENOMEM after changing the mapped part before the hole, as
  // Linux does. Errors: EINVAL, ENOMEM, EACCES (beyond VM_MAY*).
  // Linux: mm/mprotect.c do_mprotect_pkey().
  absl::Status Mprotect(uint64_t start, uint64_t len, int prot)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Resizes or moves a region as mremap(2) and returns its new address.
  // Errors: EINVAL, EFAULT, ENOMEM, EAGAIN. Linux: mm/mremap.c.
  absl::StatusOr<uint64_t> Mremap(uint64_t old_addr, uint64_t old_len,
                                  uint64_t new_len, int flags,
                                  uint64_t new_addr)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Moves the program break as brk(2): returns the new break, or the old one
  // when the request fails. Linux: mm/mmap.c brk().
  uint64_t Brk(uint64_t brk) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // mlock(2) / mlock2(2) with MLOCK_ONFAULT. Errors: EINVAL, ENOMEM (hole
  // or RLIMIT_MEMLOCK), EPERM (RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK).
  absl::Status Mlock(uint64_t start, uint64_t len, int flags)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status Munlock(uint64_t start, uint64_t len)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status Mlockall(int flags) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status Munlockall() ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // madvise(2). Errors: EINVAL (unaligned, unknown advice, advice that does
  // not apply), ENOMEM (a hole, after applying to the mapped parts).
  absl::Status Madvise(uint64_t start, uint64_t len, int advice)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // --- set-up ---

  // Inserts a region verbatim (used to build a process from a description,
  // such as a real /proc/PID/maps). Errors: EINVAL if it is empty or
  // unaligned, EEXIST if it overlaps a region.
  absl::Status InsertVma(const Vma& vma) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  void SetLayout(const MmLayout& layout) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Linux: prlimit(2) on this mm's process. Errors: EINVAL if cur > max.
  absl::Status SetRlimit(RlimitResource resource, Rlimit limit)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // Aborts if an invariant of this file's list does not hold.
  void ValidateMm() const ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // Reference counts (lifecycle arrives with the process issue).
  std::atomic<int> mm_users{1};
  std::atomic<int> mm_count{1};

 private:
  // Keyed by vm_end, so FindVma(addr) is upper_bound(addr). Regions live out
  // of line: nodes stay small (find_vma scans fewer cache lines) and a
  // region does not move when the tree changes.
  using VmaMap = absl::btree_map<uint64_t, std::unique_ptr<Vma>>;
  struct MergeProps;

  // All of the following need mmap_sem_ held for write unless marked shared.
  void ValidateMmLocked() const ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  void ValidateIfDebugLocked() const ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  const Vma* FindVmaLocked(uint64_t addr) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  const Vma* PrevVmaLocked(uint64_t addr) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> GetUnmappedAreaLocked(const SimFile* file,
                                                 uint64_t addr, uint64_t len,
                                                 uint64_t pgoff, int flags,
                                                 uint64_t vm_flags) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> ArchGetUnmappedAreaTopdown(uint64_t addr,
                                                      uint64_t len,
                                                      int flags) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> ArchGetUnmappedAreaBottomup(uint64_t addr,
                                                       uint64_t len,
                                                       int flags) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> ThpGetUnmappedArea(uint64_t addr, uint64_t len,
                                              uint64_t off, int flags) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  std::optional<uint64_t> UnmappedAreaTopdown(uint64_t len, uint64_t low,
                                              uint64_t high) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  std::optional<uint64_t> UnmappedAreaBottomup(uint64_t len, uint64_t low,
                                               uint64_t high) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);

  // Recomputes holes_ around [lo, hi) after the mapped set changed there.
  void RefreshHolesLocked(uint64_t lo, uint64_t hi)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> DoMmapLocked(const MmapArgs& args,
                                        uint64_t extra_vm_flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> MmapRegionLocked(
      const std::shared_ptr<const SimFile>& file, uint64_t file_open,
      const VmOps* ops, uint64_t addr, uint64_t len, uint64_t vm_flags,
      uint64_t pgoff) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::Status DoMunmapLocked(uint64_t start, uint64_t len)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Unmaps [start, end) (aligned). Linux: do_vmi_align_munmap().
  absl::Status AlignMunmapLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Splits the region containing addr at addr. Checks max_map_count when
  // `check_count`. Linux: mm/vma.c split_vma().
  absl::Status SplitVmaLocked(uint64_t addr, bool check_count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Changes the properties of [start, end) inside the region containing
  // start to those of `props`, merging with neighbours where Linux would and
  // splitting otherwise. Linux: mm/vma.c vma_modify().
  absl::Status VmaModifyLocked(uint64_t start, uint64_t end, uint64_t new_flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Inserts `vma` for a new range, merging with neighbours when
  // compatible. Linux: mm/vma.c vma_merge_new_range() + vma_link().
  Vma* InsertMergeNewLocked(Vma vma) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  Vma* InsertLocked(const Vma& vma) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  void EraseLocked(uint64_t vm_end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Re-keys a region whose vm_end changed.
  Vma* RekeyLocked(uint64_t old_end, const Vma& updated)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  void VmStatAccountLocked(uint64_t vm_flags, int64_t pages)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  bool MayExpandVmLocked(uint64_t vm_flags, uint64_t pages) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  // Linux: the mmap_min_addr variable, max(vm.mmap_min_addr, LSM's).
  uint64_t HintMinAddrLocked() const ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_) {
    return std::max(config_.mmap_min_addr, config_.lsm_mmap_min_addr);
  }
  bool MlockFutureOkLocked(uint64_t vm_flags, uint64_t bytes) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::Status ApplyVmaLockFlagsLocked(uint64_t start, uint64_t end,
                                       uint64_t flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  void ApplyMlockallFlagsLocked(int flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::Status MlockFixupLocked(uint64_t start, uint64_t end, uint64_t newflags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Simulates populating [start, end) (MAP_POPULATE, mlock): private
  // writable anonymous regions get an anon_vma as a write fault would.
  // Returns false where Linux's get_user_pages would fail (PROT_NONE, a
  // file page past EOF); callers that ignore errors ignore it.
  bool PopulateLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::Status MadvisePopulateLocked(uint64_t start, uint64_t end, bool write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::Status MadviseVmaLocked(uint64_t start, uint64_t end, int advice)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Linux: anon_vma_prepare(): reuses a compatible neighbour's anon_vma.
  void AnonVmaPrepareLocked(Vma* vma) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> MremapLocked(uint64_t addr, uint64_t old_len,
                                        uint64_t new_len, int flags,
                                        uint64_t new_addr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> MoveVmaLocked(uint64_t old_addr, uint64_t old_len,
                                         uint64_t new_len, uint64_t new_addr,
                                         int flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Linux: check_prep_vma(). Sets *populate when a locked region grows.
  absl::Status CheckPrepVmaLocked(uint64_t addr, uint64_t old_len,
                                  uint64_t new_len, int flags,
                                  bool* populate) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> RemapMoveLocked(uint64_t start, uint64_t len,
                                           uint64_t new_addr, int flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> MremapAtLocked(uint64_t addr, uint64_t old_len,
                                          uint64_t new_len, int flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::StatusOr<uint64_t> MremapToLocked(uint64_t addr, uint64_t old_len,
                                          uint64_t new_addr, uint64_t new_len,
                                          int flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  absl::Status DoBrkFlagsLocked(uint64_t addr, uint64_t len)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);

  mutable RwSemaphore mmap_sem_;
  VmaMap vmas_ ABSL_GUARDED_BY(mmap_sem_);
  // The last region FindVma returned (Linux 2.4 mmap_cache). Readers set it
  // under mmap_sem_ held shared; every change of vmas_ clears it under
  // mmap_sem_ held exclusive, so a cached pointer is never stale.
  mutable std::atomic<const Vma*> mmap_cache_{nullptr};
  // The unmapped holes of [0, kTaskSize), keyed by end, value start; only
  // non-empty ones, so placement skips packed regions (Linux keeps the
  // largest gap per maple tree node for the same purpose).
  absl::btree_map<uint64_t, uint64_t> holes_ ABSL_GUARDED_BY(mmap_sem_) = {
      {kTaskSize, 0}};
  int map_count_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t total_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t locked_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t data_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t exec_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t stack_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t hiwater_vm_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  uint64_t def_flags_ ABSL_GUARDED_BY(mmap_sem_) = 0;
  MmLayout layout_ ABSL_GUARDED_BY(mmap_sem_);
  MmConfig config_ ABSL_GUARDED_BY(mmap_sem_);
};

// Allocates a fresh anon_vma identity (process-wide, never 0).
uint64_t NewAnonVmaId();
// Creates the shmem inode behind a shared anonymous mapping of `len` bytes
// ("/dev/zero (deleted)", device 00:01, a fresh inode number).
std::shared_ptr<const SimFile> NewShmemFile(uint64_t len);

}  // namespace mmsim

#endif  // MMSIM_CORE_MM_STRUCT_H_
