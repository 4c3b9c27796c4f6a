// Litestream v0.3.x replicas (ENGINE.md §6): names, the LZ4 frame reader, the file listing, the restore
// algorithm (TestReplica_RestoreV3/*) and the choice between v0.3 and LTX data
// (TestReplica_Restore_BothFormats/*).
#include <gtest/gtest.h>

#include "litestream/restore.h"
#include "restore/lz4_frame_reader.h"
#include "restore/v3_fixture.h"
#include "restore/v3_restore.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"

namespace litestream {
namespace {

using std::chrono::hours;
using testing::CountRows;
using testing::FileExists;
using testing::Slice;
using testing::V3Writer;
using testing::WalSource;

constexpr SystemTime kT0{std::chrono::milliseconds(1704067200000)};  // 2024-01-01T00:00:00Z
const std::string kGen = "0123456789abcdef";

// ---- names (TestParseWALSegmentFilenameV3, TestFormatWALSegmentFilenameV3, TestIsGenerationIDV3)

TEST(ParseWALSegmentFilenameV3, Valid) {
  struct Case {
    const char* name;
    int64_t index, offset;
  } cases[] = {
      {"00000000_00000000.wal.lz4", 0, 0},
      {"00000001_00001000.wal.lz4", 1, 4096},
      {"000000ff_12345678.wal.lz4", 255, 0x12345678},
      {"000000ff_f2345678.wal.lz4", 255, 0xf2345678},
      {"000000ff_123456789.wal.lz4", 255, 0x123456789},              // > 4 GiB: 9 digits
      {"000000ff_123456789012345.wal.lz4", 255, 0x123456789012345},  // 15 digits
      {"7fffffff_7fffffffffffffff.wal.lz4", 0x7fffffff, 0x7fffffffffffffff},
  };
  for (const auto& c : cases) {
    int64_t index = -1, offset = -1;
    ASSERT_TRUE(ParseWALSegmentFilenameV3(c.name, &index, &offset)) << c.name;
    EXPECT_EQ(index, c.index) << c.name;
    EXPECT_EQ(offset, c.offset) << c.name;
  }
}

TEST(ParseWALSegmentFilenameV3, Invalid) {
  for (const char* name :
       {"", "invalid.wal", "00000001.wal.lz4", "00000001_00001000.wal", "0000001_00001000.wal.lz4",
        "00000001_0001000.wal.lz4", "00000001-00001000.wal.lz4", "00000001_00001000.WAL.lz4",
        "0000000G_00001000.wal.lz4", "00000001_0000100A.wal.lz4",
        "00000001_00000000000000001.wal.lz4",  // 17 offset digits
        "f2345678_00000000.wal.lz4",           // index overflows int32
        "80000000_00000000.wal.lz4",
        "00000000_f234567812345678.wal.lz4",  // offset overflows int64
        "00000000_00000000.wal.lz4.tmp"}) {
    int64_t index = 0, offset = 0;
    EXPECT_FALSE(ParseWALSegmentFilenameV3(name, &index, &offset)) << name;
  }
}

TEST(FormatWALSegmentFilenameV3, Format) {
  EXPECT_EQ(FormatWALSegmentFilenameV3(0, 0), "00000000_00000000.wal.lz4");
  EXPECT_EQ(FormatWALSegmentFilenameV3(1, 4096), "00000001_00001000.wal.lz4");
  EXPECT_EQ(FormatWALSegmentFilenameV3(255, 0x12345678), "000000ff_12345678.wal.lz4");
  EXPECT_EQ(FormatWALSegmentFilenameV3(255, 0x123456789), "000000ff_123456789.wal.lz4");
}

TEST(ParseSnapshotFilenameV3, ValidAndInvalid) {
  int64_t index = -1;
  ASSERT_TRUE(ParseSnapshotFilenameV3("00000000.snapshot.lz4", &index));
  EXPECT_EQ(index, 0);
  ASSERT_TRUE(ParseSnapshotFilenameV3("0000abcd.snapshot.lz4", &index));
  EXPECT_EQ(index, 0xabcd);
  ASSERT_TRUE(ParseSnapshotFilenameV3("f2345678.snapshot.lz4", &index));  // upstream parses 64-bit here
  EXPECT_EQ(index, 0xf2345678);
  for (const char* name :
       {"", "invalid.txt", "00000001.snapshot", "0000001.snapshot.lz4", "000000001.snapshot.lz4",
        "0000000g.snapshot.lz4", "00000001.SNAPSHOT.lz4", "00000001.snapshot.lz4.bak"}) {
    EXPECT_FALSE(ParseSnapshotFilenameV3(name, &index)) << name;
  }
  EXPECT_EQ(FormatSnapshotFilenameV3(0x1f), "0000001f.snapshot.lz4");
}

TEST(IsGenerationIDV3, Rules) {
  EXPECT_TRUE(IsGenerationIDV3("0123456789abcdef"));
  EXPECT_FALSE(IsGenerationIDV3("0123456789ABCDEF"));
  EXPECT_FALSE(IsGenerationIDV3("0123456789abcde"));
  EXPECT_FALSE(IsGenerationIDV3("0123456789abcdef0"));
  EXPECT_FALSE(IsGenerationIDV3("0123456789abcdeg"));
  EXPECT_FALSE(IsGenerationIDV3(""));
}

// ---- the LZ4 frame reader

Result<std::vector<uint8_t>> Decompress(std::vector<uint8_t> compressed, size_t read_size = 1000) {
  Lz4FrameReader r(std::make_unique<BufferReader>(std::move(compressed)), "test.lz4");
  std::vector<uint8_t> out, buf(read_size);
  for (;;) {
    LS_ASSIGN_OR_RETURN(size_t n, r.Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 31) ^ (i >> 7));
  return v;
}

TEST(Lz4FrameReader, ConcatenatedFramesAndSettings) {
  auto data = Pattern(300000);
  LZ4F_preferences_t linked{};
  linked.frameInfo.blockMode = LZ4F_blockLinked;
  linked.frameInfo.blockSizeID = LZ4F_max256KB;
  linked.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  linked.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  linked.frameInfo.contentSize = 0;
  const LZ4F_preferences_t* const variants[] = {nullptr, &linked};
  for (const LZ4F_preferences_t* prefs : variants) {
    for (size_t frame : {size_t{1000}, size_t{70000}, SIZE_MAX}) {
      for (size_t read : {size_t{1}, size_t{4096}, size_t{1 << 20}}) {
        if (read == 1 && frame != 70000) continue;  // byte-at-a-time reads are slow; once is enough
        auto got = Decompress(testing::Lz4Frames(data, frame, prefs), read);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_TRUE(*got == data) << "frame " << frame << " read " << read;
      }
    }
  }
}

TEST(Lz4FrameReader, Errors) {
  LZ4F_preferences_t checked{};
  checked.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  auto frames = testing::Lz4Frames(Pattern(50000), 20000, &checked);
  auto truncated = Slice(frames, 0, frames.size() - 5);
  auto r = Decompress(truncated);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("test.lz4"), std::string::npos) << r.status().ToString();

  EXPECT_EQ(Decompress({}).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Decompress({'n', 'o', 't', ' ', 'l', 'z', '4', '!'}).status().code(), StatusCode::kCorruption);

  auto flipped = frames;
  flipped[flipped.size() / 2] ^= 0xff;
  EXPECT_FALSE(Decompress(flipped).ok());

  auto trailing = frames;
  trailing.push_back(0x42);
  EXPECT_FALSE(Decompress(trailing).ok());
}

// ---- restore

// A generation: snapshot of index 0 (t0), WAL index 0 in two segments (t0+1h, t0+2h), then index 1 in two
// segments (t0+3h, t0+4h). Rows: a=10 in the snapshot, b=10, c=10, d=5, e=5.
class V3RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = litestream::testing::MakeTempDir("v3");
    root_ = dir_ + "/replica";
    src_ = std::make_unique<WalSource>(dir_ + "/src.db");
    V3Writer w(root_, kGen);
    src_->Insert(10, "a");
    src_->CheckpointTruncate();
    w.Snapshot(0, src_->DbBytes(), kT0);
    src_->Insert(10, "b");
    auto wal = src_->WalBytes();
    len_b_ = wal.size();
    w.Segment(0, 0, wal, kT0 + hours(1));
    src_->Insert(10, "c", 3000);  // overflow pages: many frames
    wal = src_->WalBytes();
    w.Segment(0, static_cast<int64_t>(len_b_), Slice(wal, len_b_, wal.size()), kT0 + hours(2));
    index0_size_ = wal.size();
    src_->CheckpointTruncate();
    db_at_index1_ = src_->DbBytes();
    src_->Insert(5, "d");
    wal = src_->WalBytes();
    len_d_ = wal.size();
    w.Segment(1, 0, wal, kT0 + hours(3));
    src_->Insert(5, "e");
    wal = src_->WalBytes();
    w.Segment(1, static_cast<int64_t>(len_d_), Slice(wal, len_d_, wal.size()), kT0 + hours(4));
  }

  Result<RestoreResult> RunRestore(const std::string& name, std::optional<SystemTime> ts = std::nullopt) {
    FileStorageClient client(root_);
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.timestamp = ts;
    o.integrity_check = IntegrityCheck::kFull;
    return Restore(client, o);
  }

  void ExpectNoOutput(const std::string& name) {
    std::string out = dir_ + "/" + name;
    for (const char* suffix : {"", ".tmp", ".tmp-wal", ".tmp-shm", "-wal", "-shm"}) {
      EXPECT_FALSE(FileExists(out + suffix)) << out << suffix;
    }
  }

  std::string SegmentPath(int64_t index, int64_t offset) {
    return V3Writer(root_, kGen).SegmentPath(index, offset);
  }

  std::string dir_;
  std::string root_;
  std::unique_ptr<WalSource> src_;
  size_t len_b_ = 0, len_d_ = 0, index0_size_ = 0;
  std::vector<uint8_t> db_at_index1_;
};

TEST_F(V3RestoreTest, MultipleWALIndices) {
  auto r = RunRestore("all.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
  EXPECT_EQ(r->v3_segments.size(), 4u);
  for (const char* suffix : {".tmp", ".tmp-wal", ".tmp-shm", "-wal", "-shm"}) {
    EXPECT_FALSE(FileExists(dir_ + "/all.db" + suffix)) << suffix;
  }
  EXPECT_EQ(CountRows(dir_ + "/all.db"), 40);
  EXPECT_EQ(CountRows(dir_ + "/all.db", "gen = 'e'"), 5);
  EXPECT_EQ(testing::QueryColumn(dir_ + "/all.db", "PRAGMA integrity_check")[0], "ok");
}

TEST_F(V3RestoreTest, SnapshotOnly) {
  std::filesystem::remove_all(root_ + "/generations/" + kGen + "/wal");
  auto r = RunRestore("snap.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/snap.db"), 10);
}

TEST_F(V3RestoreTest, SnapshotWithWAL) {
  std::filesystem::remove(SegmentPath(1, 0));
  std::filesystem::remove(SegmentPath(1, static_cast<int64_t>(len_d_)));
  auto r = RunRestore("wal0.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/wal0.db"), 30);
}

TEST_F(V3RestoreTest, TimestampRestoreIsInclusive) {
  // At exactly the second segment's time it is included (v0.3 uses <=).
  auto r = RunRestore("ts2.db", kT0 + hours(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/ts2.db"), 30);
  r = RunRestore("ts1.db", kT0 + hours(1) + std::chrono::minutes(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/ts1.db"), 20);
  r = RunRestore("ts3.db", kT0 + hours(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/ts3.db"), 35);
  // Before the only snapshot: nothing to restore.
  r = RunRestore("ts-early.db", kT0 - hours(1));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsTxNotAvailable(r.status()) || IsNoV3Snapshots(r.status())) << r.status().ToString();
  ExpectNoOutput("ts-early.db");
}

TEST_F(V3RestoreTest, MissingWALIndex) {
  // Index 1 is missing entirely; index 2 starts a new WAL.
  V3Writer w(root_, kGen);
  std::filesystem::rename(SegmentPath(1, 0), SegmentPath(2, 0));
  std::filesystem::remove(SegmentPath(1, static_cast<int64_t>(len_d_)));
  auto r = RunRestore("missing-index.db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing WAL index"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("00000002_00000000.wal.lz4"), std::string::npos)
      << r.status().ToString();
  ExpectNoOutput("missing-index.db");
}

TEST_F(V3RestoreTest, MissingWALOffset) {
  std::filesystem::remove(SegmentPath(0, 0));
  auto r = RunRestore("missing-first.db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing WAL segment"), std::string::npos) << r.status().ToString();
  ExpectNoOutput("missing-first.db");
}

TEST_F(V3RestoreTest, MissingSegmentInTheMiddle) {
  // Split index 1's second segment in two and drop the first half.
  auto whole = src_->WalBytes();
  std::filesystem::remove(SegmentPath(1, static_cast<int64_t>(len_d_)));
  size_t mid = len_d_ + (whole.size() - len_d_) / 2;
  V3Writer w(root_, kGen);
  w.Segment(1, static_cast<int64_t>(mid), Slice(whole, mid, whole.size()));
  auto r = RunRestore("missing-mid.db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing WAL segment"), std::string::npos) << r.status().ToString();
  ExpectNoOutput("missing-mid.db");
}

TEST_F(V3RestoreTest, SegmentsSplitMidFrame) {
  auto whole = src_->WalBytes();
  std::filesystem::remove(SegmentPath(1, 0));
  std::filesystem::remove(SegmentPath(1, static_cast<int64_t>(len_d_)));
  V3Writer w(root_, kGen);
  w.Segment(1, 0, Slice(whole, 0, 1000));
  w.Segment(1, 1000, Slice(whole, 1000, 5555));
  w.Segment(1, 5555, Slice(whole, 5555, whole.size()));
  auto r = RunRestore("mid-frame.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/mid-frame.db"), 40);
}

TEST_F(V3RestoreTest, SnapshotIndexNonZero) {
  // A later snapshot taken at WAL index 1 (after the checkpoint): only index 1's segments are replayed.
  V3Writer(root_, kGen).Snapshot(1, db_at_index1_, kT0 + hours(2) + std::chrono::minutes(30));
  auto r = RunRestore("snap-index1.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->v3_snapshot->index, 1);
  EXPECT_EQ(r->v3_segments.size(), 2u);
  EXPECT_EQ(CountRows(dir_ + "/snap-index1.db"), 40);
  // Index 0's segments are not needed any more.
  std::filesystem::remove(SegmentPath(0, 0));
  r = RunRestore("snap-index1-again.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/snap-index1-again.db"), 40);
}

TEST_F(V3RestoreTest, WALTruncationBetweenIndices) {
  // Index 0's WAL is much longer than index 1's: the tmp WAL must be truncated at each new index, or
  // index 0's stale frames after index 1's end would confuse recovery.
  ASSERT_GT(index0_size_, 2 * src_->WalBytes().size());
  auto r = RunRestore("trunc.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/trunc.db"), 40);
}

TEST_F(V3RestoreTest, TornTailIsIgnoredBySQLite) {
  auto whole = src_->WalBytes();
  std::filesystem::remove(SegmentPath(1, static_cast<int64_t>(len_d_)));
  V3Writer w(root_, kGen);
  // The second transaction's frames minus the last 100 bytes: its commit frame is torn.
  w.Segment(1, static_cast<int64_t>(len_d_), Slice(whole, len_d_, whole.size() - 100));
  auto r = RunRestore("torn.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CountRows(dir_ + "/torn.db"), 35);
}

TEST_F(V3RestoreTest, CorruptSegmentIsNamed) {
  std::string path = SegmentPath(0, static_cast<int64_t>(len_b_));
  auto bytes = testing::ReadFileBytes(path);
  bytes.resize(bytes.size() - 7);
  testing::WriteFileBytes(path, bytes);
  auto r = RunRestore("corrupt.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("wal/00000000_"), std::string::npos) << r.status().ToString();
  ExpectNoOutput("corrupt.db");
}

TEST_F(V3RestoreTest, MultipleGenerations) {
  WalSource other(dir_ + "/other.db");
  other.Insert(3, "g2");
  other.CheckpointTruncate();
  V3Writer w(root_, "fedcba9876543210");
  w.Snapshot(0, other.DbBytes(), kT0 + hours(10));
  auto r = RunRestore("newest-gen.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->v3_snapshot->generation, "fedcba9876543210");
  EXPECT_EQ(CountRows(dir_ + "/newest-gen.db"), 3);
  r = RunRestore("older-gen.db", kT0 + hours(5));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->v3_snapshot->generation, kGen);
  EXPECT_EQ(CountRows(dir_ + "/older-gen.db"), 40);
}

TEST_F(V3RestoreTest, OutputPathExists) {
  testing::WriteFileBytes(dir_ + "/exists.db", {'x'});
  auto r = RunRestore("exists.db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already exists"), std::string::npos) << r.status().ToString();
}

TEST_F(V3RestoreTest, DryRunListsSnapshotAndSegments) {
  FileStorageClient client(root_);
  RestoreOptions o;
  o.output_path = dir_ + "/dry.db";
  o.dry_run = true;
  auto r = Restore(client, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
  std::string json = RestorePlanJson(*r);
  EXPECT_NE(json.find("generations/0123456789abcdef/snapshots/00000000.snapshot.lz4"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"format\": \"v0.3\""), std::string::npos) << json;
  EXPECT_FALSE(FileExists(o.output_path));
}

TEST(V3Restore, NoSnapshots) {
  std::string dir = litestream::testing::MakeTempDir("v3-nosnap");
  std::filesystem::create_directories(dir + "/replica/generations/" + kGen);
  auto client = NewFileV3ReplicaClient(dir + "/replica");
  auto plan = CalcV3Plan(*client, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsNoV3Snapshots(plan.status())) << plan.status().ToString();
}

TEST(V3Restore, NoGenerations) {
  std::string dir = litestream::testing::MakeTempDir("v3-nogen");
  auto client = NewFileV3ReplicaClient(dir + "/replica");
  auto gens = client->Generations();
  ASSERT_TRUE(gens.ok());
  EXPECT_TRUE(gens->empty());
  auto plan = CalcV3Plan(*client, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsNoV3Snapshots(plan.status()));
}

TEST(V3Restore, FileListingParsesLargeOffsetsAndSkipsJunk) {
  std::string dir = litestream::testing::MakeTempDir("v3-list");
  std::string wal = dir + "/generations/" + kGen + "/wal";
  std::filesystem::create_directories(wal);
  std::filesystem::create_directories(dir + "/generations/not-a-generation/wal");
  std::filesystem::create_directories(dir + "/generations/" + kGen + "/snapshots");
  for (const char* name :
       {"00000001_123456789.wal.lz4", "00000001_00000000.wal.lz4", "00000000_00001000.wal.lz4",
        "f2345678_00000000.wal.lz4", "junk.txt", "00000002_00000000.wal.lz4.tmp"}) {
    testing::WriteFileBytes(wal + "/" + name, {1, 2, 3});
  }
  testing::WriteFileBytes(dir + "/generations/" + kGen + "/snapshots/00000003.snapshot.lz4", {1});
  auto client = NewFileV3ReplicaClient(dir);
  auto gens = client->Generations();
  ASSERT_TRUE(gens.ok());
  ASSERT_EQ(*gens, std::vector<std::string>{kGen});
  auto segs = client->WALSegments(kGen);
  ASSERT_TRUE(segs.ok()) << segs.status().ToString();
  ASSERT_EQ(segs->size(), 3u);
  EXPECT_EQ((*segs)[0].index, 0);
  EXPECT_EQ((*segs)[1].offset, 0);
  EXPECT_EQ((*segs)[2].index, 1);
  EXPECT_EQ((*segs)[2].offset, 0x123456789);
  EXPECT_EQ((*segs)[2].size, 3);
  auto opened = client->OpenWALSegment(kGen, 1, 0x123456789);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  auto snaps = client->Snapshots(kGen);
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_EQ((*snaps)[0].index, 3);
}

// ---- TestReplica_Restore_BothFormats/*: v0.3 data next to LTX data under one root (ENGINE.md §5.2)

class BothFormatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = litestream::testing::MakeTempDir("v3-both");
    root_ = dir_ + "/replica";
  }

  // v0.3: one snapshot with `rows` rows at `t`.
  void AddV3(SystemTime t, int rows = 3) {
    WalSource src(dir_ + "/v3src.db");
    src.Insert(rows, "v3");
    src.CheckpointTruncate();
    V3Writer(root_, kGen).Snapshot(0, src.DbBytes(), t);
  }

  // LTX: a snapshot of a database with table t (rows tagged 'ltx'), then mtime set to `t`.
  void AddLtx(SystemTime t) {
    history_ = std::make_unique<testing::DbHistory>(dir_);
    history_->Commit(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, gen TEXT, v BLOB);"
        "INSERT INTO t (gen) VALUES ('ltx'), ('ltx');");
    FileStorageClient client(root_);
    testing::PutLtx(client, *history_, 9, 1, 1);
    ASSERT_TRUE(FileSystem::Default()->SetTimes(client.LtxPath(9, 1, 1), t).ok());
  }

  Result<RestoreResult> Run(const std::string& name, std::optional<SystemTime> ts) {
    FileStorageClient client(root_);
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.timestamp = ts;
    return Restore(client, o);
  }

  std::string dir_, root_;
  std::unique_ptr<testing::DbHistory> history_;
};

TEST_F(BothFormatsTest, V3OnlyWithTimestamp) {
  AddV3(kT0);
  auto r = Run("a.db", kT0 + hours(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
  EXPECT_EQ(CountRows(dir_ + "/a.db", "gen = 'v3'"), 3);
}

TEST_F(BothFormatsTest, V3OnlyWithoutTimestamp) {
  AddV3(kT0);
  auto r = Run("b.db", std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
}

TEST_F(BothFormatsTest, LTXOnlyWithTimestamp) {
  AddLtx(kT0);
  auto r = Run("c.db", kT0 + hours(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kLtx);
  EXPECT_EQ(CountRows(dir_ + "/c.db", "gen = 'ltx'"), 2);
}

TEST_F(BothFormatsTest, BothFormats_V3Better) {
  AddLtx(kT0);
  AddV3(kT0 + hours(1));
  auto r = Run("d.db", kT0 + hours(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
}

TEST_F(BothFormatsTest, BothFormats_LTXBetter) {
  AddV3(kT0);
  AddLtx(kT0 + hours(1));
  auto r = Run("e.db", kT0 + hours(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kLtx);
}

TEST_F(BothFormatsTest, TimestampBeforeLTXSnapshotUsesV3) {
  AddV3(kT0);
  AddLtx(kT0 + hours(5));
  auto r = Run("f.db", kT0 + hours(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
}

TEST_F(BothFormatsTest, NoTimestamp_UsesLTX) {
  AddV3(kT0);
  AddLtx(kT0 + hours(1));
  auto r = Run("g.db", std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kLtx);
}

TEST_F(BothFormatsTest, NoTimestamp_NewerV3Wins) {
  AddLtx(kT0);
  AddV3(kT0 + hours(1));
  auto r = Run("h.db", std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kV3);
}

TEST_F(BothFormatsTest, TXIDRestoreIgnoresV3) {
  AddLtx(kT0);
  AddV3(kT0 + hours(1));
  FileStorageClient client(root_);
  RestoreOptions o;
  o.output_path = dir_ + "/i.db";
  o.txid = 1;
  auto r = Restore(client, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, RestoreSource::kLtx);
}

TEST_F(BothFormatsTest, TimeBoundsIncludeV3) {
  AddV3(kT0 - hours(10));
  AddLtx(kT0);
  FileStorageClient client(root_);
  auto v3 = NewFileV3ReplicaClient(root_);
  auto t = CalcRestoreTarget(client, v3.get(), kT0 - hours(5));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, kT0);
  EXPECT_FALSE(CalcRestoreTarget(client, nullptr, kT0 - hours(5)).ok());
}

}  // namespace
}  // namespace litestream
