// CRC-64/GO-ISO: Go's hash/crc64 with the ISO table (polynomial x^64 + x^4 + x^3 + x + 1, reflected
// 0xD800000000000000, init and final xor all ones). LTX uses it for every checksum (docs/ltx.md).
// check("123456789") = 0xB90956C775A41001.
#pragma once

#include <cstddef>
#include <cstdint>

namespace litestream::crc64 {

// Returns the CRC of A‖data[0, n), where `crc` is the CRC of some string A (0 for the empty string).
// Same contract as Go's crc64.Update(crc, crc64.MakeTable(crc64.ISO), data). Table driven, 8 bytes a step.
uint64_t Extend(uint64_t crc, const void* data, size_t n);

// Returns the CRC of data[0, n).
inline uint64_t Value(const void* data, size_t n) { return Extend(0, data, n); }

}  // namespace litestream::crc64

namespace litestream::crc64::internal {
// Extend() without the carry-less-multiplication fast path, for tests.
uint64_t ExtendPortable(uint64_t crc, const void* data, size_t n);
}  // namespace litestream::crc64::internal
