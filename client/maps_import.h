// Turns a real /proc/PID/maps (and optionally /proc/PID/stat) into an
// explicit process description for CreateProcess, so a simulated process can
// start as a copy of a real one (`mmctl create --from-maps /proc/self/maps`).
#ifndef MMSIM_CLIENT_MAPS_IMPORT_H_
#define MMSIM_CLIENT_MAPS_IMPORT_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmsim/v1/mmsim.pb.h"

namespace mmsim::client {

struct ImportedProcess {
  // A CreateProcess request with `description` set.
  v1::CreateProcessRequest request;
  // The files the regions map, each large enough for every mapping of it;
  // they must exist on the server before `request` is sent.
  std::vector<v1::CreateFileRequest> files;
  // Lines not imported: regions outside user space ([vsyscall]).
  int skipped = 0;
};

// Parses /proc/PID/maps text:
//   - "/path" regions map a simulated file of that name, vm_pgoff = offset;
//   - anonymous regions, [heap], [anon:NAME] and names not starting with '/'
//     ("anon_inode:...") become anonymous memory (the name is lost);
//   - [stack] is anonymous with VM_GROWSDOWN; [vdso], [vvar], ... are special
//     mappings; [vsyscall] (above TASK_SIZE) is skipped;
//   - start_brk/brk come from [heap], start_stack from [stack].
// Errors: INVALID_ARGUMENT naming the first malformed line.
absl::StatusOr<ImportedProcess> ParseProcMaps(absl::string_view maps);

// Copies the layout fields of /proc/PID/stat (startcode, endcode,
// startstack, start_data .. env_end) into `layout`, keeping brk. Fields that
// read as 0 (not readable without ptrace rights) are left alone.
// Errors: INVALID_ARGUMENT if the text is not a stat line.
absl::Status ParseProcStatLayout(absl::string_view stat, v1::Layout* layout);

}  // namespace mmsim::client

#endif  // MMSIM_CLIENT_MAPS_IMPORT_H_
