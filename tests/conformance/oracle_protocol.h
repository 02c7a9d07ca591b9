// Wire format between the conformance harness and the kernel oracle worker
// (mmsim_kernel_oracle). Plain structs only: the worker must not allocate
// while it runs operations, so it reads and writes these with read(2)/write(2).
#ifndef MMSIM_TESTS_CONFORMANCE_ORACLE_PROTOCOL_H_
#define MMSIM_TESTS_CONFORMANCE_ORACLE_PROTOCOL_H_

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace mmsim {
namespace conformance {

// One system call with raw arguments (invalid ones included).
enum OpKind : uint32_t {
  kOpMmap = 1,         // addr, len, prot, flags, fd selector, offset
  kOpMunmap = 2,       // addr, len
  kOpMprotect = 3,     // addr, len, prot
  kOpMremap = 4,       // old_addr, old_len, new_len, flags, new_addr
  kOpBrk = 5,          // addr
  kOpMlock = 6,        // addr, len
  kOpMlock2 = 7,       // addr, len, flags
  kOpMunlock = 8,      // addr, len
  kOpMlockall = 9,     // flags
  kOpMunlockall = 10,  //
  kOpMadvise = 11,     // addr, len, advice
  kOpSetrlimit = 12,   // resource (kRlim*), cur, max
  // Maps one page at a time, MAP_FIXED_NOREPLACE, going down from a[0] - 4096
  // with prot alternating a[1] / a[2] until a call fails; returns the number
  // of pages mapped and the errno of the failing call. Used to reach
  // vm.max_map_count without one round trip per page.
  kOpFillMapCount = 13,
  // One user access to addr (a[0]) of kind a[1] (kTouch*). ret 0, err 0;
  // Reply::sig / si_code say whether it faulted. Exec touches call into the
  // page, so the worker refuses them where the page could be executable:
  // inside a region with PROT_EXEC or in a hole whose upper neighbour has
  // it (it could be a VM_GROWSDOWN region that grows over the address).
  kOpTouch = 14,
  // fork(): the child waits on a pipe while both smaps are read, then does
  // a write touch at a[0], both smaps are read again and the child exits.
  // ret 0 (not the pid) or -1 with errno; the Reply is followed by the
  // three ForkView texts (kForkViews).
  kOpFork = 15,
};

// Access kinds of kOpTouch (Op::a[1]).
inline constexpr uint64_t kTouchRead = 0;
inline constexpr uint64_t kTouchWrite = 1;
inline constexpr uint64_t kTouchExec = 2;

// What kOpFork reports, in order: the parent's smaps before the child's
// write, the child's before and after it (the parent's after is the
// ordinary reply).
inline constexpr int kForkViews = 3;

// Resources of kOpSetrlimit.
inline constexpr uint64_t kRlimAs = 0;
inline constexpr uint64_t kRlimData = 1;
inline constexpr uint64_t kRlimMemlock = 2;

// mmap fd selector (Op::a[4]).
inline constexpr uint64_t kFdNone = ~uint64_t{0};  // fd -1
inline constexpr uint64_t kFdBad = 1000;           // a closed descriptor
// Otherwise file * 3 + mode: mode 0 = O_RDONLY, 1 = O_RDWR, 2 = O_WRONLY.
inline constexpr int kNumFiles = 4;
inline constexpr uint64_t FdSel(int file, int mode) {
  return static_cast<uint64_t>(file * 3 + mode);
}
// Sizes of the memfd files the worker creates, in bytes: two ordinary
// files, one shorter than most mappings (beyond-EOF cases), one of 4 MiB.
inline constexpr uint64_t kFileSizes[kNumFiles] = {256 * 4096, 256 * 4096,
                                                   2 * 4096, 1024 * 4096};

struct Op {
  uint32_t kind = 0;
  uint32_t pad = 0;
  uint64_t a[6] = {0, 0, 0, 0, 0, 0};
};

inline constexpr uint64_t kHelloMagic = 0x6d6d73696d6f7231ULL;  // "mmsimor1"

struct FileInfo {
  uint64_t ino;
  uint64_t dev_major;
  uint64_t dev_minor;
  uint64_t size;
  char name[64];  // as /proc/self/maps prints it
};

// Sent once, after the worker has set itself up.
struct Hello {
  uint64_t magic;
  int64_t setup_errno;  // non-zero: set-up failed (see setup_what)
  char setup_what[64];
  char release[128];  // uname -r
  uint64_t personality;
  uint64_t cap_effective;  // must be 0: capabilities dropped
  uint64_t mmap_min_addr;  // /proc/sys/vm/mmap_min_addr
  uint64_t max_map_count;  // /proc/sys/vm/max_map_count
  uint64_t overcommit_memory;
  uint64_t legacy_va_layout;
  // Where a mapping hinted at 0x1000 lands: the kernel rounds hints up to
  // its internal mmap_min_addr, which is max(vm.mmap_min_addr,
  // CONFIG_LSM_MMAP_MIN_ADDR) when CONFIG_SECURITY is set.
  uint64_t hint_min_addr;
  uint64_t thp_present;  // /sys/kernel/mm/transparent_hugepage exists
  char thp_enabled[64];
  char shmem_enabled[64];
  uint64_t rlim_cur[3];  // kRlimAs, kRlimData, kRlimMemlock
  uint64_t rlim_max[3];
  uint64_t rlim_stack_cur;
  // /proc/self/stat layout fields and brk(0).
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk;
  uint64_t start_stack, arg_start, arg_end, env_start, env_end;
  FileInfo files[kNumFiles];
};

// Sent after Hello (the initial state, ret = 0) and after every Op.
struct Reply {
  int64_t ret;  // syscall return value (or pages for kOpFillMapCount)
  int64_t err;  // errno, 0 on success; kErrRefused: op refused
  uint64_t vm_size_kb, vm_lck_kb, vm_data_kb, vm_stk_kb, vm_exe_kb, vm_lib_kb;
  uint64_t brk;        // brk(0) after the op
  uint64_t map_lines;  // lines of /proc/self/maps
  uint64_t maps_len;   // bytes of maps text that follow (0 if too big)
  // /proc/self/smaps text that follows the maps text (0: not read, when the
  // map has more than kMaxSmapsLines regions or the text is too big).
  uint64_t smaps_len;
  // kOpTouch: the signal the access raised (0: none) and its si_code.
  int64_t sig, si_code;
  // kOpFork: bytes of each view's smaps text, sent after smaps in this
  // order, and the child's write touch result.
  uint64_t fork_len[kForkViews];
  int64_t child_sig, child_si_code;
};

// err value: the worker refused an op that could touch its own mappings
// (a harness bug, never a kernel answer).
inline constexpr int64_t kErrRefused = -1000;

inline constexpr uint64_t kMaxMapsText = 1u << 20;
inline constexpr uint64_t kMaxSmapsText = 4u << 20;
inline constexpr uint64_t kMaxSmapsLines = 1000;

// Reads exactly n bytes from a pipe, retrying on EINTR; false at EOF or on
// error. Allocates nothing, so the worker may use it while it runs ops.
inline bool ReadFull(int fd, void* p, size_t n) {
  char* s = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = read(fd, s, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    s += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_ORACLE_PROTOCOL_H_
