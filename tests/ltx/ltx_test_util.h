// Helpers shared by the LTX tests: building files from page lists, decoding them back, synthetic page
// sources that stand in for databases too large to keep on disk, and a writer that checks a database
// image against its generator instead of storing it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "ltx/coding.h"
#include "ltx/ltx.h"
#include "ltx/lz4_codec.h"
#include "util/crc64.h"

namespace litestream::ltx::testing {

using Bytes = std::vector<uint8_t>;
using PageMap = std::map<uint32_t, Bytes>;

inline Bytes ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A NoChecksum header as Litestream writes it.
inline Header MakeHeader(uint32_t page_size, uint32_t commit, uint64_t min_txid, uint64_t max_txid) {
  Header h;
  h.flags = kHeaderFlagNoChecksum;
  h.page_size = page_size;
  h.commit = commit;
  h.min_txid = min_txid;
  h.max_txid = max_txid;
  h.timestamp = 1735689600000 + static_cast<int64_t>(max_txid);
  return h;
}

// Deterministic page contents: partly compressible, partly not, different per (pgno, seed).
inline Bytes MakePage(uint32_t page_size, uint32_t pgno, uint32_t seed = 0) {
  Bytes page(page_size);
  uint32_t x = pgno * 2654435761u ^ (seed + 1) * 40503u;
  for (size_t i = 0; i < page_size; i++) {
    if (i % 64 < 40) {
      page[i] = static_cast<uint8_t>(i / 64 + pgno);
    } else {
      x = x * 1103515245u + 12345u;
      page[i] = static_cast<uint8_t>(x >> 16);
    }
  }
  return page;
}

// Encodes a file holding `pages` (ascending by map order).
inline Result<Bytes> EncodeFile(const Header& h, const PageMap& pages, PageEncoding encoding,
                                uint64_t post_apply = 0) {
  BufferWriter out;
  Encoder enc(out, encoding);
  LS_RETURN_IF_ERROR(enc.EncodeHeader(h));
  for (const auto& [pgno, data] : pages) LS_RETURN_IF_ERROR(enc.EncodePage(pgno, data.data(), data.size()));
  enc.SetPostApplyChecksum(post_apply);
  LS_RETURN_IF_ERROR(enc.Close());
  return std::move(out.data());
}

using PageList = std::vector<std::pair<uint32_t, Bytes>>;

// Builds a file by hand, straight from the layout of §1.1-1.8, choosing each page's encoding with
// `block(pgno)`: the only way to get files that mix encodings or break the encoder's rules, and a check
// on the Encoder. Pages are written in the order given. `tamper_index` may edit the index entries (before
// the terminator) before the checksum is computed. `compress_block` (default: liblz4) appends a page's LZ4
// block to its output.
using BlockCompressor = std::function<Status(const uint8_t* page, uint32_t page_size, Bytes* out)>;
inline Bytes HandEncodeList(const Header& h, const PageList& pages,
                            const std::function<bool(uint32_t)>& block, uint64_t post_apply = 0,
                            const std::function<void(Bytes*)>& tamper_index = nullptr,
                            const BlockCompressor& compress_block = nullptr) {
  Bytes file(kHeaderSize);
  h.EncodeTo(file.data());
  uint64_t crc = crc64::Value(file.data(), file.size());
  Bytes index;
  for (const auto& [pgno, data] : pages) {
    const size_t offset = file.size();
    const bool b = block(pgno);
    file.resize(offset + kPageHeaderSize + (b ? 4 : 0));
    PutBE32(file.data() + offset, pgno);
    PutBE16(file.data() + offset + 4, b ? 1 : 0);
    Status s = !b               ? AppendCompressedFrame(data.data(), h.page_size, &file)
               : compress_block ? compress_block(data.data(), h.page_size, &file)
                                : AppendCompressedBlock(data.data(), h.page_size, &file);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (b) PutBE32(file.data() + offset + 6, static_cast<uint32_t>(file.size() - offset - 10));
    crc = crc64::Extend(crc, file.data() + offset, b ? 10 : 6);
    crc = crc64::Extend(crc, data.data(), data.size());
    AppendUvarint(&index, pgno);
    AppendUvarint(&index, offset);
    AppendUvarint(&index, file.size() - offset);
  }
  if (tamper_index) tamper_index(&index);
  index.push_back(0);
  const size_t tail = file.size();
  file.resize(tail + 6 + index.size() + 8 + 16, 0);
  std::memcpy(file.data() + tail + 6, index.data(), index.size());
  PutBE64(file.data() + tail + 6 + index.size(), index.size());
  PutBE64(file.data() + file.size() - 16, post_apply);
  crc = crc64::Extend(crc, file.data() + tail, file.size() - 8 - tail);
  PutBE64(file.data() + file.size() - 8, kChecksumFlag | crc);
  return file;
}

inline Bytes HandEncode(const Header& h, const PageMap& pages, const std::function<bool(uint32_t)>& block,
                        uint64_t post_apply = 0) {
  return HandEncodeList(h, PageList(pages.begin(), pages.end()), block, post_apply);
}

struct DecodedFile {
  Header header;
  Trailer trailer;
  PageMap pages;
};

// Decodes and verifies a whole file.
inline Result<DecodedFile> DecodeFile(const Bytes& file, const std::string& name = "test.ltx") {
  BufferReader in(file);
  Decoder dec(in, name);
  LS_RETURN_IF_ERROR(dec.DecodeHeader());
  DecodedFile out;
  out.header = dec.header();
  Bytes page(out.header.page_size);
  for (;;) {
    uint32_t pgno = 0;
    LS_ASSIGN_OR_RETURN(bool more, dec.NextPage(&pgno, page.data()));
    if (!more) break;
    out.pages[pgno] = page;
  }
  LS_RETURN_IF_ERROR(dec.Close());
  out.trailer = dec.trailer();
  return out;
}

// Decodes a snapshot file into a database image.
inline Result<Bytes> DecodeDatabase(const Bytes& file, const std::string& name = "test.ltx") {
  BufferReader in(file);
  BufferWriter out;
  LS_RETURN_IF_ERROR(DecodeDatabaseTo(in, out, name));
  return std::move(out.data());
}

// A Reader that hands out at most `chunk` bytes per call, to exercise short reads.
class ChunkedReader final : public Reader {
 public:
  ChunkedReader(const Bytes& data, size_t chunk) : data_(data), chunk_(chunk) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    const size_t take = std::min({n, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  const Bytes& data_;
  size_t chunk_;
  size_t pos_ = 0;
};

// Page contents of a synthetic database: pgno -> bytes. Must be cheap: it runs for every page of
// databases over 1 GiB. Most pages are zeros with their pgno stamped at the start.
using PageFn = std::function<void(uint32_t pgno, uint8_t* page, uint32_t page_size)>;

inline void SparsePage(uint32_t pgno, uint8_t* page, uint32_t page_size, uint32_t seed = 0) {
  std::memset(page, 0, page_size);
  const uint32_t v = pgno ^ seed;
  page[0] = static_cast<uint8_t>(v >> 24);
  page[1] = static_cast<uint8_t>(v >> 16);
  page[2] = static_cast<uint8_t>(v >> 8);
  page[3] = static_cast<uint8_t>(v);
  page[page_size - 1] = static_cast<uint8_t>(seed + 1);
  if (pgno % 997 == 0) {  // now and then a page that does not compress
    uint32_t x = pgno + seed;
    for (uint32_t i = 4; i < page_size - 1; i++) {
      x = x * 1103515245u + 12345u;
      page[i] = static_cast<uint8_t>(x >> 16);
    }
  }
}

// A PageSource of generated pages: every pgno listed by `pgnos` (ascending), contents from `fn`.
class SyntheticSource final : public PageSource {
 public:
  // A snapshot: pages 1..commit except the lock page.
  SyntheticSource(const Header& h, PageFn fn) : header_(h), fn_(std::move(fn)) {
    next_ = 1;
    all_ = true;
  }
  // Only the listed pgnos.
  SyntheticSource(const Header& h, std::vector<uint32_t> pgnos, PageFn fn)
      : header_(h), fn_(std::move(fn)), pgnos_(std::move(pgnos)) {}

  const Header& header() const override { return header_; }
  Result<bool> NextPage(uint32_t* pgno, uint8_t* page) override {
    uint64_t p;
    if (all_) {
      if (next_ == LockPgno(header_.page_size)) next_++;
      if (next_ > header_.commit) return false;
      p = next_++;
    } else {
      if (i_ == pgnos_.size()) return false;
      p = pgnos_[i_++];
    }
    *pgno = static_cast<uint32_t>(p);
    fn_(*pgno, page, header_.page_size);
    return true;
  }
  Status Close() override { return Status::OK(); }
  uint64_t post_apply_checksum() const override { return 0; }

 private:
  Header header_;
  PageFn fn_;
  std::vector<uint32_t> pgnos_;
  size_t i_ = 0;
  uint64_t next_ = 0;
  bool all_ = false;
};

// A Writer that checks a database image against the expected page contents as it arrives (page-aligned
// writes of whole pages, as WriteDatabaseImage makes), so that images over 1 GiB are never stored.
class ImageChecker final : public Writer {
 public:
  ImageChecker(uint32_t page_size, PageFn expected)
      : page_size_(page_size), expected_(std::move(expected)), want_(page_size) {}
  Status Write(const uint8_t* buf, size_t n) override {
    if (n != page_size_ || bytes_ % page_size_ != 0) return Status::InvalidArgument("unaligned write");
    const uint32_t pgno = static_cast<uint32_t>(bytes_ / page_size_ + 1);
    if (pgno == LockPgno(page_size_)) {
      std::memset(want_.data(), 0, page_size_);
    } else {
      expected_(pgno, want_.data(), page_size_);
    }
    if (std::memcmp(buf, want_.data(), n) != 0 && mismatches_++ < 5) {
      ADD_FAILURE() << "page " << pgno << " differs";
    }
    bytes_ += n;
    return Status::OK();
  }
  uint64_t bytes() const { return bytes_; }
  uint64_t mismatches() const { return mismatches_; }

 private:
  uint32_t page_size_;
  PageFn expected_;
  Bytes want_;
  uint64_t bytes_ = 0;
  uint64_t mismatches_ = 0;
};

// A Writer that only counts.
class CountingWriter final : public Writer {
 public:
  Status Write(const uint8_t*, size_t n) override {
    bytes_ += n;
    if (on_write) on_write();
    return Status::OK();
  }
  uint64_t bytes() const { return bytes_; }
  std::function<void()> on_write;

 private:
  uint64_t bytes_ = 0;
};

}  // namespace litestream::ltx::testing
