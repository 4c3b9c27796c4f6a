// Interoperability with the real Litestream v0.3.13 (ENGINE.md §6): the reference binary replicates a
// live database to a file replica (generations/ layout) while rows are written; our code restores it, to
// the latest state and to a point in time between two batches of writes.
//
// The binary comes from the npm package @flydotio/litestream-linux-x64@1.0.1, installed into
// <repo>/.test-tools by scripts/install-reference-tools.sh (scripts/setup.sh runs it). A missing binary
// is a test failure, not a skip. Every wait is bounded and the child is killed on any failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "litestream/restore.h"
#include "restore/ltx_fixture.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"

extern char** environ;

namespace litestream {
namespace {

using Clock = std::chrono::steady_clock;

std::string RepoRoot() {
  // LITESTREAM_TESTDATA_DIR is <repo>/tests/testdata.
  return std::filesystem::path(LITESTREAM_TESTDATA_DIR).parent_path().parent_path().string();
}

std::string ReferenceBinary() {
  return RepoRoot() + "/.test-tools/node_modules/@flydotio/litestream-linux-x64/litestream";
}

// A child process that is always reaped: SIGTERM, then SIGKILL after a grace period.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool Start(const std::vector<std::string>& args, const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  // Sends SIGTERM and waits up to `grace`; then SIGKILL. Returns the exit status (or -1).
  int Stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + grace;
    while (Clock::now() < deadline) {
      if (Reap(false)) return status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Kill();
    return status_;
  }

  // Runs to completion with a timeout (killed after it). Returns the exit code, or -1.
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (pid_ > 0 && Clock::now() < deadline) {
      if (Reap(false)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) Kill();
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

  bool running() { return pid_ > 0 && !Reap(false); }

 private:
  bool Reap(bool block) {
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t got = waitpid(pid_, &st, block ? 0 : WNOHANG);
    if (got == pid_) {
      status_ = st;
      pid_ = -1;
      return true;
    }
    return false;
  }

  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap(true);
    }
  }

  pid_t pid_ = -1;
  int status_ = -1;
};

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  ASSERT_EQ(rc, SQLITE_OK) << message << " in " << sql;
}

// Writes `txns` transactions of `rows` rows tagged `batch` (blob size `blob`) with its own connection.
void WriteBatch(const std::string& path, int batch, int txns, int rows, int blob) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  for (int t = 0; t < txns; ++t) {
    std::string sql = "BEGIN IMMEDIATE;";
    for (int i = 0; i < rows; ++i) {
      sql += "INSERT INTO t (batch, v) VALUES (" + std::to_string(batch) + ", randomblob(" +
             std::to_string(blob) + "));";
    }
    Exec(db, sql + "COMMIT;");
    if (::testing::Test::HasFatalFailure()) break;
  }
  sqlite3_close(db);
}

// Every row as one string, for exact comparisons between the source and a restored copy.
std::string Contents(const std::string& path, const std::string& where) {
  auto rows = testing::QueryColumn(
      path,
      "SELECT coalesce(group_concat(id || ':' || batch || ':' || hex(v), ','), '') FROM (SELECT * FROM t " +
          (where.empty() ? std::string() : "WHERE " + where) + " ORDER BY id)");
  return rows.size() == 1 ? rows[0] : "<error>";
}

int64_t Count(const std::string& path) {
  auto rows = testing::QueryColumn(path, "SELECT count(*) FROM t");
  return rows.size() == 1 ? std::stoll(rows[0]) : -1;
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

class V3InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = ReferenceBinary();
    ASSERT_TRUE(std::filesystem::exists(bin_))
        << "the reference Litestream v0.3.13 binary is missing: " << bin_
        << "\nInstall it with scripts/install-reference-tools.sh (scripts/setup.sh runs it).";
    dir_ = litestream::testing::MakeTempDir("v3-interop");
    db_ = dir_ + "/source.db";
    replica_ = dir_ + "/replica";
    config_ = dir_ + "/litestream.yml";
    log_ = dir_ + "/litestream.log";
    std::ofstream(config_) << "dbs:\n"
                           << "  - path: " << db_ << "\n"
                           << "    replicas:\n"
                           << "      - type: file\n"
                           << "        path: " << replica_ << "\n"
                           << "        sync-interval: 200ms\n";
  }

  // Restores the latest state with our code into a fresh file; returns its path ("" on error).
  std::string RestoreLatest(const std::string& name, std::optional<SystemTime> ts = std::nullopt,
                            RestoreSource* format = nullptr) {
    FileStorageClient client(replica_);
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.timestamp = ts;
    o.integrity_check = IntegrityCheck::kFull;
    o.force = true;
    auto r = Restore(client, o);
    if (!r.ok()) {
      last_error_ = r.status().ToString();
      return "";
    }
    if (format != nullptr) *format = r->format;
    return o.output_path;
  }

  // Polls (bounded) until our restore of the replica has `rows` rows.
  bool WaitForReplicatedRows(int64_t rows, std::chrono::seconds timeout, ChildProcess& child) {
    auto deadline = Clock::now() + timeout;
    int attempt = 0;
    while (Clock::now() < deadline) {
      std::string path = RestoreLatest("probe-" + std::to_string(attempt++) + ".db");
      if (!path.empty() && Count(path) == rows) return true;
      if (!child.running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  std::string bin_, dir_, db_, replica_, config_, log_;
  std::string last_error_;
};

TEST_F(V3InteropTest, RestoresReplicaWrittenByLitestream0313) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    Exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER, v BLOB);");
    sqlite3_close(db);
  }
  WriteBatch(db_, 0, 5, 20, 100);  // before replication starts: lands in the first snapshot
  ASSERT_FALSE(HasFatalFailure());

  ChildProcess litestream;
  ASSERT_TRUE(litestream.Start({bin_, "replicate", "-config", config_}, log_)) << "cannot start " << bin_;

  // Let the first snapshot (batch 0) land, so that batch 1 reaches the replica as WAL segments.
  ASSERT_TRUE(WaitForReplicatedRows(100, std::chrono::seconds(30), litestream))
      << "no snapshot reached the replica; last restore error: " << last_error_ << "\nlitestream log:\n"
      << ReadLog(log_);

  // Batch 1 while replicating; wait until the replica holds it.
  WriteBatch(db_, 1, 10, 20, 200);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t rows_after_1 = 100 + 200;
  ASSERT_TRUE(WaitForReplicatedRows(rows_after_1, std::chrono::seconds(30), litestream))
      << "batch 1 never reached the replica; last restore error: " << last_error_ << "\nlitestream log:\n"
      << ReadLog(log_);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const SystemTime middle =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));

  // Batch 2: enough pages (> 1000) that Litestream checkpoints and starts new WAL indexes.
  WriteBatch(db_, 2, 30, 40, 4000);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t rows_total = rows_after_1 + 30 * 40;
  ASSERT_TRUE(WaitForReplicatedRows(rows_total, std::chrono::seconds(60), litestream))
      << "batch 2 never reached the replica; last restore error: " << last_error_ << "\nlitestream log:\n"
      << ReadLog(log_);
  litestream.Stop(std::chrono::seconds(10));

  // Latest: identical rows, a sound file, restored from the v0.3 layout.
  RestoreSource format = RestoreSource::kLtx;
  std::string latest = RestoreLatest("latest.db", std::nullopt, &format);
  ASSERT_FALSE(latest.empty()) << last_error_;
  EXPECT_EQ(format, RestoreSource::kV3);
  EXPECT_EQ(Count(latest), rows_total);
  EXPECT_EQ(Contents(latest, ""), Contents(db_, ""));
  EXPECT_EQ(testing::QueryColumn(latest, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});

  // Point in time between the batches: exactly batches 0 and 1.
  std::string mid = RestoreLatest("middle.db", middle);
  ASSERT_FALSE(mid.empty()) << last_error_;
  EXPECT_EQ(Count(mid), rows_after_1);
  EXPECT_EQ(Contents(mid, ""), Contents(db_, "batch <= 1"));
  EXPECT_EQ(testing::QueryColumn(mid, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});

  // Cross-check: the reference binary's own restore agrees with ours.
  ChildProcess ref_restore;
  std::string ref = dir_ + "/reference.db";
  ASSERT_TRUE(ref_restore.Start({bin_, "restore", "-o", ref, "file://" + replica_}, log_));
  ASSERT_EQ(ref_restore.Wait(std::chrono::seconds(60)), 0) << ReadLog(log_);
  EXPECT_EQ(Contents(ref, ""), Contents(latest, ""));
}

}  // namespace
}  // namespace litestream
