#include "core/event_stats.h"

#include <optional>

#include "core/linux_error.h"

namespace mmsim {

const char* SyscallName(Syscall syscall) {
  static constexpr const char* kNames[kSyscallCount] = {
      "mmap",    "munmap",   "mprotect",   "mremap",  "brk",    "mlock",
      "munlock", "mlockall", "munlockall", "madvise", "mincore"};
  return kNames[static_cast<int>(syscall)];
}

const char* FaultOutcomeName(FaultOutcome outcome) {
  static constexpr const char* kNames[kFaultOutcomeCount] = {
      "minor", "major", "segv_maperr", "segv_accerr", "sigbus", "oom"};
  return kNames[static_cast<int>(outcome)];
}

const std::shared_ptr<EventCounters>& EventCounters::Detached() {
  static const auto* const detached =
      new std::shared_ptr<EventCounters>(std::make_shared<EventCounters>());
  return *detached;
}

EventCounters::Shard& EventCounters::Mine() {
  // Threads take shards round robin, once each: a thread pool spreads
  // evenly and a thread keeps its shard's line in its cache.
  static std::atomic<unsigned> next_shard{0};
  thread_local const unsigned shard =
      next_shard.fetch_add(1, std::memory_order_relaxed) % kEventShards;
  return shards_[shard];
}

void EventCounters::CountSyscall(Syscall syscall, int err) {
  if (err < 0 || err >= kErrnoSlots) err = kErrnoSlots - 1;
  Add(Mine().syscalls[static_cast<int>(syscall)][err]);
}

void EventCounters::CountSyscall(Syscall syscall, const absl::Status& status) {
  int err = 0;
  if (!status.ok()) {
    // A status without an errno is a bug elsewhere; count it as "beyond".
    err = LinuxErrno(status).value_or(kErrnoSlots - 1);
  }
  CountSyscall(syscall, err);
}

SystemEventStats EventCounters::Snapshot() const {
  SystemEventStats out;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  for (const Shard& shard : shards_) {
    for (int i = 0; i < kFaultOutcomeCount; ++i) {
      out.faults[i] += shard.faults[i].load(kRelaxed);
    }
    out.cow_faults += shard.cow.load(kRelaxed);
    out.vma_merges += shard.merges.load(kRelaxed);
    out.vma_splits += shard.splits.load(kRelaxed);
    out.vmalloc_syncs += shard.vmalloc_syncs.load(kRelaxed);
    for (int s = 0; s < kSyscallCount; ++s) {
      for (int e = 0; e < kErrnoSlots; ++e) {
        out.syscalls[s][e] += shard.syscalls[s][e].load(kRelaxed);
      }
    }
  }
  return out;
}

}  // namespace mmsim
