// mmsim_scrape_bench: what one Prometheus scrape of mmsimd costs with many
// processes. One iteration is MmMetricsCollector::Collect() (one pass over
// every mm, the top-N heap, the system and event counters) plus
// prometheus::TextSerializer, the work the exposer does per GET /metrics.
//
//   BM_Scrape/N   N processes, each the default exec layout (7 regions);
//                 one process in 100 has 4 resident pages so the top-N
//                 selection has something to rank. Default per-pid limit
//                 (--metrics_top_pids=10). Counter bytes_per_scrape.
#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/mm_registry.h"
#include "prometheus/text_serializer.h"
#include "server/metrics_collector.h"

namespace mmsim {
namespace {

void BM_Scrape(benchmark::State& state) {
  const int processes = static_cast<int>(state.range(0));
  MmRegistry registry;
  for (int i = 0; i < processes; ++i) {
    absl::StatusOr<int> pid =
        registry.CreateProcess(ExecImage(), registry.default_config());
    if (!pid.ok()) {
      state.SkipWithError("CreateProcess failed");
      return;
    }
    if (i % 100 != 0) continue;
    absl::StatusOr<MmRef> mm = registry.MmGet(*pid);
    const uint64_t heap = (*mm)->Counters().layout.start_brk;
    for (int page = 0; page < 4; ++page) {
      (*mm)->HandleMmFault(heap + page * kPageSize, FaultAccess::kWrite);
    }
  }
  server::MmMetricsCollector collector(&registry, server::MetricsOptions());
  const prometheus::TextSerializer serializer;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = serializer.Serialize(collector.Collect());
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes_per_scrape"] = static_cast<double>(bytes);
  state.counters["processes"] = processes;
}
BENCHMARK(BM_Scrape)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
}  // namespace mmsim

BENCHMARK_MAIN();
