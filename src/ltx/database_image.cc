#include "ltx/database_image.h"

#include <string>
#include <vector>

#include "ltx/decoder.h"

namespace litestream::ltx {

Status WriteDatabaseImage(PageSource& source, Writer& out, std::string_view name) {
  const Header& h = source.header();
  auto corrupt = [&](const std::string& m) { return Status::Corruption(std::string(name) + ": " + m); };
  if (!h.IsSnapshot()) {
    return corrupt("not a snapshot (min TXID " + std::to_string(h.min_txid) +
                   "): a database can only be built from a file starting at TXID 1");
  }
  const uint32_t lock_pgno = LockPgno(h.page_size);
  std::vector<uint8_t> page(h.page_size);
  uint64_t want = 1;  // the next pgno to write
  auto write_lock_page_if_next = [&]() -> Status {
    if (want == lock_pgno && want <= h.commit) {
      std::vector<uint8_t> zeros(h.page_size);
      LS_RETURN_IF_ERROR(out.Write(zeros.data(), zeros.size()));
      want++;
    }
    return Status::OK();
  };
  for (;;) {
    uint32_t pgno = 0;
    LS_ASSIGN_OR_RETURN(bool more, source.NextPage(&pgno, page.data()));
    if (!more) break;
    if (pgno != want) {
      return corrupt("nonsequential page numbers in snapshot: got " + std::to_string(pgno) + ", want " +
                     std::to_string(want));
    }
    LS_RETURN_IF_ERROR(out.Write(page.data(), page.size()));
    want++;
    LS_RETURN_IF_ERROR(write_lock_page_if_next());
  }
  if (want <= h.commit) {
    return corrupt("snapshot ends before page " + std::to_string(want) + " of " + std::to_string(h.commit));
  }
  return source.Close();
}

Status DecodeDatabaseTo(Reader& in, Writer& out, std::string_view name) {
  Decoder dec(in, std::string(name));
  LS_RETURN_IF_ERROR(dec.DecodeHeader());
  return WriteDatabaseImage(dec, out, name);
}

}  // namespace litestream::ltx
