// Liveness: what is already on local disk must reach the replica even while a checkpoint waits for the
// application's write lock. ENGINE.md §3.10: the executor semaphore serializes sync chunks, checkpoints,
// snapshot position capture and Close; the replica upload loop (§3.8) only reads the local position, so it
// must not queue behind a checkpoint that waits up to busy_timeout for the application to commit.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "db/database.h"
#include "engine/engine_util.h"
#include "replica/replica.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ExecSql;
using testing::MakeTempDir;

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(Liveness, UploadDoesNotWaitForACheckpointBlockedByTheApplication) {
  const std::string dir = MakeTempDir("engine-liveness");
  const std::string db_path = dir + "/app.db";
  auto client = std::make_shared<FileStorageClient>(dir + "/replica");
  auto opened = engine_test::OpenAppConnection(db_path, 4096);
  ASSERT_TRUE(opened.ok());
  sqlite3* app = *opened;
  struct CloseApp {
    sqlite3* db;
    ~CloseApp() { sqlite3_close_v2(db); }
  } close_app{app};
  ASSERT_TRUE(
      ExecSql(app,
              "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t (v) VALUES (zeroblob(100));")
          .ok());

  DbOptions options;
  options.path = db_path;
  options.min_checkpoint_page_count = 1;  // every sync with new frames is followed by a PASSIVE checkpoint
  options.busy_timeout = 30s;             // a user who lets Litestream wait for long application transactions
  Database db(options, Logger());
  ASSERT_TRUE(db.Open().ok());
  Replica replica(&db, client, ReplicaOptions{}, Logger());
  ASSERT_TRUE(db.Sync().ok());
  ASSERT_TRUE(replica.Sync().ok());
  const TXID before = *db.Pos();
  ASSERT_GT(before, 0u);

  // Declared before the guard below, so that on an early return the write lock is released first.
  std::future<Status> syncing, uploading;
  std::atomic<bool> stop_uploading{false};
  struct StopUploads {
    std::atomic<bool>& flag;
    ~StopUploads() { flag = true; }
  } stop_uploads{stop_uploading};
  // The application commits, then starts a long write transaction (it holds SQLite's write lock).
  ASSERT_TRUE(ExecSql(app, "INSERT INTO t (v) VALUES (zeroblob(5000));").ok());
  ASSERT_TRUE(ExecSql(app, "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES (zeroblob(10));").ok());
  struct Rollback {
    sqlite3* db;
    bool active = true;
    void Release() {
      if (active) (void)ExecSql(db, "ROLLBACK;");
      active = false;
    }
    ~Rollback() { Release(); }
  } rollback{app};

  // Litestream syncs the committed transaction into a new local L0 file, then its PASSIVE checkpoint waits
  // for the write lock (the barrier).
  syncing = std::async(std::launch::async, [&] { return db.Sync().status(); });
  const std::string next_l0 = db.LtxPath(0, before + 1, before + 1);
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(next_l0); }, 10s))
      << next_l0 << " was never written";

  // That file is on local disk: uploading it needs nothing from SQLite. Upload passes run back to back, as
  // the upload loop would (the file may appear on disk a moment before the position that announces it).
  auto is_uploaded = [&] {
    auto l0 = client->List(0, 0);
    return l0.ok() && !l0->empty() && l0->back().max_txid >= before + 1;
  };
  uploading = std::async(std::launch::async, [&] {
    Status last;
    while (!stop_uploading && !is_uploaded()) {
      last = replica.Sync().status();
      std::this_thread::sleep_for(5ms);
    }
    return last;
  });
  const bool uploaded = WaitFor(is_uploaded, 10s);
  stop_uploading = true;
  const bool upload_returned = uploading.wait_for(0s) == std::future_status::ready;
  rollback.Release();  // let the checkpoint finish
  EXPECT_TRUE(uploaded) << "TXID " << before + 1
                        << " is in local L0 but was not uploaded within 10 s while a "
                        << "checkpoint waited for the application's write lock (upload_returned="
                        << upload_returned << ")";
  ASSERT_EQ(syncing.wait_for(60s), std::future_status::ready);
  ASSERT_EQ(uploading.wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(syncing.get().ok());
  EXPECT_TRUE(uploading.get().ok());
  db.Close();
}

}  // namespace
}  // namespace litestream
