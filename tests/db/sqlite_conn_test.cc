// SqliteMainFile: reading a database file through SQLite's own handle on it and writing it back;
// ShmCheckpointerLock and SyncMainFile, which act through that handle too; ReadWalIndexEnd and
// ReadWalIndexFrames.
#include "db/sqlite_conn.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "support/page_cache.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "util/file_system.h"
#include "wal/reader.h"

namespace litestream {
namespace {

using testing::AppDb;
using testing::CachedPages;
using testing::EvictFromPageCache;
using testing::InsertBlobs;
using testing::MakeTempDir;
using testing::TakesDropBehindReads;
using testing::UnwrittenPages;

std::vector<uint8_t> ReadWhole(RandomAccessReader& file, bool once) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> piece(256 * 1024);
  for (uint64_t offset = 0;; offset += piece.size()) {
    auto got = once ? file.ReadAtOnce(offset, piece.data(), piece.size())
                    : file.ReadAt(offset, piece.data(), piece.size());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return out;
    out.insert(out.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(*got));
    if (*got < piece.size()) return out;
  }
}

// On SQLite's unix VFS a pass of ReadAtOnce reads SQLite's own descriptor: the bytes ReadAt returns, and,
// where the kernel drops what such a read cached, next to none of the file left in the page cache (a read
// through SQLite's xRead would leave all of it).
TEST(SqliteMainFileTest, ReadAtOnceReadsSqlitesDescriptorAndDropsWhatItCached) {
  const std::string path = MakeTempDir("sqlite-main-file") + "/app.db";
  AppDb app(path);
  app.Exec("CREATE TABLE t(v BLOB);" + InsertBlobs(300, 3000) + "PRAGMA wal_checkpoint(TRUNCATE);");
  auto conn = SqliteConn::Open(path, std::chrono::milliseconds(1000));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto file = SqliteMainFile::Open(conn->raw(), path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();

  const std::vector<uint8_t> expected = ReadWhole(**file, /*once=*/false);
  ASSERT_EQ(expected.size(), std::filesystem::file_size(path));
  ASSERT_GT(expected.size(), 1u << 20);
  EvictFromPageCache(path);
  EXPECT_TRUE(ReadWhole(**file, /*once=*/true) == expected);
  if (TakesDropBehindReads(path)) {  // a few pages the kernel could not drop at once may stay
    EXPECT_LT(CachedPages(path), expected.size() / 4096 / 10) << "of " << expected.size() / 4096 << " pages";
  }
}

// A database behind another VFS (here SQLite's in-memory memdb) has no descriptor to read: ReadAtOnce is
// ReadAt through SQLite's xRead.
TEST(SqliteMainFileTest, ReadAtOnceOnAnotherVfsReadsThroughSqlite) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2("file:/sqlite-main-file-test?vfs=memdb", &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, ("CREATE TABLE t(v BLOB);" + InsertBlobs(50, 3000)).c_str(), nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  {
    auto file = SqliteMainFile::Open(db, "memdb");
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    const std::vector<uint8_t> expected = ReadWhole(**file, /*once=*/false);
    ASSERT_GT(expected.size(), 100u * 1024);
    EXPECT_TRUE(ReadWhole(**file, /*once=*/true) == expected);
  }
  sqlite3_close(db);
}

// The pages an application's checkpoint left dirty in the page cache (synchronous=OFF: SQLite syncs
// nothing) are written back after StartWriteBack, with no fsync from anyone, and the file reads the same.
TEST(SqliteMainFileTest, StartWriteBackWritesTheDirtyPagesBack) {
  const std::string path = MakeTempDir("sqlite-main-file-write-back") + "/app.db";
  AppDb app(path);
  app.Exec("PRAGMA synchronous = OFF; CREATE TABLE t(v BLOB);" + InsertBlobs(300, 3000) +
           "PRAGMA wal_checkpoint(PASSIVE);");
  auto conn = SqliteConn::Open(path, std::chrono::milliseconds(1000));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto file = SqliteMainFile::Open(conn->raw(), path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const std::vector<uint8_t> before = ReadWhole(**file, /*once=*/false);

  const auto unwritten = UnwrittenPages(path);
  (*file)->StartWriteBack();
  if (unwritten.has_value()) {  // a kernel that can tell (cachestat, Linux 6.5+)
    EXPECT_GT(*unwritten, 100u);
    // The kernel's own flusher waits 30 s (dirty_expire_centisecs) before it writes such pages back.
    std::optional<size_t> left = unwritten;
    for (int i = 0; i < 500 && left.value_or(0) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      left = UnwrittenPages(path);
    }
    EXPECT_EQ(left.value_or(0), 0u);
  }
  EXPECT_TRUE(ReadWhole(**file, /*once=*/false) == before);
}

// While one connection holds SQLite's checkpointer lock, another connection's checkpoint (an application's
// autocheckpoint, say) fails at once instead of backfilling; once it is given back, it runs.
TEST(ShmCheckpointerLockTest, HoldingItMakesOtherCheckpointsBusyUntilReleased) {
  const std::string path = MakeTempDir("shm-checkpointer-lock") + "/app.db";
  AppDb app(path);
  app.Exec("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(20, 3000));
  auto guard = SqliteConn::Open(path, std::chrono::milliseconds(0));
  ASSERT_TRUE(guard.ok()) << guard.status().ToString();
  ASSERT_TRUE(guard->QueryInt("SELECT COUNT(1) FROM t;").ok());  // maps the wal-index
  auto other = SqliteConn::Open(path, std::chrono::milliseconds(0));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->QueryInt("SELECT COUNT(1) FROM t;").ok());

  Status locked = ShmCheckpointerLock(guard->raw(), true);
  ASSERT_TRUE(locked.ok()) << locked.ToString();
  int log = -1, backfilled = -1;
  EXPECT_EQ(sqlite3_wal_checkpoint_v2(app.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &backfilled),
            SQLITE_BUSY);
  EXPECT_EQ(ShmCheckpointerLock(other->raw(), true).code(), StatusCode::kBusy);

  ASSERT_TRUE(ShmCheckpointerLock(guard->raw(), false).ok());
  EXPECT_EQ(sqlite3_wal_checkpoint_v2(app.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &backfilled),
            SQLITE_OK);
  EXPECT_GT(log, 0);
  EXPECT_EQ(backfilled, log);
  EXPECT_TRUE(SyncMainFile(other->raw()).ok());
}

// An application database whose WAL is never checkpointed behind its back, and a connection of ours.
class WalIndexEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = MakeTempDir("wal-index-end") + "/app.db";
    app_.emplace(path_);
    app_->Exec("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    auto opened = SqliteConn::Open(path_, std::chrono::milliseconds(1000));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ours_.emplace(std::move(*opened));
  }

  void BeginRead() { ASSERT_TRUE(ours_->Exec("BEGIN; SELECT COUNT(1) FROM t;").ok()); }

  wal::Header WalHeader() {
    auto file = FileSystem::Default()->OpenRandomAccess(path_ + "-wal");
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return {};
    auto header = wal::ReadHeader(**file);
    EXPECT_TRUE(header.ok()) << header.status().ToString();
    return header.ok() ? *header : wal::Header{};
  }

  // The WAL file's frames: it only grew since it was created.
  uint32_t WalFrames() {
    return static_cast<uint32_t>((std::filesystem::file_size(path_ + "-wal") - 32) /
                                 WalHeader().frame_size());
  }

  std::string path_;
  std::optional<AppDb> app_;
  std::optional<SqliteConn> ours_;
};

// ReadWalIndexEnd reads the last committed frame and the salts from the wal-index header in shared memory:
// they follow the application's commits (those after our read transaction began included), and a
// restarted WAL's new salts, as the WAL file's own header has them; and how far checkpoints backfilled.
TEST_F(WalIndexEndTest, FollowsCommitsAndRestartsOfAnotherConnection) {
  app_->Exec(InsertBlobs(50, 3000));
  ASSERT_NO_FATAL_FAILURE(BeginRead());
  auto end = ReadWalIndexEnd(ours_->raw());
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(end->max_frame, WalFrames());
  EXPECT_EQ(end->salts, WalHeader().salts);

  app_->Exec(InsertBlobs(10, 3000));  // after our read transaction began
  auto grown = ReadWalIndexEnd(ours_->raw());
  ASSERT_TRUE(grown.ok());
  EXPECT_GT(grown->max_frame, end->max_frame);
  EXPECT_EQ(grown->max_frame, WalFrames());
  EXPECT_EQ(grown->salts, end->salts);

  EXPECT_EQ(grown->backfilled_frames, 0u);

  // A checkpoint backfills up to our read transaction's snapshot, and says so in the checkpoint info.
  app_->Exec("PRAGMA wal_checkpoint(PASSIVE);");
  auto backfilled = ReadWalIndexEnd(ours_->raw());
  ASSERT_TRUE(backfilled.ok());
  EXPECT_EQ(backfilled->backfilled_frames, end->max_frame);
  EXPECT_EQ(backfilled->max_frame, grown->max_frame);

  // Everything backfilled and no reader: the next commit restarts the WAL with new salts.
  ASSERT_TRUE(ours_->Exec("ROLLBACK;").ok());
  app_->Exec("PRAGMA wal_checkpoint(PASSIVE); INSERT INTO t (v) VALUES (x'00');");
  ASSERT_NO_FATAL_FAILURE(BeginRead());
  auto restarted = ReadWalIndexEnd(ours_->raw());
  ASSERT_TRUE(restarted.ok());
  EXPECT_NE(restarted->salts, end->salts);
  EXPECT_EQ(restarted->salts, WalHeader().salts);
  EXPECT_LT(restarted->max_frame, end->max_frame);
  EXPECT_EQ(restarted->backfilled_frames, 0u);
}

// Outside a read transaction it is Unavailable (the caller falls back on what it synced): mapping the
// wal-index for a connection that has not would open shared memory that SQLite never closes.
TEST_F(WalIndexEndTest, UnavailableOutsideAReadTransaction) {
  app_->Exec("INSERT INTO t (v) VALUES (x'01');");
  EXPECT_EQ(ReadWalIndexEnd(ours_->raw()).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(ours_->QueryInt("SELECT COUNT(1) FROM t;").ok());  // a read that ended
  EXPECT_EQ(ReadWalIndexEnd(ours_->raw()).status().code(), StatusCode::kUnavailable);
}

// ReadWalIndexFrames gives the page of every committed frame, and the WalReader turns them into the same
// page map as its scan of the frames: from the start and from a commit inside the WAL, across the wal-index
// regions (4062 frames in the first, 4096 in each after it), with pages written over and over.
TEST_F(WalIndexEndTest, FramesGiveTheScansPageMap) {
  app_->Exec(InsertBlobs(3000, 3000));
  const uint32_t first_batch = WalFrames();
  for (int i = 0; i < 3; i++)
    app_->Exec(InsertBlobs(2000, 3000) + "UPDATE t SET v = zeroblob(100) WHERE id % 7 = 0;");
  ASSERT_GT(WalFrames(), 4062u + 4096u);
  ASSERT_NO_FATAL_FAILURE(BeginRead());
  auto file = FileSystem::Default()->OpenRandomAccess(path_ + "-wal");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const wal::Header header = WalHeader();

  for (uint32_t first_frame : {1u, first_batch + 1}) {
    SCOPED_TRACE("first frame " + std::to_string(first_frame));
    auto reader = first_frame == 1
                      ? wal::WalReader::Open(file->get())
                      : wal::WalReader::OpenAt(
                            file->get(), 32 + uint64_t{first_frame - 1} * header.frame_size(), header.salts);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto scanned = reader->ReadPageMap();
    ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
    auto frames = ReadWalIndexFrames(ours_->raw(), first_frame, UINT32_MAX);
    ASSERT_TRUE(frames.ok()) << frames.status().ToString();
    EXPECT_EQ(frames->pgnos.size(), WalFrames() + 1 - first_frame);
    EXPECT_EQ(frames->salts, header.salts);
    EXPECT_EQ(frames->page_size, header.page_size);
    EXPECT_EQ(frames->db_pages, scanned->commit);
    auto indexed = reader->PageMapOf(frames->pgnos, frames->db_pages);
    ASSERT_TRUE(indexed.ok()) << indexed.status().ToString();
    EXPECT_EQ(indexed->pages, scanned->pages);
    EXPECT_EQ(indexed->commit, scanned->commit);
    EXPECT_EQ(indexed->max_offset, scanned->max_offset);
  }

  // Past the end, or more frames than the caller would take: Unavailable (the caller scans instead).
  EXPECT_EQ(ReadWalIndexFrames(ours_->raw(), WalFrames() + 2, UINT32_MAX).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ReadWalIndexFrames(ours_->raw(), 1, WalFrames() - 1).status().code(), StatusCode::kUnavailable);
  auto none = ReadWalIndexFrames(ours_->raw(), WalFrames() + 1, 0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->pgnos.empty());
}

}  // namespace
}  // namespace litestream
