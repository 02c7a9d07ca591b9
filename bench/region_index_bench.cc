// Which ordered map should hold the region index? A standalone copy of
// MmStruct's keyed structure (key vm_end, value a whole Vma, as
// core/mm_struct.h's VmaMap), timed as absl::btree_map and as std::map on
// the operations MmStruct performs: find_vma (upper_bound) at random and at
// sequential addresses, insert/erase churn, and the in-order walk behind
// /proc/PID/maps and fork. Only the container differs between the two.
//
// bench_main.cc prints btree / std::map per operation after the run.
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/vma.h"

namespace mmsim {
namespace {

constexpr uint64_t kBase = uint64_t{0x10000000};
constexpr size_t kTableSize = size_t{1} << 16;  // power of two
constexpr uint64_t kSeed = 0x6d6d73696d;

// Counts the bytes a map allocates, to report its footprint per region.
// Used only for an untimed copy of the map.
struct AllocStats {
  static inline int64_t bytes = 0;
};
template <typename T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <typename U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT: rebind
  T* allocate(size_t n) {
    AllocStats::bytes += static_cast<int64_t>(n * sizeof(T));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    AllocStats::bytes -= static_cast<int64_t>(n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const CountingAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CountingAllocator<U>&) const {
    return false;
  }
};

using Entry = std::pair<const uint64_t, Vma>;

struct Btree {
  using Map = absl::btree_map<uint64_t, Vma>;  // what core/mm_struct.h uses
  using CountedMap = absl::btree_map<uint64_t, Vma, std::less<uint64_t>,
                                     CountingAllocator<Entry>>;
};
// Not a candidate the issue named, but what the profile of
// BM_Sim_FindVma points to: with a 104-byte Vma in each slot an absl node
// holds only ~4 slots (256-byte target), so 65,530 regions make a tree ~8
// levels deep with one cache line per key compared. Keeping the Vma out of
// line makes 16-byte slots, ~15 per node, about half the depth, at the cost
// of one pointer chase to the Vma.
struct BtreePtr {
  using Map = absl::btree_map<uint64_t, std::unique_ptr<Vma>>;
  using CountedMap = absl::btree_map<
      uint64_t, std::unique_ptr<Vma>, std::less<uint64_t>,
      CountingAllocator<std::pair<const uint64_t, std::unique_ptr<Vma>>>>;
};
struct StdMap {
  using Map = std::map<uint64_t, Vma>;
  using CountedMap =
      std::map<uint64_t, Vma, std::less<uint64_t>, CountingAllocator<Entry>>;
};

Vma MakeVma(uint64_t i) {
  Vma v;
  v.vm_start = kBase + i * kPageSize;
  v.vm_end = v.vm_start + kPageSize;
  v.vm_flags = kVmMayread | kVmMaywrite | kVmMayexec | kVmRead |
               ((i % 2) ? kVmWrite : 0);
  v.vm_pgoff = v.vm_start >> kPageShift;
  return v;
}

// The Vma behind a map value, stored inline or out of line.
const Vma& Deref(const Vma& v) { return v; }
const Vma& Deref(const std::unique_ptr<Vma>& v) { return *v; }
template <typename V>
V MakeValue(uint64_t i);
template <>
Vma MakeValue<Vma>(uint64_t i) {
  return MakeVma(i);
}
template <>
std::unique_ptr<Vma> MakeValue<std::unique_ptr<Vma>>(uint64_t i) {
  return std::make_unique<Vma>(MakeVma(i));
}

// n adjacent one-page regions from kBase, inserted in address order (as a
// process grows), keyed by vm_end.
template <typename M>
M BuildIndex(uint64_t n) {
  M m;
  for (uint64_t i = 0; i < n; ++i) {
    auto v = MakeValue<typename M::mapped_type>(i);
    const uint64_t key = Deref(v).vm_end;
    m.emplace_hint(m.end(), key, std::move(v));
  }
  return m;
}

// Bytes the map allocates per region (the out-of-line Vma included).
template <typename Tag>
double BytesPerRegion(uint64_t n) {
  const int64_t before = AllocStats::bytes;
  typename Tag::CountedMap m = BuildIndex<typename Tag::CountedMap>(n);
  double extra = 0;
  if constexpr (std::is_same_v<typename Tag::Map::mapped_type,
                               std::unique_ptr<Vma>>) {
    extra = sizeof(Vma);
  }
  return static_cast<double>(AllocStats::bytes - before) /
             static_cast<double>(n) +
         extra;
}

std::vector<uint64_t> RandomAddrs(uint64_t n) {
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<uint64_t> off(0, n * kPageSize - 1);
  std::vector<uint64_t> addrs(kTableSize);
  for (uint64_t& a : addrs) a = kBase + off(rng);
  return addrs;
}

// find_vma: the first region with addr < vm_end.
template <typename Tag>
void BM_IndexLookupRandom(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const typename Tag::Map m = BuildIndex<typename Tag::Map>(n);
  const std::vector<uint64_t> addrs = RandomAddrs(n);
  size_t i = 0;
  for (auto _ : state) {
    auto it = m.upper_bound(addrs[i++ & (kTableSize - 1)]);
    benchmark::DoNotOptimize(Deref(it->second).vm_start);
  }
  state.counters["bytes_per_region"] = BytesPerRegion<Tag>(n);
}

template <typename Tag>
void BM_IndexLookupSequential(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const typename Tag::Map m = BuildIndex<typename Tag::Map>(n);
  uint64_t page = 0;
  for (auto _ : state) {
    auto it = m.upper_bound(kBase + page * kPageSize);
    benchmark::DoNotOptimize(Deref(it->second).vm_start);
    if (++page == n) page = 0;
  }
}

// One iteration erases a random region and inserts it again (what munmap +
// mmap of one region do to the index); the size stays n.
template <typename Tag>
void BM_IndexChurn(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  typename Tag::Map m = BuildIndex<typename Tag::Map>(n);
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<uint64_t> pick(0, n - 1);
  std::vector<uint64_t> keys(kTableSize);
  for (uint64_t& k : keys) k = kBase + (pick(rng) + 1) * kPageSize;
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t key = keys[i++ & (kTableSize - 1)];
    auto it = m.find(key);
    auto v = std::move(it->second);
    m.erase(it);
    m.emplace(key, std::move(v));
  }
}

// The in-order walk (proc maps, fork, exit): time per region.
template <typename Tag>
void BM_IndexWalk(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const typename Tag::Map m = BuildIndex<typename Tag::Map>(n);
  for (auto _ : state) {
    uint64_t pages = 0;
    for (const auto& [end, vma] : m) pages += (end - Deref(vma).vm_start);
    benchmark::DoNotOptimize(pages);
  }
  // Regions per second, inverted: seconds per region (shown as "3.5ns").
  state.counters["time_per_region"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
}

BENCHMARK_TEMPLATE(BM_IndexLookupRandom, Btree)->Arg(1000)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexLookupRandom, StdMap)->Arg(1000)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexLookupRandom, BtreePtr)->Arg(1000)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexLookupSequential, Btree)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexLookupSequential, StdMap)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexLookupSequential, BtreePtr)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexChurn, Btree)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexChurn, StdMap)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexChurn, BtreePtr)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexWalk, Btree)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexWalk, StdMap)->Arg(65530);
BENCHMARK_TEMPLATE(BM_IndexWalk, BtreePtr)->Arg(65530);

}  // namespace
}  // namespace mmsim
