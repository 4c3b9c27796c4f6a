// The POSIX FileSystem and the helpers built on the FileSystem interface.
#include "util/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "util/scratch.h"

namespace litestream {
namespace {

Status ErrnoStatus(std::string_view op, const std::string& path) {
  int err = errno;
  return Status::FromErrno(err, std::string(op) + " " + path);
}

// Retries a syscall interrupted by a signal.
template <typename F>
auto RetryEintr(F f) -> decltype(f()) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

// The errors of a kernel or file system that does not take RWF_DONTCACHE (then the I/O is done without it).
bool RefusesDropBehind(int err) { return err == EOPNOTSUPP || err == EINVAL || err == ENOSYS; }

}  // namespace

Result<size_t> PreadAll(int fd, uint64_t offset, uint8_t* buf, size_t n, const std::string& path,
                        std::atomic<bool>* drop_behind) {
  size_t done = 0;
  while (done < n) {
    const off_t at = off_t(offset + done);
    ssize_t got = -1;
    if (drop_behind != nullptr && drop_behind->load(std::memory_order_relaxed)) {
      struct iovec iov = {buf + done, n - done};
      got = RetryEintr([&] { return ::preadv2(fd, &iov, 1, at, kRwfDontCache); });
      // An older kernel, or a file system without it: from now on an ordinary read.
      if (got < 0 && RefusesDropBehind(errno)) {
        drop_behind->store(false, std::memory_order_relaxed);
        continue;
      }
    } else {
      got = RetryEintr([&] { return ::pread(fd, buf + done, n - done, at); });
    }
    if (got < 0) return ErrnoStatus("read", path);
    if (got == 0) break;
    done += size_t(got);
  }
  return done;
}

namespace {

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  PosixRandomAccessFile(const PosixRandomAccessFile&) = delete;
  PosixRandomAccessFile& operator=(const PosixRandomAccessFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    return PreadAll(fd_, offset, buf, n, path_);
  }
  Result<size_t> ReadAtOnce(uint64_t offset, uint8_t* buf, size_t n) override {
    return PreadAll(fd_, offset, buf, n, path_, &drop_behind_);
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", path_);
    return uint64_t(st.st_size);
  }

 private:
  const int fd_;
  const std::string path_;
  std::atomic<bool> drop_behind_{true};
};

class PosixSequentialFile final : public Reader {
 public:
  int fd() const { return fd_; }
  // `drop_behind`: RWF_DONTCACHE reads (FileSystem::OpenSequentialOnce) until the kernel refuses them.
  PosixSequentialFile(int fd, std::string path, bool drop_behind = false)
      : fd_(fd), path_(std::move(path)), drop_behind_(drop_behind) {}
  ~PosixSequentialFile() override { ::close(fd_); }
  PosixSequentialFile(const PosixSequentialFile&) = delete;
  PosixSequentialFile& operator=(const PosixSequentialFile&) = delete;

  Result<size_t> Read(uint8_t* buf, size_t n) override {
    ssize_t got = -1;
    if (drop_behind_ && n >= kMinDropBehindRead) {
      struct iovec iov = {buf, n};
      got = RetryEintr([&] { return ::preadv2(fd_, &iov, 1, -1, kRwfDontCache); });  // -1: at the offset
      if (got < 0 && RefusesDropBehind(errno)) {
        drop_behind_ = false;
        return Read(buf, n);
      }
    } else {
      got = RetryEintr([&] { return ::read(fd_, buf, n); });
    }
    if (got < 0) return ErrnoStatus("read", path_);
    return size_t(got);
  }

 private:
  const int fd_;
  const std::string path_;
  bool drop_behind_;
};

class PosixWritableFile final : public WritableFile {
 public:
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // `drop_behind`: RWF_DONTCACHE writes (FileSystem::CreateDropBehind) until the kernel refuses them.
  PosixWritableFile(int fd, std::string path, bool drop_behind = false)
      : fd_(fd), path_(std::move(path)), drop_behind_(drop_behind) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Write(const uint8_t* buf, size_t n) override {
    if (fd_ < 0) return Status::FailedPrecondition("write " + path_ + ": file is closed");
    while (n > 0) {
      ssize_t put = -1;
      if (drop_behind_) {
        struct iovec iov = {const_cast<uint8_t*>(buf), n};
        put = RetryEintr([&] { return ::pwritev2(fd_, &iov, 1, -1, kRwfDontCache); });  // -1: at the offset
        if (put < 0 && RefusesDropBehind(errno)) {
          drop_behind_ = false;
          continue;
        }
      } else {
        put = RetryEintr([&] { return ::write(fd_, buf, n); });
      }
      if (put < 0) return ErrnoStatus("write", path_);
      buf += put;
      n -= size_t(put);
    }
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::FailedPrecondition("sync " + path_ + ": file is closed");
    if (RetryEintr([&] { return ::fsync(fd_); }) != 0) return ErrnoStatus("sync", path_);
    return Status::OK();
  }

  Status StartWriteback() override {
    if (fd_ < 0) return Status::FailedPrecondition("writeback " + path_ + ": file is closed");
    // Some file systems do not support it (EINVAL, ENOSYS); the final fsync covers everything anyway.
    (void)RetryEintr([&] { return ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE); });
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int fd = fd_;
    fd_ = -1;
    // Never retry close(2) on EINTR: the descriptor is released either way.
    if (::close(fd) != 0) return ErrnoStatus("close", path_);
    return Status::OK();
  }

 private:
  int fd_;
  const std::string path_;
  bool drop_behind_;
};

// A file opened with O_DIRECT, fed whole chunks from aligned memory (CopyInChunks): those go from our
// buffer straight to the device. The first piece that is not one (the end of the stream, or all of a small
// file: one fsync of it costs less than a direct write and then an fsync) clears O_DIRECT, and it and the
// rest go through the page cache; so does everything on a file system that refuses a direct write.
class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(int fd, std::string path) : file_(fd, std::move(path)) {}

  Status Write(const uint8_t* data, size_t n) override {
    if (!direct_ || file_.fd() < 0) return file_.Write(data, n);
    if (n >= kScratchBytes && reinterpret_cast<uintptr_t>(data) % kScratchAlign == 0) {
      const size_t whole = n - n % kScratchBytes;
      LS_RETURN_IF_ERROR(WriteDirect(data, whole));
      data += whole;
      n -= whole;
    }
    if (n > 0 && direct_) LS_RETURN_IF_ERROR(StopDirect());
    return file_.Write(data, n);
  }
  Status Sync() override { return file_.Sync(); }
  Status StartWriteback() override { return file_.StartWriteback(); }
  Status Close() override { return file_.Close(); }

 private:
  Status StopDirect() {
    direct_ = false;
    const int flags = ::fcntl(file_.fd(), F_GETFL);
    if (flags < 0 || ::fcntl(file_.fd(), F_SETFL, flags & ~O_DIRECT) != 0)
      return ErrnoStatus("fcntl", file_.path());
    return Status::OK();
  }

  // EINVAL: this file system takes no direct writes after all; a short direct write leaves the offset where
  // it stopped. Either way the rest goes through the page cache.
  Status WriteDirect(const uint8_t* data, size_t n) {
    ssize_t put = RetryEintr([&] { return ::write(file_.fd(), data, n); });
    if (put == ssize_t(n)) return Status::OK();
    if (put < 0 && errno != EINVAL) return ErrnoStatus("write", file_.path());
    const size_t done = put > 0 ? size_t(put) : 0;
    LS_RETURN_IF_ERROR(StopDirect());
    return file_.Write(data + done, n - done);
  }

  PosixWritableFile file_;  // owns the descriptor; the page-cache writes, fsync and close
  bool direct_ = true;
};

}  // namespace

Status WritebackWriter::Write(const uint8_t* data, size_t n) {
  LS_RETURN_IF_ERROR(file_.Write(data, n));
  unflushed_ += n;
  if (unflushed_ < interval_) return Status::OK();
  unflushed_ = 0;
  return file_.StartWriteback();
}

std::optional<Result<uint64_t>> KernelCopy(Reader& from, Writer& to) {
  auto* src = dynamic_cast<PosixSequentialFile*>(&from);
  auto* dst = dynamic_cast<PosixWritableFile*>(&to);
  if (src == nullptr || dst == nullptr || dst->fd() < 0) return std::nullopt;
  uint64_t total = 0;
  for (;;) {
    constexpr size_t kChunk = WritebackWriter::kDefaultInterval;
    ssize_t n =
        RetryEintr([&] { return ::copy_file_range(src->fd(), nullptr, dst->fd(), nullptr, kChunk, 0); });
    if (n == 0) return Result<uint64_t>(total);
    if (n < 0) {
      const int err = errno;
      if (total == 0 && (err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP))
        return std::nullopt;
      return Result<uint64_t>(Status::FromErrno(err, "copy_file_range"));
    }
    total += static_cast<uint64_t>(n);
    if (static_cast<size_t>(n) == kChunk) (void)dst->StartWriteback();  // more may follow
  }
}

Result<uint64_t> CopyInChunks(const uint8_t* prefix, size_t prefix_size, Reader& from, Writer& to) {
  ScratchBuffer chunk(kScratchBytes);
  uint64_t total = 0;
  for (bool end = false; !end;) {
    size_t filled = 0;
    while (filled < chunk.capacity()) {
      if (prefix_size > 0) {
        const size_t take = std::min(prefix_size, chunk.capacity() - filled);
        std::memcpy(chunk.data() + filled, prefix, take);
        prefix += take;
        prefix_size -= take;
        filled += take;
        continue;
      }
      LS_ASSIGN_OR_RETURN(size_t got, from.Read(chunk.data() + filled, chunk.capacity() - filled));
      if (got == 0) {
        end = true;
        break;
      }
      filled += got;
    }
    if (filled > 0) LS_RETURN_IF_ERROR(to.Write(chunk.data(), filled));
    total += filled;
  }
  return total;
}

namespace {

SystemTime ToSystemTime(const struct timespec& ts) {
  int64_t ms = int64_t(ts.tv_sec) * 1000 + int64_t(ts.tv_nsec) / 1000000;
  return SystemTime(std::chrono::milliseconds(ms));
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", path);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(fd, path));
  }

  Result<std::unique_ptr<Reader>> OpenSequential(const std::string& path, uint64_t offset) override {
    return OpenSequentialPosix(path, offset, /*drop_behind=*/false);
  }

  Result<std::unique_ptr<Reader>> OpenSequentialOnce(const std::string& path, uint64_t offset) override {
    return OpenSequentialPosix(path, offset, /*drop_behind=*/true);
  }

  Result<std::unique_ptr<WritableFile>> Create(const std::string& path, uint32_t mode) override {
    return CreatePosix(path, mode, /*drop_behind=*/false);
  }

  Result<std::unique_ptr<WritableFile>> CreateDropBehind(const std::string& path, uint32_t mode) override {
    return CreatePosix(path, mode, /*drop_behind=*/true);
  }

  Result<std::unique_ptr<WritableFile>> CreateWriteOnce(const std::string& path, uint32_t mode) override {
    int fd = RetryEintr([&] {
      return ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_DIRECT, mode_t(mode));
    });
    if (fd < 0 && errno == EINVAL) return Create(path, mode);  // a file system without O_DIRECT (tmpfs)
    if (fd < 0) return ErrnoStatus("create", path);
    return std::unique_ptr<WritableFile>(new DirectWritableFile(fd, path));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from + " to " + to);
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    if (::remove(path.c_str()) != 0) return ErrnoStatus("remove", path);
    return Status::OK();
  }

  Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::FromErrno(ec.value(), "remove all " + path);
    }
    return Status::OK();
  }

  Status MkdirAll(const std::string& path, uint32_t mode) override {
    if (path.empty()) return Status::InvalidArgument("mkdir: empty path");
    struct stat existing;
    if (::stat(path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode))
      return Status::OK();  // the usual case
    // Creates each prefix in turn; an existing directory is fine, an existing file is not.
    for (size_t pos = 1; pos <= path.size(); pos++) {
      if (pos != path.size() && path[pos] != '/') continue;
      std::string prefix = path.substr(0, pos);
      if (prefix.back() == '/') continue;
      if (::mkdir(prefix.c_str(), mode_t(mode)) == 0) continue;
      int err = errno;
      struct stat st;
      if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      if (err == EEXIST) return Status::IOError("mkdir " + prefix + ": exists and is not a directory");
      return Status::FromErrno(err, "mkdir " + prefix);
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open dir", path);
    Status s;
    if (RetryEintr([&] { return ::fsync(fd); }) != 0) s = ErrnoStatus("sync dir", path);
    ::close(fd);
    return s;
  }

  Status WriteBack(const std::string& path, uint64_t length) override {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    length -= length % page;
    if (length == 0) return Status::OK();  // sync_file_range's 0 would mean "to the end of the file"
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", path);
    // EINVAL/ENOSYS (no support) is not an error: this is a hint.
    (void)RetryEintr([&] {
      return ::sync_file_range(
          fd, 0, static_cast<off_t>(length),
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    });
    ::close(fd);
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("list", path);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) break;
      std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    int err = errno;
    ::closedir(dir);
    if (err != 0) return Status::FromErrno(err, "list " + path);
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path);
    FileInfo info;
    info.size = uint64_t(st.st_size);
    info.mode = uint32_t(st.st_mode);
    info.uid = uint32_t(st.st_uid);
    info.gid = uint32_t(st.st_gid);
    info.mtime = ToSystemTime(st.st_mtim);
    info.is_dir = S_ISDIR(st.st_mode);
    return info;
  }

  Status SetTimes(const std::string& path, SystemTime time) override {
    int64_t ms = time.time_since_epoch().count();
    // Floor division so that times before 1970 keep a non-negative nanosecond part.
    int64_t sec = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    int64_t rem_ms = ms - sec * 1000;
    struct timespec ts[2];
    ts[0].tv_sec = time_t(sec);
    ts[0].tv_nsec = long(rem_ms * 1000000);
    ts[1] = ts[0];
    if (::utimensat(AT_FDCWD, path.c_str(), ts, 0) != 0) return ErrnoStatus("set times", path);
    return Status::OK();
  }

  Status Chown(const std::string& path, uint32_t uid, uint32_t gid) override {
    if (::chown(path.c_str(), uid_t(uid), gid_t(gid)) == 0) return Status::OK();
    if (errno == EPERM) return Status::OK();
    return ErrnoStatus("chown", path);
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    if (RetryEintr([&] { return ::truncate(path.c_str(), off_t(size)); }) != 0) {
      return ErrnoStatus("truncate", path);
    }
    return Status::OK();
  }

 private:
  static Result<std::unique_ptr<Reader>> OpenSequentialPosix(const std::string& path, uint64_t offset,
                                                             bool drop_behind) {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", path);
    if (offset > 0 && ::lseek(fd, off_t(offset), SEEK_SET) < 0) {
      Status s = ErrnoStatus("seek", path);
      ::close(fd);
      return s;
    }
    // Read front to back: a larger read-ahead window (a restore streams dozens of files at once).
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<Reader>(new PosixSequentialFile(fd, path, drop_behind));
  }

  static Result<std::unique_ptr<WritableFile>> CreatePosix(const std::string& path, uint32_t mode,
                                                           bool drop_behind) {
    int fd = RetryEintr(
        [&] { return ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode_t(mode)); });
    if (fd < 0) return ErrnoStatus("create", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path, drop_behind));
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static PosixFileSystem* fs = new PosixFileSystem();  // never destroyed: usable during static destruction
  return fs;
}

std::string DirName(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') end--;
  size_t slash = path.rfind('/', end - 1);
  if (end == 0 || slash == std::string::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') slash--;
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteFileAtomic(FileSystem& fs, const std::string& path, const uint8_t* data, size_t n,
                       uint32_t mode) {
  const std::string tmp = path + ".tmp";
  Status s = [&]() -> Status {
    LS_ASSIGN_OR_RETURN(auto file, fs.Create(tmp, mode));
    LS_RETURN_IF_ERROR(file->Write(data, n));
    LS_RETURN_IF_ERROR(file->Sync());
    LS_RETURN_IF_ERROR(file->Close());
    return fs.Rename(tmp, path);
  }();
  if (!s.ok()) {
    (void)fs.Remove(tmp);  // best effort; the file may not exist
    return s;
  }
  return fs.SyncDir(DirName(path));
}

Result<std::vector<uint8_t>> ReadFileToVector(FileSystem& fs, const std::string& path, size_t max_bytes) {
  LS_ASSIGN_OR_RETURN(auto reader, fs.OpenSequential(path, 0));
  auto data = reader->ReadAll(max_bytes);
  if (!data.ok()) return data.status().WithContext("read " + path);
  return data;
}

Result<bool> PathExists(FileSystem& fs, const std::string& path) {
  auto info = fs.Stat(path);
  if (info.ok()) return true;
  if (info.status().IsNotFound()) return false;
  return info.status();
}

}  // namespace litestream
