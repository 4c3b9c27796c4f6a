// Replica: what goes to the storage, and when.
#include "replica/replica.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
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

// A database whose first L0 (about 2 MB) is big enough to stream, on a file system that holds the
// staged L0's rename back until the test releases it: the sync is then still writing when the upload runs.
class StreamedSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("replica-stream");
    app_ = std::make_unique<AppDb>(dir_ + "/app.db");
    app_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    app_->Exec(InsertBlobs(500, 3000));
    fs_.SetBeforeHook([this](FaultOp op, const std::string& path) {
      if (op != FaultOp::kRename || path.find("/ltx/0/") == std::string::npos) return;
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
  const std::string name = "/ltx/0/" + FormatLtxFilename(1, 1);
  EXPECT_TRUE(ReadBytes(dir_ + "/replica" + name) == ReadBytes(dir_ + "/.app.db-litestream" + name))
      << "the replica's file differs from the staged one";

  RestoreOptions o;
  o.output_path = dir_ + "/restored.db";
  ASSERT_TRUE(Restore(*client_, o).ok());
  EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*), sum(length(v)) FROM t"), "500|1500000");
}

TEST_F(StreamedSnapshotTest, AbandonedSnapshotLeavesNothingOnTheReplica) {
  fs_.FailNth(FaultOp::kRename, 1, Status::IOError("injected: crash before the rename"), ".ltx.tmp");
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

  // The next sync writes the snapshot again and it goes up as usual.
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(replica_->Sync(false).ok());
  EXPECT_EQ(replica_->CachedPos(), 1u);
  RestoreOptions o;
  o.output_path = dir_ + "/restored.db";
  ASSERT_TRUE(Restore(*client_, o).ok());
  EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*) FROM t"), "500");
}

}  // namespace
}  // namespace litestream
