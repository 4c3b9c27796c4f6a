#include "util/crc64.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LITESTREAM_CRC64_CLMUL 1
#endif

namespace litestream::crc64 {
namespace {

// Polynomial arithmetic over GF(2) in "normal" order (bit i = coefficient of x^i); P = x^64 + kPolyLow.
constexpr uint64_t kPolyLow = 0x1B;  // x^4 + x^3 + x + 1
constexpr uint64_t kPolyReflected = 0xD800000000000000ULL;

constexpr uint64_t Reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; i++) r |= ((v >> i) & 1) << (63 - i);
  return r;
}

// x^n mod P.
constexpr uint64_t XPowModP(int n) {
  uint64_t r = 1;
  for (int i = 0; i < n; i++) r = (r << 1) ^ ((r >> 63) ? kPolyLow : 0);
  return r;
}

// floor(x^128 / P) - x^64, which equals floor(kPolyLow * x^64 / P) (expand (x^64 + m)(x^64 + kPolyLow)).
constexpr uint64_t BarrettMuLow() {
  // Long division of kPolyLow * x^64; only the dividend's coefficients of x^64 and up (`hi`) decide the
  // quotient bits, so the low half is not tracked.
  uint64_t hi = kPolyLow, q = 0;
  for (int bit = 127; bit >= 64; bit--) {
    const int s = bit - 64;
    if ((hi >> s) & 1) {
      q |= uint64_t{1} << s;
      hi ^= uint64_t{1} << s;  // subtract P * x^s = x^bit + kPolyLow * x^s
      if (s > 0) hi ^= kPolyLow >> (64 - s);
    }
  }
  return q;
}

// Table-driven, 8 bytes per step ("slicing by 8"). Plain arrays: debug builds index them inline.
struct Tables {
  uint64_t t[8][256];
};

constexpr Tables MakeTables() {
  Tables tables{};
  for (uint64_t i = 0; i < 256; i++) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ kPolyReflected : crc >> 1;
    tables.t[0][i] = crc;
  }
  for (int k = 1; k < 8; k++) {
    for (int i = 0; i < 256; i++)
      tables.t[k][i] = (tables.t[k - 1][i] >> 8) ^ tables.t[0][tables.t[k - 1][i] & 0xFF];
  }
  return tables;
}

constexpr Tables kTables = MakeTables();

inline uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// `crc` is the inverted running state, as inside the loop of the classic algorithm.
uint64_t ExtendTable(uint64_t crc, const uint8_t* p, size_t n) {
  const uint64_t(*t)[256] = kTables.t;
  for (; n >= 8; p += 8, n -= 8) {
    crc ^= LoadLittleEndian64(p);
    crc = t[7][crc & 0xFF] ^ t[6][(crc >> 8) & 0xFF] ^ t[5][(crc >> 16) & 0xFF] ^ t[4][(crc >> 24) & 0xFF] ^
          t[3][(crc >> 32) & 0xFF] ^ t[2][(crc >> 40) & 0xFF] ^ t[1][(crc >> 48) & 0xFF] ^ t[0][crc >> 56];
  }
  for (; n > 0; p++, n--) crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return crc;
}

#ifdef LITESTREAM_CRC64_CLMUL
// Carry-less multiplication (PCLMULQDQ) folding. A 16-byte block loaded little-endian holds 128 message
// bits in reflected order; multiplying reflected operands yields the reflected product times x, so each
// fold constant is reflect(x^(d-1) mod P) for a fold over d bits, and the final reduction is a Barrett
// reduction with mu = floor(x^128 / P). Checked against the table on every length in crc64 tests.
struct FoldConstants {
  uint64_t high_half;  // multiplies the block's low 64 bits (the higher-order coefficients)
  uint64_t low_half;   // multiplies the block's high 64 bits
};

constexpr FoldConstants Fold(int bits) {
  return {Reflect64(XPowModP(bits + 63)), Reflect64(XPowModP(bits - 1))};
}

constexpr FoldConstants kFold128 = Fold(128);
constexpr FoldConstants kFold256 = Fold(256);
constexpr FoldConstants kFold384 = Fold(384);
constexpr FoldConstants kFold512 = Fold(512);
constexpr uint64_t kX127 = Reflect64(XPowModP(127));
constexpr uint64_t kMuLow = Reflect64(BarrettMuLow());

__attribute__((target("pclmul,sse4.1"), always_inline)) inline __m128i FoldBlock(__m128i x, FoldConstants k) {
  const __m128i kk = _mm_set_epi64x(static_cast<long long>(k.low_half), static_cast<long long>(k.high_half));
  return _mm_xor_si128(_mm_clmulepi64_si128(x, kk, 0x00), _mm_clmulepi64_si128(x, kk, 0x11));
}

__attribute__((target("pclmul,sse4.1"), always_inline)) inline __m128i Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// REQUIRES: n >= 64. Returns the inverted state after *consumed bytes (a multiple of 16).
__attribute__((target("pclmul,sse4.1"))) uint64_t ExtendClmul(uint64_t crc, const uint8_t* p, size_t n,
                                                              size_t* consumed) {
  const uint8_t* const start = p;
  __m128i x0 = _mm_xor_si128(Load128(p), _mm_set_epi64x(0, static_cast<long long>(crc)));
  __m128i x1 = Load128(p + 16);
  __m128i x2 = Load128(p + 32);
  __m128i x3 = Load128(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(FoldBlock(x0, kFold512), Load128(p));
    x1 = _mm_xor_si128(FoldBlock(x1, kFold512), Load128(p + 16));
    x2 = _mm_xor_si128(FoldBlock(x2, kFold512), Load128(p + 32));
    x3 = _mm_xor_si128(FoldBlock(x3, kFold512), Load128(p + 48));
  }
  __m128i x = _mm_xor_si128(_mm_xor_si128(FoldBlock(x0, kFold384), FoldBlock(x1, kFold256)),
                            _mm_xor_si128(FoldBlock(x2, kFold128), x3));
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(FoldBlock(x, kFold128), Load128(p));

  // V = H * (x^128 mod P) + L * x^64 is congruent to the 128 bits times x^64 and has degree < 128.
  const __m128i v = _mm_xor_si128(
      _mm_clmulepi64_si128(x, _mm_set_epi64x(0, static_cast<long long>(kX127)), 0x00), _mm_srli_si128(x, 8));
  const uint64_t v_high = static_cast<uint64_t>(_mm_cvtsi128_si64(v));  // reflected top 64 coefficients
  const uint64_t v_low = static_cast<uint64_t>(_mm_extract_epi64(v, 1));
  // Barrett: q = V_hi + floor(V_hi * mu_low / x^64); remainder = V_lo + (q * P_low mod x^64).
  const __m128i z = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(v_high)),
                                         _mm_set_epi64x(0, static_cast<long long>(kMuLow)), 0x00);
  const uint64_t q = v_high ^ (static_cast<uint64_t>(_mm_cvtsi128_si64(z)) << 1);
  const __m128i w = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(q)),
                                         _mm_set_epi64x(0, static_cast<long long>(kPolyReflected)), 0x00);
  const uint64_t w_low = static_cast<uint64_t>(_mm_cvtsi128_si64(w));
  const uint64_t w_high = static_cast<uint64_t>(_mm_extract_epi64(w, 1));
  *consumed = static_cast<size_t>(p - start);
  return v_low ^ ((w_low >> 63) | (w_high << 1));
}

bool HaveClmul() {
  static const bool have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return have;
}
#endif

}  // namespace

uint64_t Extend(uint64_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#ifdef LITESTREAM_CRC64_CLMUL
  if (n >= 64 && HaveClmul()) {
    size_t consumed = 0;
    crc = ExtendClmul(crc, p, n, &consumed);
    p += consumed;
    n -= consumed;
  }
#endif
  return ~ExtendTable(crc, p, n);
}

namespace internal {
uint64_t ExtendPortable(uint64_t crc, const void* data, size_t n) {
  return ~ExtendTable(~crc, static_cast<const uint8_t*>(data), n);
}
}  // namespace internal

}  // namespace litestream::crc64
