// Runs the built `litestream` binary and checks its output and exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "storage/conformance.h"
#include "storage/file/file_storage.h"
#include "support/cli_runner.h"
#include "support/paths.h"

extern char** environ;

namespace litestream::testing {
namespace {

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

constexpr int64_t kTs = 1735689600123;  // 2025-01-01T00:00:00.123Z

TEST(Cli, NoCommandPrintsUsageAndFails) {
  RunResult r = RunCli({});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Usage:"), std::string::npos);
  EXPECT_NE(r.out.find("\tltx          list available LTX files for a database\n"), std::string::npos)
      << r.out;
}

TEST(Cli, HelpPrintsUsageAndSucceeds) {
  for (const char* h : {"help", "-h", "-help", "--help"}) {
    RunResult r = RunCli({h});
    EXPECT_EQ(r.exit_code, 0) << h;
    EXPECT_EQ(r.out.rfind("litestream is a tool for replicating SQLite databases.\n", 0), 0u) << h;
    EXPECT_EQ(r.err, "");
  }
}

TEST(Cli, UnknownLeadingFlagPrintsUsageAndFails) {
  RunResult r = RunCli({"-config", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Usage:"), std::string::npos);
}

TEST(Cli, UnknownCommand) {
  RunResult r = RunCli({"frobnicate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: litestream frobnicate: unknown command\n");
  EXPECT_EQ(r.out, "");
}

TEST(Cli, Version) {
  RunResult r = RunCli({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("v") + LITESTREAM_VERSION + "\n");
  for (const char* flag : {"-verbose", "--verbose", "-verbose=true"}) {
    r = RunCli({"version", flag});
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_EQ(r.out.rfind(std::string("Version:     v") + LITESTREAM_VERSION + "\n", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("SQLite:      3."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Compiler:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Build Type:"), std::string::npos) << r.out;
  }
  r = RunCli({"version", "-verbose=false"});
  EXPECT_EQ(r.out, std::string("v") + LITESTREAM_VERSION + "\n");
}

TEST(Cli, CommandHelpAndBadFlags) {
  RunResult r = RunCli({"ltx", "-h"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("The ltx command lists all LTX files"), std::string::npos);
  r = RunCli({"databases", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("The databases command lists all databases"), std::string::npos);
  r = RunCli({"databases", "-bogus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: flag provided but not defined: -bogus\n");
  r = RunCli({"databases", "-config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: flag needs an argument: -config\n");
}

class CliConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cli");
    replica_ = dir_ + "/replica";
    config_ = WriteFile(dir_ + "/litestream.yml",
                        "dbs:\n"
                        "  - path: " +
                            dir_ +
                            "/app.db\n"
                            "    replica:\n"
                            "      path: " +
                            replica_ +
                            "\n"
                            "  - path: " +
                            dir_ +
                            "/other.db\n"
                            "    replica:\n"
                            "      type: s3\n"
                            "      bucket: $BUCKET\n"
                            "      path: other\n");
  }

  void WriteReplicaFiles() {
    FileStorageClient c(replica_);
    auto put = [&](int level, TXID lo, TXID hi, size_t payload) {
      BufferReader r(MakeLtxBytes(lo, hi, kTs, payload));
      ASSERT_TRUE(c.Write(level, lo, hi, r).ok());
    };
    put(0, 1, 1, 256);
    put(0, 2, 2, 4000);
    put(1, 1, 2, 4100);
    put(9, 1, 2, 12);
  }

  std::string dir_, replica_, config_;
};

TEST_F(CliConfig, DatabasesTextWithSingleAndDoubleDashFlags) {
  const std::string want = "path" + std::string(dir_.size() + 9 - 4 + 2, ' ') + "replica\n" + dir_ +
                           "/app.db" + "    file\n" + dir_ + "/other.db" + "  s3\n";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"databases", "-config", config_},
                                               {"databases", "--config", config_},
                                               {"databases", "-config=" + config_},
                                               {"databases", "--config=" + config_}}) {
    RunResult r = RunCli(args, {{"BUCKET", "bkt"}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, want) << args[1];
  }
}

TEST_F(CliConfig, DatabasesJson) {
  RunResult r = RunCli({"databases", "-config", config_, "-json"}, {{"BUCKET", "bkt"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["path"], dir_ + "/app.db");
  EXPECT_EQ(j[0]["replica"], "file");
  EXPECT_EQ(j[1]["replica"], "s3");
  EXPECT_EQ(r.out.substr(0, 16), "[\n  {\n    \"path\"");  // indented, keys in upstream order
}

TEST_F(CliConfig, DatabasesUsesLitestreamConfigVariable) {
  RunResult r = RunCli({"databases"}, {{"LITESTREAM_CONFIG", config_}, {"BUCKET", "bkt"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(dir_ + "/app.db"), std::string::npos);
}

TEST_F(CliConfig, EnvExpansionAndNoExpandEnv) {
  // Without BUCKET the s3 replica has no bucket.
  RunResult r = RunCli({"databases", "-config", config_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: dbs[1] (" + dir_ + "/other.db): replica: bucket required for s3 replica\n");
  // With -no-expand-env the literal "$BUCKET" is the bucket name.
  r = RunCli({"databases", "-no-expand-env", "-config", config_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliConfig, MissingAndInvalidConfig) {
  RunResult r = RunCli({"databases", "-config", dir_ + "/nope.yml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: config file not found: " + dir_ + "/nope.yml\n");
  std::string bad =
      WriteFile(dir_ + "/bad.yml", "dbs:\n  - path: /a.db\n    replica:\n      sync-interval: 10\n");
  r = RunCli({"databases", "-config", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.err,
      "Error: dbs[0].replica.sync-interval: invalid duration \"10\": missing unit (write e.g. \"10s\")\n");
  r = RunCli({"databases", "-config", config_, "extra"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: too many arguments\n");
}

TEST_F(CliConfig, LtxTextListsLevelZeroByDefault) {
  WriteReplicaFiles();
  RunResult r = RunCli({"ltx", "-config", config_, dir_ + "/app.db"}, {{"BUCKET", "b"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "level  min_txid          max_txid          size  created\n"
            "0      0000000000000001  0000000000000001  356   2025-01-01T00:00:00Z\n"
            "0      0000000000000002  0000000000000002  4100  2025-01-01T00:00:00Z\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliConfig, LtxJsonAndLevels) {
  WriteReplicaFiles();
  RunResult r =
      RunCli({"ltx", "--config", config_, "-level", "all", "-json", dir_ + "/app.db"}, {{"BUCKET", "b"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0], nlohmann::json({{"level", 0},
                                  {"min_txid", "0000000000000001"},
                                  {"max_txid", "0000000000000001"},
                                  {"size", 356},
                                  {"timestamp", "2025-01-01T00:00:00Z"}}));
  EXPECT_EQ(j[2]["level"], 1);
  EXPECT_EQ(j[3]["level"], 9);
  EXPECT_EQ(j[3]["max_txid"], "0000000000000002");
  EXPECT_EQ(r.out.substr(0, 17), "[\n  {\n    \"level\"");

  r = RunCli({"ltx", "-config", config_, "-level=9", "-json", dir_ + "/app.db"}, {{"BUCKET", "b"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 1u);
  r = RunCli({"ltx", "-config", config_, "-level", "5", "-json", dir_ + "/app.db"}, {{"BUCKET", "b"}});
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(CliConfig, LtxByReplicaUrlAndWalAlias) {
  WriteReplicaFiles();
  RunResult r = RunCli({"ltx", "-level", "1", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1      0000000000000001  0000000000000002  4200"), std::string::npos) << r.out;
  r = RunCli({"wal", "-json", "file://" + replica_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Warning: 'wal' command is deprecated, please use 'ltx' instead\n");
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 2u);
}

TEST_F(CliConfig, LtxErrors) {
  RunResult r = RunCli({"ltx"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: database path or replica URL required\nTry: litestream ltx /path/to/db\n");
  r = RunCli({"ltx", "-config", config_, "file://" + replica_});
  EXPECT_EQ(r.err, "Error: cannot specify a replica URL and the -config flag\n");
  r = RunCli({"ltx", "-config", config_, dir_ + "/unknown.db"}, {{"BUCKET", "b"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: database not found in config: " + dir_ + "/unknown.db\n");
  r = RunCli({"ltx", "-level", "10", "file://" + replica_});
  EXPECT_EQ(r.err, "Error: invalid value \"10\" for flag -level: level must be between 0 and 9\n");
  r = RunCli({"ltx", "-level", "x", "file://" + replica_});
  EXPECT_EQ(r.err, "Error: invalid value \"x\" for flag -level: invalid level: must be 0-9 or \"all\"\n");
  // Flags must come before positional arguments: a late flag is an extra argument.
  r = RunCli({"ltx", "file://" + replica_, "-json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: too many arguments\n");
  // A scheme no backend knows.
  r = RunCli({"ltx", "carrierpigeon://x/y"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: unsupported replica URL scheme: \"carrierpigeon\"\n");
}

}  // namespace
}  // namespace litestream::testing
