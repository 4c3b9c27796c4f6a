#include "util/file_in_progress.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/paths.h"

namespace litestream {
namespace {

using testing::MakeTempDir;

// Writes `chunks` pieces of 1,000 bytes to `path` through a ProgressWriter, then finishes with `outcome`.
void WriteInPieces(const std::string& path, FileInProgress& progress, int chunks, const Status& outcome) {
  auto file = FileSystem::Default()->Create(path, 0644);
  ASSERT_TRUE(file.ok());
  ProgressWriter out(**file, progress);
  std::vector<uint8_t> piece(1000);
  for (int i = 0; i < chunks; i++) {
    std::fill(piece.begin(), piece.end(), static_cast<uint8_t>(i));
    ASSERT_TRUE(out.Write(piece.data(), piece.size()).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  progress.Finish(outcome);
}

std::unique_ptr<RandomAccessFile> OpenForReading(const std::string& path) {
  auto created = FileSystem::Default()->Create(path, 0644);  // the writer truncates it again
  EXPECT_TRUE(created.ok());
  auto file = FileSystem::Default()->OpenRandomAccess(path);
  EXPECT_TRUE(file.ok());
  return std::move(*file);
}

TEST(FileInProgressTest, ReaderFollowsTheWriterAndEndsOnlyAfterFinish) {
  const std::string path = MakeTempDir("in-progress") + "/f";
  FileInProgress progress(OpenForReading(path), "f");
  std::thread writer([&] { WriteInPieces(path, progress, 50, Status::OK()); });
  auto reader = progress.OpenReader();
  auto read = reader->ReadAll(1 << 20);
  writer.join();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const std::vector<uint8_t>& all = *read;
  ASSERT_EQ(all.size(), 50'000u);
  for (size_t i = 0; i < all.size(); i++) ASSERT_EQ(all[i], static_cast<uint8_t>(i / 1000)) << i;
}

TEST(FileInProgressTest, AbandonedFileFailsItsReaderWithTheWritersError) {
  const std::string path = MakeTempDir("in-progress") + "/f";
  FileInProgress progress(OpenForReading(path), "f");
  std::thread writer([&] { WriteInPieces(path, progress, 5, Status::DiskFull("disk full")); });
  auto reader = progress.OpenReader();
  Status s = reader->ReadAll(1 << 20).status();
  writer.join();
  EXPECT_TRUE(s.IsDiskFull()) << s.ToString();
  EXPECT_TRUE(progress.abandoned());
  // Finish is final: a late OK does not revive it.
  progress.Finish(Status::OK());
  EXPECT_TRUE(progress.abandoned());
}

TEST(FileInProgressTest, RevokeFailsReadersNotYetAtTheEndAndSaysWhetherOneWasThere) {
  const std::string path = MakeTempDir("in-progress") + "/f";
  FileInProgress progress(OpenForReading(path), "f");
  WriteInPieces(path, progress, 3, Status::OK());
  auto at_end = progress.OpenReader();
  auto behind = progress.OpenReader();
  ASSERT_TRUE(at_end->ReadAll(1 << 20).ok());
  std::vector<uint8_t> buf(1000);
  ASSERT_TRUE(behind->Read(buf.data(), buf.size()).ok());

  EXPECT_TRUE(progress.Revoke(Status::IOError("fsync failed")));
  EXPECT_TRUE(progress.abandoned());
  Status s = behind->ReadAll(1 << 20).status();
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();

  // No reader at the end yet: nobody can have committed a copy.
  FileInProgress unread(OpenForReading(path + "2"), "f2");
  unread.Finish(Status::OK());
  EXPECT_FALSE(unread.Revoke(Status::IOError("rename failed")));
  // Only a complete file can be revoked.
  FileInProgress abandoned(OpenForReading(path + "3"), "f3");
  abandoned.Finish(Status::IOError("write failed"));
  EXPECT_FALSE(abandoned.Revoke(Status::IOError("again")));
}

TEST(FileInProgressTest, WaitForReadersReturnsOnceTheyAreGone) {
  const std::string path = MakeTempDir("in-progress") + "/f";
  FileInProgress progress(OpenForReading(path), "f");
  WriteInPieces(path, progress, 2, Status::OK());
  auto reader = progress.OpenReader();
  std::thread consumer([&] {
    ASSERT_TRUE(reader->ReadAll(1 << 20).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reader.reset();
  });
  // Woken by the reader's end, not by the timeout.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(progress.WaitForReaders(std::chrono::seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  consumer.join();
  EXPECT_EQ(reader, nullptr);
  EXPECT_TRUE(progress.WaitForReaders(std::chrono::milliseconds(0)));  // none left
  auto stays = progress.OpenReader();
  EXPECT_FALSE(progress.WaitForReaders(std::chrono::milliseconds(10)));
  stays.reset();
  EXPECT_TRUE(progress.WaitForReaders(std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace litestream
