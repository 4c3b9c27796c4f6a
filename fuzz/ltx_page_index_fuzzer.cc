// Arbitrary bytes through the random-access path the VFS uses: header, page index from the tail, and a
// ranged read and decode of each indexed page; plus DecodePageFrame on the raw bytes. Must never crash,
// hang or allocate beyond a small bound; errors are expected.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ltx/ltx.h"
#include "util/memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  litestream::MemoryRandomAccessReader file(data, size);
  auto header = litestream::ltx::ReadHeader(file, "fuzz.ltx");
  const uint32_t page_size = header.ok() ? header->page_size : 4096;
  std::vector<uint8_t> page(litestream::ltx::kMaxPageSize);
  auto index = litestream::ltx::ReadPageIndex(file, "fuzz.ltx");
  if (index.ok()) {
    size_t n = 0;
    for (const auto& entry : *index) {
      if (n++ == 256) break;
      (void)litestream::ltx::ReadPage(file, entry, page_size, page.data(), "fuzz.ltx");
    }
  }
  if (size > 0) {
    // The first byte picks a page size; the rest is one encoded page.
    const uint32_t ps = 512u << (data[0] % 8);
    uint32_t pgno = 0;
    (void)litestream::ltx::DecodePageFrame(data + 1, size - 1, ps, &pgno, page.data());
  }
  return 0;
}
