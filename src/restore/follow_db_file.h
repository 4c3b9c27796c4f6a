// The database file a follower updates in place, with SQLite's EXCLUSIVE lock emulated by hand.
//
// The FileSystem seam has no in-place (positional) writes or byte-range locks, so this small class uses
// POSIX directly. Locks are open-file-description locks (F_OFD_SETLK) where available: unlike classic
// fcntl locks they conflict with SQLite's locks even inside this process, and closing this descriptor does
// not drop locks SQLite connections of this process hold on the same file.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>

#include "litestream/status.h"

namespace litestream {

// SQLite's lock bytes (os.h): PENDING at 1 GiB, then RESERVED, then the 510-byte SHARED range.
constexpr uint64_t kSqlitePendingByte = 0x40000000;
constexpr uint64_t kSqliteSharedFirst = kSqlitePendingByte + 2;
constexpr uint64_t kSqliteSharedSize = 510;

class FollowDbFile {
 public:
  FollowDbFile() = default;
  ~FollowDbFile();
  FollowDbFile(FollowDbFile&& other) noexcept;
  FollowDbFile& operator=(FollowDbFile&& other) noexcept;
  FollowDbFile(const FollowDbFile&) = delete;
  FollowDbFile& operator=(const FollowDbFile&) = delete;

  // Opens an existing database read-write. NotFound if it does not exist.
  static Result<FollowDbFile> Open(const std::string& path);

  // The page size from the SQLite header (offset 16, big-endian; 1 means 65536). Corruption if the file
  // does not start with a SQLite header.
  Result<uint32_t> ReadPageSize();

  // Takes write locks on the PENDING byte and the SHARED range, retrying while readers hold them, for up
  // to `timeout` or until `stop`. Busy if it could not.
  Status LockExclusive(std::chrono::milliseconds timeout, const std::stop_token& stop);
  void Unlock();

  Status WriteAt(uint64_t offset, const uint8_t* data, size_t n);
  Status ReadAt(uint64_t offset, uint8_t* data, size_t n);
  Status Truncate(uint64_t size);
  Status Sync();
  void Close();

  const std::string& path() const { return path_; }

 private:
  // One fcntl lock request: F_WRLCK or F_UNLCK over [start, start + len).
  bool TryLock(short type, uint64_t start, uint64_t len, int* err);

  int fd_ = -1;
  std::string path_;
  bool locked_ = false;
};

}  // namespace litestream
