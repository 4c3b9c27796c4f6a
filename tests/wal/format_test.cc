// The WAL header and SQLite's checksum (src/wal/format.h).
#include "wal/format.h"

#include <gtest/gtest.h>

#include <random>

#include "support/paths.h"
#include "util/file_system.h"
#include "wal/wal_builder.h"

namespace litestream::wal {
namespace {

using testing::FixHeaderChecksum;
using testing::PutBE32;
using testing::ReferenceChecksum;
using testing::WalBuilder;

std::vector<uint8_t> ReadTestFile(const std::string& relative) {
  auto data = ReadFileToVector(*FileSystem::Default(), litestream::testing::TestDataPath(relative), 1 << 20);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? *data : std::vector<uint8_t>{};
}

TEST(WalChecksum, MatchesTheReferenceInBothByteOrdersForEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  std::vector<uint8_t> data(4096 + 64);
  for (auto& b : data) b = uint8_t(rng());
  for (bool big : {false, true}) {
    ByteOrder order = big ? ByteOrder::kBig : ByteOrder::kLittle;
    for (size_t start : {0, 1, 3, 8}) {  // unaligned pointers too
      for (size_t n = 0; n <= 200; n++) {
        Checksum seed{uint32_t(rng()), uint32_t(rng())};
        EXPECT_EQ(ComputeChecksum(order, seed, data.data() + start, n),
                  ReferenceChecksum(big, seed, data.data() + start, n))
            << "big=" << big << " start=" << start << " n=" << n;
      }
      Checksum seed{1, 2};
      EXPECT_EQ(ComputeChecksum(order, seed, data.data() + start, 4096),
                ReferenceChecksum(big, seed, data.data() + start, 4096));
    }
  }
}

TEST(WalChecksum, IsCumulativeAcrossCalls) {
  std::vector<uint8_t> data(1024);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 7);
  Checksum whole = ComputeChecksum(ByteOrder::kLittle, {}, data.data(), data.size());
  Checksum first = ComputeChecksum(ByteOrder::kLittle, {}, data.data(), 8);
  EXPECT_EQ(ComputeChecksum(ByteOrder::kLittle, first, data.data() + 8, data.size() - 8), whole);
}

TEST(WalChecksum, KnownValueFromSqliteHeader) {
  // testdata/wal-reader/ok/wal was written by SQLite: its stored header checksum is e08b785b 8e57dda3.
  std::vector<uint8_t> wal = ReadTestFile("wal-reader/ok/wal");
  ASSERT_GE(wal.size(), 32u);
  EXPECT_EQ(ComputeChecksum(ByteOrder::kLittle, {}, wal.data(), 24), (Checksum{0xe08b785b, 0x8e57dda3}));
}

TEST(WalHeader, ParsesSqliteHeader) {
  std::vector<uint8_t> wal = ReadTestFile("wal-reader/ok/wal");
  auto h = ParseHeader(wal.data(), wal.size());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->magic, kMagicLittleEndian);
  EXPECT_EQ(h->byte_order(), ByteOrder::kLittle);
  EXPECT_EQ(h->version, 3007000u);
  EXPECT_EQ(h->page_size, 4096u);
  EXPECT_EQ(h->frame_size(), 4120u);
  EXPECT_EQ(h->checkpoint_seq, 0u);
  EXPECT_EQ(h->salts, (Salts{0x4875a40b, 0xa38de4f5}));
  EXPECT_EQ(h->checksum, (Checksum{0xe08b785b, 0x8e57dda3}));
  EXPECT_EQ(FormatSalts(h->salts), "4875a40b/a38de4f5");
}

TEST(WalHeader, ParsesBigEndianChecksumHeader) {
  WalBuilder b(1024, /*big_endian=*/true, {7, 9}, 3);
  auto h = ParseHeader(b.bytes().data(), b.bytes().size());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->magic, kMagicBigEndian);
  EXPECT_EQ(h->byte_order(), ByteOrder::kBig);
  EXPECT_EQ(h->page_size, 1024u);
  EXPECT_EQ(h->checkpoint_seq, 3u);
  EXPECT_EQ(h->salts, (Salts{7, 9}));
}

TEST(WalHeader, ShortHeaderIsNotReady) {
  WalBuilder b;
  for (size_t n : {0, 1, 8, 24, 31}) {
    auto h = ParseHeader(b.bytes().data(), n);
    ASSERT_FALSE(h.ok());
    EXPECT_TRUE(IsWalNotReady(h.status())) << n << ": " << h.status().ToString();
    EXPECT_FALSE(IsPrevFrameMismatch(h.status()));
  }
}

TEST(WalHeader, BadMagicIsCorruption) {
  WalBuilder b;
  PutBE32(b.bytes().data(), 0x377F0684);
  FixHeaderChecksum(b.bytes());
  auto h = ParseHeader(b.bytes().data(), 32);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption()) << h.status().ToString();
  EXPECT_NE(h.status().message().find("magic"), std::string::npos);
}

TEST(WalHeader, BadMagicIsCheckedBeforeTheChecksum) {
  WalBuilder b;
  PutBE32(b.bytes().data(), 0);  // checksum now stale as well
  auto h = ParseHeader(b.bytes().data(), 32);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption()) << h.status().ToString();
}

TEST(WalHeader, ChecksumMismatchIsNotReady) {
  for (size_t byte : {4, 12, 16, 23, 24, 31}) {
    WalBuilder b;
    b.bytes()[byte] ^= 0x01;
    auto h = ParseHeader(b.bytes().data(), 32);
    ASSERT_FALSE(h.ok());
    EXPECT_TRUE(IsWalNotReady(h.status())) << byte << ": " << h.status().ToString();
  }
}

TEST(WalHeader, ByteOrderMustMatchTheMagic) {
  WalBuilder b(4096, /*big_endian=*/true);
  PutBE32(b.bytes().data(), kMagicLittleEndian);  // checksum was computed on BE words with the BE magic
  auto h = ParseHeader(b.bytes().data(), 32);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(IsWalNotReady(h.status())) << h.status().ToString();
}

TEST(WalHeader, BadVersionIsCorruption) {
  WalBuilder b;
  PutBE32(b.bytes().data() + 4, 3007001);
  FixHeaderChecksum(b.bytes());
  auto h = ParseHeader(b.bytes().data(), 32);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption()) << h.status().ToString();
  EXPECT_NE(h.status().message().find("version"), std::string::npos);
}

TEST(WalHeader, ChecksumIsCheckedBeforeTheVersion) {
  WalBuilder b;
  PutBE32(b.bytes().data() + 4, 3007001);  // stale checksum: a header being rewritten
  auto h = ParseHeader(b.bytes().data(), 32);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(IsWalNotReady(h.status())) << h.status().ToString();
}

TEST(WalHeader, InvalidPageSizeIsCorruption) {
  for (uint32_t ps : {0u, 1u, 256u, 1000u, 4097u, 131072u, 0xFFFFFFFFu}) {
    WalBuilder b;
    PutBE32(b.bytes().data() + 8, ps);
    FixHeaderChecksum(b.bytes());
    auto h = ParseHeader(b.bytes().data(), 32);
    ASSERT_FALSE(h.ok()) << ps;
    EXPECT_TRUE(h.status().IsCorruption()) << ps << ": " << h.status().ToString();
  }
  for (uint32_t ps = 512; ps <= 65536; ps *= 2) {
    WalBuilder b(ps);
    EXPECT_TRUE(ParseHeader(b.bytes().data(), 32).ok()) << ps;
  }
}

TEST(WalFrameHeader, Decodes) {
  WalBuilder b(512, false, {0xAABBCCDD, 0x01020304});
  b.Frame(7, 9);
  FrameHeader f = DecodeFrameHeader(b.bytes().data() + 32);
  EXPECT_EQ(f.pgno, 7u);
  EXPECT_EQ(f.commit, 9u);
  EXPECT_EQ(f.salts, (Salts{0xAABBCCDD, 0x01020304}));
  Checksum header{testing::GetBE32(b.bytes().data() + 24), testing::GetBE32(b.bytes().data() + 28)};
  Checksum c = ComputeChecksum(ByteOrder::kLittle, header, b.bytes().data() + 32, 8);
  c = ComputeChecksum(ByteOrder::kLittle, c, b.bytes().data() + 56, 512);
  EXPECT_EQ(f.checksum, c);
}

TEST(WalStatus, ReservedCodesAreDistinct) {
  Status not_ready = WalNotReadyError("x");
  Status mismatch = PrevFrameMismatchError("y");
  EXPECT_TRUE(IsWalNotReady(not_ready));
  EXPECT_FALSE(IsPrevFrameMismatch(not_ready));
  EXPECT_TRUE(IsPrevFrameMismatch(mismatch));
  EXPECT_FALSE(IsWalNotReady(mismatch));
  EXPECT_FALSE(IsWalNotReady(Status::IOError("z")));
  EXPECT_FALSE(IsWalNotReady(Status::OK()));
  // The code survives added context.
  EXPECT_TRUE(IsWalNotReady(not_ready.WithContext("sync /db")));
}

}  // namespace
}  // namespace litestream::wal
