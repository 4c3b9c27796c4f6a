// A buffered, position-tracking view of a forward-only Reader, for the LTX decoder. It reads ahead from
// the Reader in chunks (an LTX file is the whole stream, so read-ahead never takes bytes that belong to
// someone else) but hands out exactly the bytes the parser asks for.
#pragma once

#include <cstdint>
#include <memory>

#include "litestream/io.h"
#include "ltx/lz4_codec.h"

namespace litestream::ltx {

class InputStream final : public ByteSource {
 public:
  static constexpr size_t kDefaultBufferSize = 64 * 1024;

  explicit InputStream(Reader& in, size_t buffer_size = kDefaultBufferSize)
      : in_(in), buffer_size_(buffer_size), buf_(new uint8_t[buffer_size]) {}

  // Fills dst[0, n). At end of stream: Corruption("unexpected end of file at offset X").
  Status ReadExact(uint8_t* dst, size_t n) override;
  // True if no byte follows the current position.
  Result<bool> AtEnd();
  // Bytes handed out so far: the file offset of the next byte.
  uint64_t offset() const { return offset_; }

 private:
  Status Fill();

  Reader& in_;
  const size_t buffer_size_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  uint64_t offset_ = 0;
};

}  // namespace litestream::ltx
