// The WAL reader over generated WALs (tests/wal/wal_builder.h), in both checksum byte orders.
#include "wal/reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "util/memory_file.h"
#include "wal/wal_builder.h"

namespace litestream::wal {
namespace {

using testing::PutBE32;
using testing::WalBuilder;
using Pages = std::map<uint32_t, uint64_t>;

// Runs ReadPageMap on bytes; fails the test if the reader cannot be opened or read.
PageMap MapOf(const std::vector<uint8_t>& bytes, uint64_t max_bytes = 0) {
  MemoryRandomAccessReader file(bytes);
  auto reader = WalReader::Open(&file);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return {};
  auto map = reader->ReadPageMap(max_bytes);
  EXPECT_TRUE(map.ok()) << map.status().ToString();
  return map.ok() ? *map : PageMap{};
}

Status OpenStatus(const std::vector<uint8_t>& bytes) {
  MemoryRandomAccessReader file(bytes);
  return WalReader::Open(&file).status();
}

class WalReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  bool big() const { return GetParam(); }
  WalBuilder Builder(uint32_t page_size = 1024) { return WalBuilder(page_size, big()); }
};

INSTANTIATE_TEST_SUITE_P(ByteOrders, WalReaderTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "BigEndian" : "LittleEndian"; });

TEST_P(WalReaderTest, ZeroLengthIsNotReady) {
  Status s = OpenStatus({});
  EXPECT_TRUE(IsWalNotReady(s)) << s.ToString();
}

TEST_P(WalReaderTest, PartialHeaderIsNotReady) {
  std::vector<uint8_t> bytes = Builder().bytes();
  bytes.resize(20);
  Status s = OpenStatus(bytes);
  EXPECT_TRUE(IsWalNotReady(s)) << s.ToString();
}

TEST_P(WalReaderTest, BadMagicIsAnError) {
  WalBuilder b = Builder();
  b.Frame(1, 1);
  PutBE32(b.bytes().data(), 0xDEADBEEF);
  testing::FixHeaderChecksum(b.bytes());
  Status s = OpenStatus(b.bytes());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_P(WalReaderTest, BadHeaderChecksumIsNotReady) {
  WalBuilder b = Builder();
  b.Frame(1, 1);
  b.bytes()[29] ^= 0x40;
  Status s = OpenStatus(b.bytes());
  EXPECT_TRUE(IsWalNotReady(s)) << s.ToString();
}

TEST_P(WalReaderTest, BadVersionIsAnError) {
  WalBuilder b = Builder();
  PutBE32(b.bytes().data() + 4, 3006000);
  testing::FixHeaderChecksum(b.bytes());
  Status s = OpenStatus(b.bytes());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_FALSE(IsWalNotReady(s));
}

TEST_P(WalReaderTest, HeaderOnlyHasNoPages) {
  PageMap m = MapOf(Builder().bytes());
  EXPECT_TRUE(m.pages.empty());
  EXPECT_EQ(m.commit, 0u);
  EXPECT_EQ(m.max_offset, 0u);
  EXPECT_FALSE(m.limited);
}

TEST_P(WalReaderTest, CommittedTransactions) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2).Frame(3, 3);  // txn 1
  b.Frame(2, 0, 1).Frame(4, 4, 1);  // txn 2: rewrites page 2, grows to 4 pages
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(
      m.pages,
      (Pages{{1, b.FrameOffset(0)}, {2, b.FrameOffset(3)}, {3, b.FrameOffset(2)}, {4, b.FrameOffset(4)}}));
  EXPECT_EQ(m.commit, 4u);
  EXPECT_EQ(m.max_offset, b.FrameOffset(5));
  EXPECT_FALSE(m.limited);
}

TEST_P(WalReaderTest, SamePageTwiceInOneTransactionKeepsTheLast) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2).Frame(1, 0, 1).Frame(2, 2, 1);
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(2)}, {2, b.FrameOffset(3)}}));
}

TEST_P(WalReaderTest, UncommittedTailIsIgnored) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2);
  b.Frame(1, 0, 1).Frame(3, 0, 1);  // no commit frame yet
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}, {2, b.FrameOffset(1)}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, b.FrameOffset(2));
}

TEST_P(WalReaderTest, OnlyUncommittedFramesMeansNothing) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2).Frame(3);
  PageMap m = MapOf(b.bytes());
  EXPECT_TRUE(m.pages.empty());
  EXPECT_EQ(m.commit, 0u);
  EXPECT_EQ(m.max_offset, 0u);
}

// #875/#881: a VACUUM that shrinks the database leaves the dropped pages in earlier transactions.
TEST_P(WalReaderTest, ShrinkDropsPagesPastTheCommit) {
  WalBuilder b = Builder();
  for (uint32_t p = 1; p <= 5; p++) b.Frame(p, p == 5 ? 5 : 0);
  b.Frame(1, 0, 1).Frame(2, 2, 1);
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(5)}, {2, b.FrameOffset(6)}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, b.FrameOffset(7));
}

// maxOffset is the end of the largest *retained* frame (ENGINE.md §3.2), which is the end of the last
// committed frame in every WAL SQLite writes; here a pathological commit frame past its own commit size
// shows the rule.
TEST_P(WalReaderTest, MaxOffsetIsTheEndOfTheLargestRetainedFrame) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2).Frame(3, 3);
  b.Frame(3, 2, 1);  // commit frame for page 3 that shrinks the DB to 2 pages: page 3 is dropped
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}, {2, b.FrameOffset(1)}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, b.FrameOffset(2));
}

TEST_P(WalReaderTest, SaltMismatchEndsTheWal) {
  WalBuilder b = Builder();
  b.Frame(1, 1).Frame(2, 2).Frame(3, 3);
  PutBE32(b.bytes().data() + b.FrameOffset(1) + 12, 0);  // frame 2's salt2
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}}));
  EXPECT_EQ(m.commit, 1u);
}

TEST_P(WalReaderTest, ChecksumMismatchEndsTheWal) {
  for (size_t byte : {0, 4, 7, 16, 20, 24, 100, 1024 + 23}) {  // header words 0..7, checksums, page data
    WalBuilder b = Builder();
    b.Frame(1, 1).Frame(2, 2).Frame(3, 3);
    b.bytes()[b.FrameOffset(1) + byte] ^= 0x80;
    PageMap m = MapOf(b.bytes());
    EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}})) << "byte " << byte;
    EXPECT_EQ(m.max_offset, b.FrameOffset(1)) << "byte " << byte;
  }
}

TEST_P(WalReaderTest, FrameWithPageNumberZeroEndsTheWal) {
  WalBuilder b = Builder();
  b.Frame(1, 1).Frame(0, 2).Frame(2, 2);
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}}));
}

// Every truncation length: only the transactions whose commit frame is completely present count.
TEST_P(WalReaderTest, PartialFramesAtEveryLength) {
  WalBuilder b = Builder(512);
  b.Frame(1).Frame(2, 2).Frame(3, 3).Frame(1, 0, 1).Frame(4, 4, 1);
  const std::vector<uint8_t> full = b.bytes();
  for (size_t len = 32; len <= full.size(); len++) {
    std::vector<uint8_t> bytes(full.begin(), full.begin() + len);
    PageMap m = MapOf(bytes);
    size_t complete = (len - 32) / b.frame_size();
    Pages want;
    uint32_t commit = 0;
    if (complete >= 2) {
      want = {{1, b.FrameOffset(0)}, {2, b.FrameOffset(1)}};
      commit = 2;
    }
    if (complete >= 3) {
      want[3] = b.FrameOffset(2);
      commit = 3;
    }
    if (complete >= 5) {
      want[1] = b.FrameOffset(3);
      want[4] = b.FrameOffset(4);
      commit = 4;
    }
    ASSERT_EQ(m.pages, want) << "len " << len;
    ASSERT_EQ(m.commit, commit) << "len " << len;
  }
}

TEST_P(WalReaderTest, LimitCutsOnlyAtCommitBoundaries) {
  WalBuilder b = Builder(512);
  const uint64_t fs = b.frame_size();
  b.Frame(1).Frame(2).Frame(3, 3);              // txn 1: frames 0-2
  b.Frame(4).Frame(5, 5);                       // txn 2: frames 3-4
  b.Frame(1, 0, 1).Frame(2, 0, 1).Frame(6, 6);  // txn 3: frames 5-7
  b.Frame(7);                                   // uncommitted
  struct Case {
    uint64_t max_bytes;
    uint64_t max_offset;
    uint32_t commit;
    bool limited;
  };
  for (const Case& c : {Case{1, b.FrameOffset(3), 3, true}, Case{3 * fs, b.FrameOffset(3), 3, true},
                        Case{3 * fs + 1, b.FrameOffset(5), 5, true}, Case{5 * fs, b.FrameOffset(5), 5, true},
                        Case{5 * fs + 1, b.FrameOffset(8), 6, true}, Case{8 * fs, b.FrameOffset(8), 6, true},
                        Case{8 * fs + 1, b.FrameOffset(8), 6, false}, Case{0, b.FrameOffset(8), 6, false}}) {
    PageMap m = MapOf(b.bytes(), c.max_bytes);
    EXPECT_EQ(m.max_offset, c.max_offset) << "max_bytes " << c.max_bytes;
    EXPECT_EQ(m.commit, c.commit) << "max_bytes " << c.max_bytes;
    EXPECT_EQ(m.limited, c.limited) << "max_bytes " << c.max_bytes;
  }
}

// The way sync() catches up: limited chunks, each continuing at the previous max offset, add up to the
// whole WAL.
TEST_P(WalReaderTest, LimitedChunksChainedWithOpenAtCoverTheWal) {
  WalBuilder b = Builder(512);
  for (uint32_t t = 0; t < 20; t++) {
    for (uint32_t k = 0; k < t % 4; k++) b.Frame(1 + (t * 3 + k) % 9, 0, t);
    b.Frame(10 + t % 3, 12, t);
  }
  const PageMap whole = MapOf(b.bytes());
  MemoryRandomAccessReader file(b.bytes());
  Pages merged;
  uint64_t offset = 32;
  int chunks = 0;
  for (;;) {
    auto reader = offset == 32 ? WalReader::Open(&file) : WalReader::OpenAt(&file, offset, b.salts());
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto m = reader->ReadPageMap(3 * b.frame_size());
    ASSERT_TRUE(m.ok());
    if (m->max_offset == 0) break;
    for (const auto& [pgno, off] : m->pages) merged[pgno] = off;
    offset = m->max_offset;
    chunks++;
    ASSERT_LT(chunks, 100);
  }
  EXPECT_GT(chunks, 5);
  EXPECT_EQ(merged, whole.pages);
  EXPECT_EQ(offset, whole.max_offset);
}

TEST_P(WalReaderTest, StaleFramesOfAnOlderGenerationAreIgnored) {
  WalBuilder b = Builder();
  const Salts old_salts = b.salts();
  for (uint32_t p = 1; p <= 5; p++) b.Frame(p, p);
  const Salts new_salts{old_salts.salt1 + 1, 0x0BADF00D};
  b.Restart(new_salts);
  b.Frame(1, 0, 1).Frame(2, 5, 1);
  PageMap m = MapOf(b.bytes());
  EXPECT_EQ(m.pages, (Pages{{1, b.FrameOffset(0)}, {2, b.FrameOffset(1)}}));
  EXPECT_EQ(m.commit, 5u);
  EXPECT_EQ(m.max_offset, b.FrameOffset(2));

  MemoryRandomAccessReader file(b.bytes());
  auto reader = WalReader::Open(&file);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->salts(), new_salts);
  auto salts = reader->FrameSaltsUntil(old_salts);
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{new_salts, old_salts}));

  // A reader that continues the old generation from frame 3 still sees the old frames 3-5.
  auto old_reader = WalReader::OpenAt(&file, b.FrameOffset(3), old_salts);
  ASSERT_TRUE(old_reader.ok()) << old_reader.status().ToString();
  auto old_map = old_reader->ReadPageMap();
  ASSERT_TRUE(old_map.ok());
  EXPECT_EQ(old_map->pages, (Pages{{4, b.FrameOffset(3)}, {5, b.FrameOffset(4)}}));
  // ...but not from frame 2, whose predecessor now belongs to the new generation.
  auto mismatch = WalReader::OpenAt(&file, b.FrameOffset(2), old_salts);
  EXPECT_TRUE(IsPrevFrameMismatch(mismatch.status())) << mismatch.status().ToString();
}

TEST_P(WalReaderTest, OpenAtContinuesTheChecksumChain) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2).Frame(3).Frame(4, 4);
  MemoryRandomAccessReader file(b.bytes());
  auto reader = WalReader::OpenAt(&file, b.FrameOffset(2), b.salts());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader->start_offset(), b.FrameOffset(2));
  auto m = reader->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pages, (Pages{{3, b.FrameOffset(2)}, {4, b.FrameOffset(3)}}));
  EXPECT_EQ(m->commit, 4u);
  EXPECT_EQ(m->max_offset, b.FrameOffset(4));

  // The previous frame is not verified, but its stored checksum seeds the chain: corrupting it breaks
  // the frames after it.
  std::vector<uint8_t> bad = b.bytes();
  bad[b.FrameOffset(1) + 16] ^= 1;
  MemoryRandomAccessReader bad_file(bad);
  reader = WalReader::OpenAt(&bad_file, b.FrameOffset(2), b.salts());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  m = reader->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->pages.empty());
}

TEST_P(WalReaderTest, OpenAtRejectsBadOffsets) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2);
  MemoryRandomAccessReader file(b.bytes());
  for (uint64_t offset : {uint64_t{0}, uint64_t{31}, uint64_t{32}}) {
    auto r = WalReader::OpenAt(&file, offset, b.salts());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << offset << ": " << r.status().ToString();
  }
  for (uint64_t offset : {b.FrameOffset(1) + 1, b.FrameOffset(1) - 8, uint64_t{33}}) {
    auto r = WalReader::OpenAt(&file, offset, b.salts());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << offset << ": " << r.status().ToString();
    EXPECT_FALSE(IsPrevFrameMismatch(r.status()));
  }
}

TEST_P(WalReaderTest, OpenAtWithOtherSaltsIsPrevFrameMismatch) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2);
  MemoryRandomAccessReader file(b.bytes());
  auto r = WalReader::OpenAt(&file, b.FrameOffset(1), Salts{b.salts().salt1, b.salts().salt2 + 1});
  EXPECT_TRUE(IsPrevFrameMismatch(r.status())) << r.status().ToString();
}

TEST_P(WalReaderTest, OpenAtWithMissingPrevFrameIsPrevFrameMismatch) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2);
  std::vector<uint8_t> bytes = b.bytes();
  bytes.resize(b.FrameOffset(1) + 100);  // frame 2 is partial
  MemoryRandomAccessReader file(bytes);
  auto r = WalReader::OpenAt(&file, b.FrameOffset(2), b.salts());
  EXPECT_TRUE(IsPrevFrameMismatch(r.status())) << r.status().ToString();
  r = WalReader::OpenAt(&file, b.FrameOffset(5), b.salts());
  EXPECT_TRUE(IsPrevFrameMismatch(r.status())) << r.status().ToString();
}

TEST_P(WalReaderTest, OpenAtOnAnUnreadableHeaderIsNotReady) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2);
  b.bytes()[20] ^= 1;
  MemoryRandomAccessReader file(b.bytes());
  auto r = WalReader::OpenAt(&file, b.FrameOffset(1), b.salts());
  EXPECT_TRUE(IsWalNotReady(r.status())) << r.status().ToString();
}

TEST_P(WalReaderTest, FrameSaltsUntilStopsAfterTheFirstMatchingFrame) {
  WalBuilder b = Builder(512);
  const Salts a = b.salts(), c{5, 5}, d{6, 6};
  // Layout after the restarts: [d d c c a a a] -- the newest generation first, older ones behind it.
  for (int i = 0; i < 7; i++) b.Frame(1, 1);
  b.Restart(c);
  for (int i = 0; i < 4; i++) b.Frame(1, 1);
  b.Restart(d);
  for (int i = 0; i < 2; i++) b.Frame(1, 1);
  MemoryRandomAccessReader file(b.bytes());
  auto reader = WalReader::Open(&file);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*reader->FrameSaltsUntil(c), (std::vector<Salts>{d, c}));
  EXPECT_EQ(*reader->FrameSaltsUntil(a), (std::vector<Salts>{d, c, a}));
  EXPECT_EQ(*reader->FrameSaltsUntil(d), (std::vector<Salts>{d}));

  // An incomplete frame header ends the scan; a header without its page still counts.
  std::vector<uint8_t> cut(b.bytes().begin(), b.bytes().begin() + b.FrameOffset(4) + 24);
  MemoryRandomAccessReader cut_file(cut);
  auto cut_reader = WalReader::Open(&cut_file);
  ASSERT_TRUE(cut_reader.ok());
  EXPECT_EQ(*cut_reader->FrameSaltsUntil(Salts{9, 9}), (std::vector<Salts>{d, c, a}));
  cut.resize(cut.size() - 1);
  MemoryRandomAccessReader cut_file2(cut);
  auto cut_reader2 = WalReader::Open(&cut_file2);
  ASSERT_TRUE(cut_reader2.ok());
  EXPECT_EQ(*cut_reader2->FrameSaltsUntil(Salts{9, 9}), (std::vector<Salts>{d, c}));
}

TEST_P(WalReaderTest, ReadFrameReturnsHeaderAndPage) {
  WalBuilder b = Builder(512);
  b.Frame(1).Frame(7, 7, 3);
  MemoryRandomAccessReader file(b.bytes());
  auto reader = WalReader::Open(&file);
  ASSERT_TRUE(reader.ok());
  std::vector<uint8_t> page(512);
  auto fh = reader->ReadFrame(b.FrameOffset(1), page.data());
  ASSERT_TRUE(fh.ok()) << fh.status().ToString();
  EXPECT_EQ(fh->pgno, 7u);
  EXPECT_EQ(fh->commit, 7u);
  EXPECT_EQ(fh->salts, b.salts());
  EXPECT_EQ(page, testing::TestPage(512, 7, 3));

  EXPECT_EQ(reader->ReadFrame(b.FrameOffset(1) + 1, page.data()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->ReadFrameHeader(16).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(reader->ReadFrameHeader(b.FrameOffset(2)).status().IsNotFound());
  EXPECT_TRUE(reader->ReadFrame(b.FrameOffset(2), page.data()).status().IsNotFound());

  std::vector<uint8_t> cut(b.bytes().begin(), b.bytes().end() - 1);
  MemoryRandomAccessReader cut_file(cut);
  auto cut_reader = WalReader::Open(&cut_file);
  ASSERT_TRUE(cut_reader.ok());
  EXPECT_TRUE(cut_reader->ReadFrameHeader(b.FrameOffset(1)).ok());
  EXPECT_TRUE(cut_reader->ReadFrame(b.FrameOffset(1), page.data()).status().IsNotFound());
}

// Page maps larger than one read chunk (about 1 MiB) and transactions that straddle chunk boundaries.
TEST_P(WalReaderTest, LargeWalAcrossReadChunks) {
  for (uint32_t ps : {512u, 65536u}) {
    WalBuilder b = Builder(ps);
    const uint32_t frames = ps == 512 ? 5000 : 40;
    for (uint32_t i = 0; i < frames; i++) {
      uint32_t pgno = 1 + i % 300;
      b.Frame(pgno, i % 7 == 6 ? 300 : 0, i);
    }
    PageMap m = MapOf(b.bytes());
    // The last commit is at the largest i < frames with i % 7 == 6.
    uint32_t last_commit = (frames / 7) * 7 - 1;
    Pages want;
    for (uint32_t i = 0; i <= last_commit; i++) want[1 + i % 300] = b.FrameOffset(i);
    EXPECT_EQ(m.pages, want) << "page size " << ps;
    EXPECT_EQ(m.commit, 300u);
    EXPECT_EQ(m.max_offset, b.FrameOffset(last_commit + 1));
  }
}

// A RandomAccessReader that fails with a given status from some offset on.
class FailingReader final : public RandomAccessReader {
 public:
  FailingReader(std::vector<uint8_t> data, uint64_t fail_from, Status status)
      : file_(std::move(data)), fail_from_(fail_from), status_(std::move(status)) {}
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    if (offset + n > fail_from_) return status_;
    return file_.ReadAt(offset, buf, n);
  }
  Result<uint64_t> Size() override { return file_.Size(); }

 private:
  MemoryRandomAccessReader file_;
  uint64_t fail_from_;
  Status status_;
};

TEST_P(WalReaderTest, ReadErrorsAreHardErrorsNeverNotReadyOrMismatch) {
  WalBuilder b = Builder();
  b.Frame(1).Frame(2, 2).Frame(3, 3);
  for (Status injected : {Status::IOError("EIO"), Status(StatusCode::kUnavailable, "remote gone"),
                          Status(StatusCode::kFailedPrecondition, "odd")}) {
    FailingReader header_fails(b.bytes(), 0, injected);
    auto r = WalReader::Open(&header_fails);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
    EXPECT_FALSE(IsWalNotReady(r.status()));

    FailingReader frames_fail(b.bytes(), b.FrameOffset(1), injected);
    auto reader = WalReader::Open(&frames_fail);
    ASSERT_TRUE(reader.ok());
    auto m = reader->ReadPageMap();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kIOError) << m.status().ToString();
    EXPECT_NE(m.status().message().find("offset"), std::string::npos);

    auto at = WalReader::OpenAt(&frames_fail, b.FrameOffset(2), b.salts());
    ASSERT_FALSE(at.ok());
    EXPECT_EQ(at.status().code(), StatusCode::kIOError) << at.status().ToString();
    EXPECT_FALSE(IsPrevFrameMismatch(at.status()));
  }
}

TEST_P(WalReaderTest, ConcurrentPageMapsAgree) {
  WalBuilder b = Builder(512);
  for (uint32_t i = 0; i < 3000; i++) b.Frame(1 + i % 50, i % 10 == 9 ? 50 : 0, i);
  MemoryRandomAccessReader file(b.bytes());
  auto reader = WalReader::Open(&file);
  ASSERT_TRUE(reader.ok());
  auto want = reader->ReadPageMap();
  ASSERT_TRUE(want.ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int k = 0; k < 5; k++) {
        auto got = reader->ReadPageMap();
        if (!got.ok() || got->pages != want->pages || got->max_offset != want->max_offset) mismatches++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace litestream::wal
