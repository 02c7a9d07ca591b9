// The one place where a simulator status becomes a gRPC status.
//
// An absl::Status from core carries a Linux errno (core/linux_error.h). On
// the wire it becomes:
//   - the gRPC code with the same number as the Abseil code (the two enums
//     agree), so ENOMEM -> RESOURCE_EXHAUSTED, EINVAL -> INVALID_ARGUMENT...;
//   - the message, cut at kMaxMessageBytes;
//   - trailing metadata "mmsim-errno" = the errno as a decimal number ("12")
//     and "mmsim-errno-name" = its symbolic name ("ENOMEM"), when the status
//     carries an errno.
// client/mm_client.cc reads the same keys back.
#ifndef MMSIM_SERVER_GRPC_STATUS_H_
#define MMSIM_SERVER_GRPC_STATUS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "mmsim/v1/mmsim.pb.h"

namespace mmsim::server {

inline constexpr char kErrnoMetadataKey[] = "mmsim-errno";
inline constexpr char kErrnoNameMetadataKey[] = "mmsim-errno-name";
inline constexpr size_t kMaxMessageBytes = 1024;

// Converts `status` to a grpc::Status and, when it carries an errno, adds
// the errno trailers to `ctx` (which may be null in unit tests).
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContext* ctx);

// Fills `out` with what ToGrpcStatus() sends for `status` (code, message
// cut the same way, errno number and name): the per-op status of a Batch.
// An OK status leaves `out` untouched (an unset OpStatus reads as OK).
void ToOpStatus(const absl::Status& status, v1::OpStatus* out);

// Returns the status of a request that is malformed as a request (a missing
// field, an unknown enum value): INVALID_ARGUMENT with errno EINVAL, before
// anything reaches core.
absl::Status MalformedRequest(absl::string_view what);

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_GRPC_STATUS_H_
