// The end-of-run summary of mmsim_bench: a display reporter that keeps every
// result, and the tables built from them (kernel vs simulator ratios, and
// absl::btree_map vs std::map). Ratios come from the same run; nothing here
// fails on time, it only reports whether a target was met.
#ifndef MMSIM_BENCH_BENCH_REPORT_H_
#define MMSIM_BENCH_BENCH_REPORT_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"

namespace mmsim {
namespace bench {

// Which clock the tables use. kCpu (the default) is the thread's CPU
// clock, user + system time, so a syscall's kernel time counts but time
// spent preempted by other work on a shared machine does not; kReal is wall
// time, Google Benchmark's "Time" column.
enum class TimeBasis { kCpu, kReal };
const char* TimeBasisName(TimeBasis basis);

// All repetitions of one benchmark instance ("BM_Sim_FindVma/65530").
struct Samples {
  std::vector<double> real_ns;  // wall time per iteration, one per repetition
  std::vector<double> cpu_ns;
  std::map<std::string, double> counters;  // of the last repetition
  // Used only when the reporter saw aggregates alone
  // (--benchmark_display_aggregates_only).
  std::optional<double> aggregate_median_ns;  // wall
  std::optional<double> aggregate_median_cpu_ns;
  std::optional<double> aggregate_cv;
  std::string error;
};

// The console reporter, also keeping what it prints.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;

  const std::map<std::string, Samples>& samples() const { return samples_; }
  int num_cpus() const { return num_cpus_; }
  double mhz() const { return mhz_; }

 private:
  std::map<std::string, Samples> samples_;
  int num_cpus_ = 0;
  double mhz_ = 0;
};

struct Stat {
  double median = 0;
  double min = 0;
  double max = 0;
  int n = 0;  // repetitions
};

// A kernel-vs-simulator row; a target of 0 is "none".
struct PairSpec {
  std::string operation;
  std::string kernel;  // benchmark instance names
  std::string sim;
  double max_ratio = 0;   // sim / kernel
  double max_sim_ns = 0;  // absolute bound on the simulator
  // The clock of this row when it is not the report's: kReal for pairs
  // timed with UseManualTime (fork: parent + child CPU time).
  std::optional<TimeBasis> basis;
};

// An absl::btree_map-vs-std::map row, plus, for reference, the btree with
// the Vma out of line (btree_map<uint64_t, unique_ptr<Vma>>).
struct IndexSpec {
  std::string operation;
  std::string btree;
  std::string std_map;
  std::string btree_ptr;
};

struct PairRow {
  PairSpec spec;
  std::optional<Stat> kernel, sim;
  std::string kernel_note;      // e.g. how many regions the kernel side got
  std::optional<double> ratio;  // median / median
  std::optional<double> ratio_worst;  // sim max / kernel min
  std::optional<bool> met;
};

struct IndexRow {
  IndexSpec spec;
  std::optional<Stat> btree, std_map, btree_ptr;
  std::optional<double> btree_bytes, std_map_bytes, btree_ptr_bytes;
  std::optional<double> ratio;  // btree / std::map
};

struct Report {
  std::vector<PairRow> pairs;
  std::vector<IndexRow> index;
  std::map<std::string, std::string> context;  // machine and build facts
  std::vector<std::string> notes;              // printed under the tables
  int repetitions = 0;
  TimeBasis basis = TimeBasis::kCpu;
  // Every instance that ran, on both clocks (JSON only).
  std::map<std::string, std::pair<std::optional<Stat>, std::optional<Stat>>>
      all_cpu_wall;
};

// Median, min and max ns over the repetitions of one instance.
std::optional<Stat> TimeStat(const std::map<std::string, Samples>& all,
                             const std::string& name, TimeBasis basis);

Report BuildReport(const CollectingReporter& reporter, TimeBasis basis,
                   const std::vector<PairSpec>& pairs,
                   const std::vector<IndexSpec>& index);

std::string FormatText(const Report& report);
std::string FormatMarkdown(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace bench
}  // namespace mmsim

#endif  // MMSIM_BENCH_BENCH_REPORT_H_
