// The counted entry points of MmStruct: each system call (and the fault
// handler) runs its body and counts the result in the system's event
// counters (core/event_stats.h). Counting is one relaxed atomic add; the
// errno is read from the status only on failure.
#include <cerrno>

#include "core/mm_struct.h"

namespace mmsim {
namespace {

FaultOutcome OutcomeOf(const FaultResult& result) {
  switch (result.kind) {
    case FaultKind::kMajor:
      return FaultOutcome::kMajor;
    case FaultKind::kSigsegv:
      return result.si_code == kSegvAccerr ? FaultOutcome::kSegvAccerr
                                           : FaultOutcome::kSegvMaperr;
    case FaultKind::kSigbus:
      return FaultOutcome::kSigbus;
    case FaultKind::kOom:
      return FaultOutcome::kOom;
    default:
      return FaultOutcome::kMinor;
  }
}

}  // namespace

FaultResult MmStruct::HandleMmFault(uint64_t addr, FaultAccess access,
                                    bool user) {
  FaultResult result = HandleMmFaultUncounted(addr, access, user);
  // kNone: the pte allowed the access; there was no fault to count.
  if (result.kind != FaultKind::kNone) events_->CountFault(OutcomeOf(result));
  if (result.cow) events_->CountCow();
  if (result.vmalloc_synced) events_->CountVmallocSync();
  return result;
}

absl::StatusOr<uint64_t> MmStruct::DoMmap(const MmapArgs& args) {
  absl::StatusOr<uint64_t> addr = DoMmapUncounted(args);
  events_->CountSyscall(Syscall::kMmap, addr.status());
  return addr;
}

absl::Status MmStruct::DoMunmap(uint64_t start, uint64_t len) {
  absl::Status status = DoMunmapUncounted(start, len);
  events_->CountSyscall(Syscall::kMunmap, status);
  return status;
}

absl::Status MmStruct::Mprotect(uint64_t start, uint64_t len, int prot) {
  absl::Status status = MprotectUncounted(start, len, prot);
  events_->CountSyscall(Syscall::kMprotect, status);
  return status;
}

absl::StatusOr<uint64_t> MmStruct::Mremap(uint64_t old_addr, uint64_t old_len,
                                          uint64_t new_len, int flags,
                                          uint64_t new_addr) {
  absl::StatusOr<uint64_t> addr =
      MremapUncounted(old_addr, old_len, new_len, flags, new_addr);
  events_->CountSyscall(Syscall::kMremap, addr.status());
  return addr;
}

uint64_t MmStruct::Brk(uint64_t brk) {
  const uint64_t result = BrkUncounted(brk);
  // brk(2) returns the old break when it cannot move; glibc's brk() then
  // fails with ENOMEM (a result below the request), and so do we count it.
  events_->CountSyscall(Syscall::kBrk, result < brk ? ENOMEM : 0);
  return result;
}

absl::Status MmStruct::Mlock(uint64_t start, uint64_t len, int flags) {
  absl::Status status = MlockUncounted(start, len, flags);
  events_->CountSyscall(Syscall::kMlock, status);
  return status;
}

absl::Status MmStruct::Munlock(uint64_t start, uint64_t len) {
  absl::Status status = MunlockUncounted(start, len);
  events_->CountSyscall(Syscall::kMunlock, status);
  return status;
}

absl::Status MmStruct::Mlockall(int flags) {
  absl::Status status = MlockallUncounted(flags);
  events_->CountSyscall(Syscall::kMlockall, status);
  return status;
}

absl::Status MmStruct::Munlockall() {
  absl::Status status = MunlockallUncounted();
  events_->CountSyscall(Syscall::kMunlockall, status);
  return status;
}

absl::Status MmStruct::Madvise(uint64_t start, uint64_t len, int advice) {
  absl::Status status = MadviseUncounted(start, len, advice);
  events_->CountSyscall(Syscall::kMadvise, status);
  return status;
}

absl::StatusOr<std::vector<uint8_t>> MmStruct::Mincore(uint64_t start,
                                                       uint64_t len) const {
  absl::StatusOr<std::vector<uint8_t>> vec = MincoreUncounted(start, len);
  events_->CountSyscall(Syscall::kMincore, vec.status());
  return vec;
}

}  // namespace mmsim
