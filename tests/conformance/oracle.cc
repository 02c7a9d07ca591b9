#include "tests/conformance/oracle.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

extern char** environ;

namespace mmsim {
namespace conformance {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = (uint64_t{1} << 47) - kPage;

std::string Hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof(b), "%" PRIx64, v);
  return b;
}

bool WriteFull(int fd, const void* p, size_t n) {
  const char* s = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    s += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool ParseMaps(const std::string& text, std::vector<RawRegion>* out) {
  out->clear();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    RawRegion r;
    char perms[8] = {0};
    unsigned long long start, end, off, ino;
    unsigned maj, min;
    int name_pos = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end,
               perms, &off, &maj, &min, &ino, &name_pos) < 7) {
      return false;
    }
    r.start = start;
    r.end = end;
    r.perms = perms;
    r.offset = off;
    r.dev_major = maj;
    r.dev_minor = min;
    r.inode = ino;
    if (name_pos > 0 && static_cast<size_t>(name_pos) <= line.size()) {
      r.name = line.substr(static_cast<size_t>(name_pos));
    }
    out->push_back(r);
  }
  return true;
}

std::string FormatRawRegion(const RawRegion& r) {
  char b[160];
  snprintf(b, sizeof(b),
           "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64 " %02" PRIx64
           ":%02" PRIx64 " %" PRIu64 " ",
           r.start, r.end, r.perms.c_str(), r.offset, r.dev_major, r.dev_minor,
           r.inode);
  return std::string(b) + r.name;
}

std::string FormatRegion(const Region& r) {
  char b[96];
  snprintf(b, sizeof(b), "%012" PRIx64 "-%012" PRIx64 " %s %08" PRIx64 " ",
           r.start, r.end, r.perms.c_str(), r.offset);
  return std::string(b) + (r.file.empty() ? "-" : r.file);
}

bool ParseRegion(const std::string& line, Region* r) {
  unsigned long long start, end, off;
  char perms[8] = {0};
  int pos = 0;
  if (sscanf(line.c_str(), "%llx-%llx %7s %llx %n", &start, &end, perms, &off,
             &pos) < 4) {
    return false;
  }
  r->start = start;
  r->end = end;
  r->perms = perms;
  r->offset = off;
  r->file = line.substr(static_cast<size_t>(pos));
  if (r->file == "-") r->file.clear();
  return true;
}

std::string FormatCounters(const Counters& c) {
  char b[200];
  snprintf(b, sizeof(b),
           "map_count=%" PRId64 " total_vm=%" PRId64 " locked_vm=%" PRId64
           " data_vm=%" PRId64 " exec_vm=%" PRId64 " stack_vm=%" PRId64,
           c.map_count, c.total_vm, c.locked_vm, c.data_vm, c.exec_vm,
           c.stack_vm);
  return b;
}

bool ParseCounters(const std::string& s, Counters* c) {
  long long v[6];
  if (sscanf(s.c_str(),
             "map_count=%lld total_vm=%lld locked_vm=%lld data_vm=%lld "
             "exec_vm=%lld stack_vm=%lld",
             &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
    return false;
  }
  *c = Counters{v[0], v[1], v[2], v[3], v[4], v[5]};
  return true;
}

const char* ErrnoStr(int64_t err) {
  switch (err) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EINTR:
      return "EINTR";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case ETXTBSY:
      return "ETXTBSY";
    case EFBIG:
      return "EFBIG";
    case ENOSPC:
      return "ENOSPC";
    case ERANGE:
      return "ERANGE";
    case ENOSYS:
      return "ENOSYS";
    case EOVERFLOW:
      return "EOVERFLOW";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EHWPOISON:
      return "EHWPOISON";
    case kErrRefused:
      return "REFUSED(harness)";
    default: {
      static thread_local char b[32];
      snprintf(b, sizeof(b), "errno%" PRId64, err);
      return b;
    }
  }
}

std::string OpName(uint32_t kind) {
  switch (kind) {
    case kOpMmap:
      return "mmap";
    case kOpMunmap:
      return "munmap";
    case kOpMprotect:
      return "mprotect";
    case kOpMremap:
      return "mremap";
    case kOpBrk:
      return "brk";
    case kOpMlock:
      return "mlock";
    case kOpMlock2:
      return "mlock2";
    case kOpMunlock:
      return "munlock";
    case kOpMlockall:
      return "mlockall";
    case kOpMunlockall:
      return "munlockall";
    case kOpMadvise:
      return "madvise";
    case kOpSetrlimit:
      return "setrlimit";
    case kOpFillMapCount:
      return "fill_map_count";
    case kOpTouch:
      return "touch";
    case kOpFork:
      return "fork";
    default:
      return "op" + std::to_string(kind);
  }
}

std::string FormatOp(const Op& op) {
  const uint64_t* a = op.a;
  char b[256];
  switch (op.kind) {
    case kOpMmap: {
      std::string fd;
      if (a[4] == kFdNone) {
        fd = "-1";
      } else if (a[4] == kFdBad) {
        fd = "bad";
      } else {
        static const char* kMode[3] = {"ro", "rw", "wo"};
        fd = "F" + std::to_string(a[4] / 3) + ":" + kMode[a[4] % 3];
      }
      snprintf(b, sizeof(b),
               "mmap(addr=0x%" PRIx64 ", len=0x%" PRIx64 ", prot=0x%" PRIx64
               ", flags=0x%" PRIx64 ", fd=%s, off=0x%" PRIx64 ")",
               a[0], a[1], a[2], a[3], fd.c_str(), a[5]);
      break;
    }
    case kOpMunmap:
    case kOpMlock:
    case kOpMunlock:
      snprintf(b, sizeof(b), "%s(0x%" PRIx64 ", 0x%" PRIx64 ")",
               OpName(op.kind).c_str(), a[0], a[1]);
      break;
    case kOpMprotect:
    case kOpMlock2:
    case kOpMadvise:
      snprintf(b, sizeof(b), "%s(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ")",
               OpName(op.kind).c_str(), a[0], a[1], a[2]);
      break;
    case kOpMremap:
      snprintf(b, sizeof(b),
               "mremap(old=0x%" PRIx64 ", old_len=0x%" PRIx64
               ", new_len=0x%" PRIx64 ", flags=0x%" PRIx64
               ", new_addr=0x%" PRIx64 ")",
               a[0], a[1], a[2], a[3], a[4]);
      break;
    case kOpBrk:
      snprintf(b, sizeof(b), "brk(0x%" PRIx64 ")", a[0]);
      break;
    case kOpMlockall:
      snprintf(b, sizeof(b), "mlockall(0x%" PRIx64 ")", a[0]);
      break;
    case kOpMunlockall:
      snprintf(b, sizeof(b), "munlockall()");
      break;
    case kOpSetrlimit: {
      static const char* kRes[3] = {"AS", "DATA", "MEMLOCK"};
      snprintf(b, sizeof(b),
               "setrlimit(RLIMIT_%s, cur=0x%" PRIx64 ", max=0x%" PRIx64 ")",
               a[0] < 3 ? kRes[a[0]] : "?", a[1], a[2]);
      break;
    }
    case kOpFillMapCount:
      snprintf(b, sizeof(b),
               "fill_map_count(below=0x%" PRIx64 ", prot=0x%" PRIx64
               "/0x%" PRIx64 ")",
               a[0], a[1], a[2]);
      break;
    case kOpTouch: {
      static const char* kAccess[3] = {"read", "write", "exec"};
      snprintf(b, sizeof(b), "touch(0x%" PRIx64 ", %s)", a[0],
               a[1] < 3 ? kAccess[a[1]] : "?");
      break;
    }
    case kOpFork:
      snprintf(b, sizeof(b), "fork(child writes 0x%" PRIx64 ")", a[0]);
      break;
    default:
      snprintf(b, sizeof(b), "op%u(...)", op.kind);
  }
  return b;
}

std::vector<Region> Canonicalize(const std::vector<RawRegion>& raw,
                                 const FileInfo* files, int nfiles,
                                 RawRegion* stack, std::vector<size_t>* kept) {
  std::vector<Region> out;
  std::map<uint64_t, int> shmem_ids;  // inode -> S<n>
  if (kept != nullptr) kept->clear();
  for (size_t idx = 0; idx < raw.size(); ++idx) {
    const RawRegion& r = raw[idx];
    if (r.name == "[vsyscall]") continue;
    if (r.name == "[stack]") {
      if (stack != nullptr) *stack = r;
      continue;
    }
    Region c;
    c.start = r.start;
    c.end = r.end;
    c.perms = r.perms;
    c.offset = r.offset;
    if (r.inode == 0) {
      c.file = r.name;  // "", "[heap]", "[vdso]", "[vvar]", ...
    } else {
      c.file = r.name;
      for (int i = 0; i < nfiles; ++i) {
        if (files[i].ino == r.inode && files[i].dev_major == r.dev_major &&
            files[i].dev_minor == r.dev_minor) {
          c.file = "F" + std::to_string(i);
        }
      }
      if (r.name.rfind("/dev/zero", 0) == 0 || r.name.rfind("/SYSV", 0) == 0) {
        auto it = shmem_ids.emplace(r.inode, static_cast<int>(shmem_ids.size()))
                      .first;
        c.file = "S" + std::to_string(it->second);
      }
    }
    out.push_back(c);
    if (kept != nullptr) kept->push_back(idx);
  }
  return out;
}

std::string FormatPages(const Pages& p) {
  if (p.rss == kPagesNotCompared) return "(worker's own, not compared)";
  char b[128];
  snprintf(b, sizeof(b),
           "rss=%" PRId64 "k anon=%" PRId64 "k locked=%" PRId64
           "k swap=%" PRId64 "k",
           p.rss, p.anon, p.locked, p.swap);
  return b;
}

bool ParseSmaps(const std::string& text, std::vector<RawRegion>* raw,
                std::vector<Pages>* pages) {
  raw->clear();
  pages->clear();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    char c0 = line[0];
    if ((c0 >= '0' && c0 <= '9') || (c0 >= 'a' && c0 <= 'f')) {
      std::vector<RawRegion> one;
      if (!ParseMaps(line, &one) || one.size() != 1) return false;
      raw->push_back(one[0]);
      pages->push_back(Pages{});
      continue;
    }
    if (pages->empty()) return false;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    int64_t* field = nullptr;
    if (key == "Rss") field = &pages->back().rss;
    if (key == "Anonymous") field = &pages->back().anon;
    if (key == "Locked") field = &pages->back().locked;
    if (key == "Swap") field = &pages->back().swap;
    if (field != nullptr)
      *field = strtoll(line.c_str() + colon + 1, nullptr, 10);
  }
  return true;
}

void MaskWorkerPages(const SeqConfig& cfg, State* s) {
  for (size_t i = 0; i < s->pages.size() && i < s->regions.size(); ++i) {
    const Region& r = s->regions[i];
    for (const RawRegion& w : cfg.init) {
      if (w.name == "[vsyscall]") continue;
      if (r.start < w.end && w.start < r.end) {
        s->pages[i] = Pages{kPagesNotCompared, kPagesNotCompared,
                            kPagesNotCompared, kPagesNotCompared};
        break;
      }
    }
  }
  for (State& v : s->views) MaskWorkerPages(cfg, &v);
}

std::string FormatState(const State& s) {
  std::string out = "  result: ";
  if (s.err == 0) {
    out += "0x" + Hex(static_cast<uint64_t>(s.ret));
  } else {
    out += std::string("-1 ") + ErrnoStr(s.err);
  }
  out += "\n  " + FormatCounters(s.counters) + " brk=0x" + Hex(s.brk) + "\n";
  if (!s.regions_known) out += "  (regions not sent: maps too big)\n";
  if (s.sig != 0) {
    out += "  signal " + std::to_string(s.sig) + " si_code " +
           std::to_string(s.si_code) + "\n";
  }
  for (size_t i = 0; i < s.regions.size(); ++i) {
    out += "    " + FormatRegion(s.regions[i]);
    if (s.pages_known && i < s.pages.size() &&
        s.pages[i].rss != kPagesNotCompared) {
      out += "  " + FormatPages(s.pages[i]);
    }
    out += "\n";
  }
  static const char* kViews[kForkViews] = {"parent before the child's write",
                                           "child before its write",
                                           "child after its write"};
  for (size_t i = 0; i < s.views.size(); ++i) {
    out += "  fork view: " + std::string(i < kForkViews ? kViews[i] : "?") +
           "\n" + FormatState(s.views[i]);
  }
  return out;
}

std::string DiffStates(const State& want, const State& got) {
  std::string d;
  if (want.err != got.err || (want.err == 0 && want.ret != got.ret)) {
    d += "result: kernel ";
    d += want.err ? std::string("-1 ") + ErrnoStr(want.err)
                  : "0x" + Hex(static_cast<uint64_t>(want.ret));
    d += ", simulator ";
    d += got.err ? std::string("-1 ") + ErrnoStr(got.err)
                 : "0x" + Hex(static_cast<uint64_t>(got.ret));
    d += "\n";
  }
  if (!(want.counters == got.counters)) {
    d += "counters: kernel " + FormatCounters(want.counters) +
         "\n          simulator " + FormatCounters(got.counters) + "\n";
  }
  if (want.brk != got.brk) {
    d += "brk: kernel 0x" + Hex(want.brk) + ", simulator 0x" + Hex(got.brk) +
         "\n";
  }
  d += DiffRegionsAndPages(want, got);
  if (want.sig != got.sig || want.si_code != got.si_code) {
    d += "fault: kernel signal " + std::to_string(want.sig) + " si_code " +
         std::to_string(want.si_code) + ", simulator signal " +
         std::to_string(got.sig) + " si_code " + std::to_string(got.si_code) +
         "\n";
  }
  if (want.views.size() != got.views.size()) {
    d += "fork views: kernel " + std::to_string(want.views.size()) +
         ", simulator " + std::to_string(got.views.size()) + "\n";
  } else {
    static const char* kViews[kForkViews] = {"parent before the child's write",
                                             "child before its write",
                                             "child after its write"};
    for (size_t i = 0; i < want.views.size(); ++i) {
      const State& a = want.views[i];
      const State& b = got.views[i];
      std::string v = DiffRegionsAndPages(a, b);
      if (a.sig != b.sig || a.si_code != b.si_code) {
        v += "fault: kernel signal " + std::to_string(a.sig) + " si_code " +
             std::to_string(a.si_code) + ", simulator signal " +
             std::to_string(b.sig) + " si_code " + std::to_string(b.si_code) +
             "\n";
      }
      if (!v.empty()) {
        d += std::string("fork view \"") + (i < kForkViews ? kViews[i] : "?") +
             "\": " + v;
      }
    }
  }
  return d;
}

std::string DiffRegionsAndPages(const State& want, const State& got) {
  std::string d;
  if (want.regions_known && got.regions_known && want.regions == got.regions &&
      want.pages_known && got.pages_known &&
      want.pages.size() == want.regions.size() &&
      got.pages.size() == got.regions.size()) {
    for (size_t i = 0; i < want.pages.size(); ++i) {
      if (want.pages[i] != got.pages[i]) {
        d += "pages of " + FormatRegion(want.regions[i]) + ": kernel " +
             FormatPages(want.pages[i]) + ", simulator " +
             FormatPages(got.pages[i]) + "\n";
      }
    }
  }
  if (want.regions_known && got.regions_known && want.regions != got.regions) {
    d += "regions (- kernel only, + simulator only):\n";
    size_t i = 0, j = 0;
    const auto& a = want.regions;
    const auto& b = got.regions;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a[i] == b[j]) {
        d += "    " + FormatRegion(a[i]) + "\n";
        ++i;
        ++j;
      } else if (j >= b.size() || (i < a.size() && a[i].start <= b[j].start)) {
        d += "  - " + FormatRegion(a[i++]) + "\n";
      } else {
        d += "  + " + FormatRegion(b[j++]) + "\n";
      }
    }
  }
  return d;
}

Window WindowFor(const SeqConfig& cfg) {
  Window w;
  w.mmap_base = cfg.mmap_base;
  w.hi = cfg.mmap_base;
  for (const RawRegion& r : cfg.init) {
    if (r.start < cfg.mmap_base && r.start >= cfg.mmap_base - (64u << 20) &&
        r.start < w.hi) {
      w.hi = r.start;
    }
  }
  w.lo = w.hi - (512u << 20);
  w.brk_lo = (cfg.brk + kPage - 1) & ~(kPage - 1);
  w.brk_hi = w.brk_lo + (64u << 20);
  w.start_brk = cfg.start_brk;
  w.end_data = cfg.end_data;
  for (int i = 0; i < 3; ++i) w.rlim_max[i] = cfg.rlim_max[i];
  return w;
}

std::string CheckHostControls(const Hello& h, const SeqConfig& cfg) {
  std::string bad;
  if (!(h.personality & 0x0040000)) bad += "ADDR_NO_RANDOMIZE not set; ";
  if (h.cap_effective != 0) bad += "capabilities not dropped; ";
  if (h.legacy_va_layout != 0) bad += "vm.legacy_va_layout=1; ";
  for (const RawRegion& r : cfg.init) {
    if (r.name == "[vdso]" && r.end != cfg.mmap_base) {
      bad += "[vdso] does not end at the computed mmap_base 0x" +
             Hex(cfg.mmap_base) + "; ";
    }
  }
  return bad;
}

KernelOracle::~KernelOracle() {
  if (to_ >= 0) close(to_);
  if (from_ >= 0) close(from_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
}

std::string KernelOracle::Start(const std::string& worker_path) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    return "pipe: " + std::string(strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char* argv[] = {const_cast<char*>(worker_path.c_str()), nullptr};
  // A clean environment: no LD_PRELOAD or sanitizer options reach it.
  char* envp[] = {nullptr};
  int rc = posix_spawn(&pid_, worker_path.c_str(), &fa, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  to_ = in[1];
  from_ = out[0];
  if (rc != 0) {
    pid_ = -1;
    return "posix_spawn " + worker_path + ": " + strerror(rc);
  }
  if (!ReadFull(from_, &hello_, sizeof(hello_))) {
    return "worker " + worker_path + " died before hello";
  }
  if (hello_.magic != kHelloMagic) return "bad hello magic";
  if (hello_.setup_errno != 0) {
    return std::string("worker set-up failed: ") + hello_.setup_what + ": " +
           strerror(static_cast<int>(hello_.setup_errno));
  }
  SeqConfig& c = config_;
  c.release = hello_.release;
  // Linux: arch/x86/mm/mmap.c mmap_base() without randomization: the stack
  // rlimit plus the stack guard gap (256 pages), clamped to [128 MiB,
  // 5/6 of TASK_SIZE].
  uint64_t gap = hello_.rlim_stack_cur + (256 * kPage);
  gap = std::max<uint64_t>(gap, uint64_t{128} << 20);
  gap = std::min<uint64_t>(gap, kTaskSize / 6 * 5);
  c.mmap_base = (kTaskSize - gap) & ~(kPage - 1);
  c.mmap_min_addr = hello_.mmap_min_addr;
  c.max_map_count = hello_.max_map_count;
  int major = 0, minor = 0;
  sscanf(hello_.release, "%d.%d", &major, &minor);
  c.thp_align_anon =
      hello_.thp_present && (major > 6 || (major == 6 && minor >= 7));
  for (int i = 0; i < 3; ++i) {
    c.rlim_cur[i] = hello_.rlim_cur[i];
    c.rlim_max[i] = hello_.rlim_max[i];
  }
  c.rlim_stack = hello_.rlim_stack_cur;
  c.start_code = hello_.start_code;
  c.end_code = hello_.end_code;
  c.start_data = hello_.start_data;
  c.end_data = hello_.end_data;
  c.start_brk = hello_.start_brk;
  c.brk = hello_.brk;
  c.start_stack = hello_.start_stack;
  c.arg_start = hello_.arg_start;
  c.arg_end = hello_.arg_end;
  c.env_start = hello_.env_start;
  c.env_end = hello_.env_end;
  for (int i = 0; i < kNumFiles; ++i) c.files[i] = hello_.files[i];
  std::string err = ReadReply(&initial_, &initial_stack_);
  if (!err.empty()) return err;
  return "";
}

namespace {

// The worker's own path depends on the build directory; drop it so the
// golden traces do not change with it.
void NormalizeSelf(std::vector<RawRegion>* raw) {
  static const std::string kSelf = "/mmsim_kernel_oracle";
  for (RawRegion& x : *raw) {
    if (x.name.size() > kSelf.size() &&
        x.name.compare(x.name.size() - kSelf.size(), kSelf.size(), kSelf) ==
            0) {
      x.name = kSelf;
    }
  }
}

bool ReadText(int fd, uint64_t len, std::string* text) {
  text->assign(len, '\0');
  return len == 0 || ReadFull(fd, text->data(), len);
}

// Regions and pages of a smaps text.
std::string SmapsState(const std::string& text, const FileInfo* files,
                       State* s) {
  std::vector<RawRegion> raw;
  std::vector<Pages> pages;
  if (!ParseSmaps(text, &raw, &pages)) return "cannot parse smaps:\n" + text;
  NormalizeSelf(&raw);
  std::vector<size_t> kept;
  s->regions = Canonicalize(raw, files, kNumFiles, nullptr, &kept);
  s->pages.clear();
  for (size_t i : kept) s->pages.push_back(pages[i]);
  s->regions_known = true;
  s->pages_known = true;
  return "";
}

}  // namespace

std::string KernelOracle::ReadReply(State* out, RawRegion* stack) {
  Reply r;
  if (!ReadFull(from_, &r, sizeof(r))) return "worker died";
  std::string text, smaps, views[kForkViews];
  if (!ReadText(from_, r.maps_len, &text) ||
      !ReadText(from_, r.smaps_len, &smaps)) {
    return "worker died while sending maps";
  }
  for (int i = 0; i < kForkViews; ++i) {
    if (!ReadText(from_, r.fork_len[i], &views[i])) {
      return "worker died while sending the fork views";
    }
  }
  out->ret = r.ret;
  out->err = r.err;
  out->brk = r.brk;
  out->sig = r.sig;
  out->si_code = r.si_code;
  std::vector<RawRegion> raw;
  if (r.maps_len > 0) {
    if (!ParseMaps(text, &raw)) return "cannot parse maps:\n" + text;
    NormalizeSelf(&raw);
    if (config_.init.empty()) config_.init = raw;
    out->regions = Canonicalize(raw, config_.files, kNumFiles, stack);
    out->regions_known = true;
  } else {
    out->regions.clear();
    out->regions_known = false;
  }
  bool vsyscall = false;
  for (const RawRegion& x : config_.init) vsyscall |= x.name == "[vsyscall]";
  out->counters.map_count =
      static_cast<int64_t>(r.map_lines) - (vsyscall ? 1 : 0);
  out->counters.total_vm = static_cast<int64_t>(r.vm_size_kb / 4);
  out->counters.locked_vm = static_cast<int64_t>(r.vm_lck_kb / 4);
  out->counters.data_vm = static_cast<int64_t>(r.vm_data_kb / 4);
  out->counters.exec_vm = static_cast<int64_t>((r.vm_exe_kb + r.vm_lib_kb) / 4);
  out->counters.stack_vm = static_cast<int64_t>(r.vm_stk_kb / 4);
  out->pages.clear();
  out->pages_known = false;
  if (r.smaps_len > 0) {
    State sm;
    std::string e = SmapsState(smaps, config_.files, &sm);
    if (!e.empty()) return e;
    if (sm.regions != out->regions) {
      return "smaps and maps list different regions (harness bug)";
    }
    out->pages = sm.pages;
    out->pages_known = true;
  }
  out->views.clear();
  if (r.fork_len[0] > 0 || r.fork_len[1] > 0 || r.fork_len[2] > 0) {
    for (int i = 0; i < kForkViews; ++i) {
      State v;
      v.regions_known = false;
      if (r.fork_len[i] > 0) {
        std::string e = SmapsState(views[i], config_.files, &v);
        if (!e.empty()) return e;
      }
      out->views.push_back(v);
    }
    out->views[2].sig = r.child_sig;
    out->views[2].si_code = r.child_si_code;
  }
  MaskWorkerPages(config_, out);
  return "";
}

std::string KernelOracle::Apply(const Op& op, State* out) {
  if (!WriteFull(to_, &op, sizeof(op))) return "worker gone (write)";
  RawRegion stack;
  std::string err = ReadReply(out, &stack);
  if (!err.empty()) return err;
  if (out->err == kErrRefused) {
    return "worker refused " + FormatOp(op) +
           ": it could touch the worker's own mappings (harness bug)";
  }
  if (out->regions_known && (stack.start != initial_stack_.start ||
                             stack.end != initial_stack_.end)) {
    return "the worker's stack region changed (harness bug): " +
           FormatRawRegion(stack);
  }
  return "";
}

std::string WorkerPath() {
  const char* env = getenv("MMSIM_KERNEL_ORACLE");
  if (env != nullptr && *env != 0) return env;
#ifdef MMSIM_KERNEL_ORACLE_PATH
  return MMSIM_KERNEL_ORACLE_PATH;
#else
  return "mmsim_kernel_oracle";
#endif
}

}  // namespace conformance
}  // namespace mmsim
