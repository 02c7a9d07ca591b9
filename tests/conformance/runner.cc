#include "tests/conformance/runner.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include "tests/conformance/generator.h"

namespace mmsim {
namespace conformance {

std::string RandomName(uint64_t seed) {
  return "random_" + std::to_string(seed);
}

OpSourceFactory RandomSource(uint64_t seed, int nops) {
  return [seed, nops](const Window& w, const State& initial) -> OpSource {
    auto gen = std::make_shared<OpGenerator>(seed, w, initial.counters);
    return [gen, nops](const State& kernel, int step, Op* op) {
      if (step >= nops + 3) return false;  // + the 3 setrlimit ops
      *op = gen->Next(kernel);
      return true;
    };
  };
}

std::string DivergenceReport(const std::string& name, const Sequence& seq,
                             int step, const State& kernel, const State& sim) {
  std::string r =
      "sequence " + name + ": first divergence at step " + std::to_string(step);
  if (step == 0) {
    r += " (the initial state)\n";
  } else {
    r += ": " + FormatOp(seq.steps[static_cast<size_t>(step - 1)].op) + "\n";
  }
  r += DiffStates(kernel, sim);
  r += "ops up to the divergence (reproducer):\n";
  for (int i = 0; i < step; ++i) {
    const Step& st = seq.steps[static_cast<size_t>(i)];
    r += "  " + std::to_string(i + 1) + ": " + FormatOp(st.op) + " -> " +
         (st.state.err ? std::string("-1 ") + ErrnoStr(st.state.err)
                       : std::to_string(st.state.ret)) +
         "\n";
  }
  r += "kernel state:\n" + FormatState(kernel);
  r += "simulator state:\n" + FormatState(sim);
  return r;
}

LiveResult RunLive(const std::string& name, const std::string& desc,
                   const OpSourceFactory& make, SimHook* sim) {
  LiveResult res;
  KernelOracle k;
  std::string err = k.Start(WorkerPath());
  if (!err.empty()) {
    res.harness_error = err;
    return res;
  }
  res.host_controls = CheckHostControls(k.hello(), k.config());
  Sequence& seq = res.seq;
  seq.name = name;
  seq.desc = desc;
  seq.cfg = k.config();
  seq.initial = k.initial();
  State sim_state;
  if (sim != nullptr) {
    err = sim->Init(seq.cfg, &sim_state);
    if (!err.empty()) {
      res.diverged_step = 0;
      res.report = "sequence " + name +
                   ": the simulator cannot import the "
                   "initial state: " +
                   err;
      return res;
    }
    if (!DiffStates(seq.initial, sim_state).empty()) {
      res.diverged_step = 0;
      res.report = DivergenceReport(name, seq, 0, seq.initial, sim_state);
      return res;
    }
  }
  OpSource next = make(WindowFor(seq.cfg), seq.initial);
  State cur = seq.initial;
  Op op;
  for (int step = 0; next(cur, step, &op); ++step) {
    Step st;
    st.op = op;
    err = k.Apply(op, &st.state);
    if (!err.empty()) {
      res.harness_error =
          "sequence " + name + " step " + std::to_string(step + 1) + ": " + err;
      return res;
    }
    seq.steps.push_back(st);
    cur = st.state;
    if (sim != nullptr) {
      sim_state = sim->Apply(op);
      if (!DiffStates(st.state, sim_state).empty()) {
        res.diverged_step = step + 1;
        res.report = DivergenceReport(name, seq, step + 1, st.state, sim_state);
        return res;
      }
    }
  }
  return res;
}

namespace {

// The kind of a difference, without addresses: "result: kernel ...".
std::string DiffClass(const std::string& diff) {
  std::string first = diff.substr(0, diff.find('\n'));
  std::string out;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first.compare(i, 2, "0x") == 0) {
      out += "X";
      i += 2;
      while (i < first.size() && isxdigit(static_cast<unsigned char>(first[i])))
        ++i;
      --i;
    } else if (isdigit(static_cast<unsigned char>(first[i]))) {
      out += "N";
      while (i + 1 < first.size() &&
             isdigit(static_cast<unsigned char>(first[i + 1])))
        ++i;
    } else {
      out += first[i];
    }
  }
  return out;
}

}  // namespace

int RunOpsLive(const std::vector<Op>& ops, SimHook* sim, std::string* diff,
               std::string* harness_error) {
  auto factory = [&ops](const Window&, const State&) -> OpSource {
    return [&ops](const State&, int step, Op* op) {
      if (step >= static_cast<int>(ops.size())) return false;
      *op = ops[static_cast<size_t>(step)];
      return true;
    };
  };
  LiveResult r = RunLive("minimize", "", factory, sim);
  *harness_error = r.harness_error;
  if (r.diverged_step < 0) return -1;
  size_t p = r.report.find('\n');
  *diff = p == std::string::npos ? r.report : r.report.substr(p + 1);
  return r.diverged_step;
}

std::vector<Op> MinimizeDivergence(
    std::vector<Op> ops,
    const std::function<std::unique_ptr<SimHook>()>& make_sim) {
  std::string diff, herr;
  int step = RunOpsLive(ops, make_sim().get(), &diff, &herr);
  if (step <= 0) return ops;
  ops.resize(static_cast<size_t>(step));
  const uint32_t kind = ops.back().kind;
  const std::string cls = DiffClass(diff);
  for (size_t chunk = ops.size() / 2; chunk >= 1; chunk /= 2) {
    bool progress = true;
    while (progress) {
      progress = false;
      for (size_t i = 0; i + 1 < ops.size();) {
        size_t n = std::min(chunk, ops.size() - 1 - i);
        std::vector<Op> cand(ops.begin(), ops.begin() + static_cast<long>(i));
        cand.insert(cand.end(), ops.begin() + static_cast<long>(i + n),
                    ops.end());
        std::string d;
        int s = RunOpsLive(cand, make_sim().get(), &d, &herr);
        if (herr.empty() && s == static_cast<int>(cand.size()) &&
            cand.back().kind == kind && DiffClass(d) == cls) {
          ops = cand;
          progress = true;
        } else {
          i += n;
        }
      }
    }
    if (chunk == 1) break;
  }
  return ops;
}

int Replay(const Sequence& seq, SimHook* sim, std::string* report) {
  State s;
  std::string err = sim->Init(seq.cfg, &s);
  if (!err.empty()) {
    *report = "sequence " + seq.name +
              ": the simulator cannot import the initial state: " + err;
    return 0;
  }
  if (!DiffStates(seq.initial, s).empty()) {
    *report = DivergenceReport(seq.name, seq, 0, seq.initial, s);
    return 0;
  }
  for (size_t i = 0; i < seq.steps.size(); ++i) {
    s = sim->Apply(seq.steps[i].op);
    if (!DiffStates(seq.steps[i].state, s).empty()) {
      *report = DivergenceReport(seq.name, seq, static_cast<int>(i + 1),
                                 seq.steps[i].state, s);
      return static_cast<int>(i + 1);
    }
  }
  return -1;
}

}  // namespace conformance
}  // namespace mmsim
