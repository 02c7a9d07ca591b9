// RETURN_IF_ERROR / ASSIGN_OR_RETURN, as the ABSL_ macros of newer Abseil.
#ifndef MMSIM_CORE_STATUS_MACROS_H_
#define MMSIM_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MMSIM_CONCAT_INNER_(a, b) a##b
#define MMSIM_CONCAT_(a, b) MMSIM_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status mmsim_status_ = (expr);         \
    if (!mmsim_status_.ok()) return mmsim_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(MMSIM_CONCAT_(mmsim_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // MMSIM_CORE_STATUS_MACROS_H_
