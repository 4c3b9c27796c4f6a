// Merging LTX files (§1.13): the newest copy of a page wins, pages beyond the final commit are dropped,
// inputs must agree on the page size and chain by TXID, every input is verified, and memory stays
// proportional to the number of inputs, not to the database.
#include "ltx/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "litestream/storage.h"
#include "ltx/coding.h"
#include "ltx/ltx.h"
#include "ltx_test_util.h"
#include "util/memory_file.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LTX_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LTX_TEST_ASAN 1
#endif
#ifdef LTX_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#else
#include <malloc.h>
#endif

namespace litestream::ltx {
namespace {

using testing::Bytes;
using testing::HandEncodeList;
using testing::MakeHeader;
using testing::MakePage;
using testing::PageList;
using testing::PageMap;

size_t HeapInUse() {
#ifdef LTX_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

// Owns the files and readers of one merge.
struct Inputs {
  std::vector<std::string> names;
  std::vector<Bytes> files;
  std::vector<std::unique_ptr<BufferReader>> readers;

  void Add(const std::string& name, Bytes file) {
    names.push_back(name);
    files.push_back(std::move(file));
  }
  void Add(const Header& h, const PageMap& pages, PageEncoding encoding) {
    Result<Bytes> f = testing::EncodeFile(h, pages, encoding);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return;
    Add(FormatTXID(h.min_txid) + "-" + FormatTXID(h.max_txid) + ".ltx", *f);
  }
  std::vector<MergeInput> Open() {
    readers.clear();
    std::vector<MergeInput> in;
    for (size_t i = 0; i < files.size(); i++) {
      readers.push_back(std::make_unique<BufferReader>(files[i]));
      in.push_back({readers.back().get(), names[i]});
    }
    return in;
  }
};

PageMap Pages(uint32_t page_size, std::vector<uint32_t> pgnos, uint32_t seed) {
  PageMap m;
  for (uint32_t pgno : pgnos) m[pgno] = MakePage(page_size, pgno, seed);
  return m;
}

// Snapshot 1-1 (pages 1-4), then 2-2 (2 and the growth page 5), then 3-4 (2 and 3).
Inputs ThreeFiles(PageEncoding e1, PageEncoding e2, PageEncoding e3, uint32_t last_commit = 5) {
  Inputs in;
  Header s = MakeHeader(4096, 4, 1, 1);
  in.Add(s, Pages(4096, {1, 2, 3, 4}, 0), e1);
  Header a = MakeHeader(4096, 5, 2, 2);
  a.wal_offset = 32;
  a.wal_size = 8240;
  a.wal_salt1 = 7;
  in.Add(a, Pages(4096, {2, 5}, 1), e2);
  Header b = MakeHeader(4096, last_commit, 3, 4);
  b.timestamp = 1800000000000;
  in.Add(b, Pages(4096, {2, 3}, 2), e3);
  return in;
}

PageMap ExpectedMerge() {
  return {{1, MakePage(4096, 1, 0)},
          {2, MakePage(4096, 2, 2)},
          {3, MakePage(4096, 3, 2)},
          {4, MakePage(4096, 4, 0)},
          {5, MakePage(4096, 5, 1)}};
}

Bytes Image(const PageMap& pages) {
  Bytes db;
  for (const auto& [pgno, page] : pages) db.insert(db.end(), page.begin(), page.end());
  return db;
}

void ExpectError(const Status& s, const std::string& text) {
  ASSERT_FALSE(s.ok()) << "expected an error containing \"" << text << "\"";
  EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
}

TEST(Compact, NewestPageWinsAndHeaderFollowsTheRules) {
  Inputs in = ThreeFiles(PageEncoding::kFrame, PageEncoding::kFrame, PageEncoding::kFrame);
  BufferWriter out;
  Result<Header> h = Compact(in.Open(), out, {PageEncoding::kBlock});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  Result<testing::DecodedFile> f = testing::DecodeFile(out.data());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->header, *h);
  EXPECT_EQ(h->flags, kHeaderFlagNoChecksum);
  EXPECT_EQ(h->page_size, 4096u);
  EXPECT_EQ(h->commit, 5u);
  EXPECT_EQ(h->min_txid, 1u);
  EXPECT_EQ(h->max_txid, 4u);
  EXPECT_EQ(h->timestamp, 1800000000000);
  EXPECT_EQ(h->pre_apply_checksum, 0u);
  EXPECT_EQ(h->wal_offset, 0);
  EXPECT_EQ(h->wal_size, 0);
  EXPECT_EQ(h->wal_salt1, 0u);
  EXPECT_EQ(h->node_id, 0u);
  EXPECT_EQ(f->trailer.post_apply_checksum, 0u);
  EXPECT_EQ(f->pages, ExpectedMerge());
  // Every page is block-encoded as asked.
  MemoryRandomAccessReader ra(out.data());
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "out");
  ASSERT_TRUE(index.ok());
  for (const PageIndexEntry& e : *index)
    EXPECT_EQ(GetBE16(out.data().data() + e.offset + 4), kPageHeaderFlagSize);
}

TEST(MergeIterator, RestoresTheMergedDatabase) {
  Inputs in = ThreeFiles(PageEncoding::kBlock, PageEncoding::kFrame, PageEncoding::kBlock);
  MergeIterator merge(in.Open());
  ASSERT_TRUE(merge.Open().ok());
  BufferWriter db;
  Status s = WriteDatabaseImage(merge, db, "restore");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(db.data(), Image(ExpectedMerge()));
}

TEST(EncodingReader, StreamsTheSameBytesAsCompact) {
  for (PageEncoding e : {PageEncoding::kFrame, PageEncoding::kBlock}) {
    Inputs in = ThreeFiles(PageEncoding::kBlock, PageEncoding::kFrame, PageEncoding::kBlock);
    BufferWriter compacted;
    ASSERT_TRUE(Compact(in.Open(), compacted, {e}).ok());
    MergeIterator merge(in.Open());
    ASSERT_TRUE(merge.Open().ok());
    EncodingReader reader(merge, e);
    Bytes streamed;
    uint8_t buf[333];  // odd-sized reads
    for (;;) {
      Result<size_t> n = reader.Read(buf, sizeof(buf));
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) break;
      streamed.insert(streamed.end(), buf, buf + *n);
    }
    EXPECT_EQ(streamed, compacted.data());
    EXPECT_EQ(reader.encoder().file_checksum(), GetBE64(streamed.data() + streamed.size() - 8));
  }
}

TEST(Compact, MixedEncodingsInAndOut) {
  // One input mixes both encodings inside the file.
  Inputs in;
  in.Add("mixed.ltx", testing::HandEncode(MakeHeader(4096, 4, 1, 1), Pages(4096, {1, 2, 3, 4}, 0),
                                          [](uint32_t pgno) { return pgno % 2 == 0; }));
  in.Add(MakeHeader(4096, 5, 2, 2), Pages(4096, {2, 5}, 1), PageEncoding::kBlock);
  in.Add(MakeHeader(4096, 5, 3, 4), Pages(4096, {2, 3}, 2), PageEncoding::kFrame);
  for (PageEncoding e : {PageEncoding::kFrame, PageEncoding::kBlock}) {
    BufferWriter out;
    ASSERT_TRUE(Compact(in.Open(), out, {e}).ok());
    Result<Bytes> db = testing::DecodeDatabase(out.data());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ(*db, Image(ExpectedMerge()));
  }
}

// A valid LZ4 block that liblz4 would never write for a page: every byte a literal.
Status AppendLiteralBlock(const uint8_t* page, uint32_t page_size, Bytes* out) {
  out->push_back(0xF0);  // literal length 15 + what follows, no match
  for (uint32_t rest = page_size - 15;; rest -= 255) {
    out->push_back(static_cast<uint8_t>(std::min<uint32_t>(rest, 255)));
    if (rest < 255) break;
  }
  out->insert(out->end(), page, page + page_size);
  return Status::OK();
}

// The LZ4 block each page of a file was stored with (block-encoded pages only).
std::map<uint32_t, Bytes> BlocksOf(const Bytes& file) {
  BufferReader in(file);
  Decoder dec(in, "blocks");
  EXPECT_TRUE(dec.DecodeHeader().ok());
  std::map<uint32_t, Bytes> blocks;
  Bytes page(dec.header().page_size);
  uint32_t pgno = 0;
  while (*dec.NextPage(&pgno, page.data())) {
    std::span<const uint8_t> b = dec.last_block();
    blocks[pgno] = Bytes(b.begin(), b.end());
  }
  EXPECT_TRUE(dec.Close().ok());
  return blocks;
}

TEST(Compact, BlockEncodedPagesAreCopiedNotCompressedAgain) {
  Inputs in;
  auto literal = [](Header h, const PageMap& pages) {
    return HandEncodeList(
        h, PageList(pages.begin(), pages.end()), [](uint32_t) { return true; }, 0, nullptr,
        AppendLiteralBlock);
  };
  in.Add("1.ltx", literal(MakeHeader(4096, 4, 1, 1), Pages(4096, {1, 2, 3, 4}, 0)));
  in.Add(MakeHeader(4096, 5, 2, 2), Pages(4096, {2, 5}, 1), PageEncoding::kFrame);  // compressed anew
  in.Add("3.ltx", literal(MakeHeader(4096, 5, 3, 4), Pages(4096, {2, 3}, 2)));
  BufferWriter out;
  ASSERT_TRUE(Compact(in.Open(), out, {PageEncoding::kBlock}).ok());
  Result<testing::DecodedFile> f = testing::DecodeFile(out.data());  // verifies the new file checksum
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->pages, ExpectedMerge());
  std::map<uint32_t, Bytes> first = BlocksOf(in.files[0]), last = BlocksOf(in.files[2]);
  std::map<uint32_t, Bytes> got = BlocksOf(out.data());
  EXPECT_EQ(got[1], first[1]);
  EXPECT_EQ(got[4], first[4]);
  EXPECT_EQ(got[2], last[2]);
  EXPECT_EQ(got[3], last[3]);
  EXPECT_LT(got[5].size(), 4096u);  // the frame-encoded page was compressed by us
  // A restore's merge does not keep the blocks.
  MergeIterator merge(in.Open());
  merge.SetKeepBlocks(false);
  ASSERT_TRUE(merge.Open().ok());
  Bytes page(4096);
  uint32_t pgno = 0;
  ASSERT_TRUE(*merge.NextPage(&pgno, page.data()));
  EXPECT_TRUE(merge.last_block().empty());
  // Frame encoding out: every page compressed again.
  BufferWriter framed;
  ASSERT_TRUE(Compact(in.Open(), framed, {PageEncoding::kFrame}).ok());
  Result<Bytes> db = testing::DecodeDatabase(framed.data());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*db, Image(ExpectedMerge()));
}

TEST(Compact, PagesBeyondTheLastCommitAreDropped) {
  Inputs in = ThreeFiles(PageEncoding::kFrame, PageEncoding::kBlock, PageEncoding::kFrame, /*last_commit=*/3);
  BufferWriter out;
  Result<Header> h = Compact(in.Open(), out);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->commit, 3u);
  Result<Bytes> db = testing::DecodeDatabase(out.data());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PageMap want = ExpectedMerge();
  want.erase(4);
  want.erase(5);
  EXPECT_EQ(*db, Image(want));
}

TEST(Compact, SingleInputIsCopied) {
  Inputs in;
  in.Add(MakeHeader(4096, 3, 5, 9), Pages(4096, {1, 3}, 4), PageEncoding::kFrame);
  BufferWriter out;
  Result<Header> h = Compact(in.Open(), out);
  ASSERT_TRUE(h.ok());
  Result<testing::DecodedFile> f = testing::DecodeFile(out.data());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->pages, Pages(4096, {1, 3}, 4));
  EXPECT_FALSE(f->header.IsSnapshot());
}

TEST(Compact, PageSizesMustMatch) {
  Inputs in;
  in.Add(MakeHeader(4096, 2, 1, 1), Pages(4096, {1, 2}, 0), PageEncoding::kFrame);
  in.Add(MakeHeader(8192, 2, 2, 2), Pages(8192, {1}, 0), PageEncoding::kFrame);
  BufferWriter out;
  ExpectError(Compact(in.Open(), out).status(),
              "0000000000000002-0000000000000002.ltx: page size 8192 differs from "
              "0000000000000001-0000000000000001.ltx's 4096");
}

TEST(Compact, TxidsMustChain) {
  auto merge = [](std::vector<std::pair<uint64_t, uint64_t>> ranges) {
    Inputs in;
    for (auto [lo, hi] : ranges)
      in.Add(MakeHeader(1024, 2, lo, hi), Pages(1024, {2}, 0), PageEncoding::kBlock);
    BufferWriter out;
    return Compact(in.Open(), out).status();
  };
  ExpectError(merge({{2, 2}, {4, 4}}),
              "non-contiguous TXIDs: 0000000000000004-0000000000000004.ltx (TXID "
              "0000000000000004-0000000000000004) does not continue");
  ExpectError(merge({{2, 5}, {3, 5}}), "non-contiguous TXIDs");  // does not advance
  ExpectError(merge({{3, 8}, {2, 4}}), "non-contiguous TXIDs");
  EXPECT_TRUE(merge({{2, 5}, {3, 7}}).ok()) << "overlap is allowed";
  EXPECT_TRUE(merge({{2, 5}, {6, 6}, {7, 9}}).ok());
}

TEST(Compact, NoInputs) {
  BufferWriter out;
  EXPECT_EQ(Compact({}, out).status().code(), StatusCode::kInvalidArgument);
}

TEST(Compact, CorruptInputAbortsNamingIt) {
  for (size_t victim = 0; victim < 3; victim++) {
    Inputs in = ThreeFiles(PageEncoding::kFrame, PageEncoding::kBlock, PageEncoding::kFrame);
    in.files[victim][90] ^= 1;  // a reserved header byte: only the file checksum notices
    BufferWriter out;
    Status s = Compact(in.Open(), out).status();
    ExpectError(s, in.names[victim] + ": file checksum mismatch");
    EXPECT_TRUE(s.IsCorruption());
    // The restore path too.
    MergeIterator merge(in.Open());
    ASSERT_TRUE(merge.Open().ok());
    BufferWriter db;
    ExpectError(WriteDatabaseImage(merge, db, "restore"), in.names[victim] + ": file checksum mismatch");
  }
}

TEST(Compact, DamagedPageThatLosesIsStillDetected) {
  // Page 3 of the snapshot is replaced by the newest file, but damage to it must still fail the merge.
  Inputs in = ThreeFiles(PageEncoding::kBlock, PageEncoding::kBlock, PageEncoding::kBlock);
  MemoryRandomAccessReader ra(in.files[0]);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "s");
  ASSERT_TRUE(index.ok());
  in.files[0][(*index)[2].offset + 3] ^= 0x40;  // pgno 3 -> 67 in the page header (covered)
  BufferWriter out;
  Status s = Compact(in.Open(), out).status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(in.names[0]), std::string::npos) << s.message();
}

TEST(Compact, SnapshotChainsMustCoverEveryPage) {
  // The incremental grew the database to 5 pages but does not carry growth page 4.
  Inputs in;
  in.Add(MakeHeader(4096, 3, 1, 1), Pages(4096, {1, 2, 3}, 0), PageEncoding::kBlock);
  in.Add(MakeHeader(4096, 5, 2, 2), Pages(4096, {5}, 1), PageEncoding::kBlock);
  BufferWriter out;
  ExpectError(Compact(in.Open(), out).status(), "nonsequential page numbers in snapshot: got page 5, want 4");
  MergeIterator merge(in.Open());
  ASSERT_TRUE(merge.Open().ok());
  BufferWriter db;
  ExpectError(WriteDatabaseImage(merge, db, "restore"),
              "restore: nonsequential page numbers in snapshot: got 5, want 4");
}

TEST(MergeIterator, RestoreNeedsASnapshotChain) {
  Inputs in;
  in.Add(MakeHeader(4096, 3, 2, 2), Pages(4096, {1, 2, 3}, 0), PageEncoding::kBlock);
  MergeIterator merge(in.Open());
  ASSERT_TRUE(merge.Open().ok());
  BufferWriter db;
  ExpectError(WriteDatabaseImage(merge, db, "restore"), "restore: not a snapshot (min TXID 2)");
}

// A 64 MiB database (16384 pages of 4 KiB) plus three incrementals, all generated and encoded on the fly,
// merged into a writer that only counts. The heap never grows by more than a few pages per input plus
// the output's page index: far below the database size.
TEST(Compact, MemoryStaysBoundedByInputsNotDatabaseSize) {
  const uint32_t ps = 4096, commit = 16384;
  auto snap_fn = [](uint32_t pgno, uint8_t* page, uint32_t n) { testing::SparsePage(pgno, page, n, 0); };
  std::vector<std::unique_ptr<testing::SyntheticSource>> sources;
  std::vector<std::unique_ptr<EncodingReader>> readers;
  sources.push_back(std::make_unique<testing::SyntheticSource>(MakeHeader(ps, commit, 1, 1), snap_fn));
  for (uint32_t i = 1; i <= 3; i++) {
    std::vector<uint32_t> pgnos;
    for (uint32_t p = i; p <= commit; p += 97 * i) pgnos.push_back(p);
    sources.push_back(std::make_unique<testing::SyntheticSource>(
        MakeHeader(ps, commit, i + 1, i + 1), pgnos,
        [i](uint32_t pgno, uint8_t* page, uint32_t n) { testing::SparsePage(pgno, page, n, i); }));
  }
  std::vector<MergeInput> inputs;
  for (size_t i = 0; i < sources.size(); i++) {
    readers.push_back(
        std::make_unique<EncodingReader>(*sources[i], i % 2 ? PageEncoding::kFrame : PageEncoding::kBlock));
    inputs.push_back({readers.back().get(), "input " + std::to_string(i)});
  }
  const size_t base = HeapInUse();
  size_t peak = base;
  testing::CountingWriter out;
  out.on_write = [&] { peak = std::max(peak, HeapInUse()); };
  Result<Header> h = Compact(std::move(inputs), out, {PageEncoding::kBlock});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const uint64_t db_size = uint64_t{commit} * ps;
  std::printf("merged %llu MiB database: output %llu bytes, peak heap growth %zu KiB\n",
              static_cast<unsigned long long>(db_size >> 20), static_cast<unsigned long long>(out.bytes()),
              (peak - base) >> 10);
  EXPECT_LT(peak - base, size_t{4} << 20);
}

// Restore across the lock page: a snapshot of a database of 64 KiB pages that ends exactly at the lock
// page (so its last stored page is lock - 1), and an incremental that grows it past 1 GiB and changes the
// pages around the lock page, merged straight into a database image.
TEST(MergeIterator, RestoreAcrossTheLockPage) {
  const uint32_t ps = 65536;
  const uint32_t lock = LockPgno(ps);
  const uint32_t commit = lock + 2;
  auto base_fn = [](uint32_t pgno, uint8_t* page, uint32_t n) { testing::SparsePage(pgno, page, n, 0); };
  auto new_fn = [](uint32_t pgno, uint8_t* page, uint32_t n) { testing::SparsePage(pgno, page, n, 9); };
  testing::SyntheticSource snapshot(MakeHeader(ps, lock, 1, 1), base_fn);
  testing::SyntheticSource incremental(MakeHeader(ps, commit, 2, 2), {1, lock - 1, lock + 1, lock + 2},
                                       new_fn);
  EncodingReader r1(snapshot, PageEncoding::kBlock);
  EncodingReader r2(incremental, PageEncoding::kFrame);
  MergeIterator merge({{&r1, "snapshot"}, {&r2, "incremental"}});
  ASSERT_TRUE(merge.Open().ok());
  testing::ImageChecker image(ps, [&](uint32_t pgno, uint8_t* page, uint32_t n) {
    (pgno == 1 || pgno >= lock - 1 ? new_fn : base_fn)(pgno, page, n);
  });
  Status s = WriteDatabaseImage(merge, image, "restore");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(image.bytes(), uint64_t{commit} * ps);
  EXPECT_EQ(image.mismatches(), 0u);
}

}  // namespace
}  // namespace litestream::ltx
