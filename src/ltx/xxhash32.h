// XXH32 (https://github.com/Cyan4973/xxHash, the 32-bit variant), as the LZ4 frame format uses it for
// its header checksum and its content and block checksums.
#pragma once

#include <cstddef>
#include <cstdint>

namespace litestream::ltx {

uint32_t Xxh32(const void* data, size_t n, uint32_t seed = 0);

}  // namespace litestream::ltx
