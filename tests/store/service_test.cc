// The embeddable service (include/litestream/service.h): lifecycle, synchronous start-up errors, the
// host's log sink, group-committed Sync(wait_upload), status, register/unregister, EnsureExists and the
// recommended pragmas.
#include "litestream/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::MakeTempDir;
using testing::QueryFile;

// Collects every record; thread-safe like a host's logger must be.
class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = std::string(LogLevelName(level)) + " " + std::string(message);
    for (const auto& f : fields) line += " " + f.key + "=" + f.value;
    lines_.push_back(line);
  }
  bool Contains(std::string_view needle) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("service-test");
    db_path_ = dir_ + "/app.db";
    replica_url_ = "file://" + dir_ + "/replica";
    sink_ = std::make_shared<RecordingSink>();
  }

  std::string Yaml(const std::string& db_path) const {
    return "dbs:\n  - path: " + db_path + "\n    monitor-interval: 50ms\n    replica:\n      url: " + replica_url_ +
           "\n      sync-interval: 50ms\n";
  }

  std::unique_ptr<Service> NewService(const std::string& yaml) {
    ServiceOptions options;
    options.log_sink = sink_;
    options.log_level = LogLevel::kDebug;
    ParseOptions parse;
    parse.expand_env = false;
    auto service = Service::FromYaml(yaml, parse, options);
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    return service.ok() ? std::move(*service) : nullptr;
  }

  std::string Restore(const std::string& name) {
    auto replica = ParseReplicaURL(replica_url_);
    EXPECT_TRUE(replica.ok());
    DbConfig db;
    db.path = dir_ + "/" + name;
    db.replica = *replica;
    Status s = EnsureExists(db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return db.path;
  }

  std::string dir_, db_path_, replica_url_;
  std::shared_ptr<RecordingSink> sink_;
};

TEST_F(ServiceTest, AcknowledgedWritesAreOnTheReplicaAndLogsGoToTheHostSink) {
  AppDb app(db_path_);
  ASSERT_TRUE(ApplyRecommendedPragmas(app.raw()).ok());
  EXPECT_EQ(app.Query("PRAGMA wal_autocheckpoint"), "0");
  EXPECT_EQ(app.Query("PRAGMA synchronous"), "1");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");

  auto service = NewService(Yaml(db_path_));
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Start().ok());
  EXPECT_TRUE(service->running());
  EXPECT_TRUE(sink_->Contains("INFO replicating db=" + db_path_));

  // Many writers, each acknowledging only once its commit is on the replica (group commit).
  constexpr int kWriters = 8, kWritesEach = 10;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; w++) {
    writers.emplace_back([&, w] {
      AppDb conn(db_path_);
      for (int i = 0; i < kWritesEach; i++) {
        conn.Exec("INSERT INTO t (v) VALUES ('w" + std::to_string(w) + "-" + std::to_string(i) + "');");
        auto synced = service->Sync(db_path_, /*wait_upload=*/true, 30s);
        ASSERT_TRUE(synced.ok()) << synced.status().ToString();
        EXPECT_GE(synced->replicated_txid, synced->txid);
        acknowledged++;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(acknowledged, kWriters * kWritesEach);

  // Everything acknowledged is restorable now, before any shutdown sync.
  const std::string restored = Restore("restored.db");
  EXPECT_EQ(QueryFile(restored, "SELECT count(*) FROM t"), std::to_string(kWriters * kWritesEach));

  auto status = service->GetStatus(db_path_);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_TRUE(status->in_sync);
  EXPECT_GT(status->local_txid, 0u);
  EXPECT_EQ(status->local_txid, status->replica_txid);
  EXPECT_EQ(status->lag, 0ms);
  EXPECT_GT(status->last_sync_at.time_since_epoch().count(), 0);
  EXPECT_EQ(status->last_error, "");
  EXPECT_EQ(service->Statuses().size(), 1u);

  ASSERT_TRUE(service->Stop(10s).ok());
  EXPECT_FALSE(service->running());
  EXPECT_TRUE(sink_->Contains("litestream service stopped"));
  EXPECT_FALSE(service->Sync(db_path_, false, 1s).ok());
  EXPECT_TRUE(service->Stop(1s).ok());  // idempotent
}

TEST_F(ServiceTest, WaitReplicatedReturnsOnceTheTxidIsUploaded) {
  AppDb app(db_path_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY);");
  auto service = NewService(Yaml(db_path_));
  ASSERT_TRUE(service->Start().ok());
  app.Exec("INSERT INTO t DEFAULT VALUES;");
  auto synced = service->Sync(db_path_, /*wait_upload=*/false, 30s);
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  Status waited = service->WaitReplicated(db_path_, synced->txid, 30s);
  EXPECT_TRUE(waited.ok()) << waited.ToString();
  // A TXID that will never exist times out with a message naming it.
  Status never = service->WaitReplicated(db_path_, synced->txid + 1000, 200ms);
  EXPECT_EQ(never.code(), StatusCode::kTimeout) << never.ToString();
  EXPECT_NE(never.message().find(FormatTXID(synced->txid + 1000)), std::string::npos) << never.ToString();
  EXPECT_EQ(service->WaitReplicated(dir_ + "/other.db", 1, 1s).code(), StatusCode::kNotFound);
  EXPECT_TRUE(service->Stop(10s).ok());
}

TEST_F(ServiceTest, StartFailsSynchronouslyAndRunsNothing) {
  // Not a SQLite database: the first sync fails inside Start().
  { std::ofstream(db_path_) << "this is not a database, just some text that is long enough to matter"; }
  auto service = NewService(Yaml(db_path_));
  ASSERT_NE(service, nullptr);
  Status s = service->Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(db_path_), std::string::npos) << s.ToString();
  EXPECT_FALSE(service->running());

  // A bad config is refused before anything starts, with the key named.
  ParseOptions parse;
  parse.reject_env_references = true;
  auto bad = Service::FromYaml("dbs:\n  - path: ${HOME}/x.db\n", parse, {});
  EXPECT_FALSE(bad.ok());
}

TEST_F(ServiceTest, RegisterAndUnregisterWhileRunning) {
  AppDb app(db_path_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t DEFAULT VALUES;");
  auto service = NewService("dbs: []\n");
  ASSERT_TRUE(service->Start().ok());
  EXPECT_EQ(service->Register(DbConfig{}).code(), StatusCode::kInvalidArgument);

  DbConfig db;
  db.path = db_path_;
  auto replica = ParseReplicaURL(replica_url_);
  ASSERT_TRUE(replica.ok());
  db.replica = *replica;
  ASSERT_TRUE(service->Register(db).ok());
  EXPECT_FALSE(service->Register(db).ok());  // already registered
  auto synced = service->Sync(db_path_, true, 30s);
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  app.Exec("INSERT INTO t DEFAULT VALUES;");
  ASSERT_TRUE(service->Unregister(db_path_).ok());  // final sync of the unregistered database
  EXPECT_EQ(service->GetStatus(db_path_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(QueryFile(Restore("restored.db"), "SELECT count(*) FROM t"), "2");
  EXPECT_TRUE(service->Stop(10s).ok());
}

TEST_F(ServiceTest, EnsureExistsRestoresOnlyWhenMissingAndAcceptsAnEmptyReplica) {
  auto replica = ParseReplicaURL(replica_url_);
  ASSERT_TRUE(replica.ok());
  DbConfig db;
  db.path = db_path_;
  db.replica = *replica;
  ASSERT_TRUE(EnsureExists(db).ok());  // nothing anywhere: not an error, nothing created
  EXPECT_FALSE(std::filesystem::exists(db_path_));

  {
    AppDb app(db_path_);
    app.Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept');");
    auto service = NewService(Yaml(db_path_));
    ASSERT_TRUE(service->Start().ok());
    ASSERT_TRUE(service->Stop(10s).ok());
  }
  std::filesystem::remove(db_path_);
  std::filesystem::remove(db_path_ + "-wal");
  std::filesystem::remove(db_path_ + "-shm");
  ASSERT_TRUE(EnsureExists(db).ok());
  EXPECT_EQ(QueryFile(db_path_, "SELECT v FROM t"), "kept");
  ASSERT_TRUE(EnsureExists(db).ok());  // exists: only checked
}

TEST(ApplyRecommendedPragmas, RefusesAConnectionThatCannotUseWal) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  Status s = ApplyRecommendedPragmas(db);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  sqlite3_close(db);
  EXPECT_EQ(ApplyRecommendedPragmas(nullptr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace litestream
