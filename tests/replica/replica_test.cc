// Replica: what goes to the storage, and when.
#include "replica/replica.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "litestream/restore.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"
#include "util/fault_file_system.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::InsertBlobs;
using testing::MakeTempDir;
using testing::QueryFile;
using testing::WaitFor;

std::string ReadBytes(const std::string& path) {
  auto in = FileSystem::Default()->OpenSequential(path, 0);
  EXPECT_TRUE(in.ok()) << path;
  if (!in.ok()) return "";
  auto all = (*in)->ReadAll(1 << 30);
  return all.ok() ? std::string(all->begin(), all->end()) : "";
}

// A database whose first L0 (about 2 MB) is big enough to stream, on a file system that holds an operation
// on the staged L0 (its rename, unless a test picks another: hold_) back until the test releases it: the
// sync is then still at work when the upload runs.
class StreamedSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("replica-stream");
    app_ = std::make_unique<AppDb>(dir_ + "/app.db");
    app_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    app_->Exec(InsertBlobs(500, 3000));
    fs_.SetBeforeHook([this](FaultOp op, const std::string& path) {
      if (path.find("/ltx/0/") == std::string::npos || !hold_(op)) return;
      std::unique_lock<std::mutex> lock(mu_);
      gate_.wait_for(lock, 20s, [&] { return released_; });
    });
    DbOptions options;
    options.path = app_->path();
    options.compress_parallel_pages = 64;
    db_ = std::make_unique<Database>(options, Logger(), &fs_);
    ASSERT_TRUE(db_->Open().ok());
    client_ = std::make_shared<FileStorageClient>(dir_ + "/replica");
    replica_ = std::make_unique<Replica>(db_.get(), client_, ReplicaOptions{}, Logger());
  }

  // Runs the first sync and an upload at once; releases the rename once the replica holds part of the file.
  void SyncAndUploadTogether(Result<int>* synced, Result<bool>* uploaded) {
    std::thread sync([&] { *synced = db_->Sync(); });
    const bool staging = WaitFor([&] { return db_->staging_l0().has_value(); }, 20s, 1ms);
    std::thread upload([&] { *uploaded = replica_->Sync(false); });
    const std::string partial = dir_ + "/replica/ltx/0/" + FormatLtxFilename(1, 1) + ".tmp";
    streamed_before_staged_ = staging && WaitFor(
                                             [&] {
                                               std::error_code ec;
                                               return std::filesystem::file_size(partial, ec) > 0 && !ec;
                                             },
                                             20s, 1ms);
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    gate_.notify_all();
    sync.join();
    upload.join();
  }

  std::string dir_;
  std::unique_ptr<AppDb> app_;
  FaultFileSystem fs_{FileSystem::Default()};
  std::mutex mu_;
  std::condition_variable gate_;
  bool released_ = false;
  std::function<bool(FaultOp)> hold_ = [](FaultOp op) { return op == FaultOp::kRename; };
  bool streamed_before_staged_ = false;
  std::unique_ptr<Database> db_;
  std::shared_ptr<FileStorageClient> client_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(StreamedSnapshotTest, BigSnapshotGoesUpWhileItIsStaged) {
  Result<int> synced = 0;
  Result<bool> uploaded = false;
  SyncAndUploadTogether(&synced, &uploaded);
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_TRUE(streamed_before_staged_) << "the upload did not start before the staged file was complete";
  EXPECT_EQ(replica_->CachedPos(), 1u);
  EXPECT_FALSE(db_->replica_may_be_ahead());
  const std::string name = "/ltx/0/" + FormatLtxFilename(1, 1);
  EXPECT_TRUE(ReadBytes(dir_ + "/replica" + name) == ReadBytes(dir_ + "/.app.db-litestream" + name))
      << "the replica's file differs from the staged one";

  RestoreOptions o;
  o.output_path = dir_ + "/restored.db";
  ASSERT_TRUE(Restore(*client_, o).ok());
  EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*), sum(length(v)) FROM t"), "500|1500000");
}

TEST_F(StreamedSnapshotTest, SnapshotAbandonedWhileWrittenLeavesNothingOnTheReplica) {
  // About 8 MB, written 1 MiB at a time: the fifth write waits until the replica holds part of the file,
  // then fails.
  app_->Exec(InsertBlobs(2000, 3000));
  int writes = 0;
  hold_ = [&](FaultOp op) { return op == FaultOp::kWrite && ++writes == 5; };
  fs_.FailNth(FaultOp::kWrite, 5, Status::IOError("injected: write error"), ".ltx.tmp");
  Result<int> synced = 0;
  Result<bool> uploaded = true;
  SyncAndUploadTogether(&synced, &uploaded);
  EXPECT_FALSE(synced.ok());
  EXPECT_TRUE(streamed_before_staged_);
  // The sync's failure is not the replica's: no error, nothing on the replica, not even a partial file.
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(replica_->CachedPos(), 0u);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/replica/ltx/0", ec)) << ec.message();
  EXPECT_FALSE(db_->replica_may_be_ahead());

  // The next sync writes the snapshot again and it goes up as usual.
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(replica_->Sync(false).ok());
  EXPECT_EQ(replica_->CachedPos(), 1u);
  RestoreOptions o;
  o.output_path = dir_ + "/restored.db";
  ASSERT_TRUE(Restore(*client_, o).ok());
  EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*) FROM t"), "2500");
}

// The replica commits its copy once every byte is written, before the staged file is durable. When staging
// then fails, the replica is a file ahead: the database continues after the replica's file, never writing
// a second, different TXID 1.
TEST_F(StreamedSnapshotTest, SnapshotThatFailsToStageAfterItsUploadIsContinuedFromTheReplica) {
  fs_.FailNth(FaultOp::kRename, 1, Status::IOError("injected: rename error"), ".ltx.tmp");
  Result<int> synced = 0;
  Result<bool> uploaded = false;
  SyncAndUploadTogether(&synced, &uploaded);
  EXPECT_FALSE(synced.ok());
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(replica_->CachedPos(), 1u);
  EXPECT_TRUE(db_->replica_may_be_ahead());

  app_->Exec(InsertBlobs(100, 3000));
  auto refused = db_->Sync();
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  ASSERT_TRUE(replica_->Sync(false).ok());  // compares positions: the local copy of TXID 1 comes from it
  EXPECT_FALSE(db_->replica_may_be_ahead());
  EXPECT_EQ(*db_->Pos(), 1u);
  ASSERT_TRUE(db_->Sync().ok());
  EXPECT_EQ(*db_->Pos(), 2u);
  ASSERT_TRUE(replica_->Sync(false).ok());
  EXPECT_EQ(replica_->CachedPos(), 2u);

  for (auto [txid, rows] : {std::pair<TXID, const char*>{1, "500"}, {2, "600"}}) {
    RestoreOptions o;
    o.output_path = dir_ + "/restored-" + std::to_string(txid) + ".db";
    o.txid = txid;
    ASSERT_TRUE(Restore(*client_, o).ok()) << txid;
    EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*) FROM t"), rows) << txid;
  }
}

}  // namespace
}  // namespace litestream
