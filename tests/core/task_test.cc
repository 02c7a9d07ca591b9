// The life of tasks and memory descriptors: mm_users / mm_count, mmlist,
// clone, fork, exec, exit, kernel threads borrowing an mm, vmalloc syncs,
// the OOM killer, and that nothing leaks once every task has exited.
#include <cerrno>

#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

MmInfo InfoOf(const MmRegistry& system, uint64_t mm_id) {
  for (const MmInfo& info : system.Mms()) {
    if (info.mm_id == mm_id) return info;
  }
  return MmInfo{};  // mm_id 0: the descriptor is gone
}

uint64_t MmIdOf(const MmRegistry& system, int pid) {
  absl::StatusOr<TaskInfo> task = system.Task(pid);
  return task.ok() ? task->mm_id : 0;
}

// Nothing is left once every task exited: only init_mm on mmlist, every
// frame free (the page cache aside) and every swap slot free.
void ExpectNoLeaks(const MmRegistry& system) {
  const SystemStats stats = system.Stats();
  EXPECT_EQ(stats.mmlist_nr, 1);
  EXPECT_EQ(stats.processes + stats.lwps, 0);
  EXPECT_EQ(stats.phys.frames_free + stats.phys.page_cache_pages +
                stats.phys.kernel_pages,
            stats.phys.frames_total);
  EXPECT_EQ(stats.phys.swap_free, stats.phys.swap_total);
  EXPECT_EQ(stats.phys.swap_cache_pages, 0u);
}

uint64_t Addr(MmRegistry& system, int pid, uint64_t pages) {
  MmapArgs args;
  args.len = Pages(pages);
  args.prot = kProtRead | kProtWrite;
  absl::StatusOr<MmRef> mm = system.MmGet(pid);
  EXPECT_TRUE(mm.ok());
  absl::StatusOr<uint64_t> addr = (*mm)->DoMmap(args);
  EXPECT_TRUE(addr.ok()) << addr.status();
  return *addr;
}

TEST(TaskTest, NewProcessHasOneUserAndOneCount) {
  MmRegistry system;
  EXPECT_EQ(system.Stats().mmlist_nr, 1);  // init_mm
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  const MmInfo info = InfoOf(system, MmIdOf(system, pid));
  EXPECT_EQ(info.mm_users, 1);
  EXPECT_EQ(info.mm_count, 1);
  EXPECT_TRUE(info.on_mmlist);
  EXPECT_EQ(system.Stats().mmlist_nr, 2);
  const std::vector<MmInfo> mms = system.Mms();
  ASSERT_FALSE(mms.empty());
  EXPECT_TRUE(mms.front().is_init_mm);  // init_mm heads mmlist
}

// The seed's example, step by step through the API.
TEST(TaskTest, SeedExampleKernelThreadKeepsTheDescriptor) {
  MmRegistry system;
  const int p1 = *system.CreateProcess(ExecImage(), MmConfig());
  const int p2 = *system.Clone(p1, kCloneVm);
  const uint64_t mm = MmIdOf(system, p1);
  ASSERT_EQ(MmIdOf(system, p2), mm);
  EXPECT_EQ(InfoOf(system, mm).mm_users, 2);  // two lightweight processes
  EXPECT_EQ(InfoOf(system, mm).mm_count, 1);  // all users count as one

  // p1 runs on CPU 0, then a kernel thread is scheduled there: it borrows
  // p1's mm as active_mm (lazy TLB) and takes mm_count.
  const int kthread = *system.CreateKernelThread("kswapd0");
  ASSERT_TRUE(system.Schedule(0, p1).ok());
  EXPECT_EQ(InfoOf(system, mm).pages.cpu_vm_mask & 1, 1u);
  ASSERT_TRUE(system.Schedule(0, kthread).ok());
  EXPECT_EQ(system.Task(kthread)->active_mm_id, mm);
  EXPECT_EQ(system.Task(kthread)->mm_id, 0u);
  EXPECT_EQ(InfoOf(system, mm).mm_users, 2);
  EXPECT_EQ(InfoOf(system, mm).mm_count, 2);

  // Both processes exit: mm_users drops to 0, the regions and page tables
  // are released, but the descriptor lives on for the kernel thread.
  ASSERT_TRUE(system.Exit(p1).ok());
  EXPECT_EQ(InfoOf(system, mm).mm_users, 1);
  ASSERT_TRUE(system.Exit(p2).ok());
  MmInfo left = InfoOf(system, mm);
  ASSERT_EQ(left.mm_id, mm);
  EXPECT_EQ(left.mm_users, 0);
  EXPECT_EQ(left.mm_count, 1);
  EXPECT_FALSE(left.on_mmlist);
  EXPECT_EQ(left.counters.map_count, 0);
  EXPECT_EQ(left.pages.pgtable_pages, 1u);  // only the pgd is left
  EXPECT_EQ(system.Stats().mmlist_nr, 1);

  // The idle task is a kernel thread too: it borrows the mm in turn.
  ASSERT_TRUE(system.Schedule(0, 0).ok());
  EXPECT_EQ(InfoOf(system, mm).mm_count, 1);
  // A process with an mm of its own runs: the last reference goes.
  const int p3 = *system.CreateProcess(ExecImage(), MmConfig());
  ASSERT_TRUE(system.Schedule(0, p3).ok());
  EXPECT_EQ(InfoOf(system, mm).mm_id, 0u);
  ASSERT_TRUE(system.Exit(p3).ok());
  ExpectNoLeaks(system);
}

TEST(TaskTest, ForkCopiesRegionsAndSharesPagesCopyOnWrite) {
  MmRegistry system;
  const int parent = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t addr = Addr(system, parent, 4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(system.Touch(parent, addr + Pages(i), FaultAccess::kWrite)
                  ->fault.source,
              FaultSource::kAnonPage);
  }
  const int child = *system.Fork(parent);
  MmRef pmm = *system.MmGet(parent);
  MmRef cmm = *system.MmGet(child);
  EXPECT_EQ(pmm->ProcMaps(), cmm->ProcMaps());
  EXPECT_EQ(pmm->PageStats().rss.anon, 4u);
  EXPECT_EQ(cmm->PageStats().rss.anon, 4u);
  const uint64_t free_before = system.phys()->FreeFrames();

  // The child writes one page: it gets its own copy; the parent keeps its.
  TouchResult w = *system.Touch(child, addr, FaultAccess::kWrite);
  EXPECT_EQ(w.fault.kind, FaultKind::kMinor);
  EXPECT_EQ(w.fault.source, FaultSource::kCopyOnWrite);
  EXPECT_EQ(system.phys()->FreeFrames(), free_before - 1);
  EXPECT_EQ(cmm->PageStats().cow_faults, 1u);
  EXPECT_EQ(cmm->PageStats().rss.anon, 4u);
  EXPECT_EQ(cmm->PageStats().hiwater_rss, 4u);  // a copy is no new page
  // The parent's write to the same page now reuses it (it is exclusive).
  TouchResult pw = *system.Touch(parent, addr, FaultAccess::kWrite);
  EXPECT_EQ(pw.fault.source, FaultSource::kWriteReuse);
  EXPECT_EQ(system.phys()->FreeFrames(), free_before - 1);
  // A read of a shared page does not fault.
  EXPECT_EQ(
      system.Touch(child, addr + Pages(1), FaultAccess::kRead)->fault.kind,
      FaultKind::kNone);
  ASSERT_TRUE(system.Exit(child).ok());
  ASSERT_TRUE(system.Exit(parent).ok());
  pmm.Reset();
  cmm.Reset();
  ExpectNoLeaks(system);
}

TEST(TaskTest, ForkHonoursDontforkWipeonforkAndDropsLocks) {
  MmRegistry system;
  const int parent = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t keep = Addr(system, parent, 2);
  const uint64_t gone = Addr(system, parent, 2);
  const uint64_t wipe = Addr(system, parent, 2);
  {
    MmRef mm = *system.MmGet(parent);
    ASSERT_TRUE(mm->Madvise(gone, Pages(2), kMadvDontfork).ok());
    ASSERT_TRUE(mm->Madvise(wipe, Pages(2), kMadvWipeonfork).ok());
    ASSERT_TRUE(mm->Mlock(keep, Pages(2), 0).ok());
    ASSERT_EQ(mm->Counters().locked_vm, 2u);
  }
  ASSERT_EQ(system.Touch(parent, wipe, FaultAccess::kWrite)->fault.kind,
            FaultKind::kMinor);
  const int child = *system.Fork(parent);
  MmRef cmm = *system.MmGet(child);
  EXPECT_FALSE(cmm->VmaLookup(gone).has_value());
  ASSERT_TRUE(cmm->VmaLookup(wipe).has_value());
  EXPECT_EQ(cmm->Counters().locked_vm, 0u);
  EXPECT_FALSE(cmm->VmaLookup(keep)->vm_flags & kVmLocked);
  // The locked pages were populated in the parent and are shared.
  EXPECT_EQ(cmm->PageStats().rss.anon, 2u);
  // The wiped region starts empty: a read maps the zero page.
  EXPECT_EQ(system.Touch(child, wipe, FaultAccess::kRead)->fault.source,
            FaultSource::kZeroPage);
}

TEST(TaskTest, CloneVmSharesAndThreadGroups) {
  MmRegistry system;
  const int leader = *system.CreateProcess(ExecImage(), MmConfig());
  EXPECT_EQ(Errno(system.Clone(leader, kCloneThread).status()), EINVAL);
  EXPECT_EQ(Errno(system.Clone(leader, 0x4).status()), EINVAL);
  EXPECT_EQ(Errno(system.Clone(999, kCloneVm).status()), ESRCH);
  const int thread = *system.Clone(leader, kCloneVm | kCloneThread);
  EXPECT_EQ(system.Task(thread)->tgid, leader);
  EXPECT_EQ(system.Task(thread)->kind, TaskKind::kLwp);
  // A page written by one thread is there for the other.
  const uint64_t addr = Addr(system, leader, 1);
  ASSERT_EQ(system.Touch(thread, addr, FaultAccess::kWrite)->fault.kind,
            FaultKind::kMinor);
  EXPECT_EQ(system.Touch(leader, addr, FaultAccess::kWrite)->fault.kind,
            FaultKind::kNone);
  EXPECT_NE(system.ProcStatus(leader)->find("Threads:\t2\n"),
            std::string::npos);
  // exit_group takes both.
  ASSERT_TRUE(system.RemoveProcess(leader).ok());
  EXPECT_EQ(Errno(system.Task(thread).status()), ESRCH);
  ExpectNoLeaks(system);
}

TEST(TaskTest, ExecReplacesTheMmAndEndsOtherThreads) {
  MmRegistry system;
  MmConfig config;
  config.rlimits.stack.cur = 16 << 20;
  const int pid = *system.CreateProcess(ExecImage(), config);
  const int thread = *system.Clone(pid, kCloneVm | kCloneThread);
  const uint64_t old_mm = MmIdOf(system, pid);
  Addr(system, pid, 8);
  ExecImage image;
  image.exe_name = "/bin/true";
  ASSERT_TRUE(system.Exec(pid, image).ok());
  const uint64_t new_mm = MmIdOf(system, pid);
  EXPECT_NE(new_mm, old_mm);
  EXPECT_EQ(InfoOf(system, old_mm).mm_id, 0u);  // freed
  EXPECT_EQ(Errno(system.Task(thread).status()), ESRCH);
  EXPECT_EQ(system.Task(pid)->comm, "true");
  MmRef mm = *system.MmGet(pid);
  EXPECT_EQ(mm->config().rlimits.stack.cur, uint64_t{16} << 20);
  EXPECT_NE(mm->ProcMaps().find("[stack]"), std::string::npos);
  EXPECT_EQ(InfoOf(system, new_mm).mm_users, 2);  // the task and `mm`
  EXPECT_EQ(Errno(system.Exec(12345, image).status()), ESRCH);
}

TEST(TaskTest, ExecFromAThreadTakesOverTheLeadersPid) {
  MmRegistry system;
  const int leader = *system.CreateProcess(ExecImage(), MmConfig());
  const int thread = *system.Clone(leader, kCloneVm | kCloneThread);
  const int sibling = *system.Clone(leader, kCloneVm | kCloneThread);
  const uint64_t old_mm = MmIdOf(system, leader);
  EXPECT_EQ(*system.Exec(thread, ExecImage()), leader);
  EXPECT_EQ(Errno(system.Task(thread).status()), ESRCH);
  EXPECT_EQ(Errno(system.Task(sibling).status()), ESRCH);
  const TaskInfo task = *system.Task(leader);
  EXPECT_EQ(task.tgid, leader);
  EXPECT_EQ(task.kind, TaskKind::kProcess);
  EXPECT_NE(task.mm_id, old_mm);
  EXPECT_EQ(InfoOf(system, old_mm).mm_id, 0u);  // every user is gone
  EXPECT_EQ(system.Stats().mmlist_nr, 2);
}

TEST(TaskTest, ExitOfARunningTaskLeavesALazyIdle) {
  MmRegistry system;
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t mm = MmIdOf(system, pid);
  ASSERT_TRUE(system.Schedule(1, pid).ok());
  EXPECT_EQ(Errno(system.Schedule(0, pid)), EBUSY);
  EXPECT_EQ(Errno(system.Schedule(7, pid)), EINVAL);
  ASSERT_TRUE(system.Exit(pid).ok());
  // swapper/1 now runs on the dead process's mm.
  EXPECT_EQ(system.Cpus()[1].curr_pid, 0);
  EXPECT_EQ(system.Cpus()[1].active_mm_id, mm);
  EXPECT_EQ(InfoOf(system, mm).mm_count, 1);
  EXPECT_EQ(InfoOf(system, mm).mm_users, 0);
  const int next = *system.CreateProcess(ExecImage(), MmConfig());
  ASSERT_TRUE(system.Schedule(1, next).ok());
  EXPECT_EQ(InfoOf(system, mm).mm_id, 0u);
}

TEST(TaskTest, KernelThreadsHaveNoUserMemory) {
  MmRegistry system;
  const int kthread = *system.CreateKernelThread("kworker/0:1");
  EXPECT_EQ(Errno(system.MmGet(kthread).status()), ESRCH);
  TouchResult r = *system.Touch(kthread, 0x10000000, FaultAccess::kRead);
  EXPECT_EQ(r.fault.kind, FaultKind::kSigsegv);
  EXPECT_EQ(r.fault.si_code, kSegvMaperr);
  EXPECT_EQ(Errno(system.Touch(4242, 0, FaultAccess::kRead).status()), ESRCH);
  // Clone of a kernel thread is a kernel thread.
  const int child = *system.Clone(kthread, 0);
  EXPECT_EQ(system.Task(child)->kind, TaskKind::kKernelThread);
}

TEST(TaskTest, VmallocIsSyncedLazilyIntoEachMm) {
  MmRegistry system;
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t area = *system.Vmalloc(4);
  EXPECT_EQ(system.Stats().vmalloc_pages, 4u);
  // A user-mode access to kernel memory is SIGSEGV.
  EXPECT_EQ(system.Touch(pid, area, FaultAccess::kRead)->fault.kind,
            FaultKind::kSigsegv);
  // The first kernel-mode access copies init_mm's pgd entry; the second
  // finds it.
  TouchResult first = *system.Touch(pid, area, FaultAccess::kRead, false);
  EXPECT_TRUE(first.fault.vmalloc_synced);
  TouchResult second =
      *system.Touch(pid, area + Pages(3), FaultAccess::kWrite, false);
  EXPECT_FALSE(second.fault.vmalloc_synced);
  EXPECT_EQ(second.fault.kind, FaultKind::kNone);
  EXPECT_EQ((*system.MmGet(pid))->PageStats().vmalloc_syncs, 1u);
  // Past the area (the guard page) nothing is mapped.
  EXPECT_EQ(
      system.Touch(pid, area + Pages(4), FaultAccess::kRead, false)->fault.kind,
      FaultKind::kSigsegv);
  // A kernel thread that is not running touches it through init_mm.
  const int kthread = *system.CreateKernelThread("kworker");
  EXPECT_EQ(system.Touch(kthread, area, FaultAccess::kRead, false)->fault.kind,
            FaultKind::kNone);
  ASSERT_TRUE(system.Vfree(area).ok());
  EXPECT_EQ(Errno(system.Vfree(area)), EINVAL);
  EXPECT_EQ(Errno(system.Vmalloc(0).status()), EINVAL);
  EXPECT_EQ(system.Stats().phys.kernel_pages, 0u);
}

TEST(TaskTest, PressureSwapsOutAndFaultsBackIn) {
  SystemConfig config;
  config.phys.frames = 256;
  config.phys.swap_pages = 1024;
  MmRegistry system(config);
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t addr = Addr(system, pid, 512);
  for (int i = 0; i < 512; ++i) {
    TouchResult r = *system.Touch(pid, addr + Pages(i), FaultAccess::kWrite);
    ASSERT_NE(r.fault.kind, FaultKind::kOom) << i;
  }
  MmRef mm = *system.MmGet(pid);
  const MmPageStats stats = mm->PageStats();
  EXPECT_EQ(stats.rss.anon + stats.rss.swap, 512u);
  EXPECT_GT(stats.rss.swap, 256u);
  EXPECT_GT(system.Stats().phys.swap_outs, 0u);
  // Touch every page again: the swapped ones come back as major faults.
  uint64_t majors = 0;
  for (int i = 0; i < 512; ++i) {
    TouchResult r = *system.Touch(pid, addr + Pages(i), FaultAccess::kRead);
    ASSERT_NE(r.fault.kind, FaultKind::kOom);
    if (r.fault.kind == FaultKind::kMajor) ++majors;
  }
  EXPECT_GT(majors, 0u);
  EXPECT_EQ(mm->PageStats().maj_flt, majors);
  EXPECT_GT(system.Stats().phys.swap_ins, 0u);
  mm.Reset();
  ASSERT_TRUE(system.Exit(pid).ok());
  ExpectNoLeaks(system);
}

TEST(TaskTest, OomKillerTakesTheLargestProcess) {
  SystemConfig config;
  config.phys.frames = 128;
  config.phys.swap_pages = 16;
  MmRegistry system(config);
  const int big = *system.CreateProcess(ExecImage(), MmConfig());
  const int small = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t big_addr = Addr(system, big, 200);
  const uint64_t small_addr = Addr(system, small, 8);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(system.Touch(small, small_addr + Pages(i), FaultAccess::kWrite)
                  ->fault.kind,
              FaultKind::kMinor);
  }
  TouchResult last;
  int i = 0;
  for (; i < 200; ++i) {
    last = *system.Touch(big, big_addr + Pages(i), FaultAccess::kWrite);
    if (last.fault.kind == FaultKind::kOom || last.oom_victim_pid != 0) break;
  }
  ASSERT_LT(i, 200);
  EXPECT_EQ(last.oom_victim_pid, big);
  EXPECT_TRUE(last.oom_killed_self);
  EXPECT_EQ(Errno(system.Task(big).status()), ESRCH);
  EXPECT_TRUE(system.Task(small).ok());
  ASSERT_EQ(system.OomEvents().size(), 1u);
  EXPECT_EQ(system.OomEvents()[0].victim_pid, big);
  EXPECT_EQ(system.Stats().oom_kills, 1u);
  ASSERT_TRUE(system.Exit(small).ok());
  ExpectNoLeaks(system);
}

TEST(TaskTest, MaxTasksIsEagain) {
  SystemConfig config;
  config.max_tasks = 2;
  MmRegistry system(config);
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  ASSERT_TRUE(system.Fork(pid).ok());
  EXPECT_EQ(Errno(system.Fork(pid).status()), EAGAIN);
  EXPECT_EQ(Errno(system.CreateKernelThread("k").status()), EAGAIN);
  EXPECT_EQ(system.Stats().mmlist_nr, 3);  // the failed fork's mm is gone
}

TEST(TaskTest, EverythingIsReleasedAfterAMixedRun) {
  MmRegistry system;
  auto file = *system.CreateFile("/data", Pages(8), 0644);
  const int a = *system.CreateProcess(ExecImage(), MmConfig());
  const uint64_t anon = Addr(system, a, 16);
  uint64_t shared;
  {
    MmRef mm = *system.MmGet(a);
    MmapArgs args;
    args.len = Pages(8);
    args.prot = kProtRead | kProtWrite;
    args.flags = kMapShared;
    args.file = file;
    args.file_mode = kFmodeRead | kFmodeWrite;
    shared = *mm->DoMmap(args);
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(system.Touch(a, anon + Pages(i), FaultAccess::kWrite).ok());
    ASSERT_TRUE(system.Touch(a, shared + Pages(i), FaultAccess::kWrite).ok());
  }
  const int b = *system.Fork(a);
  const int c = *system.Clone(b, kCloneVm);
  ASSERT_TRUE(system.Touch(c, anon, FaultAccess::kWrite).ok());
  system.Reclaim(64, nullptr);
  ASSERT_TRUE(system.Exec(b, ExecImage()).ok());
  for (int pid : system.Pids()) ASSERT_TRUE(system.Exit(pid).ok());
  ExpectNoLeaks(system);
  // The file's pages may stay cached (reclaim may have dropped some).
  EXPECT_LE(system.Stats().phys.page_cache_pages, 8u);
}

}  // namespace
}  // namespace mmsim::testing
