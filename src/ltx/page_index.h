// Random access to the pages of an LTX file through its page index (the read-replica VFS, §1.5):
//
//   LS_ASSIGN_OR_RETURN(Header h, ReadHeader(file, name));
//   LS_ASSIGN_OR_RETURN(auto index, ReadPageIndex(file, name));  // reads only the file's tail
//   LS_RETURN_IF_ERROR(ReadPage(file, index[i], h.page_size, page, name));  // reads only that page's bytes
//
// The index is located from the end of the file: ... | index entries | 0 | u64 BE index_len | trailer (16).
// These functions check structure (ascending pgnos, frames inside the page block, sane sizes) but cannot
// check the file checksum, which needs the whole file: a frame-encoded page is still verified by its LZ4
// content checksum, a block-encoded page only by decoding to exactly page_size bytes. Use the Decoder to
// verify a file completely. Errors are Corruption (or the reader's), prefixed with `name`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/format.h"
#include "ltx/lz4_codec.h"

namespace litestream::ltx {

// Litestream first reads this many bytes from the end, hoping they hold the whole index.
constexpr size_t kEstimatedPageIndexSize = 32 * 1024;

struct PageIndexEntry {
  uint32_t pgno = 0;
  uint64_t offset = 0;  // absolute offset of the page header
  uint64_t size = 0;    // the whole encoded page: header, size field if any, payload
  bool operator==(const PageIndexEntry&) const = default;
};

// Reads and validates the header (bytes [0, 100)).
Result<Header> ReadHeader(RandomAccessReader& file, std::string_view name);

// Reads the index from the tail of the file: the last kEstimatedPageIndexSize bytes, plus one more read
// from the index start if the index is larger. "truncated page index" if the file is shorter than the
// 24-byte tail (index length + trailer).
// `tail_hint`: bytes to read from the end in the first request; a caller that knows the page count (from
// the header) can size it to hold the whole index and save the second request.
Result<std::vector<PageIndexEntry>> ReadPageIndex(RandomAccessReader& file, std::string_view name,
                                                  size_t tail_hint = kEstimatedPageIndexSize);

// Finds pgno's entry by scanning the index from the file's tail in 64 KiB pieces, without holding the whole
// index (a snapshot of a big database has hundreds of thousands of entries); nullopt if the file does
// not hold that page. Checks the entries it reads as DecodePageIndex does.
Result<std::optional<PageIndexEntry>> FindPageIndexEntry(RandomAccessReader& file, std::string_view name,
                                                         uint32_t pgno);

// The rules of one index entry, given the previous entry's pgno (0 before the first) and the end of its
// frame (kHeaderSize before the first): pgno in range and ascending, size in range, the frame after the
// previous one and inside [kHeaderSize, page_block_end). "" if the entry keeps them, else what it breaks
// (callers put "entry N: " first). Every index reader here checks entries with it.
inline std::string PageIndexEntryError(uint64_t pgno, uint64_t offset, uint64_t size, uint64_t prev_pgno,
                                       uint64_t frames_end, uint64_t page_block_end) {
  if (pgno > UINT32_MAX) return "pgno " + std::to_string(pgno) + " out of range";
  if (pgno <= prev_pgno)
    return "pgno " + std::to_string(pgno) + " does not ascend after " + std::to_string(prev_pgno);
  if (size <= kPageHeaderSize || size > MaxEncodedPageSize(kMaxPageSize)) {
    return "page " + std::to_string(pgno) + " size " + std::to_string(size) + " is out of range";
  }
  if (offset < frames_end || offset > page_block_end || size > page_block_end - offset) {
    return "page " + std::to_string(pgno) + " at offset " + std::to_string(offset) + " size " +
           std::to_string(size) + " overlaps another part of the file";
  }
  return {};
}

// Parses index entries: data[0, n) holds the varint triples and the 0 terminator (not the u64 length).
// Every entry must lie inside [kHeaderSize, page_block_end) (page_block_end: the offset of the end marker),
// pgnos strictly ascend, frames ascend without overlap, and the terminator is the last byte.
Result<std::vector<PageIndexEntry>> DecodePageIndex(const uint8_t* data, size_t n, uint64_t page_block_end);

// Decodes one encoded page (page header through the end of its payload; exactly that, no more) into
// page[0, page_size), either encoding. Sets *pgno from the page header.
Status DecodePageFrame(const uint8_t* data, size_t n, uint32_t page_size, uint32_t* pgno, uint8_t* page);
// The same with a caller-owned scratch buffer for frame-encoded pages, reused from call to call: a reader
// decoding many pages (the VFS's read-ahead) then allocates and clears nothing per page.
Status DecodePageFrame(const uint8_t* data, size_t n, uint32_t page_size, uint32_t* pgno, uint8_t* page,
                       std::vector<uint8_t>* scratch);

// Reads exactly [entry.offset, entry.offset + entry.size) and decodes it; the page header's pgno must be
// entry.pgno. Fails before reading anything if entry.size is larger than any page of page_size can take.
Status ReadPage(RandomAccessReader& file, const PageIndexEntry& entry, uint32_t page_size, uint8_t* page,
                std::string_view name);

}  // namespace litestream::ltx
