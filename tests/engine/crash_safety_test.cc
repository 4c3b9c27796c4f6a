// Crash safety at the process level: `litestream replicate` (the built CLI) is started, left running for a
// random 50-300 ms while the application writes continuously, and killed with SIGKILL, 50 times in a row.
// After every kill the latest state on the replica must restore (full integrity check) to a state the
// application committed (seq n and the digest of the whole content match), and n must never be lower than
// after the previous kill: nothing that reached the replica is ever lost or rolled back. At the end
// `litestream replicate -once` must bring the replica to exactly the final state.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "engine/child_process.h"
#include "engine/engine_util.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ChildProcess;
using engine_test::ExecSql;
using engine_test::QueryInt;
using engine_test::RestoreState;
using engine_test::StateLog;
using testing::BinPath;
using testing::MakeTempDir;

uint64_t Seed(uint64_t fallback) {
  if (const char* env = std::getenv("LITESTREAM_ENGINE_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 0);
  }
  return fallback;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

std::string Tail(const std::string& path, size_t bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? "...\n" + s.substr(s.size() - bytes) : s;
}

// Lines of the CLI's log that report errors (for the test output; not asserted).
std::string ErrorLines(const std::string& path, int max_lines = 15) {
  std::ifstream in(path);
  std::string line, out;
  int n = 0, total = 0;
  while (std::getline(in, line)) {
    if (line.find("level=ERROR") == std::string::npos && line.find("level=WARN") == std::string::npos)
      continue;
    total++;
    if (n++ < max_lines) out += "  " + line + "\n";
  }
  return std::to_string(total) + " warning/error lines\n" + out;
}

// The application: one connection in its own thread, small transactions back to back (each increments
// seq and records its digest), the table kept small by deleting old rows, and a PASSIVE checkpoint after
// about one transaction in 30 (as SQLite's auto-checkpoint would do on a bigger WAL). Those checkpoints also
// run while litestream is down between a kill and the next start.
class BackgroundWriter {
 public:
  BackgroundWriter(std::string path, StateLog* log, uint64_t seed)
      : path_(std::move(path)), log_(log), rng_(seed) {}
  ~BackgroundWriter() { Stop(); }

  Status Start() {
    LS_ASSIGN_OR_RETURN(db_, engine_test::OpenAppConnection(path_, 4096));
    LS_RETURN_IF_ERROR(ExecSql(db_, "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v BLOB);"));
    LS_RETURN_IF_ERROR(engine_test::InitSeq(db_, *log_));
    thread_ = std::thread([this] { Loop(); });
    return Status::OK();
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
  }

  // After Stop(): the final (n, digest).
  std::pair<int64_t, uint64_t> final_state() const { return {final_n_, final_digest_}; }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  int64_t transactions() const { return transactions_.load(); }

 private:
  Status Transaction() {
    LS_RETURN_IF_ERROR(ExecSql(db_, "BEGIN IMMEDIATE;"));
    Status s;
    const int rows = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < rows && s.ok(); i++) {
      sqlite3_stmt* stmt = nullptr;
      int rc = sqlite3_prepare_v2(db_, "INSERT INTO t (k, v) VALUES (?, ?)", -1, &stmt, nullptr);
      if (rc != SQLITE_OK) {
        s = engine_test::SqliteError(db_, rc, "prepare insert");
        break;
      }
      std::vector<uint8_t> blob(50 + rng_() % 3000);
      for (auto& b : blob) b = static_cast<uint8_t>(rng_());
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(rng_() % 1000));
      sqlite3_bind_blob(stmt, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      rc = sqlite3_step(stmt);
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) s = engine_test::SqliteError(db_, rc, "insert");
    }
    if (s.ok() && rng_() % 4 == 0) {
      s = ExecSql(db_, "UPDATE t SET k = k + 1, v = randomblob(length(v)) WHERE id = (SELECT max(id) - " +
                           std::to_string(rng_() % 50) + " FROM t);");
    }
    if (s.ok()) {
      auto count = QueryInt(db_, "SELECT count(*) FROM t");
      if (!count.ok())
        s = count.status();
      else if (*count > 200)
        s = ExecSql(db_, "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY id LIMIT 20);");
    }
    if (!s.ok()) {
      (void)ExecSql(db_, "ROLLBACK;");
      return s;
    }
    return engine_test::BumpAndCommit(db_, *log_).status();
  }

  void Loop() {
    while (!stop_) {
      Status s = Transaction();
      if (s.ok() && rng_() % 30 == 0) s = ExecSql(db_, "PRAGMA wal_checkpoint(PASSIVE);");
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = s.ToString();
        return;
      }
      transactions_++;
      if (auto ms = rng_() % 4; ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    auto n = QueryInt(db_, "SELECT n FROM seq");
    auto d = engine_test::LogicalDigest(db_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!n.ok() || !d.ok()) {
      error_ = "final state: " + (n.ok() ? d.status() : n.status()).ToString();
      return;
    }
    final_n_ = *n;
    final_digest_ = *d;
  }

  const std::string path_;
  StateLog* log_;
  std::mt19937_64 rng_;
  sqlite3* db_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transactions_{0};
  mutable std::mutex mu_;
  std::string error_;
  int64_t final_n_ = -1;
  uint64_t final_digest_ = 0;
};

// Found a WAL generation written, checkpointed and overwritten while replicate was down (a gap in L0 after
// the restart); see WalRestartedWhileStopped.CommitsOfAnOverwrittenMiddleGeneration* for the minimal case.
// The newest TXID on the replica's level 0 (0 if none).
TXID ReplicaTxid(StorageClient& client) {
  auto files = client.List(0, 0);
  return files.ok() && !files->empty() ? files->back().max_txid : 0;
}

TEST(CrashSafety, Kill9NeverLosesWhatWasReplicated) {
  const uint64_t seed = Seed(0xc4a5e001);
  std::printf("[  SEED    ] seed=%" PRIu64 " (LITESTREAM_ENGINE_SEED=%" PRIu64 " to replay)\n", seed, seed);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const std::string bin = BinPath("litestream");
  ASSERT_TRUE(std::filesystem::exists(bin)) << bin << " is not built";

  const std::string dir = MakeTempDir("engine-crash");
  const std::string db_path = dir + "/app.db";
  const std::string replica_dir = dir + "/replica";
  const std::string config = dir + "/litestream.yml";
  const std::string log_path = dir + "/replicate.log";
  {
    std::ofstream cfg(config);
    cfg << "dbs:\n"
        << "  - path: " << db_path << "\n"
        << "    monitor-interval: 10ms\n"
        << "    min-checkpoint-page-count: 50\n"
        << "    truncate-page-n: 40\n"
        << "    checkpoint-interval: 200ms\n"
        << "    replica:\n"
        << "      url: file://" << replica_dir << "\n"
        << "      sync-interval: 10ms\n"
        << "levels:\n"
        << "  - interval: 1s\n"
        << "snapshot:\n"
        << "  interval: 2s\n";
    // LITESTREAM_ENGINE_DEBUG=1: the CLI logs every sync with its reason (kept with
    // LITESTREAM_KEEP_TEST_DIRS=1).
    if (std::getenv("LITESTREAM_ENGINE_DEBUG") != nullptr) cfg << "logging:\n  level: debug\n";
    ASSERT_TRUE(cfg.good());
  }
  FileStorageClient client(replica_dir);
  const std::string out = dir + "/restored.db";

  StateLog states;
  BackgroundWriter writer(db_path, &states, seed);
  ASSERT_TRUE(writer.Start().ok());

  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + 180s;  // generous: ASan, a loaded machine
  constexpr int kIterations = 50;
  int64_t prev_n = -1;
  int progressed = 0;
  for (int i = 0; i < kIterations; i++) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "iteration " << i << ": out of time";
    { std::ofstream(log_path, std::ios::app) << "=== iteration " << i << "\n"; }
    const TXID replica_txid_before = ReplicaTxid(client);
    ChildProcess child;
    ASSERT_TRUE(child.Spawn({bin, "replicate", "-config", config}, log_path).ok());
    if (i % 4 == 3) {
      // Every fourth run lives until it has uploaded something, so that the test also covers kills of a
      // replicator in full flight however slow start-up is (ASan, a loaded machine).
      ASSERT_TRUE(WaitFor([&] { return ReplicaTxid(client) > replica_txid_before; }, 30s))
          << "iteration " << i << ": nothing uploaded within 30 s\n"
          << Tail(log_path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 251));
    int early = 0;
    ASSERT_FALSE(child.Exited(&early))
        << "iteration " << i << ": litestream exited on its own (status " << early << ")\n"
        << Tail(log_path);
    auto killed = child.KillAndWait(10s);
    ASSERT_TRUE(killed.ok()) << killed.status().ToString();
    EXPECT_TRUE(WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL) << "wait status " << *killed;
    ASSERT_EQ(writer.error(), "") << "iteration " << i;

    auto st = RestoreState(client, out, 0);
    if (!st.ok() && IsTxNotAvailable(st.status()) && prev_n < 0) continue;  // nothing replicated yet
    ASSERT_TRUE(st.ok()) << "iteration " << i << ": restore: " << st.status().ToString() << "\n"
                         << Tail(log_path);
    auto want = states.Get(st->n);
    ASSERT_TRUE(want.has_value()) << "iteration " << i << ": restored n=" << st->n << " was never committed";
    ASSERT_EQ(st->digest, want->digest) << "iteration " << i << ": n=" << st->n << " content differs";
    ASSERT_GE(st->n, prev_n) << "iteration " << i << ": the replica went back from n=" << prev_n
                             << " to n=" << st->n << "\n"
                             << Tail(log_path);
    if (st->n > prev_n) progressed++;
    prev_n = st->n;
  }
  writer.Stop();
  ASSERT_EQ(writer.error(), "");
  const auto [final_n, final_digest] = writer.final_state();
  std::printf("[  CRASH   ] %d kills, replica advanced after %d of them, last n=%" PRId64
              ", writer n=%" PRId64 "\n%s",
              kIterations, progressed, prev_n, final_n, ErrorLines(log_path).c_str());
  EXPECT_GE(progressed, kIterations / 5) << "the replica rarely advanced: were the runs too short to sync?";

  {
    std::ofstream(log_path, std::ios::app) << "=== replicate -once\n";
    ChildProcess once;
    ASSERT_TRUE(once.Spawn({bin, "replicate", "-once", "-config", config}, log_path).ok());
    int status = 0;
    ASSERT_TRUE(WaitFor([&] { return once.Exited(&status); }, 60s)) << "replicate -once did not exit\n"
                                                                    << Tail(log_path);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "replicate -once failed\n"
                                                               << Tail(log_path);
  }
  auto latest = RestoreState(client, out, 0);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->n, final_n);
  EXPECT_EQ(latest->digest, final_digest);

  // The replica's level 0 has no hole, and a sample of TXIDs restores to committed states in order.
  auto l0 = engine_test::ContiguousL0(client);
  ASSERT_TRUE(l0.ok()) << l0.status().ToString();
  const TXID max_txid = l0->back().max_txid;
  std::vector<TXID> sample;
  for (TXID t = 1; t <= max_txid; t++) sample.push_back(t);
  std::shuffle(sample.begin(), sample.end(), rng);
  if (sample.size() > 150) sample.resize(150);
  std::sort(sample.begin(), sample.end());
  prev_n = -1;
  for (TXID txid : sample) {
    auto s = RestoreState(client, out, txid);
    ASSERT_TRUE(s.ok()) << "TXID " << txid << ": " << s.status().ToString();
    auto want = states.Get(s->n);
    ASSERT_TRUE(want.has_value()) << "TXID " << txid << ": n=" << s->n << " never committed";
    EXPECT_EQ(s->digest, want->digest) << "TXID " << txid;
    EXPECT_GE(s->n, prev_n) << "TXID " << txid;
    prev_n = s->n;
  }
}

}  // namespace
}  // namespace litestream
