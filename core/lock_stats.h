// Lock statistics: for every lock class and mode, how often it was taken,
// how often a taker had to wait, and wait and hold time histograms (the
// counts Linux's CONFIG_LOCK_STAT keeps, kept cheaply enough to stay on).
//
// Every instrumented lock (core/locks.h) names its class. Each thread counts
// into its own shard (plain relaxed stores, no shared cache line, no lock);
// SnapshotLockStats() sums the shards of live threads and what exited
// threads left behind. Timing uses the TSC (about 10 ns a read, calibrated
// against the steady clock once at start-up); waits are timed only when the
// first try to take the lock fails, so an uncontended acquisition costs two
// TSC reads in all (one at acquire, one at release).
//
// The same shards record, per thread, which locks it holds and which one it
// is waiting for, so a watchdog can print every thread's lock state when
// progress stops (DumpLockState()).
#ifndef MMSIM_CORE_LOCK_STATS_H_
#define MMSIM_CORE_LOCK_STATS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mmsim {

// The lock classes of the system (Linux 2.4 names). kUntracked is for
// ad-hoc locks that are not counted.
enum class LockClass : uint8_t {
  kMmapSem,        // mm_struct.mmap_sem (read/write)
  kPageTableLock,  // mm_struct.page_table_lock
  kTasklistLock,   // the task table (tasklist_lock, read/write)
  kMmlistLock,     // mmlist_lock
  kVmlistLock,     // vmalloc's area list (vmlist_lock)
  kOomLock,        // the OOM killer's serialisation (oom_lock)
  kPagecacheLock,  // page cache, swap cache (pagecache_lock)
  kZoneLock,       // the frame allocator (zone->lock)
  kVmaLock,        // per-VMA lock mode: a region's range (read/write)
  kUntracked,
};
enum class LockMode : uint8_t { kRead, kWrite, kExclusive };

// Histogram buckets: bucket i < 13 counts durations d with
// 64 ns * 4^(i-1) < d <= 64 ns * 4^i (bucket 0: d <= 64 ns); bucket 13
// counts the rest.
inline constexpr int kLockHistBuckets = 14;
// Upper bound of bucket i, i in [0, 13), in seconds.
double LockHistUpperBoundSeconds(int i);

struct LockStat {
  LockClass lock;
  LockMode mode;
  std::string_view lock_name;  // "mmap_sem", "page_table_lock", ...
  std::string_view mode_name;  // "read", "write", "exclusive"
  uint64_t acquisitions = 0;
  uint64_t contended = 0;  // acquisitions whose first try failed
  uint64_t wait_ns_total = 0;
  uint64_t hold_ns_total = 0;
  // Per-bucket counts, not cumulative. wait_buckets counts contended
  // acquisitions only; hold_buckets counts every release.
  std::array<uint64_t, kLockHistBuckets> wait_buckets{};
  std::array<uint64_t, kLockHistBuckets> hold_buckets{};
};

// One entry per (lock, mode) pair that exists (read and write for
// mmap_sem and tasklist_lock, exclusive for the others), in LockClass
// order. Process-wide totals since
// start. Thread-safe; takes the shard registry's lock (not a counted lock).
std::vector<LockStat> SnapshotLockStats();

// Turns timing on or off process-wide (on by default). Counts of
// acquisitions and contention are kept either way.
void SetLockTimingEnabled(bool enabled);

// Every thread that ever took a counted lock and is still alive: the locks
// it holds (class, mode, address, for how long) and the one it waits for.
// For deadlock reports.
std::string DumpLockState();

namespace lock_stats_internal {

// A TSC reading (or steady-clock nanoseconds where there is no TSC).
uint64_t Now();
// Called by core/locks.h; `start` is the Now() of the first try.
void Acquired(LockClass c, LockMode m, const void* lock, bool contended,
              uint64_t wait_start, uint64_t acquired_at);
void WaitBegin(LockClass c, LockMode m, const void* lock);
void Released(LockClass c, LockMode m, const void* lock, uint64_t acquired_at);
bool TimingEnabled();

}  // namespace lock_stats_internal
}  // namespace mmsim

#endif  // MMSIM_CORE_LOCK_STATS_H_
