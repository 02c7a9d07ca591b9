// Golden traces: the kernel's answers to the conformance sequences, recorded
// on one kernel and replayed against the simulator on any machine.
//
// Text format (one file, line oriented; see README.md):
//   mmsim-golden 1
//   kernel <uname -r of the recording kernel>
//   regenerate <command>
//   host <informational key=value pairs>
//   seq <name>                     one block per sequence
//   desc <text>
//   cfg mmap_base=<hex> mmap_min_addr=<hex> max_map_count=<dec>
//       thp_align=<0|1> rlim_as=<hex>/<hex> rlim_data=.. rlim_memlock=..
//       rlim_stack=<hex>                       (one line)
//   layout start_code=<hex> ... env_end=<hex>  (one line)
//   file <k> <ino> <major> <minor> <size> <maps name>
//   init <a /proc/self/maps line of the worker at start>
//   c <counters of the initial state>
//   b <brk of the initial state, hex>
//   op <kind> <a0> .. <a5>          (hex) then the kernel's answer:
//   = <ret> <errno> <name>
//   - <region> / + <region>         regions that went away / appeared
//   c <counters>                    when they changed
//   b <brk>                         when it changed
//   u                               regions unknown (maps too big to send)
//   R                               region list restarts (after u)
//   end
#ifndef MMSIM_TESTS_CONFORMANCE_TRACE_H_
#define MMSIM_TESTS_CONFORMANCE_TRACE_H_

#include <ostream>
#include <string>
#include <vector>

#include "tests/conformance/oracle.h"

namespace mmsim {
namespace conformance {

struct Step {
  Op op;
  State state;  // the kernel's answer and state after op
};

struct Sequence {
  std::string name;
  std::string desc;
  SeqConfig cfg;
  State initial;
  std::vector<Step> steps;
};

struct GoldenHeader {
  std::string kernel;
  std::string regenerate;
  std::string host;
};

void WriteHeader(std::ostream& out, const GoldenHeader& h);
void WriteSequence(std::ostream& out, const Sequence& s);

// Reads a golden file. With names_only, sequences have only their names;
// with `only`, just that sequence is read.
bool ReadGolden(const std::string& path, GoldenHeader* h,
                std::vector<Sequence>* seqs, std::string* error,
                bool names_only = false, const std::string& only = "");

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_TRACE_H_
