#include "restore/lz4_frame_reader.h"

#include <lz4frame.h>

namespace litestream {

Lz4FrameReader::Lz4FrameReader(std::unique_ptr<Reader> source, std::string name)
    : source_(std::move(source)), name_(std::move(name)), in_(64 * 1024) {
  LZ4F_dctx* dctx = nullptr;
  if (!LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) dctx_ = dctx;
}

Lz4FrameReader::~Lz4FrameReader() {
  if (dctx_ != nullptr) LZ4F_freeDecompressionContext(dctx_);
}

Status Lz4FrameReader::Fill() {
  in_pos_ = 0;
  in_len_ = 0;
  auto got = source_->Read(in_.data(), in_.size());
  if (!got.ok()) return got.status().WithContext(name_);
  in_len_ = *got;
  if (in_len_ == 0) source_eof_ = true;
  return Status::OK();
}

Result<size_t> Lz4FrameReader::Read(uint8_t* buf, size_t n) {
  if (dctx_ == nullptr) return Status::IOError(name_ + ": cannot create an LZ4 decompression context");
  if (n == 0) return size_t{0};
  for (int idle = 0; idle < 2;) {
    if (in_pos_ == in_len_ && !source_eof_) LS_RETURN_IF_ERROR(Fill());
    size_t src_size = in_len_ - in_pos_;
    size_t dst_size = n;
    size_t hint = LZ4F_decompress(dctx_, buf, &dst_size, in_.data() + in_pos_, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return Status::Corruption(name_ + ": invalid LZ4 frame data: " + LZ4F_getErrorName(hint));
    }
    in_pos_ += src_size;
    if (src_size > 0) in_frame_ = true;
    if (hint == 0 && in_frame_) {
      in_frame_ = false;
      ++frames_;
    }
    if (dst_size > 0) return dst_size;
    if (src_size > 0) {
      idle = 0;
      continue;
    }
    if (in_pos_ == in_len_ && source_eof_) {
      if (in_frame_) return Status::Corruption(name_ + ": truncated LZ4 frame");
      if (frames_ == 0) return Status::Corruption(name_ + ": empty LZ4 stream");
      return size_t{0};
    }
    ++idle;  // no input consumed and no output: give the decoder one more call to flush, then fail
  }
  return Status::Corruption(name_ + ": LZ4 decoder made no progress");
}

}  // namespace litestream
