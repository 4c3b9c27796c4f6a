#include "ltx/input_stream.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace litestream::ltx {

Status InputStream::Fill() {
  pos_ = 0;
  len_ = 0;
  if (eof_) return Status::OK();
  LS_ASSIGN_OR_RETURN(size_t got, in_.Read(buf_.get(), buffer_size_));
  if (got > buffer_size_) return Status::IOError("reader returned more bytes than asked for");
  if (got == 0) eof_ = true;
  len_ = got;
  return Status::OK();
}

Status InputStream::ReadExact(uint8_t* dst, size_t n) {
  const uint64_t start = offset_;
  while (n > 0) {
    if (pos_ == len_) {
      if (n >= buffer_size_ && !eof_) {  // large reads bypass the buffer
        LS_ASSIGN_OR_RETURN(size_t got, in_.Read(dst, n));
        if (got > n) return Status::IOError("reader returned more bytes than asked for");
        if (got == 0) eof_ = true;
        dst += got;
        n -= got;
        offset_ += got;
        continue;
      }
      LS_RETURN_IF_ERROR(Fill());
      if (len_ == 0) {
        return Status::Corruption("unexpected end of file at offset " + std::to_string(offset_) +
                                  " (reading " + std::to_string(offset_ - start + n) + " bytes from offset " +
                                  std::to_string(start) + ")");
      }
    }
    const size_t take = std::min(n, len_ - pos_);
    std::memcpy(dst, buf_.get() + pos_, take);
    pos_ += take;
    dst += take;
    n -= take;
    offset_ += take;
  }
  return Status::OK();
}

Result<bool> InputStream::AtEnd() {
  if (pos_ < len_) return false;
  LS_RETURN_IF_ERROR(Fill());
  return len_ == 0;
}

}  // namespace litestream::ltx
