// Reads one LTX file from a forward-only Reader (no seeking), verifying everything:
//
//   Decoder dec(reader, "0000000000000001-0000000000000001.ltx");
//   LS_RETURN_IF_ERROR(dec.DecodeHeader());
//   std::vector<uint8_t> page(dec.header().page_size);
//   uint32_t pgno;
//   for (;;) {
//     LS_ASSIGN_OR_RETURN(bool more, dec.NextPage(&pgno, page.data()));
//     if (!more) break;
//     ...
//   }
//   LS_RETURN_IF_ERROR(dec.Close());  // index, trailer, file checksum, end of stream
//
// Pages may be block- or frame-encoded, mixed in one file. Beyond the checks of §1.12 the decoder rejects
// what no encoder may write: pgnos that do not strictly ascend, pgnos beyond Commit or equal to the lock
// page, and a page index that does not describe the pages read. Data is only trustworthy once Close()
// returned OK: the file checksum covers every decoded byte.
//
// Errors are Corruption (bad bytes), or the Reader's own, prefixed with the name given to the constructor
// and the position: "<name>: page 3 at offset 367: lz4 block decodes to 4000 bytes, want 4096". After an
// error every later call returns it again. Memory: a few pages' worth, whatever the input says. The
// decoder parses exactly the file's bytes but reads the Reader ahead in 8 KiB chunks: give it a Reader
// that holds one LTX file and nothing after it.
// REQUIRES: external synchronization.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/format.h"
#include "ltx/input_stream.h"
#include "ltx/page_source.h"

namespace litestream::ltx {

class Decoder final : public PageSource {
 public:
  // `in` must outlive the decoder. `name` is used in messages (a file name or key). `in` is read in
  // chunks of `buffer_size` bytes.
  Decoder(Reader& in, std::string name, size_t buffer_size = InputStream::kDefaultBufferSize);
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Reads and validates the 100-byte header. Must be called once, first.
  Status DecodeHeader();

  const Header& header() const override { return header_; }
  Result<bool> NextPage(uint32_t* pgno, uint8_t* page) override;
  Status Close() override;
  uint64_t post_apply_checksum() const override { return trailer_.post_apply_checksum; }
  std::span<const uint8_t> last_block() const override { return {scratch_.data(), last_block_size_}; }

  // Valid after Close() returned OK.
  const Trailer& trailer() const { return trailer_; }
  const std::string& name() const { return name_; }
  uint32_t page_count() const { return page_count_; }

 private:
  enum class State { kHeader, kPages, kIndex, kClosed, kFailed };

  Status Fail(Status s, std::string_view where);
  Status ReadHashed(uint8_t* dst, size_t n);
  Status DecodePage(const PageHeader& ph, uint64_t offset, uint8_t* page);
  Status ReadIndex(uint64_t* digest);
  Result<uint64_t> ReadIndexVarint(uint64_t* index_len);

  InputStream in_;
  const std::string name_;
  State state_ = State::kHeader;
  Status error_;
  Header header_;
  Trailer trailer_;
  uint32_t lock_pgno_ = 0;
  uint32_t last_pgno_ = 0;
  uint32_t page_count_ = 0;
  uint64_t crc_ = 0;               // CRC-64 of the checksummed stream so far (§1.8)
  uint64_t rolling_checksum_ = 0;  // XOR of ChecksumPage, kept only for checksummed snapshots
  uint64_t index_digest_ = 0;      // CRC-64 of the index entries the pages read call for
  std::vector<uint8_t> scratch_;   // compressed bytes of the current page
  size_t last_block_size_ = 0;     // of those, the LZ4 block of a block-encoded page (0: frame-encoded)
  std::vector<uint8_t> drain_;     // page buffer for Close() skipping unread pages
};

// Decodes and verifies a whole LTX file, discarding the pages. Optionally returns its header and trailer.
Status VerifyFile(Reader& in, std::string_view name, Header* header = nullptr, Trailer* trailer = nullptr);

}  // namespace litestream::ltx
