// Errors as values. Every fallible call in the library returns a Status or a Result<T>; no exception
// crosses a library boundary. Messages carry context (path, level, TXID range, remote key), added with
// WithContext() as the error travels up: "restore /data/app.db: ltx/0/…-….ltx: file checksum mismatch".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace litestream {

enum class StatusCode {
  kOk = 0,
  kNotFound,         // a file, object, database or TXID that does not exist
  kCorruption,       // bytes that fail validation: bad magic, checksum mismatch, truncated file
  kIOError,          // the OS or a remote store failed an operation
  kInvalidArgument,  // the caller passed something invalid (bad config, bad flag, bad URL)
  kDiskFull,         // ENOSPC / EDQUOT / "database or disk is full"
  kBusy,             // SQLITE_BUSY or a lock held by another party
  kUnavailable,      // a server that cannot be reached right now; retrying may help
  kTimeout,          // a deadline passed
  kCancelled,        // the operation was stopped on request
  kNotSupported,     // a valid request this build or backend cannot do
  kFailedPrecondition,  // the state does not allow the operation (output exists, no backups, ...)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status DiskFull(std::string m) { return {StatusCode::kDiskFull, std::move(m)}; }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }

  // Builds an IOError (or DiskFull for ENOSPC/EDQUOT, NotFound for ENOENT) from an errno value.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsDiskFull() const { return code_ == StatusCode::kDiskFull; }

  // Returns a copy whose message is "context: message". A no-op on OK.
  Status WithContext(std::string_view context) const;
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none. REQUIRES: ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInvalidArgument, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace litestream

#define LS_CONCAT_INNER(a, b) a##b
#define LS_CONCAT(a, b) LS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define LS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::litestream::Status _ls_status = (expr);    \
    if (!_ls_status.ok()) return _ls_status;     \
  } while (0)

// `LS_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define LS_ASSIGN_OR_RETURN(lhs, expr) LS_ASSIGN_OR_RETURN_IMPL(LS_CONCAT(_ls_result_, __LINE__), lhs, expr)
#define LS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
