// A Reader over one replica file that survives flaky storage (ENGINE.md §5.4, #1082, #1284, #1326): it
// opens lazily, and after a read error or a premature end of stream (offset < the listed size) it reopens
// the file at the current offset, up to policy.max_retries times in a row, waiting policy.backoff[i]
// between attempts. NotFound and cancellation are never retried. Errors name the file and the offset.
// Its users (a restore, a compaction) read each file once, so it opens with StorageClient::OpenOnce.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>

#include "litestream/restore.h"

namespace litestream {

class ResumableReader final : public Reader {
 public:
  using SleepFn = std::function<void(std::chrono::milliseconds)>;

  // `client`, `sleep` and `stop` must outlive the reader. info.size is the expected length.
  ResumableReader(StorageClient& client, const LtxFileInfo& info, const ReadRetryPolicy& policy,
                  SleepFn sleep, std::stop_token stop);

  Result<size_t> Read(uint8_t* buf, size_t n) override;

  uint64_t offset() const { return offset_; }
  int retries() const { return total_retries_; }

 private:
  // Called after a failure; OK means "try again", after waiting. Consumes one retry.
  Status Backoff(const Status& cause);

  StorageClient& client_;
  LtxFileInfo info_;
  ReadRetryPolicy policy_;
  SleepFn sleep_;
  std::stop_token stop_;
  std::unique_ptr<Reader> reader_;
  uint64_t offset_ = 0;
  int attempt_ = 0;  // consecutive failures without progress
  int total_retries_ = 0;
};

// Sleeps for `d`, returning early when `stop` is requested.
void InterruptibleSleep(std::chrono::milliseconds d, const std::stop_token& stop);

}  // namespace litestream
