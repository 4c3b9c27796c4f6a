// Follow mode (ENGINE.md §5.5): applying new files in place, bridging level-0 gaps, resuming from the
// -txid sidecar, never applying a corrupt file in part, and locking out SQLite readers while writing.
#include "restore/follow.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "litestream/restore.h"
#include "restore/ltx_fixture.h"
#include "restore/memory_storage.h"
#include "support/paths.h"
#include "util/file_system.h"

namespace litestream {
namespace {

using testing::DbHistory;
using testing::FileExists;
using testing::MemoryStorageClient;
using testing::ReadFileBytes;

// A follower's copy differs from the source state only in page 1's journal-mode bytes (18/19 = 1) and
// its random change counter (bytes 24..27).
::testing::AssertionResult SameAsFollowerCopy(const std::vector<uint8_t>& got, std::vector<uint8_t> want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << ", want " << want.size();
  }
  want[18] = want[19] = 1;
  for (int i = 24; i < 28; ++i) want[i] = got[i];
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) return ::testing::AssertionFailure() << "first difference at byte " << i;
  }
  return ::testing::AssertionSuccess();
}

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = litestream::testing::MakeTempDir("follow");
    history_ = std::make_unique<DbHistory>(dir_);
    for (int i = 0; i < 12; ++i) history_->InsertRows(10 + 5 * (i % 4), 300);
    out_ = dir_ + "/follower.db";
    Put(9, 1, 2);
    Put(0, 3, 3);
  }

  void Put(int level, TXID min, TXID max) {
    client_.Put(level, min, max, history_->Ltx(min, max), history_->Time(max));
  }

  FollowOptions PollOptions() {
    FollowOptions f;
    f.sleep = [](std::chrono::milliseconds) {};
    f.lock_timeout = std::chrono::milliseconds(100);
    return f;
  }

  // A plain restore of the latest state, then what follow mode does before its first poll.
  void InitialRestore() {
    RestoreOptions o;
    o.output_path = out_;
    auto r = Restore(client_, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(SetRollbackJournalMode(out_).ok());
    ASSERT_TRUE(WriteTXIDSidecar(*FileSystem::Default(), out_, r->txid).ok());
  }

  TXID Sidecar() {
    auto t = ReadTXIDSidecar(*FileSystem::Default(), out_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : 0;
  }

  // Runs Restore(follow) on a thread; Stop() ends it and returns its result.
  class Follower {
   public:
    Follower(StorageClient& client, RestoreOptions o) {
      o.stop = stop_.get_token();
      o.follow = true;
      o.follow_interval = std::chrono::milliseconds(5);
      o.on_follow_applied = [this](TXID t) {
        std::lock_guard<std::mutex> lock(mu_);
        applied_ = t;
        cv_.notify_all();
      };
      thread_ = std::thread(
          [this, &client, o] { result_ = std::make_unique<Result<RestoreResult>>(Restore(client, o)); });
    }
    ~Follower() { Stop(); }

    // Waits (at most 20 s) until a poll has applied `txid`.
    bool WaitApplied(TXID txid) {
      std::unique_lock<std::mutex> lock(mu_);
      return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return applied_ >= txid; });
    }

    const Result<RestoreResult>& Stop() {
      stop_.request_stop();
      if (thread_.joinable()) thread_.join();
      return *result_;
    }

   private:
    std::stop_source stop_;
    std::mutex mu_;
    std::condition_variable cv_;
    TXID applied_ = 0;
    std::thread thread_;
    std::unique_ptr<Result<RestoreResult>> result_;
  };

  RestoreOptions FollowOptionsFor() {
    RestoreOptions o;
    o.output_path = out_;
    o.sleep = [](std::chrono::milliseconds) {};
    return o;
  }

  std::string dir_;
  std::string out_;
  std::unique_ptr<DbHistory> history_;
  MemoryStorageClient client_;
};

TEST_F(FollowTest, FollowAppliesNewFiles) {
  Follower follower(client_, FollowOptionsFor());
  for (TXID t = 4; t <= 8; ++t) Put(0, t, t);
  ASSERT_TRUE(follower.WaitApplied(8));
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(8)));
  EXPECT_EQ(Sidecar(), 8u);
  Put(0, 9, 9);
  ASSERT_TRUE(follower.WaitApplied(9));
  const auto& r = follower.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->txid, 9u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(9)));
  EXPECT_EQ(Sidecar(), 9u);
  EXPECT_FALSE(FileExists(out_ + ".follow-ltx.tmp"));
  auto rows = testing::QueryColumn(out_, "PRAGMA integrity_check");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], "ok");
}

TEST_F(FollowTest, StopsPromptlyWithLongInterval) {
  RestoreOptions o = FollowOptionsFor();
  std::stop_source stop;
  o.stop = stop.get_token();
  o.follow = true;
  o.follow_interval = std::chrono::hours(1);
  Result<RestoreResult> result = Status::Unavailable("not run");
  std::thread t([&] { result = Restore(client_, o); });
  // Wait for the initial restore, then stop: the hour-long wait must end at once.
  for (int i = 0; i < 2000 && !FileExists(TXIDSidecarPath(out_)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto start = std::chrono::steady_clock::now();
  stop.request_stop();
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->txid, 3u);
}

TEST_F(FollowTest, FollowBridgesLevel0GapWithHigherLevels) {
  InitialRestore();
  // L0 4..6 were compacted into L1 and expired; L2 holds 1-8; L0 continues at 7.
  Put(1, 4, 6);
  Put(2, 1, 8);
  for (TXID t = 7; t <= 10; ++t) Put(0, t, t);
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, 10u);
  EXPECT_EQ(Sidecar(), 10u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(10)));
}

TEST_F(FollowTest, FollowBridgesWhenLevel0IsEmpty) {
  InitialRestore();
  client_.Erase(0, 3, 3);
  Put(1, 4, 7);
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, 7u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(7)));
}

TEST_F(FollowTest, UnbridgeableGapWaits) {
  InitialRestore();
  Put(0, 6, 6);  // 4 and 5 exist nowhere
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, 3u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(3)));
}

TEST_F(FollowTest, ShrinkingDatabaseIsTruncated) {
  InitialRestore();
  TXID big = history_->txid();
  TXID small = history_->Commit("DELETE FROM t WHERE id > 20; VACUUM;");
  ASSERT_LT(history_->Image(small).size(), history_->Image(big).size());
  for (TXID t = 4; t <= small; ++t) Put(0, t, t);
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, small);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(small)));
}

TEST_F(FollowTest, CorruptFileIsNeverPartiallyApplied) {
  InitialRestore();
  Put(0, 4, 4);
  auto bad = history_->Ltx(5, 5);
  testing::CorruptFileChecksum(bad);  // every page decodes; only the checksum at the end is wrong
  client_.Put(0, 5, 5, bad, history_->Time(5));
  Put(0, 6, 6);
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("level 0 file 0000000000000005-0000000000000005.ltx"), std::string::npos)
      << s.ToString();
  EXPECT_EQ(txid, 4u);  // 4 was applied before 5 failed
  EXPECT_EQ(Sidecar(), 4u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(4)));
  EXPECT_FALSE(FileExists(out_ + ".follow-ltx.tmp"));
  // Once the replica holds a good file the follower continues.
  Put(0, 5, 5);
  s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, 6u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(6)));
}

TEST_F(FollowTest, ReadersHoldOffTheApplyAndSeeNewData) {
  InitialRestore();
  Put(0, 4, 4);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(out_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [&]() {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(reader, "SELECT count(*) FROM t", -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  };
  int64_t before = count();
  // An open read transaction holds SQLite's SHARED lock: the follower must wait, then give up (Busy).
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM t;", nullptr, nullptr, nullptr), SQLITE_OK);
  TXID txid = 3;
  Status s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  EXPECT_EQ(s.code(), StatusCode::kBusy) << s.ToString();
  EXPECT_EQ(txid, 3u);
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
  s = FollowPollOnce(client_, *FileSystem::Default(), out_, &txid, PollOptions());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(txid, 4u);
  // The same connection sees the new rows (the change counter invalidated its cache).
  EXPECT_GT(count(), before);
  sqlite3_close(reader);
}

TEST_F(FollowTest, ResumeFromSidecar) {
  {
    Follower follower(client_, FollowOptionsFor());
    Put(0, 4, 4);
    ASSERT_TRUE(follower.WaitApplied(4));
    ASSERT_TRUE(follower.Stop().ok());
  }
  EXPECT_EQ(Sidecar(), 4u);
  for (TXID t = 5; t <= 7; ++t) Put(0, t, t);
  Follower follower(client_, FollowOptionsFor());
  ASSERT_TRUE(follower.WaitApplied(7));
  const auto& r = follower.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->txid, 7u);
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(7)));
}

TEST_F(FollowTest, ResumeAheadOfLatestSnapshotIsAllowed) {
  // Upstream rejects a follower whose TXID is past the newest snapshot's max; that is normal here.
  InitialRestore();
  for (TXID t = 4; t <= 6; ++t) Put(0, t, t);
  ASSERT_TRUE(WriteTXIDSidecar(*FileSystem::Default(), out_, 3).ok());
  EXPECT_TRUE(CheckFollowResume(client_, out_, 3).ok());
  Follower follower(client_, FollowOptionsFor());
  ASSERT_TRUE(follower.WaitApplied(6));
  ASSERT_TRUE(follower.Stop().ok());
  EXPECT_TRUE(SameAsFollowerCopy(ReadFileBytes(out_), history_->Image(6)));
}

TEST_F(FollowTest, ResumeRequiresSidecar) {
  testing::WriteFileBytes(out_, history_->Image(3));
  RestoreOptions o = FollowOptionsFor();
  o.follow = true;
  auto r = Restore(client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no -txid file"), std::string::npos) << r.status().ToString();
}

TEST_F(FollowTest, ResumeRejectsReplicaBehindSavedTXID) {
  InitialRestore();
  ASSERT_TRUE(WriteTXIDSidecar(*FileSystem::Default(), out_, 50).ok());
  RestoreOptions o = FollowOptionsFor();
  o.follow = true;
  auto r = Restore(client_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("ahead of the replica"), std::string::npos) << r.status().ToString();
}

TEST_F(FollowTest, ResumeRejectsPrunedHistory) {
  InitialRestore();
  // Everything after TXID 3 now exists only from TXID 6 on.
  client_.Erase(0, 3, 3);
  client_.Erase(9, 1, 2);
  Put(9, 1, 8);
  Put(0, 9, 9);
  Status s = CheckFollowResume(client_, out_, 3);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pruned"), std::string::npos) << s.ToString();
}

TEST_F(FollowTest, SidecarFormat) {
  FileSystem& fs = *FileSystem::Default();
  ASSERT_TRUE(WriteTXIDSidecar(fs, out_, 0xabc).ok());
  auto bytes = ReadFileBytes(TXIDSidecarPath(out_));
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "0000000000000abc\n");
  auto t = ReadTXIDSidecar(fs, out_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 0xabcu);
  testing::WriteFileBytes(TXIDSidecarPath(out_), {'z', '\n'});
  EXPECT_EQ(ReadTXIDSidecar(fs, out_).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(ReadTXIDSidecar(fs, dir_ + "/nothing.db").status().IsNotFound());
}

}  // namespace
}  // namespace litestream
