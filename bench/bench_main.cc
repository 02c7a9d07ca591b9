// mmsim_bench: Google Benchmark with a main that, after the run, prints the
// simulator/kernel ratio table and the btree_map/std::map table, and with
// --mmsim_write_results (or MMSIM_BENCH_WRITE_RESULTS=1) also writes them
// to bench/results/latest.json and latest.md. See bench/README.md.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_report.h"
#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/vma.h"

namespace mmsim {
namespace bench {
namespace {

constexpr double kMaxRatio = 0.5;        // sim at most half the syscall
constexpr double kMaxFindVmaNs = 400;    // at 65,530 regions
constexpr double kMaxTouchRatio = 0.25;  // first-touch fault
constexpr double kMaxForkRatio = 0.5;    // fork with 1,000 regions

std::vector<PairSpec> Pairs() {
  const std::string big = absl::StrCat(kDefaultMaxMapCount);
  return {
      {"mmap+munmap, 1 anonymous page", "BM_Kernel_MmapMunmap1Page",
       "BM_Sim_MmapMunmap1Page", kMaxRatio, 0, std::nullopt},
      {"mmap+munmap, 1 page, 1,000 regions mapped",
       "BM_Kernel_MmapMunmap1PageAmong/1000",
       "BM_Sim_MmapMunmap1PageAmong/1000", kMaxRatio, 0, std::nullopt},
      {"mmap+munmap, 1 page, 65,000 regions mapped",
       "BM_Kernel_MmapMunmap1PageAmong/65000",
       "BM_Sim_MmapMunmap1PageAmong/65000", kMaxRatio, 0, std::nullopt},
      {"mprotect split+re-merge (2 calls)", "BM_Kernel_MprotectSplitMerge",
       "BM_Sim_MprotectSplitMerge", kMaxRatio, 0, std::nullopt},
      {"find_vma, 1 region (kernel: msync)", "BM_Kernel_FindVma/1",
       "BM_Sim_FindVma/1", kMaxRatio, 0, std::nullopt},
      {"find_vma, 1,000 regions (kernel: msync)", "BM_Kernel_FindVma/1000",
       "BM_Sim_FindVma/1000", kMaxRatio, 0, std::nullopt},
      {"find_vma, 65,530 regions (kernel: msync)", "BM_Kernel_FindVma/" + big,
       "BM_Sim_FindVma/" + big, kMaxRatio, kMaxFindVmaNs, std::nullopt},
      {"first-touch write fault, anonymous page", "BM_Kernel_FirstTouch",
       "BM_Sim_FirstTouch", kMaxTouchRatio, 0, std::nullopt},
      {"fork+exit, 0 extra regions (manual: parent+child cpu)",
       "BM_Kernel_Fork/0/manual_time", "BM_Sim_Fork/0/manual_time", 0, 0,
       TimeBasis::kReal},
      {"fork+exit, 1,000 regions (manual: parent+child cpu)",
       "BM_Kernel_Fork/1000/manual_time", "BM_Sim_Fork/1000/manual_time",
       kMaxForkRatio, 0, TimeBasis::kReal},
  };
}

// A memory figure: one counter of one benchmark against a bound.
struct MemorySpec {
  std::string what;
  std::string benchmark;
  std::string counter;
  double max;
};

std::vector<MemorySpec> MemoryRows() {
  return {
      {"page-table bytes per resident page at 10,000,000 pages (table_pages "
       "* 4096)",
       "BM_Sim_PageTableBytes/10000000/iterations:1", "pgtable_bytes_per_page",
       16},
      {"  the same, as malloc'd (heap growth while faulting)",
       "BM_Sim_PageTableBytes/10000000/iterations:1", "heap_bytes_per_page",
       16},
      {"heap bytes per region at 1,000,000 regions",
       "BM_Sim_RegionBytes/1000000/iterations:1", "bytes_per_region", 192},
  };
}

std::vector<IndexSpec> IndexRows() {
  return {
      {"upper_bound, random addr, 1,000", "BM_IndexLookupRandom<Btree>/1000",
       "BM_IndexLookupRandom<StdMap>/1000",
       "BM_IndexLookupRandom<BtreePtr>/1000"},
      {"upper_bound, random addr, 65,530", "BM_IndexLookupRandom<Btree>/65530",
       "BM_IndexLookupRandom<StdMap>/65530",
       "BM_IndexLookupRandom<BtreePtr>/65530"},
      {"upper_bound, sequential addr, 65,530",
       "BM_IndexLookupSequential<Btree>/65530",
       "BM_IndexLookupSequential<StdMap>/65530",
       "BM_IndexLookupSequential<BtreePtr>/65530"},
      {"erase+insert churn, 65,530", "BM_IndexChurn<Btree>/65530",
       "BM_IndexChurn<StdMap>/65530", "BM_IndexChurn<BtreePtr>/65530"},
      {"in-order walk of 65,530 (whole walk)", "BM_IndexWalk<Btree>/65530",
       "BM_IndexWalk<StdMap>/65530", "BM_IndexWalk<BtreePtr>/65530"},
  };
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

// The 1-minute load average: how busy the (shared) machine was.
std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one.empty() ? "unknown" : one;
}

bool EnvTrue(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

bool WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace
}  // namespace bench
}  // namespace mmsim

int main(int argc, char** argv) {
  using namespace mmsim::bench;  // NOLINT: main only

  // Our flags, taken out before Google Benchmark sees the rest.
  bool write_results = EnvTrue("MMSIM_BENCH_WRITE_RESULTS");
  std::string results_dir = MMSIM_BENCH_RESULTS_DIR;
  if (const char* d = std::getenv("MMSIM_BENCH_RESULTS_DIR"); d && *d) {
    results_dir = d;
  }
  TimeBasis basis = TimeBasis::kCpu;
  auto parse_time = [&basis](const std::string& v) {
    if (v == "cpu") {
      basis = TimeBasis::kCpu;
    } else if (v == "real" || v == "wall") {
      basis = TimeBasis::kReal;
    } else {
      std::cerr << "mmsim_bench: --mmsim_time must be cpu or real\n";
      std::exit(2);
    }
  };
  if (const char* t = std::getenv("MMSIM_BENCH_TIME"); t && *t) parse_time(t);
  int out_argc = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mmsim_write_results") {
      write_results = true;
    } else if (arg.rfind("--mmsim_time=", 0) == 0) {
      parse_time(arg.substr(std::strlen("--mmsim_time=")));
    } else if (arg.rfind("--mmsim_results_dir=", 0) == 0) {
      results_dir = arg.substr(std::strlen("--mmsim_results_dir="));
      write_results = true;
    } else {
      if (arg == "--help" || arg == "-h") {
        std::cout
            << "mmsim_bench flags (besides Google Benchmark's, below):\n"
               "  --mmsim_write_results      also write latest.json and "
               "latest.md\n"
               "                             (or MMSIM_BENCH_WRITE_RESULTS=1)\n"
               "  --mmsim_results_dir=DIR    where (default "
            << MMSIM_BENCH_RESULTS_DIR
            << ";\n"
               "                             or MMSIM_BENCH_RESULTS_DIR)\n"
               "  --mmsim_time=cpu|real      clock of the summary tables "
               "(default cpu;\n"
               "                             or MMSIM_BENCH_TIME)\n\n";
      }
      argv[out_argc++] = argv[i];
    }
  }
  argc = out_argc;

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  CollectingReporter reporter(isatty(STDOUT_FILENO)
                                  ? benchmark::ConsoleReporter::OO_ColorTabular
                                  : benchmark::ConsoleReporter::OO_Tabular);
  const std::string load_before = LoadAvg();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (reporter.samples().empty()) {  // --benchmark_list_tests, or no match
    benchmark::Shutdown();
    return 0;
  }

  Report report = BuildReport(reporter, basis, Pairs(), IndexRows());
  struct utsname u;
  uname(&u);
  report.context["date_utc"] = UtcNow();
  report.context["kernel"] = absl::StrCat(u.sysname, " ", u.release);
  report.context["cpu"] = absl::StrFormat("%s, %d cpus, %.0f MHz", CpuModel(),
                                          reporter.num_cpus(), reporter.mhz());
  report.context["loadavg_1min"] =
      absl::StrCat(load_before, " before, ", LoadAvg(), " after");
  report.context["sizeof_vma"] = absl::StrCat(sizeof(mmsim::Vma), " bytes");
#ifdef NDEBUG
  std::string build = "NDEBUG";
#else
  std::string build = "assertions ON";
#endif
#ifdef MMSIM_VALIDATE_MM
  absl::StrAppend(&build,
                  ", MMSIM_VALIDATE_MM (validation after every "
                  "mutation)");
  report.context["warning"] =
      "mmsim_core was built with MMSIM_VALIDATE_MM; use a Release build "
      "for numbers";
#endif
#ifdef __OPTIMIZE__
  absl::StrAppend(&build, ", optimized");
#else
  absl::StrAppend(&build, ", NOT optimized");
#endif
  report.context["build"] = build;

  report.notes.push_back(
      "kernel find_vma = msync(page, 4096, MS_ASYNC): mmap_read_lock, one "
      "find_vma(), unlock (mm/msync.c); the kernel has no find_vma syscall");
  if (auto floor =
          TimeStat(reporter.samples(), "BM_Kernel_SyscallFloor", basis)) {
    report.notes.push_back(absl::StrFormat(
        "syscall floor (getppid) on this machine: %.0f ns, included in every "
        "kernel figure",
        floor->median));
  }
  report.notes.push_back(
      "kernel: N = regions the kernel side got under vm.max_map_count "
      "(the process's own VMAs count too)");
  report.notes.push_back(
      "fork rows: manual time = this thread's CPU time plus, for the kernel, "
      "the child's (wait4 rusage), so the child's exit_mmap counts");
  for (const MemorySpec& m : MemoryRows()) {
    auto it = reporter.samples().find(m.benchmark);
    if (it == reporter.samples().end()) continue;
    auto c = it->second.counters.find(m.counter);
    if (!it->second.error.empty() || c == it->second.counters.end()) {
      report.notes.push_back(absl::StrCat("memory: ", m.what, ": n/a"));
      continue;
    }
    report.notes.push_back(absl::StrFormat(
        "memory: %s: %.2f (target <= %.0f): %s", m.what, c->second, m.max,
        c->second <= m.max ? "met" : "NOT met"));
  }

  std::cout << FormatText(report) << std::flush;
  if (write_results) {
    std::error_code ec;
    std::filesystem::create_directories(results_dir, ec);
    const std::filesystem::path dir(results_dir);
    if (!WriteFile(dir / "latest.json", FormatJson(report)) ||
        !WriteFile(dir / "latest.md", FormatMarkdown(report))) {
      std::cerr << "mmsim_bench: cannot write results to " << results_dir
                << "\n";
      return 1;
    }
    std::cout << "wrote " << (dir / "latest.json").string() << " and "
              << (dir / "latest.md").string() << "\n";
  }
  benchmark::Shutdown();
  return 0;
}
