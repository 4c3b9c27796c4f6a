// The WAL reader over the real WAL files in tests/testdata/wal-reader/ (expected outcomes in
// tests/testdata/README.md).
#include <gtest/gtest.h>

#include "support/paths.h"
#include "util/file_system.h"
#include "wal/reader.h"

namespace litestream::wal {
namespace {

using Pages = std::map<uint32_t, uint64_t>;

class WalFixture : public ::testing::Test {
 protected:
  void Load(const std::string& name) {
    auto file =
        FileSystem::Default()->OpenRandomAccess(litestream::testing::TestDataPath("wal-reader/" + name));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    file_ = std::move(*file);
  }
  PageMap Map(uint64_t max_bytes = 0) {
    auto reader = WalReader::Open(file_.get());
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return {};
    auto map = reader->ReadPageMap(max_bytes);
    EXPECT_TRUE(map.ok()) << map.status().ToString();
    return map.ok() ? *map : PageMap{};
  }

  std::unique_ptr<RandomAccessFile> file_;
};

TEST_F(WalFixture, OkReadsCommittedPages) {
  Load("ok/wal");
  PageMap m = Map();
  EXPECT_EQ(m.pages, (Pages{{1, 32}, {2, 8272}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, 12392u);
  EXPECT_FALSE(m.limited);
}

// Upstream TestWALReaderPageMapLimitStopsAtCommittedFrame.
TEST_F(WalFixture, OkLimitStopsAtCommittedFrame) {
  Load("ok/wal");
  PageMap m = Map(1);
  EXPECT_EQ(m.pages, (Pages{{1, 32}, {2, 4152}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, 8272u);
  EXPECT_TRUE(m.limited);
}

TEST_F(WalFixture, OkLimitOfExactlyOneTransactionStopsThere) {
  Load("ok/wal");
  PageMap m = Map(8272 - 32);
  EXPECT_EQ(m.max_offset, 8272u);
  EXPECT_TRUE(m.limited);
  m = Map(8272 - 32 + 1);  // the second commit ends 12392 - 32 past the start
  EXPECT_EQ(m.max_offset, 12392u);
  EXPECT_TRUE(m.limited);
  m = Map(12392 - 32 + 1);
  EXPECT_EQ(m.max_offset, 12392u);
  EXPECT_FALSE(m.limited);
}

TEST_F(WalFixture, OkFrameAccess) {
  Load("ok/wal");
  auto reader = WalReader::Open(file_.get());
  ASSERT_TRUE(reader.ok());
  auto fh = reader->ReadFrameHeader(8272);
  ASSERT_TRUE(fh.ok()) << fh.status().ToString();
  EXPECT_EQ(fh->pgno, 2u);
  EXPECT_EQ(fh->commit, 2u);
  EXPECT_EQ(fh->salts, (Salts{0x4875a40b, 0xa38de4f5}));
  EXPECT_EQ(fh->checksum, (Checksum{0x420a5a7c, 0xf49c13ab}));
  std::vector<uint8_t> page(4096);
  auto full = reader->ReadFrame(32, page.data());
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->pgno, 1u);
  EXPECT_EQ(std::string(page.begin(), page.begin() + 16), std::string("SQLite format 3\0", 16));
}

TEST_F(WalFixture, OkOpenAtEachFrame) {
  Load("ok/wal");
  Salts salts{0x4875a40b, 0xa38de4f5};
  auto r = WalReader::OpenAt(file_.get(), 4152, salts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto m = r->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pages, (Pages{{2, 8272}}));
  EXPECT_EQ(m->commit, 2u);
  EXPECT_EQ(m->max_offset, 12392u);

  r = WalReader::OpenAt(file_.get(), 8272, salts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  m = r->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pages, (Pages{{2, 8272}}));

  // At the end of the WAL: the previous frame exists, nothing follows.
  r = WalReader::OpenAt(file_.get(), 12392, salts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  m = r->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->pages.empty());
  EXPECT_EQ(m->max_offset, 0u);
  EXPECT_EQ(m->commit, 0u);

  // One frame past the end: the previous frame is missing.
  r = WalReader::OpenAt(file_.get(), 16512, salts);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsPrevFrameMismatch(r.status())) << r.status().ToString();
}

TEST_F(WalFixture, SaltMismatchHasNoCommittedFrames) {
  Load("salt-mismatch/wal");
  PageMap m = Map();
  EXPECT_TRUE(m.pages.empty());
  EXPECT_EQ(m.commit, 0u);
  EXPECT_EQ(m.max_offset, 0u);
  EXPECT_FALSE(m.limited);
}

TEST_F(WalFixture, FrameChecksumMismatchHasNoCommittedFrames) {
  Load("frame-checksum-mismatch/wal");
  PageMap m = Map();
  EXPECT_TRUE(m.pages.empty());
  EXPECT_EQ(m.commit, 0u);
  EXPECT_EQ(m.max_offset, 0u);
}

TEST_F(WalFixture, FrameSaltsReaderSeesOnlyTheHeaderGeneration) {
  Load("frame-salts/wal");
  PageMap m = Map();
  EXPECT_EQ(m.pages, (Pages{{2, 4152}}));
  EXPECT_EQ(m.commit, 2u);
  EXPECT_EQ(m.max_offset, 8272u);
}

// Upstream TestWALReader_FrameSaltsUntil.
TEST_F(WalFixture, FrameSaltsUntilFindsThreeGenerations) {
  Load("frame-salts/wal");
  auto reader = WalReader::Open(file_.get());
  ASSERT_TRUE(reader.ok());
  const Salts newest{0x1b9a294b, 0x37f91916};
  const Salts middle{0x1b9a294a, 0x031f195e};
  const Salts oldest{0x1b9a2949, 0x13b3dd67};
  EXPECT_EQ(reader->header().salts, newest);

  auto salts = reader->FrameSaltsUntil(oldest);
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{newest, middle, oldest}));

  salts = reader->FrameSaltsUntil(middle);
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{newest, middle}));

  salts = reader->FrameSaltsUntil(newest);
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{newest}));

  salts = reader->FrameSaltsUntil(Salts{1, 2});  // absent: scans to the end
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{newest, middle, oldest}));
}

TEST_F(WalFixture, FrameSaltsOpenAtAnOlderGenerationUsesTheGivenSalts) {
  Load("frame-salts/wal");
  const Salts middle{0x1b9a294a, 0x031f195e};
  // The frame before 12392 (at 8272) is of the middle generation: its checksum seeds the frames after it.
  auto r = WalReader::OpenAt(file_.get(), 12392, middle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->salts(), middle);
  auto m = r->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pages, (Pages{{2, 16512}}));
  EXPECT_EQ(m->max_offset, 20632u);

  // The frame before 8272 belongs to the newest generation.
  r = WalReader::OpenAt(file_.get(), 8272, middle);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsPrevFrameMismatch(r.status())) << r.status().ToString();
}

}  // namespace
}  // namespace litestream::wal
