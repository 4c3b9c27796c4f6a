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
  static constexpr size_t kBufferSize = 8 * 1024;

  explicit InputStream(Reader& in) : in_(in), buf_(new uint8_t[kBufferSize]) {}

  // Fills dst[0, n). At end of stream: Corruption("unexpected end of file at offset X").
  Status ReadExact(uint8_t* dst, size_t n) override;
  // True if no byte follows the current position.
  Result<bool> AtEnd();
  // Bytes handed out so far: the file offset of the next byte.
  uint64_t offset() const { return offset_; }

 private:
  Status Fill();

  Reader& in_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  uint64_t offset_ = 0;
};

}  // namespace litestream::ltx
