// The randomized replication workload, runnable against any storage backend (tests/engine for the file
// replica, tests/s3 for the real S3 server). See replication_workload_test.cc for what it checks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include "engine/engine_util.h"
#include "engine/workload.h"
#include "ltx/encoder.h"
#include "store/store.h"

namespace litestream::engine_test {

using namespace std::chrono_literals;

struct WorkloadParam {
  int page_size;
  uint64_t seed;
  int transactions;
  uint32_t truncate_page_n;  // 0: the default (~500 MB), i.e. no emergency checkpoints
  int64_t max_sync_wal_bytes;
  ltx::PageEncoding encoding;
  std::chrono::milliseconds checkpoint_interval;
  bool app_reader;  // a second application connection holding short read transactions
  // Restore every n-th TXID (1: all). Remote backends sample: each restore lists and fetches over the
  // network. The byte-for-byte L0 oracle still follows every TXID.
  int restore_every = 1;
};

// An application reader: short read transactions (5-60 ms) on its own connection. While one is open the
// WAL is pinned, so PASSIVE checkpoints cannot restart it and the emergency TRUNCATE path runs (it waits
// for the reader to finish).
class AppReader {
 public:
  AppReader(std::string path, uint64_t seed) : path_(std::move(path)), rng_(seed) {}
  ~AppReader() { Stop(); }

  Status Start() {
    LS_ASSIGN_OR_RETURN(db_, engine_test::OpenAppConnection(path_, 4096));
    thread_ = std::thread([this] { Loop(); });
    return Status::OK();
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  int reads() const { return reads_.load(); }

 private:
  void Loop() {
    while (!stop_) {
      Status s = engine_test::ExecSql(db_, "BEGIN;");
      if (s.ok()) s = engine_test::QueryInt(db_, "SELECT n FROM seq").status();
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng_() % 56));
      Status c = engine_test::ExecSql(db_, "COMMIT;");
      if (s.ok()) s = c;
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = s.ToString();
        return;
      }
      reads_++;
      std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 40));
    }
  }

  const std::string path_;
  std::mt19937_64 rng_;
  sqlite3* db_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reads_{0};
  mutable std::mutex mu_;
  std::string error_;
};

inline void PrintTo(const WorkloadParam& p, std::ostream* os) {
  *os << "{page_size=" << p.page_size << " seed=" << p.seed << " transactions=" << p.transactions
      << " truncate_page_n=" << p.truncate_page_n << " max_sync_wal_bytes=" << p.max_sync_wal_bytes
      << " encoding=" << (p.encoding == ltx::PageEncoding::kFrame ? "frame" : "block")
      << " checkpoint_interval=" << p.checkpoint_interval.count() << "ms app_reader=" << p.app_reader << "}";
}

inline std::string ParamName(const ::testing::TestParamInfo<WorkloadParam>& info) {
  return "PageSize" + std::to_string(info.param.page_size);
}

inline uint64_t SeedFor(const WorkloadParam& p) {
  if (const char* env = std::getenv("LITESTREAM_ENGINE_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 0);
  }
  return p.seed;
}

// Runs the workload against `client` (an empty replica) and checks every restore. Fails the current test.
inline void RunReplicationWorkload(const WorkloadParam& p, std::shared_ptr<StorageClient> client,
                                   const std::string& dir) {
  const uint64_t seed = SeedFor(p);
  std::printf("[  SEED    ] page_size=%d seed=%" PRIu64 " (LITESTREAM_ENGINE_SEED=%" PRIu64 " to replay)\n",
              p.page_size, seed, seed);
  SCOPED_TRACE("page_size=" + std::to_string(p.page_size) + " seed=" + std::to_string(seed));

  const std::string db_path = dir + "/app.db";
  StateLog states;

  auto opened = engine_test::OpenAppConnection(db_path, p.page_size);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  sqlite3* app = *opened;
  struct CloseApp {
    sqlite3* db;
    ~CloseApp() { sqlite3_close_v2(db); }
  } close_app{app};
  Workload workload(app, p.page_size, seed, &states);
  ASSERT_TRUE(workload.Setup().ok());

  auto sink = std::make_shared<CapturingLogSink>();
  StoreOptions so;
  so.levels = {1000ms, 3000ms};
  so.snapshot_interval = 2000ms;
  // LITESTREAM_ENGINE_DEBUG=1: log at debug level (every sync with its reason) and print it on failure.
  const bool debug = std::getenv("LITESTREAM_ENGINE_DEBUG") != nullptr;
  Store store(so, Logger(sink, debug ? LogLevel::kDebug : LogLevel::kInfo));
  DbEntry entry;
  entry.db.path = db_path;
  entry.db.min_checkpoint_page_count = 50;
  entry.db.truncate_page_n = p.truncate_page_n;
  entry.db.max_sync_wal_bytes = p.max_sync_wal_bytes;
  entry.db.page_encoding = p.encoding;
  entry.db.checkpoint_interval = p.checkpoint_interval;
  entry.client = client;
  entry.monitor_interval = 10ms;
  entry.replica.sync_interval = 10ms;
  ASSERT_TRUE(store.Open({entry}).ok());
  AppReader reader(db_path, seed + 1);
  if (p.app_reader) {
    ASSERT_TRUE(reader.Start().ok());
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  for (int i = 0; i < p.transactions; i++) {
    Status s = workload.Step();
    ASSERT_TRUE(s.ok()) << "step " << i << ": " << s.ToString();
    if (int ms = workload.PauseMs(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  const int64_t final_n = *engine_test::QueryInt(app, "SELECT n FROM seq");
  const uint64_t final_digest = *engine_test::LogicalDigest(app);
  ASSERT_EQ(states.Get(final_n)->digest, final_digest);
  reader.Stop();
  ASSERT_EQ(reader.error(), "");

  Status closed = store.Close();
  ASSERT_TRUE(closed.ok()) << closed.ToString() << "\n" << sink->Warnings();
  std::printf("[  WORK    ] %s (%.1f s)\n", workload.counters().ToString().c_str(), seconds_since(t0));
  EXPECT_GE(workload.counters().max_db_bytes, 4 << 20) << "the workload should grow the database past 4 MiB";

  // Level 0 is kept whole (L0 retention is 5 min): one file per TXID, 1..max.
  auto l0 = engine_test::ContiguousL0(*client, /*use_metadata=*/true);  // created_at = header timestamps
  ASSERT_TRUE(l0.ok()) << l0.status().ToString();
  ASSERT_FALSE(l0->empty());
  const TXID max_txid = l0->back().max_txid;
  auto listing = ListReplica(*client, false);
  ASSERT_TRUE(listing.ok());
  std::string levels;
  for (int level = 0; level <= kSnapshotLevel; level++) {
    for (const auto& f : listing->levels[level]) {
      EXPECT_LE(f.max_txid, max_txid) << "level " << level << " file beyond the newest L0";
    }
    if (!listing->levels[level].empty()) {
      levels += " L" + std::to_string(level) + "=" + std::to_string(listing->levels[level].size());
    }
  }
  std::printf("[  REPLICA ] max_txid=%" PRIu64 " files:%s; engine errors logged: %d\n", max_txid,
              levels.c_str(), sink->errors());
  std::printf(
      "[  ENGINE  ] truncate checkpoints=%d passive restarts before truncate=%d compactions=%d "
      "snapshots=%d\n",
      sink->Count("forcing truncate checkpoint"), sink->Count("wal restarted by passive checkpoint"),
      sink->Count("compaction complete"), sink->Count("snapshot complete"));
  if (sink->errors() > 0) std::printf("%s", sink->Warnings().c_str());
  EXPECT_GE(listing->levels[1].size(), 1u) << "no L1 compaction happened during the run";
  EXPECT_GE(listing->levels[kSnapshotLevel].size(), 1u) << "no snapshot was taken during the run";

  // Every TXID restores to a recorded state; n never goes back.
  const auto t1 = std::chrono::steady_clock::now();
  const std::string out = dir + "/restored.db";
  std::vector<RestoredState> by_txid(max_txid + 1);
  engine_test::L0Chain chain;
  std::vector<uint64_t> chain_hash(max_txid + 1);
  int64_t prev_n = -1;
  int failures = 0;
  for (TXID txid = 1; txid <= max_txid && failures < 5; txid++) {
    // The oracle image at txid: the L0 files 1..txid applied in order.
    Status applied = chain.Apply(*client, txid);
    ASSERT_TRUE(applied.ok()) << applied.ToString();
    chain_hash[txid] = chain.image_hash();
    if (txid % static_cast<TXID>(p.restore_every) != 0 && txid != max_txid) continue;
    auto st = RestoreState(*client, out, txid);
    if (!st.ok()) {
      ADD_FAILURE() << "restore TXID " << txid << ": " << st.status().ToString();
      failures++;
      continue;
    }
    by_txid[txid] = *st;
    EXPECT_EQ(st->txid, txid);
    // Byte for byte the image of the L0 files 1..txid (whatever mix of snapshot, L1/L2 and L0 the plan used).
    if (st->image_hash != chain_hash[txid]) {
      auto plan = CalcRestorePlan(*client, txid, std::nullopt);
      std::string files;
      for (const auto& f : plan.ok() ? plan->files : std::vector<LtxFileInfo>{}) {
        files += " L" + std::to_string(f.level) + ":" + FormatLtxFilename(f.min_txid, f.max_txid);
      }
      ADD_FAILURE() << "TXID " << txid << " (n=" << st->n
                    << "): the restored file differs from the image of the "
                    << "L0 files 1.." << txid << "; plan:" << files;
      failures++;
    }
    EXPECT_EQ(st->page_size, p.page_size);
    auto want = states.Get(st->n);
    if (!want) {
      ADD_FAILURE() << "TXID " << txid << " restored seq n=" << st->n
                    << ", which the application never committed";
      failures++;
      continue;
    }
    if (want->digest != st->digest) {
      ADD_FAILURE() << "TXID " << txid << " (n=" << st->n << ") content differs from the committed state";
      failures++;
    }
    if (st->n < prev_n) {
      ADD_FAILURE() << "TXID " << txid << " has n=" << st->n << " < n=" << prev_n << " of TXID " << txid - 1;
      failures++;
    }
    prev_n = st->n;
  }
  if (debug && failures > 0) std::printf("%s", sink->Matching("", 5000).c_str());
  ASSERT_EQ(failures, 0) << sink->Warnings();

  auto latest = RestoreState(*client, out, 0);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->txid, max_txid);
  EXPECT_EQ(latest->n, final_n);
  EXPECT_EQ(latest->digest, final_digest);

  std::printf("[  RESTORE ] %" PRIu64 " TXID restores in %.1f s\n", max_txid, seconds_since(t1));

  // Timestamp restores. The L0 timestamps (header timestamp = created_at) never go back with the TXID,
  // so "the newest file strictly before T" is max{N : created_at(N) < T}.
  for (size_t i = 1; i < l0->size(); i++) {
    ASSERT_LE((*l0)[i - 1].created_at, (*l0)[i].created_at) << "L0 timestamps go back at TXID " << i + 1;
  }
  auto expected_txid = [&](SystemTime t) {
    TXID want = 0;
    for (const auto& f : *l0) {
      if (f.created_at < t) want = f.max_txid;
    }
    return want;
  };
  std::vector<SystemTime> instants;
  for (size_t i = 0; i + 1 < l0->size(); i++) {
    if ((*l0)[i].created_at < (*l0)[i + 1].created_at) {
      instants.push_back((*l0)[i].created_at + 1ms);  // just after file i: file i is the newest before
      instants.push_back((*l0)[i + 1].created_at);    // exactly at file i+1: "strictly before" excludes it
    }
  }
  std::mt19937_64 rng(seed);
  std::shuffle(instants.begin(), instants.end(), rng);
  if (instants.size() > 40) instants.resize(40);
  instants.push_back(l0->back().created_at + 1ms);  // after everything: the latest state
  for (SystemTime t : instants) {
    const TXID want = expected_txid(t);
    ASSERT_GT(want, 0u);
    auto st = RestoreState(*client, out, 0, t);
    ASSERT_TRUE(st.ok()) << "timestamp " << t.time_since_epoch().count() << ": " << st.status().ToString();
    EXPECT_EQ(st->txid, want) << "timestamp " << t.time_since_epoch().count();
    if (by_txid[want].txid == want) {  // restored by TXID above (all of them unless sampling)
      EXPECT_EQ(st->n, by_txid[want].n) << "timestamp " << t.time_since_epoch().count();
      EXPECT_EQ(st->digest, by_txid[want].digest) << "timestamp " << t.time_since_epoch().count();
    }
    EXPECT_EQ(st->image_hash, chain_hash[want]) << "timestamp " << t.time_since_epoch().count();
    // The restored state was committed before the instant (its COMMIT began before the file was written).
    auto rec = states.Get(st->n);
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(st->digest, rec->digest) << "n=" << st->n;
    EXPECT_LT(rec->commit_start, t) << "n=" << st->n;
  }
  // Before the first file there is nothing to restore.
  auto before = RestoreState(*client, out, 0, l0->front().created_at);
  ASSERT_FALSE(before.ok());
  EXPECT_TRUE(IsTxNotAvailable(before.status())) << before.status().ToString();
}


}  // namespace litestream::engine_test
