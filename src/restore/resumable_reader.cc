#include "restore/resumable_reader.h"

#include <condition_variable>
#include <mutex>

#include "restore/describe.h"

namespace litestream {

void InterruptibleSleep(std::chrono::milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
}

ResumableReader::ResumableReader(StorageClient& client, const LtxFileInfo& info,
                                 const ReadRetryPolicy& policy, SleepFn sleep, std::stop_token stop)
    : client_(client), info_(info), policy_(policy), sleep_(std::move(sleep)), stop_(std::move(stop)) {}

Status ResumableReader::Backoff(const Status& cause) {
  reader_.reset();
  std::string where = DescribeLtxFile(info_) + " at offset " + std::to_string(offset_);
  if (cause.IsNotFound() || cause.code() == StatusCode::kCancelled) return cause.WithContext(where);
  if (stop_.stop_requested()) return Status::Cancelled(where + ": restore cancelled");
  if (attempt_ >= policy_.max_retries) {
    return cause.WithContext(where + " (after " + std::to_string(attempt_) + " retries)");
  }
  std::chrono::milliseconds wait{0};
  if (!policy_.backoff.empty()) {
    wait = policy_.backoff[std::min<size_t>(static_cast<size_t>(attempt_), policy_.backoff.size() - 1)];
  }
  ++attempt_;
  ++total_retries_;
  if (sleep_) {
    sleep_(wait);
  } else {
    InterruptibleSleep(wait, stop_);
  }
  if (stop_.stop_requested()) return Status::Cancelled(where + ": restore cancelled");
  return Status::OK();
}

Result<size_t> ResumableReader::Read(uint8_t* buf, size_t n) {
  if (n == 0) return size_t{0};
  const uint64_t size = info_.size > 0 ? static_cast<uint64_t>(info_.size) : 0;
  for (;;) {
    if (stop_.stop_requested()) return Status::Cancelled(DescribeLtxFile(info_) + ": restore cancelled");
    if (reader_ == nullptr) {
      auto opened = client_.OpenOnce(info_.level, info_.min_txid, info_.max_txid, offset_, 0);
      if (!opened.ok()) {
        LS_RETURN_IF_ERROR(Backoff(opened.status().WithContext("open")));
        continue;
      }
      reader_ = std::move(opened).value();
    }
    auto got = reader_->Read(buf, n);
    if (!got.ok()) {
      LS_RETURN_IF_ERROR(Backoff(got.status().WithContext("read")));
      continue;
    }
    if (*got == 0 && offset_ < size) {
      LS_RETURN_IF_ERROR(
          Backoff(Status::Corruption("premature end of stream: got " + std::to_string(offset_) + " of " +
                                     std::to_string(size) + " bytes")));
      continue;
    }
    if (*got > 0) attempt_ = 0;
    offset_ += *got;
    return *got;
  }
}

}  // namespace litestream
