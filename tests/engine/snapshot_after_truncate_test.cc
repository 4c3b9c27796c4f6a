// Minimal reproduction: a level-9 snapshot must hold exactly the state at its TXID (ENGINE.md §3.7, upstream
// test SnapshotExcludesUnsyncedWALFrames), also after a TRUNCATE checkpoint that could not restart the WAL.
//
// Litestream's TRUNCATE checkpoint runs without a write barrier (§3.6), so commits that land between its
// pre-checkpoint sync and `PRAGMA wal_checkpoint(TRUNCATE)` are backfilled into the database file. When an
// application reader keeps the WAL from being truncated (busy = 1), the WAL is not restarted, no boundary
// snapshot is taken, and the database file now holds pages newer than the local position. The snapshot
// stream reads every page that is not in the WAL page map (bounded to the last synced offset) from the
// database file, so the snapshot labelled 1-N contains pages of commits after N: a restore to N through it
// is torn (seen as "database disk image is malformed" in the randomized workload test under ASan).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <mutex>

#include "db/database.h"
#include "engine/engine_util.h"
#include "engine/hook_file_system.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "util/file_system.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ExecSql;
using engine_test::HookFileSystem;
using testing::MakeTempDir;

TEST(SnapshotAfterTruncate, SnapshotHoldsExactlyTheStateAtItsTxid) {
  const std::string dir = MakeTempDir("engine-snaptrunc");
  const std::string db_path = dir + "/app.db";
  auto writer = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(writer.ok());
  auto reader = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(reader.ok());
  struct CloseBoth {
    sqlite3* a;
    sqlite3* b;
    ~CloseBoth() {
      sqlite3_close_v2(a);
      sqlite3_close_v2(b);
    }
  } close_both{*writer, *reader};
  ASSERT_TRUE(
      ExecSql(
          *writer,
          "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);"
          "INSERT INTO a (v) VALUES ('a1'); INSERT INTO b (v) VALUES ('old');")
          .ok());
  // Everything in the database file, an empty WAL: b's page will be in no WAL frame Litestream syncs.
  ASSERT_TRUE(ExecSql(*writer, "PRAGMA wal_checkpoint(TRUNCATE);").ok());

  HookFileSystem fs;
  DbOptions options;
  options.path = db_path;
  options.busy_timeout = 200ms;  // how long the TRUNCATE waits for the application's reader
  Database db(options, Logger(), &fs);
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.Sync().ok());

  ASSERT_TRUE(
      ExecSql(*writer, "INSERT INTO a (v) VALUES ('a2');").ok());  // synced by the pre-checkpoint sync
  bool hook_ran = false;
  fs.ArmAfterNextL0([&] {
    // Right after the pre-checkpoint sync: the application commits C2 and a reader starts a transaction
    // that sees it (its read mark is the WAL end, so backfill is not limited, but truncation must wait).
    hook_ran = ExecSql(*writer, "UPDATE b SET v = 'new' WHERE id = 1;").ok() &&
               ExecSql(*reader, "BEGIN; SELECT count(*) FROM b;").ok();
  });
  Status s = db.Checkpoint(CheckpointMode::kTruncate);
  ASSERT_TRUE(hook_ran);
  ASSERT_TRUE(ExecSql(*reader, "COMMIT;").ok());
  ASSERT_TRUE(s.ok()) << s.ToString();
  const TXID pos = *db.Pos();

  // The state at `pos` from the L0 files (the test's own applier). Whether C2 is in it depends on whether
  // the checkpoint synced it; what matters is that the snapshot 1-pos holds exactly this state.
  std::vector<std::string> l0;
  for (TXID t = 1; t <= pos; t++) l0.push_back(db.LtxPath(0, t, t));
  const std::string from_l0 = dir + "/from-l0.db";
  ASSERT_TRUE(testing::ApplyLtxFiles(l0, from_l0).ok());
  const std::string expected = testing::QueryFile(from_l0, "SELECT v FROM b WHERE id = 1");

  // The level-9 snapshot 1-pos.
  auto snapshot = db.OpenSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  ASSERT_EQ((*snapshot)->txid(), pos);
  auto bytes = (*snapshot)->ReadAll(size_t{1} << 30);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  snapshot->reset();
  const std::string snapshot_ltx = dir + "/snapshot.ltx";
  ASSERT_TRUE(WriteFileAtomic(*FileSystem::Default(), snapshot_ltx, bytes->data(), bytes->size()).ok());
  const std::string from_snapshot = dir + "/from-snapshot.db";
  ASSERT_TRUE(testing::ApplyLtxFiles({snapshot_ltx}, from_snapshot).ok());
  EXPECT_EQ(testing::QueryFile(from_snapshot, "SELECT v FROM b WHERE id = 1"), expected)
      << "the snapshot labelled 1-" << pos << " differs from the state of the L0 files up to " << pos;
  EXPECT_EQ(testing::QueryFile(from_snapshot, "PRAGMA integrity_check"), "ok");
  db.Close();
}

}  // namespace
}  // namespace litestream
