// mmsim_kernel_oracle: runs memory system calls on the real kernel for the
// conformance harness. The harness writes Ops on stdin; after each one the
// worker writes a Reply (return value, errno, /proc/self/status counters,
// brk) followed by the text of /proc/self/maps and /proc/self/smaps.
// kOpTouch performs one access under a SIGSEGV/SIGBUS handler
// (sigsetjmp/siglongjmp) and reports the signal and si_code; kOpFork forks a
// child that waits on a pipe, so its smaps can be read before and after it
// writes one byte.
//
// Rules that keep the answers deterministic and the worker alive:
//  - Built static and without sanitizers (CMake), so its address space holds
//    only the executable, the heap, [vvar]/[vdso] and the stack.
//  - Re-executes itself with personality(ADDR_NO_RANDOMIZE) and an 8 MiB
//    RLIMIT_STACK, so mmap_base = TASK_SIZE - 128 MiB (0x7ffff7fff000) and
//    the layout is top-down.
//  - Sets the soft RLIMIT_AS/DATA/MEMLOCK to the hard ones (ops lower them
//    later), then drops every capability, so RLIMIT_MEMLOCK and
//    vm.mmap_min_addr apply as they do to an unprivileged process.
//  - Never allocates after start-up (static buffers, raw syscalls): malloc
//    could call brk or mmap and change the address space under test.
//  - Refuses (kErrRefused) any op whose range could touch its own initial
//    mappings; the harness generates none, so a refusal is a harness bug.
//  - THP is disabled (PR_SET_THP_DISABLE), so Rss grows by 4 KiB pages,
//    and the worker runs on one CPU (LRU batches are per CPU).
//  - Exec touches are made only where they must fault: the worker refuses
//    one inside a region with 'x' or in a hole whose upper neighbour has
//    'x' (a VM_GROWSDOWN region could grow over it). So it never runs the
//    bytes of a mapped page.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/conformance/oracle_protocol.h"

namespace {

using mmsim::conformance::FileInfo;
using mmsim::conformance::Hello;
using mmsim::conformance::Op;
using mmsim::conformance::Reply;
namespace c = mmsim::conformance;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = (uint64_t{1} << 47) - kPage;

char g_maps[c::kMaxMapsText];
char g_smaps[c::kMaxSmapsText];
char g_fork_smaps[c::kForkViews][c::kMaxSmapsText / 4];
char g_chunk[65536];
char g_small[8192];

struct Range {
  uint64_t lo, hi;
};
Range g_forbidden[512];
int g_nforbidden = 0;
uint64_t g_initial_brk = 0;
uint64_t g_end_data = 0;
int g_fds[c::kNumFiles * 3];

void WriteAll(int fd, const void* p, size_t n) {
  const char* s = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads a small file into g_small (NUL-terminated); returns its length.
size_t ReadSmall(const char* path) {
  g_small[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, g_small + n, sizeof(g_small) - 1 - n);
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  close(fd);
  g_small[n] = 0;
  return n;
}

uint64_t ParseU64(const char* s, int base) {
  uint64_t v = 0;
  for (;; ++s) {
    int d;
    if (*s >= '0' && *s <= '9') {
      d = *s - '0';
    } else if (base == 16 && *s >= 'a' && *s <= 'f') {
      d = *s - 'a' + 10;
    } else {
      break;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t ReadSysctl(const char* path) {
  if (ReadSmall(path) == 0) return ~uint64_t{0};
  return ParseU64(g_small, 10);
}

// Reads /proc/self/maps into g_maps (if it fits) and counts its lines.
void ReadMaps(uint64_t* len, uint64_t* lines) {
  *len = 0;
  *lines = 0;
  bool fits = true;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) _exit(4);
  for (;;) {
    ssize_t r = read(fd, g_chunk, sizeof(g_chunk));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i) *lines += (g_chunk[i] == '\n');
    if (fits && *len + static_cast<uint64_t>(r) <= sizeof(g_maps)) {
      memcpy(g_maps + *len, g_chunk, static_cast<size_t>(r));
      *len += static_cast<uint64_t>(r);
    } else {
      fits = false;
    }
  }
  close(fd);
  if (!fits) *len = 0;
}

// Reads a whole /proc text into buf; returns its length, 0 when it does not
// fit or cannot be read.
uint64_t ReadText(const char* path, char* buf, uint64_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t len = 0;
  bool fits = true;
  for (;;) {
    ssize_t r = read(fd, g_chunk, sizeof(g_chunk));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (fits && len + static_cast<uint64_t>(r) <= cap) {
      memcpy(buf + len, g_chunk, static_cast<size_t>(r));
      len += static_cast<uint64_t>(r);
    } else {
      fits = false;
    }
  }
  close(fd);
  return fits ? len : 0;
}

uint64_t StatusField(const char* text, const char* key) {
  const char* p = strstr(text, key);
  if (p == nullptr) return ~uint64_t{0};
  p += strlen(key);
  while (*p == ' ' || *p == '\t') ++p;
  return ParseU64(p, 10);
}

void FillReply(Reply* r) {
  ReadSmall("/proc/self/status");
  r->vm_size_kb = StatusField(g_small, "VmSize:");
  r->vm_lck_kb = StatusField(g_small, "VmLck:");
  r->vm_data_kb = StatusField(g_small, "VmData:");
  r->vm_stk_kb = StatusField(g_small, "VmStk:");
  r->vm_exe_kb = StatusField(g_small, "VmExe:");
  r->vm_lib_kb = StatusField(g_small, "VmLib:");
  r->brk = static_cast<uint64_t>(syscall(SYS_brk, 0));
  ReadMaps(&r->maps_len, &r->map_lines);
  r->smaps_len = 0;
  if (r->maps_len > 0 && r->map_lines <= c::kMaxSmapsLines) {
    r->smaps_len = ReadText("/proc/self/smaps", g_smaps, sizeof(g_smaps));
  }
}

void SendReply(Reply* r) {
  FillReply(r);
  WriteAll(1, r, sizeof(*r));
  if (r->maps_len > 0) WriteAll(1, g_maps, r->maps_len);
  if (r->smaps_len > 0) WriteAll(1, g_smaps, r->smaps_len);
  for (int i = 0; i < c::kForkViews; ++i) {
    if (r->fork_len[i] > 0) WriteAll(1, g_fork_smaps[i], r->fork_len[i]);
  }
}

// Records every initial mapping as forbidden; the stack also 16 MiB below.
void LoadForbidden() {
  uint64_t len, lines;
  ReadMaps(&len, &lines);
  const char* p = g_maps;
  const char* end = g_maps + len;
  while (p < end && g_nforbidden < 512) {
    uint64_t lo = ParseU64(p, 16);
    const char* dash = static_cast<const char*>(memchr(p, '-', end - p));
    uint64_t hi = ParseU64(dash + 1, 16);
    const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
    if (nl == nullptr) nl = end;
    if (memmem(p, nl - p, "[stack]", 7) != nullptr) lo -= 16u << 20;
    g_forbidden[g_nforbidden++] = {lo, hi};
    p = nl + 1;
  }
}

bool Overlaps(uint64_t lo, uint64_t hi) {
  for (int i = 0; i < g_nforbidden; ++i) {
    if (lo < g_forbidden[i].hi && g_forbidden[i].lo < hi) return true;
  }
  return false;
}

// True when [addr, addr + len) is a well-formed range that overlaps the
// worker's own mappings. Malformed ranges fail in the kernel's argument
// checks before touching anything.
bool RangeUnsafe(uint64_t addr, uint64_t len, bool round_start) {
  if (round_start) {
    len += addr & (kPage - 1);
    addr &= ~(kPage - 1);
  }
  if (addr & (kPage - 1)) return false;
  uint64_t l = (len + kPage - 1) & ~(kPage - 1);
  if (len != 0 && l == 0) return false;
  if (l == 0) l = kPage;
  if (addr + l < addr || addr + l > kTaskSize) return false;
  return Overlaps(addr, addr + l);
}

// Exec touches: true when addr lies in a region with 'x', or in a hole
// whose next region above has 'x' (see the top comment).
bool ExecMayRun(uint64_t addr) {
  uint64_t len, lines;
  ReadMaps(&len, &lines);
  if (len == 0) return true;  // cannot tell: refuse
  const char* p = g_maps;
  const char* end = g_maps + len;
  while (p < end) {
    const char* dash = static_cast<const char*>(memchr(p, '-', end - p));
    if (dash == nullptr) return true;
    uint64_t hi = ParseU64(dash + 1, 16);
    const char* sp = static_cast<const char*>(memchr(dash, ' ', end - dash));
    if (sp == nullptr || sp + 3 >= end) return true;
    if (addr < hi) return sp[3] == 'x';  // inside, or the hole below
    const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
    if (nl == nullptr) break;
    p = nl + 1;
  }
  return false;  // above every region
}

bool Unsafe(const Op& op) {
  const uint64_t* a = op.a;
  switch (op.kind) {
    case c::kOpMmap:
      if ((a[3] & 0x10) && !(a[3] & 0x100000)) {
        return RangeUnsafe(a[0], a[1], false);
      }
      return false;
    case c::kOpMunmap:
    case c::kOpMprotect:
    case c::kOpMadvise:
      return RangeUnsafe(a[0], a[1], false);
    case c::kOpMlock:
    case c::kOpMlock2:
    case c::kOpMunlock:
      return RangeUnsafe(a[0], a[1], true);
    case c::kOpMremap:
      if (RangeUnsafe(a[0], a[1], false)) return true;
      if (a[3] & 2) return RangeUnsafe(a[4], a[2], false);
      return false;
    case c::kOpBrk:
      return a[0] >= g_end_data && a[0] < g_initial_brk;
    case c::kOpFillMapCount:
      return false;  // MAP_FIXED_NOREPLACE never replaces
    case c::kOpTouch:
      if (a[0] >= kTaskSize ||
          Overlaps(a[0] & ~(kPage - 1), (a[0] | (kPage - 1)) + 1)) {
        return true;
      }
      return a[1] == c::kTouchExec && ExecMayRun(a[0]);
    case c::kOpFork:
      return a[0] >= kTaskSize ||
             Overlaps(a[0] & ~(kPage - 1), (a[0] | (kPage - 1)) + 1);
    default:
      return false;
  }
}

void AppendU64(char* dst, uint64_t v);

sigjmp_buf g_jmp;
volatile int64_t g_sig = 0;
volatile int64_t g_code = 0;

void OnFault(int sig, siginfo_t* si, void*) {
  g_sig = sig;
  g_code = si->si_code;
  siglongjmp(g_jmp, 1);
}

void InstallFaultHandlers() {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnFault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}

// One access; returns the signal (0: none) and its si_code.
__attribute__((noinline)) void Touch(uint64_t addr, uint64_t access,
                                     int64_t* sig, int64_t* code) {
  g_sig = 0;
  g_code = 0;
  if (sigsetjmp(g_jmp, 1) == 0) {
    if (access == c::kTouchWrite) {
      *reinterpret_cast<volatile char*>(addr) = 1;
    } else if (access == c::kTouchExec) {
      reinterpret_cast<void (*)()>(addr)();
    } else {
      (void)*reinterpret_cast<volatile char*>(addr);
    }
  }
  *sig = g_sig;
  *code = g_code;
}

void CloseBoth(int* p) {
  close(p[0]);
  close(p[1]);
}

// kOpFork (see oracle_protocol.h).
void RunFork(uint64_t addr, Reply* r) {
  int go[2], done[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    r->ret = -1;
    r->err = errno;
    return;
  }
  if (pipe2(done, O_CLOEXEC) != 0) {
    r->ret = -1;
    r->err = errno;
    CloseBoth(go);
    return;
  }
  long pid = syscall(SYS_fork);
  if (pid == 0) {
    close(go[1]);
    close(done[0]);
    char ch;
    if (!c::ReadFull(go[0], &ch, 1)) _exit(0);
    int64_t res[2];
    Touch(addr, c::kTouchWrite, &res[0], &res[1]);
    WriteAll(done[1], res, sizeof(res));
    c::ReadFull(go[0], &ch, 1);  // until the parent has read the smaps
    _exit(0);
  }
  if (pid < 0) {
    r->ret = -1;
    r->err = errno;
    CloseBoth(go);
    CloseBoth(done);
    return;
  }
  close(go[0]);
  close(done[1]);
  char path[64] = "/proc/";
  AppendU64(path, static_cast<uint64_t>(pid));
  strcat(path, "/smaps");
  constexpr uint64_t kCap = sizeof(g_fork_smaps[0]);
  r->fork_len[0] = ReadText("/proc/self/smaps", g_fork_smaps[0], kCap);
  r->fork_len[1] = ReadText(path, g_fork_smaps[1], kCap);
  char ch = 1;
  WriteAll(go[1], &ch, 1);
  int64_t res[2] = {0, 0};
  if (!c::ReadFull(done[0], res, sizeof(res))) res[0] = -1;
  r->child_sig = res[0];
  r->child_si_code = res[1];
  r->fork_len[2] = ReadText(path, g_fork_smaps[2], kCap);
  WriteAll(go[1], &ch, 1);
  close(go[1]);
  close(done[0]);
  int st;
  syscall(SYS_wait4, pid, &st, 0, nullptr);
  r->ret = 0;
  r->err = 0;
}

void RunOp(const Op& op, Reply* r) {
  const uint64_t* a = op.a;
  long ret = 0;
  errno = 0;
  switch (op.kind) {
    case c::kOpMmap: {
      long fd = -1;
      if (a[4] == c::kFdBad) {
        fd = 1000;
      } else if (a[4] < static_cast<uint64_t>(c::kNumFiles * 3)) {
        fd = g_fds[a[4]];
      }
      ret = syscall(SYS_mmap, a[0], a[1], a[2], a[3], fd, a[5]);
      break;
    }
    case c::kOpMunmap:
      ret = syscall(SYS_munmap, a[0], a[1]);
      break;
    case c::kOpMprotect:
      ret = syscall(SYS_mprotect, a[0], a[1], a[2]);
      break;
    case c::kOpMremap:
      ret = syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]);
      break;
    case c::kOpBrk:
      ret = syscall(SYS_brk, a[0]);
      break;
    case c::kOpMlock:
      ret = syscall(SYS_mlock, a[0], a[1]);
      break;
    case c::kOpMlock2:
      ret = syscall(SYS_mlock2, a[0], a[1], a[2]);
      break;
    case c::kOpMunlock:
      ret = syscall(SYS_munlock, a[0], a[1]);
      break;
    case c::kOpMlockall:
      ret = syscall(SYS_mlockall, a[0]);
      break;
    case c::kOpMunlockall:
      ret = syscall(SYS_munlockall);
      break;
    case c::kOpMadvise:
      ret = syscall(SYS_madvise, a[0], a[1], a[2]);
      break;
    case c::kOpSetrlimit: {
      static const int kRes[3] = {RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK};
      if (a[0] > 2) {
        ret = -1;
        errno = EINVAL;
        break;
      }
      struct rlimit rl = {a[1], a[2]};
      ret = setrlimit(kRes[a[0]], &rl);
      break;
    }
    case c::kOpFillMapCount: {
      uint64_t addr = a[0];
      long n = 0;
      for (;;) {
        addr -= kPage;
        long m = syscall(SYS_mmap, addr, kPage, (n & 1) ? a[2] : a[1],
                         0x22 | 0x100000, -1, 0);
        if (m == -1) break;
        ++n;
      }
      r->ret = n;
      r->err = errno;
      return;
    }
    case c::kOpTouch:
      Touch(a[0], a[1], &r->sig, &r->si_code);
      r->ret = 0;
      r->err = 0;
      return;
    case c::kOpFork:
      RunFork(a[0], r);
      return;
    default:
      r->ret = -1;
      r->err = EINVAL;
      return;
  }
  if (ret == -1) {
    r->ret = -1;
    r->err = errno;
  } else {
    r->ret = ret;
    r->err = 0;
  }
}

__attribute__((noinline)) void PrefaultStack() {
  volatile char buf[768 * 1024];
  for (size_t i = 0; i < sizeof(buf); i += kPage) buf[i] = 1;
  buf[sizeof(buf) - 1] = 1;
}

void Fail(Hello* h, const char* what) {
  h->setup_errno = errno ? errno : -1;
  strncpy(h->setup_what, what, sizeof(h->setup_what) - 1);
  WriteAll(1, h, sizeof(*h));
  _exit(2);
}

void CopyTrim(char* dst, size_t n, const char* src) {
  strncpy(dst, src, n - 1);
  dst[n - 1] = 0;
  for (char* p = dst; *p; ++p) {
    if (*p == '\n') *p = 0;
  }
}

void AppendU64(char* dst, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  size_t l = strlen(dst);
  while (n) dst[l++] = tmp[--n];
  dst[l] = 0;
}

void StatFields(Hello* h) {
  ReadSmall("/proc/self/stat");
  // Field 2 (comm) may hold spaces: count from the last ')'.
  const char* p = strrchr(g_small, ')');
  if (p == nullptr) return;
  p += 2;  // now at field 3
  uint64_t f[64] = {0};
  int idx = 3;
  while (*p && idx < 64) {
    f[idx] = ParseU64(p, 10);
    while (*p && *p != ' ') ++p;
    while (*p == ' ') ++p;
    ++idx;
  }
  h->start_code = f[26];
  h->end_code = f[27];
  h->start_stack = f[28];
  h->start_data = f[45];
  h->end_data = f[46];
  h->start_brk = f[47];
  h->arg_start = f[48];
  h->arg_end = f[49];
  h->env_start = f[50];
  h->env_end = f[51];
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  int pers = personality(0xffffffff);
  if (!(pers & ADDR_NO_RANDOMIZE)) {
    struct rlimit st = {8u << 20, RLIM_INFINITY};
    struct rlimit old;
    getrlimit(RLIMIT_STACK, &old);
    if (old.rlim_max < st.rlim_cur) st.rlim_cur = old.rlim_max;
    st.rlim_max = old.rlim_max;
    setrlimit(RLIMIT_STACK, &st);
    personality((pers | ADDR_NO_RANDOMIZE) &
                ~(ADDR_COMPAT_LAYOUT | READ_IMPLIES_EXEC));
    execv("/proc/self/exe", argv);
    static Hello h;
    h.magic = c::kHelloMagic;
    Fail(&h, "execv /proc/self/exe");
  }

  static Hello h;
  memset(&h, 0, sizeof(h));
  h.magic = c::kHelloMagic;
  h.personality = static_cast<uint64_t>(pers);
  struct utsname u;
  uname(&u);
  CopyTrim(h.release, sizeof(h.release), u.release);

  // Soft limits start at the hard ones (raising a hard limit would need
  // CAP_SYS_RESOURCE, which containers often lack); ops then set soft
  // limits below the hard ones, so the sequence decides them.
  static const int kRes[3] = {RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK};
  for (int i = 0; i < 3; ++i) {
    struct rlimit rl;
    getrlimit(kRes[i], &rl);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(kRes[i], &rl) != 0) Fail(&h, "setrlimit");
  }

  // The files: memfds (shmem), so placement and MADV_REMOVE do not depend
  // on the file system of a temporary directory.
  for (int i = 0; i < c::kNumFiles; ++i) {
    char name[32] = "mmsim-f";
    AppendU64(name, static_cast<uint64_t>(i));
    int fd = static_cast<int>(syscall(SYS_memfd_create, name, 0x10u));
    if (fd < 0) fd = static_cast<int>(syscall(SYS_memfd_create, name, 0u));
    if (fd < 0) Fail(&h, "memfd_create");
    if (ftruncate(fd, static_cast<off_t>(c::kFileSizes[i])) != 0) {
      Fail(&h, "ftruncate");
    }
    struct stat sb;
    fstat(fd, &sb);
    FileInfo& fi = h.files[i];
    fi.ino = sb.st_ino;
    fi.dev_major = major(sb.st_dev);
    fi.dev_minor = minor(sb.st_dev);
    fi.size = c::kFileSizes[i];
    strcpy(fi.name, "/memfd:");
    strcat(fi.name, name);
    strcat(fi.name, " (deleted)");
    static const int kModes[3] = {O_RDONLY, O_RDWR, O_WRONLY};
    for (int m = 0; m < 3; ++m) {
      char path[64] = "/proc/self/fd/";
      AppendU64(path, static_cast<uint64_t>(fd));
      int f = open(path, kModes[m] | O_CLOEXEC);
      if (f < 0) Fail(&h, "open memfd");
      g_fds[i * 3 + m] = f;
    }
    close(fd);
  }

  // Drop every capability: CAP_IPC_LOCK (RLIMIT_MEMLOCK applies),
  // CAP_SYS_RAWIO (vm.mmap_min_addr applies), CAP_SYS_RESOURCE.
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  if (syscall(SYS_capset, &hdr, data) != 0) Fail(&h, "capset");
  memset(data, 0, sizeof(data));
  syscall(SYS_capget, &hdr, data);
  h.cap_effective = data[0].effective | (uint64_t{data[1].effective} << 32);

  h.mmap_min_addr = ReadSysctl("/proc/sys/vm/mmap_min_addr");
  h.max_map_count = ReadSysctl("/proc/sys/vm/max_map_count");
  h.overcommit_memory = ReadSysctl("/proc/sys/vm/overcommit_memory");
  h.legacy_va_layout = ReadSysctl("/proc/sys/vm/legacy_va_layout");
  h.thp_present = ReadSmall("/sys/kernel/mm/transparent_hugepage/enabled") > 0;
  CopyTrim(h.thp_enabled, sizeof(h.thp_enabled), g_small);
  ReadSmall("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  CopyTrim(h.shmem_enabled, sizeof(h.shmem_enabled), g_small);
  for (int i = 0; i < 3; ++i) {
    struct rlimit rl;
    getrlimit(kRes[i], &rl);
    h.rlim_cur[i] = rl.rlim_cur;
    h.rlim_max[i] = rl.rlim_max;
  }
  struct rlimit st;
  getrlimit(RLIMIT_STACK, &st);
  h.rlim_stack_cur = st.rlim_cur;

  {
    long p = syscall(SYS_mmap, 0x1000, kPage, 0, 0x22, -1, 0);
    h.hint_min_addr = static_cast<uint64_t>(p);
    if (p != -1) syscall(SYS_munmap, p, kPage);
  }
  {
    // One CPU: pages faulted on another CPU can sit in its LRU batch, where
    // MADV_PAGEOUT cannot isolate them.
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = sched_getcpu();
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      Fail(&h, "sched_setaffinity");
    }
  }
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
    Fail(&h, "PR_SET_THP_DISABLE");
  InstallFaultHandlers();
  PrefaultStack();
  StatFields(&h);
  h.brk = static_cast<uint64_t>(syscall(SYS_brk, 0));
  g_initial_brk = h.brk;
  g_end_data = h.end_data;
  LoadForbidden();

  WriteAll(1, &h, sizeof(h));
  static Reply r;
  memset(&r, 0, sizeof(r));
  SendReply(&r);

  static Op op;
  while (c::ReadFull(0, &op, sizeof(op))) {
    memset(&r, 0, sizeof(r));
    if (Unsafe(op)) {
      r.ret = -1;
      r.err = c::kErrRefused;
    } else {
      RunOp(op, &r);
    }
    SendReply(&r);
  }
  _exit(0);
}
