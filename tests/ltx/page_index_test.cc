// Random access through the page index (§1.5), as the read-replica VFS uses it: only the file's tail is
// read to find the index, and only a page's own bytes to decode it.
#include "ltx/page_index.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ltx/coding.h"
#include "ltx_test_util.h"
#include "util/memory_file.h"

namespace litestream::ltx {
namespace {

using testing::Bytes;
using testing::MakeHeader;
using testing::MakePage;

// Records every ReadAt.
class RecordingFile final : public RandomAccessReader {
 public:
  explicit RecordingFile(Bytes data) : file_(std::move(data)) {}
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    reads.emplace_back(offset, n);
    return file_.ReadAt(offset, buf, n);
  }
  Result<uint64_t> Size() override { return file_.Size(); }
  std::vector<std::pair<uint64_t, size_t>> reads;

 private:
  MemoryRandomAccessReader file_;
};

void ExpectCorruption(const Status& s, const std::string& text) {
  ASSERT_FALSE(s.ok()) << "expected an error containing \"" << text << "\"";
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
}

// Pages of 512 bytes, every other pgno, alternating encodings: 6000 entries make an index over 32 KiB.
struct BigFile {
  testing::PageMap pages;
  Bytes file;
};

const BigFile& MakeBigFile() {
  static BigFile* f = [] {
    auto* b = new BigFile;
    for (uint32_t i = 1; i <= 6000; i++) b->pages[2 * i] = MakePage(512, 2 * i);
    b->file = testing::HandEncode(MakeHeader(512, 12000, 5, 9), b->pages,
                                  [](uint32_t pgno) { return pgno % 4 == 0; });
    return b;
  }();
  return *f;
}

TEST(PageIndex, LargeIndexTakesOneTailReadAndOneIndexRead) {
  const BigFile& big = MakeBigFile();
  const uint64_t index_len = GetBE64(big.file.data() + big.file.size() - 24);
  ASSERT_GT(index_len, kEstimatedPageIndexSize);
  RecordingFile file(big.file);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(file, "big.ltx");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->size(), 6000u);
  ASSERT_EQ(file.reads.size(), 2u);
  EXPECT_EQ(file.reads[0],
            std::make_pair(uint64_t{big.file.size() - kEstimatedPageIndexSize}, kEstimatedPageIndexSize));
  EXPECT_EQ(file.reads[1], std::make_pair(uint64_t{big.file.size() - 24 - index_len}, size_t(index_len)));

  // Every page, fetched by its own range only.
  Bytes page(512);
  for (const PageIndexEntry& e : *index) {
    file.reads.clear();
    ASSERT_TRUE(ReadPage(file, e, 512, page.data(), "big.ltx").ok()) << e.pgno;
    ASSERT_EQ(file.reads.size(), 1u);
    EXPECT_EQ(file.reads[0], std::make_pair(e.offset, size_t(e.size)));
    ASSERT_EQ(page, big.pages.at(e.pgno)) << "page " << e.pgno;
  }
}

TEST(PageIndex, SmallIndexTakesOneRead) {
  testing::PageMap pages = {{1, MakePage(4096, 1)}, {2, MakePage(4096, 2)}, {7, MakePage(4096, 7)}};
  Result<Bytes> bytes = testing::EncodeFile(MakeHeader(4096, 7, 3, 3), pages, PageEncoding::kFrame);
  ASSERT_TRUE(bytes.ok());
  RecordingFile file(*bytes);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(file, "small.ltx");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(file.reads.size(), 1u);
  ASSERT_EQ(index->size(), 3u);
  EXPECT_EQ((*index)[2].pgno, 7u);
  EXPECT_EQ((*index)[0].offset, kHeaderSize);
  Result<Header> h = ReadHeader(file, "small.ltx");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->commit, 7u);
}

TEST(PageIndex, TruncatedFilesAreClearErrors) {
  for (size_t size = 0; size < 24; size++) {
    MemoryRandomAccessReader file(Bytes(size, 0));
    ExpectCorruption(ReadPageIndex(file, "short.ltx").status(), "short.ltx: truncated page index");
  }
  // A file cut anywhere: an error (usually "truncated page index"), never a crash or a huge allocation.
  const Bytes& whole = MakeBigFile().file;
  for (size_t cut = 1; cut < 200; cut += 7) {
    MemoryRandomAccessReader file(Bytes(whole.begin(), whole.end() - static_cast<std::ptrdiff_t>(cut)));
    EXPECT_FALSE(ReadPageIndex(file, "cut.ltx").ok()) << cut;
  }
  Bytes absurd(100, 0);
  PutBE64(absurd.data() + absurd.size() - 24, ~uint64_t{0});
  MemoryRandomAccessReader file(absurd);
  ExpectCorruption(ReadPageIndex(file, "absurd.ltx").status(),
                   "index length 18446744073709551615 does not fit");
}

// FindPageIndexEntry scans an index bigger than its 64 KiB pieces and finds what ReadPageIndex lists,
// entries across piece boundaries included; pages the file does not hold are nullopt.
TEST(PageIndex, FindPageIndexEntryScansInPieces) {
  testing::PageMap pages;
  for (uint32_t i = 1; i <= 20000; i++) pages[2 * i] = MakePage(512, 2 * i);
  const Bytes bytes = testing::HandEncode(MakeHeader(512, 40001, 5, 9), pages,
                                          [](uint32_t pgno) { return pgno % 4 == 0; });
  ASSERT_GT(GetBE64(bytes.data() + bytes.size() - 24), uint64_t{64} << 10);
  MemoryRandomAccessReader file(bytes);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(file, "big.ltx");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  for (size_t i = 0; i < index->size(); i += (i > 9000 && i < 9400) ? 1 : 97) {
    const PageIndexEntry& want = (*index)[i];
    Result<std::optional<PageIndexEntry>> got = FindPageIndexEntry(file, "big.ltx", want.pgno);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->has_value()) << want.pgno;
    EXPECT_EQ(**got, want);
  }
  for (uint32_t missing : {1u, 3u, 20001u, 39999u, 40001u, 99999u}) {
    Result<std::optional<PageIndexEntry>> got = FindPageIndexEntry(file, "big.ltx", missing);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_FALSE(got->has_value()) << missing;
  }
  // A cut file is never a crash. A scan that stops at its page cannot check the rest of the index, so the
  // answer may be an error or a miss; an entry it returns still names the page asked for (ReadPage then
  // checks the page itself).
  for (size_t cut = 1; cut < 200; cut += 13) {
    MemoryRandomAccessReader cut_file(Bytes(bytes.begin(), bytes.end() - static_cast<std::ptrdiff_t>(cut)));
    Result<std::optional<PageIndexEntry>> got = FindPageIndexEntry(cut_file, "cut.ltx", 40000);
    if (got.ok() && got->has_value()) {
      EXPECT_EQ((*got)->pgno, 40000u) << cut;
    }
  }
}

TEST(DecodePageIndex, ValidatesEntries) {
  auto index = [](std::vector<uint64_t> values) {
    Bytes b;
    for (uint64_t v : values) AppendUvarint(&b, v);
    return b;
  };
  auto decode = [](const Bytes& b) { return DecodePageIndex(b.data(), b.size(), 10000).status(); };
  EXPECT_TRUE(decode(index({1, 100, 50, 2, 150, 50, 0})).ok());
  EXPECT_TRUE(decode(index({0})).ok());
  ExpectCorruption(decode(index({2, 100, 50, 1, 150, 50, 0})), "pgno 1 does not ascend after 2");
  ExpectCorruption(decode(index({1, 100, 50, 1, 150, 50, 0})), "does not ascend");
  ExpectCorruption(decode(index({1, 100, 50, 2, 120, 50, 0})), "overlaps");
  ExpectCorruption(decode(index({1, 50, 50, 0})), "overlaps");
  ExpectCorruption(decode(index({1, 9990, 50, 0})), "overlaps");
  ExpectCorruption(decode(index({1, 100, 6, 0})), "size 6 is out of range");
  ExpectCorruption(decode(index({1, 100, 1 << 20, 0})), "out of range");
  ExpectCorruption(decode(index({uint64_t{1} << 32, 100, 50, 0})), "out of range");
  ExpectCorruption(decode(index({1, 100, 50})), "malformed or truncated varint");
  ExpectCorruption(decode(index({1, 100, 50, 0, 0})), "1 bytes after the terminator");
  const Bytes overflow = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0};
  ExpectCorruption(decode(overflow), "malformed or truncated varint");
}

TEST(ReadPage, ChecksTheEntryAgainstThePage) {
  testing::PageMap pages = {{1, MakePage(1024, 1)}, {2, MakePage(1024, 2)}};
  for (bool block : {false, true}) {
    const Bytes bytes =
        testing::HandEncode(MakeHeader(1024, 2, 1, 1), pages, [&](uint32_t) { return block; });
    RecordingFile file(bytes);
    Result<std::vector<PageIndexEntry>> index = ReadPageIndex(file, "r.ltx");
    ASSERT_TRUE(index.ok());
    Bytes page(1024);
    PageIndexEntry wrong_pgno = (*index)[1];
    wrong_pgno.pgno = 5;
    ExpectCorruption(
        ReadPage(file, wrong_pgno, 1024, page.data(), "r.ltx"),
        "r.ltx: page 5 at offset " + std::to_string(wrong_pgno.offset) + ": page header says pgno 2");
    PageIndexEntry longer = (*index)[0];
    longer.size++;
    EXPECT_FALSE(ReadPage(file, longer, 1024, page.data(), "r.ltx").ok());
    PageIndexEntry shorter = (*index)[0];
    shorter.size--;
    EXPECT_FALSE(ReadPage(file, shorter, 1024, page.data(), "r.ltx").ok());
    PageIndexEntry past_end = (*index)[1];
    past_end.offset = bytes.size() - 10;
    ExpectCorruption(ReadPage(file, past_end, 1024, page.data(), "r.ltx"), "unexpected end of file");
    file.reads.clear();
    PageIndexEntry huge = (*index)[0];
    huge.size = uint64_t{1} << 40;
    ExpectCorruption(ReadPage(file, huge, 1024, page.data(), "r.ltx"), "out of range for 1024-byte pages");
    EXPECT_TRUE(file.reads.empty()) << "read before checking the size";
  }
}

TEST(DecodePageFrame, DecodesOneEncodedPageFromMemory) {
  const Bytes data = MakePage(8192, 4);
  for (bool block : {false, true}) {
    const Bytes file =
        testing::HandEncode(MakeHeader(8192, 4, 2, 2), {{4, data}}, [&](uint32_t) { return block; });
    MemoryRandomAccessReader ra(file);
    Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "m");
    ASSERT_TRUE(index.ok());
    const PageIndexEntry e = (*index)[0];
    Bytes frame(file.begin() + static_cast<std::ptrdiff_t>(e.offset),
                file.begin() + static_cast<std::ptrdiff_t>(e.offset + e.size));
    Bytes page(8192);
    uint32_t pgno = 0;
    ASSERT_TRUE(DecodePageFrame(frame.data(), frame.size(), 8192, &pgno, page.data()).ok());
    EXPECT_EQ(pgno, 4u);
    EXPECT_EQ(page, data);
    frame.push_back(0);
    Status s = DecodePageFrame(frame.data(), frame.size(), 8192, &pgno, page.data());
    ExpectCorruption(s, block ? "disagrees with the" : "1 bytes after the end of the lz4 frame");
    EXPECT_EQ(s.message().rfind("page 4: ", 0), 0u) << s.message();
    ExpectCorruption(DecodePageFrame(frame.data(), 5, 8192, &pgno, page.data()), "too short");
    EXPECT_EQ(DecodePageFrame(frame.data(), frame.size() - 1, 1000, &pgno, page.data()).code(),
              StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace litestream::ltx
