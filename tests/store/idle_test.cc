// An idle database must cost no remote requests (object-store LIST/PUT costs money) and several databases
// in one process must not affect each other.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "litestream/restore.h"
#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::InsertBlobs;
using testing::WaitFor;
using testing::MakeTempDir;
using testing::QueryFile;

// Counts the requests that reach a real backend.
class CountingStorage final : public StorageClient {
 public:
  explicit CountingStorage(std::shared_ptr<StorageClient> base) : base_(std::move(base)) {}
  std::string Type() const override { return base_->Type(); }
  std::string Describe() const override { return base_->Describe(); }
  Result<std::vector<LtxFileInfo>> List(int level, TXID seek, bool use_metadata) override {
    requests++;
    return base_->List(level, seek, use_metadata);
  }
  Result<std::unique_ptr<Reader>> Open(int level, TXID min, TXID max, uint64_t offset, uint64_t length) override {
    requests++;
    return base_->Open(level, min, max, offset, length);
  }
  Result<LtxFileInfo> Write(int level, TXID min, TXID max, Reader& data) override {
    requests++;
    return base_->Write(level, min, max, data);
  }
  Status Remove(const std::vector<LtxFileInfo>& files) override {
    requests++;
    return base_->Remove(files);
  }
  Status RemoveAll() override {
    requests++;
    return base_->RemoveAll();
  }
  std::atomic<int> requests{0};

 private:
  std::shared_ptr<StorageClient> base_;
};

TEST(Idle, IdleDatabaseMakesNoRemoteRequests) {
  std::string dir = MakeTempDir("idle");
  AppDb app(dir + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t (v) VALUES (randomblob(100));");
  auto counting = std::make_shared<CountingStorage>(std::make_shared<FileStorageClient>(dir + "/replica"));
  StoreOptions options;
  options.levels = {300ms};
  options.l0_retention = 200ms;
  options.l0_retention_check_interval = 50ms;
  Store store(options, Logger());
  DbEntry e;
  e.db.path = app.path();
  e.client = counting;
  e.monitor_interval = 20ms;
  e.replica.sync_interval = 20ms;
  ASSERT_TRUE(store.Open({e}).ok());
  app.Exec("INSERT INTO t (v) VALUES (randomblob(100));");
  // Let replication, compaction and retention settle, then watch an idle period.
  ASSERT_TRUE(WaitFor([&] {
    int before = counting->requests;
    std::this_thread::sleep_for(1500ms);
    return counting->requests == before;
  })) << "requests never stopped while idle";
  int before = counting->requests;
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(counting->requests, before);
  // Activity resumes promptly after the idle period.
  app.Exec("INSERT INTO t (v) VALUES (randomblob(100));");
  EXPECT_TRUE(WaitFor([&] { return counting->requests > before; }, 5s));
  ASSERT_TRUE(store.Close().ok());
}

TEST(MultipleDatabases, OneFailingDatabaseDoesNotStopTheOthers) {
  std::string dir = MakeTempDir("multi");
  std::vector<std::unique_ptr<AppDb>> apps;
  std::vector<DbEntry> entries;
  for (int i = 0; i < 3; i++) {
    apps.push_back(std::make_unique<AppDb>(dir + "/db" + std::to_string(i) + ".db"));
    apps.back()->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    DbEntry e;
    e.db.path = apps.back()->path();
    // Database 1's replica is a path below a regular file: every upload fails.
    std::string replica = i == 1 ? dir + "/db0.db/replica" : dir + "/replica" + std::to_string(i);
    e.client = std::make_shared<FileStorageClient>(replica);
    e.monitor_interval = 20ms;
    e.replica.sync_interval = 20ms;
    entries.push_back(e);
  }
  StoreOptions options;
  options.background_jobs = false;
  options.shutdown_sync_timeout = 200ms;
  Store store(options, Logger());
  ASSERT_TRUE(store.Open(entries).ok());
  for (auto& app : apps) app->Exec("INSERT INTO t (v) VALUES (randomblob(1000));");
  for (int i : {0, 2}) {
    FileStorageClient client(dir + "/replica" + std::to_string(i));
    EXPECT_TRUE(WaitFor([&] {
      RestoreOptions o;
      o.output_path = dir + "/restored" + std::to_string(i) + ".db";
      o.force = true;
      auto r = Restore(client, o);
      return r.ok() && QueryFile(o.output_path, "SELECT count(*) FROM t") == "1";
    })) << "database " << i;
  }
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& st : store.Statuses()) {
      if (st.path == apps[1]->path()) return !st.last_error.empty();
    }
    return false;
  }));
  Status closed = store.Close();
  EXPECT_FALSE(closed.ok());  // the failing database's final upload
  EXPECT_NE(closed.message().find("db1.db"), std::string::npos) << closed.message();
}

}  // namespace
}  // namespace litestream
