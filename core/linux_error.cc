#include "core/linux_error.h"

#include <cerrno>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mmsim {
namespace {

constexpr char kErrnoPayloadUrl[] = "mmsim/errno";

struct ErrnoEntry {
  int err;
  const char* name;
};

constexpr ErrnoEntry kErrnos[] = {
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {ESRCH, "ESRCH"},
    {EINTR, "EINTR"},
    {EIO, "EIO"},
    {ENXIO, "ENXIO"},
    {E2BIG, "E2BIG"},
    {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},
    {EEXIST, "EEXIST"},
    {ENODEV, "ENODEV"},
    {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},
    {EMFILE, "EMFILE"},
    {ETXTBSY, "ETXTBSY"},
    {EFBIG, "EFBIG"},
    {ENOSPC, "ENOSPC"},
    {ERANGE, "ERANGE"},
    {ENOSYS, "ENOSYS"},
    {EOVERFLOW, "EOVERFLOW"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {ECANCELED, "ECANCELED"},
    {ETIMEDOUT, "ETIMEDOUT"},
};

}  // namespace

absl::Status LinuxError(int err, absl::string_view what) {
  absl::Status status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(ErrnoName(err), ": ", what));
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(absl::StrCat(err)));
  return status;
}

std::optional<int> LinuxErrno(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrnoPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  int err = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &err)) return std::nullopt;
  return err;
}

const char* ErrnoName(int err) {
  for (const ErrnoEntry& e : kErrnos) {
    if (e.err == err) return e.name;
  }
  return "E?";
}

std::optional<int> ErrnoFromName(absl::string_view name) {
  for (const ErrnoEntry& e : kErrnos) {
    if (name == e.name) return e.err;
  }
  return std::nullopt;
}

}  // namespace mmsim
