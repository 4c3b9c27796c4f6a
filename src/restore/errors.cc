#include <string>

#include "litestream/restore.h"

namespace litestream {
namespace {

constexpr std::string_view kTxNotAvailable = "transaction not available";
constexpr std::string_view kNoV3Snapshots = "no snapshots available";

Status PrefixedNotFound(std::string_view prefix, std::string_view detail) {
  std::string message(prefix);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return Status::NotFound(std::move(message));
}

// True if the message is `prefix`, or contains "prefix" as a whole element of a context chain
// ("restore out.db: transaction not available: ...").
bool MessageHasElement(const std::string& message, std::string_view prefix) {
  for (size_t pos = message.find(prefix); pos != std::string::npos; pos = message.find(prefix, pos + 1)) {
    bool starts = pos == 0 || (pos >= 2 && message.compare(pos - 2, 2, ": ") == 0);
    size_t end = pos + prefix.size();
    bool ends = end == message.size() || message[end] == ':';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

Status TxNotAvailableError(std::string_view detail) { return PrefixedNotFound(kTxNotAvailable, detail); }

bool IsTxNotAvailable(const Status& status) {
  return status.code() == StatusCode::kNotFound && MessageHasElement(status.message(), kTxNotAvailable);
}

Status NoV3SnapshotsError(std::string_view detail) { return PrefixedNotFound(kNoV3Snapshots, detail); }

bool IsNoV3Snapshots(const Status& status) {
  return status.code() == StatusCode::kNotFound && MessageHasElement(status.message(), kNoV3Snapshots);
}

}  // namespace litestream
