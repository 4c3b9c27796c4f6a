// The checked-in vectors (tests/testdata/README.md, spec §1.15 and Appendix A): both current page
// encodings decode to the same database, with the documented index and checksums; the legacy v1 layout is
// rejected; re-encoding the pages gives files that verify.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ltx/coding.h"
#include "ltx/ltx.h"
#include "ltx/xxhash32.h"
#include "ltx_test_util.h"
#include "support/paths.h"
#include "util/crc64.h"
#include "util/memory_file.h"

namespace litestream::ltx {
namespace {

using testing::Bytes;
using testing::DecodeDatabase;
using testing::DecodeFile;
using testing::ReadFileBytes;

const char kBlockFile[] = "block-0000000000000001-0000000000000001.ltx";
const char kFrameFile[] = "frame-0000000000000001-0000000000000001.ltx";
const char kLegacyFile[] = "legacy-v1-000000000000000d-000000000000000d.ltx";

Bytes Vector(const std::string& name) {
  return ReadFileBytes(litestream::testing::TestDataPath("ltx/" + name));
}

// FLAG | CRC-64 of the checksummed stream (§1.8), computed straight from the spec with the index as a
// map of the file, independently of the decoder.
uint64_t ReferenceFileChecksum(const Bytes& file, const std::vector<PageIndexEntry>& index, const Bytes& db) {
  const uint32_t ps = GetBE32(file.data() + 8);
  uint64_t crc = crc64::Value(file.data(), kHeaderSize);
  for (const PageIndexEntry& e : index) {
    const uint8_t* frame = file.data() + e.offset;
    const bool block = (GetBE16(frame + 4) & 1) != 0;
    crc = crc64::Extend(crc, frame, block ? 10 : 6);
    crc = crc64::Extend(crc, db.data() + size_t{e.pgno - 1} * ps, ps);
  }
  const size_t index_start = file.size() - 24 - GetBE64(file.data() + file.size() - 24);
  crc = crc64::Extend(crc, file.data() + index_start - 6, file.size() - 8 - (index_start - 6));
  return kChecksumFlag | crc;
}

struct VectorCase {
  const char* file;
  uint64_t file_checksum;
  std::vector<PageIndexEntry> index;
};

class CurrentVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(CurrentVector, HeaderFields) {
  Result<testing::DecodedFile> f = DecodeFile(Vector(GetParam().file), GetParam().file);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const Header& h = f->header;
  EXPECT_EQ(h.flags, kHeaderFlagNoChecksum);
  EXPECT_EQ(h.page_size, 4096u);
  EXPECT_EQ(h.commit, 3u);
  EXPECT_EQ(h.min_txid, 1u);
  EXPECT_EQ(h.max_txid, 1u);
  EXPECT_TRUE(h.IsSnapshot());
  EXPECT_EQ(h.timestamp, 1735689600000);
  EXPECT_EQ(h.pre_apply_checksum, 0u);
  EXPECT_EQ(h.wal_offset, 32);
  EXPECT_EQ(h.wal_size, 16480);
  EXPECT_EQ(h.wal_salt1, 0x134b6eeeu);
  EXPECT_EQ(h.wal_salt2, 0x8dd2c25eu);
  EXPECT_EQ(h.node_id, 0u);
  EXPECT_EQ(f->trailer.post_apply_checksum, 0u);
  EXPECT_EQ(f->trailer.file_checksum, GetParam().file_checksum);
}

TEST_P(CurrentVector, PagesAreTheDecodedDatabase) {
  const Bytes db = Vector("txid1-decoded.db");
  ASSERT_EQ(db.size(), 3u * 4096);
  Result<testing::DecodedFile> f = DecodeFile(Vector(GetParam().file));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->pages.size(), 3u);
  for (const auto& [pgno, page] : f->pages) {
    EXPECT_EQ(page, Bytes(db.begin() + (pgno - 1) * 4096, db.begin() + pgno * 4096)) << "page " << pgno;
  }
}

TEST_P(CurrentVector, DecodeDatabaseToGivesTheDatabaseByteForByte) {
  Result<Bytes> db = DecodeDatabase(Vector(GetParam().file));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*db, Vector("txid1-decoded.db"));
}

TEST_P(CurrentVector, ShortReadsDoNotMatter) {
  const Bytes file = Vector(GetParam().file);
  for (size_t chunk : {1, 2, 3, 7, 100, 4096}) {
    testing::ChunkedReader in(file, chunk);
    BufferWriter out;
    Status s = DecodeDatabaseTo(in, out, GetParam().file);
    ASSERT_TRUE(s.ok()) << "chunk " << chunk << ": " << s.ToString();
    EXPECT_EQ(out.data(), Vector("txid1-decoded.db"));
  }
}

TEST_P(CurrentVector, PageIndexEntries) {
  MemoryRandomAccessReader file(Vector(GetParam().file));
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(file, GetParam().file);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(*index, GetParam().index);
}

TEST_P(CurrentVector, ChecksumFollowsTheSpec) {
  const Bytes file = Vector(GetParam().file);
  EXPECT_EQ(ReferenceFileChecksum(file, GetParam().index, Vector("txid1-decoded.db")),
            GetParam().file_checksum);
  EXPECT_EQ(GetBE64(file.data() + file.size() - 8), GetParam().file_checksum);
}

TEST_P(CurrentVector, RandomAccessReadsEachPage) {
  const Bytes db = Vector("txid1-decoded.db");
  MemoryRandomAccessReader file(Vector(GetParam().file));
  Result<Header> h = ReadHeader(file, GetParam().file);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  Bytes page(4096);
  for (const PageIndexEntry& e : GetParam().index) {
    Status s = ReadPage(file, e, h->page_size, page.data(), GetParam().file);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(page, Bytes(db.begin() + (e.pgno - 1) * 4096, db.begin() + e.pgno * 4096)) << "page " << e.pgno;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, CurrentVector,
    ::testing::Values(
        VectorCase{kBlockFile, 0x8ca08d98ef630b7eULL, {{1, 100, 223}, {2, 323, 44}, {3, 367, 44}}},
        VectorCase{kFrameFile, 0x892cad73d865ba49ULL, {{1, 100, 238}, {2, 338, 59}, {3, 397, 59}}}),
    [](const ::testing::TestParamInfo<VectorCase>& pi) { return std::string(pi.param.file).substr(0, 5); });

TEST(LegacyV1Vector, IsRejectedNamingTheFlags) {
  const Bytes file = Vector(kLegacyFile);
  ASSERT_EQ(file.size(), 12420u);
  Status s = DecodeFile(file, kLegacyFile).status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(
      s.message().rfind(
          std::string(kLegacyFile) + ": page header at offset 100: invalid page header flags 0x5351", 0),
      0u)
      << s.message();
  BufferReader in(file);
  EXPECT_EQ(VerifyFile(in, kLegacyFile).message(), s.message());
  // It is an incremental file (TXID 13), so building a database from it fails even earlier.
  EXPECT_FALSE(DecodeDatabase(file, kLegacyFile).ok());
}

TEST(LegacyV1Vector, ChecksumIsCrcOfAllButTheLastEightBytes) {
  const Bytes file = Vector(kLegacyFile);
  EXPECT_EQ(kChecksumFlag | crc64::Value(file.data(), file.size() - 8), 0x9496a29358326fb5ULL);
}

// Re-encode the vector's pages with its header in each encoding.
class ReEncode : public ::testing::TestWithParam<PageEncoding> {};

TEST_P(ReEncode, DecodesToTheSamePagesWithAVerifiedChecksum) {
  Result<testing::DecodedFile> orig = DecodeFile(Vector(kBlockFile));
  ASSERT_TRUE(orig.ok());
  Result<Bytes> file = testing::EncodeFile(orig->header, orig->pages, GetParam());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  Result<testing::DecodedFile> back = DecodeFile(*file);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->header, orig->header);
  EXPECT_EQ(back->pages, orig->pages);

  MemoryRandomAccessReader ra(*file);
  Result<std::vector<PageIndexEntry>> index = ReadPageIndex(ra, "re-encoded");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->size(), 3u);
  const Bytes db = Vector("txid1-decoded.db");
  EXPECT_EQ(back->trailer.file_checksum, ReferenceFileChecksum(*file, *index, db));
  Result<Bytes> image = DecodeDatabase(*file);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(*image, db);

  for (const PageIndexEntry& e : *index) {
    const uint8_t* frame = file->data() + e.offset;
    ASSERT_EQ(GetBE32(frame), e.pgno);
    if (GetParam() == PageEncoding::kBlock) {
      EXPECT_EQ(GetBE16(frame + 4), kPageHeaderFlagSize);
      EXPECT_EQ(GetBE32(frame + 6), e.size - 10);
      continue;
    }
    EXPECT_EQ(GetBE16(frame + 4), 0);
    const uint8_t lz4_header[] = {0x04, 0x22, 0x4D, 0x18, 0x64, 0x40, 0xA7};
    EXPECT_EQ(std::memcmp(frame + 6, lz4_header, sizeof(lz4_header)), 0) << "page " << e.pgno;
    // One block, then EndMark and the xxh32 content checksum of the page.
    const size_t block = GetLE32(frame + 13) & 0x7FFFFFFF;
    EXPECT_EQ(e.size, 6 + 7 + 4 + block + 8);
    EXPECT_EQ(GetLE32(frame + e.size - 8), 0u);
    EXPECT_EQ(GetLE32(frame + e.size - 4), Xxh32(db.data() + (e.pgno - 1) * 4096, 4096));
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, ReEncode, ::testing::Values(PageEncoding::kFrame, PageEncoding::kBlock),
                         [](const ::testing::TestParamInfo<PageEncoding>& pi) {
                           return pi.param == PageEncoding::kFrame ? "Frame" : "Block";
                         });

}  // namespace
}  // namespace litestream::ltx
