// Faults a replicator meets in production: a full disk while staging, a replica emptied behind its back,
// a corrupted local L0 file. Each must give a clear error, recover by itself, and lose nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "db/database.h"
#include "litestream/restore.h"
#include "storage/file/file_storage.h"
#include "store/store.h"
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

constexpr char kDigest[] = "SELECT count(*), sum(length(v)), max(id) FROM t";

std::vector<std::string> TmpFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".tmp") out.push_back(it->path().string());
  }
  return out;
}

TEST(Faults, DiskFullWhileStagingIsReportedAndRecovers) {
  std::string dir = MakeTempDir("faults");
  AppDb app(dir + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  FaultFileSystem fs(FileSystem::Default());
  DbOptions options;
  options.path = dir + "/app.db";
  Database db(options, Logger(), &fs);
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.Sync().ok());
  app.Exec(InsertBlobs(20, 3000));
  fs.FailNth(FaultOp::kWrite, 1, Status::DiskFull("no space left on device (injected)"), ".ltx.tmp", true);
  for (int i = 0; i < 4; i++) {
    auto r = db.Sync();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsDiskFull()) << r.status().ToString();
    EXPECT_NE(r.status().message().find(".ltx.tmp"), std::string::npos) << r.status().message();
  }
  EXPECT_TRUE(TmpFiles(dir + "/.app.db-litestream").empty());
  EXPECT_EQ(*db.Pos(), 1u);
  fs.Clear();
  app.Exec(InsertBlobs(5, 3000));
  auto r = db.Sync();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> files;
  for (TXID t = 1; t <= *db.Pos(); t++) files.push_back(db.LtxPath(0, t, t));
  ASSERT_TRUE(testing::ApplyLtxFiles(files, dir + "/restored.db").ok());
  EXPECT_EQ(QueryFile(dir + "/restored.db", kDigest), app.Query(kDigest));
}

// Writing the application's WAL back before each read-mark hand-off is a hint: when it fails, syncs,
// hand-offs and checkpoints carry on and the replica still restores exactly.
TEST(Faults, FailingWalWriteBackChangesNothing) {
  std::string dir = MakeTempDir("faults");
  AppDb app(dir + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  FaultFileSystem fs(FileSystem::Default());
  fs.FailNth(FaultOp::kSync, 1, Status::IOError("writeback failed (injected)"), "app.db-wal", true);
  DbOptions options;
  options.path = dir + "/app.db";
  Database db(options, Logger(), &fs);
  ASSERT_TRUE(db.Open().ok());
  for (int i = 0; i < 5; i++) {
    app.Exec(InsertBlobs(300, 3000));  // past 1,000 WAL pages: syncs hand off during the sync too
    ASSERT_TRUE(db.Sync().ok());
  }
  ASSERT_TRUE(db.Checkpoint(CheckpointMode::kPassive).ok());
  app.Exec(InsertBlobs(5, 3000));
  ASSERT_TRUE(db.Sync().ok());
  EXPECT_GT(fs.InjectedCount(), 0);
  std::vector<std::string> files;
  for (TXID t = 1; t <= *db.Pos(); t++) files.push_back(db.LtxPath(0, t, t));
  ASSERT_TRUE(testing::ApplyLtxFiles(files, dir + "/restored.db").ok());
  EXPECT_EQ(QueryFile(dir + "/restored.db", kDigest), app.Query(kDigest));
}

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("store-faults");
    client_ = std::make_shared<FileStorageClient>(dir_ + "/replica");
  }

  DbEntry Entry() {
    DbEntry e;
    e.db.path = dir_ + "/app.db";
    e.client = client_;
    e.monitor_interval = 20ms;
    e.replica.sync_interval = 20ms;
    return e;
  }

  // True when the replica restores (latest) to exactly the application's state.
  bool ReplicaMatches(AppDb& app) {
    RestoreOptions o;
    o.output_path = dir_ + "/probe.db";
    o.force = true;
    o.integrity_check = IntegrityCheck::kQuick;
    auto r = Restore(*client_, o);
    return r.ok() && QueryFile(o.output_path, kDigest) == app.Query(kDigest);
  }

  std::string dir_;
  std::shared_ptr<FileStorageClient> client_;
};

TEST_F(StoreFaultTest, ReplicaDirectoryThatDisappearsIsRebased) {
  AppDb app(dir_ + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  StoreOptions options;
  options.levels = {1s};
  options.l0_retention_check_interval = 100ms;
  Store store(options, Logger());
  ASSERT_TRUE(store.Open({Entry()}).ok());
  app.Exec(InsertBlobs(10, 1000));
  ASSERT_TRUE(WaitFor([&] { return ReplicaMatches(app); }));
  std::filesystem::remove_all(dir_ + "/replica");
  app.Exec(InsertBlobs(10, 1000));
  EXPECT_TRUE(WaitFor([&] { return ReplicaMatches(app); })) << "replica never recovered";
  auto snapshots = client_->List(kSnapshotLevel, 0);  // the re-base snapshot
  ASSERT_TRUE(snapshots.ok());
  EXPECT_FALSE(snapshots->empty());
  ASSERT_TRUE(store.Close().ok());
  EXPECT_TRUE(ReplicaMatches(app));
}

TEST_F(StoreFaultTest, CorruptLocalL0IsReplacedBySnapshot) {
  AppDb app(dir_ + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  StoreOptions options;
  options.background_jobs = false;
  Store store(options, Logger());
  ASSERT_TRUE(store.Open({Entry()}).ok());
  app.Exec(InsertBlobs(10, 1000));
  ASSERT_TRUE(WaitFor([&] { return ReplicaMatches(app); }));
  TXID pos = store.Statuses().at(0).local_txid;
  // Flip a byte in the middle of the newest local L0.
  std::string path = dir_ + "/.app.db-litestream/ltx/0/" + FormatLtxFilename(pos, pos);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
  }
  app.Exec(InsertBlobs(10, 1000));
  EXPECT_TRUE(WaitFor([&] { return ReplicaMatches(app) && store.Statuses().at(0).local_txid > pos; }));
  ASSERT_TRUE(store.Close().ok());
  EXPECT_TRUE(ReplicaMatches(app));
}

}  // namespace
}  // namespace litestream
