// A file that one thread writes front to back while others already read what is written: a big snapshot
// L0 streams to its replica while it is still being compressed, instead of after (the copy no longer
// waits for the last page; on a 1 GiB database that serial copy was a quarter of the first backup's time).
//
// The writer reports progress with Grew() and ends with Finish(). A reader (OpenReader) returns the bytes
// already in the file, waits for more, and reaches its end only after Finish(OK); after Finish(error) it
// fails with that error. So a consumer that commits what it read only at end of stream (an upload renames
// its temporary file) never commits a file the writer abandoned.
//
// Finish(OK) means every byte is written, not that the writer has made the file durable: the writer may
// then wait for its readers (WaitForReaders) so that their consumers make their copies durable before it
// flushes its own, and if it cannot keep the file after all it revokes it (Revoke), learning whether a
// consumer may already have committed a copy.
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
  // Writer, after Finish(OK): waits until every reader opened so far is destroyed (its consumer is done
  // with the file), for at most `timeout`. False if one is still open then.
  bool WaitForReaders(std::chrono::milliseconds timeout);
  // Writer, after Finish(OK): the writer could not keep the file after all. A reader that reaches the end
  // from now on fails with `why`. True if one already had: its consumer may have committed a copy.
  bool Revoke(const Status& why);

  // True once the writer gave the file up (Finish with an error).
  bool abandoned() const;

  // A sequential reader from offset 0. The FileInProgress must outlive it.
  std::unique_ptr<Reader> OpenReader();

 private:
  class FollowingReader;
  // Waits until the file holds more than `offset` bytes or is finished; returns its size then (a size
  // not past `offset` is the end).
  Result<uint64_t> WaitPast(uint64_t offset);
  void ReaderClosed();

  const std::unique_ptr<RandomAccessFile> file_;
  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable grew_;
  std::condition_variable reader_gone_;
  uint64_t size_ = 0;
  bool finished_ = false;
  Status outcome_;
  int open_readers_ = 0;
  bool read_to_end_ = false;  // a reader returned the end of the file
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
