// Retention (ENGINE.md §4.3, §4.4) with a manual clock: L0 files go only once compacted into L1 and older
// than l0-retention, the newest L0 always stays; old snapshots go, the newest stays, and lower-level files
// below the conservative floor go except each level's last file. The replica stays restorable throughout.
#include <gtest/gtest.h>

#include <filesystem>

#include "litestream/restore.h"
#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "util/clock.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::InsertBlobs;
using testing::MakeTempDir;
using testing::QueryFile;

constexpr char kDigest[] = "SELECT count(*), sum(length(v)) FROM t";

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("retention");
    client_ = std::make_shared<FileStorageClient>(dir_ + "/replica");
    app_ = std::make_unique<AppDb>(dir_ + "/app.db");
    app_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    StoreOptions options;
    options.background_jobs = false;
    options.levels = {30s, 5min};
    store_ = std::make_unique<Store>(options, Logger(), FileSystem::Default(), &clock_);
    DbEntry e;
    e.db.path = app_->path();
    e.client = client_;
    e.monitor_interval = 0ms;
    ASSERT_TRUE(store_->Open({e}).ok());
  }
  void TearDown() override { EXPECT_TRUE(store_->Close().ok()); }

  void WriteAndSync(int batches) {
    for (int i = 0; i < batches; i++) {
      app_->Exec(InsertBlobs(2, 500));
      ASSERT_TRUE(store_->SyncAll().ok());
    }
  }
  std::vector<LtxFileInfo> Level(int level) {
    auto files = client_->List(level, 0);
    EXPECT_TRUE(files.ok());
    return files.ok() ? *files : std::vector<LtxFileInfo>{};
  }
  size_t LocalL0Count() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/.app.db-litestream/ltx/0")) {
      n += e.path().extension() == ".ltx";
    }
    return n;
  }
  void ExpectRestorable() {
    RestoreOptions o;
    o.output_path = dir_ + "/restored.db";
    o.force = true;
    o.integrity_check = IntegrityCheck::kFull;
    auto r = Restore(*client_, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(QueryFile(o.output_path, kDigest), app_->Query(kDigest));
  }

  ManualClock clock_{ManualClock::kDefaultStart};
  std::string dir_;
  std::shared_ptr<FileStorageClient> client_;
  std::unique_ptr<AppDb> app_;
  std::unique_ptr<Store> store_;
};

TEST_F(RetentionTest, L0GoesOnlyWhenCompactedAndOldAndTheNewestStays) {
  WriteAndSync(5);  // TXIDs 1..5
  ASSERT_TRUE(store_->CompactAll(1).ok());
  ASSERT_EQ(Level(1).size(), 1u);
  ASSERT_TRUE(store_->EnforceRetentionAll().ok());
  EXPECT_EQ(Level(0).size(), 5u) << "compacted but younger than l0-retention: kept";

  clock_.Advance(6min);
  WriteAndSync(2);  // TXIDs 6, 7: recent and not compacted
  ASSERT_TRUE(store_->EnforceRetentionAll().ok());
  auto l0 = Level(0);
  ASSERT_EQ(l0.size(), 2u);
  EXPECT_EQ(l0.front().min_txid, 6u);
  EXPECT_EQ(LocalL0Count(), 2u);  // local copies go with the remote ones
  ExpectRestorable();

  clock_.Advance(6min);
  ASSERT_TRUE(store_->CompactAll(1).ok());
  ASSERT_TRUE(store_->EnforceRetentionAll().ok());
  l0 = Level(0);
  ASSERT_EQ(l0.size(), 1u) << "the newest L0 (the replica position) always stays";
  EXPECT_EQ(l0.front().max_txid, 7u);
  ExpectRestorable();
  WriteAndSync(1);
  ExpectRestorable();
}

TEST_F(RetentionTest, OldSnapshotsAndFilesBelowTheFloorGoButTheNewestStay) {
  WriteAndSync(3);
  ASSERT_TRUE(store_->SnapshotAll().ok());  // L9 1-3 at day 0
  ASSERT_TRUE(store_->CompactAll(1).ok());  // L1 1-3
  clock_.Advance(13h);
  WriteAndSync(3);
  ASSERT_TRUE(store_->CompactAll(1).ok());  // L1 4-6
  ASSERT_TRUE(store_->SnapshotAll().ok());  // L9 1-6 at 13 h
  clock_.Advance(13h);
  WriteAndSync(3);
  ASSERT_TRUE(store_->CompactAll(1).ok());  // L1 7-9
  ASSERT_TRUE(store_->SnapshotAll().ok());  // L9 1-9 at 26 h
  ASSERT_EQ(Level(9).size(), 3u);
  ASSERT_TRUE(store_->EnforceRetentionAll().ok());
  // Only the day-0 snapshot is older than 24 h. The floor is its TXID (3): L1 files ending below 3 go
  // (none here: the first ends at 3), so a restore from the snapshot before the first kept one still works.
  auto l9 = Level(9);
  ASSERT_EQ(l9.size(), 2u);
  EXPECT_EQ(l9.front().max_txid, 6u);
  EXPECT_EQ(Level(1).size(), 3u);

  clock_.Advance(25h);
  WriteAndSync(1);
  ASSERT_TRUE(store_->SnapshotAll().ok());  // L9 1-10
  ASSERT_TRUE(store_->EnforceRetentionAll().ok());
  l9 = Level(9);
  ASSERT_EQ(l9.size(), 1u) << "every older snapshot expired; the newest stays";
  EXPECT_EQ(l9.front().max_txid, 10u);
  // Floor = 9 (the newest deleted snapshot): L1 1-3 and 4-6 go; 7-9 is the level's last file and stays.
  auto l1 = Level(1);
  ASSERT_EQ(l1.size(), 1u);
  EXPECT_EQ(l1.front().min_txid, 7u);
  ExpectRestorable();
}

}  // namespace
}  // namespace litestream
