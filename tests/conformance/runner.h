// Runs one operation sequence on the kernel oracle (and, when a simulator
// hook is given, on the simulator), comparing after every step.
#ifndef MMSIM_TESTS_CONFORMANCE_RUNNER_H_
#define MMSIM_TESTS_CONFORMANCE_RUNNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/conformance/oracle.h"
#include "tests/conformance/trace.h"

namespace mmsim {
namespace conformance {

// The simulator under test, seen through the steps of a sequence.
class SimHook {
 public:
  virtual ~SimHook() = default;
  // Builds the simulator's starting point; returns "" or an error.
  virtual std::string Init(const SeqConfig& cfg, State* initial) = 0;
  virtual State Apply(const Op& op) = 0;
};

// Produces the ops of a sequence: returns false when the sequence is over.
using OpSource = std::function<bool(const State& kernel, int step, Op* op)>;
using OpSourceFactory =
    std::function<OpSource(const Window& window, const State& initial)>;

struct LiveResult {
  std::string harness_error;  // the run could not happen (not a divergence)
  std::string host_controls;  // controls that did not hold (see oracle.h)
  int diverged_step = -1;     // -1: none; 0: initial state; k: after op k
  std::string report;         // the divergence, human readable
  Sequence seq;               // what the kernel did
};

// Runs a sequence on a fresh oracle worker. With `sim`, compares after each
// step and stops at the first divergence.
LiveResult RunLive(const std::string& name, const std::string& desc,
                   const OpSourceFactory& make, SimHook* sim);

// Replays a recorded sequence against the simulator; stops at the first
// divergence. Returns -1 or the diverging step (0 = initial state).
int Replay(const Sequence& seq, SimHook* sim, std::string* report);

// The random sequence `seed` with `nops` ops after the set-up ones.
OpSourceFactory RandomSource(uint64_t seed, int nops);
std::string RandomName(uint64_t seed);

// Runs a fixed op list live; returns the diverging step (-1: none) and
// fills *diff with the first line of the difference. `make_sim` makes a
// fresh simulator hook.
int RunOpsLive(const std::vector<Op>& ops, SimHook* sim, std::string* diff,
               std::string* harness_error);

// Shrinks a diverging op list (delta debugging: drops chunks of ops while
// the last op still diverges the same way). Returns the shortest list found.
std::vector<Op> MinimizeDivergence(
    std::vector<Op> ops,
    const std::function<std::unique_ptr<SimHook>()>& make_sim);

// Formats a divergence: the sequence, the step, all ops up to it, and both
// states.
std::string DivergenceReport(const std::string& name, const Sequence& seq,
                             int step, const State& kernel, const State& sim);

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_RUNNER_H_
