// Hand-written conformance cases: one short op sequence per rule of Linux's
// region handling. Addresses are pages relative to a base inside the
// Window, so the same case runs on any kernel's layout.
#ifndef MMSIM_TESTS_CONFORMANCE_CASES_H_
#define MMSIM_TESTS_CONFORMANCE_CASES_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/conformance/oracle.h"

namespace mmsim {
namespace conformance {

struct Case {
  std::string name;  // a C identifier (used as a test name)
  std::string rule;  // what Linux does, in one sentence
  std::function<std::vector<Op>(const Window& w)> ops;
};

const std::vector<Case>& AllCases();

// gtest prints a case by its name.
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_CASES_H_
