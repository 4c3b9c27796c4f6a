// Minimal reproduction: commits made while Litestream is stopped, then checkpointed by the application and
// followed by a WAL restart, must still reach the replica.
//
// Sequence: Litestream syncs the WAL up to offset X (WAL generation G) and stops. The application commits
// C1 (frames after X, still generation G), runs a PASSIVE checkpoint (no reader left: C1 is backfilled into
// the database file) and commits C2, which restarts the WAL (generation G+1, new salts) and writes one frame
// at offset 32. The frame at X - frame_size, the last one Litestream synced, is still in the file with G's
// salts. On restart, verify() (ENGINE.md §3.4 steps 7-8) sees a salt change with the last page intact and
// continues incrementally from offset 32 of G+1: C1's pages are in no LTX file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "db/database.h"
#include "engine/engine_util.h"
#include "ltx/decoder.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream {
namespace {

using engine_test::ExecSql;
using testing::MakeTempDir;

std::vector<std::string> LocalL0(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".ltx") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(WalRestartedWhileStopped, CommitsCheckpointedWhileStoppedReachTheReplica) {
  const std::string dir = MakeTempDir("engine-walreset");
  const std::string db_path = dir + "/app.db";
  auto opened = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(opened.ok());
  sqlite3* app = *opened;
  struct CloseApp {
    sqlite3* db;
    ~CloseApp() { sqlite3_close_v2(db); }
  } close_app{app};
  ASSERT_TRUE(
      ExecSql(
          app,
          "CREATE TABLE a (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB);"
          "INSERT INTO a (v) SELECT zeroblob(3000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 "
          "UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8);")
          .ok());

  DbOptions options;
  options.path = db_path;
  {
    Database db(options, Logger());
    ASSERT_TRUE(db.Open().ok());
    auto n = db.Sync();  // TXID 1, WAL generation G up to X
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    db.Close();
  }

  // Litestream is stopped.
  ASSERT_TRUE(ExecSql(app, "INSERT INTO b (v) VALUES (x'c1c1c1'), (x'c1c1c1');").ok());  // C1
  ASSERT_TRUE(ExecSql(app, "PRAGMA wal_checkpoint(PASSIVE);").ok());
  ASSERT_TRUE(ExecSql(app, "UPDATE a SET v = x'c2' WHERE id = 1;").ok());  // C2: the WAL restarts

  {
    Database db(options, Logger());
    ASSERT_TRUE(db.Open().ok());
    auto n = db.Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    db.Close();
  }

  // Rebuild the database from the local L0 files with the test's own LTX applier (no engine restore code).
  auto files = LocalL0(dir + "/.app.db-litestream/ltx/0");
  ASSERT_GE(files.size(), 2u);
  const std::string restored = dir + "/restored.db";
  Status s = testing::ApplyLtxFiles(files, restored);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string want = testing::QueryFile(db_path, "SELECT count(*) FROM b") + "|" +
                     testing::QueryFile(db_path, "SELECT hex(v) FROM a WHERE id = 1");
  std::string got = testing::QueryFile(restored, "SELECT count(*) FROM b") + "|" +
                    testing::QueryFile(restored, "SELECT hex(v) FROM a WHERE id = 1");
  EXPECT_EQ(got, want) << "C1 (two rows in b) was lost";
  EXPECT_EQ(testing::QueryFile(restored, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace litestream

namespace litestream {
namespace {

// Two WAL restarts while Litestream is stopped, the second generation longer than the first: the first
// generation's frames are entirely overwritten, so scanning the WAL file for salts (FrameSaltsUntil,
// ENGINE.md §3.4 step 8) finds only the current generation and then Litestream's own, and concludes a
// single restart. The commit C1 of the middle generation is in no LTX file. (SQLite increments salt-1 by
// one at every restart, so the WAL header alone tells how many restarts happened since an L0's salts.)
TEST(WalRestartedWhileStopped, CommitsOfAnOverwrittenMiddleGenerationReachTheReplica) {
  const std::string dir = MakeTempDir("engine-walreset2");
  const std::string db_path = dir + "/app.db";
  auto opened = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(opened.ok());
  sqlite3* app = *opened;
  struct CloseApp {
    sqlite3* db;
    ~CloseApp() { sqlite3_close_v2(db); }
  } close_app{app};
  ASSERT_TRUE(
      ExecSql(
          app,
          "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE u (id INTEGER PRIMARY KEY, v BLOB);"
          "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30) "
          "INSERT INTO t (v) SELECT zeroblob(3000) FROM s;")
          .ok());

  DbOptions options;
  options.path = db_path;
  {
    Database db(options, Logger());
    ASSERT_TRUE(db.Open().ok());
    auto n = db.Sync();  // TXID 1: the whole WAL (generation G, about 40 frames)
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    db.Close();
  }

  // Litestream is stopped. Generation G+1 holds only C1 (a row in u); generation G+2 holds C2 (rows in t),
  // longer than G+1 and much shorter than G.
  ASSERT_TRUE(ExecSql(app, "PRAGMA wal_checkpoint(PASSIVE);").ok());
  ASSERT_TRUE(ExecSql(app, "INSERT INTO u (v) VALUES (x'c1c1c1');").ok());  // C1
  ASSERT_TRUE(ExecSql(app, "PRAGMA wal_checkpoint(PASSIVE);").ok());
  ASSERT_TRUE(ExecSql(app,
                      "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 4) "
                      "INSERT INTO t (v) SELECT zeroblob(3000) FROM s;")
                  .ok());  // C2

  {
    Database db(options, Logger());
    ASSERT_TRUE(db.Open().ok());
    auto n = db.Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    db.Close();
  }

  auto files = LocalL0(dir + "/.app.db-litestream/ltx/0");
  ASSERT_GE(files.size(), 2u);
  const std::string restored = dir + "/restored.db";
  Status s = testing::ApplyLtxFiles(files, restored);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string kContent = "SELECT (SELECT count(*) FROM t) || ' / ' || (SELECT count(*) FROM u)";
  EXPECT_EQ(testing::QueryFile(restored, kContent), testing::QueryFile(db_path, kContent))
      << "C1 (the row in u) was lost";
  EXPECT_EQ(testing::QueryFile(restored, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace litestream
