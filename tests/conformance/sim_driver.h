// The simulator side of the conformance suite: an MmStruct built from the
// oracle worker's starting point (its /proc/self/maps, layout, limits and
// sysctls), to which the same ops are applied.
#ifndef MMSIM_TESTS_CONFORMANCE_SIM_DRIVER_H_
#define MMSIM_TESTS_CONFORMANCE_SIM_DRIVER_H_

#include <memory>
#include <string>

#include "core/mm_struct.h"
#include "core/vma.h"
#include "tests/conformance/oracle.h"

namespace mmsim {
namespace conformance {

class SimDriver {
 public:
  // Imports cfg.init region by region. The imported regions never merge
  // with anything: each file region gets its own SimFile, each anonymous
  // one its own anon_vma, and [vvar]/[vdso] are special (VM_IO |
  // VM_DONTEXPAND), as Linux's are.
  explicit SimDriver(const SeqConfig& cfg);

  // "" or why the import failed.
  const std::string& error() const { return error_; }

  // Applies one op and returns the resulting state.
  State Apply(const Op& op);
  // The state now, with the given result.
  State Snapshot(int64_t ret, int64_t err) const;
  MmStruct& mm() { return *mm_; }

 private:
  SeqConfig cfg_;
  std::unique_ptr<MmStruct> mm_;
  std::shared_ptr<const SimFile> files_[kNumFiles];
  std::string error_;
};

// The MmConfig that mirrors the worker's host settings.
MmConfig SimConfigFor(const SeqConfig& cfg);

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_SIM_DRIVER_H_
