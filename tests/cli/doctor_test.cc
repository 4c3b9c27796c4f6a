// litestream doctor: says what is wrong with a database's replication set-up, and exits 1 only on errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/cli_runner.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream::testing {
namespace {

std::string LevelOf(const nlohmann::json& report, const std::string& check) {
  for (const auto& f : report["findings"]) {
    if (f["check"] == check) return f["level"];
  }
  return "";
}

TEST(Doctor, HealthyReplicatedDatabase) {
  const std::string dir = MakeTempDir("doctor");
  const std::string db = dir + "/app.db";
  {
    AppDb app(db);
    app.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
  }
  RunResult rep = RunCli({"replicate", "-once", "-force-snapshot", db, "file://" + dir + "/replica"});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  RunResult r = RunCli({"doctor", "-json", db, "file://" + dir + "/replica"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(LevelOf(report, "journal mode"), "ok");
  EXPECT_EQ(LevelOf(report, "local state"), "ok");
  EXPECT_EQ(LevelOf(report, "replica"), "ok");
  EXPECT_EQ(LevelOf(report, "snapshots"), "");  // no warning: a snapshot exists

  RunResult text = RunCli({"doctor", db, "file://" + dir + "/replica"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("reachable, replica TXID"), std::string::npos) << text.out;
}

TEST(Doctor, RollbackJournalDatabaseIsAnErrorWithTheFix) {
  const std::string dir = MakeTempDir("doctor");
  const std::string db = dir + "/plain.db";
  ASSERT_EQ(std::system((std::string(LITESTREAM_BIN_DIR) + "/sqlite3 " + db + " 'CREATE TABLE t (x);'").c_str()), 0);
  RunResult r = RunCli({"doctor", "-json", db, "file://" + dir + "/replica"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(LevelOf(report, "journal mode"), "error");
  EXPECT_NE(r.out.find("journal_mode=wal"), std::string::npos) << r.out;
  EXPECT_EQ(LevelOf(report, "local state"), "warn");

  std::ofstream(dir + "/junk.db") << "not a database";
  RunResult junk = RunCli({"doctor", dir + "/junk.db", "file://" + dir + "/replica"});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.out.find("not a SQLite database"), std::string::npos) << junk.out;
}

}  // namespace
}  // namespace litestream::testing
