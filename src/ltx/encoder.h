// Writes one LTX file to a Writer, streaming: only the page index (a few bytes per page) and up to
// kOutputBufferBytes of output are kept in memory until Close(). Output goes to the Writer in chunks of
// that size (fewer, larger writes: a file system zeroes the rest of every page-cache folio a small write
// starts), so the Writer sees nothing of a small file before Close().
//
//   Encoder enc(out, PageEncoding::kFrame);
//   LS_RETURN_IF_ERROR(enc.EncodeHeader(header));
//   for (...) LS_RETURN_IF_ERROR(enc.EncodePage(pgno, page));   // header.page_size bytes each
//   LS_RETURN_IF_ERROR(enc.Close());                              // end marker, index, trailer
//
// The encoder enforces what every LTX reader relies on (InvalidArgument otherwise): a valid header;
// strictly ascending pgnos, each in [1, commit] and never the lock page; for a snapshot (MinTXID 1)
// exactly the pages 1..commit minus the lock page, in order; pages of exactly page_size bytes; a trailer
// valid for the header. Errors from the Writer are returned as they are. After any error the encoder
// is unusable and every later call returns that error. REQUIRES: external synchronization.
//
// SetCompressionThreads(n > 1) compresses pages on n worker threads, in batches, while the caller goes on
// reading pages: for a snapshot of a big database, where LZ4 is most of the work. Pages are still checked
// (order, range) when they are passed; a compression error shows at a later EncodePage or at Close.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/format.h"
#include "ltx/lz4_codec.h"
#include "util/scratch.h"

namespace litestream::ltx {

inline constexpr size_t kOutputBufferBytes = 1 << 20;

class Encoder {
 public:
  // `out` must outlive the encoder. `name` (optional) prefixes error messages.
  explicit Encoder(Writer& out, PageEncoding encoding = PageEncoding::kFrame, std::string name = "");
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Output buffer size (default kOutputBufferBytes); 0 hands every piece to the Writer as it is made, for
  // a Writer that buffers itself.
  void SetOutputBuffer(size_t bytes) { buffer_limit_ = bytes; }

  // Compress on `threads` worker threads (<= 1: on the caller's). Call before the first page. If no
  // thread can be started the encoder compresses on the caller's thread.
  void SetCompressionThreads(size_t threads);

  // Validates and writes the header. Must be called once, first.
  Status EncodeHeader(const Header& header);

  // Compresses and writes one page of header().page_size bytes.
  Status EncodePage(uint32_t pgno, const uint8_t* data);
  // Same, checking that n == header().page_size.
  Status EncodePage(uint32_t pgno, const uint8_t* data, size_t n);
  // Same, but writes `block` (an LZ4 block that decodes to `data`: what PageSource::last_block returned
  // for it) instead of compressing the page again, when this encoder writes block encoding on the
  // caller's thread; otherwise compresses as usual. The block is not checked against `data`.
  Status EncodePage(uint32_t pgno, const uint8_t* data, std::span<const uint8_t> block);

  // The trailer's PostApplyChecksum (default 0, which NoChecksum files require).
  void SetPostApplyChecksum(uint64_t checksum) { post_apply_checksum_ = checksum; }

  // Checks snapshot completeness, then writes the end marker, the page index and the trailer.
  Status Close();

  const Header& header() const { return header_; }
  PageEncoding encoding() const { return encoding_; }
  uint64_t bytes_written() const { return offset_; }  // including what is still buffered
  uint32_t page_count() const { return page_count_; }
  // FLAG | CRC-64 of the file's checksummed stream. Valid after Close() returned OK.
  uint64_t file_checksum() const { return file_checksum_; }

 private:
  enum class State { kHeader, kPages, kClosed, kFailed };

  Status Fail(Status s);
  Status Invalid(const std::string& message);
  class Workers;
  struct Batch;

  Status CheckPage(uint32_t pgno) const;
  Status CheckState();
  void Accepted(uint32_t pgno);
  // Appends to the output buffer, flushing it to the Writer once it holds kOutputBufferBytes.
  Status Emit(const uint8_t* data, size_t n);
  Status Flush();
  // Emits one encoded page (page header, size field if any, payload) of the decoded `data`.
  Status EmitPage(uint32_t pgno, const uint8_t* frame, size_t frame_size, const uint8_t* data);
  Status EmitBatch(std::unique_ptr<Batch> batch);
  Status SubmitBatch();  // hands the batch being filled to the workers

  Writer& out_;
  const PageEncoding encoding_;
  const std::string name_;
  State state_ = State::kHeader;
  Status error_;
  Header header_;
  uint32_t lock_pgno_ = 0;
  uint32_t last_pgno_ = 0;
  uint64_t next_snapshot_pgno_ = 1;  // the pgno a snapshot must encode next
  uint32_t page_count_ = 0;
  uint64_t offset_ = 0;  // bytes written so far
  uint64_t crc_ = 0;     // CRC-64 of the checksummed stream so far (§1.8)
  uint64_t post_apply_checksum_ = 0;
  uint64_t file_checksum_ = 0;
  Lz4Compressor compressor_;
  std::vector<uint8_t> frame_;  // the encoded page being written
  std::vector<uint8_t> index_;  // varint triples (pgno, offset, size) of the pages written
  ScratchBuffer buffer_;        // output not yet handed to out_: its first buffered_ bytes
  size_t buffered_ = 0;
  size_t buffer_limit_ = kOutputBufferBytes;
  size_t compression_threads_ = 0;
  std::unique_ptr<Workers> workers_;  // parallel compression, once started
  std::unique_ptr<Batch> filling_;    // pages passed but not yet handed to the workers
};

}  // namespace litestream::ltx
