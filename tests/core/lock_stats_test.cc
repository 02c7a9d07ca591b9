// Lock statistics (core/lock_stats.h): counts, contention, wait and hold
// times, what exited threads leave behind, and the lock-state dump.
#include "core/lock_stats.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "core/locks.h"
#include "core/mm_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using ::testing::HasSubstr;

LockStat StatOf(LockClass lock, LockMode mode) {
  for (const LockStat& stat : SnapshotLockStats()) {
    if (stat.lock == lock && stat.mode == mode) return stat;
  }
  ADD_FAILURE() << "no such lock pair";
  return LockStat{};
}

uint64_t Sum(const std::array<uint64_t, kLockHistBuckets>& buckets) {
  uint64_t sum = 0;
  for (uint64_t b : buckets) sum += b;
  return sum;
}

TEST(LockStatsTest, SnapshotNamesEveryPair) {
  const std::vector<LockStat> stats = SnapshotLockStats();
  ASSERT_EQ(stats.size(), 12u);
  EXPECT_EQ(stats[0].lock_name, "mmap_sem");
  EXPECT_EQ(stats[0].mode_name, "read");
  EXPECT_EQ(stats[1].lock_name, "mmap_sem");
  EXPECT_EQ(stats[1].mode_name, "write");
  EXPECT_EQ(stats[2].lock_name, "page_table_lock");
  EXPECT_EQ(stats[3].lock_name, "tasklist_lock");
  EXPECT_EQ(stats[3].mode_name, "read");
  EXPECT_EQ(stats[4].mode_name, "write");
  EXPECT_EQ(stats[9].lock_name, "zone_lock");
  EXPECT_EQ(stats[10].lock_name, "vma_lock");
  EXPECT_EQ(stats[10].mode_name, "read");
  EXPECT_EQ(stats[11].mode_name, "write");
  EXPECT_EQ(stats[9].mode_name, "exclusive");
}

TEST(LockStatsTest, BucketBoundsGrowByFour) {
  EXPECT_DOUBLE_EQ(LockHistUpperBoundSeconds(0), 64e-9);
  EXPECT_DOUBLE_EQ(LockHistUpperBoundSeconds(1), 256e-9);
  EXPECT_NEAR(LockHistUpperBoundSeconds(12), 1.073741824, 1e-12);
}

TEST(LockStatsTest, RegionCallsCountMmapSemByMode) {
  MmRegistry system{SystemConfig()};
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  MmRef mm = *system.MmGet(pid);
  const LockStat read0 = StatOf(LockClass::kMmapSem, LockMode::kRead);
  const LockStat write0 = StatOf(LockClass::kMmapSem, LockMode::kWrite);
  MmapArgs args;
  args.len = Pages(4);
  args.prot = kProtRead | kProtWrite;
  const uint64_t addr = *mm->DoMmap(args);  // a writer
  const LockStat write1 = StatOf(LockClass::kMmapSem, LockMode::kWrite);
  EXPECT_GE(write1.acquisitions, write0.acquisitions + 1);
  EXPECT_EQ(Sum(write1.hold_buckets) - Sum(write0.hold_buckets),
            write1.acquisitions - write0.acquisitions);
  EXPECT_EQ(mm->HandleMmFault(addr, FaultAccess::kWrite).kind,
            FaultKind::kMinor);  // a reader
  const LockStat read1 = StatOf(LockClass::kMmapSem, LockMode::kRead);
  EXPECT_GE(read1.acquisitions, read0.acquisitions + 1);
  EXPECT_EQ(read1.contended, read0.contended);  // nobody else runs
}

TEST(LockStatsTest, LookupsReadTheTaskTableForkWritesIt) {
  MmRegistry system{SystemConfig()};
  const int pid = *system.CreateProcess(ExecImage(), MmConfig());
  const LockStat read0 = StatOf(LockClass::kTasklistLock, LockMode::kRead);
  const LockStat write0 = StatOf(LockClass::kTasklistLock, LockMode::kWrite);
  ASSERT_TRUE(system.MmPeek(pid).ok());
  EXPECT_EQ(StatOf(LockClass::kTasklistLock, LockMode::kRead).acquisitions,
            read0.acquisitions + 1);
  ASSERT_TRUE(system.Fork(pid).ok());
  EXPECT_GT(StatOf(LockClass::kTasklistLock, LockMode::kWrite).acquisitions,
            write0.acquisitions);
}

TEST(LockStatsTest, ContentionIsCountedAndTheWaiterShowsInTheDump) {
  Mutex mu(LockClass::kOomLock);
  const LockStat before = StatOf(LockClass::kOomLock, LockMode::kExclusive);
  std::atomic<bool> acquired{false};
  std::string dump_while_waiting;
  std::thread waiter;
  {
    MutexLock hold(&mu);
    waiter = std::thread([&] {
      MutexLock lock(&mu);
      acquired = true;
    });
    // Wait (unbounded in time, bounded by the test timeout) until the
    // waiter shows as waiting in the dump.
    while (dump_while_waiting.find("waits for oom_lock") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      dump_while_waiting = DumpLockState();
    }
    EXPECT_THAT(dump_while_waiting, HasSubstr("holds oom_lock(exclusive)"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_FALSE(acquired);
  }
  waiter.join();
  EXPECT_TRUE(acquired);
  const LockStat after = StatOf(LockClass::kOomLock, LockMode::kExclusive);
  EXPECT_EQ(after.acquisitions - before.acquisitions, 2u);
  EXPECT_EQ(after.contended - before.contended, 1u);
  EXPECT_EQ(Sum(after.wait_buckets) - Sum(before.wait_buckets), 1u);
  // The waiter waited at least the 2 ms the holder slept after it began.
  EXPECT_GE(after.wait_ns_total - before.wait_ns_total, 2'000'000u);
  EXPECT_GE(after.hold_ns_total - before.hold_ns_total, 2'000'000u);
}

TEST(LockStatsTest, ExitedThreadsKeepTheirCounts) {
  Mutex mu(LockClass::kZoneLock);
  const LockStat before = StatOf(LockClass::kZoneLock, LockMode::kExclusive);
  std::thread([&] {
    for (int i = 0; i < 10; ++i) MutexLock lock(&mu);
  }).join();
  const LockStat after = StatOf(LockClass::kZoneLock, LockMode::kExclusive);
  EXPECT_EQ(after.acquisitions - before.acquisitions, 10u);
  EXPECT_EQ(Sum(after.hold_buckets) - Sum(before.hold_buckets), 10u);
}

TEST(LockStatsTest, ReadersAndTryReadCountAsReadHolds) {
  RwSemaphore sem(LockClass::kMmapSem);
  const LockStat before = StatOf(LockClass::kMmapSem, LockMode::kRead);
  {
    ReadLock a(&sem);
    uint64_t at = 0;
    ASSERT_TRUE(sem.TryReadLock(&at));
    EXPECT_THAT(DumpLockState(), HasSubstr("mmap_sem(read)"));
    sem.ReadUnlock(at);
  }
  const LockStat after = StatOf(LockClass::kMmapSem, LockMode::kRead);
  EXPECT_EQ(after.acquisitions - before.acquisitions, 2u);
  EXPECT_EQ(Sum(after.hold_buckets) - Sum(before.hold_buckets), 2u);
  EXPECT_THAT(DumpLockState(), ::testing::Not(HasSubstr("mmap_sem(read)")));
}

TEST(LockStatsTest, TimingCanBeTurnedOff) {
  Mutex mu(LockClass::kVmlistLock);
  SetLockTimingEnabled(false);
  const LockStat before = StatOf(LockClass::kVmlistLock, LockMode::kExclusive);
  { MutexLock lock(&mu); }
  const LockStat after = StatOf(LockClass::kVmlistLock, LockMode::kExclusive);
  SetLockTimingEnabled(true);
  EXPECT_EQ(after.acquisitions - before.acquisitions, 1u);
  EXPECT_EQ(Sum(after.hold_buckets), Sum(before.hold_buckets));
}

TEST(LockStatsTest, UntrackedLocksAreNotCounted) {
  Mutex mu;
  uint64_t total_before = 0;
  for (const LockStat& s : SnapshotLockStats()) total_before += s.acquisitions;
  { MutexLock lock(&mu); }
  uint64_t total_after = 0;
  for (const LockStat& s : SnapshotLockStats()) total_after += s.acquisitions;
  EXPECT_EQ(total_after, total_before);
}

}  // namespace
}  // namespace mmsim::testing
