// The kernel conformance suite (see README.md in this directory).
//
//  GoldenReplay/*   replays the recorded kernel answers in golden/ against
//                   the simulator. Runs anywhere; always a hard gate.
//  LiveCases/*      the hand-written cases, run on this host's kernel and
//  LiveRandom/*     on the simulator, compared after every step. A hard
//                   gate when `uname -r` is the golden traces' kernel;
//                   on any other kernel the differences are printed as a
//                   report (facts about that kernel, not failures).
//  LiveExtra.*      MMSIM_CONFORMANCE_SEEDS=N runs N more random seeds;
//                   MMSIM_CONFORMANCE_SEED=S runs one seed and prints its
//                   whole trace.
#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/conformance/cases.h"
#include "tests/conformance/generator.h"
#include "tests/conformance/oracle.h"
#include "tests/conformance/runner.h"
#include "tests/conformance/sim_driver.h"
#include "tests/conformance/trace.h"

namespace mmsim {
namespace conformance {
namespace {

constexpr int kCiSeeds = 200;

std::string GoldenPath() {
  const char* env = getenv("MMSIM_CONFORMANCE_GOLDEN");
  if (env != nullptr && *env != 0) return env;
  return MMSIM_CONFORMANCE_GOLDEN;
}

int EnvInt(const char* name, int def) {
  const char* env = getenv(name);
  return env != nullptr && *env != 0 ? atoi(env) : def;
}

int OpsPerSeq() { return EnvInt("MMSIM_CONFORMANCE_OPS", kDefaultOpsPerSeq); }

const GoldenHeader& Header() {
  static const GoldenHeader* h = [] {
    auto* hdr = new GoldenHeader;
    std::vector<Sequence> seqs;
    std::string err;
    ReadGolden(GoldenPath(), hdr, &seqs, &err, /*names_only=*/true);
    return hdr;
  }();
  return *h;
}

std::string HostRelease() {
  struct utsname u;
  uname(&u);
  return u.release;
}

// The live comparison gates only on the kernel the golden traces came from.
bool OnGoldenKernel() { return HostRelease() == Header().kernel; }

bool HasFill(const std::vector<Op>& ops) {
  for (const Op& op : ops) {
    if (op.kind == kOpFillMapCount) return true;
  }
  return false;
}

class SimDriverHook : public SimHook {
 public:
  // scale_map_count: run the simulator with a small vm.max_map_count (see
  // SimDriver) for sequences that fill the address space.
  explicit SimDriverHook(bool scale_map_count = false)
      : scale_(scale_map_count) {}
  std::string Init(const SeqConfig& cfg, State* initial) override {
    uint64_t scaled = 0;
    if (scale_) {
      scaled = static_cast<uint64_t>(cfg.init.size()) + 2000;
    }
    driver_ = std::make_unique<SimDriver>(cfg, scaled);
    if (!driver_->error().empty()) return driver_->error();
    *initial = driver_->Snapshot(0, 0);
    return "";
  }
  State Apply(const Op& op) override { return driver_->Apply(op); }

 private:
  bool scale_;
  std::unique_ptr<SimDriver> driver_;
};

// Reports a live result: a failure on the golden kernel, a printed report
// elsewhere.
void Judge(const LiveResult& r) {
  bool gate = OnGoldenKernel();
  std::string where = "host kernel " + HostRelease() + ", golden traces from " +
                      (Header().kernel.empty() ? "(none)" : Header().kernel);
  if (!r.harness_error.empty()) {
    if (gate) {
      FAIL() << "harness error (" << where << "): " << r.harness_error;
    }
    GTEST_SKIP() << "cannot run the kernel oracle here (" << where
                 << "): " << r.harness_error;
  }
  if (!r.host_controls.empty()) {
    if (gate) FAIL() << "host controls did not hold: " << r.host_controls;
    GTEST_SKIP() << "host controls did not hold: " << r.host_controls;
  }
  if (r.diverged_step < 0) return;
  if (gate) {
    ADD_FAILURE() << "kernel and simulator differ (" << where << ")\n"
                  << r.report;
  } else {
    std::cout << "[conformance report, not a failure: " << where << "]\n"
              << r.report << std::flush;
  }
}

// On the golden kernel, a live run whose starting point equals the recorded
// one must also reproduce the recorded kernel answers; otherwise the golden
// traces are stale (the generator, a case or the worker changed without a
// regeneration). Returns "" or what differs.
// `complete`: the live run was not cut short by a divergence.
std::string CheckGoldenFresh(const Sequence& live, bool complete) {
  if (!OnGoldenKernel()) return "";
  GoldenHeader h;
  std::vector<Sequence> seqs;
  std::string err;
  if (!ReadGolden(GoldenPath(), &h, &seqs, &err, false, live.name) ||
      seqs.size() != 1) {
    return "";  // GoldenTraces.CoverTheCiSeedsAndEveryCase reports it
  }
  const Sequence& g = seqs[0];
  if (g.initial.regions != live.initial.regions || g.cfg.brk != live.cfg.brk) {
    return "";  // another build of the worker: a different starting point
  }
  size_t n = std::min(g.steps.size(), live.steps.size());
  for (size_t i = 0; i < n; ++i) {
    const Op& a = g.steps[i].op;
    const Op& b = live.steps[i].op;
    bool same_op = a.kind == b.kind;
    for (int k = 0; k < 6; ++k) same_op = same_op && a.a[k] == b.a[k];
    std::string d = same_op ? DiffStates(g.steps[i].state, live.steps[i].state)
                            : "op differs: golden " + FormatOp(a) + ", live " +
                                  FormatOp(b) + "\n";
    if (!d.empty()) {
      return "golden traces are stale at step " + std::to_string(i + 1) +
             " of " + live.name + " (regenerate: " + h.regenerate +
             ")\nbelow, \"kernel\" is the recorded answer and \"simulator\" "
             "is this kernel's live answer:\n" +
             d;
    }
  }
  if (complete && g.steps.size() != live.steps.size()) {
    return "golden traces are stale: " + live.name + " has " +
           std::to_string(g.steps.size()) + " recorded steps, the live run " +
           std::to_string(live.steps.size());
  }
  return "";
}

// --- live random sequences ---

class LiveRandom : public testing::TestWithParam<int> {};

TEST_P(LiveRandom, MatchesKernel) {
  uint64_t seed = static_cast<uint64_t>(GetParam());
  SimDriverHook sim;
  LiveResult r =
      RunLive(RandomName(seed), "random seed " + std::to_string(seed),
              RandomSource(seed, OpsPerSeq()), &sim);
  if (r.diverged_step >= 0) {
    r.report = "seed " + std::to_string(seed) +
               " (rerun: MMSIM_CONFORMANCE_SEED=" + std::to_string(seed) +
               " conformance_test --gtest_filter="
               "LiveExtra.OneSeed)\n" +
               r.report;
  }
  Judge(r);
  if (r.harness_error.empty()) {
    std::string stale = CheckGoldenFresh(r.seq, r.diverged_step < 0);
    EXPECT_TRUE(stale.empty()) << stale;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, LiveRandom, testing::Range(1, kCiSeeds + 1),
                         [](const testing::TestParamInfo<int>& i) {
                           return "seed_" + std::to_string(i.param);
                         });

// --- hand-written cases ---

class LiveCases : public testing::TestWithParam<Case> {};

TEST_P(LiveCases, MatchesKernel) {
  const Case& c = GetParam();
  SimDriverHook sim(HasFill(c.ops(Window())));
  auto factory = [&c](const Window& w, const State&) -> OpSource {
    auto ops = std::make_shared<std::vector<Op>>(c.ops(w));
    return [ops](const State&, int step, Op* op) {
      if (step >= static_cast<int>(ops->size())) return false;
      *op = (*ops)[static_cast<size_t>(step)];
      return true;
    };
  };
  LiveResult r = RunLive(c.name, c.rule, factory, &sim);
  if (r.diverged_step >= 0) r.report = "rule: " + c.rule + "\n" + r.report;
  Judge(r);
  if (r.harness_error.empty()) {
    std::string stale = CheckGoldenFresh(r.seq, r.diverged_step < 0);
    EXPECT_TRUE(stale.empty()) << stale;
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, LiveCases, testing::ValuesIn(AllCases()),
                         [](const testing::TestParamInfo<Case>& i) {
                           return i.param.name;
                         });

// --- golden traces ---

std::vector<std::string> GoldenNames() {
  GoldenHeader h;
  std::vector<Sequence> seqs;
  std::string err;
  std::vector<std::string> names;
  if (!ReadGolden(GoldenPath(), &h, &seqs, &err, /*names_only=*/true)) {
    names.push_back("MISSING");
    return names;
  }
  for (const Sequence& s : seqs) names.push_back(s.name);
  return names;
}

class GoldenReplay : public testing::TestWithParam<std::string> {};

TEST_P(GoldenReplay, SimulatorMatchesRecordedKernel) {
  GoldenHeader h;
  std::vector<Sequence> seqs;
  std::string err;
  ASSERT_TRUE(ReadGolden(GoldenPath(), &h, &seqs, &err, false, GetParam()))
      << err << "\nregenerate with: " << h.regenerate;
  ASSERT_EQ(seqs.size(), 1u)
      << "no sequence " << GetParam() << " in " << GoldenPath();
  std::vector<Op> ops;
  for (const Step& st : seqs[0].steps) ops.push_back(st.op);
  SimDriverHook sim(HasFill(ops));
  std::string report;
  int step = Replay(seqs[0], &sim, &report);
  EXPECT_EQ(step, -1)
      << "simulator differs from the kernel answers recorded on " << h.kernel
      << " (" << GoldenPath() << ")\n"
      << report;
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenReplay, testing::ValuesIn(GoldenNames()),
                         [](const testing::TestParamInfo<std::string>& i) {
                           return i.param;
                         });

TEST(GoldenTraces, CoverTheCiSeedsAndEveryCase) {
  std::vector<std::string> names = GoldenNames();
  std::set<std::string> have(names.begin(), names.end());
  for (const Case& c : AllCases()) {
    EXPECT_TRUE(have.count(c.name))
        << c.name << " missing from " << GoldenPath();
  }
  int random = 0;
  for (const std::string& n : names) random += n.rfind("random_", 0) == 0;
  EXPECT_GE(random, kCiSeeds);
  EXPECT_FALSE(Header().kernel.empty());
}

// --- long runs and single seeds ---

TEST(LiveExtra, ManySeeds) {
  int n = EnvInt("MMSIM_CONFORMANCE_SEEDS", 0);
  if (n <= 0) GTEST_SKIP() << "set MMSIM_CONFORMANCE_SEEDS=N to run N seeds";
  int first = EnvInt("MMSIM_CONFORMANCE_FIRST_SEED", 1000);
  int failed = 0, errors = 0;
  std::string first_report;
  for (int seed = first; seed < first + n; ++seed) {
    SimDriverHook sim;
    LiveResult r =
        RunLive(RandomName(static_cast<uint64_t>(seed)), "",
                RandomSource(static_cast<uint64_t>(seed), OpsPerSeq()), &sim);
    if (!r.harness_error.empty()) {
      ++errors;
      if (first_report.empty()) first_report = r.harness_error;
    } else if (r.diverged_step >= 0) {
      ++failed;
      std::cout
          << "seed " << seed << " diverges at step " << r.diverged_step << ": "
          << FormatOp(
                 r.seq.steps.empty() || r.diverged_step == 0
                     ? Op()
                     : r.seq.steps[static_cast<size_t>(r.diverged_step - 1)]
                           .op);
      size_t nl = r.report.find('\n');
      if (nl != std::string::npos) {
        std::cout << " | "
                  << r.report.substr(nl + 1,
                                     r.report.find('\n', nl + 1) - nl - 1);
      }
      std::cout << "\n";
      if (first_report.empty()) first_report = r.report;
    }
  }
  std::cout << n << " seeds: " << failed << " diverge, " << errors
            << " harness errors\n";
  LiveResult summary;
  if (failed + errors > 0) {
    summary.diverged_step = 1;
    summary.report = std::to_string(failed) + " of " + std::to_string(n) +
                     " seeds diverge; the first:\n" + first_report;
  }
  Judge(summary);
}

TEST(LiveExtra, OneSeed) {
  int seed = EnvInt("MMSIM_CONFORMANCE_SEED", -1);
  if (seed < 0) GTEST_SKIP() << "set MMSIM_CONFORMANCE_SEED=S";
  SimDriverHook sim;
  LiveResult r =
      RunLive(RandomName(static_cast<uint64_t>(seed)), "",
              RandomSource(static_cast<uint64_t>(seed), OpsPerSeq()), &sim);
  for (size_t i = 0; i < r.seq.steps.size(); ++i) {
    const Step& st = r.seq.steps[i];
    std::cout << i + 1 << ": " << FormatOp(st.op) << " -> "
              << (st.state.err ? std::string("-1 ") + ErrnoStr(st.state.err)
                               : std::to_string(st.state.ret))
              << "\n";
  }
  Judge(r);
}

// MMSIM_CONFORMANCE_MINIMIZE=S shrinks the divergence of seed S to a short
// reproducer (delta debugging on the live kernel) and prints it.
TEST(LiveExtra, Minimize) {
  int seed = EnvInt("MMSIM_CONFORMANCE_MINIMIZE", -1);
  if (seed < 0) GTEST_SKIP() << "set MMSIM_CONFORMANCE_MINIMIZE=S";
  SimDriverHook sim;
  LiveResult r =
      RunLive(RandomName(static_cast<uint64_t>(seed)), "",
              RandomSource(static_cast<uint64_t>(seed), OpsPerSeq()), &sim);
  ASSERT_TRUE(r.harness_error.empty()) << r.harness_error;
  if (r.diverged_step < 0)
    GTEST_SKIP() << "seed " << seed << " does not diverge";
  std::vector<Op> ops;
  for (const Step& st : r.seq.steps) ops.push_back(st.op);
  std::vector<Op> min = MinimizeDivergence(
      ops, [] { return std::unique_ptr<SimHook>(new SimDriverHook); });
  std::string diff, herr;
  SimDriverHook sim2;
  int step = RunOpsLive(min, &sim2, &diff, &herr);
  std::cout << "seed " << seed << ": " << ops.size() << " ops -> " << min.size()
            << " ops, diverging at step " << step << "\n";
  for (const Op& op : min) std::cout << "  " << FormatOp(op) << "\n";
  std::cout << diff.substr(0, diff.find("ops up to")) << std::flush;
}

}  // namespace
}  // namespace conformance
}  // namespace mmsim
