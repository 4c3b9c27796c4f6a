// The backend-independent storage tests; instantiated per backend (see conformance.h).
#include "storage/conformance.h"

#include <atomic>
#include <thread>

namespace litestream::testing {

LtxFileInfo StorageConformance::MustWrite(int level, TXID min_txid, TXID max_txid, int64_t ts_ms,
                                          size_t payload, uint8_t seed) {
  BufferReader r(MakeLtxBytes(min_txid, max_txid, ts_ms, payload, seed));
  Result<LtxFileInfo> info = client_->Write(level, min_txid, max_txid, r);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? *info : LtxFileInfo{};
}

std::vector<LtxFileInfo> StorageConformance::MustList(int level, TXID seek, bool use_metadata) {
  Result<std::vector<LtxFileInfo>> files = client_->List(level, seek, use_metadata);
  EXPECT_TRUE(files.ok()) << files.status().ToString();
  return files.ok() ? *files : std::vector<LtxFileInfo>{};
}

std::vector<uint8_t> StorageConformance::MustOpen(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                                  uint64_t length, bool once) {
  Result<std::unique_ptr<Reader>> r = once ? client_->OpenOnce(level, min_txid, max_txid, offset, length)
                                           : client_->Open(level, min_txid, max_txid, offset, length);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  return ReadAllOrDie(**r);
}

namespace {

constexpr int64_t kTs = 1735689600123;  // 2025-01-01T00:00:00.123Z

TEST_P(StorageConformance, WriteReturnsInfoWithHeaderTimestamp) {
  LtxFileInfo info = MustWrite(0, 1, 1, kTs, 500);
  EXPECT_EQ(info.level, 0);
  EXPECT_EQ(info.min_txid, 1u);
  EXPECT_EQ(info.max_txid, 1u);
  EXPECT_EQ(info.size, 600);
  EXPECT_EQ(info.created_at, MillisToTime(kTs));
}

TEST_P(StorageConformance, ListIsSortedWithSizesAndTimestamps) {
  MustWrite(0, 3, 3, kTs + 3, 30);
  MustWrite(0, 1, 1, kTs + 1, 10);
  MustWrite(0, 2, 2, kTs + 2, 20);
  std::vector<LtxFileInfo> files = MustList(0, 0, /*use_metadata=*/true);
  ASSERT_EQ(files.size(), 3u);
  for (size_t i = 0; i < 3; i++) {
    EXPECT_EQ(files[i].level, 0);
    EXPECT_EQ(files[i].min_txid, i + 1);
    EXPECT_EQ(files[i].max_txid, i + 1);
    EXPECT_EQ(files[i].size, static_cast<int64_t>(100 + 10 * (i + 1)));
    EXPECT_EQ(files[i].created_at, MillisToTime(kTs + static_cast<int64_t>(i) + 1));
  }
  if (GetParam().list_reports_header_timestamp) {
    EXPECT_EQ(MustList(0), files);
  }
}

TEST_P(StorageConformance, ListSortsByMinThenMax) {
  MustWrite(1, 5, 9, kTs);
  MustWrite(1, 1, 4, kTs);
  MustWrite(1, 1, 2, kTs);
  std::vector<LtxFileInfo> files = MustList(1);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].max_txid, 2u);
  EXPECT_EQ(files[1].max_txid, 4u);
  EXPECT_EQ(files[2].min_txid, 5u);
}

TEST_P(StorageConformance, CreatedAtIsTheHeaderTimestampNotTheWriteTime) {
  const int64_t old_ts = 1262304000000;  // 2010-01-01
  MustWrite(9, 1, 100, old_ts);
  std::vector<LtxFileInfo> files = MustList(9, 0, /*use_metadata=*/true);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].created_at, MillisToTime(old_ts));
}

TEST_P(StorageConformance, SeekSkipsLowerMinTxids) {
  for (TXID t = 1; t <= 5; t++) MustWrite(0, t, t, kTs);
  std::vector<LtxFileInfo> files = MustList(0, 3);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].min_txid, 3u);
  EXPECT_EQ(files[2].min_txid, 5u);
  EXPECT_TRUE(MustList(0, 6).empty());
}

TEST_P(StorageConformance, LevelsAreIndependent) {
  MustWrite(0, 7, 7, kTs);
  MustWrite(1, 1, 7, kTs);
  MustWrite(9, 1, 7, kTs);
  EXPECT_EQ(MustList(0).size(), 1u);
  EXPECT_EQ(MustList(1).size(), 1u);
  EXPECT_EQ(MustList(9).size(), 1u);
  EXPECT_TRUE(MustList(2).empty());
}

TEST_P(StorageConformance, EmptyOrMissingLevelListsNothing) {
  for (int level = 0; level <= kSnapshotLevel; level++)
    EXPECT_TRUE(MustList(level).empty()) << "level " << level;
  MustWrite(3, 1, 1, kTs);
  ASSERT_TRUE(client_->Remove(MustList(3)).ok());
  EXPECT_TRUE(MustList(3).empty());
}

// OpenOnce (a hint that the reader does not come back) reads exactly what Open reads.
TEST_P(StorageConformance, OpenAndOpenOnceReadWholeFileAndRanges) {
  std::vector<uint8_t> bytes = MakeLtxBytes(4, 8, kTs, 1000, 3);
  MustWrite(2, 4, 8, kTs, 1000, 3);
  for (bool once : {false, true}) {
    SCOPED_TRACE(once ? "OpenOnce" : "Open");
    EXPECT_EQ(MustOpen(2, 4, 8, 0, 0, once), bytes);
    EXPECT_EQ(MustOpen(2, 4, 8, 0, 100, once), std::vector<uint8_t>(bytes.begin(), bytes.begin() + 100));
    EXPECT_EQ(MustOpen(2, 4, 8, 100, 0, once), std::vector<uint8_t>(bytes.begin() + 100, bytes.end()));
    EXPECT_EQ(MustOpen(2, 4, 8, 500, 17, once),
              std::vector<uint8_t>(bytes.begin() + 500, bytes.begin() + 517));
    // A range running past the end is cut at the end.
    EXPECT_EQ(MustOpen(2, 4, 8, 1090, 100, once), std::vector<uint8_t>(bytes.begin() + 1090, bytes.end()));
  }
}

TEST_P(StorageConformance, OpenMissingFileIsNotFound) {
  Result<std::unique_ptr<Reader>> r = client_->Open(0, 1, 1, 0, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  r = client_->OpenOnce(0, 1, 1, 0, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  MustWrite(0, 1, 1, kTs);
  r = client_->Open(0, 2, 2, 0, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST_P(StorageConformance, OverwritingTheSameKeyReplacesTheFile) {
  MustWrite(0, 9, 9, kTs, 10, 1);
  MustWrite(0, 9, 9, kTs + 1000, 300, 2);
  std::vector<LtxFileInfo> files = MustList(0, 0, true);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].size, 400);
  EXPECT_EQ(files[0].created_at, MillisToTime(kTs + 1000));
  EXPECT_EQ(MustOpen(0, 9, 9), MakeLtxBytes(9, 9, kTs + 1000, 300, 2));
}

TEST_P(StorageConformance, RemoveDeletesGivenFilesAndIgnoresMissingOnes) {
  for (TXID t = 1; t <= 4; t++) MustWrite(0, t, t, kTs);
  std::vector<LtxFileInfo> files = MustList(0);
  ASSERT_EQ(files.size(), 4u);
  LtxFileInfo never_written;
  never_written.level = 0;
  never_written.min_txid = never_written.max_txid = 77;
  ASSERT_TRUE(client_->Remove({files[1], files[3], never_written}).ok());
  files = MustList(0);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].min_txid, 1u);
  EXPECT_EQ(files[1].min_txid, 3u);
  EXPECT_TRUE(client_->Remove({files[1], files[1]}).ok());  // twice: the second is already gone
}

TEST_P(StorageConformance, RemoveAllDeletesEverythingAndTheReplicaStaysUsable) {
  MustWrite(0, 1, 1, kTs);
  MustWrite(1, 1, 1, kTs);
  MustWrite(9, 1, 1, kTs);
  ASSERT_TRUE(client_->RemoveAll().ok());
  for (int level : {0, 1, 9}) EXPECT_TRUE(MustList(level).empty());
  EXPECT_TRUE(client_->RemoveAll().ok());  // nothing left: still fine
  MustWrite(0, 2, 2, kTs);
  EXPECT_EQ(MustList(0).size(), 1u);
}

TEST_P(StorageConformance, ListIgnoresForeignNames) {
  if (!GetParam().put_raw) GTEST_SKIP() << "backend provides no put_raw";
  MustWrite(0, 1, 1, kTs);
  std::vector<uint8_t> junk = {'x'};
  for (const char* name :
       {"lock.json", "0000000000000002-0000000000000002.ltx.tmp", "0000000000000003.ltx",
        "0000000000000004-0000000000000004.LTX", "000000000000000G-0000000000000005.ltx", "README"}) {
    GetParam().put_raw(*client_, 0, name, junk);
  }
  std::vector<LtxFileInfo> files = MustList(0);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].min_txid, 1u);
}

TEST_P(StorageConformance, WriteRejectsStreamsThatAreNotTheNamedLtxFile) {
  auto write = [&](std::vector<uint8_t> bytes, TXID min_txid, TXID max_txid) {
    BufferReader r(std::move(bytes));
    return client_->Write(0, min_txid, max_txid, r).status();
  };
  std::vector<uint8_t> bad_magic = MakeLtxBytes(1, 1, kTs);
  bad_magic[3] = '2';
  EXPECT_EQ(write(bad_magic, 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write(MakeLtxBytes(1, 2, kTs), 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write(MakeLtxBytes(2, 2, kTs), 1, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write(std::vector<uint8_t>(50, 'L'), 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write({}, 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(MustList(0).empty());
}

TEST_P(StorageConformance, LargeStreamedWrite) {
  const uint64_t size = uint64_t{10} << 20;
  GeneratedLtxReader src(1, 50, kTs, size);
  Result<LtxFileInfo> info = client_->Write(9, 1, 50, src);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, static_cast<int64_t>(size));
  std::vector<LtxFileInfo> files = MustList(9);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].size, static_cast<int64_t>(size));
  std::vector<uint8_t> back = MustOpen(9, 1, 50);
  ASSERT_EQ(back.size(), size);
  GeneratedLtxReader expect(1, 50, kTs, size);
  size_t mismatches = 0;
  for (uint64_t i = 0; i < size; i++) mismatches += back[i] != expect.At(i);
  EXPECT_EQ(mismatches, 0u);
  // A ranged read deep inside the file.
  std::vector<uint8_t> mid = MustOpen(9, 1, 50, 7000000, 4096);
  ASSERT_EQ(mid.size(), 4096u);
  for (uint64_t i = 0; i < 4096; i++) ASSERT_EQ(mid[i], expect.At(7000000 + i)) << i;
}

TEST_P(StorageConformance, ConcurrentWritesOfDifferentKeys) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        TXID txid = static_cast<TXID>(t * kPerThread + i + 1);
        BufferReader r(
            MakeLtxBytes(txid, txid, kTs + static_cast<int64_t>(txid), 2000, static_cast<uint8_t>(txid)));
        if (!client_->Write(0, txid, txid, r).ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<LtxFileInfo> files = MustList(0, 0, true);
  ASSERT_EQ(files.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < files.size(); i++) {
    TXID txid = i + 1;
    EXPECT_EQ(files[i].min_txid, txid);
    EXPECT_EQ(files[i].created_at, MillisToTime(kTs + static_cast<int64_t>(txid)));
    EXPECT_EQ(MustOpen(0, txid, txid),
              MakeLtxBytes(txid, txid, kTs + static_cast<int64_t>(txid), 2000, static_cast<uint8_t>(txid)));
  }
}

}  // namespace
}  // namespace litestream::testing
