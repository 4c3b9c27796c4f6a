// A stream of database pages in ascending pgno order, described by an LTX header. Implemented by the
// Decoder (one file) and the MergeIterator (N files merged); consumed by the Encoder loop of the compactor,
// by WriteDatabaseImage (restore) and by EncodingReader (an LTX byte stream produced on demand).
#pragma once

#include <cstdint>
#include <span>

#include "litestream/status.h"
#include "ltx/format.h"

namespace litestream::ltx {

class PageSource {
 public:
  virtual ~PageSource() = default;

  // The header of the stream. REQUIRES: the source is open (Decoder::DecodeHeader / MergeIterator::Open
  // returned OK).
  virtual const Header& header() const = 0;

  // Copies the next page into page[0, header().page_size) and sets *pgno. Returns false after the last
  // page. Pgnos strictly ascend, are <= header().commit and are never the lock page.
  virtual Result<bool> NextPage(uint32_t* pgno, uint8_t* page) = 0;

  // Reads and verifies whatever follows the pages (for a file: index, trailer, file checksum, end of
  // stream). Skips (but still verifies) pages not yet read. OK means every byte was checked.
  virtual Status Close() = 0;

  // The PostApplyChecksum to write in a trailer for this stream. Valid once Close() returned OK.
  virtual uint64_t post_apply_checksum() const = 0;

  // The LZ4 block (block encoding, §1.4a) the page last returned by NextPage was decoded from, if the
  // source has it; empty otherwise. Valid until the next call. A re-encoder copies it instead of
  // compressing the page again (compaction: LZ4 compression was most of its CPU).
  virtual std::span<const uint8_t> last_block() const { return {}; }
};

}  // namespace litestream::ltx
