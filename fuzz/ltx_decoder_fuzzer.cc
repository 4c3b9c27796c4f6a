// Decodes arbitrary bytes as an LTX file through every streaming path: the Decoder page by page and
// Close(), DecodeDatabaseTo, and a two-input merge of the bytes with themselves. Any crash, hang, sanitizer
// report or allocation beyond -malloc_limit_mb is a bug; errors are expected.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "litestream/io.h"
#include "ltx/ltx.h"

namespace {

class DiscardWriter final : public litestream::Writer {
 public:
  litestream::Status Write(const uint8_t*, size_t) override { return litestream::Status::OK(); }
};

void DecodePages(const std::vector<uint8_t>& bytes) {
  litestream::BufferReader in(bytes);
  litestream::ltx::Decoder dec(in, "fuzz.ltx");
  if (!dec.DecodeHeader().ok()) return;
  std::vector<uint8_t> page(dec.header().page_size);
  for (int i = 0; i < 100000; i++) {
    uint32_t pgno = 0;
    auto more = dec.NextPage(&pgno, page.data());
    if (!more.ok() || !*more) break;
  }
  (void)dec.Close();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  DecodePages(bytes);
  {
    litestream::BufferReader in(bytes);
    DiscardWriter out;
    (void)litestream::ltx::DecodeDatabaseTo(in, out, "fuzz.ltx");
  }
  {
    litestream::BufferReader a(bytes), b(bytes);
    litestream::ltx::MergeIterator merge({{&a, "a.ltx"}, {&b, "b.ltx"}});
    if (merge.Open().ok()) {
      DiscardWriter out;
      litestream::ltx::Encoder enc(out, litestream::ltx::PageEncoding::kBlock);
      (void)litestream::ltx::EncodeAll(merge, enc);
    }
  }
  return 0;
}
