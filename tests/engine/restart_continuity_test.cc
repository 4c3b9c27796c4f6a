// Restart continuity: replicate (Store) -> Close -> the application changes the database while
// Litestream is stopped -> reopen, four runs in a row. After every run:
//  - level 0 of the replica is exactly 1..max (no TXID gap; L0 retention is 5 min, so none is removed);
//  - files written by earlier runs are unchanged (a TXID is never reused for other content);
//  - the latest restore is exactly the application's current state.
// At the end every TXID restores to a state the application committed, in order.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <random>
#include <thread>

#include "engine/engine_util.h"
#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/paths.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ExecSql;
using engine_test::QueryInt;
using engine_test::StateLog;
using testing::MakeTempDir;

enum class WhileStopped {
  kNothing,            // no change at all
  kWrites,             // transactions appended to the WAL
  kWritesAndTruncate,  // transactions, wal_checkpoint(TRUNCATE), more transactions (new WAL salts)
  kTruncateOnly,       // transactions, then wal_checkpoint(TRUNCATE): a 0-byte WAL at restart
  kPassiveThenWrites,  // transactions, a full PASSIVE checkpoint, more: the WAL restarts over old frames
  // Transactions, a full PASSIVE checkpoint, then one 1-page transaction: the WAL restarts with new salts,
  // but the frame Litestream synced last is still in the file, with the old salts.
  kPassiveThenOneSmall,
  kAppReopened,        // the application closes its last connection (WAL checkpointed and deleted), reopens
  kMetaDirLost,        // transactions, and Litestream's meta directory is deleted
  kRestoredOnNewHost,  // the database is deleted and restored from the replica, then written to
};

std::string VariantName(const ::testing::TestParamInfo<WhileStopped>& info) {
  switch (info.param) {
    case WhileStopped::kNothing: return "Nothing";
    case WhileStopped::kWrites: return "Writes";
    case WhileStopped::kWritesAndTruncate: return "WritesAndTruncate";
    case WhileStopped::kTruncateOnly: return "TruncateOnly";
    case WhileStopped::kPassiveThenWrites: return "PassiveThenWrites";
    case WhileStopped::kPassiveThenOneSmall: return "PassiveThenOneSmall";
    case WhileStopped::kAppReopened: return "AppReopened";
    case WhileStopped::kMetaDirLost: return "MetaDirLost";
    case WhileStopped::kRestoredOnNewHost: return "RestoredOnNewHost";
  }
  return "Unknown";
}

void PrintTo(WhileStopped w, std::ostream* os) { *os << VariantName({w, 0}); }

// The first row of a query as integers.
std::vector<int64_t> QueryRow(sqlite3* db, const std::string& sql) {
  std::vector<int64_t> row;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return row;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); i++) row.push_back(sqlite3_column_int64(stmt, i));
  }
  sqlite3_finalize(stmt);
  return row;
}

class RestartContinuityTest : public ::testing::TestWithParam<WhileStopped> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("engine-restart");
    db_path_ = dir_ + "/app.db";
    client_ = std::make_shared<FileStorageClient>(dir_ + "/replica");
    rng_.seed(static_cast<uint64_t>(GetParam()) + 0x7e57);
    OpenApp();
    ASSERT_TRUE(ExecSql(app_, "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v BLOB);").ok());
    ASSERT_TRUE(engine_test::InitSeq(app_, states_).ok());
  }
  void TearDown() override { CloseApp(); }

  void OpenApp() {
    auto db = engine_test::OpenAppConnection(db_path_, 4096);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = *db;
  }
  void CloseApp() {
    if (app_ != nullptr) sqlite3_close_v2(app_);
    app_ = nullptr;
  }

  // One application transaction: inserts (sizes around the page size), sometimes an update or a delete.
  void Transaction() {
    ASSERT_TRUE(ExecSql(app_, "BEGIN IMMEDIATE;").ok());
    for (uint64_t i = 1 + rng_() % 3; i > 0; i--) {
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(app_, "INSERT INTO t (k, v) VALUES (?, ?)", -1, &stmt, nullptr),
                SQLITE_OK);
      std::vector<uint8_t> blob(10 + rng_() % 6000);
      for (auto& b : blob) b = static_cast<uint8_t>(rng_());
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(rng_() % 1000));
      sqlite3_bind_blob(stmt, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      int rc = sqlite3_step(stmt);
      sqlite3_finalize(stmt);
      ASSERT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(app_);
    }
    if (rng_() % 3 == 0) {
      ASSERT_TRUE(
          ExecSql(app_, "UPDATE t SET k = k + 1 WHERE id % 5 = " + std::to_string(rng_() % 5) + ";").ok());
    }
    if (rng_() % 4 == 0) {
      ASSERT_TRUE(ExecSql(app_, "DELETE FROM t WHERE id = (SELECT min(id) FROM t);").ok());
    }
    auto n = engine_test::BumpAndCommit(app_, states_);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }

  void Transactions(int count) {
    for (int i = 0; i < count; i++) {
      ASSERT_NO_FATAL_FAILURE(Transaction());
    }
  }

  // Replicates while the application writes `txns` transactions, then closes the Store.
  void RunReplicating(int txns) {
    StoreOptions so;
    so.levels = {1000ms};
    Store store(so, Logger(sink_, LogLevel::kInfo));
    DbEntry entry;
    entry.db.path = db_path_;
    entry.db.min_checkpoint_page_count = 50;  // our own checkpoints (and WAL restarts) during the runs
    entry.client = client_;
    entry.monitor_interval = 10ms;
    entry.replica.sync_interval = 10ms;
    ASSERT_TRUE(store.Open({entry}).ok());
    for (int i = 0; i < txns; i++) {
      ASSERT_NO_FATAL_FAILURE(Transaction());
      std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 5));
    }
    Status s = store.Close();
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sink_->Warnings();
  }

  // Content hash of a replica file.
  uint64_t FileHash(const LtxFileInfo& f) {
    auto in = client_->Open(f.level, f.min_txid, f.max_txid, 0, 0);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    if (!in.ok()) return 0;
    auto bytes = (*in)->ReadAll(size_t{1} << 30);
    EXPECT_TRUE(bytes.ok());
    if (!bytes.ok()) return 0;
    engine_test::Hasher h;
    h.Bytes(bytes->data(), bytes->size());
    return h.value();
  }

  // The checks after every run. Returns the replica's max TXID.
  TXID CheckReplica(TXID prev_max, int run) {
    SCOPED_TRACE("after run " + std::to_string(run));
    auto l0 = engine_test::ContiguousL0(*client_);
    EXPECT_TRUE(l0.ok()) << l0.status().ToString();
    if (!l0.ok() || l0->empty()) {
      ADD_FAILURE() << "empty level 0";
      return prev_max;
    }
    const TXID max = l0->back().max_txid;
    EXPECT_GE(max, prev_max);
    for (const auto& f : *l0) {
      const uint64_t h = FileHash(f);
      auto [it, inserted] = seen_.emplace(f.max_txid, h);
      EXPECT_TRUE(inserted || it->second == h)
          << "TXID " << f.max_txid << " was rewritten with other content";
    }
    auto latest = engine_test::RestoreState(*client_, dir_ + "/latest.db", 0);
    EXPECT_TRUE(latest.ok()) << latest.status().ToString();
    if (latest.ok()) {
      const int64_t n = *QueryInt(app_, "SELECT n FROM seq");
      EXPECT_EQ(latest->txid, max);
      EXPECT_EQ(latest->n, n);
      EXPECT_EQ(latest->digest, states_.Get(n)->digest);
    }
    return max;
  }

  void WhileStoppedAction() {
    switch (GetParam()) {
      case WhileStopped::kNothing: break;
      case WhileStopped::kWrites: Transactions(15); break;
      case WhileStopped::kWritesAndTruncate: {
        Transactions(10);
        auto row = QueryRow(app_, "PRAGMA wal_checkpoint(TRUNCATE);");
        ASSERT_EQ(row.size(), 3u);
        ASSERT_EQ(row[0], 0) << "TRUNCATE checkpoint was busy";
        Transactions(5);
        break;
      }
      case WhileStopped::kTruncateOnly: {
        Transactions(10);
        auto row = QueryRow(app_, "PRAGMA wal_checkpoint(TRUNCATE);");
        ASSERT_EQ(row.size(), 3u);
        ASSERT_EQ(row[0], 0) << "TRUNCATE checkpoint was busy";
        ASSERT_EQ(std::filesystem::file_size(db_path_ + "-wal"), 0u);
        break;
      }
      case WhileStopped::kPassiveThenWrites: {
        Transactions(10);
        auto row = QueryRow(app_, "PRAGMA wal_checkpoint(PASSIVE);");
        ASSERT_EQ(row.size(), 3u);
        ASSERT_EQ(row[1], row[2]) << "PASSIVE checkpoint did not backfill the whole WAL";
        Transactions(5);
        break;
      }
      case WhileStopped::kPassiveThenOneSmall: {
        Transactions(10);
        auto row = QueryRow(app_, "PRAGMA wal_checkpoint(PASSIVE);");
        ASSERT_EQ(row.size(), 3u);
        ASSERT_EQ(row[1], row[2]) << "PASSIVE checkpoint did not backfill the whole WAL";
        ASSERT_TRUE(ExecSql(app_, "BEGIN IMMEDIATE;").ok());
        ASSERT_TRUE(engine_test::BumpAndCommit(app_, states_).ok());  // seq only: one page
        break;
      }
      case WhileStopped::kAppReopened:
        Transactions(5);
        CloseApp();
        ASSERT_FALSE(std::filesystem::exists(db_path_ + "-wal")) << "the last close should remove the WAL";
        OpenApp();
        Transactions(5);
        break;
      case WhileStopped::kMetaDirLost:
        Transactions(10);
        std::filesystem::remove_all(dir_ + "/.app.db-litestream");
        break;
      case WhileStopped::kRestoredOnNewHost: {
        const int64_t n = *QueryInt(app_, "SELECT n FROM seq");
        CloseApp();
        engine_test::RemoveDbFiles(db_path_);
        std::filesystem::remove_all(dir_ + "/.app.db-litestream");
        auto restored = engine_test::RestoreState(*client_, db_path_, 0);
        ASSERT_TRUE(restored.ok()) << restored.status().ToString();
        ASSERT_EQ(restored->n, n);
        ASSERT_EQ(restored->digest, states_.Get(n)->digest);
        OpenApp();
        Transactions(10);
        break;
      }
    }
  }

  std::string dir_, db_path_;
  std::shared_ptr<FileStorageClient> client_;
  std::shared_ptr<engine_test::CapturingLogSink> sink_ = std::make_shared<engine_test::CapturingLogSink>();
  std::mt19937_64 rng_;
  StateLog states_;
  sqlite3* app_ = nullptr;
  std::map<TXID, uint64_t> seen_;  // TXID -> content hash of its L0 file
};

TEST_P(RestartContinuityTest, TxidsContinueWithoutGapOrReuse) {
  TXID max = 0;
  constexpr int kRuns = 4;
  for (int run = 0; run < kRuns; run++) {
    if (run > 0) {
      ASSERT_NO_FATAL_FAILURE(WhileStoppedAction());
    }
    ASSERT_NO_FATAL_FAILURE(RunReplicating(20));
    max = CheckReplica(max, run);
    ASSERT_FALSE(HasFailure()) << sink_->Warnings();
  }

  // Every TXID restores to a committed state, in order.
  int64_t prev_n = -1;
  for (TXID txid = 1; txid <= max; txid++) {
    auto st = engine_test::RestoreState(*client_, dir_ + "/at.db", txid);
    ASSERT_TRUE(st.ok()) << "TXID " << txid << ": " << st.status().ToString();
    auto want = states_.Get(st->n);
    ASSERT_TRUE(want.has_value()) << "TXID " << txid << ": n=" << st->n << " never committed";
    EXPECT_EQ(st->digest, want->digest) << "TXID " << txid << " n=" << st->n;
    EXPECT_GE(st->n, prev_n) << "TXID " << txid;
    prev_n = st->n;
  }
  std::printf("[  RESTART ] %s: %" PRIu64 " TXIDs over %d runs\n", VariantName({GetParam(), 0}).c_str(), max,
              kRuns);
}

INSTANTIATE_TEST_SUITE_P(Engine, RestartContinuityTest,
                         ::testing::Values(WhileStopped::kNothing, WhileStopped::kWrites,
                                           WhileStopped::kWritesAndTruncate, WhileStopped::kTruncateOnly,
                                           WhileStopped::kPassiveThenWrites,
                                           WhileStopped::kPassiveThenOneSmall, WhileStopped::kAppReopened,
                                           WhileStopped::kMetaDirLost, WhileStopped::kRestoredOnNewHost),
                         VariantName);

}  // namespace
}  // namespace litestream
