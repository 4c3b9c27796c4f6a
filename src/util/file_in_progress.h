// A file that one thread writes front to back while others already read what is written: a big snapshot
// L0 streams to its replica while it is still being compressed, instead of after (the copy no longer
// waits for the last page; on a 1 GiB database that serial copy was a quarter of the first backup's time).
//
// The writer reports progress with Grew() and ends with Finish(). A reader (OpenReader) returns the bytes
// already in the file, waits for more, and reaches its end only after Finish(OK); after Finish(error) it
// fails with that error. So a consumer that commits what it read only at end of stream (an upload renames
// its temporary file) never commits a file the writer abandoned.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "litestream/io.h"
#include "litestream/status.h"
#include "util/file_system.h"

namespace litestream {

class FileInProgress {
 public:
  // A reader that sees no growth for this long fails with Unavailable (the writer always finishes; this
  // only bounds the wait).
  static constexpr std::chrono::seconds kStallTimeout{300};

  // `file` reads the file being written; `name` is for messages.
  FileInProgress(std::unique_ptr<RandomAccessFile> file, std::string name)
      : file_(std::move(file)), name_(std::move(name)) {}

  // Writer: the file now holds `size` bytes.
  void Grew(uint64_t size);
  // Writer: the file is complete (OK) or abandoned (an error). Later calls are ignored.
  void Finish(const Status& outcome);

  // True once the writer gave the file up (Finish with an error).
  bool abandoned() const;

  // A sequential reader from offset 0. The FileInProgress must outlive it.
  std::unique_ptr<Reader> OpenReader();

 private:
  class FollowingReader;
  // Waits until the file holds more than `offset` bytes or is finished; returns its size then.
  Result<uint64_t> WaitPast(uint64_t offset);

  const std::unique_ptr<RandomAccessFile> file_;
  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable grew_;
  uint64_t size_ = 0;
  bool finished_ = false;
  Status outcome_;
};

// Forwards writes to `out` and reports each to `progress` (the bytes `out` has taken so far).
class ProgressWriter final : public Writer {
 public:
  ProgressWriter(Writer& out, FileInProgress& progress) : out_(out), progress_(progress) {}
  Status Write(const uint8_t* data, size_t n) override;

 private:
  Writer& out_;
  FileInProgress& progress_;
  uint64_t written_ = 0;
};

}  // namespace litestream
