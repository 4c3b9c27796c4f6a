// The application at full speed while an in-process Store replicates it with the default checkpoint
// settings: one writer doing small transactions back to back and one doing bulk transactions, for ~3 s,
// both with busy_timeout = 5000 and synchronous = NORMAL as users are told to configure them.
//  - Litestream must never make the application fail with SQLITE_BUSY / "database is locked";
//  - the -wal file must stay bounded: checkpoints keep restarting it, and it stays below kMaxWalBytes (x4
//    on a disk fast enough to restart it 10 times in the run; the maximum is printed);
//  - after Close the latest restore is exactly the final state.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "engine/engine_util.h"
#include "ltx/coding.h"
#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/paths.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::ExecSql;
using testing::MakeTempDir;

constexpr int64_t kMaxWalBytes = 64 << 20;
constexpr auto kRunFor = 3s;

struct WriterStats {
  std::atomic<int64_t> transactions{0};
  std::atomic<int64_t> busy{0};
  std::atomic<int64_t> other_errors{0};
  std::mutex mu;
  std::string first_error;

  void Error(sqlite3* db, int rc, const std::string& what) {
    std::string msg = what + ": " + sqlite3_errmsg(db) + " (rc " + std::to_string(rc) + ")";
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
        msg.find("locked") != std::string::npos) {
      busy++;
    } else {
      other_errors++;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = msg;
  }
};

// Runs `sql` statement by statement with bound random blobs where it has parameters; false on error.
bool Step(sqlite3* db, const char* sql, WriterStats& stats, std::mt19937_64& rng, int blob_size) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    stats.Error(db, rc, sql);
    return false;
  }
  std::vector<uint8_t> blob;
  if (sqlite3_bind_parameter_count(stmt) > 0) {
    blob.resize(static_cast<size_t>(blob_size));
    for (auto& b : blob) b = static_cast<uint8_t>(rng());
    sqlite3_bind_blob(stmt, 1, blob.data(), blob_size, SQLITE_STATIC);
  }
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    stats.Error(db, rc, sql);
    return false;
  }
  return true;
}

TEST(FullSpeed, NoBusyErrorsBoundedWalAndExactReplica) {
  const std::string dir = MakeTempDir("engine-speed");
  const std::string db_path = dir + "/app.db";
  auto client = std::make_shared<FileStorageClient>(dir + "/replica");
  {
    auto setup = engine_test::OpenAppConnection(db_path, 4096, true);
    ASSERT_TRUE(setup.ok()) << setup.status().ToString();
    ASSERT_TRUE(ExecSql(*setup,
                        "CREATE TABLE small (id INTEGER PRIMARY KEY, k INTEGER, v BLOB);"
                        "CREATE TABLE bulk (id INTEGER PRIMARY KEY, v BLOB);"
                        "CREATE INDEX small_k ON small (k);")
                    .ok());
    sqlite3_close_v2(*setup);
  }

  auto sink = std::make_shared<engine_test::CapturingLogSink>();
  Store store(StoreOptions{}, Logger(sink, LogLevel::kTrace));
  DbEntry entry;  // default checkpoint settings, monitor and sync intervals
  entry.db.path = db_path;
  entry.client = client;
  ASSERT_TRUE(store.Open({entry}).ok());

  std::atomic<bool> stop{false};
  WriterStats small_stats, bulk_stats;
  auto small_writer = [&] {
    auto db = engine_test::OpenAppConnection(db_path, 4096, true);
    if (!db.ok()) {
      small_stats.other_errors++;
      small_stats.first_error = db.status().ToString();
      return;
    }
    std::mt19937_64 rng(1);
    while (!stop) {
      bool ok = Step(*db, "BEGIN IMMEDIATE", small_stats, rng, 0);
      if (ok && rng() % 4 == 0) {
        ok = Step(*db, "UPDATE small SET k = k + 1, v = ?1 WHERE id = (SELECT max(id) FROM small)",
                  small_stats, rng, 100);
      } else if (ok) {
        ok = Step(*db, "INSERT INTO small (k, v) VALUES (abs(random()) % 1000, ?1)", small_stats, rng, 100);
      }
      if (ok && rng() % 64 == 0) ok = Step(*db, "DELETE FROM small WHERE id % 7 = 3", small_stats, rng, 0);
      if (ok) ok = Step(*db, "COMMIT", small_stats, rng, 0);
      if (ok) {
        small_stats.transactions++;
      } else {
        (void)ExecSql(*db, "ROLLBACK");
      }
    }
    sqlite3_close_v2(*db);
  };
  auto bulk_writer = [&] {
    auto db = engine_test::OpenAppConnection(db_path, 4096, true);
    if (!db.ok()) {
      bulk_stats.other_errors++;
      bulk_stats.first_error = db.status().ToString();
      return;
    }
    std::mt19937_64 rng(2);
    while (!stop) {
      bool ok = Step(*db, "BEGIN IMMEDIATE", bulk_stats, rng, 0);
      for (int i = 0; ok && i < 64; i++)
        ok = Step(*db, "INSERT INTO bulk (v) VALUES (?1)", bulk_stats, rng, 4000);
      // Keep the table (and the database) bounded: only the newest 1024 rows stay.
      if (ok)
        ok = Step(*db, "DELETE FROM bulk WHERE id <= (SELECT max(id) FROM bulk) - 1024", bulk_stats, rng, 0);
      if (ok) ok = Step(*db, "COMMIT", bulk_stats, rng, 0);
      if (ok) {
        bulk_stats.transactions++;
      } else {
        (void)ExecSql(*db, "ROLLBACK");
      }
    }
    sqlite3_close_v2(*db);
  };

  std::thread t1(small_writer), t2(bulk_writer);
  int64_t max_wal = 0;
  int restarts = 0;  // changes of the WAL header's salt-1: a checkpoint restarted the WAL
  uint32_t salt1 = 0;
  const auto end = std::chrono::steady_clock::now() + kRunFor;
  while (std::chrono::steady_clock::now() < end) {
    std::error_code ec;
    auto size = std::filesystem::file_size(db_path + "-wal", ec);
    if (!ec) max_wal = std::max(max_wal, static_cast<int64_t>(size));
    std::ifstream wal(db_path + "-wal", std::ios::binary);
    unsigned char header[20];
    if (wal.read(reinterpret_cast<char*>(header), sizeof(header))) {
      const uint32_t s1 = ltx::GetBE32(header + 16);
      if (salt1 != 0 && s1 != salt1) restarts++;
      salt1 = s1;
    }
    std::this_thread::sleep_for(2ms);
  }
  stop = true;
  t1.join();
  t2.join();

  std::printf("[  SPEED   ] small txns=%" PRId64 " bulk txns=%" PRId64 " busy=%" PRId64 "/%" PRId64
              " max -wal size=%" PRId64 " bytes (bound %" PRId64 ", x4 after 10 restarts), %d restarts\n",
              small_stats.transactions.load(), bulk_stats.transactions.load(), small_stats.busy.load(),
              bulk_stats.busy.load(), max_wal, kMaxWalBytes, restarts);
  EXPECT_EQ(small_stats.busy + bulk_stats.busy, 0)
      << small_stats.first_error << " / " << bulk_stats.first_error;
  EXPECT_EQ(small_stats.other_errors + bulk_stats.other_errors, 0)
      << small_stats.first_error << " / " << bulk_stats.first_error;
  // SQLite has no fairness between writers: the back-to-back small writer may starve the bulk one (within
  // the run, which is shorter than its 5 s busy timeout). That is the application's doing, not Litestream's.
  EXPECT_GT(small_stats.transactions + bulk_stats.transactions, 0);
  // Bounded: checkpoints kept restarting the WAL (an engine that stopped checkpointing lets one generation
  // grow with everything written), and its file stayed below kMaxWalBytes, or, on a disk that takes a few
  // hundred MB/s (a second between two barrier checkpoints is then that much WAL), below 4x that.
  EXPECT_GE(restarts, 3) << "Litestream's checkpoints:\n" << sink->Matching("checkpoint");
  EXPECT_LT(max_wal, restarts >= 10 ? 4 * kMaxWalBytes : kMaxWalBytes)
      << "the -wal file grew past the bound (" << restarts << " restarts); Litestream's checkpoints:\n"
      << sink->Matching("checkpoint");

  // The final state, from a fresh connection.
  auto final_db = engine_test::OpenAppConnection(db_path, 4096, true);
  ASSERT_TRUE(final_db.ok());
  auto want = engine_test::LogicalDigest(*final_db);
  ASSERT_TRUE(want.ok());
  Status closed = store.Close();
  ASSERT_TRUE(closed.ok()) << closed.ToString() << "\n" << sink->Warnings();
  sqlite3_close_v2(*final_db);

  const std::string out = dir + "/restored.db";
  engine_test::RemoveDbFiles(out);
  RestoreOptions o;
  o.output_path = out;
  o.integrity_check = IntegrityCheck::kFull;
  auto r = Restore(*client, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  sqlite3* restored = nullptr;
  ASSERT_EQ(sqlite3_open_v2(out.c_str(), &restored, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  auto got = engine_test::LogicalDigest(restored);
  sqlite3_close_v2(restored);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, *want) << "the replica differs from the final database";
  std::printf("[  SPEED   ] replica at TXID %" PRIu64 "; engine warnings:\n%s", r->txid,
              sink->Warnings().c_str());
}

}  // namespace
}  // namespace litestream
