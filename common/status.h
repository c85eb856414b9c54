// Status and Result<T>: how errors cross a module boundary in Daiban.
//
// No exception crosses common/ or sync/: a function that can fail returns a Status
// (or a Result<T> holding either a value or a non-OK Status). The code tells the
// caller what to do next:
//   kInvalidArgument     the input is wrong; fix it and send again (never retry as is)
//   kNotFound            the named thing does not exist
//   kAlreadyExists       it exists already (and differs: an integrity error)
//   kFailedPrecondition  the state does not allow this now; an operator or user must act
//   kPermissionDenied    the caller may not do this (role or jurisdiction)
//   kUnavailable         a transient failure (link down, disk busy); retry later
//   kAborted             the round was cut; restart it from the last checkpoint
//   kResourceExhausted   too large or too many; send less
//   kDataLoss            stored data is damaged; stop and ask an operator
//   kUnimplemented       version or feature not supported by this build
//   kInternal            a bug
//
// Messages are plain words for a clerk or an operator and never contain a whole
// ID number or phone number (use common/personal_id.h Mask* helpers).
#ifndef DAIBAN_COMMON_STATUS_H_
#define DAIBAN_COMMON_STATUS_H_

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace daiban::common {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kPermissionDenied,
  kUnavailable,
  kAborted,
  kResourceExhausted,
  kDataLoss,
  kUnimplemented,
  kInternal,
};

// Stable lower-case name of a code, as used on the wire ("invalid_argument").
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; unknown names map to kInternal.
StatusCode StatusCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: applicant.id_number: check digit does not match".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a T or a non-OK Status. REQUIRES: a Result is never built from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; Status::Ok() when ok().
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  // REQUIRES: ok(). Stops the process otherwise (a caller bug).
  T& value() & { Check(); return std::get<T>(v_); }
  const T& value() const& { Check(); return std::get<T>(v_); }
  T&& value() && { Check(); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Check() const {
    if (!ok()) {
      std::cerr << "PANIC: Result::value() on error: " << std::get<Status>(v_).ToString() << "\n";
      std::abort();
    }
  }
  std::variant<T, Status> v_;
};

}  // namespace daiban::common

// Evaluates `expr` (a Status); returns it from the enclosing function if not OK.
#define DAIBAN_RETURN_IF_ERROR(expr)                       \
  do {                                                     \
    ::daiban::common::Status daiban_status_ = (expr);      \
    if (!daiban_status_.ok()) return daiban_status_;       \
  } while (0)

#define DAIBAN_CONCAT_INNER_(a, b) a##b
#define DAIBAN_CONCAT_(a, b) DAIBAN_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result<T> expression, or returns its error.
#define DAIBAN_ASSIGN_OR_RETURN(lhs, expr) \
  DAIBAN_ASSIGN_OR_RETURN_IMPL_(DAIBAN_CONCAT_(daiban_result_, __LINE__), lhs, expr)
#define DAIBAN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // DAIBAN_COMMON_STATUS_H_
