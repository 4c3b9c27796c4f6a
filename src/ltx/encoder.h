// Writes one LTX file to a Writer, streaming: only the page index (a few bytes per page) is kept in
// memory until Close().
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
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/format.h"
#include "ltx/lz4_codec.h"

namespace litestream::ltx {

class Encoder {
 public:
  // `out` must outlive the encoder. `name` (optional) prefixes error messages.
  explicit Encoder(Writer& out, PageEncoding encoding = PageEncoding::kFrame, std::string name = "");
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Validates and writes the header. Must be called once, first.
  Status EncodeHeader(const Header& header);

  // Compresses and writes one page of header().page_size bytes.
  Status EncodePage(uint32_t pgno, const uint8_t* data);
  // Same, checking that n == header().page_size.
  Status EncodePage(uint32_t pgno, const uint8_t* data, size_t n);

  // The trailer's PostApplyChecksum (default 0, which NoChecksum files require).
  void SetPostApplyChecksum(uint64_t checksum) { post_apply_checksum_ = checksum; }

  // Checks snapshot completeness, then writes the end marker, the page index and the trailer.
  Status Close();

  const Header& header() const { return header_; }
  PageEncoding encoding() const { return encoding_; }
  uint64_t bytes_written() const { return offset_; }
  uint32_t page_count() const { return page_count_; }
  // FLAG | CRC-64 of the file's checksummed stream. Valid after Close() returned OK.
  uint64_t file_checksum() const { return file_checksum_; }

 private:
  enum class State { kHeader, kPages, kClosed, kFailed };

  Status Fail(Status s);
  Status Invalid(const std::string& message);
  Status CheckPage(uint32_t pgno) const;
  Status Emit(const uint8_t* data, size_t n);

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
};

}  // namespace litestream::ltx
