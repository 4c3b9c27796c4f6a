#include "wal/format.h"

#include <bit>
#include <cstdio>
#include <cstring>

namespace litestream::wal {
namespace {

uint32_t LoadBE32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Loads a u32 stored in byte order kBig (true) or little endian (false).
template <bool kBig>
inline uint32_t LoadWord(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (kBig != (std::endian::native == std::endian::big)) v = __builtin_bswap32(v);
  return v;
}

// The sums form a serial dependency chain, so the speed comes from cheap loads and unrolling.
template <bool kBig>
Checksum Compute(Checksum c, const uint8_t* p, size_t n) {
  uint32_t s0 = c.s0;
  uint32_t s1 = c.s1;
  const uint8_t* end = p + (n & ~size_t{7});
  while (end - p >= 32) {
    s0 += LoadWord<kBig>(p) + s1;
    s1 += LoadWord<kBig>(p + 4) + s0;
    s0 += LoadWord<kBig>(p + 8) + s1;
    s1 += LoadWord<kBig>(p + 12) + s0;
    s0 += LoadWord<kBig>(p + 16) + s1;
    s1 += LoadWord<kBig>(p + 20) + s0;
    s0 += LoadWord<kBig>(p + 24) + s1;
    s1 += LoadWord<kBig>(p + 28) + s0;
    p += 32;
  }
  while (p < end) {
    s0 += LoadWord<kBig>(p) + s1;
    s1 += LoadWord<kBig>(p + 4) + s0;
    p += 8;
  }
  return Checksum{s0, s1};
}

}  // namespace

Checksum ComputeChecksum(ByteOrder order, Checksum seed, const uint8_t* data, size_t n) {
  return order == ByteOrder::kBig ? Compute<true>(seed, data, n) : Compute<false>(seed, data, n);
}

std::string FormatSalts(Salts s) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%08x/%08x", s.salt1, s.salt2);
  return buf;
}

Result<Header> ParseHeader(const uint8_t* data, size_t n) {
  if (n < kHeaderSize) {
    return WalNotReadyError("wal header is " + std::to_string(n) + " bytes, want " +
                            std::to_string(kHeaderSize));
  }
  Header h;
  h.magic = LoadBE32(data);
  if (h.magic != kMagicLittleEndian && h.magic != kMagicBigEndian) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "invalid wal header magic: %08x", h.magic);
    return Status::Corruption(buf);
  }
  h.version = LoadBE32(data + 4);
  h.page_size = LoadBE32(data + 8);
  h.checkpoint_seq = LoadBE32(data + 12);
  h.salts = Salts{LoadBE32(data + 16), LoadBE32(data + 20)};
  h.checksum = Checksum{LoadBE32(data + 24), LoadBE32(data + 28)};
  if (ComputeChecksum(h.byte_order(), Checksum{}, data, 24) != h.checksum) {
    return WalNotReadyError("wal header checksum mismatch");
  }
  if (h.version != kVersion) {
    return Status::Corruption("unsupported wal version: " + std::to_string(h.version));
  }
  if (h.page_size < kMinPageSize || h.page_size > kMaxPageSize || (h.page_size & (h.page_size - 1)) != 0) {
    return Status::Corruption("invalid wal page size: " + std::to_string(h.page_size));
  }
  return h;
}

FrameHeader DecodeFrameHeader(const uint8_t* p) {
  FrameHeader f;
  f.pgno = LoadBE32(p);
  f.commit = LoadBE32(p + 4);
  f.salts = Salts{LoadBE32(p + 8), LoadBE32(p + 12)};
  f.checksum = Checksum{LoadBE32(p + 16), LoadBE32(p + 20)};
  return f;
}

Status WalNotReadyError(std::string message) {
  return Status(StatusCode::kUnavailable, "wal not ready: " + std::move(message));
}

Status PrevFrameMismatchError(std::string message) {
  return Status(StatusCode::kFailedPrecondition, "prev frame mismatch: " + std::move(message));
}

}  // namespace litestream::wal
