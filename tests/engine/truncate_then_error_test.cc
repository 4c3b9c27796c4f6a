// Minimal reproduction: commits that a TRUNCATE checkpoint backfilled and truncated away must reach an LTX
// file even when a step after the truncation fails.
//
// Litestream's TRUNCATE checkpoint (ENGINE.md §3.6) runs without a write barrier: a commit C2 can land
// between its pre-checkpoint sync and `PRAGMA wal_checkpoint(TRUNCATE)`, gets backfilled and truncated away
// unseen, and only the boundary snapshot (a full-page L0 taken after the restart) covers it (#1198). The
// steps between the truncation and that snapshot ("bump seq", which needs SQLite's write lock for up to
// busy_timeout) can fail: the checkpoint then returns the error without the boundary snapshot, while the
// sync state still says "synced to the WAL end". The next sync sees the WAL shorter than the last offset,
// concludes "wal truncated after sync to end" (#927) and continues incrementally from offset 32: C2 is in
// no LTX file. (Seen in the randomized workload test under ASan: "sync error ... bump seq after
// checkpoint: database is locked", then a malformed restore.)
//
// Making "bump seq" fail deterministically needs the application to take SQLite's write lock in the instant
// between the truncation and the bump; a pass-through SQLite VFS (registered as the default for this test
// only) runs that step right when the checkpointer releases the write lock after truncating the WAL.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <functional>
#include <mutex>

#include "db/database.h"
#include "engine/engine_util.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "util/file_system.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ExecSql;
using testing::MakeTempDir;

// ---------------------------------------------------------------------------------------------------
// A pass-through VFS over the default one. After a -wal file is truncated to 0 bytes, the next release of
// the WAL write lock (shm lock slot 0) runs a one-shot hook on the releasing thread.

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool is_wal;
};

sqlite3_vfs* g_real_vfs = nullptr;
std::atomic<bool> g_wal_truncated{false};
std::mutex g_hook_mu;
std::function<void()> g_on_checkpoint_lock;     // after the next CHECKPOINT lock is taken
std::function<void()> g_after_truncate_unlock;  // after the WAL write lock is released following a truncation

void RunHook(std::function<void()>& slot) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(g_hook_mu);
    hook.swap(slot);
  }
  if (hook) hook();
}

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int ShimClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int ShimRead(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
  return Real(f)->pMethods->xRead(Real(f), p, n, o);
}
int ShimWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  return Real(f)->pMethods->xWrite(Real(f), p, n, o);
}
int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  int rc = Real(f)->pMethods->xTruncate(Real(f), size);
  if (rc == SQLITE_OK && size == 0 && reinterpret_cast<ShimFile*>(f)->is_wal) g_wal_truncated = true;
  return rc;
}
int ShimSync(sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); }
int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int ShimLock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int ShimUnlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int ShimDeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShimShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, p);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  int rc = Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  if (rc != SQLITE_OK) return rc;
  if (offset == 1 && flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE)) RunHook(g_on_checkpoint_lock);
  if (offset == 0 && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) && g_wal_truncated.exchange(false)) {
    RunHook(g_after_truncate_unlock);
  }
  return rc;
}
void ShimShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShimShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int ShimFetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
  return Real(f)->pMethods->xFetch(Real(f), o, n, p);
}
int ShimUnfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), o, p);
}

const sqlite3_io_methods kShimMethods = {
    .iVersion = 3,
    .xClose = ShimClose,
    .xRead = ShimRead,
    .xWrite = ShimWrite,
    .xTruncate = ShimTruncate,
    .xSync = ShimSync,
    .xFileSize = ShimFileSize,
    .xLock = ShimLock,
    .xUnlock = ShimUnlock,
    .xCheckReservedLock = ShimCheckReservedLock,
    .xFileControl = ShimFileControl,
    .xSectorSize = ShimSectorSize,
    .xDeviceCharacteristics = ShimDeviceCharacteristics,
    .xShmMap = ShimShmMap,
    .xShmLock = ShimShmLock,
    .xShmBarrier = ShimShmBarrier,
    .xShmUnmap = ShimShmUnmap,
    .xFetch = ShimFetch,
    .xUnfetch = ShimUnfetch,
};

int ShimOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<ShimFile*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = nullptr;
  int rc = g_real_vfs->xOpen(g_real_vfs, name, f->real, flags, out_flags);
  if (rc == SQLITE_OK || f->real->pMethods != nullptr) f->base.pMethods = &kShimMethods;
  return rc;
}

// Registers the shim as the default VFS for the lifetime of the object (connections must be closed first).
class ShimVfs {
 public:
  ShimVfs() {
    g_real_vfs = sqlite3_vfs_find(nullptr);
    vfs_ = *g_real_vfs;
    vfs_.zName = "engine-test-shim";
    vfs_.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real_vfs->szOsFile;
    vfs_.pNext = nullptr;
    vfs_.xOpen = ShimOpen;
    ok_ = sqlite3_vfs_register(&vfs_, 1) == SQLITE_OK;
  }
  ~ShimVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(g_real_vfs, 1);
  }
  bool ok() const { return ok_; }

 private:
  sqlite3_vfs vfs_{};
  bool ok_ = false;
};

TEST(TruncateThenError, CommitsTruncatedAwayReachAnLtxFile) {
  ShimVfs shim;
  ASSERT_TRUE(shim.ok());
  const std::string dir = MakeTempDir("engine-truncerr");
  const std::string db_path = dir + "/app.db";
  const std::string restored = dir + "/restored.db";
  std::string want, got, integrity;
  std::string checkpoint_error, log;
  {
    auto app = engine_test::OpenAppConnection(db_path, 4096);
    auto other = engine_test::OpenAppConnection(db_path, 4096);  // a second application connection
    ASSERT_TRUE(app.ok() && other.ok());
    struct CloseBoth {
      sqlite3* a;
      sqlite3* b;
      ~CloseBoth() {
        sqlite3_close_v2(a);
        sqlite3_close_v2(b);
      }
    } close_both{*app, *other};
    // Enough frames that the WAL after the restart stays shorter than the offset Litestream reached.
    ASSERT_TRUE(ExecSql(*app,
                        "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);"
                        "CREATE TABLE u (id INTEGER PRIMARY KEY, v BLOB);"
                        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 40) "
                        "INSERT INTO t (v) SELECT zeroblob(3000) FROM s;")
                    .ok());

    DbOptions options;
    options.path = db_path;
    options.busy_timeout = 200ms;
    auto sink = std::make_shared<engine_test::CapturingLogSink>();
    Database db(options, Logger(sink, LogLevel::kDebug));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(db.Sync().ok());

    ASSERT_TRUE(ExecSql(*app, "INSERT INTO t (v) VALUES (x'c1c1');").ok());  // C1: synced by the pre-sync
    // C2 lands as the TRUNCATE starts (it holds the checkpoint lock and is about to wait for the write lock),
    // after the pre-checkpoint sync has consumed the WAL to its end. Right after the truncation the
    // application starts a write transaction, so "bump seq" times out.
    bool c2 = false, held = false;
    struct DisarmHooks {
      ~DisarmHooks() {
        std::lock_guard<std::mutex> lock(g_hook_mu);
        g_on_checkpoint_lock = nullptr;
        g_after_truncate_unlock = nullptr;
        g_wal_truncated = false;
      }
    } disarm;
    {
      std::lock_guard<std::mutex> lock(g_hook_mu);
      g_on_checkpoint_lock = [&] { c2 = ExecSql(*app, "INSERT INTO u (v) VALUES (x'c2c2c2c2');").ok(); };
      g_after_truncate_unlock = [&] {
        held = ExecSql(*other, "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES (x'c3');").ok();
      };
    }
    Status s = db.Checkpoint(CheckpointMode::kTruncate);
    checkpoint_error = s.ToString();
    ASSERT_TRUE(c2) << "the C2 hook did not run; checkpoint: " << checkpoint_error;
    ASSERT_TRUE(held) << "the post-truncate hook did not run; checkpoint: " << checkpoint_error;
    EXPECT_FALSE(s.ok()) << "expected the checkpoint to fail in bump seq";
    ASSERT_TRUE(ExecSql(*other, "COMMIT;").ok());  // C3: a short WAL with new salts

    auto n = db.Sync();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    const TXID pos = *db.Pos();
    std::vector<std::string> l0;
    for (TXID t = 1; t <= pos; t++) l0.push_back(db.LtxPath(0, t, t));
    db.Close();
    log = sink->Matching("sync", 100);
    ASSERT_TRUE(testing::ApplyLtxFiles(l0, restored).ok());
    want = testing::QueryFile(db_path,
                              "SELECT (SELECT group_concat(hex(v)) FROM t WHERE length(v) < 10) || ' / ' || "
                              "(SELECT count(*) FROM u)");
  }
  got = testing::QueryFile(restored,
                           "SELECT (SELECT group_concat(hex(v)) FROM t WHERE length(v) < 10) || ' / ' || "
                           "(SELECT count(*) FROM u)");
  integrity = testing::QueryFile(restored, "PRAGMA integrity_check");
  EXPECT_EQ(got, want) << "C2 (the row in u) is missing; the checkpoint returned: " << checkpoint_error
                       << "\nsyncs:\n"
                       << log;
  EXPECT_EQ(integrity, "ok");
}

}  // namespace
}  // namespace litestream
