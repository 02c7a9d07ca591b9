// Event counters of the simulated system: faults by outcome, copy-on-write
// breaks, region system calls by errno, VMA merges and splits, vmalloc
// syncs. Plain counters (core knows nothing of Prometheus); the metrics
// collector reads a SystemEventStats snapshot when scraped.
//
// The hot path pays one relaxed atomic add and never takes a lock or
// allocates: counts go to one of kEventShards cache-line-aligned shards,
// picked per thread, so threads working on different mms do not bounce a
// shared line. Counts live in the system (MmRegistry), not in the mm, so
// they never vanish when an mm is freed: every total is monotonic.
#ifndef MMSIM_CORE_EVENT_STATS_H_
#define MMSIM_CORE_EVENT_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"

namespace mmsim {

// The region system calls counted (the MmStruct entry points).
enum class Syscall : uint8_t {
  kMmap,
  kMunmap,
  kMprotect,
  kMremap,
  kBrk,
  kMlock,
  kMunlock,
  kMlockall,
  kMunlockall,
  kMadvise,
  kMincore,
};
inline constexpr int kSyscallCount = 11;
// "mmap", "munmap", ... (the Linux system call names).
const char* SyscallName(Syscall syscall);

// How a fault (one HandleMmFault that found the access not allowed by the
// pte) ended. Each fault counts once.
enum class FaultOutcome : uint8_t {
  kMinor,
  kMajor,
  kSegvMaperr,
  kSegvAccerr,
  kSigbus,
  kOom,
};
inline constexpr int kFaultOutcomeCount = 6;
// "minor", "major", "segv_maperr", "segv_accerr", "sigbus", "oom".
const char* FaultOutcomeName(FaultOutcome outcome);

// Errnos 0 (success) .. kErrnoSlots - 2 have a slot each; larger ones
// share the last.
inline constexpr int kErrnoSlots = 135;

struct SystemEventStats {
  std::array<uint64_t, kFaultOutcomeCount> faults{};  // by FaultOutcome
  uint64_t cow_faults = 0;     // copy-on-write breaks (subset of faults)
  uint64_t vma_merges = 0;     // a region merged with a neighbour
  uint64_t vma_splits = 0;     // a region split in two
  uint64_t vmalloc_syncs = 0;  // kernel pgd entries copied by faults
  // syscalls[s][e]: calls of Syscall s that returned errno e (0: success).
  std::array<std::array<uint64_t, kErrnoSlots>, kSyscallCount> syscalls{};
  // Task events (filled in by MmRegistry::EventStats()).
  uint64_t forks = 0, clones = 0, execs = 0, exits = 0, kthreads = 0;
  uint64_t oom_kills = 0;
  uint64_t swap_out_pages = 0, swap_in_pages = 0;
};

// The counters themselves. Thread-safe; every method is lock-free.
class EventCounters {
 public:
  EventCounters() = default;
  EventCounters(const EventCounters&) = delete;
  EventCounters& operator=(const EventCounters&) = delete;

  // Counters of mms that belong to no system (tests of one MmStruct).
  static const std::shared_ptr<EventCounters>& Detached();

  void CountFault(FaultOutcome outcome) {
    Add(Mine().faults[static_cast<int>(outcome)]);
  }
  void CountCow() { Add(Mine().cow); }
  void CountMerge() { Add(Mine().merges); }
  void CountSplit() { Add(Mine().splits); }
  void CountVmallocSync() { Add(Mine().vmalloc_syncs); }
  void CountSyscall(Syscall syscall, int err);
  // Counts `syscall` with the errno `status` carries (0 when ok).
  void CountSyscall(Syscall syscall, const absl::Status& status);

  // Sums the shards. The task, OOM and swap fields are left 0.
  SystemEventStats Snapshot() const;

 private:
  static constexpr int kEventShards = 16;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kFaultOutcomeCount> faults{};
    std::atomic<uint64_t> cow{0}, merges{0}, splits{0}, vmalloc_syncs{0};
    std::array<std::array<std::atomic<uint64_t>, kErrnoSlots>, kSyscallCount>
        syscalls{};
  };
  static void Add(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  Shard& Mine();

  std::array<Shard, kEventShards> shards_{};
};

}  // namespace mmsim

#endif  // MMSIM_CORE_EVENT_STATS_H_
