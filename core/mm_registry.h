// The system's table of simulated processes (pid -> mm) and simulated files.
// Linux: the task list plus the dentry cache, reduced to what mm needs.
#ifndef MMSIM_CORE_MM_REGISTRY_H_
#define MMSIM_CORE_MM_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/locks.h"
#include "core/mm_struct.h"

namespace mmsim {

// The image a process is created from: sizes of a Linux-like initial
// layout (what exec of an ELF binary leaves behind).
struct ExecImage {
  std::string exe_name = "/usr/bin/sim";
  uint64_t code_bytes = 64 * kPageSize;
  uint64_t data_bytes = 4 * kPageSize;
  uint64_t bss_bytes = 2 * kPageSize;
  uint64_t heap_bytes = 33 * kPageSize;  // initial brk - start_brk
  uint64_t stack_bytes = 33 * kPageSize;
  uint64_t arg_bytes = 256;
  uint64_t env_bytes = 1024;
};

// A process described region by region (for example imported from a real
// /proc/PID/maps).
struct ProcessDescription {
  std::vector<Vma> vmas;
  MmLayout layout;
  MmConfig config;
};

// Thread-safe. table_lock_ is the outermost lock of the system (see
// core/mm_struct.h) and is never held across per-mm work.
class MmRegistry {
 public:
  explicit MmRegistry(const MmConfig& default_config = MmConfig());

  const MmConfig& default_config() const { return default_config_; }

  // Creates a process laid out from `image` and returns its pid. The
  // layout is that of an x86-64 PIE without ASLR: code at
  // 0x555555554000, then data and bss, the heap at start_brk, the stack
  // below 0x7ffffffff000 with VM_GROWSDOWN, args and env at its top.
  absl::StatusOr<int> CreateProcess(const ExecImage& image,
                                    const MmConfig& config);
  // Creates a process from an explicit description. Errors: EINVAL for an
  // empty or unaligned region, EEXIST for overlapping regions.
  absl::StatusOr<int> CreateProcessFrom(const ProcessDescription& desc);
  // Removes a process. Errors: ESRCH.
  absl::Status RemoveProcess(int pid);
  // Returns the process's mm, pinned for as long as the caller holds it.
  // Errors: ESRCH.
  absl::StatusOr<std::shared_ptr<MmStruct>> MmGet(int pid) const;
  std::vector<int> Pids() const;
  size_t ProcessCount() const;

  // Creates a simulated file. Errors: EINVAL (empty name, or a name not
  // starting with '/'), EEXIST.
  absl::StatusOr<std::shared_ptr<const SimFile>> CreateFile(
      absl::string_view name, uint64_t size, uint32_t mode);
  // Errors: ENOENT.
  absl::StatusOr<std::shared_ptr<const SimFile>> LookupFile(
      absl::string_view name) const;
  std::vector<std::shared_ptr<const SimFile>> Files() const;
  // Returns the FMODE_* bits of opening `file` readable and/or writable,
  // checked against its owner permission bits. Errors: EACCES, EINVAL
  // (neither read nor write).
  static absl::StatusOr<int> OpenMode(const SimFile& file, bool read,
                                      bool write);

 private:
  const MmConfig default_config_;
  mutable Mutex table_lock_;
  int next_pid_ ABSL_GUARDED_BY(table_lock_) = 100;
  absl::btree_map<int, std::shared_ptr<MmStruct>> mms_
      ABSL_GUARDED_BY(table_lock_);
  uint64_t next_ino_ ABSL_GUARDED_BY(table_lock_) = 1000;
  absl::btree_map<std::string, std::shared_ptr<const SimFile>> files_
      ABSL_GUARDED_BY(table_lock_);
};

// Lays out `mm` as exec of `image` would (see CreateProcess).
absl::Status SetupExecLayout(MmStruct& mm, const ExecImage& image);

}  // namespace mmsim

#endif  // MMSIM_CORE_MM_REGISTRY_H_
