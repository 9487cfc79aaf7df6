// Result<T>: either a value of type T or a failed Status. Returned by every
// fallible function that produces a value, so errors cross module boundaries
// without exceptions.
//
//   Result<Checkpoint> cp = Checkpoint::Parse(text);
//   if (!cp.ok()) return cp.status();
//   use(cp->tree_size);
//
// Thread-safety: a value type; same rules as Status.
#ifndef MIRRORCA_BASE_RESULT_H_
#define MIRRORCA_BASE_RESULT_H_

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>

#include "base/status.h"

namespace mirrorca {

template <typename T>
class [[nodiscard]] Result {
 public:
  // A Result made from a Status must be a failure; an OK status here is a bug
  // and is turned into an INTERNAL error rather than a value-less success.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status");
  }
  Result(const T& value) : value_(value) {}        // NOLINT
  Result(T&& value) : value_(std::move(value)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, Result<T>> &&
                                        !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : value_(std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;  // OK iff value_ is set
  std::optional<T> value_;
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_RESULT_H_
