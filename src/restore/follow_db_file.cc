#include "restore/follow_db_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace litestream {

FollowDbFile::~FollowDbFile() { Close(); }

FollowDbFile::FollowDbFile(FollowDbFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), locked_(other.locked_) {
  other.fd_ = -1;
  other.locked_ = false;
}

FollowDbFile& FollowDbFile::operator=(FollowDbFile&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    locked_ = other.locked_;
    other.fd_ = -1;
    other.locked_ = false;
  }
  return *this;
}

Result<FollowDbFile> FollowDbFile::Open(const std::string& path) {
  FollowDbFile f;
  f.path_ = path;
  do {
    f.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  } while (f.fd_ < 0 && errno == EINTR);
  if (f.fd_ < 0) return Status::FromErrno(errno, "open " + path);
  return f;
}

Status FollowDbFile::ReadAt(uint64_t offset, uint8_t* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, data + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path_);
    }
    if (got == 0)
      return Status::Corruption(path_ + ": unexpected end of file at offset " +
                                std::to_string(offset + done));
    done += static_cast<size_t>(got);
  }
  return Status::OK();
}

Result<uint32_t> FollowDbFile::ReadPageSize() {
  uint8_t header[100];
  LS_RETURN_IF_ERROR(ReadAt(0, header, sizeof(header)));
  if (std::memcmp(header, "SQLite format 3\0", 16) != 0) {
    return Status::Corruption(path_ + ": not a SQLite database (bad header)");
  }
  uint32_t ps = (uint32_t{header[16]} << 8) | header[17];
  if (ps == 1) ps = 65536;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0) {
    return Status::Corruption(path_ + ": invalid page size " + std::to_string(ps) + " in the SQLite header");
  }
  return ps;
}

bool FollowDbFile::TryLock(short type, uint64_t start, uint64_t len, int* err) {
  struct flock lk;
  std::memset(&lk, 0, sizeof(lk));
  lk.l_type = type;
  lk.l_whence = SEEK_SET;
  lk.l_start = static_cast<off_t>(start);
  lk.l_len = static_cast<off_t>(len);
#ifdef F_OFD_SETLK
  int cmd = F_OFD_SETLK;  // l_pid must be 0
#else
  int cmd = F_SETLK;
#endif
  int rc;
  do {
    rc = ::fcntl(fd_, cmd, &lk);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return true;
  *err = errno;
  return false;
}

Status FollowDbFile::LockExclusive(std::chrono::milliseconds timeout, const std::stop_token& stop) {
  if (locked_) return Status::OK();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int err = 0;
    if (TryLock(F_WRLCK, kSqlitePendingByte, 1, &err)) {
      if (TryLock(F_WRLCK, kSqliteSharedFirst, kSqliteSharedSize, &err)) {
        locked_ = true;
        return Status::OK();
      }
      int ignored = 0;
      TryLock(F_UNLCK, kSqlitePendingByte, 1, &ignored);
    }
    if (err != EAGAIN && err != EACCES) return Status::FromErrno(err, "lock " + path_);
    if (stop.stop_requested()) return Status::Cancelled("lock " + path_ + ": stopped");
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Busy("lock " + path_ + ": readers kept the database locked for " +
                          std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void FollowDbFile::Unlock() {
  if (!locked_ || fd_ < 0) return;
  int ignored = 0;
  TryLock(F_UNLCK, kSqliteSharedFirst, kSqliteSharedSize, &ignored);
  TryLock(F_UNLCK, kSqlitePendingByte, 1, &ignored);
  locked_ = false;
}

Status FollowDbFile::WriteAt(uint64_t offset, const uint8_t* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t wrote = ::pwrite(fd_, data + done, n - done, static_cast<off_t>(offset + done));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path_ + " at offset " + std::to_string(offset + done));
    }
    done += static_cast<size_t>(wrote);
  }
  return Status::OK();
}

Status FollowDbFile::Truncate(uint64_t size) {
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(size));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Status::FromErrno(errno, "truncate " + path_);
  return Status::OK();
}

Status FollowDbFile::Sync() {
  if (::fsync(fd_) < 0) return Status::FromErrno(errno, "fsync " + path_);
  return Status::OK();
}

void FollowDbFile::Close() {
  Unlock();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace litestream
