// The engine's commands end to end through the binary: replicate -once, restore (latest, -txid,
// -timestamp, -dry-run, -json, refusals), status and reset.
#include <gtest/gtest.h>

#include <filesystem>
#include <ctime>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "support/cli_runner.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream::testing {
namespace {

constexpr char kDigest[] = "SELECT count(*), sum(length(v)) FROM t";

class EngineCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cli-engine");
    db_ = dir_ + "/app.db";
    replica_ = dir_ + "/replica";
    config_ = dir_ + "/litestream.yml";
    std::ofstream(config_) << "dbs:\n  - path: " << db_ << "\n    replica:\n      url: file://" << replica_ << "\n";
  }

  RunResult Cli(std::vector<std::string> args) { return RunCli(args); }

  std::string dir_, db_, replica_, config_;
};

TEST_F(EngineCommandsTest, ReplicateOnceThenRestoreAtLatestTxidAndTimestamp) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t (v) VALUES (randomblob(100));");
  RunResult r = Cli({"replicate", "-once", "-config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string first = app.Query(kDigest);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto between = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  app.Exec("INSERT INTO t (v) VALUES (randomblob(5000));");
  r = Cli({"replicate", "-once", "-force-snapshot", "-config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  r = Cli({"restore", "-o", dir_ + "/latest.db", "-integrity-check", "full", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(QueryFile(dir_ + "/latest.db", kDigest), app.Query(kDigest));

  r = Cli({"restore", "-o", dir_ + "/txid1.db", "-txid", "0000000000000001", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(QueryFile(dir_ + "/txid1.db", kDigest), first);

  auto secs = std::chrono::duration_cast<std::chrono::milliseconds>(between.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(secs / 1000);
  char ts[64];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  std::string timestamp = std::string(ts) + "." + std::to_string(1000 + secs % 1000).substr(1) + "Z";
  r = Cli({"restore", "-o", dir_ + "/pit.db", "-timestamp", timestamp, "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(QueryFile(dir_ + "/pit.db", kDigest), first);

  // The config form restores to the database path by default: refused while it exists.
  r = Cli({"restore", "-config", config_, db_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error:"), std::string::npos) << r.err;
  r = Cli({"restore", "-if-db-not-exists", "-config", config_, db_});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Cli({"restore", "-dry-run", "-json", "-o", dir_ + "/dry.db", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto plan = nlohmann::json::parse(r.out);
  EXPECT_EQ(plan["max_txid"], "0000000000000002");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/dry.db"));

  r = Cli({"restore", "-json", "-o", dir_ + "/json.db", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["txid"], "0000000000000002");

  r = Cli({"restore", "-txid", "5", "-o", dir_ + "/bad.db", "file://" + replica_});
  EXPECT_EQ(r.exit_code, 1);
  r = Cli({"restore", "-f", "-txid", "0000000000000001", "-o", dir_ + "/bad.db", "file://" + replica_});
  EXPECT_EQ(r.exit_code, 1);
  r = Cli({"restore", "file://" + replica_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("output path required"), std::string::npos) << r.err;
  r = Cli({"restore", "-if-replica-exists", "-o", dir_ + "/none.db", "file://" + dir_ + "/empty"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(EngineCommandsTest, StatusShowsLocalAndReplicaPositionsAndResetClearsLocalState) {
  RunResult r = Cli({"status", "-json", "-config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["status"], "no database");

  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  ASSERT_EQ(Cli({"replicate", "-once", "-config", config_}).exit_code, 0);
  r = Cli({"status", "-json", "-config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto row = nlohmann::json::parse(r.out)[0];
  EXPECT_EQ(row["status"], "ok");
  EXPECT_EQ(row["local_txid"], "0000000000000001");
  EXPECT_EQ(row["replica_txid"], "0000000000000001");
  EXPECT_EQ(row["lag_ms"], 0);
  r = Cli({"status", "-config", config_});
  EXPECT_NE(r.out.find("replica-txid"), std::string::npos) << r.out;

  r = Cli({"reset", "-dry-run", db_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("would remove"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/.app.db-litestream/ltx/0"));
  r = Cli({"reset", db_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/.app.db-litestream/ltx"));
  // Replication continues after the replica's position with a fresh snapshot.
  app.Exec("INSERT INTO t (v) VALUES (randomblob(10));");
  ASSERT_EQ(Cli({"replicate", "-once", "-config", config_}).exit_code, 0);
  r = Cli({"restore", "-o", dir_ + "/after-reset.db", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryFile(dir_ + "/after-reset.db", kDigest), app.Query(kDigest));
}

TEST_F(EngineCommandsTest, ReplicateRejectsBadArguments) {
  EXPECT_EQ(Cli({"replicate", "-once", "-exec", "true", "-config", config_}).exit_code, 1);
  EXPECT_EQ(Cli({"replicate", "-force-snapshot", "-config", config_}).exit_code, 1);
  EXPECT_EQ(Cli({"replicate", db_}).exit_code, 1);
  EXPECT_EQ(Cli({"replicate", db_, "file:///a", "file:///b"}).exit_code, 1);
  RunResult r = Cli({"replicate", "-config", dir_ + "/missing.yml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.yml"), std::string::npos) << r.err;
}

TEST_F(EngineCommandsTest, ExecRunsChildAfterFirstSyncAndExitsWithIt) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t (v) VALUES (x'01');");
  // The child sees the replica already written, then exits 3; replicate exits with it after a final sync.
  RunResult r = Cli({"replicate", "-exec", "sh -c 'test -d " + replica_ + "/ltx/0 && exit 3'", "-config", config_});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
}

}  // namespace
}  // namespace litestream::testing

namespace litestream::testing {
namespace {

TEST(DumpLtx, PrintsAndVerifiesVectorsAndRejectsDamage) {
  RunResult r = RunCli({"dump-ltx", "-json", "-pages", TestDataPath("ltx/block-0000000000000001-0000000000000001.ltx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file_checksum"], "0x8ca08d98ef630b7e");
  EXPECT_EQ(j["encoding"], "block");
  EXPECT_EQ(j["wal_salts"], "134b6eee/8dd2c25e");
  EXPECT_EQ(j["pages"][1]["offset"], 323);
  r = RunCli({"dump-ltx", TestDataPath("ltx/frame-0000000000000001-0000000000000001.ltx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0x892cad73d865ba49 (verified)"), std::string::npos) << r.out;

  r = RunCli({"dump-ltx", TestDataPath("ltx/legacy-v1-000000000000000d-000000000000000d.ltx")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("0x5351"), std::string::npos) << r.err;

  std::string dir = MakeTempDir("dump-ltx");
  std::string damaged = dir + "/0000000000000001-0000000000000001.ltx";
  std::filesystem::copy_file(TestDataPath("ltx/block-0000000000000001-0000000000000001.ltx"), damaged);
  std::filesystem::resize_file(damaged, 300);
  r = RunCli({"dump-ltx", damaged});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(damaged), std::string::npos) << r.err;
}

}  // namespace
}  // namespace litestream::testing
