#include "bench/bench_report.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mmsim {
namespace bench {
namespace {

double NsPerUnit(benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return 1;
    case benchmark::kMicrosecond:
      return 1e3;
    case benchmark::kMillisecond:
      return 1e6;
    case benchmark::kSecond:
      return 1e9;
  }
  return 1;
}

std::optional<double> Counter(const std::map<std::string, Samples>& all,
                              const std::string& name, const char* counter) {
  auto it = all.find(name);
  if (it == all.end()) return std::nullopt;
  auto c = it->second.counters.find(counter);
  if (c == it->second.counters.end()) return std::nullopt;
  return c->second;
}

std::string Ns(double ns) {
  if (ns >= 100) return absl::StrFormat("%.0f", ns);
  if (ns >= 10) return absl::StrFormat("%.1f", ns);
  return absl::StrFormat("%.2f", ns);
}

// "812 (790-840)": median, then the range over the repetitions.
std::string StatText(const std::optional<Stat>& st) {
  if (!st) return "n/a";
  if (st->n <= 1) return Ns(st->median);
  return absl::StrCat(Ns(st->median), " (", Ns(st->min), "-", Ns(st->max), ")");
}

std::string TargetText(const PairSpec& spec) {
  std::string t;
  if (spec.max_ratio > 0) t = absl::StrFormat("ratio <= %.2f", spec.max_ratio);
  if (spec.max_sim_ns > 0) {
    absl::StrAppend(&t, t.empty() ? "" : ", ",
                    absl::StrFormat("sim < %.0f ns", spec.max_sim_ns));
  }
  return t.empty() ? "-" : t;
}

std::string MetText(const std::optional<bool>& met) {
  if (!met) return "n/a";
  return *met ? "yes" : "NO";
}

std::string RatioText(const std::optional<double>& r) {
  return r ? absl::StrFormat("%.2f", *r) : "n/a";
}

std::string OperationText(const PairRow& row) {
  if (row.kernel_note.empty()) return row.spec.operation;
  return absl::StrCat(row.spec.operation, " [", row.kernel_note, "]");
}

std::string Winner(const IndexRow& row) {
  if (!row.ratio) return "n/a";
  if (*row.ratio < 0.95) return "btree_map";
  if (*row.ratio > 1.05) return "std::map";
  return "tie (within 5%)";
}

std::string Bytes(const std::optional<double>& b) {
  return b ? absl::StrFormat("%.0f", *b) : "n/a";
}

// The out-of-line btree variant: "97.3, 136 B".
std::string PtrText(const IndexRow& row) {
  if (!row.btree_ptr) return "n/a";
  std::string t = StatText(row.btree_ptr);
  if (row.btree_ptr_bytes) {
    absl::StrAppend(&t, ", ", Bytes(row.btree_ptr_bytes), " B");
  }
  return t;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(const std::optional<double>& v) {
  return v ? absl::StrFormat("%.6g", *v) : "null";
}

std::string JsonStat(const std::optional<Stat>& st) {
  if (!st) return "null";
  return absl::StrFormat(
      "{\"median_ns\": %.6g, \"min_ns\": %.6g, \"max_ns\": %.6g, "
      "\"repetitions\": %d}",
      st->median, st->min, st->max, st->n);
}

}  // namespace

const char* TimeBasisName(TimeBasis basis) {
  return basis == TimeBasis::kCpu ? "cpu" : "wall";
}

std::optional<Stat> TimeStat(const std::map<std::string, Samples>& all,
                             const std::string& name, TimeBasis basis) {
  auto it = all.find(name);
  if (it == all.end() || !it->second.error.empty()) return std::nullopt;
  const Samples& s = it->second;
  Stat st;
  const bool cpu = basis == TimeBasis::kCpu;
  if (s.real_ns.empty()) {
    const std::optional<double>& median =
        cpu ? s.aggregate_median_cpu_ns : s.aggregate_median_ns;
    if (!median) return std::nullopt;
    // Only aggregates were shown: no min/max, estimate them from the cv.
    st.median = *median;
    const double cv = s.aggregate_cv.value_or(0);
    st.min = st.median * (1 - cv);
    st.max = st.median * (1 + cv);
    st.n = 0;
    return st;
  }
  std::vector<double> v = cpu ? s.cpu_ns : s.real_ns;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  st.median = (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  st.min = v.front();
  st.max = v.back();
  st.n = static_cast<int>(n);
  return st;
}

bool CollectingReporter::ReportContext(const Context& context) {
  num_cpus_ = context.cpu_info.num_cpus;
  mhz_ = context.cpu_info.cycles_per_second / 1e6;
  return ConsoleReporter::ReportContext(context);
}

void CollectingReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    Samples& s = samples_[run.run_name.str()];
    if (run.error_occurred) {
      s.error = run.error_message;
      continue;
    }
    const double scale = NsPerUnit(run.time_unit);
    if (run.run_type == Run::RT_Iteration) {
      s.real_ns.push_back(run.GetAdjustedRealTime() * scale);
      s.cpu_ns.push_back(run.GetAdjustedCPUTime() * scale);
      for (const auto& [name, counter] : run.counters) {
        s.counters[name] = counter.value;
      }
    } else if (run.aggregate_name == "median") {
      s.aggregate_median_ns = run.GetAdjustedRealTime() * scale;
      s.aggregate_median_cpu_ns = run.GetAdjustedCPUTime() * scale;
      for (const auto& [name, counter] : run.counters) {
        s.counters[name] = counter.value;
      }
    } else if (run.aggregate_name == "cv") {
      // cv aggregates are reported as a fraction, not scaled by time unit.
      s.aggregate_cv = run.cpu_accumulated_time;
    }
  }
  ConsoleReporter::ReportRuns(runs);
}

Report BuildReport(const CollectingReporter& reporter, TimeBasis basis,
                   const std::vector<PairSpec>& pairs,
                   const std::vector<IndexSpec>& index) {
  const auto& all = reporter.samples();
  Report report;
  report.basis = basis;
  for (const auto& [name, s] : all) {
    report.repetitions =
        std::max(report.repetitions, static_cast<int>(s.real_ns.size()));
  }
  for (const auto& [name, s] : all) {
    report.all_cpu_wall[name] = {TimeStat(all, name, TimeBasis::kCpu),
                                 TimeStat(all, name, TimeBasis::kReal)};
  }
  for (const PairSpec& spec : pairs) {
    PairRow row;
    row.spec = spec;
    const TimeBasis row_basis = spec.basis.value_or(basis);
    row.kernel = TimeStat(all, spec.kernel, row_basis);
    row.sim = TimeStat(all, spec.sim, row_basis);
    std::optional<double> kr = Counter(all, spec.kernel, "regions");
    std::optional<double> sr = Counter(all, spec.sim, "regions");
    if (kr && sr && *kr != *sr) {
      row.kernel_note = absl::StrFormat("kernel: %.0f", *kr);
    }
    if (row.kernel && row.sim && row.kernel->median > 0) {
      row.ratio = row.sim->median / row.kernel->median;
      if (row.kernel->min > 0) row.ratio_worst = row.sim->max / row.kernel->min;
    }
    bool met = true, known = false;
    if (spec.max_ratio > 0 && row.ratio) {
      known = true;
      met = met && *row.ratio <= spec.max_ratio;
    }
    if (spec.max_sim_ns > 0 && row.sim) {
      known = true;
      met = met && row.sim->median < spec.max_sim_ns;
    }
    const bool complete =
        (spec.max_ratio == 0 || row.ratio) && (spec.max_sim_ns == 0 || row.sim);
    if (known && complete) row.met = met;
    // A row whose both sides were filtered out is left out.
    if (row.kernel || row.sim) report.pairs.push_back(std::move(row));
  }
  for (const IndexSpec& spec : index) {
    IndexRow row;
    row.spec = spec;
    row.btree = TimeStat(all, spec.btree, basis);
    row.std_map = TimeStat(all, spec.std_map, basis);
    row.btree_bytes = Counter(all, spec.btree, "bytes_per_region");
    row.std_map_bytes = Counter(all, spec.std_map, "bytes_per_region");
    row.btree_ptr = TimeStat(all, spec.btree_ptr, basis);
    row.btree_ptr_bytes = Counter(all, spec.btree_ptr, "bytes_per_region");
    if (row.btree && row.std_map && row.std_map->median > 0) {
      row.ratio = row.btree->median / row.std_map->median;
    }
    if (row.btree || row.std_map || row.btree_ptr) {
      report.index.push_back(std::move(row));
    }
  }
  return report;
}

std::string FormatText(const Report& r) {
  std::string out = absl::StrFormat(
      "\nmmsim: simulator vs kernel, %s ns per iteration, median of %d "
      "repetition(s) (range in parentheses)\n",
      TimeBasisName(r.basis), r.repetitions);
  absl::StrAppendFormat(&out, "%-56s %-20s %-20s %-6s %-27s %s\n", "operation",
                        "kernel ns", "sim ns", "ratio", "target", "met?");
  for (const PairRow& row : r.pairs) {
    absl::StrAppendFormat(&out, "%-56s %-20s %-20s %-6s %-27s %s\n",
                          OperationText(row), StatText(row.kernel),
                          StatText(row.sim), RatioText(row.ratio),
                          TargetText(row.spec), MetText(row.met));
  }
  for (const std::string& note : r.notes) {
    absl::StrAppend(&out, "- ", note, "\n");
  }
  absl::StrAppend(
      &out,
      "\nregion index: absl::btree_map vs std::map (key vm_end, value Vma)\n");
  absl::StrAppendFormat(&out, "%-38s %-24s %-26s %-9s %-16s %-16s %s\n",
                        "operation", "btree_map ns", "std::map ns", "btree/map",
                        "bytes/region", "faster", "btree<ptr> ns, bytes");
  for (const IndexRow& row : r.index) {
    std::string bytes = (row.btree_bytes || row.std_map_bytes)
                            ? absl::StrCat(Bytes(row.btree_bytes), " vs ",
                                           Bytes(row.std_map_bytes))
                            : "";
    absl::StrAppendFormat(&out, "%-38s %-24s %-26s %-9s %-16s %-16s %s\n",
                          row.spec.operation, StatText(row.btree),
                          StatText(row.std_map), RatioText(row.ratio), bytes,
                          Winner(row), PtrText(row));
  }
  for (const auto& [k, v] : r.context) {
    if (k == "warning") absl::StrAppend(&out, "\nWARNING: ", v, "\n");
  }
  return out;
}

std::string FormatMarkdown(const Report& r) {
  std::string out = "# mmsim_bench: latest results\n\n";
  for (const auto& [k, v] : r.context) {
    absl::StrAppend(&out, "- ", k, ": ", v, "\n");
  }
  absl::StrAppendFormat(
      &out,
      "\n%s ns per iteration (thread CPU time is user + system, so a "
      "syscall's kernel time counts), median of %d repetition(s); the range "
      "over the repetitions in parentheses. Ratio = sim median / kernel "
      "median.\n\n",
      r.basis == TimeBasis::kCpu ? "CPU" : "Wall", r.repetitions);
  out +=
      "| operation | kernel ns | sim ns | ratio | target | met? |\n"
      "|---|---:|---:|---:|---|---|\n";
  for (const PairRow& row : r.pairs) {
    absl::StrAppend(&out, "| ", OperationText(row), " | ", StatText(row.kernel),
                    " | ", StatText(row.sim), " | ", RatioText(row.ratio),
                    " | ", TargetText(row.spec), " | ", MetText(row.met),
                    " |\n");
  }
  out += "\n";
  for (const std::string& note : r.notes) {
    absl::StrAppend(&out, "- ", note, "\n");
  }
  out +=
      "\nRegion index, absl::btree_map vs std::map (key vm_end, value Vma):\n\n"
      "| operation | btree_map ns | std::map ns | btree/map | bytes/region "
      "(btree vs map) | faster | for reference: btree<unique_ptr<Vma>> ns, "
      "bytes |\n"
      "|---|---:|---:|---:|---|---|---|\n";
  for (const IndexRow& row : r.index) {
    std::string bytes = (row.btree_bytes || row.std_map_bytes)
                            ? absl::StrCat(Bytes(row.btree_bytes), " vs ",
                                           Bytes(row.std_map_bytes))
                            : "";
    absl::StrAppend(&out, "| ", row.spec.operation, " | ", StatText(row.btree),
                    " | ", StatText(row.std_map), " | ", RatioText(row.ratio),
                    " | ", bytes, " | ", Winner(row), " | ", PtrText(row),
                    " |\n");
  }
  return out;
}

std::string FormatJson(const Report& r) {
  std::string out = "{\n  \"context\": {";
  bool first = true;
  for (const auto& [k, v] : r.context) {
    absl::StrAppend(&out, first ? "\n" : ",\n", "    ", JsonString(k), ": ",
                    JsonString(v));
    first = false;
  }
  absl::StrAppend(&out, "\n  },\n  \"repetitions\": ", r.repetitions,
                  ",\n  \"time\": \"", TimeBasisName(r.basis),
                  " ns per iteration\",\n  \"pairs\": [");
  first = true;
  for (const PairRow& row : r.pairs) {
    absl::StrAppend(
        &out, first ? "\n" : ",\n",
        "    {\"operation\": ", JsonString(row.spec.operation),
        ", \"kernel_benchmark\": ", JsonString(row.spec.kernel),
        ", \"sim_benchmark\": ", JsonString(row.spec.sim),
        ",\n     \"kernel\": ", JsonStat(row.kernel),
        ",\n     \"sim\": ", JsonStat(row.sim),
        ",\n     \"kernel_note\": ", JsonString(row.kernel_note),
        ", \"ratio\": ", JsonNumber(row.ratio),
        ", \"ratio_worst\": ", JsonNumber(row.ratio_worst),
        ", \"target\": ", JsonString(TargetText(row.spec)),
        ", \"met\": ", row.met ? (*row.met ? "true" : "false") : "null", "}");
    first = false;
  }
  absl::StrAppend(&out, "\n  ],\n  \"region_index\": [");
  first = true;
  for (const IndexRow& row : r.index) {
    absl::StrAppend(
        &out, first ? "\n" : ",\n",
        "    {\"operation\": ", JsonString(row.spec.operation),
        ",\n     \"btree_map\": ", JsonStat(row.btree),
        ",\n     \"std_map\": ", JsonStat(row.std_map),
        ",\n     \"btree_bytes_per_region\": ", JsonNumber(row.btree_bytes),
        ", \"std_map_bytes_per_region\": ", JsonNumber(row.std_map_bytes),
        ", \"btree_over_map\": ", JsonNumber(row.ratio),
        ", \"faster\": ", JsonString(Winner(row)), "}");
    first = false;
  }
  absl::StrAppend(&out, "\n  ],\n  \"benchmarks\": {");
  first = true;
  for (const auto& [name, stats] : r.all_cpu_wall) {
    absl::StrAppend(&out, first ? "\n" : ",\n", "    ", JsonString(name),
                    ": {\"cpu\": ", JsonStat(stats.first),
                    ",\n      \"wall\": ", JsonStat(stats.second), "}");
    first = false;
  }
  absl::StrAppend(&out, "\n  }\n}\n");
  return out;
}

}  // namespace bench
}  // namespace mmsim
