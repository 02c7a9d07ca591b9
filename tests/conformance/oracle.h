// The harness side of the kernel conformance suite: the observable state of
// an address space (regions, counters, brk) in a canonical form that the
// kernel and the simulator both produce, and KernelOracle, which runs ops
// in a mmsim_kernel_oracle child process.
#ifndef MMSIM_TESTS_CONFORMANCE_ORACLE_H_
#define MMSIM_TESTS_CONFORMANCE_ORACLE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/conformance/oracle_protocol.h"

namespace mmsim {
namespace conformance {

// One line of /proc/PID/maps, as printed.
struct RawRegion {
  uint64_t start = 0, end = 0;
  std::string perms;  // "rw-p"
  uint64_t offset = 0;
  uint64_t dev_major = 0, dev_minor = 0, inode = 0;
  std::string name;
};

// Parses /proc/PID/maps text. Returns false on a malformed line.
bool ParseMaps(const std::string& text, std::vector<RawRegion>* out);
std::string FormatRawRegion(const RawRegion& r);

// A region in canonical form: file identities are replaced by names that
// do not depend on inode numbers ("F<k>" for the oracle's files, "S<n>" for
// shared anonymous memory numbered by first appearance), so the kernel's
// and the simulator's lists compare equal when they mean the same thing.
struct Region {
  uint64_t start = 0, end = 0;
  std::string perms;
  uint64_t offset = 0;
  std::string file;
  bool operator==(const Region& o) const {
    return start == o.start && end == o.end && perms == o.perms &&
           offset == o.offset && file == o.file;
  }
};
std::string FormatRegion(const Region& r);
bool ParseRegion(const std::string& line, Region* r);

// Counters of the whole mm, in pages (map_count in regions).
struct Counters {
  int64_t map_count = 0, total_vm = 0, locked_vm = 0, data_vm = 0, exec_vm = 0,
          stack_vm = 0;
  bool operator==(const Counters& o) const {
    return map_count == o.map_count && total_vm == o.total_vm &&
           locked_vm == o.locked_vm && data_vm == o.data_vm &&
           exec_vm == o.exec_vm && stack_vm == o.stack_vm;
  }
};
std::string FormatCounters(const Counters& c);
bool ParseCounters(const std::string& s, Counters* c);

// Page counts of one region, in kB, as /proc/PID/smaps prints them (Rss,
// Anonymous, Locked, Swap). The worker's own regions (its executable,
// data, heap, [vvar]/[vdso]: everything that overlaps the starting point)
// change as it runs and are not compared: all fields kPagesNotCompared.
struct Pages {
  int64_t rss = 0, anon = 0, locked = 0, swap = 0;
  bool operator==(const Pages& o) const {
    return rss == o.rss && anon == o.anon && locked == o.locked &&
           swap == o.swap;
  }
  bool operator!=(const Pages& o) const { return !(*this == o); }
};
inline constexpr int64_t kPagesNotCompared = -1;
std::string FormatPages(const Pages& p);

// What one step leaves behind: the op's result and the address space.
struct State {
  int64_t ret = 0;              // return value, -1 on error
  int64_t err = 0;              // errno, 0 on success
  std::vector<Region> regions;  // every region except [stack] and [vsyscall]
  Counters counters;
  uint64_t brk = 0;
  bool regions_known = true;  // false when maps text was too big to send
  // Per region (parallel to `regions`) when pages_known (smaps was read).
  std::vector<Pages> pages;
  bool pages_known = false;
  // kOpTouch: the signal of the access (0: none, SIGSEGV, SIGBUS) and its
  // si_code (SEGV_MAPERR 1, SEGV_ACCERR 2, BUS_ADRERR 2).
  int64_t sig = 0, si_code = 0;
  // kOpFork: kForkViews views (regions and pages only; counters and brk
  // unused): the parent before the child's write, the child before and
  // after it (with the write's sig/si_code).
  std::vector<State> views;
};

// Describes the first difference between two states, or returns "".
std::string DiffStates(const State& want, const State& got);
// Only the region lists and their pages.
std::string DiffRegionsAndPages(const State& want, const State& got);
std::string FormatState(const State& s);

// Converts raw regions to canonical ones. `files` identifies the oracle's
// files; [stack] and [vsyscall] are dropped (the stack region is returned
// through `stack` when not null).
// `kept`, when not null, receives the index in `raw` of each result.
std::vector<Region> Canonicalize(const std::vector<RawRegion>& raw,
                                 const FileInfo* files, int nfiles,
                                 RawRegion* stack = nullptr,
                                 std::vector<size_t>* kept = nullptr);

// Parses /proc/PID/smaps text: the regions (its header lines) and their
// page counts. Returns false on a malformed text.
bool ParseSmaps(const std::string& text, std::vector<RawRegion>* raw,
                std::vector<Pages>* pages);

std::string FormatOp(const Op& op);
std::string OpName(uint32_t kind);
const char* ErrnoStr(int64_t err);

// Everything the simulator needs to reproduce the kernel's starting point.
struct SeqConfig {
  std::string release;
  uint64_t mmap_base = 0;
  uint64_t mmap_min_addr = 0;
  uint64_t max_map_count = 0;
  bool thp_align_anon = true;
  uint64_t rlim_cur[3] = {0, 0, 0};
  uint64_t rlim_max[3] = {0, 0, 0};
  uint64_t rlim_stack = 0;
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0,
           start_brk = 0, brk = 0, start_stack = 0, arg_start = 0, arg_end = 0,
           env_start = 0, env_end = 0;
  FileInfo files[kNumFiles];
  std::vector<RawRegion> init;  // the worker's /proc/self/maps at start
};

// Address ranges the generator and the cases may change: `lo..hi` just below
// the worker's lowest mapping in the mmap area, `brk_lo..brk_hi` above the
// initial break.
struct Window {
  uint64_t lo = 0, hi = 0;
  uint64_t brk_lo = 0, brk_hi = 0;
  uint64_t start_brk = 0, end_data = 0;
  uint64_t rlim_max[3] = {0, 0, 0};
  uint64_t mmap_base = 0;
};
Window WindowFor(const SeqConfig& cfg);

// Marks the pages of every region of s (and of its views) that overlaps
// the worker's starting point (cfg.init) as kPagesNotCompared.
void MaskWorkerPages(const SeqConfig& cfg, State* s);

// Returns "" when the host controls hold, else what differs (ASLR on,
// capabilities kept, legacy layout, mmap_base not where expected ...).
std::string CheckHostControls(const Hello& h, const SeqConfig& cfg);

// Runs ops on the real kernel in a fresh mmsim_kernel_oracle process.
class KernelOracle {
 public:
  KernelOracle() = default;
  KernelOracle(const KernelOracle&) = delete;
  KernelOracle& operator=(const KernelOracle&) = delete;
  ~KernelOracle();

  // Starts the worker; fills hello, config and the initial state.
  // Returns "" or an error message.
  std::string Start(const std::string& worker_path);
  const Hello& hello() const { return hello_; }
  const SeqConfig& config() const { return config_; }
  const State& initial() const { return initial_; }
  const RawRegion& initial_stack() const { return initial_stack_; }

  // Runs one op. Returns "" or a harness error (worker died, refused op,
  // stack moved).
  std::string Apply(const Op& op, State* out);

 private:
  std::string ReadReply(State* out, RawRegion* stack);

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  Hello hello_{};
  SeqConfig config_;
  State initial_;
  RawRegion initial_stack_;
};

// The path of the worker binary (MMSIM_KERNEL_ORACLE env var, else the
// build-time path).
std::string WorkerPath();

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_ORACLE_H_
