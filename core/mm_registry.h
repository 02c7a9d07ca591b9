// The system's table of simulated processes (pid -> mm) and simulated files.
// Linux: the task list plus the dentry cache, reduced to what mm needs.
#ifndef MMSIM_CORE_MM_REGISTRY_H_
#define MMSIM_CORE_MM_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/event_stats.h"
#include "core/locks.h"
#include "core/mm_struct.h"

namespace mmsim {

// The image a process is created from: sizes of a Linux-like initial
// layout (what exec of an ELF binary leaves behind).
struct ExecImage {
  std::string exe_name = "/usr/bin/sim";
  uint64_t code_bytes = 64 * kPageSize;
  uint64_t data_bytes = 4 * kPageSize;
  uint64_t bss_bytes = 2 * kPageSize;
  uint64_t heap_bytes = 33 * kPageSize;  // initial brk - start_brk
  uint64_t stack_bytes = 33 * kPageSize;
  uint64_t arg_bytes = 256;
  uint64_t env_bytes = 1024;
};

// A process described region by region (for example imported from a real
// /proc/PID/maps).
struct ProcessDescription {
  std::vector<Vma> vmas;
  MmLayout layout;
  MmConfig config;
};

inline constexpr int kCloneVm = 0x00000100;      // CLONE_VM
inline constexpr int kCloneThread = 0x00010000;  // CLONE_THREAD

enum class TaskKind {
  kProcess,       // a thread group leader with its own mm
  kLwp,           // a lightweight process: shares its creator's mm
  kKernelThread,  // mm == null; borrows active_mm while it runs
  kIdle,          // a CPU's idle task (pid 0, swapper/N): a kernel thread
};

struct TaskInfo {
  int pid = 0;
  int tgid = 0;
  int ppid = 0;
  TaskKind kind = TaskKind::kProcess;
  std::string comm;
  int cpu = -1;        // the CPU it runs on, -1 when not running
  uint64_t mm_id = 0;  // 0: no mm (kernel thread)
  uint64_t active_mm_id = 0;
};

// One memory descriptor as the system sees it (the mmlist view).
struct MmInfo {
  uint64_t mm_id = 0;
  int mm_users = 0;
  int mm_count = 0;
  bool on_mmlist = false;  // users > 0 (taken off by the last mmput)
  bool is_init_mm = false;
  std::vector<int> pids;  // tasks whose mm it is
  MmCounters counters;
  MmPageStats pages;
};

struct CpuInfo {
  int cpu = 0;
  int curr_pid = 0;  // 0: the idle task
  uint64_t active_mm_id = 0;
};

struct OomEvent {
  int victim_pid = 0;
  uint64_t victim_mm_id = 0;
  uint64_t rss_pages = 0;
  uint64_t swap_pages = 0;
  int triggered_by_pid = 0;
};

// System-wide counters (read by metrics and the API).
struct SystemStats {
  int processes = 0;  // kProcess tasks
  int lwps = 0;
  int kernel_threads = 0;  // idle tasks not included
  int mmlist_nr = 0;
  int mm_descriptors = 0;  // alive: mm_count > 0 (init_mm included)
  PhysMemStats phys;
  uint64_t oom_kills = 0;
  uint64_t vmalloc_pages = 0;
  uint64_t forks = 0, clones = 0, execs = 0, exits = 0;
  uint64_t reclaim_runs = 0;
};

// What a Touch did: the fault, and whether the OOM killer ran.
struct TouchResult {
  FaultResult fault;
  bool oom_killed_self = false;  // the toucher itself was the OOM victim
  int oom_victim_pid = 0;        // 0: nobody was killed
};

struct SystemConfig {
  MmConfig mm;         // defaults for new processes
  PhysMemConfig phys;  // RAM and swap
  int cpus = 2;
  int max_tasks = 1 << 20;
};

class MmRegistry;

// A counted reference to an mm: taking one is mmget(), dropping it is
// mmput(). Move-only. Linux: get_task_mm() / mmput().
class MmRef {
 public:
  MmRef() = default;
  MmRef(MmRegistry* system, std::shared_ptr<MmStruct> mm)
      : system_(system), mm_(std::move(mm)) {}
  MmRef(MmRef&& other) noexcept
      : system_(other.system_), mm_(std::move(other.mm_)) {}
  MmRef& operator=(MmRef&& other) noexcept;
  MmRef(const MmRef&) = delete;
  MmRef& operator=(const MmRef&) = delete;
  ~MmRef() { Reset(); }

  MmStruct* operator->() const { return mm_.get(); }
  MmStruct& operator*() const { return *mm_; }
  MmStruct* get() const { return mm_.get(); }
  explicit operator bool() const { return mm_ != nullptr; }
  void Reset();

 private:
  MmRegistry* system_ = nullptr;
  std::shared_ptr<MmStruct> mm_;
};

// The simulated system (DESIGN.md's Kernel): the task table, init_mm and
// mmlist, the CPUs, physical memory and swap, vmalloc, and the simulated
// files. Thread-safe.
//
// Reference counting follows Linux exactly: mm_alloc() gives mm_users =
// mm_count = 1; every task using the mm holds one mm_users; all users
// together hold one mm_count; a kernel thread running on a borrowed
// active_mm holds one mm_count (lazy TLB). The last mmput() releases the
// regions and page tables (exit_mmap), takes the mm off mmlist and calls
// mmdrop(); the last mmdrop() frees the descriptor.
//
// Locks: table_lock_ (tasks and CPUs; Linux's tasklist_lock, a
// reader-writer lock: lookups such as MmGet/MmPeek read, so calls on
// different processes never wait for each other; fork, exit, exec and
// schedule write) is never held across per-mm work or while mmlist_lock_
// is taken; mmlist_lock_ is taken alone; neither is held when an mm's
// locks are taken (see core/mm_struct.h).
class MmRegistry : public Reclaimer {
 public:
  explicit MmRegistry(const MmConfig& default_config = MmConfig());
  explicit MmRegistry(const SystemConfig& config);
  ~MmRegistry() override;

  const MmConfig& default_config() const { return config_.mm; }
  const SystemConfig& config() const { return config_; }

  // --- tasks ---

  // Creates a process laid out from `image` and returns its pid. The
  // layout is that of an x86-64 PIE without ASLR: code at
  // 0x555555554000, then data and bss, the heap at start_brk, the stack
  // below 0x7ffffffff000 with VM_GROWSDOWN, args and env at its top.
  // Errors: EINVAL (image), EAGAIN (max_tasks).
  absl::StatusOr<int> CreateProcess(const ExecImage& image,
                                    const MmConfig& config);
  // Creates a process from an explicit description. Errors: EINVAL for an
  // empty or unaligned region, EEXIST for overlapping regions.
  absl::StatusOr<int> CreateProcessFrom(const ProcessDescription& desc);
  // clone(2) of task `pid`: with CLONE_VM the child shares the mm
  // (mm_users + 1), with CLONE_THREAD also the thread group; without
  // CLONE_VM it is fork(2) (dup_mmap). A kernel thread's clone is another
  // kernel thread. Errors: ESRCH, EINVAL (CLONE_THREAD without CLONE_VM,
  // unknown flags), EAGAIN (max_tasks).
  absl::StatusOr<int> Clone(int pid, int flags);
  absl::StatusOr<int> Fork(int pid) { return Clone(pid, 0); }
  // execve(2): a fresh mm laid out from `image` replaces the task's (the
  // old one is mmput), the other tasks of its thread group exit
  // (de_thread), and the rlimits and mm settings carry over. A thread that
  // is not the group leader takes over the leader's pid, as in Linux.
  // Returns the task's pid after exec. Errors: ESRCH, EINVAL.
  absl::StatusOr<int> Exec(int pid, const ExecImage& image);
  // exit(2) of one task: exit_mm() then release. A task running on a CPU
  // is switched out first (the CPU runs its idle task, which borrows the
  // mm lazily, as Linux). Errors: ESRCH.
  absl::Status Exit(int pid);
  // Exits every task of pid's thread group (exit_group(2)).
  absl::Status RemoveProcess(int pid);
  // A kernel thread (mm == null). Errors: EAGAIN (max_tasks).
  absl::StatusOr<int> CreateKernelThread(absl::string_view name);
  // Runs task `pid` on `cpu` (pid 0: the CPU's idle task): context_switch()
  // with switch_mm() for a task with an mm, lazy TLB borrowing of the
  // previous active_mm (mmgrab) for a kernel thread, and mmdrop of the
  // borrowed mm of a kernel thread switched out. Errors: EINVAL (no such
  // CPU), ESRCH, EBUSY (running on another CPU).
  absl::Status Schedule(int cpu, int pid);

  // --- memory of a task ---

  // An access by task `pid` (handle_mm_fault). A user access of a kernel
  // thread faults with SEGV_MAPERR; a kernel-mode access uses active_mm
  // (init_mm when the kernel thread is not running). On out-of-memory it
  // reclaims, and then runs the OOM killer. Errors: ESRCH.
  absl::StatusOr<TouchResult> Touch(int pid, uint64_t addr, FaultAccess access,
                                    bool user = true);
  // Returns the task's mm with mm_users taken (get_task_mm). Errors:
  // ESRCH (no task, or a kernel thread: it has no mm).
  absl::StatusOr<MmRef> MmGet(int pid);
  // The task's mm for a view (maps, counters, smaps): no reference is
  // taken, so what the view shows is the simulated kernel's own counts.
  // Errors: ESRCH (no task, or a kernel thread).
  absl::StatusOr<std::shared_ptr<const MmStruct>> MmPeek(int pid) const;
  // /proc/PID/status (a simulated subset of its lines, in Linux's order and
  // format). Errors: ESRCH.
  absl::StatusOr<std::string> ProcStatus(int pid);

  // Releases a reference taken by MmGet (MmRef calls it).
  void Mmput(std::shared_ptr<MmStruct> mm);

  // --- kernel memory ---

  // vmalloc(): maps `pages` frames in init_mm's page table in vmalloc
  // space and returns the address. Errors: EINVAL (0 pages or too many),
  // ENOMEM.
  absl::StatusOr<uint64_t> Vmalloc(uint64_t pages);
  // vfree(). Errors: EINVAL (not a vmalloc address).
  absl::Status Vfree(uint64_t addr);

  // --- reclaim ---

  // swap_out(): walks mmlist from where it stopped, pins each mm with
  // mm_users while scanning it, and evicts up to `target` pages. Returns
  // the frames freed. Reclaimer interface; callable any time.
  uint64_t Reclaim(uint64_t target, MmStruct* locked_mm) override;

  // --- views ---

  std::vector<TaskInfo> Tasks() const;
  absl::StatusOr<TaskInfo> Task(int pid) const;
  // Every live descriptor, init_mm first then mmlist order, then those off
  // mmlist still held by mm_count.
  std::vector<MmInfo> Mms() const;
  std::vector<CpuInfo> Cpus() const;
  std::vector<OomEvent> OomEvents() const;
  SystemStats Stats() const;
  // The event counters (faults, system calls, merges, splits, vmalloc
  // syncs) plus the task events, OOM kills and swap traffic: every field
  // is a monotonic total over the system's life.
  SystemEventStats EventStats() const;
  // Every user mm alive (mm_count > 0; init_mm excluded), in one pass:
  // one mmlist_lock hold to list them, then each mm's mmap_sem (shared)
  // and page_table_lock for its counters. Replaces `out`'s contents (its
  // capacity is reused).
  void SampleMms(std::vector<MmSample>* out) const;
  // For each of `samples` (a few), the lowest pid of a task whose mm it
  // is, or 0 when no task has it (any more); one pass over the task table
  // that compares addresses and reads a task's mm only when one matches.
  std::vector<int> LowestPidsOf(
      const std::vector<const MmSample*>& samples) const;
  // Idle tasks: one per simulated CPU.
  int IdleTasks() const;
  const std::shared_ptr<PhysMem>& phys() const { return phys_; }
  const MmStruct& init_mm() const { return *init_mm_; }

  // Pids of processes with an mm (kProcess and kLwp tasks).
  std::vector<int> Pids() const;
  size_t ProcessCount() const;

  // --- files ---

  // Creates a simulated file. Errors: EINVAL (empty name, or a name not
  // starting with '/'), EEXIST.
  absl::StatusOr<std::shared_ptr<const SimFile>> CreateFile(
      absl::string_view name, uint64_t size, uint32_t mode);
  // Errors: ENOENT.
  absl::StatusOr<std::shared_ptr<const SimFile>> LookupFile(
      absl::string_view name) const;
  std::vector<std::shared_ptr<const SimFile>> Files() const;
  // Returns the FMODE_* bits of opening `file` readable and/or writable,
  // checked against its owner permission bits. Errors: EACCES, EINVAL
  // (neither read nor write).
  static absl::StatusOr<int> OpenMode(const SimFile& file, bool read,
                                      bool write);

 private:
  struct TaskEntry {
    int pid = 0;
    int tgid = 0;
    int ppid = 0;
    TaskKind kind = TaskKind::kProcess;
    std::string comm;
    int cpu = -1;
    std::shared_ptr<MmStruct> mm;         // holds one mm_users
    std::shared_ptr<MmStruct> active_mm;  // a kernel thread's: one mm_count
  };
  struct Cpu {
    TaskEntry idle;
    TaskEntry* curr = nullptr;  // &idle or a task of tasks_
  };
  // References to release once table_lock_ is dropped.
  struct Deferred {
    std::vector<std::shared_ptr<MmStruct>> puts;
    std::vector<std::shared_ptr<MmStruct>> drops;
  };

  std::shared_ptr<MmStruct> MmAlloc(const MmConfig& config);
  static bool MmgetNotZero(MmStruct& mm);
  void Mmgrab(MmStruct& mm) { mm.mm_count.fetch_add(1); }
  void Mmdrop(std::shared_ptr<MmStruct> mm);
  void Release(Deferred& deferred);
  absl::StatusOr<int> AddTask(TaskEntry entry, std::shared_ptr<MmStruct> mm);
  // Linux: context_switch(). Records the references to drop in `deferred`.
  void ContextSwitchLocked(Cpu& cpu, TaskEntry* next, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(table_lock_);
  // Removes a task: switch it out, exit_mm, erase.
  void ExitLocked(int pid, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(table_lock_);
  TaskInfo InfoLocked(const TaskEntry& task) const
      ABSL_SHARED_LOCKS_REQUIRED(table_lock_);
  // Picks the task group with the largest footprint and kills it
  // (Linux: oom_badness(), oom_kill_process()). Returns the victim pid.
  int OomKill(int triggered_by);

  const SystemConfig config_;
  const std::shared_ptr<PhysMem> phys_;
  std::shared_ptr<MmStruct> init_mm_;
  std::atomic<uint64_t> next_mm_id_{1};

  mutable RwSemaphore table_lock_ ABSL_ACQUIRED_BEFORE(mmlist_lock_){
      LockClass::kTasklistLock};
  int next_pid_ ABSL_GUARDED_BY(table_lock_) = 100;
  absl::btree_map<int, std::unique_ptr<TaskEntry>> tasks_
      ABSL_GUARDED_BY(table_lock_);
  std::vector<Cpu> cpus_ ABSL_GUARDED_BY(table_lock_);
  uint64_t next_ino_ ABSL_GUARDED_BY(table_lock_) = 1000;
  absl::btree_map<std::string, std::shared_ptr<const SimFile>> files_
      ABSL_GUARDED_BY(table_lock_);

  // mmlist (every mm with users, init_mm first) and the descriptors still
  // alive (mm_count > 0), by id.
  mutable Mutex mmlist_lock_{LockClass::kMmlistLock};
  std::vector<std::shared_ptr<MmStruct>> mmlist_ ABSL_GUARDED_BY(mmlist_lock_);
  absl::btree_map<uint64_t, std::weak_ptr<MmStruct>> descriptors_
      ABSL_GUARDED_BY(mmlist_lock_);
  size_t swap_cursor_ ABSL_GUARDED_BY(mmlist_lock_) = 0;

  mutable Mutex vmalloc_lock_{LockClass::kVmlistLock};
  uint64_t vmalloc_next_ ABSL_GUARDED_BY(vmalloc_lock_) = 0;
  absl::btree_map<uint64_t, uint64_t> vmalloc_areas_
      ABSL_GUARDED_BY(vmalloc_lock_);  // addr -> pages

  mutable Mutex oom_lock_{LockClass::kOomLock};
  std::vector<OomEvent> oom_events_ ABSL_GUARDED_BY(oom_lock_);

  std::atomic<uint64_t> oom_kills_{0}, reclaim_runs_{0};
  std::atomic<uint64_t> forks_{0}, clones_{0}, execs_{0}, exits_{0};
  std::atomic<uint64_t> kthreads_{0};
  // Faults, system calls, merges and splits of every mm of this system.
  const std::shared_ptr<EventCounters> events_ =
      std::make_shared<EventCounters>();
};

// Lays out `mm` as exec of `image` would (see CreateProcess).
absl::Status SetupExecLayout(MmStruct& mm, const ExecImage& image);

}  // namespace mmsim

#endif  // MMSIM_CORE_MM_REGISTRY_H_
