// Minimal reproduction: the WAL must not be restarted (overwritten) while Litestream copies frames out of
// it.
//
// ENGINE.md §3.1 step 8 relies on Litestream's long-lived read transaction to keep other connections from
// restarting the WAL. SQLite gives that guarantee only to readers that use the WAL: a read transaction that
// starts while the WAL is fully backfilled takes read-mark 0 ("reads the database file only"), and the next
// writer then restarts the WAL and overwrites it from offset 32 (walRestartLog: "if all readers are using
// WAL_READ_LOCK(0) ... the transaction's frames will overwrite the start of the existing log").
//
// That is the state after a restart of Litestream when the application checkpointed the WAL completely
// while it was down (or after an application checkpoint just before Litestream re-takes its read lock).
// The sync then builds its page map from the old frames, and by the time it reads the page data an
// application commit has overwritten those offsets with frames of the new generation: the L0 file gets
// pages of the wrong page number or version. Seen in the kill -9 test as an L0 written right after a
// restart ("wal restarted after commits that were not synced", a full-page L0) that restores corrupt.
#include <gtest/gtest.h>

#include "db/database.h"
#include "engine/engine_util.h"
#include "engine/hook_file_system.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream {
namespace {

using engine_test::ExecSql;
using engine_test::HookFileSystem;
using testing::MakeTempDir;

TEST(WalOverwrittenDuringSync, LtxPagesComeFromTheWalGenerationThatWasMapped) {
  const std::string dir = MakeTempDir("engine-walover");
  const std::string db_path = dir + "/app.db";
  auto opened = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(opened.ok());
  sqlite3* app = *opened;
  struct CloseApp {
    sqlite3* db;
    ~CloseApp() { sqlite3_close_v2(db); }
  } close_app{app};
  ASSERT_TRUE(ExecSql(app,
                      "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);"
                      "CREATE TABLE u (id INTEGER PRIMARY KEY, v BLOB);"
                      "INSERT INTO t (v) VALUES (zeroblob(100));")
                  .ok());

  DbOptions options;
  options.path = db_path;
  {  // Litestream runs once (TXID 1), then stops.
    Database db(options, Logger());
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(db.Sync().ok());
    db.Close();
  }

  // While it is stopped: W (many pages of t), then a complete checkpoint. The WAL still holds every frame,
  // all of them backfilled.
  ASSERT_TRUE(ExecSql(app,
                      "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30) "
                      "INSERT INTO t (v) SELECT randomblob(3000) FROM s;")
                  .ok());
  ASSERT_TRUE(ExecSql(app, "PRAGMA wal_checkpoint(PASSIVE);").ok());
  const std::string kContent = "SELECT count(*), sum(length(v)), group_concat(hex(substr(v, 1, 8))) FROM t";
  const std::string want = testing::QueryFile(db_path, kContent);

  // Litestream restarts; while it writes the next L0 (page map read, page data not yet), the application
  // commits C, which restarts the WAL and overwrites its first frames with pages of u.
  HookFileSystem fs;
  bool c_ok = false;
  fs.ArmOnNextL0Create([&] {
    c_ok = ExecSql(app,
                   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60) "
                   "INSERT INTO u (v) SELECT zeroblob(3000) FROM s;")
               .ok();
  });
  TXID pos = 0;
  {
    Database db(options, Logger(), &fs);
    ASSERT_TRUE(db.Open().ok());
    auto n = db.Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    pos = *db.Pos();
    db.Close();
  }
  ASSERT_TRUE(c_ok) << "the hook did not run (no L0 file was written?)";
  ASSERT_GE(pos, 2u);

  // TXID 2 is the state after W (C came later and is in a later file, if any).
  std::vector<std::string> l0;
  for (TXID t = 1; t <= 2; t++) l0.push_back(dir + "/.app.db-litestream/ltx/0/" + FormatLtxFilename(t, t));
  const std::string restored = dir + "/restored.db";
  Status s = testing::ApplyLtxFiles(l0, restored);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::QueryFile(restored, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(testing::QueryFile(restored, kContent), want);
}

}  // namespace
}  // namespace litestream
