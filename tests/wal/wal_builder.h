// Builds SQLite WAL bytes for tests, with correct checksums in either byte order. The checksum here is a
// deliberately naive reference implementation, independent of the library's fast one.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "wal/format.h"

namespace litestream::wal::testing {

inline void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

inline uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// SQLite's checksum, one word at a time, straight from the definition.
inline Checksum ReferenceChecksum(bool big_endian, Checksum c, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint32_t w[2];
    for (int k = 0; k < 2; k++) {
      const uint8_t* q = p + i + 4 * k;
      w[k] = big_endian ? GetBE32(q)
                        : (uint32_t(q[3]) << 24) | (uint32_t(q[2]) << 16) | (uint32_t(q[1]) << 8) | q[0];
    }
    c.s0 += w[0] + c.s1;
    c.s1 += w[1] + c.s0;
  }
  return c;
}

// Rewrites bytes 24..31 of a WAL header from bytes 0..23 (after a test edited them).
inline void FixHeaderChecksum(std::vector<uint8_t>& wal) {
  bool big = GetBE32(wal.data()) == kMagicBigEndian;
  Checksum c = ReferenceChecksum(big, Checksum{}, wal.data(), 24);
  PutBE32(wal.data() + 24, c.s0);
  PutBE32(wal.data() + 28, c.s1);
}

// Page content that identifies (pgno, version).
inline std::vector<uint8_t> TestPage(uint32_t page_size, uint32_t pgno, uint32_t version) {
  std::vector<uint8_t> page(page_size);
  for (uint32_t i = 0; i < page_size; i++) page[i] = uint8_t(pgno * 31 + version * 7 + i * 13 + (i >> 8));
  return page;
}

class WalBuilder {
 public:
  explicit WalBuilder(uint32_t page_size = 4096, bool big_endian = false,
                      Salts salts = {0x11223344, 0x55667788}, uint32_t checkpoint_seq = 0)
      : page_size_(page_size), big_endian_(big_endian), bytes_(kHeaderSize) {
    WriteHeader(salts, checkpoint_seq);
  }

  // Appends a frame (at the write position) with the given page data.
  WalBuilder& FrameData(uint32_t pgno, uint32_t commit, const std::vector<uint8_t>& page) {
    size_t offset = write_pos_;
    if (bytes_.size() < offset + frame_size()) bytes_.resize(offset + frame_size());
    uint8_t* p = bytes_.data() + offset;
    PutBE32(p, pgno);
    PutBE32(p + 4, commit);
    PutBE32(p + 8, salts_.salt1);
    PutBE32(p + 12, salts_.salt2);
    std::memcpy(p + kFrameHeaderSize, page.data(), page_size_);
    running_ = ReferenceChecksum(big_endian_, running_, p, 8);
    running_ = ReferenceChecksum(big_endian_, running_, p + kFrameHeaderSize, page_size_);
    PutBE32(p + 16, running_.s0);
    PutBE32(p + 20, running_.s1);
    write_pos_ += frame_size();
    return *this;
  }
  // Appends a frame whose page is TestPage(pgno, version).
  WalBuilder& Frame(uint32_t pgno, uint32_t commit = 0, uint32_t version = 0) {
    return FrameData(pgno, commit, TestPage(page_size_, pgno, version));
  }

  // Starts a new WAL generation like SQLite's WAL restart: a new header with `salts`, and frames written
  // from offset 32 again, over the old ones (which stay behind as stale frames).
  WalBuilder& Restart(Salts salts) {
    WriteHeader(salts, GetBE32(bytes_.data() + 12) + 1);
    return *this;
  }

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  uint64_t frame_size() const { return kFrameHeaderSize + page_size_; }
  // Offset of the i-th frame slot (0-based).
  uint64_t FrameOffset(size_t i) const { return kHeaderSize + i * frame_size(); }
  Salts salts() const { return salts_; }
  uint32_t page_size() const { return page_size_; }

 private:
  void WriteHeader(Salts salts, uint32_t checkpoint_seq) {
    uint8_t* h = bytes_.data();
    PutBE32(h, big_endian_ ? kMagicBigEndian : kMagicLittleEndian);
    PutBE32(h + 4, kVersion);
    PutBE32(h + 8, page_size_);
    PutBE32(h + 12, checkpoint_seq);
    PutBE32(h + 16, salts.salt1);
    PutBE32(h + 20, salts.salt2);
    FixHeaderChecksum(bytes_);
    salts_ = salts;
    running_ = Checksum{GetBE32(h + 24), GetBE32(h + 28)};
    write_pos_ = kHeaderSize;
  }

  uint32_t page_size_;
  bool big_endian_;
  std::vector<uint8_t> bytes_;
  Salts salts_;
  Checksum running_;
  size_t write_pos_ = kHeaderSize;
};

}  // namespace litestream::wal::testing
