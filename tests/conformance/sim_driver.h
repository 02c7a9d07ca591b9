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
  //
  // With `scaled_max_map_count` (non-zero), the simulator runs with that
  // vm.max_map_count instead of the kernel's, and after a kOpFillMapCount
  // its counters and the fill's page count are shifted by the difference,
  // so they read as the kernel's. This keeps the vm.max_map_count case fast:
  // filling 65530 regions costs O(n^2) with core's per-mutation validation
  // (78 s at -O1), and the boundary rules do not depend on the number.
  explicit SimDriver(const SeqConfig& cfg, uint64_t scaled_max_map_count = 0);

  // "" or why the import failed.
  const std::string& error() const { return error_; }

  // Applies one op and returns the resulting state.
  State Apply(const Op& op);
  // The state now, with the given result.
  State Snapshot(int64_t ret, int64_t err) const;
  // The regions and pages of any mm built on this driver's files (a fork
  // child's), without counters.
  State View(const MmStruct& mm) const;
  MmStruct& mm() { return *mm_; }

 private:
  SeqConfig cfg_;
  std::unique_ptr<MmStruct> mm_;
  std::shared_ptr<const SimFile> files_[kNumFiles];
  std::string error_;
  int64_t map_count_shift_ = 0;  // kernel max_map_count - simulator's
  bool shifted_ = false;         // a fill has run: apply the shift
  Counters fill_shift_;          // what the kernel's extra pages add
};

// The MmConfig that mirrors the worker's host settings.
MmConfig SimConfigFor(const SeqConfig& cfg);

}  // namespace conformance
}  // namespace mmsim

#endif  // MMSIM_TESTS_CONFORMANCE_SIM_DRIVER_H_
