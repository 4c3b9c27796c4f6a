// The readers of a replica over S3: follow-mode restore and the read-replica VFS, with a live replicator
// writing to the real S3 server.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "litestream/restore.h"
#include "litestream/vfs.h"
#include "s3/s3_server.h"
#include "store/store.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"

namespace litestream::testing {
namespace {

using namespace std::chrono_literals;

class S3ReadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = LoadS3Server();
    LITESTREAM_REQUIRE_S3(server_);
    dir_ = MakeTempDir("s3-readers");
    db_ = dir_ + "/app.db";
    path_ = UniqueS3Path("readers");
    client_ = std::make_shared<s3::S3StorageClient>(TestS3Options(server_, path_));
    app_ = std::make_unique<AppDb>(db_);
    app_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    StoreOptions options;
    options.background_jobs = false;
    store_ = std::make_unique<Store>(options, Logger());
    DbEntry e;
    e.db.path = db_;
    e.client = client_;
    e.monitor_interval = 20ms;
    e.replica.sync_interval = 20ms;
    ASSERT_TRUE(store_->Open({e}).ok());
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
  }

  void WriteAndReplicate(int rows) {
    app_->Exec(InsertBlobs(rows, 1500));
    auto synced = store_->SyncNow(db_, /*upload=*/true, 30s);
    ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  }

  S3Server server_;
  std::string dir_, db_, path_;
  std::shared_ptr<s3::S3StorageClient> client_;
  std::unique_ptr<AppDb> app_;
  std::unique_ptr<Store> store_;
};

TEST_F(S3ReadersTest, FollowModeKeepsUpWithTheReplica) {
  WriteAndReplicate(30);
  std::mutex mu;
  std::condition_variable cv;
  TXID applied = 0;
  std::stop_source stop;
  RestoreOptions o;
  o.output_path = dir_ + "/follower.db";
  o.follow = true;
  o.follow_interval = 20ms;
  o.stop = stop.get_token();
  o.on_follow_applied = [&](TXID t) {
    std::lock_guard<std::mutex> lock(mu);
    applied = t;
    cv.notify_all();
  };
  Result<RestoreResult> result = Status::OK();
  std::thread follower([&] { result = Restore(*client_, o); });
  for (int round = 0; round < 3; round++) {
    WriteAndReplicate(20);
    const TXID want = store_->StatusOf(db_)->replica_txid;
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return applied >= want; })) << "follower stuck at " << applied;
  }
  stop.request_stop();
  follower.join();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(QueryFile(o.output_path, "SELECT count(*), sum(length(v)) FROM t"),
            app_->Query("SELECT count(*), sum(length(v)) FROM t"));
}

TEST_F(S3ReadersTest, VfsReadsTheS3Replica) {
  WriteAndReplicate(50);
  ASSERT_EQ(litestream_vfs_register(0), SQLITE_OK);
  setenv("AWS_ACCESS_KEY_ID", server_.access_key.c_str(), 1);
  setenv("AWS_SECRET_ACCESS_KEY", server_.secret_key.c_str(), 1);
  const std::string uri = "file:app.db?vfs=litestream&poll_interval=50ms&replica_url=" +
                          std::string("s3://") + server_.bucket + "/" + path_ + "%3Fendpoint%3D" + server_.endpoint +
                          "%26forcePathStyle%3Dtrue%26region%3Dus-east-1";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, "litestream"), SQLITE_OK)
      << sqlite3_errmsg(db);
  auto query = [&](const std::string& sql) {
    std::string out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return std::string(sqlite3_errmsg(db));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); i++) {
        const unsigned char* t = sqlite3_column_text(stmt, i);
        out += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "");
      }
    }
    sqlite3_finalize(stmt);
    return out;
  };
  const std::string sql = "SELECT count(*), sum(length(v)) FROM t";
  EXPECT_EQ(query(sql), app_->Query(sql));
  WriteAndReplicate(25);
  EXPECT_TRUE(WaitFor([&] { return query(sql) == app_->Query(sql); }, 20s)) << query(sql);
  EXPECT_EQ(query("PRAGMA integrity_check"), "ok");
  sqlite3_close(db);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

}  // namespace
}  // namespace litestream::testing
