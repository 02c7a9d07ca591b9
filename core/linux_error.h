// Errors in the simulator are Linux errnos carried inside absl::Status.
#ifndef MMSIM_CORE_LINUX_ERROR_H_
#define MMSIM_CORE_LINUX_ERROR_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mmsim {

// Returns a status with code absl::ErrnoToStatusCode(err), message
// "ENOMEM: <what>", and the errno as payload (read back by LinuxErrno()).
absl::Status LinuxError(int err, absl::string_view what);

// Returns the errno carried by `status`, or nullopt if it carries none.
std::optional<int> LinuxErrno(const absl::Status& status);

// Returns the symbolic name of an errno ("ENOMEM"), or "E?" if unknown.
const char* ErrnoName(int err);

// Returns the errno named `name`, or nullopt.
std::optional<int> ErrnoFromName(absl::string_view name);

}  // namespace mmsim

#endif  // MMSIM_CORE_LINUX_ERROR_H_
