// The byte-level building blocks of LTX: checksums, the header, page header and trailer rules (§1.2-1.7).
#include "ltx/format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ltx/coding.h"
#include "ltx/xxhash32.h"
#include "ltx_test_util.h"
#include "util/crc64.h"

namespace litestream::ltx {
namespace {

using testing::MakeHeader;

TEST(Crc64, CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc64::Value(s.data(), s.size()), 0xB90956C775A41001ULL);
  EXPECT_EQ(crc64::Value(nullptr, 0), 0u);
}

TEST(Crc64, ExtendEqualsOneShotForEverySplitAndAlignment) {
  std::vector<uint8_t> data(200);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 31 + 7);
  for (size_t start = 0; start < 9; start++) {
    const uint64_t whole = crc64::Value(data.data() + start, data.size() - start);
    for (size_t split = start; split <= data.size(); split += 3) {
      uint64_t crc = crc64::Value(data.data() + start, split - start);
      crc = crc64::Extend(crc, data.data() + split, data.size() - split);
      ASSERT_EQ(crc, whole) << "start " << start << " split " << split;
    }
  }
}

TEST(Crc64, FastPathMatchesTheTableForEveryLengthAndAlignment) {
  std::vector<uint8_t> data(1100);
  uint32_t x = 1;
  for (auto& b : data) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  for (size_t start = 0; start < 16; start += 5) {
    for (size_t n = 0; start + n <= data.size(); n += (n < 300 ? 1 : 37)) {
      for (uint64_t seed : {uint64_t{0}, uint64_t{0x0123456789ABCDEF}}) {
        ASSERT_EQ(crc64::Extend(seed, data.data() + start, n),
                  crc64::internal::ExtendPortable(seed, data.data() + start, n))
            << "start " << start << " length " << n;
      }
    }
  }
}

TEST(Crc64, MatchesBitwiseDefinition) {
  auto bitwise = [](const uint8_t* p, size_t n) {
    uint64_t crc = ~uint64_t{0};
    for (size_t i = 0; i < n; i++) {
      crc ^= p[i];
      for (int b = 0; b < 8; b++) crc = (crc & 1) ? (crc >> 1) ^ 0xD800000000000000ULL : crc >> 1;
    }
    return ~crc;
  };
  std::vector<uint8_t> data(100);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * i + 3);
  for (size_t n = 0; n <= data.size(); n++)
    ASSERT_EQ(crc64::Value(data.data(), n), bitwise(data.data(), n)) << n;
}

TEST(Xxh32, KnownValues) {
  EXPECT_EQ(Xxh32("", 0), 0x02CC5D05u);
  EXPECT_EQ(Xxh32("abc", 3), 0x32D153FFu);
  const std::string s = "Nobody inspects the spammish repetition";
  EXPECT_EQ(Xxh32(s.data(), s.size()), 0xE2293B2Fu);
  // The LZ4 frame header checksum of FLG 0x64, BD 0x40 is 0xA7 (second byte of xxh32), as in the vectors.
  const uint8_t desc[2] = {0x64, 0x40};
  EXPECT_EQ((Xxh32(desc, 2) >> 8) & 0xFF, 0xA7u);
}

TEST(Varint, RoundTripsAndRejectsOverflow) {
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, 0xFFFFFFFFULL, ~0ULL}) {
    std::vector<uint8_t> buf;
    AppendUvarint(&buf, v);
    uint64_t got = 0;
    EXPECT_EQ(GetUvarint(buf.data(), buf.data() + buf.size(), &got), buf.size());
    EXPECT_EQ(got, v);
    EXPECT_EQ(GetUvarint(buf.data(), buf.data() + buf.size() - 1, &got), 0u) << "truncated";
  }
  const uint8_t overflow[10] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
  uint64_t got = 0;
  EXPECT_EQ(GetUvarint(overflow, overflow + 10, &got), 0u);
  EXPECT_EQ(GetUvarint(overflow, overflow + 9, &got), 0u);
}

TEST(LockPgno, IsThePageAtOneGiB) {
  EXPECT_EQ(LockPgno(512), 2097153u);
  EXPECT_EQ(LockPgno(1024), 1048577u);
  EXPECT_EQ(LockPgno(2048), 524289u);
  EXPECT_EQ(LockPgno(4096), 262145u);
  EXPECT_EQ(LockPgno(8192), 131073u);
  EXPECT_EQ(LockPgno(16384), 65537u);
  EXPECT_EQ(LockPgno(32768), 32769u);
  EXPECT_EQ(LockPgno(65536), 16385u);
}

TEST(PageSize, PowersOfTwoFrom512To65536) {
  for (uint32_t ps = 512; ps <= 65536; ps *= 2) EXPECT_TRUE(IsValidPageSize(ps)) << ps;
  for (uint32_t ps : {0u, 1u, 256u, 511u, 513u, 1000u, 4095u, 131072u, 0x80000000u}) {
    EXPECT_FALSE(IsValidPageSize(ps)) << ps;
  }
}

// Each rule of §1.2, one at a time, starting from a valid header.
struct HeaderCase {
  const char* name;
  void (*mutate)(Header*);
  const char* error;  // substring of the message, or nullptr when valid
};

class HeaderValidate : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderValidate, Rule) {
  Header h = MakeHeader(4096, 3, 5, 6);
  GetParam().mutate(&h);
  Status s = h.Validate();
  if (GetParam().error == nullptr) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  } else {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(GetParam().error), std::string::npos) << s.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, HeaderValidate,
    ::testing::Values(
        HeaderCase{"Valid", [](Header*) {}, nullptr},
        HeaderCase{"FlagsZeroIsValid",
                   [](Header* h) {
                     h->flags = 0;
                     h->pre_apply_checksum = kChecksumFlag | 1;
                   },
                   nullptr},
        HeaderCase{"UnknownFlag", [](Header* h) { h->flags |= 1; }, "unknown flags 0x00000003"},
        HeaderCase{"HighFlag", [](Header* h) { h->flags = 0x80000002; }, "unknown flags"},
        HeaderCase{"PageSizeZero", [](Header* h) { h->page_size = 0; }, "page size 0"},
        HeaderCase{"PageSizeNotPowerOfTwo", [](Header* h) { h->page_size = 1000; }, "page size 1000"},
        HeaderCase{"PageSizeTooLarge", [](Header* h) { h->page_size = 131072; }, "page size 131072"},
        HeaderCase{"PageSize512", [](Header* h) { h->page_size = 512; }, nullptr},
        HeaderCase{"PageSize65536", [](Header* h) { h->page_size = 65536; }, nullptr},
        HeaderCase{"MinTxidZero", [](Header* h) { h->min_txid = 0; }, "min TXID is 0"},
        HeaderCase{"MaxTxidZero", [](Header* h) { h->max_txid = 0; }, "max TXID is 0"},
        HeaderCase{"TxidsOutOfOrder", [](Header* h) { h->min_txid = 7; }, "min TXID 7 > max TXID 6"},
        HeaderCase{"NegativeWalOffset", [](Header* h) { h->wal_offset = -1; }, "negative WAL offset"},
        HeaderCase{"NegativeWalSize",
                   [](Header* h) {
                     h->wal_offset = 32;
                     h->wal_size = -1;
                   },
                   "negative WAL size"},
        HeaderCase{"SaltWithoutOffset", [](Header* h) { h->wal_salt2 = 9; },
                   "WAL salt set without a WAL offset"},
        HeaderCase{"SizeWithoutOffset", [](Header* h) { h->wal_size = 4120; },
                   "WAL size set without a WAL offset"},
        HeaderCase{"WalFieldsTogether",
                   [](Header* h) {
                     h->wal_offset = 32;
                     h->wal_size = 4120;
                     h->wal_salt1 = 1;
                     h->wal_salt2 = 2;
                   },
                   nullptr},
        HeaderCase{"SnapshotPreApply",
                   [](Header* h) {
                     h->min_txid = 1;
                     h->pre_apply_checksum = kChecksumFlag | 5;
                   },
                   "must be zero in a snapshot"},
        HeaderCase{"SnapshotWithChecksumsNeedsNoPreApply",
                   [](Header* h) {
                     h->min_txid = 1;
                     h->flags = 0;
                   },
                   nullptr},
        HeaderCase{"NoChecksumPreApply", [](Header* h) { h->pre_apply_checksum = kChecksumFlag | 5; },
                   "must be zero when checksums are off"},
        HeaderCase{"ChecksummedIncrementalNeedsPreApply", [](Header* h) { h->flags = 0; },
                   "pre-apply checksum required"},
        HeaderCase{"PreApplyWithoutFlagBit",
                   [](Header* h) {
                     h->flags = 0;
                     h->pre_apply_checksum = 5;
                   },
                   "lacks bit 63"}),
    [](const ::testing::TestParamInfo<HeaderCase>& pi) { return std::string(pi.param.name); });

TEST(Header, EncodeDecodeRoundTripsEveryField) {
  Header h;
  h.flags = kHeaderFlagNoChecksum;
  h.page_size = 8192;
  h.commit = 0x01020304;
  h.min_txid = 0x1112131415161718;
  h.max_txid = 0x2122232425262728;
  h.timestamp = 1735689600123;
  h.pre_apply_checksum = 0;
  h.wal_offset = 0x3132333435363738;
  h.wal_size = 0x4142434445464748;
  h.wal_salt1 = 0x51525354;
  h.wal_salt2 = 0x61626364;
  h.node_id = 0x7172737475767778;
  uint8_t buf[kHeaderSize];
  std::memset(buf, 0xAA, sizeof(buf));
  h.EncodeTo(buf);
  EXPECT_EQ(std::memcmp(buf, "LTX1", 4), 0);
  EXPECT_EQ(GetBE32(buf + 8), 8192u);
  EXPECT_EQ(GetBE64(buf + 32), 1735689600123u);
  for (size_t i = 80; i < kHeaderSize; i++) EXPECT_EQ(buf[i], 0) << "reserved byte " << i;
  Result<Header> back = Header::Decode(buf);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
}

TEST(Header, DecodeRejectsBadMagic) {
  uint8_t buf[kHeaderSize] = {'L', 'T', 'X', '2'};
  Result<Header> h = Header::Decode(buf);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_NE(h.status().message().find("invalid LTX file"), std::string::npos) << h.status().message();
}

TEST(Header, IsSnapshotMeansMinTxidOne) {
  EXPECT_TRUE(MakeHeader(4096, 1, 1, 1).IsSnapshot());
  EXPECT_TRUE(MakeHeader(4096, 1, 1, 99).IsSnapshot());
  EXPECT_FALSE(MakeHeader(4096, 1, 2, 2).IsSnapshot());
}

TEST(PageHeader, Rules) {
  EXPECT_TRUE((PageHeader{0, 0}).IsEndMarker());
  EXPECT_TRUE((PageHeader{1, 0}).Validate().ok());
  EXPECT_TRUE((PageHeader{1, kPageHeaderFlagSize}).Validate().ok());
  EXPECT_FALSE((PageHeader{0, kPageHeaderFlagSize}).Validate().ok());
  for (uint16_t bit = 1; bit != 0; bit = static_cast<uint16_t>(bit << 1)) {
    if (bit == kPageHeaderFlagSize) continue;
    Status s = PageHeader{7, bit}.Validate();
    ASSERT_FALSE(s.ok()) << bit;
    EXPECT_NE(s.message().find("flags"), std::string::npos);
  }
  uint8_t buf[kPageHeaderSize];
  PageHeader{0x01020304, 1}.EncodeTo(buf);
  const uint8_t want[] = {1, 2, 3, 4, 0, 1};
  EXPECT_EQ(std::memcmp(buf, want, sizeof(want)), 0);
  EXPECT_EQ(PageHeader::Decode(buf).pgno, 0x01020304u);
}

TEST(Trailer, Rules) {
  const Header no_checksum = MakeHeader(4096, 3, 1, 1);
  Header checksummed = no_checksum;
  checksummed.flags = 0;

  EXPECT_TRUE((Trailer{0, kChecksumFlag | 9}).Validate(no_checksum).ok());
  EXPECT_FALSE((Trailer{kChecksumFlag | 1, kChecksumFlag | 9}).Validate(no_checksum).ok())
      << "post-apply set";
  EXPECT_FALSE((Trailer{0, 0}).Validate(no_checksum).ok()) << "file checksum missing";
  EXPECT_FALSE((Trailer{0, 9}).Validate(no_checksum).ok()) << "file checksum without bit 63";

  EXPECT_TRUE((Trailer{kChecksumFlag | 1, kChecksumFlag | 9}).Validate(checksummed).ok());
  EXPECT_FALSE((Trailer{0, kChecksumFlag | 9}).Validate(checksummed).ok()) << "post-apply required";
  EXPECT_FALSE((Trailer{1, kChecksumFlag | 9}).Validate(checksummed).ok()) << "post-apply without bit 63";
}

TEST(ChecksumPage, IsFlagOrCrcOfPgnoAndData) {
  const std::vector<uint8_t> page(512, 7);
  std::vector<uint8_t> joined(4 + page.size(), 7);
  joined[0] = joined[1] = joined[2] = 0;
  joined[3] = 5;
  EXPECT_EQ(ChecksumPage(5, page.data(), page.size()),
            kChecksumFlag | crc64::Value(joined.data(), joined.size()));
}

}  // namespace
}  // namespace litestream::ltx
