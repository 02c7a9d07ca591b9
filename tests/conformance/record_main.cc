// conformance_record: runs the conformance sequences (every hand-written
// case and random seeds 1..N) on this host's kernel only and writes the
// answers as a golden trace file (format: trace.h, README.md).
//
//   conformance_record --out tests/conformance/golden/linux-golden.txt
//                      [--seeds 200] [--ops 120]
#include <sys/utsname.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/conformance/cases.h"
#include "tests/conformance/generator.h"
#include "tests/conformance/oracle.h"
#include "tests/conformance/runner.h"
#include "tests/conformance/trace.h"

using namespace mmsim::conformance;  // NOLINT: a small tool

int main(int argc, char** argv) {
  std::string out_path;
  int seeds = 200, ops = kDefaultOpsPerSeq;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--seeds" && i + 1 < argc) {
      seeds = atoi(argv[++i]);
    } else if (a == "--ops" && i + 1 < argc) {
      ops = atoi(argv[++i]);
    } else {
      std::cerr << "usage: " << argv[0]
                << " --out FILE [--seeds N] [--ops N]\n";
      return 2;
    }
  }
  if (out_path.empty()) {
    std::cerr << "--out is required\n";
    return 2;
  }
  std::ostringstream body;
  GoldenHeader h;
  std::string host;
  auto record = [&](const LiveResult& r) -> bool {
    if (!r.harness_error.empty()) {
      std::cerr << "error: " << r.harness_error << "\n";
      return false;
    }
    if (!r.host_controls.empty()) {
      std::cerr << "error: host controls did not hold: " << r.host_controls
                << "\n";
      return false;
    }
    WriteSequence(body, r.seq);
    return true;
  };
  for (const Case& c : AllCases()) {
    auto factory = [&c](const Window& w, const State&) -> OpSource {
      auto v = std::make_shared<std::vector<Op>>(c.ops(w));
      return [v](const State&, int step, Op* op) {
        if (step >= static_cast<int>(v->size())) return false;
        *op = (*v)[static_cast<size_t>(step)];
        return true;
      };
    };
    if (!record(RunLive(c.name, c.rule, factory, nullptr))) return 1;
  }
  for (int seed = 1; seed <= seeds; ++seed) {
    LiveResult r =
        RunLive(RandomName(static_cast<uint64_t>(seed)),
                "random seed " + std::to_string(seed),
                RandomSource(static_cast<uint64_t>(seed), ops), nullptr);
    if (!record(r)) return 1;
  }
  // The host facts, from one more worker.
  KernelOracle k;
  std::string err = k.Start(WorkerPath());
  if (!err.empty()) {
    std::cerr << err << "\n";
    return 1;
  }
  const Hello& hl = k.hello();
  std::ostringstream hs;
  hs << "mmap_min_addr=" << hl.mmap_min_addr << " hint_min_addr=0x" << std::hex
     << hl.hint_min_addr << std::dec << " max_map_count=" << hl.max_map_count
     << " overcommit_memory=" << hl.overcommit_memory
     << " rlimit_memlock_max=" << hl.rlim_max[kRlimMemlock] << " thp_enabled=\""
     << hl.thp_enabled << "\" shmem_enabled=\"" << hl.shmem_enabled << "\"";
  h.kernel = hl.release;
  h.host = hs.str();
  h.regenerate =
      "cmake --build <build> --target conformance_golden  (runs: "
      "conformance_record --out tests/conformance/golden/linux-golden.txt "
      "--seeds " +
      std::to_string(seeds) + " --ops " + std::to_string(ops) + ")";
  std::ofstream out(out_path);
  if (!out) {
    std::cerr << "cannot write " << out_path << "\n";
    return 1;
  }
  WriteHeader(out, h);
  out << body.str();
  std::cerr << "wrote " << out_path << " (kernel " << h.kernel << ")\n";
  return 0;
}
