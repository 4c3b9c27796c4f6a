// Restoring LTX replicas end to end (ENGINE.md §5.4): a file-backend replica with a snapshot, overlapping
// compactions on several levels and L0 files in both page encodings; TXID and timestamp targets; failures
// that must leave neither an output nor a tmp file.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>

#include "litestream/restore.h"
#include "restore/ltx_fixture.h"
#include "restore/memory_storage.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"
#include "util/fault_file_system.h"

namespace litestream {
namespace {

using ltx::PageEncoding;
using testing::DbHistory;
using testing::FileExists;
using testing::MemoryStorageClient;
using testing::PutLtx;
using testing::ReadFileBytes;

// TXIDs 1..15 of a growing database, replicated as:
//   L9: 1-3 (frame)        L2: 1-10 (block)        L1: 4-8 (frame), 9-12 (block)
//   L0: 10, 11, 12, 13, 14, 15 (alternating encodings; 1..9 expired by retention)
// Latest plan: L9 1-3, L2 1-10, L1 9-12, L0 13, 14, 15.
class LtxRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = litestream::testing::MakeTempDir("ltx-restore");
    history_ = std::make_unique<DbHistory>(dir_);
    for (int i = 0; i < 15; ++i) history_->InsertRows(i % 3 == 0 ? 40 : 5, 200 + 50 * i);
    replica_dir_ = dir_ + "/replica";
    client_ = std::make_unique<FileStorageClient>(replica_dir_);
    PutLtx(*client_, *history_, 9, 1, 3, PageEncoding::kFrame);
    PutLtx(*client_, *history_, 2, 1, 10, PageEncoding::kBlock);
    PutLtx(*client_, *history_, 1, 4, 8, PageEncoding::kFrame);
    PutLtx(*client_, *history_, 1, 9, 12, PageEncoding::kBlock);
    for (TXID t = 10; t <= 15; ++t) {
      PutLtx(*client_, *history_, 0, t, t, t % 2 ? PageEncoding::kFrame : PageEncoding::kBlock);
    }
  }

  RestoreOptions Options(const std::string& name) {
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.sleep = [](std::chrono::milliseconds) {};
    return o;
  }

  void ExpectImage(const std::string& path, TXID txid) {
    auto got = ReadFileBytes(path);
    ASSERT_EQ(got.size(), history_->Image(txid).size()) << "TXID " << txid;
    EXPECT_TRUE(got == history_->Image(txid)) << "restored bytes differ from the state at TXID " << txid;
  }

  // Breaks the file checksum of a replica file.
  void CorruptChecksum(int level, TXID min, TXID max) {
    std::string victim = replica_dir_ + "/ltx/" + std::to_string(level) + "/" + FormatLtxFilename(min, max);
    auto bytes = ReadFileBytes(victim);
    testing::CorruptFileChecksum(bytes);
    testing::WriteFileBytes(victim, bytes);
  }

  void ExpectNothingWritten(const std::string& out) {
    EXPECT_FALSE(FileExists(out)) << out;
    EXPECT_FALSE(FileExists(out + ".tmp")) << out << ".tmp";
  }

  std::string dir_;
  std::string replica_dir_;
  std::unique_ptr<DbHistory> history_;
  std::unique_ptr<FileStorageClient> client_;
};

TEST_F(LtxRestoreTest, LatestUsesLongestChainAcrossLevels) {
  auto o = Options("latest.db");
  o.integrity_check = IntegrityCheck::kFull;
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, RestoreResult::Outcome::kRestored);
  EXPECT_EQ(r->txid, 15u);
  EXPECT_EQ(r->integrity_check, IntegrityCheck::kFull);
  std::vector<std::pair<int, TXID>> want = {{9, 3}, {2, 10}, {1, 12}, {0, 13}, {0, 14}, {0, 15}};
  ASSERT_EQ(r->plan.files.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r->plan.files[i].level, want[i].first) << i;
    EXPECT_EQ(r->plan.files[i].max_txid, want[i].second) << i;
  }
  ExpectImage(o.output_path, 15);
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
  EXPECT_FALSE(FileExists(o.output_path + "-wal"));
  EXPECT_FALSE(FileExists(o.output_path + "-shm"));
  auto rows = testing::QueryColumn(o.output_path, "SELECT count(*) FROM t");
  ASSERT_EQ(rows.size(), 1u);
}

TEST_F(LtxRestoreTest, EveryTXIDRestoresExactlyOrIsNotAvailable) {
  const std::set<TXID> available = {3, 8, 10, 11, 12, 13, 14, 15};
  for (TXID t = 1; t <= 15; ++t) {
    auto o = Options("txid-" + std::to_string(t) + ".db");
    o.txid = t;
    auto r = Restore(*client_, o);
    if (available.count(t)) {
      ASSERT_TRUE(r.ok()) << "TXID " << t << ": " << r.status().ToString();
      EXPECT_EQ(r->txid, t);
      ExpectImage(o.output_path, t);
    } else {
      ASSERT_FALSE(r.ok()) << "TXID " << t;
      EXPECT_TRUE(IsTxNotAvailable(r.status())) << r.status().ToString();
      ExpectNothingWritten(o.output_path);
    }
  }
}

TEST_F(LtxRestoreTest, TimestampIsStrictlyBeforeFileTime) {
  auto o = Options("ts.db");
  o.timestamp = history_->Time(12) + std::chrono::milliseconds(500);
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->txid, 12u);
  ExpectImage(o.output_path, 12);

  auto exact = Options("ts-exact.db");
  exact.timestamp = history_->Time(12);  // L1 9-12 was written at exactly this time: excluded
  auto r2 = Restore(*client_, exact);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->txid, 11u);
  ExpectImage(exact.output_path, 11);
}

TEST_F(LtxRestoreTest, TimestampOutsideBoundsInURLMode) {
  auto o = Options("bounds.db");
  o.check_timestamp_bounds = true;
  o.timestamp = history_->Time(1) - std::chrono::hours(1);
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timestamp does not exist"), std::string::npos)
      << r.status().ToString();
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, CorruptFileIsNamedAndNothingIsLeft) {
  CorruptChecksum(1, 9, 12);
  auto o = Options("corrupt.db");
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("level 1 file 0000000000000009-000000000000000c.ltx"),
            std::string::npos)
      << r.status().ToString();
  ExpectNothingWritten(o.output_path);
}

// L2 1-10 covers L9 1-3 entirely: a latest restore does not read the snapshot (a corrupt one does not
// matter), a restore to TXID 3, whose plan is that snapshot alone, still verifies it.
TEST_F(LtxRestoreTest, FileCoveredByALaterFileIsNotRead) {
  CorruptChecksum(9, 1, 3);

  auto latest = Options("latest.db");
  auto r = Restore(*client_, latest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->plan.files.size(), 6u);  // the plan itself is unchanged (dry runs report it)
  EXPECT_EQ(r->plan.files[0].level, 9);
  ExpectImage(latest.output_path, 15);

  auto at3 = Options("txid-3.db");
  at3.txid = 3;
  auto r3 = Restore(*client_, at3);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kCorruption) << r3.status().ToString();
  ExpectNothingWritten(at3.output_path);
}

TEST_F(LtxRestoreTest, CorruptPageDataIsNamedAndNothingIsLeft) {
  std::string victim = replica_dir_ + "/ltx/0/" + FormatLtxFilename(14, 14);
  auto bytes = ReadFileBytes(victim);
  bytes[ltx::kHeaderSize + 20] ^= 0xff;  // inside the first page's payload
  testing::WriteFileBytes(victim, bytes);
  auto o = Options("corrupt-page.db");
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(FormatLtxFilename(14, 14)), std::string::npos) << r.status().ToString();
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, TruncatedFileIsNamedAndNothingIsLeft) {
  std::string victim = replica_dir_ + "/ltx/2/" + FormatLtxFilename(1, 10);
  auto bytes = ReadFileBytes(victim);
  bytes.resize(bytes.size() / 2);
  testing::WriteFileBytes(victim, bytes);
  auto o = Options("truncated.db");
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("level 2 file 0000000000000001-000000000000000a.ltx"),
            std::string::npos)
      << r.status().ToString();
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, FileSmallerThanHeaderIsRejectedBeforeReading) {
  std::string victim = replica_dir_ + "/ltx/0/" + FormatLtxFilename(15, 15);
  testing::WriteFileBytes(victim, std::vector<uint8_t>(60, 0));
  auto o = Options("small.db");
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid ltx file"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(FormatLtxFilename(15, 15)), std::string::npos);
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, WriteFailureRemovesTmp) {
  FaultFileSystem fs(FileSystem::Default());
  fs.FailNth(FaultOp::kWrite, 1, Status::DiskFull("injected"), ".tmp");
  auto o = Options("diskfull.db");
  o.fs = &fs;
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDiskFull) << r.status().ToString();
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, RenameFailureRemovesTmp) {
  FaultFileSystem fs(FileSystem::Default());
  fs.FailNth(FaultOp::kRename, 1, Status::IOError("injected rename failure"));
  auto o = Options("rename.db");
  o.fs = &fs;
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, CreatesParentDirectories) {
  auto o = Options("a/b/c/nested.db");
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectImage(o.output_path, 15);
}

TEST_F(LtxRestoreTest, OutputRules) {
  auto o = Options("rules.db");
  // A non-empty output needs force and is left untouched without it.
  testing::WriteFileBytes(o.output_path, {'o', 'l', 'd'});
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFileBytes(o.output_path).size(), 3u);
  // A sidecar needs force too.
  testing::WriteFileBytes(o.output_path, {});
  testing::WriteFileBytes(o.output_path + "-wal", {'w'});
  r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("-wal"), std::string::npos);
  // With force: replaced, and the stale sidecars are gone.
  testing::WriteFileBytes(o.output_path + "-shm", {'s'});
  testing::WriteFileBytes(o.output_path + "-journal", {'j'});
  testing::WriteFileBytes(TXIDSidecarPath(o.output_path), {'1'});
  o.force = true;
  r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectImage(o.output_path, 15);
  for (const char* suffix : {"-wal", "-shm", "-journal", "-txid"}) {
    EXPECT_FALSE(FileExists(o.output_path + suffix)) << suffix;
  }
}

TEST_F(LtxRestoreTest, EmptyOutputIsReplacedWithoutForce) {
  auto o = Options("empty.db");
  testing::WriteFileBytes(o.output_path, {});
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectImage(o.output_path, 15);
}

TEST_F(LtxRestoreTest, FailedRestoreWithForceKeepsOldOutput) {
  auto o = Options("keep.db");
  testing::WriteFileBytes(o.output_path, {'o', 'l', 'd'});
  testing::WriteFileBytes(o.output_path + "-wal", {'w'});
  std::string victim = replica_dir_ + "/ltx/0/" + FormatLtxFilename(13, 13);
  auto bytes = ReadFileBytes(victim);
  testing::CorruptFileChecksum(bytes);
  testing::WriteFileBytes(victim, bytes);
  o.force = true;
  auto r = Restore(*client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReadFileBytes(o.output_path).size(), 3u);
  EXPECT_TRUE(FileExists(o.output_path + "-wal"));
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
}

TEST_F(LtxRestoreTest, IfDbNotExistsSkips) {
  auto o = Options("exists.db");
  testing::WriteFileBytes(o.output_path, {'x'});
  o.if_db_not_exists = true;
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, RestoreResult::Outcome::kSkippedOutputExists);
  EXPECT_EQ(ReadFileBytes(o.output_path).size(), 1u);
}

TEST_F(LtxRestoreTest, IfReplicaExistsSkipsEmptyReplica) {
  FileStorageClient empty(dir_ + "/empty-replica");
  auto o = Options("none.db");
  auto r = Restore(empty, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsTxNotAvailable(r.status())) << r.status().ToString();
  o.if_replica_exists = true;
  r = Restore(empty, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, RestoreResult::Outcome::kSkippedNoBackups);
  ExpectNothingWritten(o.output_path);
}

TEST_F(LtxRestoreTest, DryRunWritesNothing) {
  auto o = Options("dry.db");
  o.dry_run = true;
  o.source_label = "file://" + replica_dir_;
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, RestoreResult::Outcome::kDryRun);
  EXPECT_EQ(r->plan.files.size(), 6u);
  ExpectNothingWritten(o.output_path);
  std::string json = RestorePlanJson(*r);
  for (const char* key :
       {"\"source\"", "\"target_path\"", "\"replica\": \"file\"", "\"min_txid\": \"0000000000000001\"",
        "\"max_txid\": \"000000000000000f\"", "\"files\"",
        "\"name\": \"0000000000000009-000000000000000c.ltx\"", "\"timestamp\": \"2025-01-01T00:00:12Z\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
  std::string text = RestorePlanText(*r);
  EXPECT_NE(text.find("txid range: 0000000000000001 - 000000000000000f"), std::string::npos) << text;
  EXPECT_NE(text.find("level  file"), std::string::npos) << text;
}

TEST_F(LtxRestoreTest, ResultJson) {
  auto o = Options("json.db");
  o.integrity_check = IntegrityCheck::kQuick;
  auto r = Restore(*client_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string json = RestoreResultJson(*r);
  EXPECT_NE(json.find("\"db_path\": \"" + o.output_path + "\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"replica\": \"file\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"txid\": \"000000000000000f\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"duration_ms\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"integrity_check\": \"quick\""), std::string::npos) << json;
}

TEST_F(LtxRestoreTest, InvalidOptions) {
  auto o = Options("invalid.db");
  o.txid = 3;
  o.timestamp = history_->Time(3);
  EXPECT_EQ(Restore(*client_, o).status().code(), StatusCode::kInvalidArgument);
  o.timestamp.reset();
  o.follow = true;
  EXPECT_EQ(Restore(*client_, o).status().code(), StatusCode::kInvalidArgument);
  RestoreOptions no_output;
  EXPECT_EQ(Restore(*client_, no_output).status().code(), StatusCode::kInvalidArgument);
}

// An integrity check that fails removes the output: a valid LTX file whose pages are not a valid b-tree.
TEST(LtxRestore, IntegrityCheckFailureRemovesOutput) {
  std::string dir = litestream::testing::MakeTempDir("ltx-integrity");
  DbHistory history(dir);
  history.InsertRows(200, 100);
  auto image = history.Image(1);
  // Scribble over the b-tree pages but keep page 1 (so SQLite opens the file).
  for (size_t i = history.page_size(); i < image.size(); i += 7) image[i] ^= 0x5a;
  ltx::Header h;
  h.flags = ltx::kHeaderFlagNoChecksum;
  h.page_size = history.page_size();
  h.commit = static_cast<uint32_t>(image.size() / h.page_size);
  h.min_txid = h.max_txid = 1;
  h.timestamp = DbHistory::kBaseTimestampMs;
  BufferWriter out;
  ltx::Encoder enc(out);
  ASSERT_TRUE(enc.EncodeHeader(h).ok());
  for (uint32_t pgno = 1; pgno <= h.commit; ++pgno) {
    ASSERT_TRUE(enc.EncodePage(pgno, image.data() + size_t{pgno - 1} * h.page_size).ok());
  }
  ASSERT_TRUE(enc.Close().ok());
  MemoryStorageClient client;
  client.Put(9, 1, 1, out.data());
  RestoreOptions o;
  o.output_path = dir + "/bad.db";
  o.integrity_check = IntegrityCheck::kFull;
  auto r = Restore(client, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("integrity check"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(FileExists(o.output_path));
  EXPECT_FALSE(FileExists(o.output_path + "-wal"));
  EXPECT_FALSE(FileExists(o.output_path + "-shm"));
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
}

// ---- upstream TestReplica_Restore_InvalidFileSize/* and RemovesTempFileOnFailure

TEST(LtxRestore, InvalidFileSize_EmptyFile) {
  MemoryStorageClient client;
  client.PutInfo(9, 1, 10, {}, 0);
  RestoreOptions o;
  o.output_path = litestream::testing::MakeTempDir("ltx-empty") + "/restored.db";
  auto r = Restore(client, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid ltx file"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
}

TEST(LtxRestore, InvalidFileSize_TruncatedFile) {
  MemoryStorageClient client;
  client.PutInfo(9, 1, 10, {}, 50);
  RestoreOptions o;
  o.output_path = litestream::testing::MakeTempDir("ltx-trunc") + "/restored.db";
  auto r = Restore(client, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid ltx file"), std::string::npos) << r.status().ToString();
}

TEST(LtxRestore, RemovesTempFileOnFailure) {
  std::string dir = litestream::testing::MakeTempDir("ltx-tmpfail");
  DbHistory history(dir);
  for (int i = 0; i < 3; ++i) history.InsertRows(20);
  MemoryStorageClient client;
  client.Put(9, 1, 2, history.Ltx(1, 2));
  auto l0 = history.Ltx(3, 3);
  testing::CorruptFileChecksum(l0);
  client.Put(0, 3, 3, l0);
  RestoreOptions o;
  o.output_path = dir + "/restored.db";
  auto r = Restore(client, o);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
  EXPECT_FALSE(FileExists(o.output_path));
}

// ---- flaky storage: the resumable reader

class FlakyStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = litestream::testing::MakeTempDir("ltx-flaky");
    history_ = std::make_unique<DbHistory>(dir_);
    for (int i = 0; i < 4; ++i) history_->InsertRows(30, 500);
    client_.Put(9, 1, 2, history_->Ltx(1, 2));
    client_.Put(0, 3, 3, history_->Ltx(3, 3));
    client_.Put(0, 4, 4, history_->Ltx(4, 4));
  }

  Result<RestoreResult> RunRestore(const std::string& name) {
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.sleep = [this](std::chrono::milliseconds d) { waits_.push_back(d); };
    return Restore(client_, o);
  }

  std::string dir_;
  std::unique_ptr<DbHistory> history_;
  MemoryStorageClient client_;
  std::vector<std::chrono::milliseconds> waits_;
};

TEST_F(FlakyStorageTest, PrematureEndOfStreamIsResumedAtOffset) {
  // The snapshot's stream ends early twice, with progress in between.
  std::vector<uint64_t> cut_at;
  client_.on_read = [&](const LtxFileInfo& f, uint64_t offset, size_t n) -> Result<size_t> {
    if (f.level != 9) return n;
    if (offset == 0) return std::min<size_t>(n, 1000);  // short reads: the file is read at several offsets
    if (cut_at.empty() || (cut_at.size() == 1 && offset > cut_at[0])) {
      cut_at.push_back(offset);
      return size_t{0};
    }
    return std::min<size_t>(n, 1000);
  };
  auto r = RunRestore("resumed.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFileBytes(dir_ + "/resumed.db"), history_->Image(4));
  ASSERT_EQ(waits_.size(), 2u);
  EXPECT_EQ(waits_[0], std::chrono::milliseconds(250));  // progress in between resets the backoff
  EXPECT_EQ(waits_[1], std::chrono::milliseconds(250));
}

TEST_F(FlakyStorageTest, ReadErrorsAreRetriedWithBackoff) {
  int failures = 0;
  client_.on_read = [&](const LtxFileInfo& f, uint64_t offset, size_t n) -> Result<size_t> {
    if (f.level == 0 && f.min_txid == 3 && offset > 0 && failures < 3) {
      ++failures;
      return Status::Unavailable("connection reset");
    }
    return std::min<size_t>(n, 1000);  // short reads: the file is read at several offsets
  };
  auto r = RunRestore("retried.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFileBytes(dir_ + "/retried.db"), history_->Image(4));
  std::vector<std::chrono::milliseconds> want = {
      std::chrono::milliseconds(250), std::chrono::milliseconds(500), std::chrono::milliseconds(1000)};
  EXPECT_EQ(waits_, want);
}

TEST_F(FlakyStorageTest, GivesUpAfterThreeRetries) {
  client_.on_read = [&](const LtxFileInfo& f, uint64_t offset, size_t n) -> Result<size_t> {
    if (f.level == 0 && f.min_txid == 4 && offset > 200) return Status::Unavailable("connection reset");
    return std::min<size_t>(n, 1000);  // short reads: the file is read at several offsets
  };
  auto r = RunRestore("gaveup.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("level 0 file 0000000000000004-0000000000000004.ltx"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("after 3 retries"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(waits_.size(), 3u);
  EXPECT_FALSE(FileExists(dir_ + "/gaveup.db.tmp"));
}

TEST_F(FlakyStorageTest, InitialOpenIsRetried) {
  int failures = 0;
  client_.on_open = [&](const LtxFileInfo& f, uint64_t) {
    if (f.level == 9 && failures < 2) {
      ++failures;
      return Status::Unavailable("503 slow down");
    }
    return Status::OK();
  };
  auto r = RunRestore("opened.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(waits_.size(), 2u);
}

TEST_F(FlakyStorageTest, MissingFileInTheMiddleOfThePlanIsNotRetried) {
  client_.on_open = [&](const LtxFileInfo& f, uint64_t) {
    if (f.level == 0 && f.min_txid == 3) return Status::NotFound("no such key");
    return Status::OK();
  };
  auto r = RunRestore("missing.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(IsTxNotAvailable(r.status()));
  EXPECT_NE(r.status().message().find("0000000000000003-0000000000000003.ltx"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(waits_.empty());
  EXPECT_FALSE(FileExists(dir_ + "/missing.db"));
  EXPECT_FALSE(FileExists(dir_ + "/missing.db.tmp"));
}

TEST_F(FlakyStorageTest, CancelledRestoreStopsRetrying) {
  std::stop_source stop;
  client_.on_read = [&](const LtxFileInfo&, uint64_t, size_t) -> Result<size_t> {
    stop.request_stop();
    return Status::Unavailable("down");
  };
  RestoreOptions o;
  o.output_path = dir_ + "/cancelled.db";
  o.stop = stop.get_token();
  auto r = Restore(client_, o);  // real sleep: must return at once because of the stop
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_FALSE(FileExists(o.output_path + ".tmp"));
}

// ---- FuzzRestoreWithMissingCompactedFile: deleting one L1 or L2 file still restores through lower levels.

TEST(LtxRestore, FuzzRestoreWithMissingCompactedFile) {
  std::string dir = litestream::testing::MakeTempDir("ltx-fuzz");
  DbHistory history(dir);
  const TXID n = 24;
  for (TXID t = 1; t <= n; ++t) history.InsertRows(static_cast<int>(3 + t % 5), 150);
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    std::mt19937_64 rng(seed);
    MemoryStorageClient client;
    client.Put(9, 1, 1, history.Ltx(1, 1, PageEncoding::kFrame), history.Time(1));
    std::vector<std::tuple<int, TXID, TXID>> compacted;
    for (TXID t = 1; t <= n; ++t) {
      client.Put(0, t, t, history.Ltx(t, t, rng() % 2 ? PageEncoding::kFrame : PageEncoding::kBlock),
                 history.Time(t));
    }
    for (TXID t = 1; t <= n; t += 4) {
      client.Put(1, t, t + 3, history.Ltx(t, t + 3), history.Time(t + 3));
      compacted.emplace_back(1, t, t + 3);
    }
    for (TXID t = 1; t <= n; t += 8) {
      client.Put(2, t, t + 7, history.Ltx(t, t + 7), history.Time(t + 7));
      compacted.emplace_back(2, t, t + 7);
    }
    auto [level, min, max] = compacted[rng() % compacted.size()];
    ASSERT_TRUE(client.Erase(level, min, max));
    RestoreOptions o;
    o.output_path = dir + "/fuzz-" + std::to_string(seed) + ".db";
    auto r = Restore(client, o);
    ASSERT_TRUE(r.ok()) << "seed " << seed << " without L" << level << " " << min << "-" << max << ": "
                        << r.status().ToString();
    EXPECT_EQ(r->txid, n);
    EXPECT_TRUE(ReadFileBytes(o.output_path) == history.Image(n)) << "seed " << seed;
  }
}

}  // namespace
}  // namespace litestream
