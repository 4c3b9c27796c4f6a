// Byte-level helpers for the LTX codec: big-endian integers and unsigned LEB128 varints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace litestream::ltx {

inline void PutBE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void PutBE32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

inline void PutBE64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

inline uint16_t GetBE16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline uint64_t GetBE64(const uint8_t* p) { return (uint64_t{GetBE32(p)} << 32) | GetBE32(p + 4); }

inline uint32_t GetLE32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

inline void PutLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

constexpr size_t kMaxVarintLength = 10;

// Appends v as an unsigned LEB128 varint (Go's binary.AppendUvarint).
inline void AppendUvarint(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

// Writes v into p (room for kMaxVarintLength bytes); returns the length.
inline size_t PutUvarint(uint8_t* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<uint8_t>(v);
  return n;
}

// Decodes a varint from [p, limit). Returns the bytes consumed, or 0 if the input ends inside the varint
// or the value does not fit in 64 bits.
inline size_t GetUvarint(const uint8_t* p, const uint8_t* limit, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarintLength && p + i < limit; i++) {
    const uint64_t b = p[i];
    if (i == kMaxVarintLength - 1 && b > 1) return 0;  // overflow
    result |= (b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      *v = result;
      return i + 1;
    }
  }
  return 0;
}

}  // namespace litestream::ltx
