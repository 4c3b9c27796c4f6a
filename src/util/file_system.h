// The local file system seam. Every local file operation in the project (the database, its WAL, the
// meta directory, the file replica backend, restore output) goes through a FileSystem so that tests can
// inject faults (disk full, EIO, a crash before a rename) with FaultFileSystem instead of touching the
// real code paths.
//
// Contract shared by every method:
//  - Errors are values: Status::FromErrno with the path in the message. ENOENT is NotFound, ENOSPC and
//    EDQUOT are DiskFull, everything else is IOError (EINVAL: InvalidArgument).
//  - No exception escapes (allocation failure aside).
//  - Implementations are thread-safe: a FileSystem may be shared by any number of threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "litestream/storage.h"  // SystemTime

namespace litestream {

// What Stat() reports. Times have millisecond precision (the precision of SystemTime).
struct FileInfo {
  uint64_t size = 0;
  uint32_t mode = 0;  // st_mode: the file type bits and the permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  SystemTime mtime{};
  bool is_dir = false;

  uint32_t permissions() const { return mode & 07777; }
};

// A file open for positional reads (pread). ReadAt returns fewer than n bytes only at end of file.
// Safe to use from several threads at once.
class RandomAccessFile : public RandomAccessReader {};

// A file open for writing, created by FileSystem::Create. Not thread-safe.
// The destructor closes the file if Close() was not called, ignoring errors: call Close() to see them.
class WritableFile : public Writer {
 public:
  // Flushes the file's data and metadata to stable storage (fsync).
  virtual Status Sync() = 0;
  // Starts writing what was written so far back to storage without waiting for it, so that a later Sync()
  // has less left to do. A hint: the default does nothing.
  virtual Status StartWriteback() { return Status::OK(); }
  // Closes the file. A second call is a no-op that returns OK. Write/Sync after Close fail.
  virtual Status Close() = 0;
};

// Forwards writes to `file` and starts its writeback after every `interval` bytes, so that the disk writes a
// big file while the rest is produced instead of all of it in the final Sync().
class WritebackWriter final : public Writer {
 public:
  static constexpr uint64_t kDefaultInterval = 16 << 20;
  explicit WritebackWriter(WritableFile& file, uint64_t interval = kDefaultInterval)
      : file_(file), interval_(interval) {}
  Status Write(const uint8_t* data, size_t n) override;

 private:
  WritableFile& file_;
  const uint64_t interval_;
  uint64_t unflushed_ = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The POSIX implementation. A stateless process-wide singleton; never delete it.
  static FileSystem* Default();

  // Opens an existing file for positional reads. NotFound if it does not exist.
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) = 0;
  // Opens an existing file for sequential reads starting at `offset`. NotFound if it does not exist.
  virtual Result<std::unique_ptr<Reader>> OpenSequential(const std::string& path, uint64_t offset = 0) = 0;
  // Like OpenSequential, for a file read once, front to back, by a reader that does not come back to it (a
  // restore's input): its reads of at least kMinDropBehindRead bytes are RWF_DONTCACHE (Linux 6.14+), so
  // the pages they bring into the page cache leave it once copied, and pages already cached stay. Reading
  // it then evicts none of the other cached pages and reuses its own. Smaller reads, and all of them where
  // the kernel or the file system refuses the flag, are ordinary ones. The default is OpenSequential.
  virtual Result<std::unique_ptr<Reader>> OpenSequentialOnce(const std::string& path, uint64_t offset = 0) {
    return OpenSequential(path, offset);
  }
  // Creates (or truncates) a file for writing: O_CREAT|O_TRUNC|O_WRONLY|O_CLOEXEC with `mode` (the process
  // umask applies, as with open(2)). The parent directory must exist.
  virtual Result<std::unique_ptr<WritableFile>> Create(const std::string& path, uint32_t mode = 0644) = 0;
  // Like Create, for a file written front to back once and not read back soon (a replica's copy): where the
  // file system allows, the whole chunks CopyInChunks feeds it (all but the last piece) bypass the page
  // cache (O_DIRECT), so writing it costs no copy into the cache and evicts none of the application's cached
  // pages; the last piece, and any write that is not a whole aligned chunk, go through the cache. The
  // default is Create.
  virtual Result<std::unique_ptr<WritableFile>> CreateWriteOnce(const std::string& path,
                                                                uint32_t mode = 0644) {
    return Create(path, mode);
  }

  // Like Create, for a big file written front to back and not read back soon (a restored database): its
  // writes are RWF_DONTCACHE (Linux 6.14+), so its pages leave the page cache once written back. Writing it
  // then evicts none of the other cached pages, and it reuses its own pages instead of taking fresh ones
  // (on a virtual machine whose host reclaims free memory, fresh pages made a cold restore of 1 GiB take
  // 2.1 s instead of 1.1 s). Where the kernel or the file system refuses the flag, the writes are ordinary
  // ones. The default is Create.
  virtual Result<std::unique_ptr<WritableFile>> CreateDropBehind(const std::string& path,
                                                                 uint32_t mode = 0644) {
    return Create(path, mode);
  }

  // rename(2): atomically replaces `to` if it exists. Call SyncDir on the parent to make it durable.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file or an empty directory. NotFound if it does not exist.
  virtual Status Remove(const std::string& path) = 0;
  // Removes a file or a directory tree. A missing path is OK.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Creates a directory and any missing parents. OK if it already exists as a directory.
  virtual Status MkdirAll(const std::string& path, uint32_t mode = 0755) = 0;
  // fsyncs a directory, making renames, creations and removals inside it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names of the entries of a directory (no "." or ".."), sorted. NotFound if it does not exist.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // stat(2), following symlinks. NotFound if the path does not exist.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Sets both the access and the modification time (utimensat, millisecond precision).
  virtual Status SetTimes(const std::string& path, SystemTime time) = 0;
  // Best effort chown(2): EPERM (not running as root) is OK; other errors, e.g. NotFound, are returned.
  virtual Status Chown(const std::string& path, uint32_t uid, uint32_t gid) = 0;
  // truncate(2): sets the file's size, cutting or extending with zeros.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Writes the dirty cached pages wholly within a file's first `length` bytes back to storage and waits
  // for it, without flushing metadata or the disk cache: not durability, just less left for the next
  // fsync of it. Meant for someone else's file (the application's WAL): the page its writer may be
  // filling is left out. A hint: without sync_file_range(2) it does nothing; the default does nothing.
  virtual Status WriteBack(const std::string& path, uint64_t length) {
    (void)path;
    (void)length;
    return Status::OK();
  }
};

// Writes `path` atomically: writes path + ".tmp", fsyncs it, renames it over `path` and fsyncs the parent
// directory. On any failure the tmp file is removed and `path` is untouched (unless the failure is the final
// directory fsync, after which the new content may or may not survive a crash).
Status WriteFileAtomic(FileSystem& fs, const std::string& path, const uint8_t* data, size_t n,
                       uint32_t mode = 0644);

// Reads a whole file. InvalidArgument if it is larger than `max_bytes`; NotFound if it does not exist.
Result<std::vector<uint8_t>> ReadFileToVector(FileSystem& fs, const std::string& path, size_t max_bytes);

// True if the path exists, false if Stat says NotFound, or Stat's error.
Result<bool> PathExists(FileSystem& fs, const std::string& path);

// Copies the rest of `from` to the end of `to` inside the kernel (copy_file_range, no pass through user
// memory) when both are files of the POSIX file system, starting the destination's writeback every
// WritebackWriter::kDefaultInterval bytes. nullopt, with nothing copied, when they are not or
// the kernel cannot (files on different file systems, an old kernel). Otherwise the bytes copied or the
// error. Copy() tries it first.
std::optional<Result<uint64_t>> KernelCopy(Reader& from, Writer& to);

// Writes `prefix`, then the rest of `from`, to `to` in chunks of kScratchBytes from a pooled, aligned buffer:
// every write but the last is whole and aligned (what a CreateWriteOnce file takes without a copy), and
// large (a file system zeroes the rest of every page-cache folio a small write starts), whatever pieces the
// Reader returns. Returns the bytes written, prefix included.
Result<uint64_t> CopyInChunks(const uint8_t* prefix, size_t prefix_size, Reader& from, Writer& to);

// preadv2(2)'s and pwritev2(2)'s RWF_DONTCACHE (Linux 6.14's uncached buffered I/O); glibc 2.36's headers
// predate it.
inline constexpr int kRwfDontCache = 0x00000080;

// The smallest sequential read (OpenSequentialOnce) that drops behind. The kernel drops every folio such a
// read touched, so the next read fetches the rest of a partly read folio from the disk again: a 511 MB file
// read cold cost 736 MB of disk reads in 8 KiB reads, 767 MB in 32 KiB, 655 MB in 512 KiB, 602 MB in 1 MiB;
// and a restore merging ~70 files (~100 KiB reads each) took twice as long as with ordinary reads.
// PreadAll (ReadAtOnce) does not apply it: a snapshot reads one file in runs of 1 MiB, shorter only where
// a WAL page or the lock page breaks a run, and one file read alone in 128 KiB reads still took 0.33 s with
// RWF_DONTCACHE against 0.59 s without (fresh pages cost more than the reads again); only the many files
// of a restore, read in turn, lost.
inline constexpr size_t kMinDropBehindRead = 1 << 20;

// pread(2) of a file descriptor until n bytes or the end of the file (RandomAccessReader::ReadAt's
// contract). With `drop_behind` (a per-file flag, true until the kernel refuses it) the reads are
// preadv2(RWF_DONTCACHE), for RandomAccessReader::ReadAtOnce: the pages they bring into the page cache are
// dropped once copied (Linux 6.14+); where the kernel or the file system refuses the flag, the flag is
// cleared and the reads are ordinary ones.
Result<size_t> PreadAll(int fd, uint64_t offset, uint8_t* buf, size_t n, const std::string& path,
                        std::atomic<bool>* drop_behind = nullptr);

// "a/b/c" -> "a/b"; "c" -> "."; "/c" -> "/". Trailing slashes are ignored.
std::string DirName(const std::string& path);

}  // namespace litestream
