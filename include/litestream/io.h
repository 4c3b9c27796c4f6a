// Byte streams. Every codec reads and writes through these so that the same code runs over a local
// file, a remote object, a pipe between threads, or a test's fault-injecting wrapper.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "litestream/status.h"

namespace litestream {

// A forward-only byte source.
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to n bytes into buf. Returns the count read; 0 means end of stream.
  virtual Result<size_t> Read(uint8_t* buf, size_t n) = 0;

  // Reads exactly n bytes, or fails with Corruption("unexpected end of stream ...") on an early end.
  Status ReadFull(uint8_t* buf, size_t n);
  // Reads until end of stream, failing if more than max_bytes arrive.
  Result<std::vector<uint8_t>> ReadAll(size_t max_bytes);
};

// A forward-only byte sink.
class Writer {
 public:
  virtual ~Writer() = default;
  // Writes all n bytes or fails.
  virtual Status Write(const uint8_t* buf, size_t n) = 0;
};

// Positional reads; safe to call from several threads at once.
class RandomAccessReader {
 public:
  virtual ~RandomAccessReader() = default;
  // Reads up to n bytes at offset. Returns fewer only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) = 0;
  virtual Result<uint64_t> Size() = 0;
  // ReadAt for bytes read once in a pass over a whole file (a snapshot of a database): a local file drops
  // the pages this read brought into the page cache once they are copied (pages cached before stay), so
  // the pass neither evicts the application's cached pages nor leaves a file's worth of them behind.
  virtual Result<size_t> ReadAtOnce(uint64_t offset, uint8_t* buf, size_t n) {
    return ReadAt(offset, buf, n);
  }
};

// In-memory implementations, for small objects and tests.
class BufferReader final : public Reader {
 public:
  explicit BufferReader(std::vector<uint8_t> data) : data_(std::move(data)) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  std::vector<uint8_t> data_;
  size_t pos_ = 0;
};

class BufferWriter final : public Writer {
 public:
  Status Write(const uint8_t* buf, size_t n) override {
    data_.insert(data_.end(), buf, buf + n);
    return Status::OK();
  }
  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t>& data() { return data_; }

 private:
  std::vector<uint8_t> data_;
};

// Copies a Reader to a Writer in chunks; returns the byte count.
Result<uint64_t> Copy(Reader& from, Writer& to);

}  // namespace litestream
