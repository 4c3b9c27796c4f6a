// Replication over S3 through server faults: the gateway stopped mid-stream and restarted, and a gateway
// that hangs (SIGSTOP) for a while. The application keeps writing throughout; afterwards the replica
// catches up and a restore holds every commit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "litestream/restore.h"
#include "s3/s3_server.h"
#include "storage/conformance.h"
#include "store/store.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream::testing {
namespace {

using namespace std::chrono_literals;

int Gateway(const S3Server& server, const std::string& action) {
  const std::string cmd = std::string(LITESTREAM_SOURCE_DIR) + "/scripts/test-servers/radosgw.sh " + action + " " +
                          server.dir + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

class S3FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = LoadS3Server();
    LITESTREAM_REQUIRE_S3(server_);
    if (server_.dir.empty()) GTEST_SKIP() << "fault tests need a server started by radosgw.sh (LITESTREAM_TEST_S3_DIR)";
    dir_ = MakeTempDir("s3-faults");
    db_ = dir_ + "/app.db";
    s3::S3Options options = TestS3Options(server_, UniqueS3Path("faults"));
    options.max_attempts = 2;  // fail fast while the server is down; the store's backoff retries
    options.low_speed_time = 5s;
    client_ = std::make_shared<s3::S3StorageClient>(options);
  }

  void TearDown() override {
    if (!server_.dir.empty()) {
      Gateway(server_, "resume");
      Gateway(server_, "start-gateway");  // no-op if it is running: a second instance cannot bind the port
    }
  }

  std::unique_ptr<Store> StartStore() {
    StoreOptions options;
    options.background_jobs = false;
    auto store = std::make_unique<Store>(options, Logger());
    DbEntry e;
    e.db.path = db_;
    e.client = client_;
    e.monitor_interval = 50ms;
    e.replica.sync_interval = 100ms;
    EXPECT_TRUE(store->Open({e}).ok());
    return store;
  }

  std::string RestoredCount() {
    RestoreOptions o;
    o.output_path = dir_ + "/restored-" + std::to_string(restores_++) + ".db";
    o.integrity_check = IntegrityCheck::kFull;
    auto r = Restore(*client_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? QueryFile(o.output_path, "SELECT count(*) FROM t") : "";
  }

  S3Server server_;
  std::string dir_, db_;
  std::shared_ptr<s3::S3StorageClient> client_;
  int restores_ = 0;
};

TEST_F(S3FaultsTest, GatewayStoppedAndRestartedLosesNothing) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto store = StartStore();
  app.Exec(InsertBlobs(20, 3000));
  ASSERT_TRUE(store->SyncNow(db_, true, 30s).ok());

  ASSERT_EQ(Gateway(server_, "stop-gateway"), 0);
  for (int i = 0; i < 10; i++) {
    app.Exec(InsertBlobs(10, 3000));
    std::this_thread::sleep_for(100ms);
  }
  // Synced locally, not uploadable: a bounded wait fails with the storage error, nothing crashes.
  auto blocked = store->SyncNow(db_, true, 1s);
  EXPECT_FALSE(blocked.ok());
  auto st = store->StatusOf(db_);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->in_sync);
  EXPECT_NE(st->last_error, "");

  ASSERT_EQ(Gateway(server_, "start-gateway"), 0);
  auto caught_up = store->SyncNow(db_, true, 60s);
  ASSERT_TRUE(caught_up.ok()) << caught_up.status().ToString();
  EXPECT_EQ(caught_up->replicated_txid, caught_up->txid);
  EXPECT_EQ(RestoredCount(), "120");
  EXPECT_TRUE(store->Close().ok());
}

// The gateway is stopped in the middle of a multipart upload and restarted a moment later: the client's own
// retries carry the upload through, and the object is complete and intact.
TEST_F(S3FaultsTest, GatewayRestartedMidUploadIsRetriedToSuccess) {
  s3::S3Options options = TestS3Options(server_, UniqueS3Path("midupload"));
  options.concurrency = 1;
  options.max_attempts = 30;
  options.retry_base = 200ms;
  options.retry_max = 1s;
  options.max_retry_time = 90s;
  s3::S3StorageClient client(options);

  // Stops the gateway once the first 5 MiB part has been handed over, restarts it a second later.
  class StopsGatewayMidway final : public Reader {
   public:
    StopsGatewayMidway(const S3Server& server, uint64_t size) : rgw_(server), inner_(1, 40, 1735689600000, size) {}
    ~StopsGatewayMidway() override {
      if (restarter_.joinable()) restarter_.join();
    }
    Result<size_t> Read(uint8_t* buf, size_t n) override {
      if (!stopped_ && pos_ > (uint64_t{5} << 20)) {
        stopped_ = true;
        EXPECT_EQ(Gateway(rgw_, "stop-gateway"), 0);
        restarter_ = std::thread([this] {
          std::this_thread::sleep_for(1s);
          EXPECT_EQ(Gateway(rgw_, "start-gateway"), 0);
        });
      }
      LS_ASSIGN_OR_RETURN(size_t got, inner_.Read(buf, n));
      pos_ += got;
      return got;
    }
    bool stopped() const { return stopped_; }

   private:
    const S3Server& rgw_;
    GeneratedLtxReader inner_;
    uint64_t pos_ = 0;
    bool stopped_ = false;
    std::thread restarter_;
  };

  constexpr uint64_t kSize = (uint64_t{5} << 20) * 2 + 777;
  std::optional<Result<LtxFileInfo>> written;
  {
    StopsGatewayMidway src(server_, kSize);
    written.emplace(client.Write(9, 1, 40, src));
    EXPECT_TRUE(src.stopped());
  }  // joins the restarter
  const Result<LtxFileInfo>& info = *written;
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, static_cast<int64_t>(kSize));
  auto r = client.Open(9, 1, 40, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto back = (*r)->ReadAll(size_t{16} << 20);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), kSize);
  GeneratedLtxReader expect(1, 40, 1735689600000, kSize);
  size_t mismatches = 0;
  for (uint64_t i = 0; i < kSize; i++) mismatches += (*back)[i] != expect.At(i);
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(S3FaultsTest, HungGatewayDelaysButDoesNotLoseWrites) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto store = StartStore();
  ASSERT_TRUE(store->SyncNow(db_, true, 30s).ok());
  ASSERT_EQ(Gateway(server_, "pause"), 0);
  std::thread resume([&] {
    std::this_thread::sleep_for(2s);
    Gateway(server_, "resume");
  });
  for (int i = 0; i < 5; i++) app.Exec(InsertBlobs(10, 3000));
  auto synced = store->SyncNow(db_, true, 60s);
  resume.join();
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  EXPECT_EQ(RestoredCount(), "50");
  EXPECT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace litestream::testing
