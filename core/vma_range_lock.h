// The per-VMA lock of MmConfig::per_vma_lock mode (Linux 6.4's vma_lock,
// modelled as a reader-writer lock over address ranges of one mm).
//
// A fault takes its region's range [vm_start, vm_end) for reading and no
// mmap_sem; a region change takes the range it may alter for writing, inside
// mmap_sem held for writing. Ranges that do not overlap never wait for each
// other, so faults in one region run while another region is mapped,
// unmapped or protected. A waiting writer stops new readers of its range
// from entering (no writer starvation under a fault storm).
//
// Lock order (core/mm_struct.h): mmap_sem -> this -> page_table_lock. A
// fault holding a range for reading takes no mmap_sem except by try-lock
// (reclaim's TrySwapOut), so a writer waiting here under mmap_sem cannot
// deadlock with it.
#ifndef MMSIM_CORE_VMA_RANGE_LOCK_H_
#define MMSIM_CORE_VMA_RANGE_LOCK_H_

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/lock_stats.h"

namespace mmsim {

class VmaRangeLock {
 public:
  // One holder of a range; hand it back to Unlock().
  struct Held {
    uint64_t start = 0, end = 0;
    bool write = false;
    uint64_t acquired_at = 0;  // for the hold time in the lock statistics
  };

  // Blocks until [start, end) (start < end) can be held: for reading, while
  // an overlapping range is held or awaited for writing; for writing, while
  // any overlapping range is held.
  Held Lock(uint64_t start, uint64_t end, bool write) {
    const LockMode mode = write ? LockMode::kWrite : LockMode::kRead;
    Held held{start, end, write, 0};
    uint64_t wait_start = 0;
    bool contended = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (Conflicts(held)) {
        contended = true;
        if (lock_stats_internal::TimingEnabled()) {
          wait_start = lock_stats_internal::Now();
        }
        lock_stats_internal::WaitBegin(LockClass::kVmaLock, mode, this);
        if (write) waiting_.push_back(held);
        cv_.wait(lock, [&] { return !Conflicts(held); });
        if (write) Erase(waiting_, held);
      }
      held_.push_back(held);
    }
    held.acquired_at =
        lock_stats_internal::TimingEnabled() ? lock_stats_internal::Now() : 0;
    lock_stats_internal::Acquired(LockClass::kVmaLock, mode, this, contended,
                                  wait_start, held.acquired_at);
    return held;
  }

  void Unlock(const Held& held) {
    lock_stats_internal::Released(
        LockClass::kVmaLock, held.write ? LockMode::kWrite : LockMode::kRead,
        this, held.acquired_at);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Erase(held_, held);
    }
    cv_.notify_all();
  }

 private:
  static bool Overlap(const Held& a, const Held& b) {
    return a.start < b.end && b.start < a.end;
  }
  static void Erase(std::vector<Held>& v, const Held& h) {
    auto it = std::find_if(v.begin(), v.end(), [&](const Held& x) {
      return x.start == h.start && x.end == h.end && x.write == h.write;
    });
    if (it != v.end()) v.erase(it);
  }
  // mu_ held.
  bool Conflicts(const Held& want) const {
    for (const Held& h : held_) {
      if (Overlap(h, want) && (want.write || h.write)) return true;
    }
    if (!want.write) {
      for (const Held& w : waiting_) {
        if (Overlap(w, want)) return true;
      }
    }
    return false;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Held> held_;     // guarded by mu_
  std::vector<Held> waiting_;  // writers waiting; guarded by mu_
};

}  // namespace mmsim

#endif  // MMSIM_CORE_VMA_RANGE_LOCK_H_
