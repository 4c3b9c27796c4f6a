// Damaged files: every truncation and every single-bit flip of the vectors is an error, never a crash or
// a hang. Bytes covered by the file checksum (everything but the compressed payloads) are always
// detected; a flip inside a compressed payload is either detected or decodes to the very same pages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ltx/coding.h"
#include "ltx/ltx.h"
#include "ltx_test_util.h"
#include "support/paths.h"
#include "util/memory_file.h"

namespace litestream::ltx {
namespace {

using testing::Bytes;

Bytes Vector(const std::string& name) {
  return testing::ReadFileBytes(litestream::testing::TestDataPath("ltx/" + name));
}

// Marks the compressed payload bytes, which the file checksum does not cover (§1.8).
std::vector<bool> PayloadMask(const Bytes& file) {
  MemoryRandomAccessReader ra(file);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "mask");
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  std::vector<bool> payload(file.size(), false);
  if (!index.ok()) return payload;
  for (const PageIndexEntry& e : *index) {
    const bool block = (GetBE16(file.data() + e.offset + 4) & kPageHeaderFlagSize) != 0;
    for (uint64_t i = e.offset + kPageHeaderSize + (block ? 4 : 0); i < e.offset + e.size; i++)
      payload[i] = true;
  }
  return payload;
}

// Exercises the random-access path on damaged bytes: must not crash; results are not checked.
void ProbeRandomAccess(const Bytes& file) {
  MemoryRandomAccessReader ra(file);
  Result<Header> h = ReadHeader(ra, "probe");
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "probe");
  if (!index.ok()) return;
  Bytes page(kMaxPageSize);
  const uint32_t ps = h.ok() ? h->page_size : 4096;
  for (const PageIndexEntry& e : *index) (void)ReadPage(ra, e, ps, page.data(), "probe");
}

struct FlipStats {
  int covered_detected = 0;
  int payload_detected = 0;
  int payload_harmless = 0;
};

// Flips `bits` (a mask) of byte i and checks the outcome.
void CheckFlip(const Bytes& orig, const Bytes& db, const std::vector<bool>& payload, size_t i, uint8_t bits,
               FlipStats* stats) {
  Bytes file = orig;
  file[i] ^= bits;
  Result<Bytes> got = testing::DecodeDatabase(file, "flipped.ltx");
  if (!payload[i]) {
    EXPECT_FALSE(got.ok()) << "flip 0x" << std::hex << int{bits} << " of covered byte " << std::dec << i
                           << " went undetected";
    if (!got.ok()) {
      EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
      stats->covered_detected++;
    }
  } else if (got.ok()) {
    EXPECT_EQ(*got, db) << "payload byte " << i << " flipped and decoded to different pages without an error";
    stats->payload_harmless++;
  } else {
    stats->payload_detected++;
  }
  ProbeRandomAccess(file);
}

class VectorCorruption : public ::testing::TestWithParam<const char*> {};

TEST_P(VectorCorruption, EveryTruncationIsAnError) {
  const Bytes file = Vector(GetParam());
  for (size_t len = 0; len < file.size(); len++) {
    const Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len));
    Result<testing::DecodedFile> got = testing::DecodeFile(cut, "cut.ltx");
    ASSERT_FALSE(got.ok()) << "truncated to " << len << " bytes";
    EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
    EXPECT_EQ(got.status().message().rfind("cut.ltx: ", 0), 0u) << got.status().message();
    EXPECT_FALSE(testing::DecodeDatabase(cut).ok()) << len;
    ProbeRandomAccess(cut);
  }
}

TEST_P(VectorCorruption, TrailingBytesAreAnError) {
  Bytes file = Vector(GetParam());
  file.push_back(0);
  Result<testing::DecodedFile> got = testing::DecodeFile(file, "long.ltx");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("unexpected data after the trailer"), std::string::npos)
      << got.status().message();
}

TEST_P(VectorCorruption, EverySingleBitFlipIsDetectedOrHarmless) {
  const Bytes file = Vector(GetParam());
  const Bytes db = Vector("txid1-decoded.db");
  const std::vector<bool> payload = PayloadMask(file);
  FlipStats stats;
  for (size_t i = 0; i < file.size(); i++) {
    for (int bit = 0; bit < 8; bit++) CheckFlip(file, db, payload, i, static_cast<uint8_t>(1 << bit), &stats);
  }
  std::printf("%s: %d covered flips detected; payload flips: %d detected, %d decode to the same pages\n",
              GetParam(), stats.covered_detected, stats.payload_detected, stats.payload_harmless);
}

INSTANTIATE_TEST_SUITE_P(Vectors, VectorCorruption,
                         ::testing::Values("block-0000000000000001-0000000000000001.ltx",
                                           "frame-0000000000000001-0000000000000001.ltx"));

// A larger file with both encodings mixed and pages of every kind: one flip per byte (rotating bit).
TEST(MixedFileCorruption, EveryByteFlipIsDetectedOrHarmless) {
  const uint32_t ps = 1024;
  testing::PageMap pages;
  for (uint32_t pgno = 1; pgno <= 12; pgno++) pages[pgno] = testing::MakePage(ps, pgno);
  pages[5] = Bytes(ps, 0);
  const Bytes file = testing::HandEncode(testing::MakeHeader(ps, 12, 1, 1), pages,
                                         [](uint32_t pgno) { return pgno % 2 == 0; });
  Bytes db;
  for (const auto& [pgno, data] : pages) db.insert(db.end(), data.begin(), data.end());
  const std::vector<bool> payload = PayloadMask(file);
  FlipStats stats;
  for (size_t i = 0; i < file.size(); i++)
    CheckFlip(file, db, payload, i, static_cast<uint8_t>(1 << (i % 8)), &stats);
  EXPECT_GT(stats.covered_detected, 0);
}

}  // namespace
}  // namespace litestream::ltx
