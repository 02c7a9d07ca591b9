#include "tests/conformance/runner.h"

#include <memory>

#include "tests/conformance/generator.h"

namespace mmsim {
namespace conformance {

std::string RandomName(uint64_t seed) { return "random_" + std::to_string(seed); }

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
  std::string r = "sequence " + name + ": first divergence at step " +
                  std::to_string(step);
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
      res.report = "sequence " + name + ": the simulator cannot import the "
                   "initial state: " + err;
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
      res.harness_error = "sequence " + name + " step " +
                          std::to_string(step + 1) + ": " + err;
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
