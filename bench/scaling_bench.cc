// In-process scaling of core's locks: the same work from 1 and 2 threads.
//   BM_Scale_FaultsOneMm      read faults on resident pages of one shared mm
//                             (mmap_sem readers, page_table_lock)
//   BM_Scale_FaultsPrivateMms the same, each thread on its own mm
//   BM_Scale_ChurnOneMm       mmap/mprotect/munmap in per-thread windows of
//                             one shared mm (mmap_sem writers)
//   BM_Scale_MixedOneMm       one thread faults, the other churns (readers
//                             blocked by writers); items are faults only
//   ...PerVma                 the same with MmConfig::per_vma_lock: faults
//                             lock their region's range, not mmap_sem
// Items/s at threads:2 over threads:1 is the scaling ratio
// (bench/scaling_report.py prints it; targets in bench/README.md).
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/mm_registry.h"

namespace mmsim::bench {
namespace {

constexpr uint64_t kPages = 4096;
constexpr uint64_t kWindowPages = 64;

struct World {
  World(int mms, bool per_vma_lock) {
    SystemConfig config;
    config.phys.frames = 1 << 20;
    config.mm.per_vma_lock = per_vma_lock;
    system = std::make_unique<MmRegistry>(config);
    for (int i = 0; i < mms; ++i) {
      const int pid = *system->CreateProcess(ExecImage(), config.mm);
      refs.push_back(*system->MmGet(pid));
      MmapArgs args;
      args.len = kPages * kPageSize;
      args.prot = kProtRead | kProtWrite;
      args.flags = kMapPrivate | kMapAnonymous | kMapPopulate;
      bases.push_back(*refs.back()->DoMmap(args));
      for (int w = 0; w < 2; ++w) {
        MmapArgs window;
        window.len = kWindowPages * kPageSize;
        window.prot = kProtNone;
        windows.push_back(*refs.back()->DoMmap(window));
      }
    }
  }
  std::unique_ptr<MmRegistry> system;
  std::vector<MmRef> refs;
  std::vector<uint64_t> bases;
  std::vector<uint64_t> windows;  // two per mm
};

World* g_world = nullptr;

// Thread 0 builds the world before the timed loop starts (the loop's start
// is a barrier for all threads) and destroys it after.
void SetUpWorld(benchmark::State& state, int mms, bool per_vma_lock = false) {
  if (state.thread_index() == 0) g_world = new World(mms, per_vma_lock);
}
void TearDownWorld(benchmark::State& state) {
  if (state.thread_index() == 0) {
    delete g_world;
    g_world = nullptr;
  }
}

// The world is read inside the loop: its first iteration is the barrier
// after which thread 0's set-up is visible.
void Faults(benchmark::State& state, int mm_index) {
  MmStruct* mm = nullptr;
  uint64_t base = 0;
  uint64_t page = static_cast<uint64_t>(state.thread_index()) * 977;
  for (auto _ : state) {
    if (mm == nullptr) {
      mm = g_world->refs[mm_index].get();
      base = g_world->bases[mm_index];
    }
    benchmark::DoNotOptimize(mm->HandleMmFault(
        base + (page++ % kPages) * kPageSize, FaultAccess::kRead));
  }
  state.SetItemsProcessed(state.iterations());
}

void Churn(benchmark::State& state, int window_index) {
  MmStruct* mm = nullptr;
  uint64_t window = 0;
  uint64_t slot = 0;
  for (auto _ : state) {
    if (mm == nullptr) {
      mm = g_world->refs[0].get();
      window = g_world->windows[window_index];
    }
    MmapArgs args;
    args.addr = window + (slot++ % (kWindowPages / 4)) * 4 * kPageSize;
    args.len = 4 * kPageSize;
    args.prot = kProtRead | kProtWrite;
    args.flags = kMapPrivate | kMapAnonymous | kMapFixed;
    benchmark::DoNotOptimize(mm->DoMmap(args));
    benchmark::DoNotOptimize(
        mm->Mprotect(args.addr + kPageSize, kPageSize, kProtRead));
    benchmark::DoNotOptimize(mm->DoMunmap(args.addr, 4 * kPageSize));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Scale_FaultsOneMm(benchmark::State& state) {
  SetUpWorld(state, 1);
  Faults(state, 0);
  TearDownWorld(state);
}

void BM_Scale_FaultsPrivateMms(benchmark::State& state) {
  SetUpWorld(state, 2);
  Faults(state, state.thread_index());
  TearDownWorld(state);
}

void BM_Scale_ChurnOneMm(benchmark::State& state) {
  SetUpWorld(state, 1);
  Churn(state, state.thread_index());
  TearDownWorld(state);
}

// Thread 0 faults, thread 1 (when there is one) churns. Only thread 0
// reports items, so items/s is fault throughput with or without a writer.
void Mixed(benchmark::State& state, bool per_vma_lock) {
  SetUpWorld(state, 1, per_vma_lock);
  if (state.thread_index() == 0) {
    Faults(state, 0);
  } else {
    Churn(state, 1);
    state.SetItemsProcessed(0);
  }
  TearDownWorld(state);
}
void BM_Scale_MixedOneMm(benchmark::State& state) { Mixed(state, false); }
void BM_Scale_MixedOneMmPerVma(benchmark::State& state) { Mixed(state, true); }

void BM_Scale_FaultsOneMmPerVma(benchmark::State& state) {
  SetUpWorld(state, 1, true);
  Faults(state, 0);
  TearDownWorld(state);
}

BENCHMARK(BM_Scale_FaultsOneMm)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Scale_FaultsPrivateMms)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Scale_ChurnOneMm)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Scale_MixedOneMm)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Scale_FaultsOneMmPerVma)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Scale_MixedOneMmPerVma)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace mmsim::bench

BENCHMARK_MAIN();
