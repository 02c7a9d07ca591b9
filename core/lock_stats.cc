#include "core/lock_stats.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "absl/strings/str_format.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace mmsim {
namespace {

// (lock, mode) pairs: read and write for the reader-writer locks
// (mmap_sem, tasklist_lock, vma_lock), one exclusive pair for each other
// class.
constexpr int kPairs = 12;
constexpr int kMaxHeld = 16;

int PairIndex(LockClass c, LockMode m) {
  const int read = m == LockMode::kRead ? 0 : 1;
  if (c == LockClass::kMmapSem) return read;
  if (c == LockClass::kTasklistLock) return 3 + read;
  if (c == LockClass::kVmaLock) return 10 + read;
  return c == LockClass::kPageTableLock ? 2 : 2 + static_cast<int>(c);
}

constexpr std::string_view kLockNames[] = {
    "mmap_sem",       "page_table_lock", "tasklist_lock",
    "mmlist_lock",    "vmlist_lock",     "oom_lock",
    "pagecache_lock", "zone_lock",       "vma_lock",
};
constexpr std::string_view kModeNames[] = {"read", "write", "exclusive"};

struct PairOf {
  LockClass lock;
  LockMode mode;
};
constexpr PairOf kPairOf[kPairs] = {
    {LockClass::kMmapSem, LockMode::kRead},
    {LockClass::kMmapSem, LockMode::kWrite},
    {LockClass::kPageTableLock, LockMode::kExclusive},
    {LockClass::kTasklistLock, LockMode::kRead},
    {LockClass::kTasklistLock, LockMode::kWrite},
    {LockClass::kMmlistLock, LockMode::kExclusive},
    {LockClass::kVmlistLock, LockMode::kExclusive},
    {LockClass::kOomLock, LockMode::kExclusive},
    {LockClass::kPagecacheLock, LockMode::kExclusive},
    {LockClass::kZoneLock, LockMode::kExclusive},
    {LockClass::kVmaLock, LockMode::kRead},
    {LockClass::kVmaLock, LockMode::kWrite},
};

// Only the owning thread writes a shard's counters, so an increment is a
// relaxed load and store (no locked instruction); readers may see a value
// a moment old.
void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by,
                std::memory_order_relaxed);
}

struct PairCounters {
  std::atomic<uint64_t> acquisitions{0};
  std::atomic<uint64_t> contended{0};
  std::atomic<uint64_t> wait_ns{0};
  std::atomic<uint64_t> hold_ns{0};
  std::array<std::atomic<uint64_t>, kLockHistBuckets> wait_buckets{};
  std::array<std::atomic<uint64_t>, kLockHistBuckets> hold_buckets{};
};

struct HeldLock {
  std::atomic<const void*> lock{nullptr};
  std::atomic<uint8_t> pair{0};
  std::atomic<uint64_t> since{0};
};

struct Shard {
  long tid = 0;
  std::array<PairCounters, kPairs> pairs;
  std::array<HeldLock, kMaxHeld> held;
  std::atomic<int> held_count{0};
  std::atomic<const void*> waiting_lock{nullptr};
  std::atomic<uint8_t> waiting_pair{0};
  std::atomic<uint64_t> waiting_since{0};
};

// Totals that live threads' shards do not hold (exited threads).
struct Totals {
  std::array<LockStat, kPairs> pairs{};
};

struct Registry {
  std::mutex mu;  // not a counted lock
  std::vector<Shard*> shards;
  Totals retired;
};

Registry& GetRegistry() {
  static Registry* const registry = new Registry;  // never destroyed
  return *registry;
}

std::atomic<bool> g_timing_enabled{true};
double g_ns_per_tick = 1.0;  // set once at static initialisation

uint64_t ReadClock() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

// Measures TSC ticks per nanosecond over ~2 ms of the steady clock.
[[maybe_unused]] const bool g_calibrated = [] {
#if defined(__x86_64__) || defined(__i386__)
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  const uint64_t c0 = __rdtsc();
  Clock::time_point t1;
  do {
    t1 = Clock::now();
  } while (t1 - t0 < std::chrono::milliseconds(2));
  const uint64_t c1 = __rdtsc();
  const double ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  if (c1 > c0) g_ns_per_tick = ns / static_cast<double>(c1 - c0);
#endif
  return true;
}();

uint64_t TicksToNs(uint64_t ticks) {
  return static_cast<uint64_t>(static_cast<double>(ticks) * g_ns_per_tick);
}

int BucketOf(uint64_t ns) {
  if (ns <= 64) return 0;
  const int bits = 64 - __builtin_clzll(ns - 1);  // ns <= 2^bits
  return std::min((bits - 6 + 1) / 2, kLockHistBuckets - 1);
}

void AddInto(LockStat& to, const PairCounters& from) {
  to.acquisitions += from.acquisitions.load(std::memory_order_relaxed);
  to.contended += from.contended.load(std::memory_order_relaxed);
  to.wait_ns_total += from.wait_ns.load(std::memory_order_relaxed);
  to.hold_ns_total += from.hold_ns.load(std::memory_order_relaxed);
  for (int b = 0; b < kLockHistBuckets; ++b) {
    to.wait_buckets[b] += from.wait_buckets[b].load(std::memory_order_relaxed);
    to.hold_buckets[b] += from.hold_buckets[b].load(std::memory_order_relaxed);
  }
}

// Owns this thread's shard; folds it into the retired totals at exit.
struct ShardHolder {
  Shard* shard = nullptr;
  ~ShardHolder();
};
thread_local ShardHolder tls_holder;
thread_local bool tls_exited = false;  // trivially destructible: always safe

ShardHolder::~ShardHolder() {
  tls_exited = true;
  if (shard == nullptr) return;
  Registry& registry = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(registry.mu);
    for (int p = 0; p < kPairs; ++p) {
      AddInto(registry.retired.pairs[p], shard->pairs[p]);
    }
    registry.shards.erase(
        std::find(registry.shards.begin(), registry.shards.end(), shard));
  }
  delete shard;
  shard = nullptr;
}

// Null once the thread's shard is gone (locks taken by other thread-local
// destructors after ours are not counted).
Shard* MyShard() {
  Shard* shard = tls_holder.shard;
  if (shard != nullptr || tls_exited) return shard;
  shard = new Shard;
  shard->tid = syscall(SYS_gettid);
  Registry& registry = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(registry.mu);
    registry.shards.push_back(shard);
  }
  tls_holder.shard = shard;
  return shard;
}

}  // namespace

double LockHistUpperBoundSeconds(int i) {
  return 64e-9 * static_cast<double>(uint64_t{1} << (2 * i));
}

void SetLockTimingEnabled(bool enabled) {
  g_timing_enabled.store(enabled, std::memory_order_relaxed);
}

std::vector<LockStat> SnapshotLockStats() {
  Registry& registry = GetRegistry();
  std::vector<LockStat> out(registry.retired.pairs.size());
  std::lock_guard<std::mutex> lock(registry.mu);
  for (int p = 0; p < kPairs; ++p) {
    out[p] = registry.retired.pairs[p];
    for (const Shard* shard : registry.shards) AddInto(out[p], shard->pairs[p]);
    out[p].lock = kPairOf[p].lock;
    out[p].mode = kPairOf[p].mode;
    out[p].lock_name = kLockNames[static_cast<int>(kPairOf[p].lock)];
    out[p].mode_name = kModeNames[static_cast<int>(kPairOf[p].mode)];
  }
  return out;
}

std::string DumpLockState() {
  Registry& registry = GetRegistry();
  const uint64_t now = ReadClock();
  auto describe = [&](int pair, const void* lock, uint64_t since) {
    const PairOf& p = kPairOf[pair];
    return absl::StrFormat(
        "%s(%s) %p for %.3f ms", kLockNames[static_cast<int>(p.lock)],
        kModeNames[static_cast<int>(p.mode)], lock,
        since == 0 || since > now ? 0.0 : TicksToNs(now - since) / 1e6);
  };
  std::string out;
  std::lock_guard<std::mutex> lock(registry.mu);
  for (const Shard* shard : registry.shards) {
    absl::StrAppendFormat(&out, "thread %d:", shard->tid);
    const int held =
        std::min(shard->held_count.load(std::memory_order_relaxed), kMaxHeld);
    if (held == 0) out += " holds nothing";
    for (int h = 0; h < held; ++h) {
      const HeldLock& entry = shard->held[h];
      out += h == 0 ? " holds " : ", ";
      out += describe(entry.pair.load(std::memory_order_relaxed),
                      entry.lock.load(std::memory_order_relaxed),
                      entry.since.load(std::memory_order_relaxed));
    }
    if (const void* waiting =
            shard->waiting_lock.load(std::memory_order_relaxed)) {
      out += "; waits for ";
      out +=
          describe(shard->waiting_pair.load(std::memory_order_relaxed), waiting,
                   shard->waiting_since.load(std::memory_order_relaxed));
    }
    out += "\n";
  }
  return out;
}

namespace lock_stats_internal {

uint64_t Now() { return ReadClock(); }

bool TimingEnabled() {
  return g_timing_enabled.load(std::memory_order_relaxed);
}

void WaitBegin(LockClass c, LockMode m, const void* lock) {
  Shard* shard = MyShard();
  if (shard == nullptr) return;
  shard->waiting_pair.store(PairIndex(c, m), std::memory_order_relaxed);
  shard->waiting_since.store(ReadClock(), std::memory_order_relaxed);
  shard->waiting_lock.store(lock, std::memory_order_relaxed);
}

void Acquired(LockClass c, LockMode m, const void* lock, bool contended,
              uint64_t wait_start, uint64_t acquired_at) {
  Shard* shard = MyShard();
  if (shard == nullptr) return;
  const int pair = PairIndex(c, m);
  PairCounters& counters = shard->pairs[pair];
  Bump(counters.acquisitions);
  if (contended) {
    shard->waiting_lock.store(nullptr, std::memory_order_relaxed);
    Bump(counters.contended);
    if (acquired_at != 0 && wait_start != 0 && acquired_at >= wait_start) {
      const uint64_t ns = TicksToNs(acquired_at - wait_start);
      Bump(counters.wait_ns, ns);
      Bump(counters.wait_buckets[BucketOf(ns)]);
    }
  }
  const int held = shard->held_count.load(std::memory_order_relaxed);
  if (held < kMaxHeld) {
    shard->held[held].lock.store(lock, std::memory_order_relaxed);
    shard->held[held].pair.store(pair, std::memory_order_relaxed);
    shard->held[held].since.store(acquired_at, std::memory_order_relaxed);
  }
  shard->held_count.store(held + 1, std::memory_order_relaxed);
}

void Released(LockClass c, LockMode m, const void* lock, uint64_t acquired_at) {
  Shard* shard = MyShard();
  if (shard == nullptr) return;
  const int pair = PairIndex(c, m);
  if (acquired_at != 0 && TimingEnabled()) {
    const uint64_t now = ReadClock();
    const uint64_t ns = now >= acquired_at ? TicksToNs(now - acquired_at) : 0;
    PairCounters& counters = shard->pairs[pair];
    Bump(counters.hold_ns, ns);
    Bump(counters.hold_buckets[BucketOf(ns)]);
  }
  // Locks are mostly released in reverse order; find the entry from the top.
  const int held = shard->held_count.load(std::memory_order_relaxed);
  if (held == 0) return;
  for (int h = std::min(held, kMaxHeld) - 1; h >= 0; --h) {
    HeldLock& entry = shard->held[h];
    if (entry.lock.load(std::memory_order_relaxed) != lock ||
        entry.pair.load(std::memory_order_relaxed) != pair) {
      continue;
    }
    for (int k = h; k + 1 < std::min(held, kMaxHeld); ++k) {
      HeldLock& next = shard->held[k + 1];
      shard->held[k].lock.store(next.lock.load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
      shard->held[k].pair.store(next.pair.load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
      shard->held[k].since.store(next.since.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
    }
    break;
  }
  shard->held_count.store(held - 1, std::memory_order_relaxed);
}

}  // namespace lock_stats_internal
}  // namespace mmsim
