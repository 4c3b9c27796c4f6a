// LZ4 as LTX pages use it: one LZ4 block (block encoding) or one complete LZ4 frame (frame encoding) per
// page. The frame parser is our own, so that it reads exactly the frame's bytes from a forward stream
// (frames carry no length prefix) and never allocates from an unchecked size field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "litestream/status.h"

namespace litestream::ltx {

// LZ4_compressBound(page_size): the largest LZ4 block a page may be stored as.
size_t MaxCompressedBlockSize(uint32_t page_size);
// The largest encoded page (page header through the end of its payload) a decoder accepts. Real writers stay
// far below it; it bounds what any reader allocates or reads for a page.
size_t MaxEncodedPageSize(uint32_t page_size);

// Compresses pages, reusing LZ4 state between calls (a fresh LZ4 state costs a 16 KiB memset, more than
// compressing a small page). Not copyable; not thread-safe.
class Lz4Compressor {
 public:
  Lz4Compressor() = default;
  ~Lz4Compressor();
  Lz4Compressor(const Lz4Compressor&) = delete;
  Lz4Compressor& operator=(const Lz4Compressor&) = delete;

  // Appends the LZ4 block of page[0, page_size) to *out.
  Status AppendBlock(const uint8_t* page, uint32_t page_size, std::vector<uint8_t>* out);

  // Appends one LZ4 frame holding page[0, page_size) to *out, of exactly the shape Litestream v0.5.0-v0.5.15
  // write: magic 04 22 4D 18, FLG 0x64, BD 0x40, HC, one data block, EndMark, xxh32 content checksum.
  // Verifies that shape and fails (never emits) anything else.
  Status AppendFrame(const uint8_t* page, uint32_t page_size, std::vector<uint8_t>* out);

 private:
  void* block_state_ = nullptr;  // LZ4_stream_t
  void* frame_ctx_ = nullptr;    // LZ4F_cctx
};

// One-off versions of the above.
Status AppendCompressedBlock(const uint8_t* page, uint32_t page_size, std::vector<uint8_t>* out);
Status AppendCompressedFrame(const uint8_t* page, uint32_t page_size, std::vector<uint8_t>* out);

// Decodes an LZ4 block that must expand to exactly page_size bytes. Corruption otherwise, e.g.
// "lz4 block decodes to 4000 bytes, want 4096".
Status DecompressBlock(const uint8_t* src, size_t n, uint8_t* page, uint32_t page_size);

// Where the frame parser reads from. ReadExact fills dst[0, n) or fails (for example at end of input).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Status ReadExact(uint8_t* dst, size_t n) = 0;
};

// Reads one LZ4 frame from `in`, consuming exactly its bytes, and decodes it into page[0, page_size).
// Accepts any valid frame without a dictionary (linked or independent blocks, optional block checksums,
// content size and content checksum), verifies every checksum present and requires exactly page_size bytes
// of content. `scratch` is resized to at most MaxCompressedBlockSize(page_size). On success *frame_size
// is the number of bytes consumed. Errors are Corruption("lz4 frame: ...") or the source's own.
Status DecodeFrame(ByteSource& in, uint32_t page_size, uint8_t* page, std::vector<uint8_t>* scratch,
                   size_t* frame_size);

}  // namespace litestream::ltx
