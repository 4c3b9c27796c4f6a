#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "litestream/restore.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::InsertBlobs;
using testing::MakeTempDir;
using testing::QueryFile;
using testing::WaitFor;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("store-test");
    db_path_ = dir_ + "/app.db";
    replica_dir_ = dir_ + "/replica";
    client_ = std::make_shared<FileStorageClient>(replica_dir_);
  }

  DbEntry Entry() {
    DbEntry e;
    e.db.path = db_path_;
    e.client = client_;
    e.monitor_interval = 50ms;
    e.replica.sync_interval = 50ms;
    return e;
  }

  std::string RestoreTo(const std::string& name, TXID txid = 0) {
    RestoreOptions o;
    o.output_path = dir_ + "/" + name;
    o.txid = txid;
    o.integrity_check = IntegrityCheck::kFull;
    auto r = Restore(*client_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return o.output_path;
  }

  // The application's table t, and a store without background jobs (not opened yet).
  std::unique_ptr<Store> NewStore(AppDb& app) {
    app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    StoreOptions options;
    options.background_jobs = false;
    return std::make_unique<Store>(options, Logger());
  }

  // A store polling every monitor_interval (syncs are spaced by a tenth of it), opened on the application's
  // table; returns once its first sync is done.
  std::unique_ptr<Store> OpenStore(AppDb& app, std::chrono::milliseconds monitor_interval) {
    auto store = NewStore(app);
    DbEntry entry = Entry();
    entry.monitor_interval = monitor_interval;
    EXPECT_TRUE(store->Open({entry}).ok());
    EXPECT_TRUE(WaitFor([&] { return store->Statuses().at(0).local_txid > 0; }, 8s));
    return store;
  }

  std::string dir_, db_path_, replica_dir_;
  std::shared_ptr<FileStorageClient> client_;
};

TEST_F(StoreTest, ReplicatesLiveWritesPromptly) {
  AppDb app(db_path_);
  auto owned = NewStore(app);
  Store& store = *owned;
  ASSERT_TRUE(store.Open({Entry()}).ok());
  for (int i = 0; i < 20; i++) {
    app.Exec(InsertBlobs(1, 100));
    std::this_thread::sleep_for(10ms);
  }
  std::string want = app.Query("SELECT count(*), sum(length(v)) FROM t");
  TXID local = 0;
  ASSERT_TRUE(WaitFor([&] {
    auto st = store.Statuses();
    local = st.at(0).local_txid;
    if (st.at(0).replica_txid != local || local == 0 || !st.at(0).last_error.empty()) return false;
    for (const char* suffix : {"", "-wal", "-shm"}) {  // each probe restores afresh
      std::filesystem::remove(dir_ + "/probe.db" + suffix);
    }
    return QueryFile(RestoreTo("probe.db"), "SELECT count(*), sum(length(v)) FROM t") == want;
  }));
  ASSERT_TRUE(store.Close().ok());
  EXPECT_EQ(QueryFile(RestoreTo("final.db"), "SELECT count(*), sum(length(v)) FROM t"), want);
}

// Change detection is event-driven: with a poll too slow to matter (10 s), each write after a quiet
// spell is synced at once, so the WAL watch is re-armed after every sync.
TEST_F(StoreTest, EachWriteAfterAQuietSpellIsSyncedWithoutWaitingForThePoll) {
  AppDb app(db_path_);
  auto owned = OpenStore(app, 10s);  // syncs spaced 1 s apart
  Store& store = *owned;
  auto local_txid = [&] { return store.Statuses().at(0).local_txid; };
  for (int round = 0; round < 3; round++) {
    std::this_thread::sleep_for(1200ms);  // past the sync spacing
    const TXID before = local_txid();
    app.Exec(InsertBlobs(1, 100));
    EXPECT_TRUE(WaitFor([&] { return local_txid() > before; }, 8s)) << "round " << round;
  }
  ASSERT_TRUE(store.Close().ok());
}

// SQLite writes a big transaction's pages to the WAL as its cache fills, before the commit: the sync those
// writes wake finds no commit, and the commit is synced as soon as it comes, not a sync spacing later.
TEST_F(StoreTest, ATransactionWritingPagesBeforeItsCommitIsSyncedAtItsCommit) {
  AppDb app(db_path_);
  auto owned = OpenStore(app, 30s);  // syncs spaced 3 s apart
  Store& store = *owned;
  auto local_txid = [&] { return store.Statuses().at(0).local_txid; };
  std::this_thread::sleep_for(3200ms);  // past the first sync's spacing
  const TXID before = local_txid();
  const auto wal_size = [&] { return std::filesystem::file_size(db_path_ + "-wal"); };
  const auto wal_before = wal_size();
  app.Exec("PRAGMA cache_size = 10; BEGIN; " + InsertBlobs(200, 3000));
  EXPECT_GT(wal_size(), wal_before);   // pages written, not committed
  std::this_thread::sleep_for(200ms);  // the sync those writes woke has run
  EXPECT_EQ(local_txid(), before);
  app.Exec("COMMIT;");
  EXPECT_TRUE(WaitFor([&] { return local_txid() > before; }, 2s)) << "the commit waited for the spacing";
  ASSERT_TRUE(store.Close().ok());
}

TEST_F(StoreTest, CompactionSnapshotAndRestoreAtEveryTxid) {
  AppDb app(db_path_);
  auto owned = NewStore(app);
  Store& store = *owned;
  DbEntry entry = Entry();
  entry.monitor_interval = 0ms;  // syncs only on request
  ASSERT_TRUE(store.Open({entry}).ok());
  std::vector<std::string> states;  // states[txid]
  states.push_back("");
  ASSERT_TRUE(store.SyncAll().ok());
  states.push_back(app.Query("SELECT count(*), sum(length(v)) FROM t"));
  for (int i = 0; i < 12; i++) {
    app.Exec(InsertBlobs(i % 3 + 1, 1000 * (i + 1)));
    if (i == 6) app.Exec("DELETE FROM t WHERE id % 2 = 0;");
    ASSERT_TRUE(store.SyncAll().ok());
    states.push_back(app.Query("SELECT count(*), sum(length(v)) FROM t"));
    if (i == 4) {
      ASSERT_TRUE(store.CompactAll(1).ok());
    }
    if (i == 8) {  // braces: ASSERT_* expands to an if/else
      ASSERT_TRUE(store.CompactAll(1).ok());
      ASSERT_TRUE(store.CompactAll(2).ok());
      ASSERT_TRUE(store.SnapshotAll().ok());
    }
  }
  ASSERT_TRUE(store.Close().ok());
  auto l1 = client_->List(1, 0);
  ASSERT_TRUE(l1.ok());
  EXPECT_EQ(l1->size(), 2u);
  auto l9 = client_->List(9, 0);
  ASSERT_TRUE(l9.ok());
  ASSERT_EQ(l9->size(), 1u);
  EXPECT_EQ(l9->at(0).min_txid, 1u);
  for (TXID txid = 1; txid < states.size(); txid++) {
    std::string out = RestoreTo("at-" + std::to_string(txid) + ".db", txid);
    EXPECT_EQ(QueryFile(out, "SELECT count(*), sum(length(v)) FROM t"), states[txid]) << "txid " << txid;
  }
}

TEST_F(StoreTest, ContinuesAfterTheReplicaWhenLocalStateIsLost) {
  AppDb app(db_path_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  StoreOptions options;
  options.background_jobs = false;
  DbEntry entry = Entry();
  entry.monitor_interval = 0ms;
  {
    Store store(options, Logger());
    ASSERT_TRUE(store.Open({entry}).ok());
    for (int i = 0; i < 3; i++) {
      app.Exec(InsertBlobs(2, 500));
      ASSERT_TRUE(store.SyncAll().ok());
    }
    ASSERT_TRUE(store.Close().ok());
  }
  std::filesystem::remove_all(dir_ + "/.app.db-litestream");
  app.Exec(InsertBlobs(2, 500));
  Store store(options, Logger());
  ASSERT_TRUE(store.Open({entry}).ok());
  ASSERT_TRUE(store.SyncAll().ok());
  EXPECT_EQ(store.Statuses().at(0).local_txid, 4u);  // replica had 3: continues at 4
  ASSERT_TRUE(store.Close().ok());
  EXPECT_EQ(QueryFile(RestoreTo("after.db"), "SELECT count(*), sum(length(v)) FROM t"),
            app.Query("SELECT count(*), sum(length(v)) FROM t"));
}

TEST(CompactionSchedule, AlignsToGoZeroTime) {
  // 2025-01-01T00:00:07.500Z
  SystemTime t(std::chrono::milliseconds(1735689607500));
  EXPECT_EQ(PrevCompactionAt(t, 30s).time_since_epoch().count(), 1735689600000);
  EXPECT_EQ(NextCompactionAt(t, 30s).time_since_epoch().count(), 1735689630000);
  EXPECT_EQ(PrevCompactionAt(t, 24h).time_since_epoch().count(), 1735689600000);
  // 7 s does not divide a day: multiples counted from 0001-01-01, not from the Unix epoch.
  int64_t go = 1735689607500 + 62135596800000;
  EXPECT_EQ(PrevCompactionAt(t, 7s).time_since_epoch().count(), (go / 7000) * 7000 - 62135596800000);
}

}  // namespace
}  // namespace litestream
