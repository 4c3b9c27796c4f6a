#include "db/sqlite_conn.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string_view>

#include "ltx/coding.h"
#include "util/file_system.h"

namespace litestream {

Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::OK();
  std::string message = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Busy(std::move(message));
    case SQLITE_FULL: return Status::DiskFull(std::move(message));
    case SQLITE_CANTOPEN:
    case SQLITE_NOTFOUND: return Status::NotFound(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(message));
    default: return Status::IOError(std::move(message));
  }
}

SqliteConn& SqliteConn::operator=(SqliteConn&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = other.db_;
    path_ = std::move(other.path_);
    other.db_ = nullptr;
  }
  return *this;
}

Result<SqliteConn> SqliteConn::Open(const std::string& path, std::chrono::milliseconds busy_timeout,
                                    int flags) {
  SqliteConn conn;
  conn.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &conn.db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, conn.db_, "open " + path);
  sqlite3_extended_result_codes(conn.db_, 1);
  sqlite3_busy_timeout(conn.db_, static_cast<int>(busy_timeout.count()));
  return conn;
}

Status SqliteConn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  return SqliteStatus(rc, db_, sql);
}

namespace {

template <typename T, typename Get>
Result<T> QueryOne(sqlite3* db, const std::string& sql, Get get) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db, sql);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    Status s = rc == SQLITE_DONE ? Status::NotFound(sql + ": no row") : SqliteStatus(rc, db, sql);
    sqlite3_finalize(stmt);
    return s;
  }
  T value = get(stmt);
  // Step to the end so statements like PRAGMA wal_checkpoint finish their work.
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return SqliteStatus(rc, db, sql);
  return value;
}

}  // namespace

Result<int64_t> SqliteConn::QueryInt(const std::string& sql) {
  return QueryOne<int64_t>(db_, sql, [](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
}

Result<std::string> SqliteConn::QueryText(const std::string& sql) {
  return QueryOne<std::string>(db_, sql, [](sqlite3_stmt* s) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  });
}

void SqliteConn::Close() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

}  // namespace litestream

namespace litestream {

namespace {

// The first members of SQLite's unixFile (os_unix.c), the sqlite3_file of every "unix*" VFS. SQLite has no
// API that returns a file's descriptor.
struct UnixFilePrefix {
  const sqlite3_io_methods* methods;
  sqlite3_vfs* vfs;
  void* inode;
  int fd;
};

// SQLite's descriptor of `file`, the main file of `db`, or -1 unless that is certain: the connection's VFS
// is one of SQLite's unix VFSes, the file names that VFS where a unixFile does, and the descriptor is open
// on `path`'s inode.
int UnixFileDescriptor(sqlite3* db, sqlite3_file* file, const std::string& path) {
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK || vfs == nullptr ||
      vfs->zName == nullptr || !std::string_view(vfs->zName).starts_with("unix")) {
    return -1;
  }
  const auto* prefix = reinterpret_cast<const UnixFilePrefix*>(file);
  struct stat by_fd, by_path;
  if (prefix->vfs != vfs || ::fstat(prefix->fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0 ||
      by_fd.st_dev != by_path.st_dev || by_fd.st_ino != by_path.st_ino) {
    return -1;
  }
  return prefix->fd;
}

sqlite3_file* MainFile(sqlite3* db) {
  sqlite3_file* file = nullptr;
  int rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file);
  return rc == SQLITE_OK && file != nullptr && file->pMethods != nullptr ? file : nullptr;
}

}  // namespace

Status ShmCheckpointerLock(sqlite3* db, bool lock) {
  constexpr int kWalCheckpointerLock = 1;
  sqlite3_file* file = MainFile(db);
  if (file == nullptr || file->pMethods->iVersion < 2 || file->pMethods->xShmLock == nullptr) {
    return Status::FailedPrecondition("no shared-memory locks on this connection");
  }
  const int flags = SQLITE_SHM_EXCLUSIVE | (lock ? SQLITE_SHM_LOCK : SQLITE_SHM_UNLOCK);
  int rc = file->pMethods->xShmLock(file, kWalCheckpointerLock, 1, flags);
  return SqliteStatus(rc, nullptr, lock ? "take checkpointer lock" : "release checkpointer lock");
}

namespace {

// WalIndexHdr (wal.c): two copies of 48 bytes at the start of region 0, in native byte order. A writer
// updates the second copy, then the first; equal copies are a consistent header, as SQLite reads it.
// WalCkptInfo follows them; its first field is nBackfill, written by checkpoints under their lock. Then, in
// region 0, the page numbers of the first frames, and 4096 more at the start of every later region.
constexpr size_t kWalIndexHeaderSize = 48;
constexpr size_t kVersionAt = 0, kPageSizeAt = 14, kMaxFrameAt = 16, kDbPagesAt = 20, kSaltAt = 32;
constexpr size_t kBackfillAt = 2 * kWalIndexHeaderSize;
constexpr size_t kFirstPgnoAt = 136;  // two header copies and WalCkptInfo
constexpr uint32_t kWalIndexVersion = 3007000;
constexpr int kWalIndexRegionSize = 32768;
constexpr uint32_t kPgnosInRegionZero = 4062, kPgnosPerRegion = 4096;

struct WalIndexHeader {
  uint32_t version = 0;
  uint32_t page_size = 0;
  uint32_t max_frame = 0;
  uint32_t db_pages = 0;
  wal::Salts salts;
};

// Region `index` of the wal-index of a connection in a read transaction; Unavailable if it does not exist.
// Only a connection in a read transaction surely has the wal-index mapped already; for any other, xShmMap
// would open shared memory that SQLite never closes (in exclusive locking mode it keeps the wal-index in
// its heap).
Result<const volatile uint8_t*> MapWalIndexRegion(sqlite3* db, int index) {
  if (sqlite3_txn_state(db, "main") < SQLITE_TXN_READ) return Status::Unavailable("no read transaction");
  sqlite3_file* file = MainFile(db);
  if (file == nullptr || file->pMethods->iVersion < 2 || file->pMethods->xShmMap == nullptr) {
    return Status::Unavailable("no shared-memory wal-index on this connection");
  }
  volatile void* region = nullptr;
  int rc = file->pMethods->xShmMap(file, index, kWalIndexRegionSize, 0, &region);
  if (rc != SQLITE_OK || region == nullptr) {
    return Status::Unavailable("wal-index region " + std::to_string(index) + " not mapped");
  }
  return static_cast<const volatile uint8_t*>(region);
}

void CopyShm(const volatile uint8_t* shm, size_t at, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = shm[at + i];
}

// Reads the header as SQLite does: until both copies agree.
Status ReadWalIndexHeader(const volatile uint8_t* shm, WalIndexHeader* header) {
  constexpr int kAttempts = 100;
  uint8_t first[kWalIndexHeaderSize], second[kWalIndexHeaderSize];
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    CopyShm(shm, 0, first, kWalIndexHeaderSize);
    std::atomic_thread_fence(std::memory_order_acquire);
    CopyShm(shm, kWalIndexHeaderSize, second, kWalIndexHeaderSize);
    if (std::memcmp(first, second, kWalIndexHeaderSize) != 0) continue;
    std::memcpy(&header->version, first + kVersionAt, 4);
    uint16_t encoded_page_size;
    std::memcpy(&encoded_page_size, first + kPageSizeAt, 2);
    header->page_size = (encoded_page_size & 0xfe00u) + ((encoded_page_size & 1u) << 16);
    std::memcpy(&header->max_frame, first + kMaxFrameAt, 4);
    std::memcpy(&header->db_pages, first + kDbPagesAt, 4);
    header->salts = {ltx::GetBE32(first + kSaltAt), ltx::GetBE32(first + kSaltAt + 4)};  // the WAL's bytes
    return Status::OK();
  }
  return Status::Unavailable("wal-index header kept changing");
}

}  // namespace

Result<WalIndexEnd> ReadWalIndexEnd(sqlite3* db) {
  LS_ASSIGN_OR_RETURN(const volatile uint8_t* shm, MapWalIndexRegion(db, 0));
  WalIndexHeader header;
  LS_RETURN_IF_ERROR(ReadWalIndexHeader(shm, &header));
  WalIndexEnd end;
  end.max_frame = header.max_frame;
  end.salts = header.salts;
  uint8_t backfilled[4];
  CopyShm(shm, kBackfillAt, backfilled, 4);
  std::memcpy(&end.backfilled_frames, backfilled, 4);
  // Read after the header, it may already count a WAL restarted in between: never past the header's end.
  end.backfilled_frames = std::min(end.backfilled_frames, end.max_frame);
  return end;
}

Result<WalIndexFrames> ReadWalIndexFrames(sqlite3* db, uint32_t first_frame, uint32_t max_frames) {
  LS_ASSIGN_OR_RETURN(const volatile uint8_t* region_zero, MapWalIndexRegion(db, 0));
  WalIndexHeader header;
  LS_RETURN_IF_ERROR(ReadWalIndexHeader(region_zero, &header));
  if (header.version != kWalIndexVersion) {
    return Status::Unavailable("wal-index version " + std::to_string(header.version));
  }
  if (first_frame == 0 || first_frame > header.max_frame + 1) {
    return Status::Unavailable("frame " + std::to_string(first_frame) + " is past the wal-index's end " +
                               std::to_string(header.max_frame));
  }
  const uint32_t count = header.max_frame + 1 - first_frame;
  if (count > max_frames) return Status::Unavailable("more frames than asked for");
  WalIndexFrames out;
  out.page_size = header.page_size;
  out.db_pages = header.db_pages;
  out.salts = header.salts;
  out.pgnos.resize(count);
  int mapped_index = 0;
  const volatile uint8_t* region = region_zero;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t frame = first_frame + i;
    int index = 0;
    size_t at = kFirstPgnoAt + size_t{frame - 1} * 4;
    if (frame > kPgnosInRegionZero) {
      const uint32_t past = frame - kPgnosInRegionZero - 1;
      index = 1 + static_cast<int>(past / kPgnosPerRegion);
      at = size_t{past % kPgnosPerRegion} * 4;
    }
    if (index != mapped_index) {
      LS_ASSIGN_OR_RETURN(region, MapWalIndexRegion(db, index));
      mapped_index = index;
    }
    uint8_t pgno[4];
    CopyShm(region, at, pgno, 4);
    std::memcpy(&out.pgnos[i], pgno, 4);
  }
  // A restart writes new salts into the header before it reuses a slot: the same salts now mean that every
  // page number read belongs to the generation the header described.
  std::atomic_thread_fence(std::memory_order_acquire);
  WalIndexHeader after;
  LS_RETURN_IF_ERROR(ReadWalIndexHeader(region_zero, &after));
  if (after.salts != header.salts) return Status::Unavailable("wal restarted while its index was read");
  return out;
}

Status SyncMainFile(sqlite3* db) {
  sqlite3_file* file = MainFile(db);
  if (file == nullptr) return Status::FailedPrecondition("no main file on this connection");
  return SqliteStatus(file->pMethods->xSync(file, SQLITE_SYNC_NORMAL), nullptr, "sync database file");
}

Result<std::unique_ptr<SqliteMainFile>> SqliteMainFile::Open(sqlite3* db, std::string path) {
  sqlite3_file* file = MainFile(db);
  if (file == nullptr) return Status::IOError(path + ": cannot get SQLite's file handle");
  const int fd = UnixFileDescriptor(db, file, path);
  return std::unique_ptr<SqliteMainFile>(new SqliteMainFile(file, fd, std::move(path)));
}

Result<size_t> SqliteMainFile::ReadAtOnce(uint64_t offset, uint8_t* buf, size_t n) {
  if (fd_ < 0) return ReadAt(offset, buf, n);
  return PreadAll(fd_, offset, buf, n, path_, &drop_behind_);
}

void SqliteMainFile::StartWriteBack() {
  if (fd_ >= 0) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
}

Result<size_t> SqliteMainFile::ReadAt(uint64_t offset, uint8_t* buf, size_t n) {
  LS_ASSIGN_OR_RETURN(uint64_t size, Size());
  if (offset >= size) return size_t{0};
  size_t count = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
  int rc = file_->pMethods->xRead(file_, buf, static_cast<int>(count), static_cast<sqlite3_int64>(offset));
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
    return Status::IOError(path_ + ": read at " + std::to_string(offset) + " failed (" + sqlite3_errstr(rc) +
                           ")");
  }
  return count;
}

Result<uint64_t> SqliteMainFile::Size() {
  sqlite3_int64 size = 0;
  int rc = file_->pMethods->xFileSize(file_, &size);
  if (rc != SQLITE_OK) return Status::IOError(path_ + ": size failed (" + sqlite3_errstr(rc) + ")");
  return static_cast<uint64_t>(size);
}

}  // namespace litestream
