// WalReader: reads the valid, committed frames of a SQLite WAL, exactly as Litestream's WALReader does
// (ENGINE.md §3.2; the contract is in docs/wal.md).
//
// Validity: a frame is valid iff it is completely present, its pgno is nonzero, its salts equal the
// reader's salts and its running checksum matches. The first invalid frame is the end of the WAL, which is
// not an error. Frames of a transaction count only once its commit frame (commit != 0) has been read.
//
// Memory: the reader reads the WAL in bounded chunks (at most about 1 MiB at a time) and never holds the
// whole WAL; only the page map grows, with one entry per distinct page.
//
// Thread safety: a WalReader is immutable after Open/OpenAt; its const methods may run concurrently if
// the underlying RandomAccessReader allows concurrent ReadAt calls (FileSystem files do).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "wal/format.h"

namespace litestream::wal {

// The committed content of a WAL range.
struct PageMap {
  // pgno -> file offset of the frame holding the newest committed version of that page. Only pgnos
  // <= commit are kept (a shrinking transaction, e.g. VACUUM, drops the pages past the new end).
  std::map<uint32_t, uint64_t> pages;
  // The DB size in pages after the last transaction read. 0 if `pages` is empty.
  uint32_t commit = 0;
  // (largest offset in `pages`) + frame size: the end of the last committed frame. 0 if `pages` is empty.
  uint64_t max_offset = 0;
  // True if reading stopped at a commit because the byte limit was reached; more committed frames may follow.
  bool limited = false;
};

class WalReader {
 public:
  // A reader of the frames from offset 32, with the header's salts; the header checksum seeds the running
  // checksum. Fails with WalNotReady (kUnavailable) for a short header or a header checksum mismatch, or
  // Corruption for a bad magic, version or page size (see ParseHeader). `file` must outlive the reader.
  static Result<WalReader> Open(RandomAccessReader* file);

  // A reader of the frames from `offset` with the given salts (not the header's: the header may have been
  // rewritten since). REQUIRES offset > 32 and (offset - 32) % frame size == 0, else InvalidArgument. The
  // header must still parse (same failures as Open). The frame before `offset` is read without checksum
  // verification: if it is not completely present, or its salts differ, the result is
  // PrevFrameMismatch (kFailedPrecondition) and the caller should fall back to Open(). Otherwise its stored
  // checksum seeds the running checksum.
  static Result<WalReader> OpenAt(RandomAccessReader* file, uint64_t offset, Salts salts);

  const Header& header() const { return header_; }
  uint32_t page_size() const { return header_.page_size; }
  uint64_t frame_size() const { return header_.frame_size(); }
  // Where this reader's first frame is (32 for Open, `offset` for OpenAt).
  uint64_t start_offset() const { return start_; }
  // The salts frames must carry to be valid (the header's for Open, the given ones for OpenAt).
  Salts salts() const { return salts_; }

  // Reads the valid frames from start_offset() and maps the committed pages (see PageMap). Trailing
  // uncommitted frames are ignored. If max_bytes > 0, stops at the first commit frame whose end is at
  // least max_bytes past start_offset(), with limited = true, so a limit cuts only at commit boundaries.
  // Each call starts again from start_offset(). Errors are I/O errors only.
  Result<PageMap> ReadPageMap(uint64_t max_bytes = 0) const;
  // The same map from page numbers known without reading the frames (the wal-index's): pgnos[i] is the page
  // of the frame at start_offset() + i * frame_size(), every one of them committed, the last one ending a
  // transaction after which the database has `commit` pages. Corruption for a page number 0.
  Result<PageMap> PageMapOf(std::span<const uint32_t> pgnos, uint32_t commit) const;

  // Scans the frame headers from offset 32 (salts only: no checksum, no salt check, the page data is not
  // needed) and returns the distinct salt pairs in order of first appearance. Stops after the first frame
  // that carries `until`, or at the first incomplete frame header.
  Result<std::vector<Salts>> FrameSaltsUntil(Salts until) const;

  // Reads the header of the frame at `offset` (no validation). InvalidArgument if the offset is not a frame
  // boundary (offset >= 32, aligned); NotFound if the file ends before the 24 header bytes.
  Result<FrameHeader> ReadFrameHeader(uint64_t offset) const;
  // Reads the frame at `offset`: returns its header and copies its page_size() data bytes into `page`.
  // No validation (use offsets from ReadPageMap, or check the salts yourself). InvalidArgument if the
  // offset is not a frame boundary; NotFound if the file ends before the end of the frame.
  Result<FrameHeader> ReadFrame(uint64_t offset, uint8_t* page) const;

 private:
  WalReader(RandomAccessReader* file, const Header& header, uint64_t start, Salts salts, Checksum seed)
      : file_(file), header_(header), start_(start), salts_(salts), seed_(seed) {}

  Status CheckFrameOffset(uint64_t offset) const;

  RandomAccessReader* file_;
  Header header_;
  uint64_t start_;
  Salts salts_;
  Checksum seed_;  // the running checksum before the frame at start_
};

// Reads and parses the WAL header of `file` (ParseHeader over its first 32 bytes).
Result<Header> ReadHeader(RandomAccessReader& file);

}  // namespace litestream::wal
