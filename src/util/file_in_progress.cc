#include "util/file_in_progress.h"

#include <algorithm>

namespace litestream {

void FileInProgress::Grew(uint64_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    size_ = std::max(size_, size);
  }
  grew_.notify_all();
}

void FileInProgress::Finish(const Status& outcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    outcome_ = outcome;
  }
  grew_.notify_all();
}

bool FileInProgress::WaitForReaders(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return reader_gone_.wait_for(lock, timeout, [&] { return open_readers_ == 0; });
}

bool FileInProgress::Revoke(const Status& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!finished_ || !outcome_.ok()) return false;
  outcome_ = why;
  return read_to_end_;
}

void FileInProgress::ReaderClosed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_readers_--;
  }
  reader_gone_.notify_all();
}

bool FileInProgress::abandoned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_ && !outcome_.ok();
}

Result<uint64_t> FileInProgress::WaitPast(uint64_t offset) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!grew_.wait_for(lock, kStallTimeout, [&] { return finished_ || size_ > offset; })) {
    return Status::Unavailable(name_ + ": the file being written stopped growing at " +
                               std::to_string(size_) + " bytes");
  }
  if (finished_ && !outcome_.ok()) return outcome_.WithContext(name_ + " was abandoned while read");
  if (finished_ && size_ <= offset) read_to_end_ = true;
  return size_;
}

class FileInProgress::FollowingReader final : public Reader {
 public:
  explicit FollowingReader(FileInProgress& file) : file_(file) {}
  ~FollowingReader() override { file_.ReaderClosed(); }
  FollowingReader(const FollowingReader&) = delete;
  FollowingReader& operator=(const FollowingReader&) = delete;

  Result<size_t> Read(uint8_t* buf, size_t n) override {
    if (n == 0) return size_t{0};
    LS_ASSIGN_OR_RETURN(uint64_t size, file_.WaitPast(offset_));
    if (size <= offset_) return size_t{0};  // finished: the end
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, size - offset_));
    LS_ASSIGN_OR_RETURN(size_t got, file_.file_->ReadAt(offset_, buf, want));
    if (got == 0) return Status::IOError(file_.name_ + ": shorter than its writer reported");
    offset_ += got;
    return got;
  }

 private:
  FileInProgress& file_;
  uint64_t offset_ = 0;
};

std::unique_ptr<Reader> FileInProgress::OpenReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_readers_++;
  }
  return std::make_unique<FollowingReader>(*this);
}

Status ProgressWriter::Write(const uint8_t* data, size_t n) {
  LS_RETURN_IF_ERROR(out_.Write(data, n));
  written_ += n;
  progress_.Grew(written_);
  return Status::OK();
}

}  // namespace litestream
