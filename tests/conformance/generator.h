// Seeded random operation sequences for the conformance suite, weighted
// toward the edges where Linux's answers are subtle: adjacent mappings with
// equal and unequal properties (merges), partial ranges (splits), holes,
// and invalid arguments. Every op that can change the address space stays
// inside the Window, so the oracle worker's own mappings are never touched.
//
// The generator looks only at the kernel's state (the previous step's
// State), so a seed gives the same op sequence on the same kernel whatever
// the simulator does.
#ifndef MMSIM_TESTS_CONFORMANCE_GENERATOR_H_
#define MMSIM_TESTS_CONFORMANCE_GENERATOR_H_

#include <cstdint>
#include <vector>

#include "tests/conformance/oracle.h"

namespace mmsim {
namespace conformance {

class OpGenerator {
 public:
  OpGenerator(uint64_t seed, const Window& window, const Counters& initial);

  // Returns the next op given the kernel's current state.
  Op Next(const State& state);

 private:
  struct Span {
    uint64_t lo, hi;
  };
  uint64_t Rand();
  uint64_t Below(uint64_t n);  // uniform in [0, n), n > 0
  bool Chance(int percent);
  uint64_t SmallPages();
  int RandomProt();
  int ExtraMapFlags();
  // Regions (clipped) inside the windows.
  std::vector<Region> WindowRegions(const State& s) const;
  // An interesting page-aligned address inside a window.
  uint64_t InterestingAddr(const std::vector<Region>& rs);
  // A range [lo, hi) inside one window, starting/ending near boundaries.
  Span InterestingRange(const std::vector<Region>& rs);
  Span Clip(uint64_t lo, uint64_t hi) const;
  Op MmapOp(const State& s, const std::vector<Region>& rs);
  Op InvalidOp(const std::vector<Region>& rs);
  Op MremapOp(const std::vector<Region>& rs);
  // A read/write/exec access in, just below or just past a region.
  Op TouchOp(const State& s, const std::vector<Region>& rs);
  // An address for a touch (not page aligned).
  uint64_t TouchAddr(const std::vector<Region>& rs);

  uint64_t state_;
  Window w_;
  Counters initial_;
  int step_ = 0;
};

// Returns the ops of random sequence `seed`: the generator driven by a
// kernel oracle (for recording) is in the runner; this helper exists for
// tests of the generator itself.
inline constexpr int kDefaultOpsPerSeq = 120;

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_GENERATOR_H_
