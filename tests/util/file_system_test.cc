// The POSIX FileSystem, the atomic-write helpers, FaultFileSystem and the clocks.
#include "util/file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "support/page_cache.h"
#include "support/paths.h"
#include "util/clock.h"
#include "util/fault_file_system.h"
#include "util/memory_file.h"
#include "util/scratch.h"

namespace litestream {
namespace {

using testing::CachedPages;
using testing::CachePage;
using testing::EvictFromPageCache;
using testing::TakesDropBehindReads;
using testing::TakesDropBehindWrites;

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = litestream::testing::MakeTempDir("fs-test"); }

  void WriteFile(const std::string& path, const std::string& content) {
    auto file = fs_->Create(path, 0644);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Write(reinterpret_cast<const uint8_t*>(content.data()), content.size()).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  std::string ReadFile(const std::string& path) {
    auto data = ReadFileToVector(*fs_, path, 1 << 20);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? std::string(data->begin(), data->end()) : "";
  }
  std::vector<std::string> List(const std::string& path) {
    auto names = fs_->ListDir(path);
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    return names.ok() ? *names : std::vector<std::string>{};
  }

  FileSystem* fs_ = FileSystem::Default();
  std::string dir_;
};

TEST_F(FileSystemTest, DefaultIsASingleton) { EXPECT_EQ(FileSystem::Default(), FileSystem::Default()); }

TEST_F(FileSystemTest, CreateWriteSyncCloseAndReadBack) {
  const std::string path = dir_ + "/a";
  auto file = fs_->Create(path, 0600);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto data = Bytes("hello, world");
  ASSERT_TRUE((*file)->Write(data.data(), data.size()).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_TRUE((*file)->Close().ok());  // idempotent
  EXPECT_FALSE((*file)->Write(data.data(), 1).ok());
  EXPECT_FALSE((*file)->Sync().ok());
  EXPECT_EQ(ReadFile(path), "hello, world");
  auto info = fs_->Stat(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->permissions() & 0077, 0u);  // created with 0600 (umask can only remove bits)
}

// The rest of a file, after what was read of it, lands after what was written to the destination; other
// Readers and Writers are not kernel-copied.
TEST_F(FileSystemTest, KernelCopyAppendsTheRestOfTheSource) {
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); i++) content[i] = static_cast<char>(i * 131 + i / 4096);
  WriteFile(dir_ + "/src", content);
  auto src = fs_->OpenSequential(dir_ + "/src", 0);
  ASSERT_TRUE(src.ok());
  uint8_t head[100];
  ASSERT_TRUE((*src)->ReadFull(head, sizeof(head)).ok());
  auto dst = fs_->Create(dir_ + "/dst", 0644);
  ASSERT_TRUE(dst.ok());
  ASSERT_TRUE((*dst)->Write(head, sizeof(head)).ok());
  auto copied = KernelCopy(**src, **dst);
  ASSERT_TRUE(copied.has_value());
  ASSERT_TRUE(copied->ok()) << copied->status().ToString();
  EXPECT_EQ(**copied, content.size() - sizeof(head));
  ASSERT_TRUE((*dst)->Close().ok());
  auto back = ReadFileToVector(*fs_, dir_ + "/dst", 4 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::string(back->begin(), back->end()) == content);

  std::vector<uint8_t> bytes = Bytes("abc");
  BufferReader memory(bytes);
  auto other = fs_->Create(dir_ + "/other", 0644);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(KernelCopy(memory, **other).has_value());
  BufferWriter sink;
  EXPECT_FALSE(KernelCopy(**src, sink).has_value());
}

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(i * 131 + i / 4096 + seed);
  return s;
}

// Hands out a string in pieces of the given sizes, in turn.
class PiecesReader final : public Reader {
 public:
  PiecesReader(std::string data, std::vector<size_t> sizes)
      : data_(std::move(data)), sizes_(std::move(sizes)) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    const size_t take = std::min({n, sizes_[turn_++ % sizes_.size()], data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  std::string data_;
  std::vector<size_t> sizes_;
  size_t pos_ = 0;
  size_t turn_ = 0;
};

// Remembers the size and alignment of every write.
class RecordingWriter final : public Writer {
 public:
  Status Write(const uint8_t* data, size_t n) override {
    writes.push_back({n, reinterpret_cast<uintptr_t>(data) % kScratchAlign == 0});
    bytes.append(reinterpret_cast<const char*>(data), n);
    return Status::OK();
  }
  std::vector<std::pair<size_t, bool>> writes;  // (size, aligned)
  std::string bytes;
};

TEST(CopyInChunks, WritesThePrefixThenTheStreamInWholeAlignedChunks) {
  const std::string prefix = Pattern(100, 1);
  const std::string rest = Pattern(2 * kScratchBytes + 5000, 2);
  PiecesReader from(rest, {1, 4095, 70000, 3});
  RecordingWriter to;
  auto n = CopyInChunks(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size(), from, to);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, prefix.size() + rest.size());
  EXPECT_TRUE(to.bytes == prefix + rest);
  ASSERT_EQ(to.writes.size(), 3u);
  for (const auto& [size, aligned] : to.writes) EXPECT_TRUE(aligned);
  EXPECT_EQ(to.writes[0].first, kScratchBytes);
  EXPECT_EQ(to.writes[1].first, kScratchBytes);

  PiecesReader empty("", {1});
  RecordingWriter nothing;
  auto zero = CopyInChunks(nullptr, 0, empty, nothing);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0u);
  EXPECT_TRUE(nothing.writes.empty());
}

// A write-once file holds exactly what was written, whether it came as whole aligned chunks (CopyInChunks),
// as odd pieces, or both; closed after a sync or without one; on a file system with O_DIRECT or (tmpfs)
// without.
TEST_F(FileSystemTest, WriteOnceFileHoldsExactlyWhatWasWritten) {
  const size_t sizes[] = {0, 1, 4095, 4096, 4097, kScratchBytes, kScratchBytes + 1, 3 * kScratchBytes + 123};
  std::vector<std::string> dirs = {dir_};
  struct stat shm {};
  if (::stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    dirs.push_back(litestream::testing::MakeTempDir("fs-test-shm", "/dev/shm"));
  }
  for (const std::string& dir : dirs) {
    for (size_t size : sizes) {
      for (int mode = 0; mode < 3; mode++) {
        SCOPED_TRACE(dir + " size " + std::to_string(size) + " mode " + std::to_string(mode));
        const std::string path = dir + "/once";
        const std::string content = Pattern(size, static_cast<unsigned>(mode));
        auto file = fs_->CreateWriteOnce(path, 0600);
        ASSERT_TRUE(file.ok()) << file.status().ToString();
        if (mode == 0) {  // aligned chunks, then synced
          PiecesReader from(content, {65536});
          ASSERT_TRUE(CopyInChunks(nullptr, 0, from, **file).ok());
          ASSERT_TRUE((*file)->Sync().ok());
        } else {  // odd pieces (mode 1), or odd pieces after a first aligned chunk (mode 2); no sync
          size_t pos = 0;
          if (mode == 2 && size >= kScratchBytes) {
            ScratchBuffer chunk(kScratchBytes);
            std::memcpy(chunk.data(), content.data(), kScratchBytes);
            ASSERT_TRUE((*file)->Write(chunk.data(), kScratchBytes).ok());
            pos = kScratchBytes;
          }
          for (size_t piece = 1; pos < size; piece = piece * 7 % 100003 + 1) {
            const size_t take = std::min(piece, size - pos);
            ASSERT_TRUE((*file)->Write(reinterpret_cast<const uint8_t*>(content.data()) + pos, take).ok());
            pos += take;
          }
        }
        ASSERT_TRUE((*file)->Close().ok());
        EXPECT_TRUE((*file)->Close().ok());  // idempotent
        EXPECT_FALSE((*file)->Write(reinterpret_cast<const uint8_t*>("x"), 1).ok());
        auto back = ReadFileToVector(*fs_, path, 8 << 20);
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        EXPECT_EQ(back->size(), size);
        EXPECT_TRUE(std::string(back->begin(), back->end()) == content);
      }
    }
  }
}

TEST_F(FileSystemTest, WriteOnceFileCanBeWrittenAfterASync) {
  const std::string path = dir_ + "/once";
  auto file = fs_->CreateWriteOnce(path, 0600);
  ASSERT_TRUE(file.ok());
  const std::string a = Pattern(kScratchBytes + 10, 3), b = Pattern(5000, 4);
  ScratchBuffer chunk(kScratchBytes);
  std::memcpy(chunk.data(), a.data(), kScratchBytes);
  ASSERT_TRUE((*file)->Write(chunk.data(), kScratchBytes).ok());
  ASSERT_TRUE((*file)->Write(reinterpret_cast<const uint8_t*>(a.data()) + kScratchBytes, 10).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Write(reinterpret_cast<const uint8_t*>(b.data()), b.size()).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  auto back = ReadFileToVector(*fs_, path, 4 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::string(back->begin(), back->end()) == a + b);
}

// On a disk that takes O_DIRECT (not tmpfs, which is the page cache, nor a file system that refuses it) a
// big write-once file leaves at most its tail block in the page cache, and a small one is written through
// the cache whole.
TEST_F(FileSystemTest, WriteOnceFileBypassesThePageCacheOnADisk) {
  struct statfs fs_info {};
  ASSERT_EQ(::statfs(dir_.c_str(), &fs_info), 0);
  const int probe = ::open((dir_ + "/probe").c_str(), O_CREAT | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
  if (probe >= 0) ::close(probe);
  const bool disk = fs_info.f_type != TMPFS_MAGIC && probe >= 0;
  const std::string big = dir_ + "/big", small = dir_ + "/small";
  for (const auto& [path, size] : {std::pair{big, 4 * kScratchBytes + 100}, std::pair{small, size_t{5000}}}) {
    auto file = fs_->CreateWriteOnce(path, 0600);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    PiecesReader from(Pattern(size, 5), {size});
    ASSERT_TRUE(CopyInChunks(nullptr, 0, from, **file).ok());
    ASSERT_TRUE((*file)->Sync().ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  if (disk) {
    EXPECT_LE(CachedPages(big), 1u);
    EXPECT_EQ(CachedPages(small), 2u);
  }
  auto back = ReadFileToVector(*fs_, big, 8 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::string(back->begin(), back->end()) == Pattern(4 * kScratchBytes + 100, 5));
}

// ReadAtOnce returns what ReadAt returns (fewer bytes only at the end of the file). Where the kernel drops
// what such a read cached, a pass over an evicted file leaves next to none of it in the page cache, while a
// page that was cached before stays.
TEST_F(FileSystemTest, ReadAtOnceReadsLikeReadAtAndDropsWhatItCached) {
  const std::string path = dir_ + "/db";
  const size_t size = 4 * kScratchBytes + 4096;
  WriteFile(path, Pattern(size, 7));
  EvictFromPageCache(path);
  CachePage(path, 0);  // cached before the pass
  auto file = fs_->OpenRandomAccess(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();

  std::string back;
  std::vector<uint8_t> piece(kScratchBytes);
  for (uint64_t offset = 0;; offset += piece.size()) {
    auto got = (*file)->ReadAtOnce(offset, piece.data(), piece.size());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    back.append(reinterpret_cast<const char*>(piece.data()), *got);
    if (*got < piece.size()) break;
  }
  EXPECT_TRUE(back == Pattern(size, 7));
  auto past_end = (*file)->ReadAtOnce(size, piece.data(), piece.size());
  ASSERT_TRUE(past_end.ok());
  EXPECT_EQ(*past_end, 0u);

  if (TakesDropBehindReads(path)) {
    // Page 0 stays; of the rest, at most a few pages the kernel could not drop at once.
    const size_t pages = size / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t cached = CachedPages(path);
    EXPECT_GE(cached, 1u);
    EXPECT_LT(cached, pages / 10) << "of " << pages << " pages";
  }
}

// Reads a whole stream in pieces of `piece` bytes.
std::string ReadInPieces(Reader& reader, size_t piece) {
  std::string out;
  std::vector<uint8_t> buf(piece);
  for (;;) {
    auto got = reader.Read(buf.data(), buf.size());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || *got == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *got);
  }
}

// OpenSequentialOnce reads like OpenSequential, from its offset to the end. Where the kernel drops what such
// a read cached, a pass in reads of kMinDropBehindRead bytes over an evicted file leaves next to none of it
// in the page cache, while a page that was cached before stays; a pass in smaller reads caches the file
// as ordinary reads do.
TEST_F(FileSystemTest, SequentialOnceReadsFromItsOffsetAndDropsWhatItsBigReadsCached) {
  const std::string path = dir_ + "/ltx";
  const size_t size = 4 * kMinDropBehindRead + 4096;
  const std::string content = Pattern(size, 9);
  WriteFile(path, content);
  const size_t pages = size / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t offset = 4096 + 17;
  for (size_t piece : {kMinDropBehindRead, size_t{64} << 10}) {
    SCOPED_TRACE("reads of " + std::to_string(piece) + " bytes");
    EvictFromPageCache(path);
    CachePage(path, 0);  // cached before the pass
    auto reader = fs_->OpenSequentialOnce(path, offset);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_TRUE(ReadInPieces(**reader, piece) == content.substr(offset));
    if (!TakesDropBehindReads(path)) continue;
    const size_t cached = CachedPages(path);
    EXPECT_GE(cached, 1u);
    if (piece >= kMinDropBehindRead) {
      EXPECT_LT(cached, pages / 10) << "of " << pages << " pages";
    } else {
      EXPECT_GT(cached, pages * 9 / 10) << "of " << pages << " pages";
    }
  }
  EXPECT_TRUE(fs_->OpenSequentialOnce(dir_ + "/nope", 0).status().IsNotFound());
}

TEST_F(FileSystemTest, DropBehindFileHoldsWhatWasWrittenAndLeavesThePageCache) {
  const std::string path = dir_ + "/restored";
  WriteFile(path, "an older, longer file that the new one replaces");
  const std::string content = Pattern(3 * kScratchBytes + 777, 5);
  auto file = fs_->CreateDropBehind(path, 0600);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  // Pieces of uneven sizes: each write goes on at the file's offset.
  const auto* bytes = reinterpret_cast<const uint8_t*>(content.data());
  for (size_t at = 0, piece = 1000; at < content.size(); at += piece, piece = piece * 3 + 1) {
    const size_t n = std::min(piece, content.size() - at);
    ASSERT_TRUE((*file)->Write(bytes + at, n).ok());
  }
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());

  if (TakesDropBehindWrites(dir_)) {
    const size_t pages = content.size() / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    EXPECT_LT(CachedPages(path), pages / 10) << "of " << pages << " pages";
  }
  auto back = ReadFileToVector(*fs_, path, content.size() + 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(std::string(back->begin(), back->end()) == content);
}

TEST_F(FileSystemTest, WriteOnceInAMissingDirectoryIsNotFound) {
  auto file = fs_->CreateWriteOnce(dir_ + "/missing/once", 0600);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
}

TEST_F(FileSystemTest, CreateTruncatesAnExistingFile) {
  const std::string path = dir_ + "/a";
  WriteFile(path, "a long first version");
  WriteFile(path, "short");
  EXPECT_EQ(ReadFile(path), "short");
}

TEST_F(FileSystemTest, DestructorClosesAnUnclosedFile) {
  const std::string path = dir_ + "/a";
  {
    auto file = fs_->Create(path, 0644);
    ASSERT_TRUE(file.ok());
    auto data = Bytes("abc");
    ASSERT_TRUE((*file)->Write(data.data(), data.size()).ok());
  }
  EXPECT_EQ(ReadFile(path), "abc");
}

TEST_F(FileSystemTest, CreateInAMissingDirectoryIsNotFound) {
  auto file = fs_->Create(dir_ + "/missing/a", 0644);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
  EXPECT_NE(file.status().message().find(dir_ + "/missing/a"), std::string::npos);
}

TEST_F(FileSystemTest, OpenRandomAccessReadsAtOffsets) {
  const std::string path = dir_ + "/a";
  WriteFile(path, "0123456789");
  auto file = fs_->OpenRandomAccess(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(*(*file)->Size(), 10u);
  uint8_t buf[16];
  auto n = (*file)->ReadAt(3, buf, 4);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, buf + *n), "3456");
  n = (*file)->ReadAt(8, buf, 16);  // short only at end of file
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, buf + *n), "89");
  n = (*file)->ReadAt(100, buf, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(FileSystemTest, RandomAccessReadsFromManyThreads) {
  const std::string path = dir_ + "/a";
  std::string content;
  for (int i = 0; i < 4096; i++) content.push_back(char('a' + i % 26));
  WriteFile(path, content);
  auto file = fs_->OpenRandomAccess(path);
  ASSERT_TRUE(file.ok());
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; i++) {
        uint64_t off = uint64_t((i * 37 + t * 11) % 4000);
        uint8_t buf[64];
        auto n = (*file)->ReadAt(off, buf, sizeof(buf));
        if (!n.ok() || *n != 64 || std::string(buf, buf + 64) != content.substr(off, 64)) bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(FileSystemTest, OpenSequentialStartsAtOffset) {
  const std::string path = dir_ + "/a";
  WriteFile(path, "0123456789");
  auto reader = fs_->OpenSequential(path, 4);
  ASSERT_TRUE(reader.ok());
  auto all = (*reader)->ReadAll(100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(std::string(all->begin(), all->end()), "456789");
}

TEST_F(FileSystemTest, OpenMissingFileIsNotFound) {
  EXPECT_TRUE(fs_->OpenRandomAccess(dir_ + "/nope").status().IsNotFound());
  EXPECT_TRUE(fs_->OpenSequential(dir_ + "/nope", 0).status().IsNotFound());
}

TEST_F(FileSystemTest, RenameReplacesTheTarget) {
  WriteFile(dir_ + "/a", "new");
  WriteFile(dir_ + "/b", "old");
  ASSERT_TRUE(fs_->Rename(dir_ + "/a", dir_ + "/b").ok());
  EXPECT_EQ(ReadFile(dir_ + "/b"), "new");
  EXPECT_TRUE(fs_->Stat(dir_ + "/a").status().IsNotFound());
  EXPECT_TRUE(fs_->Rename(dir_ + "/a", dir_ + "/c").IsNotFound());
}

TEST_F(FileSystemTest, RemoveFileAndEmptyDirectory) {
  WriteFile(dir_ + "/a", "x");
  ASSERT_TRUE(fs_->Remove(dir_ + "/a").ok());
  EXPECT_TRUE(fs_->Remove(dir_ + "/a").IsNotFound());
  ASSERT_TRUE(fs_->MkdirAll(dir_ + "/d", 0755).ok());
  EXPECT_TRUE(fs_->Remove(dir_ + "/d").ok());
  ASSERT_TRUE(fs_->MkdirAll(dir_ + "/e", 0755).ok());
  WriteFile(dir_ + "/e/f", "x");
  Status s = fs_->Remove(dir_ + "/e");  // not empty
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsNotFound());
}

TEST_F(FileSystemTest, RemoveAllRemovesTreesAndIgnoresMissingPaths) {
  ASSERT_TRUE(fs_->MkdirAll(dir_ + "/t/a/b", 0755).ok());
  WriteFile(dir_ + "/t/a/b/f", "x");
  WriteFile(dir_ + "/t/g", "y");
  ASSERT_TRUE(fs_->RemoveAll(dir_ + "/t").ok());
  EXPECT_TRUE(fs_->Stat(dir_ + "/t").status().IsNotFound());
  EXPECT_TRUE(fs_->RemoveAll(dir_ + "/t").ok());
  WriteFile(dir_ + "/file", "z");
  EXPECT_TRUE(fs_->RemoveAll(dir_ + "/file").ok());
  EXPECT_TRUE(fs_->Stat(dir_ + "/file").status().IsNotFound());
}

TEST_F(FileSystemTest, MkdirAllCreatesParentsAndIsIdempotent) {
  const std::string deep = dir_ + "/x/y/z";
  ASSERT_TRUE(fs_->MkdirAll(deep, 0755).ok());
  ASSERT_TRUE(fs_->MkdirAll(deep, 0755).ok());
  ASSERT_TRUE(fs_->MkdirAll(deep + "/", 0755).ok());
  auto info = fs_->Stat(deep);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->is_dir);
  WriteFile(dir_ + "/file", "x");
  EXPECT_FALSE(fs_->MkdirAll(dir_ + "/file/sub", 0755).ok());
  EXPECT_FALSE(fs_->MkdirAll(dir_ + "/file", 0755).ok());
  EXPECT_FALSE(fs_->MkdirAll("", 0755).ok());
}

TEST_F(FileSystemTest, SyncDir) {
  EXPECT_TRUE(fs_->SyncDir(dir_).ok());
  EXPECT_TRUE(fs_->SyncDir(dir_ + "/missing").IsNotFound());
  WriteFile(dir_ + "/file", "x");
  EXPECT_FALSE(fs_->SyncDir(dir_ + "/file").ok());  // not a directory
}

TEST_F(FileSystemTest, ListDirIsSortedAndSkipsDots) {
  WriteFile(dir_ + "/b", "");
  WriteFile(dir_ + "/a", "");
  ASSERT_TRUE(fs_->MkdirAll(dir_ + "/c", 0755).ok());
  EXPECT_EQ(List(dir_), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(List(dir_ + "/c"), std::vector<std::string>{});
  EXPECT_TRUE(fs_->ListDir(dir_ + "/missing").status().IsNotFound());
}

TEST_F(FileSystemTest, StatReportsSizeModeOwnerAndType) {
  WriteFile(dir_ + "/a", "12345");
  ASSERT_EQ(::chmod((dir_ + "/a").c_str(), 0640), 0);
  auto info = fs_->Stat(dir_ + "/a");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->permissions(), 0640u);
  EXPECT_TRUE(S_ISREG(info->mode));
  EXPECT_FALSE(info->is_dir);
  EXPECT_EQ(info->uid, uint32_t(::getuid()));
  EXPECT_EQ(info->gid, uint32_t(::getegid()));
  auto dir = fs_->Stat(dir_);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->is_dir);
  auto missing = fs_->Stat(dir_ + "/missing");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find(dir_ + "/missing"), std::string::npos);
}

TEST_F(FileSystemTest, SetTimesRoundTripsMilliseconds) {
  WriteFile(dir_ + "/a", "x");
  for (int64_t ms : {int64_t{1735689600123}, int64_t{1}, int64_t{999}, int64_t{1000}, int64_t{-1500}}) {
    SystemTime t{std::chrono::milliseconds(ms)};
    ASSERT_TRUE(fs_->SetTimes(dir_ + "/a", t).ok()) << ms;
    auto info = fs_->Stat(dir_ + "/a");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->mtime, t) << ms;
  }
  EXPECT_TRUE(fs_->SetTimes(dir_ + "/missing", SystemTime{}).IsNotFound());
}

TEST_F(FileSystemTest, ChownToSelfWorksAndMissingIsNotFound) {
  WriteFile(dir_ + "/a", "x");
  EXPECT_TRUE(fs_->Chown(dir_ + "/a", uint32_t(::getuid()), uint32_t(::getgid())).ok());
  // Not permitted unless root: best effort, still OK.
  EXPECT_TRUE(fs_->Chown(dir_ + "/a", 12345, 12345).ok());
  EXPECT_TRUE(fs_->Chown(dir_ + "/missing", 0, 0).IsNotFound());
}

TEST_F(FileSystemTest, TruncateCutsAndExtends) {
  WriteFile(dir_ + "/a", "0123456789");
  ASSERT_TRUE(fs_->Truncate(dir_ + "/a", 4).ok());
  EXPECT_EQ(ReadFile(dir_ + "/a"), "0123");
  ASSERT_TRUE(fs_->Truncate(dir_ + "/a", 6).ok());
  EXPECT_EQ(ReadFile(dir_ + "/a"), std::string("0123\0\0", 6));
  EXPECT_TRUE(fs_->Truncate(dir_ + "/missing", 0).IsNotFound());
}

// Whether the pages reached the disk is not observable from here; what is: the call succeeds on a file
// another descriptor is still writing, leaves its bytes as they are, and reports a missing file.
TEST_F(FileSystemTest, WriteBackLeavesAnotherWritersFileIntactAndMissingIsNotFound) {
  // Another process's file, written through its own descriptor and not synced (the application's WAL).
  const std::string path = dir_ + "/wal";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> data(1 << 20, 0x5a);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  EXPECT_TRUE(fs_->WriteBack(path, data.size() / 2).ok());
  EXPECT_TRUE(fs_->WriteBack(path, 0).ok());
  ASSERT_EQ(::write(fd, data.data(), 3), 3);  // the writer carries on
  ::close(fd);
  auto back = ReadFileToVector(*fs_, path, 2 << 20);
  ASSERT_TRUE(back.ok());
  data.insert(data.end(), {0x5a, 0x5a, 0x5a});
  EXPECT_EQ(*back, data);
  EXPECT_TRUE(fs_->WriteBack(dir_ + "/missing", 1 << 20).IsNotFound());
}

TEST_F(FileSystemTest, WriteFileAtomicReplacesContent) {
  const std::string path = dir_ + "/state";
  auto v1 = Bytes("first");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, v1.data(), v1.size(), 0600).ok());
  auto v2 = Bytes("second");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, v2.data(), v2.size(), 0600).ok());
  EXPECT_EQ(ReadFile(path), "second");
  EXPECT_EQ(List(dir_), std::vector<std::string>{"state"});
}

TEST_F(FileSystemTest, ReadFileToVectorEnforcesTheLimit) {
  WriteFile(dir_ + "/a", "0123456789");
  EXPECT_EQ(ReadFileToVector(*fs_, dir_ + "/a", 10)->size(), 10u);
  auto too_big = ReadFileToVector(*fs_, dir_ + "/a", 9);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadFileToVector(*fs_, dir_ + "/missing", 9).status().IsNotFound());
}

TEST_F(FileSystemTest, PathExists) {
  WriteFile(dir_ + "/a", "");
  EXPECT_TRUE(*PathExists(*fs_, dir_ + "/a"));
  EXPECT_FALSE(*PathExists(*fs_, dir_ + "/b"));
}

TEST(DirName, Cases) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/c/"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName(""), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("a//b"), "a");
}

// --- FaultFileSystem ---------------------------------------------------------------------------------

class FaultFileSystemTest : public FileSystemTest {
 protected:
  FaultFileSystem faulty_{FileSystem::Default()};
};

TEST_F(FaultFileSystemTest, AtomicWriteLeavesNoTmpOnAnyInjectedFailure) {
  const std::string path = dir_ + "/state";
  auto v1 = Bytes("first");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, v1.data(), v1.size()).ok());
  auto v2 = Bytes("second");
  for (FaultOp op : {FaultOp::kCreate, FaultOp::kWrite, FaultOp::kSync, FaultOp::kClose, FaultOp::kRename}) {
    faulty_.Clear();
    faulty_.FailNth(op, 1, Status::DiskFull("injected: no space"));
    Status s = WriteFileAtomic(faulty_, path, v2.data(), v2.size());
    ASSERT_FALSE(s.ok()) << int(op);
    EXPECT_TRUE(s.IsDiskFull()) << s.ToString();
    EXPECT_EQ(List(dir_), std::vector<std::string>{"state"}) << int(op);
    EXPECT_EQ(ReadFile(path), "first") << int(op);
  }
  // A failing directory fsync comes after the rename: the error is reported, the new content is there.
  faulty_.Clear();
  faulty_.FailNth(FaultOp::kSync, 2, Status::IOError("injected EIO"));
  Status s = WriteFileAtomic(faulty_, path, v2.data(), v2.size());
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(List(dir_), std::vector<std::string>{"state"});
  EXPECT_EQ(ReadFile(path), "second");
}

TEST_F(FaultFileSystemTest, FailsTheNthMatchingOperationOnce) {
  faulty_.FailNth(FaultOp::kCreate, 2, Status::DiskFull("full"), ".tmp");
  EXPECT_TRUE(faulty_.Create(dir_ + "/a.tmp", 0644).ok());  // 1st matching
  EXPECT_TRUE(faulty_.Create(dir_ + "/b", 0644).ok());      // does not match
  auto failed = faulty_.Create(dir_ + "/c.tmp", 0644);      // 2nd matching
  EXPECT_TRUE(failed.status().IsDiskFull());
  EXPECT_TRUE(fs_->Stat(dir_ + "/c.tmp").status().IsNotFound());  // the failed create did nothing
  EXPECT_TRUE(faulty_.Create(dir_ + "/d.tmp", 0644).ok());        // one-shot
  EXPECT_EQ(faulty_.Count(FaultOp::kCreate), 4);
  EXPECT_EQ(faulty_.InjectedCount(), 1);
}

TEST_F(FaultFileSystemTest, StickyRuleKeepsFailing) {
  faulty_.FailNth(FaultOp::kWrite, 2, Status::DiskFull("full"), "", /*sticky=*/true);
  auto file = faulty_.Create(dir_ + "/a", 0644);
  ASSERT_TRUE(file.ok());
  auto data = Bytes("abc");
  EXPECT_TRUE((*file)->Write(data.data(), 3).ok());
  EXPECT_TRUE((*file)->Write(data.data(), 3).IsDiskFull());
  EXPECT_TRUE((*file)->Write(data.data(), 3).IsDiskFull());
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_EQ(ReadFile(dir_ + "/a"), "abc");  // failed writes wrote nothing
}

TEST_F(FaultFileSystemTest, ReadFaultsOnOpenedFiles) {
  WriteFile(dir_ + "/wal", "0123456789");
  faulty_.FailNth(FaultOp::kRead, 2, Status::IOError("EIO"), "wal");
  auto file = faulty_.OpenRandomAccess(dir_ + "/wal");
  ASSERT_TRUE(file.ok());
  uint8_t buf[4];
  EXPECT_TRUE((*file)->ReadAt(0, buf, 4).ok());
  EXPECT_EQ((*file)->ReadAt(0, buf, 4).status().code(), StatusCode::kIOError);
  EXPECT_TRUE((*file)->ReadAt(0, buf, 4).ok());

  faulty_.FailNth(FaultOp::kRead, 1, Status::IOError("EIO"));
  auto seq = faulty_.OpenSequential(dir_ + "/wal", 0);
  ASSERT_TRUE(seq.ok());
  EXPECT_FALSE((*seq)->ReadAll(100).ok());
}

TEST_F(FaultFileSystemTest, RenameMatchesEitherPath) {
  WriteFile(dir_ + "/x.ltx.tmp", "x");
  faulty_.FailNth(FaultOp::kRename, 1, Status::IOError("crash before rename"), "final.ltx");
  EXPECT_FALSE(faulty_.Rename(dir_ + "/x.ltx.tmp", dir_ + "/final.ltx").ok());
  EXPECT_TRUE(fs_->Stat(dir_ + "/final.ltx").status().IsNotFound());
  EXPECT_TRUE(faulty_.Rename(dir_ + "/x.ltx.tmp", dir_ + "/final.ltx").ok());
}

TEST_F(FaultFileSystemTest, FailAfterFailsEverythingFromThatPoint) {
  faulty_.FailAfter(2, Status::IOError("power lost"));
  EXPECT_TRUE(faulty_.MkdirAll(dir_ + "/m", 0755).ok());
  EXPECT_TRUE(faulty_.Stat(dir_ + "/m").ok());
  EXPECT_FALSE(faulty_.Stat(dir_ + "/m").ok());
  EXPECT_FALSE(faulty_.ListDir(dir_).ok());
  EXPECT_FALSE(faulty_.Remove(dir_ + "/m").ok());
  EXPECT_FALSE(faulty_.SetTimes(dir_ + "/m", SystemTime{}).ok());
  faulty_.Clear();
  EXPECT_TRUE(faulty_.Remove(dir_ + "/m").ok());
}

TEST_F(FaultFileSystemTest, PassesEverythingThroughWithoutRules) {
  ASSERT_TRUE(faulty_.MkdirAll(dir_ + "/p/q", 0755).ok());
  auto v = Bytes("data");
  ASSERT_TRUE(WriteFileAtomic(faulty_, dir_ + "/p/q/f", v.data(), v.size()).ok());
  EXPECT_EQ(*faulty_.ListDir(dir_ + "/p/q"), std::vector<std::string>{"f"});
  EXPECT_EQ(faulty_.Stat(dir_ + "/p/q/f")->size, 4u);
  EXPECT_TRUE(faulty_.Truncate(dir_ + "/p/q/f", 2).ok());
  EXPECT_TRUE(faulty_.Chown(dir_ + "/p/q/f", uint32_t(::getuid()), uint32_t(::getgid())).ok());
  EXPECT_TRUE(faulty_.SyncDir(dir_ + "/p").ok());
  EXPECT_EQ(*ReadFileToVector(faulty_, dir_ + "/p/q/f", 10), Bytes("da"));
  EXPECT_TRUE(faulty_.RemoveAll(dir_ + "/p").ok());
  EXPECT_EQ(faulty_.InjectedCount(), 0);
}

// --- MemoryRandomAccessReader ------------------------------------------------------------------------

TEST(MemoryRandomAccessReader, ReadsLikeAFile) {
  MemoryRandomAccessReader file(Bytes("abcdef"));
  uint8_t buf[8];
  EXPECT_EQ(*file.ReadAt(2, buf, 3), 3u);
  EXPECT_EQ(std::string(buf, buf + 3), "cde");
  EXPECT_EQ(*file.ReadAt(4, buf, 8), 2u);
  EXPECT_EQ(*file.ReadAt(6, buf, 8), 0u);
  EXPECT_EQ(*file.ReadAt(~uint64_t{0}, buf, 8), 0u);
  EXPECT_EQ(*file.Size(), 6u);
}

// --- Clocks ------------------------------------------------------------------------------------------

TEST(Clock, RealClockIsNearTheSystemClock) {
  Clock* clock = Clock::Real();
  EXPECT_EQ(clock, Clock::Real());
  auto sys = std::chrono::system_clock::now();
  auto diff = clock->Now().time_since_epoch() -
              std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch());
  EXPECT_LT(std::chrono::abs(diff), std::chrono::seconds(5));
  auto a = clock->SteadyNow();
  auto b = clock->SteadyNow();
  EXPECT_LE(a, b);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock;
  EXPECT_EQ(clock.Now(), ManualClock::kDefaultStart);
  auto steady = clock.SteadyNow();
  EXPECT_EQ(clock.SteadyNow(), steady);
  clock.Advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.Now(), ManualClock::kDefaultStart + std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.SteadyNow() - steady, std::chrono::milliseconds(1500));
  clock.Advance(std::chrono::milliseconds(-10));  // ignored
  EXPECT_EQ(clock.SteadyNow() - steady, std::chrono::milliseconds(1500));
  SystemTime earlier{std::chrono::milliseconds(1000)};
  clock.SetNow(earlier);
  EXPECT_EQ(clock.Now(), earlier);
  EXPECT_EQ(clock.SteadyNow() - steady, std::chrono::milliseconds(1500));  // steady never goes back
  // The steady clock leaves room to subtract durations.
  EXPECT_GT(clock.SteadyNow() - std::chrono::minutes(30), std::chrono::steady_clock::time_point{});
}

TEST(Clock, ManualClockIsThreadSafe) {
  ManualClock clock(SystemTime{});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; i++) {
        clock.Advance(std::chrono::milliseconds(1));
        (void)clock.Now();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(clock.Now(), SystemTime{std::chrono::milliseconds(4000)});
}

}  // namespace
}  // namespace litestream
