// A Reader that decompresses a stream of standard LZ4 frames (the v0.3 snapshot and WAL segment format):
// any block size, linked or independent blocks, with or without checksums, concatenated frames.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "litestream/io.h"

struct LZ4F_dctx_s;

namespace litestream {

class Lz4FrameReader final : public Reader {
 public:
  // `name` is used in error messages (for example the replica path of the file).
  Lz4FrameReader(std::unique_ptr<Reader> source, std::string name);
  ~Lz4FrameReader() override;
  Lz4FrameReader(const Lz4FrameReader&) = delete;
  Lz4FrameReader& operator=(const Lz4FrameReader&) = delete;

  // Returns decompressed bytes; 0 at the end of the last complete frame. A stream that ends inside a
  // frame, holds no frame at all, or fails a checksum is Corruption naming the stream.
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  Status Fill();

  std::unique_ptr<Reader> source_;
  std::string name_;
  LZ4F_dctx_s* dctx_ = nullptr;
  std::vector<uint8_t> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool source_eof_ = false;
  bool in_frame_ = false;  // input of the current frame has been consumed, and the frame has not ended
  int frames_ = 0;         // completed frames
};

}  // namespace litestream
