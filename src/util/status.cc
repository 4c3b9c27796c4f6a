#include "litestream/status.h"

#include <cerrno>
#include <cstring>

namespace litestream {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kIOError: return "I/O error";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kDiskFull: return "disk full";
    case StatusCode::kBusy: return "busy";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kNotSupported: return "not supported";
    case StatusCode::kFailedPrecondition: return "failed precondition";
  }
  return "unknown";
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string message = std::string(context) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFound(std::move(message));
    case ENOSPC:
    case EDQUOT: return DiskFull(std::move(message));
    case EINVAL: return InvalidArgument(std::move(message));
    default: return IOError(std::move(message));
  }
}

Status Status::WithContext(std::string_view context) const {
  if (ok() || context.empty()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace litestream
