// The Encoder: the bytes it writes (§1.1-1.8) and every rule it enforces (§1.4, §1.6).
#include "ltx/encoder.h"

#include <gtest/gtest.h>

#include <string>

#include "ltx/coding.h"
#include "ltx_test_util.h"

namespace litestream::ltx {
namespace {

using testing::Bytes;
using testing::MakeHeader;
using testing::MakePage;

void ExpectError(const Status& s, const std::string& text) {
  ASSERT_FALSE(s.ok()) << "expected an error containing \"" << text << "\"";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
}

class FailingWriter final : public Writer {
 public:
  explicit FailingWriter(size_t fail_at) : fail_at_(fail_at) {}
  Status Write(const uint8_t*, size_t n) override {
    if (written_ + n > fail_at_) return Status::DiskFull("injected: disk full");
    written_ += n;
    return Status::OK();
  }

 private:
  size_t fail_at_;
  size_t written_ = 0;
};

class EncoderBytes : public ::testing::TestWithParam<PageEncoding> {};

// The encoder's output is exactly the layout built by hand from the spec.
TEST_P(EncoderBytes, MatchTheSpecLayout) {
  const Header h = MakeHeader(1024, 9, 4, 6);
  testing::PageMap pages = {{2, MakePage(1024, 2)}, {3, Bytes(1024, 0)}, {9, MakePage(1024, 9)}};
  Result<Bytes> file = testing::EncodeFile(h, pages, GetParam());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const bool block = GetParam() == PageEncoding::kBlock;
  EXPECT_EQ(*file, testing::HandEncode(h, pages, [&](uint32_t) { return block; }));
}

// Output reaches the Writer in chunks of kOutputBufferBytes (and the rest at Close), never page by page.
class RecordingWriter final : public Writer {
 public:
  Status Write(const uint8_t* buf, size_t n) override {
    sizes.push_back(n);
    bytes.insert(bytes.end(), buf, buf + n);
    return Status::OK();
  }
  std::vector<size_t> sizes;
  Bytes bytes;
};

TEST_P(EncoderBytes, WritesInLargeChunks) {
  RecordingWriter out;
  Encoder enc(out, GetParam());
  const uint32_t pages = 600;  // about 1.4 MiB encoded: one full chunk, then the rest
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, pages, 2, 2)).ok());
  for (uint32_t pgno = 1; pgno <= pages; pgno++) {
    ASSERT_TRUE(enc.EncodePage(pgno, MakePage(4096, pgno).data()).ok());
  }
  EXPECT_GT(enc.bytes_written(), out.bytes.size());
  ASSERT_TRUE(enc.Close().ok());
  ASSERT_EQ(out.sizes.size(), 2u);
  EXPECT_GE(out.sizes[0], kOutputBufferBytes);
  EXPECT_EQ(out.bytes.size(), enc.bytes_written());
  EXPECT_EQ(enc.page_count(), pages);
  EXPECT_EQ(GetBE64(out.bytes.data() + out.bytes.size() - 8), enc.file_checksum());
  EXPECT_NE(enc.file_checksum() & kChecksumFlag, 0u);
  Result<testing::DecodedFile> f = testing::DecodeFile(out.bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
}

// A page index bigger than the output buffer (a snapshot of ~150,000 pages) goes to the Writer as it is,
// after what was buffered, and the file is byte for byte the one written without any buffer.
TEST_P(EncoderBytes, IndexBiggerThanTheBufferIsWrittenThrough) {
  const uint32_t pages = 160000;
  const Bytes zero(512, 0);
  auto encode = [&](Writer& out, bool buffered) {
    Encoder enc(out, GetParam());
    if (!buffered) enc.SetOutputBuffer(0);
    ASSERT_TRUE(enc.EncodeHeader(MakeHeader(512, pages, 1, 1)).ok());
    for (uint32_t pgno = 1; pgno <= pages; pgno++) {
      ASSERT_TRUE(enc.EncodePage(pgno, zero.data()).ok());  // the lock page of 512-byte pages is far beyond
    }
    ASSERT_TRUE(enc.Close().ok());
  };
  RecordingWriter buffered;
  encode(buffered, true);
  BufferWriter unbuffered;
  encode(unbuffered, false);
  EXPECT_EQ(buffered.bytes, unbuffered.data());
  const uint64_t index_len = GetBE64(buffered.bytes.data() + buffered.bytes.size() - 24);
  ASSERT_GT(index_len, kScratchBytes);
  // The index in one piece, then the length and the trailer.
  ASSERT_GE(buffered.sizes.size(), 2u);
  EXPECT_EQ(buffered.sizes[buffered.sizes.size() - 2], index_len);
  Result<testing::DecodedFile> f = testing::DecodeFile(buffered.bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
}

// Compressing on worker threads writes exactly the bytes of compressing on the caller's thread: snapshots
// and incremental files, partial last batches, any thread count.
TEST_P(EncoderBytes, ParallelCompressionWritesTheSameBytes) {
  struct Case {
    Header header;
    std::vector<uint32_t> pgnos;
  };
  std::vector<Case> cases;
  for (uint32_t commit : {1u, 255u, 256u, 257u, 1500u}) {
    Case c{MakeHeader(4096, commit, 1, 3), {}};
    for (uint32_t p = 1; p <= commit; p++) c.pgnos.push_back(p);
    cases.push_back(c);
  }
  Case sparse{MakeHeader(4096, 5000, 4, 9), {}};
  for (uint32_t p = 3; p <= 5000; p += 3) sparse.pgnos.push_back(p);
  cases.push_back(sparse);
  for (const Case& c : cases) {
    auto encode = [&](size_t threads) {
      BufferWriter out;
      Encoder enc(out, GetParam());
      enc.SetCompressionThreads(threads);
      EXPECT_TRUE(enc.EncodeHeader(c.header).ok());
      for (uint32_t p : c.pgnos) EXPECT_TRUE(enc.EncodePage(p, MakePage(4096, p).data()).ok());
      EXPECT_TRUE(enc.Close().ok());
      EXPECT_EQ(enc.page_count(), c.pgnos.size());
      return std::move(out.data());
    };
    const Bytes serial = encode(1);
    for (size_t threads : {2u, 3u}) {
      EXPECT_EQ(encode(threads), serial) << "commit " << c.header.commit << ", " << threads << " threads";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, EncoderBytes,
                         ::testing::Values(PageEncoding::kFrame, PageEncoding::kBlock),
                         [](const ::testing::TestParamInfo<PageEncoding>& pi) {
                           return pi.param == PageEncoding::kFrame ? "Frame" : "Block";
                         });

TEST(Encoder, EmptyIncrementalFile) {
  Result<Bytes> file = testing::EncodeFile(MakeHeader(4096, 5, 7, 7), {}, PageEncoding::kBlock);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  // header, end marker, terminator, index length 1, trailer
  EXPECT_EQ(file->size(), kHeaderSize + 6 + 1 + 8 + 16);
  EXPECT_TRUE(testing::DecodeFile(*file).ok());
}

TEST(Encoder, RejectsAnInvalidHeader) {
  BufferWriter out;
  Encoder enc(out);
  Header h = MakeHeader(1000, 1, 1, 1);
  ExpectError(enc.EncodeHeader(h), "page size 1000");
  EXPECT_TRUE(out.data().empty());
}

TEST(Encoder, RejectsCallsOutOfOrder) {
  BufferWriter out;
  Encoder enc(out);
  const Bytes page = MakePage(4096, 1);
  ExpectError(enc.EncodePage(1, page.data()), "page before header");
  Encoder enc2(out);
  ExpectError(enc2.Close(), "close before header");
  Encoder enc3(out);
  ASSERT_TRUE(enc3.EncodeHeader(MakeHeader(4096, 1, 2, 2)).ok());
  ExpectError(enc3.EncodeHeader(MakeHeader(4096, 1, 2, 2)), "header already written");
}

// Each page rule, starting from an encoder that has written the header and, optionally, some pages.
struct PageRuleCase {
  const char* name;
  Header header;
  std::vector<uint32_t> ok_pages;
  uint32_t bad_pgno;
  const char* error;
};

class EncoderPageRule : public ::testing::TestWithParam<PageRuleCase> {};

TEST_P(EncoderPageRule, IsEnforced) {
  const PageRuleCase& c = GetParam();
  BufferWriter out;
  Encoder enc(out, PageEncoding::kBlock);
  ASSERT_TRUE(enc.EncodeHeader(c.header).ok());
  const Bytes page = MakePage(c.header.page_size, 1);
  for (uint32_t pgno : c.ok_pages) ASSERT_TRUE(enc.EncodePage(pgno, page.data()).ok()) << pgno;
  ExpectError(enc.EncodePage(c.bad_pgno, page.data()), c.error);
  // The encoder is now unusable: the same error comes back.
  ExpectError(enc.Close(), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, EncoderPageRule,
    ::testing::Values(
        PageRuleCase{"PgnoZero", MakeHeader(4096, 5, 2, 2), {}, 0, "invalid pgno 0"},
        PageRuleCase{"BeyondCommit", MakeHeader(4096, 5, 2, 2), {}, 6, "beyond the commit size of 5 pages"},
        PageRuleCase{"LockPage", MakeHeader(65536, 20000, 2, 2), {16384}, 16385, "lock page"},
        PageRuleCase{"Descending", MakeHeader(4096, 5, 2, 2), {3}, 2, "out of order after page 3"},
        PageRuleCase{"Duplicate", MakeHeader(4096, 5, 2, 2), {3}, 3, "out of order after page 3"},
        PageRuleCase{"SnapshotStartsAtOne", MakeHeader(4096, 5, 1, 2), {}, 2, "got page 2, want 1"},
        PageRuleCase{"SnapshotGap", MakeHeader(4096, 5, 1, 2), {1, 2}, 4, "got page 4, want 3"}),
    [](const ::testing::TestParamInfo<PageRuleCase>& pi) { return std::string(pi.param.name); });

TEST(Encoder, IncrementalMayJumpOverTheLockPage) {
  BufferWriter out;
  Encoder enc(out, PageEncoding::kFrame);
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(65536, 16390, 2, 2)).ok());
  const Bytes page = MakePage(65536, 1);
  ASSERT_TRUE(enc.EncodePage(16384, page.data()).ok());
  ASSERT_TRUE(enc.EncodePage(16386, page.data()).ok());
  ASSERT_TRUE(enc.Close().ok());
  Result<testing::DecodedFile> f = testing::DecodeFile(out.data());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->pages.size(), 2u);
}

TEST(Encoder, RejectsAPageOfTheWrongLength) {
  BufferWriter out;
  Encoder enc(out);
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 5, 2, 2)).ok());
  const Bytes page(4000);
  ExpectError(enc.EncodePage(1, page.data(), page.size()), "page 1 is 4000 bytes, want 4096");
}

TEST(Encoder, SnapshotMustHoldEveryPageUpToCommit) {
  BufferWriter out;
  Encoder enc(out);
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 3, 1, 1)).ok());
  const Bytes page = MakePage(4096, 1);
  ASSERT_TRUE(enc.EncodePage(1, page.data()).ok());
  ASSERT_TRUE(enc.EncodePage(2, page.data()).ok());
  ExpectError(enc.Close(), "snapshot ends at page 2 but must hold every page up to 3");
}

TEST(Encoder, TrailerRules) {
  {
    BufferWriter out;
    Encoder enc(out);
    ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 0, 2, 2)).ok());
    ExpectError(enc.Close(), "commit 0 needs post-apply checksum 0x8000000000000000");
  }
  {
    BufferWriter out;
    Encoder enc(out);
    ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 1, 2, 2)).ok());
    enc.SetPostApplyChecksum(kChecksumFlag | 1);
    ExpectError(enc.Close(), "must be zero when checksums are off");
  }
  {  // Checksums on: the caller supplies a well-formed post-apply checksum.
    Header h = MakeHeader(4096, 1, 2, 2);
    h.flags = 0;
    h.pre_apply_checksum = kChecksumFlag | 77;
    BufferWriter out;
    Encoder enc(out);
    ASSERT_TRUE(enc.EncodeHeader(h).ok());
    enc.SetPostApplyChecksum(5);
    ExpectError(enc.Close(), "lacks bit 63");
    BufferWriter out2;
    Encoder enc2(out2);
    ASSERT_TRUE(enc2.EncodeHeader(h).ok());
    enc2.SetPostApplyChecksum(kChecksumFlag | 5);
    ASSERT_TRUE(enc2.Close().ok());
    Result<testing::DecodedFile> f = testing::DecodeFile(out2.data());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->trailer.post_apply_checksum, kChecksumFlag | 5);
  }
}

// A Writer error is returned by the call that flushed (a page once a chunk is full, or Close) and by
// every call after it, with or without compression threads.
TEST(Encoder, WriterErrorsAreReturnedAndSticky) {
  for (size_t threads : {1u, 2u}) {
    FailingWriter out(kHeaderSize + 50);
    Encoder enc(out, PageEncoding::kBlock, "l0.ltx");
    enc.SetCompressionThreads(threads);
    ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 5000, 2, 2)).ok());
    Status s;
    uint32_t pgno = 1;
    for (; pgno <= 5000 && s.ok(); pgno++) s = enc.EncodePage(pgno, MakePage(4096, pgno).data());
    ASSERT_FALSE(s.ok()) << threads << " threads";
    EXPECT_TRUE(s.IsDiskFull()) << s.ToString();
    EXPECT_EQ(s.message(), "l0.ltx: injected: disk full");
    EXPECT_EQ(enc.EncodePage(pgno, MakePage(4096, pgno).data()).message(), s.message());
    EXPECT_EQ(enc.Close().message(), s.message());
  }
  // A small file fails at Close, when its only chunk is written.
  FailingWriter out(kHeaderSize + 50);
  Encoder enc(out, PageEncoding::kBlock, "l0.ltx");
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 5, 2, 2)).ok());
  ASSERT_TRUE(enc.EncodePage(1, MakePage(4096, 1).data()).ok());
  Status s = enc.Close();
  EXPECT_TRUE(s.IsDiskFull()) << s.ToString();
  EXPECT_EQ(enc.Close().message(), s.message());
}

// An encoder abandoned with batches still being compressed stops its workers when destroyed.
TEST(Encoder, AbandonedParallelEncoderStopsItsWorkers) {
  BufferWriter out;
  {
    Encoder enc(out, PageEncoding::kFrame);
    enc.SetCompressionThreads(3);
    ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 3000, 1, 1)).ok());
    for (uint32_t p = 1; p <= 2000; p++) ASSERT_TRUE(enc.EncodePage(p, MakePage(4096, p).data()).ok());
  }
  // Whatever reached the writer is an unfinished file: no trailer was made up on the way out.
  EXPECT_FALSE(testing::DecodeFile(out.data()).ok());
}

TEST(Encoder, CloseTwiceIsHarmless) {
  BufferWriter out;
  Encoder enc(out);
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 1, 2, 2)).ok());
  ASSERT_TRUE(enc.Close().ok());
  const size_t size = out.data().size();
  EXPECT_TRUE(enc.Close().ok());
  EXPECT_EQ(out.data().size(), size);
  ExpectError(enc.EncodePage(1, MakePage(4096, 1).data()), "page after close");
}

}  // namespace
}  // namespace litestream::ltx
