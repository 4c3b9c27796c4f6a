// The WAL reader against WAL files written by the SQLite we link (the amalgamation in litestream_core).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "support/paths.h"
#include "util/file_system.h"
#include "wal/reader.h"

namespace litestream::wal {
namespace {

class SqliteWal : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = litestream::testing::MakeTempDir("wal-sqlite") + "/app.db";
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    Exec("PRAGMA page_size = 4096");
    Exec("PRAGMA journal_mode = WAL");
    Exec("PRAGMA wal_autocheckpoint = 0");
    Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  int64_t QueryInt(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
  }
  // The page as this connection sees it (the newest committed version, from the WAL or the DB file).
  std::vector<uint8_t> DbPage(uint32_t pgno) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT data FROM sqlite_dbpage WHERE pgno = ?", -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, pgno);
    std::vector<uint8_t> out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
      out.assign(p, p + sqlite3_column_bytes(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void WriteTransactions(int count, int rows_each) {
    for (int t = 0; t < count; t++) {
      Exec("BEGIN");
      for (int r = 0; r < rows_each + t % 3; r++) Exec("INSERT INTO t (v) VALUES (randomblob(1500))");
      if (t % 4 == 3) Exec("UPDATE t SET v = randomblob(100) WHERE id % 7 = 0");
      Exec("COMMIT");
    }
  }
  std::unique_ptr<RandomAccessFile> OpenWal() {
    auto file = FileSystem::Default()->OpenRandomAccess(path_ + "-wal");
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(*file) : nullptr;
  }
  // Every page of the map holds exactly what SQLite reports for it.
  void ExpectPagesMatchSqlite(const WalReader& reader, const PageMap& m) {
    std::vector<uint8_t> page(reader.page_size());
    for (const auto& [pgno, offset] : m.pages) {
      auto fh = reader.ReadFrame(offset, page.data());
      ASSERT_TRUE(fh.ok()) << fh.status().ToString();
      ASSERT_EQ(fh->pgno, pgno);
      ASSERT_EQ(page, DbPage(pgno)) << "pgno " << pgno;
    }
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(SqliteWal, PageMapMatchesWhatSqliteReports) {
  WriteTransactions(30, 5);
  const int64_t page_count = QueryInt("PRAGMA page_count");
  ASSERT_GT(page_count, 50);

  auto file = OpenWal();
  ASSERT_NE(file, nullptr);
  auto reader = WalReader::Open(file.get());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader->page_size(), 4096u);
  auto m = reader->ReadPageMap();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->commit, uint32_t(page_count));
  // Every page was written after the switch to WAL mode, so the WAL holds all of them.
  std::set<uint32_t> pgnos;
  for (const auto& entry : m->pages) pgnos.insert(entry.first);
  std::set<uint32_t> want;
  for (uint32_t p = 1; p <= uint32_t(page_count); p++) want.insert(p);
  EXPECT_EQ(pgnos, want);
  // Nothing uncommitted: the last committed frame ends the file.
  EXPECT_EQ(m->max_offset, *file->Size());
  EXPECT_FALSE(m->limited);
  ExpectPagesMatchSqlite(*reader, *m);
}

// How sync() drains a large WAL: limited chunks continued with OpenAt add up to the whole page map.
TEST_F(SqliteWal, LimitedChunksAddUpToTheWholeWal) {
  WriteTransactions(40, 3);
  auto file = OpenWal();
  ASSERT_NE(file, nullptr);
  auto whole_reader = WalReader::Open(file.get());
  ASSERT_TRUE(whole_reader.ok());
  auto whole = whole_reader->ReadPageMap();
  ASSERT_TRUE(whole.ok());

  std::map<uint32_t, uint64_t> merged;
  uint64_t offset = 32;
  uint32_t commit = 0;
  int chunks = 0;
  for (;; chunks++) {
    ASSERT_LT(chunks, 1000);
    auto reader = offset == 32 ? WalReader::Open(file.get())
                               : WalReader::OpenAt(file.get(), offset, whole_reader->salts());
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto m = reader->ReadPageMap(64 * 1024);
    ASSERT_TRUE(m.ok());
    if (m->max_offset == 0) break;
    EXPECT_GT(m->max_offset, offset);
    for (const auto& [pgno, off] : m->pages) merged[pgno] = off;
    // Pages past a later, smaller commit would have to be dropped; this workload only grows.
    commit = m->commit;
    offset = m->max_offset;
  }
  EXPECT_GT(chunks, 10);
  EXPECT_EQ(merged, whole->pages);
  EXPECT_EQ(commit, whole->commit);
  EXPECT_EQ(offset, whole->max_offset);
}

TEST_F(SqliteWal, RestartedWalShowsTheNewGenerationAndItsSalts) {
  WriteTransactions(20, 5);
  auto file = OpenWal();
  ASSERT_NE(file, nullptr);
  auto before = ReadHeader(*file);
  ASSERT_TRUE(before.ok());

  // A full checkpoint lets the next writer restart the WAL from the beginning with new salts.
  Exec("PRAGMA wal_checkpoint(PASSIVE)");
  Exec("INSERT INTO t (v) VALUES (randomblob(10))");
  auto after = ReadHeader(*file);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_NE(after->salts, before->salts);
  EXPECT_EQ(after->salts.salt1, before->salts.salt1 + 1);

  auto reader = WalReader::Open(file.get());
  ASSERT_TRUE(reader.ok());
  auto m = reader->ReadPageMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->commit, uint32_t(QueryInt("PRAGMA page_count")));
  EXPECT_FALSE(m->pages.empty());
  EXPECT_LT(m->max_offset, *file->Size());  // stale frames of the old generation follow
  ExpectPagesMatchSqlite(*reader, *m);

  auto salts = reader->FrameSaltsUntil(before->salts);
  ASSERT_TRUE(salts.ok());
  EXPECT_EQ(*salts, (std::vector<Salts>{after->salts, before->salts}));

  // A reader continuing the old generation past the overwritten frames still sees old committed frames.
  uint64_t next_old = m->max_offset + reader->frame_size();
  auto old_reader = WalReader::OpenAt(file.get(), next_old, before->salts);
  ASSERT_TRUE(old_reader.ok()) << old_reader.status().ToString();
  // ...and one whose previous frame was overwritten is told to start over.
  auto overwritten = WalReader::OpenAt(file.get(), m->max_offset, before->salts);
  EXPECT_TRUE(IsPrevFrameMismatch(overwritten.status())) << overwritten.status().ToString();
}

}  // namespace
}  // namespace litestream::wal
