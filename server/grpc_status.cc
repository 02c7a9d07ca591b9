#include "server/grpc_status.h"

#include <cerrno>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/linux_error.h"

namespace mmsim::server {

namespace {

absl::string_view CutMessage(const absl::Status& status) {
  absl::string_view message = status.message();
  if (message.size() > kMaxMessageBytes) {
    message = message.substr(0, kMaxMessageBytes);
  }
  return message;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContext* ctx) {
  if (status.ok()) return grpc::Status::OK;
  std::optional<int> err = LinuxErrno(status);
  if (err.has_value() && ctx != nullptr) {
    ctx->AddTrailingMetadata(kErrnoMetadataKey, absl::StrCat(*err));
    ctx->AddTrailingMetadata(kErrnoNameMetadataKey, ErrnoName(*err));
  }
  // The Abseil and gRPC code enums have the same numbers by design.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(CutMessage(status)));
}

void ToOpStatus(const absl::Status& status, v1::OpStatus* out) {
  if (status.ok()) return;
  out->set_code(static_cast<int>(status.code()));
  out->set_message(std::string(CutMessage(status)));
  if (std::optional<int> err = LinuxErrno(status); err.has_value()) {
    out->set_errno_number(*err);
    out->set_errno_name(ErrnoName(*err));
  }
}

absl::Status MalformedRequest(absl::string_view what) {
  return LinuxError(EINVAL, absl::StrCat("malformed request: ", what));
}

}  // namespace mmsim::server
