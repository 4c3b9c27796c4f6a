#include "ltx/xxhash32.h"

#include <bit>

#include "ltx/coding.h"

namespace litestream::ltx {
namespace {

constexpr uint32_t kPrime1 = 2654435761u;
constexpr uint32_t kPrime2 = 2246822519u;
constexpr uint32_t kPrime3 = 3266489917u;
constexpr uint32_t kPrime4 = 668265263u;
constexpr uint32_t kPrime5 = 374761393u;

inline uint32_t Round(uint32_t acc, uint32_t input) { return std::rotl(acc + input * kPrime2, 13) * kPrime1; }

}  // namespace

uint32_t Xxh32(const void* data, size_t n, uint32_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  const uint8_t* const end = p + n;
  uint32_t h;
  if (n >= 16) {
    uint32_t v1 = seed + kPrime1 + kPrime2;
    uint32_t v2 = seed + kPrime2;
    uint32_t v3 = seed;
    uint32_t v4 = seed - kPrime1;
    for (; end - p >= 16; p += 16) {
      v1 = Round(v1, GetLE32(p));
      v2 = Round(v2, GetLE32(p + 4));
      v3 = Round(v3, GetLE32(p + 8));
      v4 = Round(v4, GetLE32(p + 12));
    }
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint32_t>(n);
  for (; end - p >= 4; p += 4) h = std::rotl(h + GetLE32(p) * kPrime3, 17) * kPrime4;
  for (; p < end; p++) h = std::rotl(h + *p * kPrime5, 11) * kPrime1;
  h ^= h >> 15;
  h *= kPrime2;
  h ^= h >> 13;
  h *= kPrime3;
  h ^= h >> 16;
  return h;
}

}  // namespace litestream::ltx
