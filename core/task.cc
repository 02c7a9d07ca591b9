// The system's tasks and the life of memory descriptors: mm_alloc, mmget /
// mmput, mmgrab / mmdrop, clone / fork, exec, exit, kernel threads and the
// scheduler's lazy TLB borrowing. Linux: kernel/fork.c (mm_alloc,
// copy_mm, mmput, __mmdrop), fs/exec.c exec_mmap(), kernel/exit.c
// exit_mm(), kernel/sched/core.c context_switch().
#include <cerrno>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "core/linux_error.h"
#include "core/mm_registry.h"
#include "core/status_macros.h"

namespace mmsim {

MmRef& MmRef::operator=(MmRef&& other) noexcept {
  if (this != &other) {
    Reset();
    system_ = other.system_;
    mm_ = std::move(other.mm_);
  }
  return *this;
}

void MmRef::Reset() {
  if (mm_ != nullptr) system_->Mmput(std::move(mm_));
  mm_ = nullptr;
}

MmRegistry::MmRegistry(const MmConfig& default_config)
    : MmRegistry(SystemConfig{default_config, PhysMemConfig(), 2, 1 << 20}) {}

MmRegistry::MmRegistry(const SystemConfig& config)
    : config_(config), phys_(std::make_shared<PhysMem>(config.phys)) {
  // init_mm: the kernel's own mm, first on mmlist; its page table is the
  // master kernel page table (swapper_pg_dir). Linux starts it at
  // mm_users 2, mm_count 1.
  init_mm_ = std::make_shared<MmStruct>(config.mm, phys_, /*kernel=*/true);
  init_mm_->mm_id = next_mm_id_++;
  init_mm_->set_init_mm(init_mm_.get());
  init_mm_->set_events(events_);
  init_mm_->mm_users.store(2);
  {
    MutexLock lock(&mmlist_lock_);
    mmlist_.push_back(init_mm_);
    descriptors_.emplace(init_mm_->mm_id, init_mm_);
  }
  WriteLock lock(&table_lock_);
  cpus_.resize(std::max(1, std::min(config.cpus, 64)));
  for (size_t i = 0; i < cpus_.size(); ++i) {
    Cpu& cpu = cpus_[i];
    cpu.idle.pid = 0;
    cpu.idle.kind = TaskKind::kIdle;
    cpu.idle.comm = absl::StrFormat("swapper/%d", i);
    cpu.idle.cpu = static_cast<int>(i);
    cpu.idle.active_mm = init_mm_;  // lazily on init_mm
    Mmgrab(*init_mm_);
    cpu.curr = &cpu.idle;
  }
  phys_->set_reclaimer(this);
}

MmRegistry::~MmRegistry() {
  phys_->set_reclaimer(nullptr);
  Deferred deferred;
  {
    WriteLock lock(&table_lock_);
    std::vector<int> pids;
    for (const auto& [pid, task] : tasks_) pids.push_back(pid);
    for (int pid : pids) ExitLocked(pid, &deferred);
    for (Cpu& cpu : cpus_) {
      if (cpu.idle.active_mm != nullptr) {
        deferred.drops.push_back(std::move(cpu.idle.active_mm));
      }
    }
  }
  Release(deferred);
}

// --- reference counts ---

std::shared_ptr<MmStruct> MmRegistry::MmAlloc(const MmConfig& config) {
  auto mm = std::make_shared<MmStruct>(config, phys_);
  mm->mm_id = next_mm_id_++;
  mm->set_init_mm(init_mm_.get());
  mm->set_events(events_);
  MutexLock lock(&mmlist_lock_);
  mmlist_.push_back(mm);
  descriptors_.emplace(mm->mm_id, mm);
  return mm;
}

bool MmRegistry::MmgetNotZero(MmStruct& mm) {
  int users = mm.mm_users.load();
  while (users > 0) {
    if (mm.mm_users.compare_exchange_weak(users, users + 1)) return true;
  }
  return false;
}

void MmRegistry::Mmput(std::shared_ptr<MmStruct> mm) {
  if (mm->mm_users.fetch_sub(1) != 1) return;
  // The last user: release the address space (Linux: __mmput()).
  mm->ExitMmap();
  {
    MutexLock lock(&mmlist_lock_);
    for (size_t i = 0; i < mmlist_.size(); ++i) {
      if (mmlist_[i] == mm) {
        mmlist_.erase(mmlist_.begin() + i);
        if (swap_cursor_ > i) --swap_cursor_;
        break;
      }
    }
  }
  Mmdrop(std::move(mm));
}

void MmRegistry::Mmdrop(std::shared_ptr<MmStruct> mm) {
  if (mm->mm_count.fetch_sub(1) != 1) return;
  // The last reference: free the descriptor (Linux: __mmdrop()). The C++
  // object goes when the last shared_ptr copy does, which is at most a
  // view being read right now.
  MutexLock lock(&mmlist_lock_);
  descriptors_.erase(mm->mm_id);
}

void MmRegistry::Release(Deferred& deferred) {
  for (auto& mm : deferred.puts) Mmput(std::move(mm));
  for (auto& mm : deferred.drops) Mmdrop(std::move(mm));
  deferred.puts.clear();
  deferred.drops.clear();
}

// --- tasks ---

absl::StatusOr<int> MmRegistry::AddTask(TaskEntry entry,
                                        std::shared_ptr<MmStruct> mm) {
  // `mm` carries the mm_users reference the new task will hold.
  {
    WriteLock lock(&table_lock_);
    if (tasks_.size() < static_cast<size_t>(config_.max_tasks)) {
      entry.pid = next_pid_++;
      if (entry.tgid == 0) entry.tgid = entry.pid;
      entry.mm = std::move(mm);
      if (entry.mm != nullptr) entry.active_mm = entry.mm;
      const int pid = entry.pid;
      tasks_.emplace(pid, std::make_unique<TaskEntry>(std::move(entry)));
      return pid;
    }
  }
  if (mm != nullptr) Mmput(std::move(mm));
  return LinuxError(EAGAIN, "max_tasks reached");
}

absl::StatusOr<int> MmRegistry::CreateProcess(const ExecImage& image,
                                              const MmConfig& config) {
  std::shared_ptr<MmStruct> mm = MmAlloc(config);
  absl::Status laid = SetupExecLayout(*mm, image);
  if (!laid.ok()) {
    Mmput(std::move(mm));
    return laid;
  }
  TaskEntry task;
  task.kind = TaskKind::kProcess;
  task.comm = image.exe_name.substr(image.exe_name.rfind('/') + 1);
  return AddTask(std::move(task), std::move(mm));
}

absl::StatusOr<int> MmRegistry::CreateProcessFrom(
    const ProcessDescription& desc) {
  std::shared_ptr<MmStruct> mm = MmAlloc(desc.config);
  for (const Vma& vma : desc.vmas) {
    absl::Status inserted = mm->InsertVma(vma);
    if (!inserted.ok()) {
      Mmput(std::move(mm));
      return inserted;
    }
  }
  mm->SetLayout(desc.layout);
  TaskEntry task;
  task.kind = TaskKind::kProcess;
  task.comm = "imported";
  return AddTask(std::move(task), std::move(mm));
}

absl::StatusOr<int> MmRegistry::Clone(int pid, int flags) {
  if (flags & ~(kCloneVm | kCloneThread)) {
    return LinuxError(EINVAL, "unknown clone flags");
  }
  if ((flags & kCloneThread) && !(flags & kCloneVm)) {
    return LinuxError(EINVAL, "CLONE_THREAD needs CLONE_VM");
  }
  TaskEntry child;
  std::shared_ptr<MmStruct> parent_mm;
  {
    WriteLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
    }
    const TaskEntry& parent = *it->second;
    child.ppid = pid;
    child.comm = parent.comm;
    if (parent.mm == nullptr) {
      child.kind = TaskKind::kKernelThread;
    } else if (flags & kCloneVm) {
      // Linux: copy_mm() with CLONE_VM: mmget() and share.
      child.kind = TaskKind::kLwp;
      if (flags & kCloneThread) child.tgid = parent.tgid;
      parent.mm->mm_users.fetch_add(1);
      parent_mm = parent.mm;
    } else {
      child.kind = TaskKind::kProcess;
      if (!MmgetNotZero(*parent.mm)) {
        return LinuxError(ESRCH, "process is exiting");
      }
      parent_mm = parent.mm;
    }
  }
  if (child.kind == TaskKind::kKernelThread) {
    clones_.fetch_add(1);
    return AddTask(std::move(child), nullptr);
  }
  if (flags & kCloneVm) {
    clones_.fetch_add(1);
    return AddTask(std::move(child), std::move(parent_mm));
  }
  // fork: a new mm with a copy of the parent's (Linux: dup_mm()).
  MmRef parent_ref(this, std::move(parent_mm));
  std::shared_ptr<MmStruct> mm = MmAlloc(parent_ref->config());
  absl::Status copied = parent_ref->DupMmap(*mm);
  if (!copied.ok()) {
    Mmput(std::move(mm));
    return copied;
  }
  forks_.fetch_add(1);
  return AddTask(std::move(child), std::move(mm));
}

absl::StatusOr<int> MmRegistry::Exec(int pid, const ExecImage& image) {
  MmConfig config = config_.mm;
  {
    WriteLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
    }
    // rlimits and the mm settings belong to the process: they survive.
    if (it->second->mm != nullptr) config = it->second->mm->config();
  }
  std::shared_ptr<MmStruct> mm = MmAlloc(config);
  absl::Status laid = SetupExecLayout(*mm, image);
  if (!laid.ok()) {
    Mmput(std::move(mm));
    return laid;
  }
  Deferred deferred;
  absl::StatusOr<int> result;
  {
    WriteLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      result = LinuxError(ESRCH, "task exited during exec");
      deferred.puts.push_back(std::move(mm));
    } else {
      // Linux: de_thread(): every other task of the group exits, the group
      // leader included; a non-leader takes over the leader's pid.
      const int tgid = it->second->tgid;
      std::vector<int> others;
      for (const auto& [other_pid, other] : tasks_) {
        if (other_pid != pid && other->tgid == tgid) {
          others.push_back(other_pid);
        }
      }
      for (int other : others) ExitLocked(other, &deferred);
      if (pid != tgid) {
        std::unique_ptr<TaskEntry> entry = std::move(tasks_[pid]);
        tasks_.erase(pid);
        entry->pid = tgid;
        it = tasks_.emplace(tgid, std::move(entry)).first;
      } else {
        it = tasks_.find(pid);
      }
      TaskEntry& task = *it->second;
      // Linux: exec_mmap(): the new mm becomes mm and active_mm.
      if (task.mm != nullptr) {
        deferred.puts.push_back(std::move(task.mm));
      } else if (task.active_mm != nullptr) {
        deferred.drops.push_back(std::move(task.active_mm));
      }
      if (task.cpu >= 0) {
        if (task.active_mm != nullptr) {
          task.active_mm->SetCpuLoaded(task.cpu, false);
        }
        mm->SetCpuLoaded(task.cpu, true);
      }
      task.mm = mm;
      task.active_mm = std::move(mm);
      task.kind = TaskKind::kProcess;
      task.comm = image.exe_name.substr(image.exe_name.rfind('/') + 1);
      execs_.fetch_add(1);
      result = task.pid;
    }
  }
  Release(deferred);
  return result;
}

void MmRegistry::ContextSwitchLocked(Cpu& cpu, TaskEntry* next,
                                     Deferred* deferred) {
  TaskEntry* prev = cpu.curr;
  if (prev == next) return;
  const int index = static_cast<int>(&cpu - cpus_.data());
  std::shared_ptr<MmStruct> oldmm = prev->active_mm;
  if (next->mm == nullptr) {
    // A kernel thread: lazy TLB on the previous task's mm (mmgrab).
    next->active_mm = oldmm;
    if (oldmm != nullptr) Mmgrab(*oldmm);
  } else {
    // Linux: switch_mm(): load next's page tables on this CPU.
    if (oldmm != nullptr && oldmm != next->mm) {
      oldmm->SetCpuLoaded(index, false);
    }
    next->mm->SetCpuLoaded(index, true);
  }
  if (prev->mm == nullptr && prev->active_mm != nullptr) {
    // Linux: finish_task_switch(): mmdrop() the mm a kernel thread borrowed.
    deferred->drops.push_back(std::move(prev->active_mm));
    prev->active_mm = nullptr;
  }
  prev->cpu = -1;
  next->cpu = index;
  cpu.curr = next;
}

absl::Status MmRegistry::Schedule(int cpu, int pid) {
  if (cpu < 0) return LinuxError(EINVAL, "no such CPU");
  Deferred deferred;
  {
    WriteLock lock(&table_lock_);
    if (static_cast<size_t>(cpu) >= cpus_.size()) {
      return LinuxError(EINVAL, absl::StrFormat("no CPU %d", cpu));
    }
    TaskEntry* next = &cpus_[cpu].idle;
    if (pid != 0) {
      auto it = tasks_.find(pid);
      if (it == tasks_.end()) {
        return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
      }
      next = it->second.get();
      if (next->cpu >= 0 && next->cpu != cpu) {
        return LinuxError(
            EBUSY, absl::StrFormat("task %d runs on CPU %d", pid, next->cpu));
      }
    }
    ContextSwitchLocked(cpus_[cpu], next, &deferred);
  }
  Release(deferred);
  return absl::OkStatus();
}

void MmRegistry::ExitLocked(int pid, Deferred* deferred) {
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) return;
  TaskEntry& task = *it->second;
  if (task.cpu >= 0) {
    // The CPU runs its idle task, which borrows the mm lazily.
    ContextSwitchLocked(cpus_[task.cpu], &cpus_[task.cpu].idle, deferred);
  }
  // Linux: exit_mm(): mm = NULL, then mmput().
  if (task.mm != nullptr) deferred->puts.push_back(std::move(task.mm));
  if (task.active_mm != nullptr && task.kind == TaskKind::kKernelThread) {
    deferred->drops.push_back(std::move(task.active_mm));
  }
  tasks_.erase(it);
  exits_.fetch_add(1);
}

absl::Status MmRegistry::Exit(int pid) {
  Deferred deferred;
  {
    WriteLock lock(&table_lock_);
    if (!tasks_.contains(pid)) {
      return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
    }
    ExitLocked(pid, &deferred);
  }
  Release(deferred);
  return absl::OkStatus();
}

absl::Status MmRegistry::RemoveProcess(int pid) {
  Deferred deferred;
  {
    WriteLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      return LinuxError(ESRCH, absl::StrFormat("no process %d", pid));
    }
    const int tgid = it->second->tgid;
    std::vector<int> group;
    for (const auto& [other_pid, other] : tasks_) {
      if (other->tgid == tgid) group.push_back(other_pid);
    }
    for (int member : group) ExitLocked(member, &deferred);
  }
  Release(deferred);
  return absl::OkStatus();
}

absl::StatusOr<int> MmRegistry::CreateKernelThread(absl::string_view name) {
  TaskEntry task;
  task.kind = TaskKind::kKernelThread;
  task.comm = name.empty() ? "kthread" : std::string(name.substr(0, 64));
  absl::StatusOr<int> pid = AddTask(std::move(task), nullptr);
  if (pid.ok()) kthreads_.fetch_add(1);
  return pid;
}

absl::StatusOr<MmRef> MmRegistry::MmGet(int pid) {
  ReadLock lock(&table_lock_);
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) {
    return LinuxError(ESRCH, absl::StrFormat("no process %d", pid));
  }
  const TaskEntry& task = *it->second;
  // A task's own mm_users reference keeps the count above zero here.
  if (task.mm == nullptr || !MmgetNotZero(*task.mm)) {
    return LinuxError(ESRCH, absl::StrFormat("task %d has no mm", pid));
  }
  return MmRef(this, task.mm);
}

absl::StatusOr<std::shared_ptr<const MmStruct>> MmRegistry::MmPeek(
    int pid) const {
  ReadLock lock(&table_lock_);
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) {
    return LinuxError(ESRCH, absl::StrFormat("no process %d", pid));
  }
  if (it->second->mm == nullptr) {
    return LinuxError(ESRCH, absl::StrFormat("task %d has no mm", pid));
  }
  return std::shared_ptr<const MmStruct>(it->second->mm);
}

// --- faults and the OOM killer ---

absl::StatusOr<TouchResult> MmRegistry::Touch(int pid, uint64_t addr,
                                              FaultAccess access, bool user) {
  MmRef ref;
  std::shared_ptr<MmStruct> borrowed;  // a kernel thread's active_mm
  {
    ReadLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
    }
    const TaskEntry& task = *it->second;
    if (task.mm != nullptr) {
      if (!MmgetNotZero(*task.mm)) return LinuxError(ESRCH, "exiting");
      ref = MmRef(this, task.mm);
    } else {
      borrowed = task.active_mm != nullptr ? task.active_mm : init_mm_;
    }
  }
  TouchResult result;
  if (!ref) {
    if (user) {
      // A kernel thread has no user address space.
      result.fault.kind = FaultKind::kSigsegv;
      result.fault.si_code = kSegvMaperr;
      events_->CountFault(FaultOutcome::kSegvMaperr);
      return result;
    }
    result.fault = borrowed->HandleMmFault(addr, access, /*user=*/false);
    return result;
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    result.fault = ref->HandleMmFault(addr, access, user);
    if (result.fault.kind != FaultKind::kOom) break;
    // Out of memory after reclaim: the OOM killer picks a victim.
    const int victim = OomKill(pid);
    if (victim == 0) break;
    result.oom_victim_pid = victim;
    absl::StatusOr<TaskInfo> self = Task(pid);
    if (!self.ok()) {
      result.oom_killed_self = true;
      break;
    }
  }
  // kswapd: below the low watermark, reclaim up to the high one.
  const uint64_t target = phys_->ReclaimTarget();
  if (target > 0) Reclaim(target, nullptr);
  return result;
}

int MmRegistry::OomKill(int triggered_by) {
  // Linux: oom_badness(): rss + swap entries + page tables.
  int victim = 0;
  uint64_t worst = 0;
  OomEvent event;
  // The candidates are collected under tasklist_lock and weighed after it
  // is dropped: an mm's own locks are never taken under it.
  std::vector<std::pair<int, std::shared_ptr<MmStruct>>> candidates;
  {
    ReadLock lock(&table_lock_);
    for (const auto& [pid, task] : tasks_) {
      if (task->mm == nullptr || task->kind != TaskKind::kProcess) continue;
      candidates.emplace_back(pid, task->mm);
    }
  }
  for (const auto& [pid, mm] : candidates) {
    const MmPageStats pages = mm->PageStats();
    const uint64_t points =
        pages.rss.resident() + pages.rss.swap + pages.pgtable_pages;
    if (victim == 0 || points > worst) {
      victim = pid;
      worst = points;
      event.victim_mm_id = mm->mm_id;
      event.rss_pages = pages.rss.resident();
      event.swap_pages = pages.rss.swap;
    }
  }
  if (victim == 0 || worst == 0) return 0;
  event.victim_pid = victim;
  event.triggered_by_pid = triggered_by;
  // Every task sharing the victim's mm dies with it.
  Deferred deferred;
  {
    WriteLock lock(&table_lock_);
    std::vector<int> doomed;
    for (const auto& [pid, task] : tasks_) {
      if (task->mm != nullptr && task->mm->mm_id == event.victim_mm_id) {
        doomed.push_back(pid);
      }
    }
    for (int pid : doomed) ExitLocked(pid, &deferred);
  }
  Release(deferred);
  oom_kills_.fetch_add(1);
  MutexLock lock(&oom_lock_);
  if (oom_events_.size() >= 64) oom_events_.erase(oom_events_.begin());
  oom_events_.push_back(event);
  return victim;
}

// --- reclaim (Linux 2.4 mm/vmscan.c swap_out()) ---

uint64_t MmRegistry::Reclaim(uint64_t target, MmStruct* locked_mm) {
  reclaim_runs_.fetch_add(1);
  uint64_t freed = phys_->ShrinkPageCache(target);
  // Pin the mms to scan with mm_users (mmget_not_zero) under mmlist_lock,
  // then scan each with no global lock held.
  std::vector<std::shared_ptr<MmStruct>> pinned;
  {
    MutexLock lock(&mmlist_lock_);
    const size_t n = mmlist_.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (swap_cursor_ + i) % n;
      MmStruct& mm = *mmlist_[index];
      if (&mm == init_mm_.get()) continue;
      if (&mm == locked_mm || MmgetNotZero(mm)) {
        pinned.push_back(mmlist_[index]);
      }
    }
    if (n > 0) swap_cursor_ = (swap_cursor_ + 1) % n;
  }
  for (auto& mm : pinned) {
    if (freed < target) {
      const uint64_t budget = target - freed;
      freed += mm.get() == locked_mm ? mm->SwapOutHeld(budget)
                                     : mm->TrySwapOut(budget);
      freed += phys_->ShrinkPageCache(target > freed ? target - freed : 0);
    }
    if (mm.get() != locked_mm) Mmput(std::move(mm));
  }
  return freed;
}

// --- vmalloc ---

namespace {
constexpr uint64_t kVmallocBase = 0xffffc90000000000;
constexpr uint64_t kVmallocSize = uint64_t{32} << 40;  // 32 TiB
}  // namespace

absl::StatusOr<uint64_t> MmRegistry::Vmalloc(uint64_t pages) {
  if (pages == 0 || pages > (uint64_t{1} << 24)) {
    return LinuxError(EINVAL, "vmalloc size out of range");
  }
  uint64_t addr;
  {
    MutexLock lock(&vmalloc_lock_);
    if (vmalloc_next_ == 0) vmalloc_next_ = kVmallocBase;
    // One guard page after every area, as Linux's vmap_area.
    if (vmalloc_next_ + (pages + 1) * kPageSize > kVmallocBase + kVmallocSize) {
      return LinuxError(ENOMEM, "vmalloc space exhausted");
    }
    addr = vmalloc_next_;
    vmalloc_next_ += (pages + 1) * kPageSize;
    vmalloc_areas_.emplace(addr, pages);
  }
  absl::Status mapped = init_mm_->MapKernelPages(addr, pages);
  if (!mapped.ok()) {
    MutexLock lock(&vmalloc_lock_);
    vmalloc_areas_.erase(addr);
    return mapped;
  }
  return addr;
}

absl::Status MmRegistry::Vfree(uint64_t addr) {
  uint64_t pages;
  {
    MutexLock lock(&vmalloc_lock_);
    auto it = vmalloc_areas_.find(addr);
    if (it == vmalloc_areas_.end()) {
      return LinuxError(EINVAL, "not a vmalloc address");
    }
    pages = it->second;
    vmalloc_areas_.erase(it);
  }
  init_mm_->UnmapKernelPages(addr, pages);
  return absl::OkStatus();
}

// --- views ---

TaskInfo MmRegistry::InfoLocked(const TaskEntry& task) const {
  TaskInfo info;
  info.pid = task.pid;
  info.tgid = task.tgid;
  info.ppid = task.ppid;
  info.kind = task.kind;
  info.comm = task.comm;
  info.cpu = task.cpu;
  info.mm_id = task.mm != nullptr ? task.mm->mm_id : 0;
  info.active_mm_id = task.active_mm != nullptr ? task.active_mm->mm_id : 0;
  return info;
}

std::vector<TaskInfo> MmRegistry::Tasks() const {
  ReadLock lock(&table_lock_);
  std::vector<TaskInfo> out;
  for (const Cpu& cpu : cpus_) out.push_back(InfoLocked(cpu.idle));
  for (const auto& [pid, task] : tasks_) out.push_back(InfoLocked(*task));
  return out;
}

absl::StatusOr<TaskInfo> MmRegistry::Task(int pid) const {
  ReadLock lock(&table_lock_);
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) {
    return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
  }
  return InfoLocked(*it->second);
}

std::vector<CpuInfo> MmRegistry::Cpus() const {
  ReadLock lock(&table_lock_);
  std::vector<CpuInfo> out;
  for (size_t i = 0; i < cpus_.size(); ++i) {
    CpuInfo info;
    info.cpu = static_cast<int>(i);
    info.curr_pid = cpus_[i].curr->pid;
    info.active_mm_id = cpus_[i].curr->active_mm != nullptr
                            ? cpus_[i].curr->active_mm->mm_id
                            : 0;
    out.push_back(info);
  }
  return out;
}

std::vector<MmInfo> MmRegistry::Mms() const {
  absl::btree_map<uint64_t, std::vector<int>> owners;
  {
    ReadLock lock(&table_lock_);
    for (const auto& [pid, task] : tasks_) {
      if (task->mm != nullptr) owners[task->mm->mm_id].push_back(pid);
    }
  }
  std::vector<std::shared_ptr<MmStruct>> alive;
  std::vector<bool> listed;
  {
    MutexLock lock(&mmlist_lock_);
    absl::flat_hash_set<uint64_t> on_list;
    for (const auto& mm : mmlist_) {
      alive.push_back(mm);
      listed.push_back(true);
      on_list.insert(mm->mm_id);
    }
    for (const auto& [id, weak] : descriptors_) {
      if (on_list.contains(id)) continue;
      std::shared_ptr<MmStruct> mm = weak.lock();
      if (mm == nullptr) continue;
      alive.push_back(std::move(mm));
      listed.push_back(false);
    }
  }
  std::vector<MmInfo> out;
  for (size_t i = 0; i < alive.size(); ++i) {
    const MmStruct& mm = *alive[i];
    MmInfo info;
    info.mm_id = mm.mm_id;
    info.mm_users = mm.mm_users.load();
    info.mm_count = mm.mm_count.load();
    info.on_mmlist = listed[i];
    info.is_init_mm = &mm == init_mm_.get();
    auto it = owners.find(mm.mm_id);
    if (it != owners.end()) info.pids = it->second;
    info.counters = mm.Counters();
    info.pages = mm.PageStats();
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<OomEvent> MmRegistry::OomEvents() const {
  MutexLock lock(&oom_lock_);
  return oom_events_;
}

SystemStats MmRegistry::Stats() const {
  SystemStats stats;
  {
    ReadLock lock(&table_lock_);
    for (const auto& [pid, task] : tasks_) {
      switch (task->kind) {
        case TaskKind::kProcess:
          ++stats.processes;
          break;
        case TaskKind::kLwp:
          ++stats.lwps;
          break;
        default:
          ++stats.kernel_threads;
          break;
      }
    }
  }
  {
    MutexLock lock(&mmlist_lock_);
    stats.mmlist_nr = static_cast<int>(mmlist_.size());
    stats.mm_descriptors = static_cast<int>(descriptors_.size());
  }
  {
    MutexLock lock(&vmalloc_lock_);
    for (const auto& [addr, pages] : vmalloc_areas_) {
      stats.vmalloc_pages += pages;
    }
  }
  stats.phys = phys_->Stats();
  stats.oom_kills = oom_kills_.load();
  stats.forks = forks_.load();
  stats.clones = clones_.load();
  stats.execs = execs_.load();
  stats.exits = exits_.load();
  stats.reclaim_runs = reclaim_runs_.load();
  return stats;
}

SystemEventStats MmRegistry::EventStats() const {
  SystemEventStats stats = events_->Snapshot();
  stats.forks = forks_.load();
  stats.clones = clones_.load();
  stats.execs = execs_.load();
  stats.exits = exits_.load();
  stats.kthreads = kthreads_.load();
  stats.oom_kills = oom_kills_.load();
  const PhysMemStats phys = phys_->Stats();
  stats.swap_out_pages = phys.swap_outs;
  stats.swap_in_pages = phys.swap_ins;
  return stats;
}

void MmRegistry::SampleMms(std::vector<MmSample>* out) const {
  out->clear();
  std::vector<std::shared_ptr<const MmStruct>> alive;
  {
    MutexLock lock(&mmlist_lock_);
    alive.reserve(descriptors_.size());
    for (const auto& [id, weak] : descriptors_) {
      std::shared_ptr<const MmStruct> mm = weak.lock();
      if (mm != nullptr && mm != init_mm_) alive.push_back(std::move(mm));
    }
  }
  out->reserve(alive.size());
  // Each mm is a few cache misses; prefetching kAhead mms ahead overlaps
  // them (at 100,000 mms this halves the scan).
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < alive.size() && i < kAhead; ++i) {
    alive[i]->PrefetchSample();
  }
  for (size_t i = 0; i < alive.size(); ++i) {
    if (i + kAhead < alive.size()) alive[i + kAhead]->PrefetchSample();
    out->push_back(alive[i]->Sample());
  }
}

std::vector<int> MmRegistry::LowestPidsOf(
    const std::vector<const MmSample*>& samples) const {
  std::vector<int> pids(samples.size(), 0);
  if (samples.empty()) return pids;
  ReadLock lock(&table_lock_);
  for (const auto& [pid, task] : tasks_) {  // ascending pids
    const MmStruct* mm = task->mm.get();
    if (mm == nullptr) continue;
    for (size_t i = 0; i < samples.size(); ++i) {
      // The id tells a new mm at a freed one's address apart.
      if (pids[i] == 0 && samples[i]->mm == mm &&
          samples[i]->mm_id == mm->mm_id) {
        pids[i] = pid;
      }
    }
  }
  return pids;
}

int MmRegistry::IdleTasks() const {
  ReadLock lock(&table_lock_);
  return static_cast<int>(cpus_.size());
}

std::vector<int> MmRegistry::Pids() const {
  ReadLock lock(&table_lock_);
  std::vector<int> pids;
  pids.reserve(tasks_.size());
  for (const auto& [pid, task] : tasks_) {
    if (task->mm != nullptr) pids.push_back(pid);
  }
  return pids;
}

size_t MmRegistry::ProcessCount() const { return Pids().size(); }

absl::StatusOr<std::string> MmRegistry::ProcStatus(int pid) {
  TaskInfo info;
  int threads = 0;
  {
    ReadLock lock(&table_lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) {
      return LinuxError(ESRCH, absl::StrFormat("no task %d", pid));
    }
    info = InfoLocked(*it->second);
    for (const auto& [other_pid, other] : tasks_) {
      if (other->tgid == info.tgid) ++threads;
    }
  }
  std::string out =
      absl::StrFormat("Name:\t%s\nState:\t%s\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n",
                      info.comm, info.cpu >= 0 ? "R (running)" : "S (sleeping)",
                      info.tgid, info.pid, info.ppid);
  absl::StrAppendFormat(&out, "Kthread:\t%d\n",
                        info.kind == TaskKind::kKernelThread ? 1 : 0);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(pid);
  if (mm.ok()) out += (*mm)->TaskMem();
  absl::StrAppendFormat(&out, "Threads:\t%d\n", threads);
  return out;
}

}  // namespace mmsim
