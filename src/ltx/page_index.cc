#include "ltx/page_index.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "ltx/coding.h"
#include "ltx/lz4_codec.h"

namespace litestream::ltx {
namespace {

constexpr size_t kTailSize = kPageIndexLengthSize + kTrailerSize;  // 24

Status Corrupt(std::string_view name, const std::string& m) {
  return Status::Corruption(std::string(name) + ": " + m);
}

// Reads [offset, offset + n) completely; Corruption if the file ends first.
Status ReadFullAt(RandomAccessReader& file, uint64_t offset, uint8_t* buf, size_t n, std::string_view name) {
  size_t done = 0;
  while (done < n) {
    LS_ASSIGN_OR_RETURN(size_t got, file.ReadAt(offset + done, buf + done, n - done));
    if (got == 0) {
      return Corrupt(name, "unexpected end of file at offset " + std::to_string(offset + done) +
                               " (reading " + std::to_string(n) + " bytes at offset " +
                               std::to_string(offset) + ")");
    }
    if (got > n - done)
      return Status::IOError(std::string(name) + ": reader returned more bytes than asked for");
    done += got;
  }
  return Status::OK();
}

// A ByteSource over memory.
class SpanSource final : public ByteSource {
 public:
  SpanSource(const uint8_t* data, size_t n) : data_(data), n_(n) {}
  Status ReadExact(uint8_t* dst, size_t n) override {
    if (n > n_ - pos_) {
      return Status::Corruption("frame ends inside the lz4 data (offset " + std::to_string(pos_) + " of " +
                                std::to_string(n_) + " bytes)");
    }
    std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return Status::OK();
  }

 private:
  const uint8_t* data_;
  size_t n_;
  size_t pos_ = 0;
};

// The index length stored before the trailer, checked to fit in a file of `size` bytes.
Result<uint64_t> CheckedIndexLength(std::string_view name, uint64_t size, const uint8_t* length_field) {
  const uint64_t index_len = GetBE64(length_field);
  const uint64_t max_len = size >= kHeaderSize + kPageHeaderSize + kTailSize
                               ? size - kHeaderSize - kPageHeaderSize - kTailSize
                               : 0;
  if (index_len == 0 || index_len > max_len) {
    return Corrupt(name, "truncated page index: index length " + std::to_string(index_len) +
                             " does not fit in a " + std::to_string(size) + "-byte file");
  }
  return index_len;
}

}  // namespace

Result<Header> ReadHeader(RandomAccessReader& file, std::string_view name) {
  uint8_t buf[kHeaderSize];
  LS_RETURN_IF_ERROR(ReadFullAt(file, 0, buf, sizeof(buf), name));
  Result<Header> h = Header::Decode(buf);
  if (!h.ok()) return Corrupt(name, "header: " + h.status().message());
  if (Status s = h->Validate(); !s.ok()) return Corrupt(name, "header: " + s.message());
  return h;
}

Result<std::vector<PageIndexEntry>> ReadPageIndex(RandomAccessReader& file, std::string_view name,
                                                  size_t tail_hint) {
  LS_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (size < kTailSize) {
    return Corrupt(name, "truncated page index: file is " + std::to_string(size) +
                             " bytes, the index length and "
                             "trailer alone take 24");
  }
  const size_t tail_len = static_cast<size_t>(std::min<uint64_t>(size, std::max(tail_hint, kTailSize)));
  const uint64_t tail_start = size - tail_len;
  std::vector<uint8_t> tail(tail_len);
  LS_RETURN_IF_ERROR(ReadFullAt(file, tail_start, tail.data(), tail_len, name));

  LS_ASSIGN_OR_RETURN(const uint64_t index_len,
                      CheckedIndexLength(name, size, tail.data() + tail_len - kTailSize));
  const uint64_t index_start = size - kTailSize - index_len;
  Result<std::vector<PageIndexEntry>> entries = Status::Corruption("unset");
  if (index_start >= tail_start) {
    entries =
        DecodePageIndex(tail.data() + (index_start - tail_start), index_len, index_start - kPageHeaderSize);
  } else {
    std::vector<uint8_t>().swap(tail);
    std::vector<uint8_t> index(index_len);  // index_len < size: bounded by the file itself
    LS_RETURN_IF_ERROR(ReadFullAt(file, index_start, index.data(), index.size(), name));
    entries = DecodePageIndex(index.data(), index.size(), index_start - kPageHeaderSize);
  }
  if (!entries.ok())
    return Corrupt(name,
                   "page index at offset " + std::to_string(index_start) + ": " + entries.status().message());
  return entries;
}

Result<std::optional<PageIndexEntry>> FindPageIndexEntry(RandomAccessReader& file, std::string_view name,
                                                         uint32_t pgno) {
  LS_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (size < kTailSize) {
    return Corrupt(name, "truncated page index: file is " + std::to_string(size) +
                             " bytes, the index length and trailer alone take 24");
  }
  uint8_t tail[kTailSize];
  LS_RETURN_IF_ERROR(ReadFullAt(file, size - kTailSize, tail, sizeof(tail), name));
  LS_ASSIGN_OR_RETURN(const uint64_t index_len, CheckedIndexLength(name, size, tail));
  const uint64_t index_start = size - kTailSize - index_len;
  const uint64_t index_end = index_start + index_len;
  const uint64_t page_block_end = index_start - kPageHeaderSize;
  constexpr size_t kChunk = 64 << 10;
  std::vector<uint8_t> buf;
  size_t pos = 0;
  uint64_t next_read = index_start;
  uint64_t prev_pgno = 0;
  uint64_t frames_end = kHeaderSize;
  for (size_t count = 0;; count++) {
    auto corrupt = [&](const std::string& m) {
      return Corrupt(name, "page index at offset " + std::to_string(index_start) + ": entry " +
                               std::to_string(count) + ": " + m);
    };
    // Keep three whole varints in the buffer unless the index ends first.
    if (buf.size() - pos < 3 * kMaxVarintLength && next_read < index_end) {
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
      pos = 0;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, index_end - next_read));
      const size_t old = buf.size();
      buf.resize(old + n);
      LS_RETURN_IF_ERROR(ReadFullAt(file, next_read, buf.data() + old, n, name));
      next_read += n;
    }
    const uint8_t* p = buf.data() + pos;
    const uint8_t* const limit = buf.data() + buf.size();
    PageIndexEntry e;
    uint64_t entry_pgno = 0;
    size_t len = GetUvarint(p, limit, &entry_pgno);
    if (len == 0) return corrupt("malformed or truncated varint");
    p += len;
    if (entry_pgno == 0) return std::optional<PageIndexEntry>();
    if ((len = GetUvarint(p, limit, &e.offset)) == 0) return corrupt("malformed or truncated varint");
    p += len;
    if ((len = GetUvarint(p, limit, &e.size)) == 0) return corrupt("malformed or truncated varint");
    p += len;
    pos = static_cast<size_t>(p - buf.data());
    if (std::string error =
            PageIndexEntryError(entry_pgno, e.offset, e.size, prev_pgno, frames_end, page_block_end);
        !error.empty()) {
      return corrupt(error);
    }
    e.pgno = static_cast<uint32_t>(entry_pgno);
    if (e.pgno == pgno) return std::optional<PageIndexEntry>(e);
    if (e.pgno > pgno) return std::optional<PageIndexEntry>();
    prev_pgno = entry_pgno;
    frames_end = e.offset + e.size;
  }
}

Result<std::vector<PageIndexEntry>> DecodePageIndex(const uint8_t* data, size_t n, uint64_t page_block_end) {
  std::vector<PageIndexEntry> entries;
  entries.reserve(n / 6);  // an entry takes at least 3 bytes, typically 7-10
  const uint8_t* p = data;
  const uint8_t* const limit = data + n;
  uint64_t frames_end = kHeaderSize;  // end of the previous entry's frame
  for (;;) {
    // Messages are built only on failure: this runs for every page of the database.
    auto where = [&] { return "entry " + std::to_string(entries.size()) + ": "; };
    uint64_t pgno = 0;
    size_t len = GetUvarint(p, limit, &pgno);
    if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
    p += len;
    if (pgno == 0) break;
    PageIndexEntry e;
    len = GetUvarint(p, limit, &e.offset);
    if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
    p += len;
    len = GetUvarint(p, limit, &e.size);
    if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
    p += len;
    const uint64_t prev_pgno = entries.empty() ? 0 : entries.back().pgno;
    if (std::string error =
            PageIndexEntryError(pgno, e.offset, e.size, prev_pgno, frames_end, page_block_end);
        !error.empty()) {
      return Status::Corruption(where() + error);
    }
    e.pgno = static_cast<uint32_t>(pgno);
    frames_end = e.offset + e.size;
    entries.push_back(e);
  }
  if (p != limit) {
    return Status::Corruption(std::to_string(limit - p) +
                              " bytes after the terminator, inside the index length");
  }
  return entries;
}

namespace {

// DecodePageFrame without the "page N: " prefix on errors; *pgno is set once the page header is read.
Status DecodeFrameBytes(const uint8_t* data, size_t n, uint32_t page_size, uint32_t* pgno, uint8_t* page,
                        std::vector<uint8_t>* scratch) {
  if (!IsValidPageSize(page_size))
    return Status::InvalidArgument("invalid page size " + std::to_string(page_size));
  if (n < kPageHeaderSize)
    return Status::Corruption("encoded page of " + std::to_string(n) + " bytes is too short");
  const PageHeader ph = PageHeader::Decode(data);
  *pgno = ph.pgno;
  if (ph.IsEndMarker()) return Status::Corruption("end marker where a page was expected");
  if (Status s = ph.Validate(); !s.ok()) return Status::Corruption(s.message());
  if (ph.IsBlockEncoded()) {
    if (n < kPageHeaderSize + kPageSizeFieldSize) return Status::Corruption("missing lz4 block size");
    const uint64_t csize = GetBE32(data + kPageHeaderSize);
    if (csize != n - kPageHeaderSize - kPageSizeFieldSize) {
      return Status::Corruption("lz4 block size " + std::to_string(csize) + " disagrees with the " +
                                std::to_string(n) + "-byte encoded page");
    }
    return DecompressBlock(data + kPageHeaderSize + kPageSizeFieldSize, csize, page, page_size);
  }
  SpanSource src(data + kPageHeaderSize, n - kPageHeaderSize);
  size_t frame_size = 0;
  LS_RETURN_IF_ERROR(DecodeFrame(src, page_size, page, scratch, &frame_size));
  if (frame_size != n - kPageHeaderSize) {
    return Status::Corruption(std::to_string(n - kPageHeaderSize - frame_size) +
                              " bytes after the end of the lz4 frame");
  }
  return Status::OK();
}

}  // namespace

Status DecodePageFrame(const uint8_t* data, size_t n, uint32_t page_size, uint32_t* pgno, uint8_t* page) {
  std::vector<uint8_t> scratch;
  return DecodePageFrame(data, n, page_size, pgno, page, &scratch);
}

Status DecodePageFrame(const uint8_t* data, size_t n, uint32_t page_size, uint32_t* pgno, uint8_t* page,
                       std::vector<uint8_t>* scratch) {
  uint32_t got = 0;
  Status s = DecodeFrameBytes(data, n, page_size, &got, page, scratch);
  if (!s.ok())
    return n < kPageHeaderSize ? s : Status(s.code(), "page " + std::to_string(got) + ": " + s.message());
  *pgno = got;
  return Status::OK();
}

Status ReadPage(RandomAccessReader& file, const PageIndexEntry& entry, uint32_t page_size, uint8_t* page,
                std::string_view name) {
  auto where = [&] {
    return "page " + std::to_string(entry.pgno) + " at offset " + std::to_string(entry.offset);
  };
  if (!IsValidPageSize(page_size))
    return Status::InvalidArgument("invalid page size " + std::to_string(page_size));
  if (entry.size <= kPageHeaderSize || entry.size > MaxEncodedPageSize(page_size)) {
    return Corrupt(name, where() + ": encoded size " + std::to_string(entry.size) + " is out of range for " +
                             std::to_string(page_size) + "-byte pages");
  }
  std::vector<uint8_t> buf(entry.size);
  LS_RETURN_IF_ERROR(ReadFullAt(file, entry.offset, buf.data(), buf.size(), name));
  uint32_t pgno = 0;
  std::vector<uint8_t> scratch;
  Status s = DecodeFrameBytes(buf.data(), buf.size(), page_size, &pgno, page, &scratch);
  if (s.ok() && pgno != entry.pgno) s = Status::Corruption("page header says pgno " + std::to_string(pgno));
  if (!s.ok()) return Status(s.code(), std::string(name) + ": " + where() + ": " + s.message());
  return Status::OK();
}

}  // namespace litestream::ltx
