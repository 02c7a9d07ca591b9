// Annotated lock wrappers over std::mutex / std::shared_mutex (leveldb's
// port::Mutex is the model). They are ABSL_LOCKABLE so clang's
// -Wthread-safety checks every access, and they use the pthread primitives
// that ThreadSanitizer understands (Debian's absl::Mutex is invisible to it).
// The RAII guards are the only way code takes these locks.
#ifndef MMSIM_CORE_LOCKS_H_
#define MMSIM_CORE_LOCKS_H_

#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "core/lock_stats.h"

namespace mmsim {

// Every counted lock names its class (core/lock_stats.h); a
// default-constructed lock is not counted.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  explicit Mutex(LockClass lock_class) : class_(lock_class) {}

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (class_ == LockClass::kUntracked) return mu_.lock();
    uint64_t wait_start = 0;
    const bool contended = !mu_.try_lock();
    if (contended) {
      if (lock_stats_internal::TimingEnabled()) {
        wait_start = lock_stats_internal::Now();
      }
      lock_stats_internal::WaitBegin(class_, LockMode::kExclusive, this);
      mu_.lock();
    }
    acquired_at_ =
        lock_stats_internal::TimingEnabled() ? lock_stats_internal::Now() : 0;
    lock_stats_internal::Acquired(class_, LockMode::kExclusive, this, contended,
                                  wait_start, acquired_at_);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (class_ != LockClass::kUntracked) {
      lock_stats_internal::Released(class_, LockMode::kExclusive, this,
                                    acquired_at_);
    }
    mu_.unlock();
  }
  // Documents (to clang) that the caller holds the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
  const LockClass class_ = LockClass::kUntracked;
  uint64_t acquired_at_ = 0;  // written and read by the holder only
};

// A reader-writer semaphore (Linux: struct rw_semaphore, mmap_sem). A
// reader's hold time is kept by the reader (the guard), so the read side
// returns and takes a timestamp.
class ABSL_LOCKABLE RwSemaphore {
 public:
  RwSemaphore() = default;
  explicit RwSemaphore(LockClass lock_class) : class_(lock_class) {}

  void WriteLock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (class_ == LockClass::kUntracked) return mu_.lock();
    uint64_t wait_start = 0;
    const bool contended = !mu_.try_lock();
    if (contended) {
      if (lock_stats_internal::TimingEnabled()) {
        wait_start = lock_stats_internal::Now();
      }
      lock_stats_internal::WaitBegin(class_, LockMode::kWrite, this);
      mu_.lock();
    }
    write_acquired_at_ =
        lock_stats_internal::TimingEnabled() ? lock_stats_internal::Now() : 0;
    lock_stats_internal::Acquired(class_, LockMode::kWrite, this, contended,
                                  wait_start, write_acquired_at_);
  }
  void WriteUnlock() ABSL_UNLOCK_FUNCTION() {
    if (class_ != LockClass::kUntracked) {
      lock_stats_internal::Released(class_, LockMode::kWrite, this,
                                    write_acquired_at_);
    }
    mu_.unlock();
  }
  // Returns the acquisition timestamp to hand back to ReadUnlock().
  uint64_t ReadLock() ABSL_SHARED_LOCK_FUNCTION() {
    if (class_ == LockClass::kUntracked) {
      mu_.lock_shared();
      return 0;
    }
    uint64_t wait_start = 0;
    const bool contended = !mu_.try_lock_shared();
    if (contended) {
      if (lock_stats_internal::TimingEnabled()) {
        wait_start = lock_stats_internal::Now();
      }
      lock_stats_internal::WaitBegin(class_, LockMode::kRead, this);
      mu_.lock_shared();
    }
    return ReadAcquired(contended, wait_start);
  }
  void ReadUnlock(uint64_t acquired_at) ABSL_UNLOCK_FUNCTION() {
    if (class_ != LockClass::kUntracked) {
      lock_stats_internal::Released(class_, LockMode::kRead, this, acquired_at);
    }
    mu_.unlock_shared();
  }
  // On success stores the timestamp for ReadUnlock() in `*acquired_at`.
  bool TryReadLock(uint64_t* acquired_at) ABSL_SHARED_TRYLOCK_FUNCTION(true) {
    if (!mu_.try_lock_shared()) return false;
    *acquired_at = class_ == LockClass::kUntracked ? 0 : ReadAcquired(false, 0);
    return true;
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {}

 private:
  uint64_t ReadAcquired(bool contended, uint64_t wait_start) {
    const uint64_t at =
        lock_stats_internal::TimingEnabled() ? lock_stats_internal::Now() : 0;
    lock_stats_internal::Acquired(class_, LockMode::kRead, this, contended,
                                  wait_start, at);
    return at;
  }

  std::shared_mutex mu_;
  const LockClass class_ = LockClass::kUntracked;
  uint64_t write_acquired_at_ = 0;  // written and read by the writer only
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE WriteLock {
 public:
  explicit WriteLock(RwSemaphore* sem) ABSL_EXCLUSIVE_LOCK_FUNCTION(sem)
      : sem_(sem) {
    sem_->WriteLock();
  }
  ~WriteLock() ABSL_UNLOCK_FUNCTION() { sem_->WriteUnlock(); }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

 private:
  RwSemaphore* const sem_;
};

class ABSL_SCOPED_LOCKABLE ReadLock {
 public:
  explicit ReadLock(RwSemaphore* sem) ABSL_SHARED_LOCK_FUNCTION(sem)
      : sem_(sem) {
    acquired_at_ = sem_->ReadLock();
  }
  ~ReadLock() ABSL_UNLOCK_FUNCTION() { sem_->ReadUnlock(acquired_at_); }
  ReadLock(const ReadLock&) = delete;
  ReadLock& operator=(const ReadLock&) = delete;

 private:
  RwSemaphore* const sem_;
  uint64_t acquired_at_ = 0;
};

}  // namespace mmsim

#endif  // MMSIM_CORE_LOCKS_H_
