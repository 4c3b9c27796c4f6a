// The Decoder on well-formed files it has not seen from our own encoder (mixed encodings, LZ4 frames of
// other shapes, checksummed files) and on hostile ones: every failure names the file, the page and the
// offset, and no size field is trusted before it is checked.
#include "ltx/decoder.h"

#include <gtest/gtest.h>
#include <lz4.h>
#include <lz4frame.h>

#include <cstring>
#include <string>

#include "ltx/coding.h"
#include "ltx/xxhash32.h"
#include "ltx_test_util.h"

namespace litestream::ltx {
namespace {

using testing::Bytes;
using testing::MakeHeader;
using testing::MakePage;

void ExpectCorruption(const Result<testing::DecodedFile>& r, const std::string& text) {
  ASSERT_FALSE(r.ok()) << "expected an error containing \"" << text << "\"";
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

void Append(Bytes* b, const uint8_t* p, size_t n) {
  const size_t o = b->size();
  b->resize(o + n);
  if (n > 0) std::memcpy(b->data() + o, p, n);
}
void Append(Bytes* b, const Bytes& more) { Append(b, more.data(), more.size()); }

// header + the given raw page frames (no end marker, index or trailer: decoding fails before them).
Bytes RawFile(const Header& h, const std::vector<Bytes>& frames) {
  Bytes file(kHeaderSize);
  h.EncodeTo(file.data());
  for (const Bytes& f : frames) Append(&file, f);
  return file;
}

Bytes BlockFrame(uint32_t pgno, const Bytes& block) {
  Bytes f(10);
  PutBE32(f.data(), pgno);
  PutBE16(f.data() + 4, 1);
  PutBE32(f.data() + 6, static_cast<uint32_t>(block.size()));
  Append(&f, block);
  return f;
}

Bytes Lz4Block(const Bytes& data) {
  Bytes out;
  EXPECT_TRUE(AppendCompressedBlock(data.data(), static_cast<uint32_t>(data.size()), &out).ok());
  return out;
}

// A frame-encoded page whose LZ4 frame has the given descriptor bytes and body, with a correct HC.
Bytes FramePage(uint32_t pgno, const Bytes& descriptor, const Bytes& body) {
  Bytes f(6);
  PutBE32(f.data(), pgno);
  const uint8_t magic[4] = {0x04, 0x22, 0x4D, 0x18};
  Append(&f, magic, 4);
  Append(&f, descriptor);
  f.push_back(static_cast<uint8_t>(Xxh32(descriptor.data(), descriptor.size()) >> 8));
  Append(&f, body);
  return f;
}

void AppendLE32(Bytes* b, uint32_t v) {
  uint8_t w[4];
  PutLE32(w, v);
  Append(b, w, 4);
}

TEST(Decoder, ReadsFilesMixingBothEncodings) {
  testing::PageMap pages;
  for (uint32_t pgno = 1; pgno <= 9; pgno++) pages[pgno] = MakePage(2048, pgno);
  const Bytes file =
      testing::HandEncode(MakeHeader(2048, 9, 1, 3), pages, [](uint32_t pgno) { return pgno % 3 != 0; });
  Result<testing::DecodedFile> f = testing::DecodeFile(file);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->pages, pages);
}

TEST(Decoder, ReadsLz4FramesOfOtherShapes) {
  // liblz4 with linked 64 KiB blocks, block checksums and a content size, fed 1 KiB at a time so that a
  // 4 KiB page spans four blocks that refer back to each other.
  const Bytes page = MakePage(4096, 3);
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.contentSize = 4096;
  prefs.autoFlush = 1;
  LZ4F_cctx* cctx = nullptr;
  ASSERT_FALSE(LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
  Bytes lz4(LZ4F_compressBound(4096, &prefs) * 4 + 64);
  size_t n = LZ4F_compressBegin(cctx, lz4.data(), lz4.size(), &prefs);
  for (size_t off = 0; off < 4096; off += 1024) {
    n += LZ4F_compressUpdate(cctx, lz4.data() + n, lz4.size() - n, page.data() + off, 1024, nullptr);
  }
  n += LZ4F_compressEnd(cctx, lz4.data() + n, lz4.size() - n, nullptr);
  LZ4F_freeCompressionContext(cctx);
  ASSERT_FALSE(LZ4F_isError(n));
  lz4.resize(n);
  Bytes frame(6);
  PutBE32(frame.data(), 3);
  Append(&frame, lz4);

  Bytes file = RawFile(MakeHeader(4096, 3, 2, 2), {frame});
  BufferReader in(file);
  Decoder dec(in, "x.ltx");
  ASSERT_TRUE(dec.DecodeHeader().ok());
  Bytes got(4096);
  uint32_t pgno = 0;
  Result<bool> more = dec.NextPage(&pgno, got.data());
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(pgno, 3u);
  EXPECT_EQ(got, page);
}

TEST(Decoder, ErrorsNameFileAndPageAndOffset) {
  const Header h = MakeHeader(4096, 3, 1, 1);
  const Bytes p1 = BlockFrame(1, Lz4Block(MakePage(4096, 1)));
  const Bytes p2 = BlockFrame(2, Lz4Block(MakePage(4096, 2)));
  const Bytes p3 = BlockFrame(3, Lz4Block(Bytes(4000, 9)));
  const size_t offset = kHeaderSize + p1.size() + p2.size();
  ExpectCorruption(testing::DecodeFile(RawFile(h, {p1, p2, p3}), "0000000000000001-0000000000000001.ltx"),
                   "0000000000000001-0000000000000001.ltx: page 3 at offset " + std::to_string(offset) +
                       ": lz4 block decodes to 4000 bytes, want 4096");
}

TEST(Decoder, UncheckedSizesAreNeverTrusted) {
  const Header h = MakeHeader(4096, 3, 2, 2);
  Bytes huge = BlockFrame(1, {});
  PutBE32(huge.data() + 6, 0xFFFFFFFF);
  ExpectCorruption(testing::DecodeFile(RawFile(h, {huge})),
                   "page 1 at offset 100: lz4 block size 4294967295 is out of range");
  Bytes zero = BlockFrame(1, {});
  ExpectCorruption(testing::DecodeFile(RawFile(h, {zero})), "lz4 block size 0 is out of range");
  // A frame whose BD allows 4 MiB blocks and whose first block claims 4 MiB.
  Bytes body;
  AppendLE32(&body, 4 << 20);
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x70}, body)})),
                   "block 0 (4194304 bytes) is larger than any page compresses to");
  Bytes stored;
  AppendLE32(&stored, 0x80000000u | 5000);
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x40}, stored)})),
                   "runs past the end of the page");
}

TEST(Decoder, RejectsMalformedLz4Frames) {
  const Header h = MakeHeader(4096, 3, 2, 2);
  const Bytes page = MakePage(4096, 1);
  Bytes good_body;
  AppendLE32(&good_body, 0x80000000u | 4096);
  good_body.insert(good_body.end(), page.begin(), page.end());
  AppendLE32(&good_body, 0);
  AppendLE32(&good_body, Xxh32(page.data(), page.size()));
  {  // sanity: the hand-made frame (one stored block) decodes
    BufferReader in(RawFile(h, {FramePage(1, {0x64, 0x40}, good_body)}));
    Decoder dec(in, "x");
    ASSERT_TRUE(dec.DecodeHeader().ok());
    Bytes got(4096);
    uint32_t pgno;
    Result<bool> more = dec.NextPage(&pgno, got.data());
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    EXPECT_EQ(got, page);
  }
  Bytes bad_magic = FramePage(1, {0x64, 0x40}, good_body);
  bad_magic[6] = 0x05;
  ExpectCorruption(testing::DecodeFile(RawFile(h, {bad_magic})), "lz4 frame: bad magic 0x184d2205");
  Bytes bad_hc = FramePage(1, {0x64, 0x40}, good_body);
  bad_hc[12] ^= 1;
  ExpectCorruption(testing::DecodeFile(RawFile(h, {bad_hc})), "lz4 frame: header checksum");
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0xA4, 0x40}, good_body)})),
                   "unsupported version");
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x66, 0x40}, good_body)})),
                   "reserved FLG bit");
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x65, 0x40, 0, 0, 0, 0}, good_body)})),
                   "dictionary IDs are not supported");
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x30}, good_body)})),
                   "invalid BD byte");
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x41}, good_body)})),
                   "invalid BD byte");
  ExpectCorruption(
      testing::DecodeFile(RawFile(h, {FramePage(1, {0x6C, 0x40, 0, 0, 0x10, 0, 0, 0, 0, 0}, good_body)})),
      "content size 1048576, want 4096");
  Bytes bad_sum = good_body;
  bad_sum.back() ^= 0x80;
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x40}, bad_sum)})),
                   "lz4 frame: content checksum");
  Bytes short_body;
  AppendLE32(&short_body, 0x80000000u | 100);
  short_body.insert(short_body.end(), page.begin(), page.begin() + 100);
  AppendLE32(&short_body, 0);
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x40}, short_body)})),
                   "content is 100 bytes, want 4096");
  // Endless empty compressed blocks stop at the per-page budget instead of spinning.
  Bytes empty_blocks;
  for (int i = 0; i < 20000; i++) {
    AppendLE32(&empty_blocks, 1);
    empty_blocks.push_back(0);
  }
  ExpectCorruption(testing::DecodeFile(RawFile(h, {FramePage(1, {0x64, 0x40}, empty_blocks)})),
                   "the most any page may take");
}

TEST(Decoder, RejectsWhatNoEncoderWrites) {
  const Bytes page = MakePage(4096, 1);
  auto block = [](uint32_t) { return true; };
  ExpectCorruption(
      testing::DecodeFile(testing::HandEncodeList(MakeHeader(4096, 5, 2, 2), {{3, page}, {2, page}}, block)),
      "page 2 at offset");
  ExpectCorruption(
      testing::DecodeFile(testing::HandEncodeList(MakeHeader(4096, 5, 2, 2), {{3, page}, {3, page}}, block)),
      "pgno does not ascend (previous page 3)");
  ExpectCorruption(
      testing::DecodeFile(testing::HandEncodeList(MakeHeader(4096, 5, 2, 2), {{6, page}}, block)),
      "page 6 at offset 100: pgno beyond the commit size of 5 pages");
  const Bytes big(65536, 1);
  ExpectCorruption(
      testing::DecodeFile(testing::HandEncodeList(MakeHeader(65536, 20000, 2, 2), {{16385, big}}, block)),
      "page 16385 at offset 100: the lock page is stored");
  Bytes bad_flags = testing::HandEncodeList(MakeHeader(4096, 5, 2, 2), {{1, page}}, block);
  bad_flags[105] = 3;
  ExpectCorruption(testing::DecodeFile(bad_flags),
                   "page header at offset 100: invalid page header flags 0x0003");
  Bytes zero_pgno = testing::HandEncodeList(MakeHeader(4096, 5, 2, 2), {{1, page}}, block);
  PutBE32(zero_pgno.data() + 100, 0);
  ExpectCorruption(testing::DecodeFile(zero_pgno), "pgno 0 with nonzero flags");
}

TEST(Decoder, IndexMustDescribeThePages) {
  const testing::PageList pages = {{1, MakePage(1024, 1)}, {2, MakePage(1024, 2)}};
  auto block = [](uint32_t) { return true; };
  // A self-consistent file (checksum right) whose index is wrong: the size of entry 2 is off by one.
  const Bytes file = testing::HandEncodeList(MakeHeader(1024, 2, 1, 1), pages, block, 0,
                                             [](Bytes* index) { index->back()++; });
  ExpectCorruption(testing::DecodeFile(file), "entries (pgno, offset, size) do not match the pages");
  const Bytes missing = testing::HandEncodeList(MakeHeader(1024, 2, 1, 1), pages, block, 0, [](Bytes* index) {
    index->resize(3);  // only the first entry (1, 100, <1 byte size>)
  });
  ExpectCorruption(testing::DecodeFile(missing), "has 1 entries for 2 pages");
  const Bytes extra = testing::HandEncodeList(MakeHeader(1024, 2, 1, 1), pages, block, 0, [](Bytes* index) {
    const uint8_t more[] = {3, 5, 5};
    index->insert(index->end(), more, more + 3);
  });
  ExpectCorruption(testing::DecodeFile(extra), "has more entries than the 2 pages");
}

TEST(Decoder, VerifiesTheRollingChecksumOfChecksummedSnapshots) {
  testing::PageMap pages = {{1, MakePage(4096, 1)}, {2, MakePage(4096, 2)}};
  Header h = MakeHeader(4096, 2, 1, 1);
  h.flags = 0;
  uint64_t rolling = 0;
  for (const auto& [pgno, data] : pages) rolling ^= ChecksumPage(pgno, data.data(), data.size());
  auto block = [](uint32_t) { return false; };
  Result<testing::DecodedFile> good =
      testing::DecodeFile(testing::HandEncode(h, pages, block, kChecksumFlag | rolling));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ExpectCorruption(testing::DecodeFile(testing::HandEncode(h, pages, block, kChecksumFlag | (rolling ^ 1))),
                   "post-apply checksum mismatch");
}

TEST(Decoder, CloseSkipsButVerifiesUnreadPages) {
  testing::PageMap pages;
  for (uint32_t pgno = 1; pgno <= 20; pgno++) pages[pgno] = MakePage(1024, pgno);
  Bytes file = testing::HandEncode(MakeHeader(1024, 20, 1, 1), pages, [](uint32_t p) { return p < 10; });
  {
    BufferReader in(file);
    Header h;
    Trailer t;
    ASSERT_TRUE(VerifyFile(in, "ok.ltx", &h, &t).ok());
    EXPECT_EQ(h.commit, 20u);
    EXPECT_EQ(t.file_checksum, GetBE64(file.data() + file.size() - 8));
  }
  // Damage the post-apply checksum, which must be 0 in a NoChecksum file: found without reading a page.
  file[file.size() - 9] ^= 1;
  BufferReader in(file);
  Status s = VerifyFile(in, "bad.ltx");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad.ltx: trailer at offset"), std::string::npos) << s.message();
}

TEST(Decoder, FileChecksumMismatchIsReported) {
  Bytes file = testing::HandEncodeList(MakeHeader(1024, 1, 1, 1), {{1, MakePage(1024, 1)}},
                                       [](uint32_t) { return true; });
  file[90] ^= 4;  // a reserved header byte: not validated, but hashed
  Result<testing::DecodedFile> r = testing::DecodeFile(file, "f.ltx");
  ExpectCorruption(r, "f.ltx: file checksum mismatch: stored 0x");
}

TEST(Decoder, CallsOutOfOrderAndStickyErrors) {
  const Bytes file = testing::HandEncodeList(MakeHeader(1024, 1, 1, 1), {{1, MakePage(1024, 1)}},
                                             [](uint32_t) { return true; });
  BufferReader in(file);
  Decoder dec(in, "o.ltx");
  Bytes page(1024);
  uint32_t pgno;
  EXPECT_EQ(dec.NextPage(&pgno, page.data()).status().code(), StatusCode::kFailedPrecondition);

  BufferReader empty(Bytes{});
  Decoder dec2(empty, "empty.ltx");
  Status s = dec2.DecodeHeader();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("empty.ltx: header: unexpected end of file at offset 0"), std::string::npos)
      << s.message();
  EXPECT_EQ(dec2.Close().message(), s.message());
}

}  // namespace
}  // namespace litestream::ltx
