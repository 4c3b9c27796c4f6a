#include "db/database.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "ltx/decoder.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"

namespace litestream {
namespace {

using testing::AppDb;
using testing::ApplyLtxFiles;
using testing::InsertBlobs;
using testing::MakeTempDir;
using testing::QueryFile;
using testing::WaitFor;

// Counts log records by message.
class MessageCounter final : public LogSink {
 public:
  void Write(LogLevel, std::string_view message, const std::vector<LogField>&) override {
    std::lock_guard<std::mutex> lock(mu_);
    counts_[std::string(message)]++;
  }
  int Count(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[message];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("db-test");
    options_.path = dir_ + "/app.db";
  }

  std::unique_ptr<Database> NewDb(Logger logger = Logger()) {
    auto db = std::make_unique<Database>(options_, std::move(logger));
    EXPECT_TRUE(db->Open().ok());
    return db;
  }

  std::vector<std::string> LocalL0() {
    std::vector<std::string> paths;
    std::string l0 = dir_ + "/.app.db-litestream/ltx/0";
    if (!std::filesystem::exists(l0)) return paths;
    for (const auto& e : std::filesystem::directory_iterator(l0)) {
      if (e.path().extension() == ".ltx") paths.push_back(e.path().string());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  ltx::Header HeaderOf(const std::string& path) {
    auto in = FileSystem::Default()->OpenSequential(path, 0);
    EXPECT_TRUE(in.ok());
    ltx::Decoder dec(**in, path);
    EXPECT_TRUE(dec.DecodeHeader().ok());
    return dec.header();
  }

  int PageCountOf(const std::string& path) {
    auto in = FileSystem::Default()->OpenSequential(path, 0);
    ltx::Decoder dec(**in, path);
    EXPECT_TRUE(dec.DecodeHeader().ok());
    std::vector<uint8_t> page(dec.header().page_size);
    int n = 0;
    uint32_t pgno;
    while (*dec.NextPage(&pgno, page.data())) n++;
    EXPECT_TRUE(dec.Close().ok());
    return n;
  }

  // Rebuilds the database from every local L0 file and compares a query with the live database.
  void ExpectReplicaEquals(AppDb& app, const std::string& sql = "SELECT * FROM t ORDER BY id") {
    std::string restored = dir_ + "/restored.db";
    std::filesystem::remove(restored);
    Status s = ApplyLtxFiles(LocalL0(), restored);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(QueryFile(restored, sql), app.Query(sql));
    EXPECT_EQ(QueryFile(restored, "PRAGMA integrity_check"), "ok");
  }

  std::string dir_;
  DbOptions options_;
};

TEST_F(DatabaseTest, SyncWithoutDatabaseIsANoOp) {
  auto db = NewDb();
  auto n = db->Sync();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(*db->Pos(), 0u);
}

TEST_F(DatabaseTest, FirstSyncWritesSnapshotAtTxid1) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');");
  auto db = NewDb();
  auto n = db->Sync();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*db->Pos(), 1u);
  EXPECT_EQ(db->page_size(), 4096u);
  auto files = LocalL0();
  ASSERT_EQ(files.size(), 1u);
  ltx::Header h = HeaderOf(files[0]);
  EXPECT_EQ(h.min_txid, 1u);
  EXPECT_EQ(h.max_txid, 1u);
  EXPECT_EQ(h.flags, ltx::kHeaderFlagNoChecksum);
  EXPECT_EQ(static_cast<uint32_t>(PageCountOf(files[0])), h.commit);
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, EachSyncWithWritesAdvancesTxidByOneAndIdleSyncWritesNothing) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  for (int i = 0; i < 5; i++) {
    app.Exec("INSERT INTO t (v) VALUES ('row" + std::to_string(i) + "');");
    auto n = db->Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 1);
    EXPECT_EQ(*db->Pos(), static_cast<TXID>(i + 2));
  }
  EXPECT_EQ(*db->Sync(), 0);
  EXPECT_EQ(*db->Pos(), 6u);
  // Incremental files hold only the changed pages.
  EXPECT_LT(PageCountOf(LocalL0().back()), 4);
  ExpectReplicaEquals(app);
}

// Syncs take the page of each frame from the wal-index. One whose page numbers disagree with the frames
// (two swapped here) fails on the first frame that is not the page it should be, and from then on the
// frames are scanned: the file written on the retry is right.
TEST_F(DatabaseTest, WalIndexThatDisagreesWithTheFramesIsDistrusted) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto counter = std::make_shared<MessageCounter>();
  auto db = NewDb(Logger(counter, LogLevel::kDebug));
  ASSERT_TRUE(db->Sync().ok());
  const uint64_t frame_size = 24 + 4096;
  const uint64_t frames_before = (std::filesystem::file_size(options_.path + "-wal") - 32) / frame_size;
  app.Exec(InsertBlobs(20, 3000));

  // Region 0 of the wal-index: page numbers from byte 136, one native uint32_t per frame.
  const int fd = ::open((options_.path + "-shm").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* mapped = ::mmap(nullptr, 32768, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* pgnos = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(mapped) + 136) + frames_before;
  std::swap(pgnos[0], pgnos[1]);  // each page appears once in one transaction: they differ
  auto n = db->Sync();
  std::swap(pgnos[0], pgnos[1]);  // the application reads through it too
  ::munmap(mapped, 32768);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(counter->Count("the wal-index disagrees with the wal; reading the wal's frames from now on"), 1);
  ExpectReplicaEquals(app);

  app.Exec(InsertBlobs(5, 3000));
  ASSERT_TRUE(db->Sync().ok());
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, PassiveCheckpointAtMinPageCountContinuesIncrementally) {
  options_.min_checkpoint_page_count = 20;
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  for (int round = 0; round < 5; round++) {
    app.Exec(InsertBlobs(30, 3000));
    auto n = db->Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  // The WAL was restarted by our PASSIVE checkpoints, so it stays small, and no file after the first
  // is a full snapshot.
  EXPECT_LT(std::filesystem::file_size(options_.path + "-wal"), 200u * 4120u);
  auto files = LocalL0();
  for (size_t i = 1; i < files.size(); i++) {
    EXPECT_LT(PageCountOf(files[i]), static_cast<int>(HeaderOf(files[i]).commit)) << files[i];
  }
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, EmergencyThresholdKeepsWalBounded) {
  options_.truncate_page_n = 10;  // PASSIVE is tried first; it restarts the WAL, so TRUNCATE is skipped
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  for (int round = 0; round < 6; round++) {
    app.Exec(InsertBlobs(40, 3000));
    ASSERT_TRUE(db->Sync().ok());
  }
  // The threshold is judged on the WAL size before a sync, so the WAL holds at most about two rounds.
  EXPECT_LT(std::filesystem::file_size(options_.path + "-wal"), 3u * 45u * 4120u);
  EXPECT_LT(db->sync_state().last_synced_wal_offset, 2 * 4120 + 32);
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, TruncateCheckpointTakesBoundarySnapshot) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(40, 3000));
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  TXID before = *db->Pos();
  Status s = db->Checkpoint(CheckpointMode::kTruncate);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_LE(std::filesystem::file_size(options_.path + "-wal"), 32u + 2u * 4120u);
  EXPECT_GT(*db->Pos(), before);
  // The boundary file holds every page: commits racing the truncate cannot be lost (#1198).
  EXPECT_EQ(static_cast<uint32_t>(PageCountOf(LocalL0().back())), HeaderOf(LocalL0().back()).commit);
  app.Exec("INSERT INTO t (v) VALUES (x'01');");
  ASSERT_TRUE(db->Sync().ok());
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, RestartContinuesIncrementallyWhenWalUntouched) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
  {
    auto db = NewDb();
    ASSERT_TRUE(db->Sync().ok());
  }
  app.Exec("INSERT INTO t (v) VALUES ('b');");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  EXPECT_EQ(*db->Pos(), 2u);
  EXPECT_LT(PageCountOf(LocalL0().back()), static_cast<int>(HeaderOf(LocalL0().back()).commit));
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, ExternalTruncateCheckpointWhileStoppedForcesSnapshot) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
  {
    auto db = NewDb();
    ASSERT_TRUE(db->Sync().ok());
  }
  app.Exec("INSERT INTO t (v) VALUES ('b');");
  app.Exec("PRAGMA wal_checkpoint(TRUNCATE);");
  app.Exec("INSERT INTO t (v) VALUES ('c');");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  EXPECT_EQ(*db->Pos(), 2u);
  EXPECT_EQ(static_cast<uint32_t>(PageCountOf(LocalL0().back())), HeaderOf(LocalL0().back()).commit);
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, ChunkedSyncCutsAtCommitBoundaries) {
  options_.max_sync_wal_bytes = 8 * 4120;
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  for (int i = 0; i < 10; i++) app.Exec(InsertBlobs(4, 3000));
  auto n = db->Sync();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_GT(*n, 2);  // one sync drains everything, in several files
  EXPECT_EQ(*db->Sync(), 0);
  ExpectReplicaEquals(app);
}

TEST_F(DatabaseTest, VacuumShrinkIsReplicated) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(50, 3000));
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  app.Exec("DELETE FROM t WHERE id > 5; VACUUM;");
  ASSERT_TRUE(db->Sync().ok());
  ExpectReplicaEquals(app);
  EXPECT_EQ(QueryFile(dir_ + "/restored.db", "PRAGMA page_count"), app.Query("PRAGMA page_count"));
}

// A snapshot first syncs what is pending (so its label is an L0 TXID and it holds exactly that state), and
// commits made while it streams are not in it.
TEST_F(DatabaseTest, SnapshotSyncsFirstAndHoldsExactlyItsTxid) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  app.Exec("INSERT INTO t (v) VALUES ('b');");
  ASSERT_TRUE(db->Sync().ok());
  app.Exec("INSERT INTO t (v) VALUES ('not synced yet');");
  std::string at_open = app.Query("SELECT * FROM t ORDER BY id");
  auto snap = db->OpenSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->txid(), 3u);
  EXPECT_TRUE(std::filesystem::exists(db->LtxPath(0, 3, 3)));
  app.Exec("INSERT INTO t (v) VALUES ('while streaming');");
  auto bytes = (*snap)->ReadAll(64 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  snap->reset();
  std::string path = dir_ + "/snapshot.ltx";
  ASSERT_TRUE(WriteFileAtomic(*FileSystem::Default(), path, bytes->data(), bytes->size()).ok());
  ltx::Header h = HeaderOf(path);
  EXPECT_EQ(h.min_txid, 1u);
  EXPECT_EQ(h.max_txid, 3u);
  ASSERT_TRUE(ApplyLtxFiles({path}, dir_ + "/snap.db").ok());
  EXPECT_EQ(QueryFile(dir_ + "/snap.db", "SELECT * FROM t ORDER BY id"), at_open);
}

TEST_F(DatabaseTest, OtherPageSizes) {
  for (int ps : {1024, 65536}) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    AppDb app(options_.path, ps);
    app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    auto db = NewDb();
    ASSERT_TRUE(db->Sync().ok());
    app.Exec(InsertBlobs(20, 5000));
    ASSERT_TRUE(db->Sync().ok());
    EXPECT_EQ(db->page_size(), static_cast<uint32_t>(ps));
    ExpectReplicaEquals(app);
  }
}

// A first snapshot reads database-file pages in runs and takes the WAL's newer versions in between, on
// the sync thread and on compression threads (the Encoder tests check that both write the same bytes).
TEST_F(DatabaseTest, SnapshotMixesFileRunsAndWalPagesOnCompressionThreads) {
  AppDb app(options_.path, 1024);  // 1 KiB pages: a 1 MiB run is 1024 pages
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  for (int i = 0; i < 8; i++) app.Exec(InsertBlobs(100, 5000));  // about 4,000 pages
  app.Exec("PRAGMA wal_checkpoint(TRUNCATE);");
  app.Exec("UPDATE t SET v = randomblob(5000) WHERE id % 37 = 0;");  // scattered pages now in the WAL
  app.Exec(InsertBlobs(20, 5000));  // and runs of new pages in consecutive frames
  for (size_t threads : {1u, 3u}) {
    std::filesystem::remove_all(dir_ + "/.app.db-litestream");
    options_.compression_threads = threads;
    options_.compress_parallel_pages = 1;
    auto db = NewDb();
    ASSERT_TRUE(db->Sync().ok());
    ASSERT_EQ(LocalL0().size(), 1u);
    EXPECT_EQ(HeaderOf(LocalL0()[0]).min_txid, 1u);
    ExpectReplicaEquals(app);
  }
}

}  // namespace
}  // namespace litestream

namespace litestream {
namespace {

// The application's own checkpoint may backfill up to our read mark, and no further; the mark moves to
// the WAL end after a sync that wrote a file and on AdvanceReadLockIfIdle.
TEST_F(DatabaseTest, ReadMarkHandOffLetsTheApplicationBackfillUpToIt) {
  AppDb app(options_.path);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto db = NewDb();
  ASSERT_TRUE(db->Sync().ok());
  // (log frames, frames backfilled) after a PASSIVE checkpoint by the application.
  auto app_checkpoint = [&] {
    int log = 0, backfilled = 0;
    EXPECT_EQ(sqlite3_wal_checkpoint_v2(app.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &backfilled),
              SQLITE_OK);
    return std::pair<int, int>(log, backfilled);
  };
  app.Exec(InsertBlobs(50, 1000));
  auto [log1, backfilled1] = app_checkpoint();
  EXPECT_LT(backfilled1, log1);  // our mark stops it before the new frames
  ASSERT_TRUE(db->Sync().ok());
  auto [log2, backfilled2] = app_checkpoint();
  EXPECT_EQ(backfilled2, log2);  // handed off after the sync: everything is backfilled
  app.Exec(InsertBlobs(50, 1000));
  auto [log3, backfilled3] = app_checkpoint();
  EXPECT_LT(backfilled3, log3);
  ASSERT_TRUE(db->AdvanceReadLockIfIdle().ok());
  auto [log4, backfilled4] = app_checkpoint();
  EXPECT_EQ(backfilled4, log4);
}

// A database whose WAL a snapshot stream pins (its pages must stay as they were at its TXID), with a
// truncate-page-n of 10 pages that the application's next writes pass: what checkpoints and the writer
// throttle see while a level-9 snapshot streams.
class SnapshotStreamTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    options_.truncate_page_n = 10;
    app_.emplace(options_.path);
    app_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    db_ = NewDb(Logger(messages_, LogLevel::kDebug));
    ASSERT_TRUE(db_->Sync().ok());
    auto snap = db_->OpenSnapshot();
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snap_ = std::move(*snap);
  }

  // Reads the stream to its end and closes it.
  void FinishSnapshot() {
    ASSERT_TRUE(snap_->ReadAll(64 << 20).ok());
    snap_.reset();
  }

  std::shared_ptr<MessageCounter> messages_ = std::make_shared<MessageCounter>();
  std::optional<AppDb> app_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SnapshotReader> snap_;
};

// Checkpoints wait for the stream, said once, instead of failing attempt after attempt and escalating to a
// TRUNCATE with a full boundary snapshot under the write lock; once the stream is done, the emergency
// PASSIVE restarts the WAL.
TEST_F(SnapshotStreamTest, CheckpointsWaitForItWithoutEscalatingToTruncate) {
  const uint32_t full_before = static_cast<uint32_t>(LocalL0().size());
  for (int round = 0; round < 4; round++) {
    app_->Exec(InsertBlobs(40, 3000));  // past truncate_page_n
    Status s = db_->Sync().status();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(messages_->Count("checkpoint deferred, throttling writers"), 1);
  EXPECT_EQ(messages_->Count("forcing truncate checkpoint"), 0);
  EXPECT_GT(db_->sync_state().last_synced_wal_offset, 4 * 40 * 4120);  // pinned: not restarted

  ASSERT_NO_FATAL_FAILURE(FinishSnapshot());
  app_->Exec("INSERT INTO t (v) VALUES (x'01');");
  ASSERT_TRUE(db_->Sync().ok());
  EXPECT_LT(db_->sync_state().last_synced_wal_offset, 4 * 4120 + 32);  // restarted
  EXPECT_EQ(messages_->Count("forcing truncate checkpoint"), 0);
  auto files = LocalL0();
  for (size_t i = full_before; i < files.size(); i++) {  // no full-page boundary snapshot
    EXPECT_LT(PageCountOf(files[i]), static_cast<int>(HeaderOf(files[i]).commit)) << files[i];
  }
  ExpectReplicaEquals(*app_);
}

// While checkpoints wait for the stream and the WAL is past truncate-page-n, a sync holds the
// application's writers off only if the application wrote since the previous one: an idle application's
// backlog (written while we were stopped, say) is copied without this thread sleeping through slices.
TEST_F(SnapshotStreamTest, WritersAreThrottledOnlyWhileTheApplicationWrites) {
  app_->Exec(InsertBlobs(40, 3000));  // past truncate_page_n
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(db_->Sync().ok());  // the application has been idle since
  ASSERT_TRUE(db_->Sync().ok());
  EXPECT_EQ(messages_->Count("writers throttled"), 0);

  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the file system's mtime granularity
  app_->Exec(InsertBlobs(5, 3000));
  ASSERT_TRUE(db_->Sync().ok());
  EXPECT_EQ(messages_->Count("writers throttled"), 1);
  ASSERT_TRUE(db_->Sync().ok());  // idle again
  EXPECT_EQ(messages_->Count("writers throttled"), 1);

  ASSERT_NO_FATAL_FAILURE(FinishSnapshot());
  ASSERT_TRUE(db_->Sync().ok());
  ExpectReplicaEquals(*app_);
}

// A database whose application never checkpoints (autocheckpoint off) and whose own checkpoints run only
// when asked, with backlogs from 256 KiB on taken by our own backfill: who backfills what, and when.
class OwnBackfillTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    options_.own_backfill_bytes = 256 << 10;
    options_.min_checkpoint_page_count = 100000;  // no size-triggered checkpoint of ours
    options_.checkpoint_interval = std::chrono::milliseconds(0);
  }

  // Creates the application's table and the database (with the test's own options), synced once.
  void Start() {
    app_.emplace(options_.path);
    app_->Exec("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    db_ = NewDb(Logger(messages_, LogLevel::kDebug));
    ASSERT_TRUE(db_->Sync().ok());
  }

  // One more commit synced, then the replica must equal the application's database.
  void ExpectReplicaCaughtUp() {
    app_->Exec("INSERT INTO t (v) VALUES (x'01');");
    ASSERT_TRUE(db_->Sync().ok());
    ExpectReplicaEquals(*app_);
  }

  std::shared_ptr<MessageCounter> messages_ = std::make_shared<MessageCounter>();
  std::optional<AppDb> app_;
  std::unique_ptr<Database> db_;
};

// After a snapshot stream pinned our read mark, the backlog behind it is backfilled by a checkpoint of our
// own, off the sync thread, not by the application (which would otherwise backfill it all inside one of
// its commits).
TEST_F(OwnBackfillTest, BacklogLeftByASnapshotStreamIsBackfilledByOurOwnCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const auto db_size_before = std::filesystem::file_size(options_.path);
  auto snap = db_->OpenSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  app_->Exec(InsertBlobs(120, 4000));  // ~120 pages of overflow, ~0.5 MB of WAL
  ASSERT_TRUE(db_->Sync().ok());       // the stream still pins the mark: nothing to hand off yet
  EXPECT_EQ(messages_->Count("backfilled wal"), 0);
  ASSERT_TRUE((*snap)->ReadAll(64 << 20).ok());
  snap->reset();

  ASSERT_TRUE(db_->Sync().ok());  // nothing new to sync: hands the backlog to our backfill
  ASSERT_TRUE(WaitFor([&] { return messages_->Count("backfilled wal") == 1; }));
  EXPECT_GE(std::filesystem::file_size(options_.path), db_size_before + 120u * 4096u);
  app_->Exec("INSERT INTO t (v) VALUES (x'01');");
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(db_->Checkpoint(CheckpointMode::kPassive).ok());
  ExpectReplicaEquals(*app_);
}

// A hand-off hands over the WAL up to its end, where the new read mark lands, however little of it the sync
// before it copied: while syncs catch up in chunks, one that counted only its own chunk passed for small
// and gave the application's next autocheckpoint the whole backlog to backfill inside one of its commits.
TEST_F(OwnBackfillTest, HandOffsBehindTheWalsEndGiveItsBacklogToOurOwnBackfill) {
  options_.max_sync_wal_bytes = 64 << 10;  // syncs in chunks far smaller than the backlog
  ASSERT_NO_FATAL_FAILURE(Start());
  for (int txn = 0; txn < 8; txn++) app_->Exec(InsertBlobs(15, 4000));  // ~0.5 MB of WAL, a chunk per commit

  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(WaitFor([&] { return messages_->Count("backfilled wal") == 1; }));
  ASSERT_NO_FATAL_FAILURE(ExpectReplicaCaughtUp());
  EXPECT_EQ(messages_->Count("backfilled wal"), 1);  // the first chunk's hand-off took it all
}

// What earlier hand-offs gave the application and its autocheckpoints have not backfilled yet (here it
// never checkpoints) counts too: the next checkpoint backfills all of it, not only what the move adds.
TEST_F(OwnBackfillTest, WalThatNoCheckpointBackfilledYetCountsTowardsTheBacklog) {
  ASSERT_NO_FATAL_FAILURE(Start());
  app_->Exec(InsertBlobs(40, 4000));  // ~160 KiB: below 256 KiB, a plain hand-off
  ASSERT_TRUE(db_->Sync().ok());
  app_->Exec(InsertBlobs(40, 4000));  // 160 KiB more since the mark, 320 KiB not backfilled
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(WaitFor([&] { return messages_->Count("backfilled wal") == 1; }));
  ASSERT_NO_FATAL_FAILURE(ExpectReplicaCaughtUp());
  EXPECT_EQ(messages_->Count("backfilled wal"), 1);
}

// Inside a checkpoint too: the sync before its barrier hands a big backlog on (every kHandOffFrames pages)
// to our own backfill and waits for it, rather than to the application's next autocheckpoint.
TEST_F(OwnBackfillTest, CheckpointsHandABigBacklogToOurOwnBackfillFirst) {
  ASSERT_NO_FATAL_FAILURE(Start());
  app_->Exec(InsertBlobs(1200, 4000));  // past the 1,000 pages after which a sync hands the mark on

  ASSERT_TRUE(db_->Checkpoint(CheckpointMode::kPassive).ok());
  EXPECT_EQ(messages_->Count("backfilled wal"), 1);  // done before the checkpoint returned
  EXPECT_GT(messages_->Count("checkpoint restarted wal"), 0);
  ASSERT_NO_FATAL_FAILURE(ExpectReplicaCaughtUp());
}

}  // namespace
}  // namespace litestream
