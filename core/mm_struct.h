// The memory descriptor of one simulated process: class MmStruct (Linux:
// struct mm_struct) with its ordered region index and the region system
// calls. Behaviour follows Linux 6.x (mm/mmap.c, mm/vma.c, mm/mprotect.c,
// mm/mremap.c, mm/mlock.c, mm/madvise.c); the kernel conformance suite in
// tests/conformance compares the two live.
//
// Lock order, outer to inner; never acquire upward. In brackets, the
// class each lock is counted under in the lock statistics
// (core/lock_stats.h, GetLockStats, mmsim_lock_* metrics).
//   MmRegistry::table_lock_        [tasklist_lock, read/write] tasks and
//                                  CPUs; held only to look up (read) or to
//                                  insert, erase, switch (write); released
//                                  before any lock below is taken
//     MmStruct::mmap_sem_          [mmap_sem, read/write] one mm's region
//                                  index and layout: faults, find_vma and
//                                  views read; region changes write
//       MmStruct::page_table_lock_ [page_table_lock] that mm's page table
//                                  and rss counters
//       VmaLock::sem               [vma_lock, read/write] per-VMA lock
//                                  mode only, one per region; a fault
//                                  read-locks its region's alone (no
//                                  mmap_sem); region changes write-lock
//                                  those they alter, inside mmap_sem
//                                  (write), in address order
//         MmStruct::page_table_lock_ (also taken inside a VmaLock alone)
//         PhysMem::cache_lock_     [pagecache_lock] page cache, swap cache
//           PhysMem::alloc_lock_   [zone_lock] the frame allocator
// Taken alone, never with another of these held: MmRegistry::mmlist_lock_
// [mmlist_lock], vmalloc_lock_ [vmlist_lock], oom_lock_ [oom_lock, the OOM
// event list]. Frames are allocated outside page_table_lock. No lock is
// held while observers run.
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
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/event_stats.h"
#include "core/limits.h"
#include "core/locks.h"
#include "core/page_table.h"
#include "core/phys_mem.h"
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
  // Pages a read fault on a file region maps around the faulting one
  // (Linux: fault_around_bytes / PAGE_SIZE, 64 KiB by default). 1 turns
  // fault-around off.
  uint64_t fault_around_pages = 16;
  // Beyond the 2.4 design (Linux 6.4 per-VMA locks): a user fault looks its
  // region up in a published copy of the index and read-locks only that
  // region's lock, taking no mmap_sem; it falls back to mmap_sem where Linux
  // does (no region, stack growth, a first write that needs an anon_vma, a
  // region changed under it). Region changes write-lock the regions they
  // may alter and republish the copy, which costs O(map_count) per change
  // in this mode. Same results as the default; fixed per mm.
  bool per_vma_lock = false;
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

// Resident and swapped pages by type (Linux: mm->rss_stat, MM_FILEPAGES,
// MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES), in pages.
struct RssCounters {
  uint64_t anon = 0;
  uint64_t file = 0;
  uint64_t shmem = 0;
  uint64_t swap = 0;  // swap entries
  uint64_t resident() const { return anon + file + shmem; }
};

// A consistent copy of what page_table_lock guards, plus the fault counts.
struct MmPageStats {
  RssCounters rss;
  uint64_t hiwater_rss = 0;    // pages
  uint64_t pgtable_pages = 0;  // page-table pages (VmPTE / 4 KiB)
  uint64_t min_flt = 0;        // minor faults
  uint64_t maj_flt = 0;        // major faults (swap-in, file read)
  uint64_t cow_faults = 0;     // copies made by write faults
  uint64_t segv_maperr = 0;
  uint64_t segv_accerr = 0;
  uint64_t vmalloc_syncs = 0;  // kernel pgd entries copied by faults
  uint64_t cpu_vm_mask = 0;    // CPUs the mm is loaded on (bit per CPU)
};

class MmStruct;

// What the metrics read of every mm (MmStruct::Sample(),
// MmRegistry::SampleMms()).
struct MmSample {
  // The descriptor's address, an identity for MmRegistry::LowestPidsOf()
  // only (never dereferenced: the mm may be gone by then).
  const MmStruct* mm = nullptr;
  uint64_t mm_id = 0;
  int map_count = 0;
  uint64_t total_vm = 0;   // pages
  uint64_t locked_vm = 0;  // pages
  RssCounters rss;         // pages
  int mm_users = 0;
  int mm_count = 0;
};

enum class FaultAccess { kRead, kWrite, kExec };

// What handle_mm_fault did (Linux: vm_fault_t plus the signal the arch
// fault handler sends).
enum class FaultKind {
  kNone,     // no fault: the pte already allowed the access
  kMinor,    // resolved without I/O
  kMajor,    // needed I/O: swap-in, or a file page not in the page cache
  kSigsegv,  // si_code in FaultResult
  kSigbus,   // file page past EOF
  kOom,      // no frame even after reclaim
};

enum class FaultSource {
  kNone,
  kZeroPage,     // read of anonymous memory: the shared zero page
  kAnonPage,     // a new zeroed anonymous page
  kPageCache,    // a file page, from the page cache or read into it
  kShmemPage,    // a shmem page (MAP_SHARED|MAP_ANONYMOUS, memfd)
  kCopyOnWrite,  // a write copied a shared or read-only page
  kWriteReuse,   // a write fault kept the page, now writable
  kSwapCache,    // a swapped page still in the swap cache
  kSwapIn,       // a page read back from swap
};

inline constexpr int kSegvMaperr = 1;  // SEGV_MAPERR
inline constexpr int kSegvAccerr = 2;  // SEGV_ACCERR
inline constexpr int kBusAdrerr = 2;   // BUS_ADRERR

struct FaultResult {
  FaultKind kind = FaultKind::kNone;
  FaultSource source = FaultSource::kNone;
  int si_code = 0;              // for kSigsegv / kSigbus
  bool stack_expanded = false;  // VM_GROWSDOWN region grew to the address
  bool vmalloc_synced = false;  // a kernel pgd entry was copied
  bool cow = false;             // a copy-on-write break made a copy
};

// Per-page residency of a region (for /proc/PID/smaps), in bytes except
// pss, which is in bytes << 12 (Linux: PSS_SHIFT) to keep fractions.
struct SmapsCounts {
  uint64_t rss = 0;
  uint64_t pss_shifted = 0;
  uint64_t pss_dirty_shifted = 0;
  uint64_t shared_clean = 0, shared_dirty = 0;
  uint64_t private_clean = 0, private_dirty = 0;
  uint64_t referenced = 0;
  uint64_t anonymous = 0;
  uint64_t swap = 0;
  uint64_t swap_pss_shifted = 0;  // swap shared by fork counts in part
  uint64_t locked_shifted = 0;    // pss of VM_LOCKED regions
};

struct VmaSmaps {
  Vma vma;
  SmapsCounts counts;
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
  // `phys` is the simulated memory the mm's pages come from; null gives
  // the mm a private pool (for tests of one mm). `kernel` marks init_mm,
  // whose page table owns the kernel half.
  explicit MmStruct(const MmConfig& config = MmConfig(),
                    std::shared_ptr<PhysMem> phys = nullptr,
                    bool kernel = false);
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

  // --- pages (core/fault.cc) ---

  // Resolves an access to `addr` as the x86-64 fault handler and
  // handle_mm_fault() would: stack growth of VM_GROWSDOWN regions (with
  // the guard gap), SEGV_MAPERR / SEGV_ACCERR, zero page, anonymous and
  // page-cache pages, copy-on-write, swap-in. `user` false is a kernel-mode
  // access, which may touch vmalloc addresses (synced from init_mm).
  // Linux: arch/x86/mm/fault.c do_user_addr_fault(), mm/memory.c.
  FaultResult HandleMmFault(uint64_t addr, FaultAccess access, bool user = true)
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  // mincore(2): one byte per page of [start, start + len), bit 0 set when
  // resident. Errors: EINVAL (unaligned start), ENOMEM (a hole or outside
  // the address space).
  absl::StatusOr<std::vector<uint8_t>> Mincore(uint64_t start,
                                               uint64_t len) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  MmPageStats PageStats() const ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // The metrics' counters: mmap_sem shared, then page_table_lock, each
  // taken once (cheaper than Counters() + PageStats() at 100,000 mms).
  MmSample Sample() const ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  // Starts loading what Sample() reads into the cache (a scan of many mms
  // prefetches a few ahead, so the misses overlap).
  void PrefetchSample() const {
    __builtin_prefetch(&mmap_sem_, 1);
    __builtin_prefetch(&page_table_lock_, 1);
    __builtin_prefetch(&map_count_, 0);
    __builtin_prefetch(&mm_users, 0);
  }
  // Every region with its page counts (/proc/PID/smaps).
  std::vector<VmaSmaps> Smaps() const
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  // /proc/PID/smaps text, as Linux 6.18 prints it.
  std::string ProcSmaps() const ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // The memory lines of /proc/PID/status, VmPeak to HugetlbPages
  // (Linux: fs/proc/task_mmu.c task_mem()).
  std::string TaskMem() const ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // Copies this mm's regions and pages into `child`, a fresh mm, as
  // fork(2) without CLONE_VM: VM_DONTCOPY regions are skipped,
  // VM_WIPEONFORK ones start empty, private pages become copy-on-write in
  // both, and the child starts with locked_vm 0. Linux: kernel/fork.c
  // dup_mmap(). Errors: ENOMEM when frames for page tables run out.
  absl::Status DupMmap(MmStruct& child) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Releases every region and page (Linux: exit_mmap()); the last mmput
  // calls it.
  void ExitMmap() ABSL_LOCKS_EXCLUDED(mmap_sem_);

  // Evicts up to `budget` unlocked pages, walking from swap_address and
  // clearing accessed bits first (Linux 2.4: swap_out_mm()). Returns the
  // frames freed. TrySwapOut skips the mm when mmap_sem is taken.
  uint64_t TrySwapOut(uint64_t budget) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  // Same, for a caller that already holds mmap_sem (either mode).
  uint64_t SwapOutHeld(uint64_t budget) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // Maps `pages` frames of kernel memory at `addr` in this mm's (init_mm's)
  // page table, for vmalloc. Errors: ENOMEM without frames.
  absl::Status MapKernelPages(uint64_t addr, uint64_t pages)
      ABSL_LOCKS_EXCLUDED(page_table_lock_);
  void UnmapKernelPages(uint64_t addr, uint64_t pages)
      ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // Where this mm counts its events (faults, system calls, merges,
  // splits): the system's counters; set once before the mm is published.
  // Without a system the counts go to EventCounters::Detached().
  void set_events(std::shared_ptr<EventCounters> events) {
    events_ = std::move(events);
  }
  // The system's init_mm, whose kernel half faults copy (vmalloc_fault).
  void set_init_mm(const MmStruct* init_mm) { init_mm_ = init_mm; }
  const std::shared_ptr<PhysMem>& phys() const { return phys_; }

  // CPUs this mm is loaded on (Linux: mm_cpumask / 2.4 cpu_vm_mask).
  void SetCpuLoaded(int cpu, bool loaded);

  // The descriptor's identity in views (Linux shows a pointer); set once
  // by the system before the mm is published.
  uint64_t mm_id = 0;
  // Reference counts with Linux's semantics (see core/mm_registry.h).
  std::atomic<int> mm_users{1};
  std::atomic<int> mm_count{1};

 private:
  // Keyed by vm_end, so FindVma(addr) is upper_bound(addr). Regions live out
  // of line: nodes stay small (find_vma scans fewer cache lines) and a
  // region does not move when the tree changes.
  using VmaMap = absl::btree_map<uint64_t, std::unique_ptr<Vma>>;
  struct MergeProps;

  // Per-VMA lock mode (Linux: vma->vm_lock and vm_lock_seq). A writer
  // bumps seq while it holds sem for writing, so a fault that read-locks sem
  // and finds the seq its snapshot recorded knows no change has touched the
  // region since that snapshot was published.
  struct VmaLock {
    RwSemaphore sem{LockClass::kVmaLock};
    std::atomic<uint64_t> seq{0};
  };
  // The index as faults see it without mmap_sem: an immutable copy that
  // every region change republishes before it unlocks. Sorted by vm_end.
  struct VmaSnapshot {
    struct Entry {
      Vma vma;
      std::shared_ptr<VmaLock> lock;
      uint64_t seq;  // lock->seq when published
    };
    std::vector<Entry> entries;
    const Entry* Find(uint64_t addr) const;  // as FindVma
  };

  // mmap_sem_ for writing; in per-VMA lock mode also the VmaLocks of the
  // regions the change may alter (all of them, or with kDeferred those
  // LockRange() names, before anything changes), and on release the
  // republished snapshot. Every region or page-table change takes mmap_sem
  // through this guard.
  class ABSL_SCOPED_LOCKABLE MmapWriteGuard {
   public:
    enum Range { kWhole, kDeferred };
    explicit MmapWriteGuard(MmStruct* mm, Range range = kWhole)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(mm->mmap_sem_);
    ~MmapWriteGuard() ABSL_UNLOCK_FUNCTION();
    MmapWriteGuard(const MmapWriteGuard&) = delete;
    MmapWriteGuard& operator=(const MmapWriteGuard&) = delete;
    // kDeferred: locks the regions that overlap [start, end) or touch it
    // (merges and splits alter those). Called once.
    void LockRange(uint64_t start, uint64_t end);

   private:
    void LockRegions(uint64_t start, uint64_t end);
    MmStruct* const mm_;
    bool locked_ = false;
    std::vector<std::shared_ptr<VmaLock>> held_;
  };

  // Per-VMA lock mode's fault; nullopt: take the mmap_sem path.
  std::optional<FaultResult> FaultUnderVmaLock(uint64_t addr,
                                               FaultAccess access)
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  std::shared_ptr<const VmaSnapshot> LoadVmaSnapshot() const
      ABSL_LOCKS_EXCLUDED(snapshot_lock_);
  void PublishVmaSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);

  // The system call bodies; the public entry points count their result in
  // events_ (core/syscall_stats.cc).
  FaultResult HandleMmFaultUncounted(uint64_t addr, FaultAccess access,
                                     bool user)
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);
  absl::StatusOr<uint64_t> DoMmapUncounted(const MmapArgs& args)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status DoMunmapUncounted(uint64_t start, uint64_t len)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MprotectUncounted(uint64_t start, uint64_t len, int prot)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::StatusOr<uint64_t> MremapUncounted(uint64_t old_addr, uint64_t old_len,
                                           uint64_t new_len, int flags,
                                           uint64_t new_addr)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  uint64_t BrkUncounted(uint64_t brk) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MlockUncounted(uint64_t start, uint64_t len, int flags)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MunlockUncounted(uint64_t start, uint64_t len)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MlockallUncounted(int flags) ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MunlockallUncounted() ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::Status MadviseUncounted(uint64_t start, uint64_t len, int advice)
      ABSL_LOCKS_EXCLUDED(mmap_sem_);
  absl::StatusOr<std::vector<uint8_t>> MincoreUncounted(uint64_t start,
                                                        uint64_t len) const
      ABSL_LOCKS_EXCLUDED(mmap_sem_, page_table_lock_);

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
  // file page past EOF); callers that ignore errors ignore it. With
  // stop_at_error (mlock, mlock2: Linux __mm_populate(ignore_errors = 0))
  // the first failure ends the walk; otherwise (MAP_POPULATE, mlockall,
  // brk, mremap) it goes on at the next region.
  bool PopulateLocked(uint64_t start, uint64_t end, bool stop_at_error = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Linux: do_fault_around() -> filemap_map_pages(): a read fault on a file
  // (or shmem) region also maps the neighbouring pages that are already in
  // the page cache: the fault_around_pages-aligned block around `page`,
  // clamped to the region, its page table and the file size. Maps only
  // pages whose pte is none, never `page` itself (the fault does that).
  void FaultAroundLocked(Vma* vma, uint64_t page)
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
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

  // --- pages (core/fault.cc); mmap_sem_ held in either mode ---
  // (or, with mmap_sem_held false, the region's VmaLock held for reading:
  // then reclaim may swap this mm out only by try-locking mmap_sem).
  FaultResult FaultLocked(Vma* vma, uint64_t addr, FaultAccess access,
                          bool mmap_sem_held = true)
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // Linux: expand_downwards(). Errors mean SIGSEGV.
  absl::Status ExpandStackLocked(Vma* vma, uint64_t addr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_);
  // Frees the pages and swap slots of [start, end) (Linux: zap_page_range).
  void ZapRangeLocked(uint64_t start, uint64_t end)
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  void ZapPteLocked(uint64_t* pte)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(page_table_lock_);
  // Moves the ptes of [old_addr, old_addr + len) to new_addr (Linux:
  // move_page_tables()).
  void MovePtesLocked(uint64_t old_addr, uint64_t new_addr, uint64_t len)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // Clears the write bit of every pte of [start, end) whose region is not
  // writable (mprotect's change_protection()).
  void WriteProtectRangeLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // Faults in one page for populate; false where get_user_pages fails.
  bool PopulatePageLocked(Vma* vma, uint64_t addr, bool write)
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  // Installs / removes MADV_GUARD_INSTALL markers on [start, end).
  void GuardInstallLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  void GuardRemoveLocked(uint64_t start, uint64_t end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  bool RangeHasGuardLocked(uint64_t start, uint64_t end) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  // One line of /proc/PID/maps.
  std::string MapsLineLocked(const Vma& vma) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_);
  SmapsCounts SmapsOfLocked(const Vma& vma) const
      ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
          ABSL_LOCKS_EXCLUDED(page_table_lock_);
  void RssAddLocked(FrameKind kind, int64_t pages)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(page_table_lock_);
  uint64_t SwapOutLocked(uint64_t budget) ABSL_SHARED_LOCKS_REQUIRED(mmap_sem_)
      ABSL_LOCKS_EXCLUDED(page_table_lock_);

  mutable RwSemaphore mmap_sem_{LockClass::kMmapSem};
  // Guards pgd_, rss_ and hiwater_rss_. Taken inside mmap_sem_.
  mutable Mutex page_table_lock_ ABSL_ACQUIRED_AFTER(mmap_sem_){
      LockClass::kPageTableLock};
  const std::shared_ptr<PhysMem> phys_;
  PageTable pgd_ ABSL_GUARDED_BY(page_table_lock_);
  RssCounters rss_ ABSL_GUARDED_BY(page_table_lock_);
  uint64_t hiwater_rss_ ABSL_GUARDED_BY(page_table_lock_) = 0;
  const MmStruct* init_mm_ = nullptr;
  std::shared_ptr<EventCounters> events_ = EventCounters::Detached();
  // The 2.4 swap_out cursor: where the next scan of this mm starts.
  std::atomic<uint64_t> swap_address_{0};
  std::atomic<uint64_t> cpu_vm_mask_{0};
  std::atomic<uint64_t> min_flt_{0}, maj_flt_{0}, cow_faults_{0};
  std::atomic<uint64_t> segv_maperr_{0}, segv_accerr_{0}, vmalloc_syncs_{0};

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

  // Per-VMA lock mode (config.per_vma_lock at construction).
  const bool per_vma_lock_;
  // Each region's lock, by the region's address (regions do not move).
  absl::flat_hash_map<const Vma*, std::shared_ptr<VmaLock>> vma_locks_
      ABSL_GUARDED_BY(mmap_sem_);
  // Guards only the pointer: faults copy it (shared), writers swap it.
  mutable RwSemaphore snapshot_lock_;
  std::shared_ptr<const VmaSnapshot> vma_snapshot_
      ABSL_GUARDED_BY(snapshot_lock_);
  // Replaced snapshots, freed by a writer once no fault holds them, so a
  // fault never pays for freeing one.
  std::vector<std::shared_ptr<const VmaSnapshot>> retired_snapshots_
      ABSL_GUARDED_BY(mmap_sem_);
};

// Allocates a fresh anon_vma identity (process-wide, never 0).
uint64_t NewAnonVmaId();
// Creates the shmem inode behind a shared anonymous mapping of `len` bytes
// ("/dev/zero (deleted)", device 00:01, a fresh inode number).
std::shared_ptr<const SimFile> NewShmemFile(uint64_t len);

}  // namespace mmsim

#endif  // MMSIM_CORE_MM_STRUCT_H_
