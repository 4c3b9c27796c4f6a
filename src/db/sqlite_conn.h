// A thin RAII wrapper over a sqlite3 connection that turns SQLite errors into Status values.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "wal/format.h"

namespace litestream {

// Maps an SQLite result code to a Status (SQLITE_BUSY/LOCKED -> Busy, SQLITE_FULL -> DiskFull, ...).
Status SqliteStatus(int rc, sqlite3* db, std::string_view context);

// Takes (lock = true) or gives back SQLite's checkpointer lock (WAL_CKPT_LOCK: lock byte 1 of the
// wal-index, https://sqlite.org/walformat.html) through a connection's own main file, without running a
// checkpoint. Busy if another connection holds it; while held, other connections' checkpoints fail at once.
Status ShmCheckpointerLock(sqlite3* db, bool lock);

// The WAL's last committed frame and its salts, as the wal-index header (https://sqlite.org/walformat.html)
// in shared memory shows them now, and how many frames checkpoints have backfilled (the checkpoint info's
// nBackfill), through a connection in a read transaction (which has it mapped).
// REQUIRES: normal locking mode (in exclusive mode SQLite keeps the wal-index in its heap). Unavailable
// outside a read transaction, without shared memory (a VFS without xShmMap) or while a writer keeps
// changing the header.
struct WalIndexEnd {
  uint32_t max_frame = 0;
  wal::Salts salts;
  uint32_t backfilled_frames = 0;  // at most max_frame
};
Result<WalIndexEnd> ReadWalIndexEnd(sqlite3* db);

// The page number of every committed frame from first_frame (1-based) to the wal-index's last one, the
// database's size in pages after that commit and the WAL's salts and page size, as the wal-index shows them:
// SQLite's own map of the WAL, which its readers trust instead of re-reading the frames. Same requirements
// as ReadWalIndexEnd; Unavailable also if first_frame is past the end, more than max_frames would be read,
// or the WAL restarted while reading.
struct WalIndexFrames {
  std::vector<uint32_t> pgnos;  // pgnos[i] is frame first_frame + i's page
  uint32_t db_pages = 0;
  uint32_t page_size = 0;
  wal::Salts salts;
};
Result<WalIndexFrames> ReadWalIndexFrames(sqlite3* db, uint32_t first_frame, uint32_t max_frames);

// Syncs a connection's main database file to disk through SQLite's own handle (xSync): no other fd on the
// file is opened or closed, so no POSIX lock this process holds on it is dropped.
Status SyncMainFile(sqlite3* db);

class SqliteConn {
 public:
  SqliteConn() = default;
  ~SqliteConn() { Close(); }
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;
  SqliteConn(SqliteConn&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) {
    other.db_ = nullptr;
  }
  SqliteConn& operator=(SqliteConn&& other) noexcept;

  // Opens read-write (no create) with the given busy timeout. flags default: READWRITE.
  static Result<SqliteConn> Open(const std::string& path, std::chrono::milliseconds busy_timeout,
                                 int flags = SQLITE_OPEN_READWRITE);

  // Runs one or more statements, discarding rows.
  Status Exec(const std::string& sql);
  // Runs a statement returning one row of one integer column.
  Result<int64_t> QueryInt(const std::string& sql);
  // Runs a statement returning one row of one text column.
  Result<std::string> QueryText(const std::string& sql);

  void Close();
  bool is_open() const { return db_ != nullptr; }
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace litestream

namespace litestream {

// Reads a database file through SQLite's own handle on it (SQLITE_FCNTL_FILE_POINTER), so that reading
// pages needs no second fd: closing any fd on a file drops every POSIX lock this process holds on it,
// including SQLite's. REQUIRES: the connection outlives this reader.
class SqliteMainFile final : public RandomAccessReader {
 public:
  static Result<std::unique_ptr<SqliteMainFile>> Open(sqlite3* db, std::string path);
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override;
  // On SQLite's unix VFS, a read of SQLite's own descriptor that drops the pages it cached (PreadAll);
  // elsewhere ReadAt.
  Result<size_t> ReadAtOnce(uint64_t offset, uint8_t* buf, size_t n) override;
  Result<uint64_t> Size() override;
  // Starts writing the file's dirty cached pages back without waiting for it (sync_file_range WRITE): not
  // durability, just less left for the next fsync. A hint: nothing off SQLite's unix VFS.
  void StartWriteBack();

 private:
  SqliteMainFile(sqlite3_file* file, int fd, std::string path)
      : file_(file), fd_(fd), path_(std::move(path)) {}
  sqlite3_file* file_;
  const int fd_;  // SQLite's descriptor of the file, -1 if unknown; never closed here
  std::string path_;
  std::atomic<bool> drop_behind_{true};
};

}  // namespace litestream
