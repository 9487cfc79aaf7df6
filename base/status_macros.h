// RETURN_IF_ERROR and ASSIGN_OR_RETURN: early return of a failed Status.
//
//   RETURN_IF_ERROR(store.Write(batch));
//   ASSIGN_OR_RETURN(auto key, LogKey::Load(env, path));
//
// Thread-safety: macros only.
#ifndef MIRRORCA_BASE_STATUS_MACROS_H_
#define MIRRORCA_BASE_STATUS_MACROS_H_

#include "base/result.h"
#include "base/status.h"

#define MIRRORCA_CONCAT_INNER_(a, b) a##b
#define MIRRORCA_CONCAT_(a, b) MIRRORCA_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::mirrorca::Status mirrorca_status_ = (expr);    \
    if (!mirrorca_status_.ok()) return mirrorca_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  MIRRORCA_ASSIGN_OR_RETURN_IMPL_(MIRRORCA_CONCAT_(mirrorca_result_, __LINE__), lhs, expr)

#define MIRRORCA_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                    \
  if (!result.ok()) return result.status();                \
  lhs = std::move(result).value()

#endif  // MIRRORCA_BASE_STATUS_MACROS_H_
