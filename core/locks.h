// Annotated lock wrappers over std::mutex / std::shared_mutex (leveldb's
// port::Mutex is the model). They are ABSL_LOCKABLE so clang's
// -Wthread-safety checks every access, and they use the pthread primitives
// that ThreadSanitizer understands (Debian's absl::Mutex is invisible to it).
// The RAII guards are the only way code takes these locks.
#ifndef MMSIM_CORE_LOCKS_H_
#define MMSIM_CORE_LOCKS_H_

#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"

namespace mmsim {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Documents (to clang) that the caller holds the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
};

// A reader-writer semaphore (Linux: struct rw_semaphore, mmap_sem).
class ABSL_LOCKABLE RwSemaphore {
 public:
  void WriteLock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void WriteUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReadLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReadUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }
  bool TryReadLock() ABSL_SHARED_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock_shared();
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {}

 private:
  std::shared_mutex mu_;
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
    sem_->ReadLock();
  }
  ~ReadLock() ABSL_UNLOCK_FUNCTION() { sem_->ReadUnlock(); }
  ReadLock(const ReadLock&) = delete;
  ReadLock& operator=(const ReadLock&) = delete;

 private:
  RwSemaphore* const sem_;
};

}  // namespace mmsim

#endif  // MMSIM_CORE_LOCKS_H_
