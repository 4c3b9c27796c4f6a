// The VFS's page index decoder: the same format and the same checks as ltx::DecodePageIndex, but each entry
// goes straight to a callback (the VFS writes it into its pgno -> location table) instead of into a vector
// of entries, and varints are read without per-byte bounds checks while at least 30 bytes remain. Opening a
// 258 MiB replica decodes about 66,000 entries; this takes a fraction of the time the vector version does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "litestream/status.h"
#include "ltx/coding.h"
#include "ltx/format.h"
#include "ltx/lz4_codec.h"
#include "ltx/page_index.h"

namespace litestream::vfs {

namespace index_detail {

// ltx::GetUvarint for a caller that guarantees ltx::kMaxVarintLength readable bytes at p.
inline size_t GetUvarintUnchecked(const uint8_t* p, uint64_t* v) {
  uint64_t b = p[0];
  if (b < 0x80) {
    *v = b;
    return 1;
  }
  uint64_t result = b & 0x7F;
  for (size_t i = 1; i < ltx::kMaxVarintLength; i++) {
    b = p[i];
    if (i == ltx::kMaxVarintLength - 1 && b > 1) return 0;  // overflow
    result |= (b & 0x7F) << (7 * i);
    if (b < 0x80) {
      *v = result;
      return i + 1;
    }
  }
  return 0;
}

}  // namespace index_detail

// Parses index entries in data[0, n) (the varint triples and the 0 terminator, not the u64 length) and
// calls fn(pgno, offset, size) for each, in order. Checks what ltx::DecodePageIndex checks (each entry with
// ltx::PageIndexEntryError, the terminator last). Errors are Corruption("entry N: ...") as there.
template <typename Fn>
Status DecodePageIndexEntries(const uint8_t* data, size_t n, uint64_t page_block_end, Fn&& fn) {
  using index_detail::GetUvarintUnchecked;
  constexpr size_t kFastBytes = 3 * ltx::kMaxVarintLength;
  const uint8_t* p = data;
  const uint8_t* const limit = data + n;
  uint64_t frames_end = ltx::kHeaderSize;  // end of the previous entry's frame
  uint64_t prev_pgno = 0;
  size_t count = 0;
  auto where = [&] { return "entry " + std::to_string(count) + ": "; };
  auto varint = [&](uint64_t* v) -> bool {
    const size_t len = static_cast<size_t>(limit - p) >= ltx::kMaxVarintLength ? GetUvarintUnchecked(p, v)
                                                                               : ltx::GetUvarint(p, limit, v);
    p += len;
    return len != 0;
  };
  for (;; count++) {
    uint64_t pgno = 0, offset = 0, size = 0;
    if (static_cast<size_t>(limit - p) >= kFastBytes) {
      size_t len = GetUvarintUnchecked(p, &pgno);
      if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
      p += len;
      if (pgno == 0) break;
      len = GetUvarintUnchecked(p, &offset);
      if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
      p += len;
      len = GetUvarintUnchecked(p, &size);
      if (len == 0) return Status::Corruption(where() + "malformed or truncated varint");
      p += len;
    } else {
      if (!varint(&pgno)) return Status::Corruption(where() + "malformed or truncated varint");
      if (pgno == 0) break;
      if (!varint(&offset) || !varint(&size)) return Status::Corruption(where() + "malformed or truncated varint");
    }
    if (std::string error = ltx::PageIndexEntryError(pgno, offset, size, prev_pgno, frames_end, page_block_end);
        !error.empty()) {
      return Status::Corruption(where() + error);
    }
    frames_end = offset + size;
    prev_pgno = pgno;
    fn(static_cast<uint32_t>(pgno), offset, static_cast<uint32_t>(size));
  }
  if (p != limit) {
    return Status::Corruption(std::to_string(limit - p) + " bytes after the terminator, inside the index length");
  }
  return Status::OK();
}

}  // namespace litestream::vfs
