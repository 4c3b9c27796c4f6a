// Restore plan computation (ENGINE.md §5.3), the upstream TestReplica_CalcRestorePlan/* cases, the time
// bounds (TestReplica_TimeBounds) and CalcRestoreTarget (TestReplica_CalcRestoreTarget/*).
#include <gtest/gtest.h>

#include <random>

#include "litestream/restore.h"
#include "restore/memory_storage.h"

namespace litestream {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using testing::MemoryStorageClient;

constexpr SystemTime kT0{milliseconds(1704067200000)};  // 2024-01-01T00:00:00Z

LtxFileInfo F(int level, TXID min, TXID max, SystemTime created = {}) {
  LtxFileInfo info;
  info.level = level;
  info.min_txid = min;
  info.max_txid = max;
  info.created_at = created;
  info.size = 1024;
  return info;
}

struct Range {
  int level;
  TXID min, max;
};

std::vector<Range> Ranges(const RestorePlan& plan) {
  std::vector<Range> out;
  for (const auto& f : plan.files) out.push_back({f.level, f.min_txid, f.max_txid});
  return out;
}

::testing::AssertionResult PlanIs(const Result<RestorePlan>& plan, std::vector<Range> want) {
  if (!plan.ok()) return ::testing::AssertionFailure() << "error: " << plan.status().ToString();
  auto got = Ranges(*plan);
  bool same = got.size() == want.size();
  for (size_t i = 0; same && i < got.size(); ++i) {
    same = got[i].level == want[i].level && got[i].min == want[i].min && got[i].max == want[i].max;
  }
  if (same) return ::testing::AssertionSuccess();
  auto fmt = [](const std::vector<Range>& v) {
    std::string s;
    for (const auto& r : v)
      s += "L" + std::to_string(r.level) + ":" + std::to_string(r.min) + "-" + std::to_string(r.max) + " ";
    return s;
  };
  return ::testing::AssertionFailure() << "got [" << fmt(got) << "] want [" << fmt(want) << "]";
}

ReplicaListing Listing(std::initializer_list<LtxFileInfo> files) {
  ReplicaListing l;
  for (const auto& f : files) l.levels[f.level].push_back(f);
  for (auto& level : l.levels) {
    std::sort(level.begin(), level.end(), [](const LtxFileInfo& a, const LtxFileInfo& b) {
      return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
    });
  }
  return l;
}

// ---- upstream TestReplica_CalcRestorePlan/*

TEST(CalcRestorePlan, SnapshotOnly) {
  auto l = Listing({F(9, 1, 10)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 10, std::nullopt), {{9, 1, 10}}));
}

TEST(CalcRestorePlan, SnapshotAndIncremental) {
  auto l = Listing({F(9, 1, 5), F(9, 1, 15), F(1, 6, 7), F(1, 8, 9), F(1, 10, 12), F(0, 7, 7), F(0, 8, 8),
                    F(0, 9, 9), F(0, 10, 10), F(0, 11, 11)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 10, std::nullopt),
                     {{9, 1, 5}, {1, 6, 7}, {1, 8, 9}, {0, 10, 10}}));
}

TEST(CalcRestorePlan, SelectLongestAcrossLevels) {
  auto l = Listing({F(9, 1, 5), F(2, 6, 12), F(0, 6, 20)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 20, std::nullopt), {{9, 1, 5}, {0, 6, 20}}));
}

TEST(CalcRestorePlan, GapInLevelResolvedByLowerLevel) {
  auto l = Listing({F(9, 1, 5), F(1, 6, 7), F(1, 9, 10), F(0, 8, 8), F(0, 9, 9), F(0, 10, 10)});
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(l, 10, std::nullopt), {{9, 1, 5}, {1, 6, 7}, {0, 8, 8}, {1, 9, 10}}));
}

TEST(CalcRestorePlan, SkipsDuplicateRangesAcrossLevels) {
  auto l = Listing({F(9, 1, 1), F(1, 1, 1), F(0, 1, 1)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 1, std::nullopt), {{9, 1, 1}}));
  // Latest restore: the duplicates are inside the covered range, so no gap and no extra file.
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, std::nullopt), {{9, 1, 1}}));
}

TEST(CalcRestorePlan, OverlappingFilesWithinLevel) {
  auto l = Listing({F(9, 1, 5), F(2, 1, 100), F(2, 50, 60)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 100, std::nullopt), {{9, 1, 5}, {2, 1, 100}}));
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, std::nullopt), {{9, 1, 5}, {2, 1, 100}}));
}

TEST(CalcRestorePlan, ErrTxNotAvailable) {
  auto l = Listing({F(9, 1, 10)});
  auto plan = CalcRestorePlanFromListing(l, 5, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsTxNotAvailable(plan.status())) << plan.status().ToString();
}

TEST(CalcRestorePlan, ErrNoFiles) {
  ReplicaListing empty;
  for (TXID txid : {TXID{0}, TXID{5}}) {
    auto plan = CalcRestorePlanFromListing(empty, txid, std::nullopt);
    ASSERT_FALSE(plan.ok());
    EXPECT_TRUE(IsTxNotAvailable(plan.status())) << plan.status().ToString();
  }
  auto plan = CalcRestorePlanFromListing(empty, 0, kT0);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsTxNotAvailable(plan.status()));
}

// ---- further rules of §5.3

TEST(CalcRestorePlan, TieBreakPrefersSmallerMinThenHigherLevelThenEarlierCreatedAt) {
  // Same max: the one starting earlier wins (it does not depend on the covered range's exact end).
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(Listing({F(9, 1, 5), F(1, 6, 10), F(2, 4, 10)}), 0, std::nullopt),
             {{9, 1, 5}, {2, 4, 10}}));
  // Same range: the higher level wins.
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(Listing({F(9, 1, 5), F(1, 6, 10), F(3, 6, 10)}), 0, std::nullopt),
             {{9, 1, 5}, {3, 6, 10}}));
  // Same range and level cannot happen twice in one listing; across levels the level decides before time.
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(Listing({F(9, 1, 5), F(1, 6, 10, kT0), F(2, 6, 10, kT0 + hours(1))}),
                                        0, std::nullopt),
             {{9, 1, 5}, {2, 6, 10}}));
}

TEST(CalcRestorePlan, NoSnapshotChainsFromTXID1) {
  auto l = Listing({F(1, 1, 10), F(0, 11, 11), F(0, 12, 12)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, std::nullopt), {{1, 1, 10}, {0, 11, 11}, {0, 12, 12}}));
}

TEST(CalcRestorePlan, LatestWithUnbridgeableGapIsError) {
  auto l = Listing({F(9, 1, 5), F(0, 6, 6), F(0, 8, 8)});
  auto plan = CalcRestorePlanFromListing(l, 0, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("non-contiguous ltx files"), std::string::npos)
      << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("0000000000000008-0000000000000008.ltx"), std::string::npos);
  // A TXID target below the gap is fine; one beyond it is not available.
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 6, std::nullopt), {{9, 1, 5}, {0, 6, 6}}));
  auto beyond = CalcRestorePlanFromListing(l, 8, std::nullopt);
  ASSERT_FALSE(beyond.ok());
  EXPECT_TRUE(IsTxNotAvailable(beyond.status()));
}

TEST(CalcRestorePlan, GapBridgedByHigherLevel) {
  // L0 lost 7 and 8 to retention; L1 covers them.
  auto l = Listing({F(9, 1, 5), F(1, 6, 8), F(0, 6, 6), F(0, 9, 9), F(0, 10, 10)});
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(l, 0, std::nullopt), {{9, 1, 5}, {1, 6, 8}, {0, 9, 9}, {0, 10, 10}}));
}

TEST(CalcRestorePlan, TXIDInsideCompactedRangeIsNotAvailable) {
  // TXID 7 exists only inside L1 6-8 after its L0s expired.
  auto l = Listing({F(9, 1, 5), F(1, 6, 8), F(0, 9, 9)});
  auto plan = CalcRestorePlanFromListing(l, 7, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsTxNotAvailable(plan.status())) << plan.status().ToString();
}

TEST(CalcRestorePlan, SnapshotIsLastAtOrBelowTarget) {
  auto l = Listing({F(9, 1, 5), F(9, 1, 8), F(9, 1, 12), F(0, 9, 9), F(0, 10, 10)});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 10, std::nullopt), {{9, 1, 8}, {0, 9, 9}, {0, 10, 10}}));
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 8, std::nullopt), {{9, 1, 8}}));
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, std::nullopt), {{9, 1, 12}}));
}

TEST(CalcRestorePlan, TimestampIsStrictlyBefore) {
  auto l = Listing(
      {F(9, 1, 5, kT0), F(0, 6, 6, kT0 + hours(1)), F(0, 7, 7, kT0 + hours(2)), F(0, 8, 8, kT0 + hours(3))});
  // Exactly at file 7's time: 7 is excluded (strictly <).
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, kT0 + hours(2)), {{9, 1, 5}, {0, 6, 6}}));
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(l, 0, kT0 + hours(2) + milliseconds(1)),
                     {{9, 1, 5}, {0, 6, 6}, {0, 7, 7}}));
  // At the snapshot's own time nothing qualifies.
  auto none = CalcRestorePlanFromListing(l, 0, kT0);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(IsTxNotAvailable(none.status()));
  // A timestamp restore does not fail on a gap after the target.
  auto gap = Listing({F(9, 1, 5, kT0), F(0, 6, 6, kT0 + hours(1)), F(0, 9, 9, kT0 + hours(3))});
  EXPECT_TRUE(PlanIs(CalcRestorePlanFromListing(gap, 0, kT0 + hours(4)), {{9, 1, 5}, {0, 6, 6}}));
}

TEST(CalcRestorePlan, TimestampSkipsLaterCompactionButUsesOlderLevels) {
  // The L1 file was written (created_at) after the target, but the L0 files it merged were not.
  auto l = Listing({F(9, 1, 5, kT0), F(1, 6, 8, kT0 + hours(5)), F(0, 6, 6, kT0 + hours(1)),
                    F(0, 7, 7, kT0 + hours(2)), F(0, 8, 8, kT0 + hours(3))});
  EXPECT_TRUE(
      PlanIs(CalcRestorePlanFromListing(l, 0, kT0 + hours(4)), {{9, 1, 5}, {0, 6, 6}, {0, 7, 7}, {0, 8, 8}}));
}

TEST(CalcRestorePlan, BothTXIDAndTimestampIsInvalid) {
  auto plan = CalcRestorePlanFromListing(Listing({F(9, 1, 5)}), 5, kT0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
}

// Every plan the greedy search returns must chain (the merge requires it) and reach the target.
TEST(CalcRestorePlan, RandomListingsAlwaysChain) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 500; ++round) {
    ReplicaListing l;
    TXID head = 1 + rng() % 60;
    for (int level = 0; level <= kSnapshotLevel; ++level) {
      for (int i = 0; i < 8; ++i) {
        TXID min = level == kSnapshotLevel ? 1 : 1 + rng() % head;
        TXID max = std::min<TXID>(head, min + rng() % 10);
        l.levels[level].push_back(F(level, min, max));
      }
      auto& v = l.levels[level];
      std::sort(v.begin(), v.end(), [](const LtxFileInfo& a, const LtxFileInfo& b) {
        return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
      });
      v.erase(std::unique(v.begin(), v.end(),
                          [](const LtxFileInfo& a, const LtxFileInfo& b) {
                            return a.min_txid == b.min_txid && a.max_txid == b.max_txid;
                          }),
              v.end());
    }
    TXID target = rng() % 2 ? 0 : 1 + rng() % head;
    auto plan = CalcRestorePlanFromListing(l, target, std::nullopt);
    if (!plan.ok()) continue;
    ASSERT_EQ(plan->files.front().min_txid, 1u);
    for (size_t i = 1; i < plan->files.size(); ++i) {
      const auto& a = plan->files[i - 1];
      const auto& b = plan->files[i];
      ASSERT_LE(b.min_txid, a.max_txid + 1) << "round " << round;
      ASSERT_GT(b.max_txid, a.max_txid) << "round " << round;
    }
    if (target != 0) {
      ASSERT_EQ(plan->max_txid(), target);
    }
  }
}

// ---- through a StorageClient

TEST(CalcRestorePlan, TimestampRestoreListsWithMetadata) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 5, kT0);
  c.PutInfo(0, 6, 6, kT0 + hours(1));
  // Object upload time (created_at) is late; the header time in the metadata is early enough.
  c.PutInfo(0, 7, 7, kT0 + hours(9));
  c.SetMetadataTime(0, 7, 7, kT0 + hours(2));
  auto plan = CalcRestorePlan(c, 0, kT0 + hours(3));
  EXPECT_TRUE(PlanIs(plan, {{9, 1, 5}, {0, 6, 6}, {0, 7, 7}}));
  EXPECT_EQ(c.list_calls_with_metadata(), kRestoreLevelCount);
  auto latest = CalcRestorePlan(c, 0, std::nullopt);
  EXPECT_TRUE(PlanIs(latest, {{9, 1, 5}, {0, 6, 6}, {0, 7, 7}}));
  EXPECT_EQ(c.list_calls_with_metadata(), kRestoreLevelCount);
}

TEST(CalcRestorePlan, ListErrorNamesLevel) {
  MemoryStorageClient c;
  c.on_list = [](int level) { return level == 3 ? Status::IOError("boom") : Status::OK(); };
  auto plan = CalcRestorePlan(c, 0, std::nullopt);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kIOError);
  EXPECT_NE(plan.status().message().find("level 3"), std::string::npos) << plan.status().ToString();
}

// ---- upstream TestReplica_TimeBounds/*

TEST(TimeBounds, Level0Only) {
  MemoryStorageClient c;
  c.PutInfo(0, 1, 1, kT0);
  c.PutInfo(0, 2, 2, kT0 + hours(1));
  c.PutInfo(0, 3, 3, kT0 + hours(2));
  auto b = CalcTimeBounds(c);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b->created_at, kT0);
  EXPECT_EQ(*b->updated_at, kT0 + hours(2));
}

TEST(TimeBounds, SnapshotOnly) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 10, kT0);
  auto b = CalcTimeBounds(c);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b->created_at, kT0);
  EXPECT_EQ(*b->updated_at, kT0);
}

TEST(TimeBounds, SnapshotAndLevel0) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 10, kT0);
  c.PutInfo(0, 11, 11, kT0 + hours(24));
  auto b = CalcTimeBounds(c);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b->created_at, kT0);
  EXPECT_EQ(*b->updated_at, kT0 + hours(24));
}

TEST(TimeBounds, MultipleCompactionLevels) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 5, kT0);
  c.PutInfo(2, 6, 8, kT0 + hours(24));
  c.PutInfo(0, 9, 9, kT0 + hours(48));
  auto b = CalcTimeBounds(c);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b->created_at, kT0);
  EXPECT_EQ(*b->updated_at, kT0 + hours(48));
}

TEST(TimeBounds, NoFiles) {
  MemoryStorageClient c;
  auto b = CalcTimeBounds(c);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->created_at.has_value());
  EXPECT_FALSE(b->updated_at.has_value());
}

TEST(TimeBounds, ErrorOnLevel) {
  MemoryStorageClient c;
  c.on_list = [](int level) { return level == 3 ? Status::IOError("test error") : Status::OK(); };
  auto b = CalcTimeBounds(c);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("test error"), std::string::npos);
}

// ---- upstream TestReplica_CalcRestoreTarget/*

TEST(CalcRestoreTarget, TimestampInSnapshotRange) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 10, kT0);
  c.PutInfo(0, 11, 11, kT0 + hours(24 * 9));
  auto t = CalcRestoreTarget(c, nullptr, kT0 + hours(24 * 4));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, kT0 + hours(24 * 9));
}

TEST(CalcRestoreTarget, TimestampBeforeAllFiles) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 10, kT0 + hours(24 * 4));
  auto t = CalcRestoreTarget(c, nullptr, kT0);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "timestamp does not exist");
}

TEST(CalcRestoreTarget, TimestampAfterAllFiles) {
  MemoryStorageClient c;
  c.PutInfo(9, 1, 10, kT0);
  auto t = CalcRestoreTarget(c, nullptr, kT0 + hours(24 * 365));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "timestamp does not exist");
}

TEST(CalcRestoreTarget, NoTimestamp) {
  MemoryStorageClient c;
  c.PutInfo(0, 1, 1, kT0);
  c.PutInfo(0, 2, 2, kT0 + hours(1));
  auto t = CalcRestoreTarget(c, nullptr, std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, kT0 + hours(1));
}

TEST(CalcRestoreTarget, NoBackupsFound) {
  MemoryStorageClient c;
  auto t = CalcRestoreTarget(c, nullptr, kT0);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "no backups found");
  auto latest = CalcRestoreTarget(c, nullptr, std::nullopt);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, SystemTime{});
}

TEST(TxNotAvailable, SurvivesContext) {
  Status s = TxNotAvailableError("no LTX files").WithContext("restore out.db");
  EXPECT_TRUE(IsTxNotAvailable(s));
  EXPECT_FALSE(IsTxNotAvailable(Status::NotFound("transaction not available-ish")));
  EXPECT_FALSE(IsTxNotAvailable(Status::IOError("transaction not available")));
}

}  // namespace
}  // namespace litestream
