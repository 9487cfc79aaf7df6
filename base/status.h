// Status: the outcome of an operation that can fail, carried across every
// module boundary of mirrorca instead of exceptions.
//
// An OK status is cheap (no allocation). A failed status carries a code that
// callers may branch on and a human-readable message meant for operators.
// Messages never contain secrets (key material, passwords).
//
// Thread-safety: a Status is a value; distinct objects may be used from
// different threads, one object must not be mutated concurrently.
#ifndef MIRRORCA_BASE_STATUS_H_
#define MIRRORCA_BASE_STATUS_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace mirrorca {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed or not allowed
  kNotFound,           // the thing asked for does not exist
  kAlreadyExists,      // creating something that is already there
  kCorruption,         // stored or received data fails an integrity check
  kIOError,            // the filesystem or storage engine failed
  kPermissionDenied,   // the caller is not allowed to do this
  kUnavailable,        // a peer or resource is temporarily unreachable
  kFailedPrecondition, // the system is not in a state that allows this
  kResourceExhausted,  // a quota or size limit was hit
  kOutOfRange,         // an index or size beyond what exists
  kInternal,           // a bug or an unexpected library failure
};

// StatusCodeName returns the stable upper-case name of `code`, e.g. "CORRUPTION".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view message);

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view m) { return {StatusCode::kInvalidArgument, m}; }
  static Status NotFound(std::string_view m) { return {StatusCode::kNotFound, m}; }
  static Status AlreadyExists(std::string_view m) { return {StatusCode::kAlreadyExists, m}; }
  static Status Corruption(std::string_view m) { return {StatusCode::kCorruption, m}; }
  static Status IOError(std::string_view m) { return {StatusCode::kIOError, m}; }
  static Status PermissionDenied(std::string_view m) { return {StatusCode::kPermissionDenied, m}; }
  static Status Unavailable(std::string_view m) { return {StatusCode::kUnavailable, m}; }
  static Status FailedPrecondition(std::string_view m) {
    return {StatusCode::kFailedPrecondition, m};
  }
  static Status ResourceExhausted(std::string_view m) {
    return {StatusCode::kResourceExhausted, m};
  }
  static Status OutOfRange(std::string_view m) { return {StatusCode::kOutOfRange, m}; }
  static Status Internal(std::string_view m) { return {StatusCode::kInternal, m}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // message returns the operator-facing text; empty for OK.
  const std::string& message() const;
  // ToString returns "OK" or "CODE: message".
  std::string ToString() const;
  // WithContext returns a copy whose message is prefixed by `context: `.
  // OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // null means OK
};

// Streams as ToString() (gtest messages, diagnostics).
inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_STATUS_H_
