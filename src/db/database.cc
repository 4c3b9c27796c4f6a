#include "db/database.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "ltx/page_index.h"
#include "util/read_ahead.h"
#include "util/scratch.h"
#include "wal/reader.h"

namespace litestream {
namespace {

constexpr int64_t kWalHeaderSize = 32;
constexpr int64_t kWalFrameHeaderSize = 24;
constexpr int kDiskFullSweepThreshold = 3;
// How often OpenSnapshot syncs and re-checks before giving up on a WAL that keeps restarting under it.
constexpr int kSnapshotSyncAttempts = 3;
// One attempt at the barrier's write lock; the checkpoint syncs between attempts.
constexpr std::chrono::milliseconds kBarrierAttempt{10};
// How long a checkpoint waits for another connection's checkpoint to finish.
constexpr std::chrono::milliseconds kCheckpointBusyWait{200};
// A sync writing a big file hands our read mark on every this many WAL pages and before its fsync (SQLite's
// default autocheckpoint threshold): the application's autocheckpoint then backfills about as much at a
// time as it does without us. A smaller file is quick to write.
constexpr uint32_t kHandOffFrames = 1000;
// A snapshot's runs of pages (1 MiB each) in memory at once: the one being encoded and the ones read ahead.
constexpr size_t kSnapshotReadAhead = 3;
// How long a sync that streamed a snapshot L0 waits for the stream's consumers (the replica's copy) to be
// done before it flushes its own copy: both flushes at once took as long as one for both files.
constexpr std::chrono::milliseconds kStreamConsumerWait{2'000};
// At most one write-back of the application's WAL per this long (WriteBackWalIfWritten).
constexpr std::chrono::milliseconds kWalWriteBackSpacing{50};
// With it, the database file's write-back starts once the file has grown this much since the last one.
constexpr uint64_t kDbWriteBackGrowth = 32 << 20;
// How long a sync holds the application's writers off while the WAL is past truncate-page-n and no
// checkpoint can run (ThrottleWritersLocked): slices of this much per multiple of the threshold, up to the
// maximum, which SQLite's busy handler (polls at 103, 128, 178 ms) turns into a wait of 128 ms; gaps of the
// maximum divided by the multiple, at least the minimum; all of it within the budget per sync.
constexpr std::chrono::milliseconds kThrottleSlice{40};
constexpr std::chrono::milliseconds kMaxThrottleSlice{120};
constexpr std::chrono::milliseconds kMinThrottleGap{20};
constexpr std::chrono::milliseconds kThrottleBudget{400};
// How long such a hand-off waits for an autocheckpoint in flight to give SQLite's checkpointer lock up.
constexpr std::chrono::milliseconds kCheckpointerGuardWait{5};
// Upper bound on the chunks (max-sync-wal-bytes each) one SyncToWalEndLocked may write.
constexpr int kMaxChunksPerSyncToEnd = 1000;

int64_t CalcWalSize(uint32_t page_size, uint32_t pages) {
  return kWalHeaderSize +
         (kWalFrameHeaderSize + static_cast<int64_t>(page_size)) * static_cast<int64_t>(pages);
}

std::string DefaultMetaPath(const std::string& db_path) {
  std::filesystem::path p(db_path);
  return (p.parent_path() / ("." + p.filename().string() + "-litestream")).string();
}

int64_t NowMillis(Clock* clock) { return clock->Now().time_since_epoch().count(); }

uint32_t ReadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads exactly n bytes at offset or fails naming the file. `once`: a snapshot's pass over the whole
// database file (RandomAccessReader::ReadAtOnce).
Status ReadAtFull(RandomAccessReader& file, uint64_t offset, uint8_t* buf, size_t n, const std::string& path,
                  bool once = false) {
  LS_ASSIGN_OR_RETURN(size_t got, once ? file.ReadAtOnce(offset, buf, n) : file.ReadAt(offset, buf, n));
  if (got != n) {
    return Status::Corruption(path + ": short read at offset " + std::to_string(offset) + ": " +
                              std::to_string(got) + " of " + std::to_string(n) + " bytes");
  }
  return Status::OK();
}

// How many of the page map's entries from `it` on are consecutive pages in consecutive frames (a bulk
// insert appends them so), up to `max_count`: one read covers them.
size_t ConsecutiveFrames(const wal::PageMap& map, std::map<uint32_t, uint64_t>::const_iterator it,
                         size_t max_count, size_t frame_size) {
  const uint32_t pgno = it->first;
  const uint64_t first_offset = it->second;
  size_t count = 1;
  for (++it; it != map.pages.end() && count < max_count && it->first == pgno + count &&
             it->second == first_offset + count * frame_size;
       ++it) {
    count++;
  }
  return count;
}

// Our read transaction normally keeps other connections from restarting the WAL, but SQLite gives a reader
// that started on a fully backfilled WAL read-mark 0, and then the next writer may restart the WAL and
// overwrite it from offset 32. A restart always rewrites the header with new salts before any frame, so
// unchanged salts after copying frames prove the copied frames were not overwritten.
Status CheckWalNotRestarted(RandomAccessReader& wal_file, wal::Salts salts) {
  uint8_t header[kWalHeaderSize];
  LS_ASSIGN_OR_RETURN(size_t n, wal_file.ReadAt(0, header, sizeof(header)));
  if (n == sizeof(header) && wal::Salts{ReadBE32(header + 16), ReadBE32(header + 20)} == salts)
    return Status::OK();
  return Status::Unavailable("wal restarted while its frames were being copied; retrying");
}

// Whether a file's mtime moved since the look recorded in `seen` (never on the first look); records it.
bool MtimeMoved(SystemTime mtime, std::optional<SystemTime>& seen) {
  const bool moved = seen && mtime != *seen;
  seen = mtime;
  return moved;
}

}  // namespace

std::string_view CheckpointModeName(CheckpointMode mode) {
  return mode == CheckpointMode::kPassive ? "PASSIVE" : "TRUNCATE";
}

Database::Database(DbOptions options, Logger logger, FileSystem* fs, Clock* clock)
    : options_(std::move(options)),
      meta_path_(options_.meta_path.empty() ? DefaultMetaPath(options_.path) : options_.meta_path),
      logger_(logger.With({{"db", options_.path}})),
      fs_(fs),
      clock_(clock) {}

Database::~Database() { Close(); }

std::string Database::LtxDir(int level) const { return meta_path_ + "/ltx/" + std::to_string(level); }

std::string Database::LtxPath(int level, TXID min_txid, TXID max_txid) const {
  return LtxDir(level) + "/" + FormatLtxFilename(min_txid, max_txid);
}

void Database::SetOnNewFile(std::function<void(TXID)> callback) {
  std::lock_guard<std::mutex> lock(callback_mu_);
  on_new_file_ = std::move(callback);
}

SyncState Database::sync_state() const {
  std::lock_guard<std::mutex> lock(exec_mu_);
  return state_;
}

// Removes every *.tmp under the meta dir: leftovers of a sync or download interrupted by a crash.
static void SweepTempFiles(FileSystem* fs, const std::string& dir) {
  auto names = fs->ListDir(dir);
  if (!names.ok()) return;
  for (const auto& name : *names) {
    std::string path = dir + "/" + name;
    auto info = fs->Stat(path);
    if (!info.ok()) continue;
    if (info->is_dir) {
      SweepTempFiles(fs, path);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      (void)fs->Remove(path);
    }
  }
}

Status Database::Open() {
  std::lock_guard<std::mutex> lock(exec_mu_);
  closed_ = false;
  SweepTempFiles(fs_, meta_path_);
  return Status::OK();
}

void Database::Close() {
  std::lock_guard<std::mutex> lock(exec_mu_);
  CloseLocked();
}

void Database::CloseLocked() {
  if (closed_) return;
  closed_ = true;
  // A backfill may have gigabytes left; SQLite checks for an interrupt between the pages it copies, and
  // what it leaves is the next checkpoint's.
  if (backfilling_.load()) sqlite3_interrupt(backfill_conn_.raw());
  JoinBackfillLocked();
  backfill_conn_.Close();
  ReleaseReadLockLocked();
  // SQLite's connections go first; the main-file handle we read pages through belongs to read_conn_.
  db_file_.reset();
  checkpoint_conn_.Close();
  write_conn_.Close();
  read_conn_alt_.Close();
  read_conn_.Close();
  initialized_ = false;
}

// ---------------------------------------------------------------------------------------------------
// SQLite set-up (§3.1)

Status Database::InitLocked() {
  if (initialized_) return Status::OK();
  if (closed_) return Status::FailedPrecondition("database closed");

  auto db_info = fs_->Stat(options_.path);
  if (!db_info.ok()) {
    if (db_info.status().IsNotFound()) return Status::NotFound("database does not exist");
    return db_info.status();
  }
  db_mode_ = db_info->mode & 0777;
  db_uid_ = db_info->uid;
  db_gid_ = db_info->gid;
  auto dir_info = fs_->Stat(std::filesystem::path(options_.path).parent_path().string());
  if (dir_info.ok()) dir_mode_ = dir_info->mode & 0777;

  Status s = OpenOwnConnection(&read_conn_);
  if (s.ok()) s = OpenOwnConnection(&read_conn_alt_);
  if (s.ok()) s = OpenOwnConnection(&write_conn_);
  if (s.ok()) s = OpenOwnConnection(&checkpoint_conn_);
  if (s.ok()) {
    // The barrier competes for SQLite's write lock with the application's writers. SQLite's default busy
    // handler sleeps 1..100 ms between attempts, so against a writer that commits back to back it almost
    // never wins and the WAL grows; polling every 100 us catches the gaps between the writer's transactions.
    // The same holds for the set-up's tables and the seq bumps (both connections are used on the sync
    // thread only, one at a time, so they can share the handler's state).
    busy_wait_limit_ = options_.busy_timeout;
    sqlite3_busy_handler(write_conn_.raw(), &Database::PollingBusyHandler, this);
    sqlite3_busy_handler(checkpoint_conn_.raw(), &Database::PollingBusyHandler, this);
  }
  if (s.ok()) {
    auto mode = checkpoint_conn_.QueryText("PRAGMA journal_mode = wal;");
    if (!mode.ok())
      s = mode.status();
    else if (*mode != "wal")
      s = Status::FailedPrecondition("enable wal failed, mode=\"" + *mode + "\"");
  }
  if (s.ok())
    s = checkpoint_conn_.Exec(
        "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);");
  if (s.ok()) s = checkpoint_conn_.Exec("CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);");
  // A frame in the WAL first, so that the read transaction gets a read mark that pins the WAL (a reader
  // that starts on a fully backfilled WAL gets read-mark 0, which pins nothing).
  if (s.ok()) s = BumpSeqLocked();
  if (s.ok()) s = AcquireReadLockLocked();
  if (s.ok()) {
    // Read pages through SQLite's own handle on the main file: no extra fd whose close() would drop the
    // POSIX locks SQLite holds in this process (ours, or the host application's when embedded).
    auto file = SqliteMainFile::Open(read_conn_.raw(), options_.path);
    if (!file.ok())
      s = file.status();
    else
      db_file_ = std::move(*file);
  }
  if (s.ok()) {
    auto ps = checkpoint_conn_.QueryInt("PRAGMA page_size;");
    if (!ps.ok())
      s = ps.status();
    else if (*ps <= 0)
      s = Status::Corruption("invalid page size " + std::to_string(*ps));
    else
      page_size_ = static_cast<uint32_t>(*ps);
  }
  if (s.ok()) s = fs_->MkdirAll(LtxDir(0), dir_mode_ | 0700);
  if (!s.ok()) {
    ReleaseReadLockLocked();
    db_file_.reset();
    checkpoint_conn_.Close();
    write_conn_.Close();
    read_conn_alt_.Close();
    read_conn_.Close();
    return s.WithContext("init");
  }
  initialized_ = true;
  logger_.Debug("initialized", {{"page_size", std::to_string(page_size_.load())}});
  return Status::OK();
}

Status Database::OpenOwnConnection(SqliteConn* conn) {
  LS_ASSIGN_OR_RETURN(*conn, SqliteConn::Open(options_.path, options_.busy_timeout));
  LS_RETURN_IF_ERROR(conn->Exec("PRAGMA wal_autocheckpoint = 0;"));
  // Keep the WAL file when our connections close, so the application's WAL is never deleted under it.
  int persist = 1;
  int rc = sqlite3_file_control(conn->raw(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  return SqliteStatus(rc, conn->raw(), "set persist wal");
}

int Database::PollingBusyHandler(void* arg, int attempt) {
  auto* db = static_cast<Database*>(arg);
  auto now = std::chrono::steady_clock::now();
  if (attempt == 0) db->busy_wait_started_ = now;
  if (now - db->busy_wait_started_ >= db->busy_wait_limit_) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(100));
  return 1;
}

namespace {
Status BeginReadTransaction(SqliteConn& conn) {
  LS_RETURN_IF_ERROR(conn.Exec("BEGIN;"));
  auto count = conn.QueryInt("SELECT COUNT(1) FROM _litestream_seq;");
  if (!count.ok()) {
    (void)conn.Exec("ROLLBACK;");
    return count.status().WithContext("acquire read lock");
  }
  return Status::OK();
}
}  // namespace

Status Database::AcquireReadLockLocked() {
  if (read_tx_open_) return Status::OK();
  LS_RETURN_IF_ERROR(BeginReadTransaction(*reader_));
  read_tx_open_ = true;
  state_.synced_past_read_lock = false;
  NoteMarkMovedLocked();
  return Status::OK();
}

void Database::ReleaseReadLockLocked() {
  if (!read_tx_open_) return;  // a second release is harmless (#934)
  read_tx_open_ = false;
  if (reader_->is_open()) (void)reader_->Exec("ROLLBACK;");
}

// Our read mark bounds what any checkpoint may backfill, the application's included. Advanced after each
// sync, it lets the application's own checkpoints keep the database file current, so that our barrier
// checkpoint has little left to copy while it holds the write lock. At every moment one of the two
// connections holds a read transaction: the WAL cannot restart under frames we have not synced.
Status Database::AdvanceReadLockLocked() {
  if (!read_tx_open_) return AcquireReadLockLocked();
  WriteBackWalIfWritten();
  SqliteConn* next = reader_ == &read_conn_ ? &read_conn_alt_ : &read_conn_;
  LS_RETURN_IF_ERROR(BeginReadTransaction(*next));
  (void)reader_->Exec("ROLLBACK;");
  reader_ = next;
  state_.synced_past_read_lock = false;
  NoteMarkMovedLocked();
  return Status::OK();
}

Database::WalEnd Database::WalEndLocked() const {
  const uint32_t page_size = page_size_.load();
  if (reader_->is_open() && page_size != 0) {
    if (auto end = ReadWalIndexEnd(reader_->raw()); end.ok()) {
      return {end->salts, CalcWalSize(page_size, end->max_frame),
              CalcWalSize(page_size, end->backfilled_frames)};
    }
  }
  return {state_.last_synced_salts, state_.last_synced_wal_offset, std::nullopt};
}

void Database::NoteMarkMovedLocked() { mark_ = WalEndLocked(); }

uint64_t Database::BacklogToBackfillLocked() const {
  const WalEnd end = WalEndLocked();
  // After a restart, everything before it was backfilled: the backlog is the new generation.
  int64_t from = end.salts == mark_.salts ? mark_.offset : kWalHeaderSize;
  // What the last move handed over and no checkpoint has backfilled yet (an autocheckpoint of the
  // application's that found the checkpointer lock taken) goes to the next checkpoint with the rest.
  if (end.backfilled) from = std::min(from, *end.backfilled);
  return end.offset > from ? static_cast<uint64_t>(end.offset - from) : 0;
}

Result<bool> Database::HandOffLocked(bool only_big_backlog) {
  if (backfilling_.load()) return false;
  auto advance = [&]() -> Result<bool> {
    LS_RETURN_IF_ERROR(AdvanceReadLockLocked());
    return true;
  };
  // What the next checkpoint backfills after this move: from where checkpoints stopped (at or behind our
  // mark) up to the WAL's end, where the new mark lands. Not only what was synced: while syncs catch up on
  // a backlog (after a snapshot stream, say), the end runs gigabytes ahead of them, and a "small" move sized
  // by the syncs gave the application's next autocheckpoint all of that to backfill inside one commit (6 s,
  // measured).
  const uint64_t handed_over = BacklogToBackfillLocked();
  backlog_waits_for_guard_ = false;
  // Small: the application's next autocheckpoint backfills it, or, in a checkpoint, ours on this thread.
  if (handed_over < options_.own_backfill_bytes) return only_big_backlog ? Result<bool>(false) : advance();
  // Hold SQLite's checkpointer lock across the move, so that no autocheckpoint of the application's can
  // start on the backlog before ours does. One in flight now is bounded by our old mark: wait it out, and
  // if it takes longer, keep the mark where it is and try again at the next hand-off.
  SqliteConn* const old_reader = reader_;
  Status locked;
  const auto deadline = std::chrono::steady_clock::now() + kCheckpointerGuardWait;
  for (;;) {
    locked = ShmCheckpointerLock(old_reader->raw(), true);
    if (locked.code() != StatusCode::kBusy || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  if (locked.code() == StatusCode::kBusy) {
    backlog_waits_for_guard_ = true;
    return false;
  }
  const bool guarded = locked.ok();  // otherwise a VFS without shared-memory locks: race for it
  Status s = AdvanceReadLockLocked();
  if (s.ok() && reader_ != old_reader) {
    StartBackfillLocked(guarded ? old_reader : nullptr, handed_over);
  } else if (guarded) {
    (void)ShmCheckpointerLock(old_reader->raw(), false);
  }
  LS_RETURN_IF_ERROR(s);
  return true;
}

// The backlog is backfilled here, on a connection and a thread of our own, so that neither the
// application's commits nor our syncs wait for it: while it holds SQLite's checkpointer lock, the
// application's autocheckpoints find it taken and return at once. Bounded by our read mark like any
// checkpoint, it needs no lock of ours. Meanwhile the mark stays where it is (HandOffLocked) and our
// checkpoints are deferred (CheckpointDeferredLocked); the first hand-off after it starts the next one if
// the application wrote another big backlog meanwhile, so the backlog shrinks round by round as long as
// backfilling outpaces the application. `guard`, if set, holds the checkpointer lock for us until the
// thread's checkpoint is about to take it (the old reader, idle until the next hand-off, which waits).
void Database::StartBackfillLocked(SqliteConn* guard, uint64_t handed_over) {
  auto release_guard = [guard] {
    if (guard != nullptr) (void)ShmCheckpointerLock(guard->raw(), false);
  };
  JoinBackfillLocked();
  if (!backfill_conn_.is_open()) {
    Status s = OpenOwnConnection(&backfill_conn_);
    // A first read maps the wal-index now rather than between the guard's release and the checkpoint.
    if (s.ok()) s = backfill_conn_.QueryInt("SELECT COUNT(1) FROM _litestream_seq;").status();
    if (!s.ok()) {
      release_guard();
      logger_.Warn("backfill connection not opened", {{"error", s.message()}});
      backfill_conn_.Close();
      return;
    }
  }
  backfilling_ = true;
  try {
    backfill_thread_ = std::thread([this, release_guard, handed_over, guarded = guard != nullptr] {
      const auto start = std::chrono::steady_clock::now();
      bool busy = false;
      // The guard goes only once the statement is prepared: between the two, an autocheckpoint of the
      // application's can take SQLite's checkpointer lock and with it the whole backlog.
      Status s = ExecCheckpointOn(backfill_conn_, CheckpointMode::kPassive, &busy, release_guard);
      // SQLite syncs the database file only after a checkpoint that empties the WAL, which ours never do
      // while the application writes: the pages of every round would wait for the next barrier's checkpoint
      // to flush them (2 s for the gigabytes after a long snapshot, measured), under the write lock.
      if (s.ok() && !busy) s = SyncMainFile(backfill_conn_.raw());
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      logger_.Debug("backfilled wal", {{"handed_over", std::to_string(handed_over)},
                                       {"ms", std::to_string(ms.count())},
                                       {"guarded", guarded ? "true" : "false"},
                                       {"busy", busy ? "true" : "false"},
                                       {"error", s.ok() ? "" : s.message()}});
      backfilling_ = false;
    });
  } catch (const std::system_error& e) {  // no thread: the application's autocheckpoint backfills it
    release_guard();
    backfilling_ = false;
    logger_.Warn("backfill thread not started", {{"error", e.what()}});
  }
}

void Database::JoinBackfillLocked() {
  if (backfill_thread_.joinable()) backfill_thread_.join();
}

// The application's next autocheckpoint backfills up to the mark we hand on and fsyncs the WAL inside one
// of its commits, writing back everything appended since its previous one. Writing that back from our
// thread first moves the wait out of its commit (small transactions at saturation 0.81x -> 0.88x the
// no-replicator throughput, commit max halved). Not at every hand-off: the I/O's completions interrupt
// the application while it runs, on the CPU that takes the disk's interrupts, and a write-back every
// hand-off raised commit p99 1.5x -> 2.2x the no-replicator one (at most one per 50 ms: 1.67x; see
// "Checkpoints" in docs/engine.md). Only when the application wrote since the last hand-off: while we
// catch up on a backlog it left, no commit waits on its fsync. A hint: its failure changes nothing.
void Database::WriteBackWalIfWritten() {
  auto info = fs_->Stat(wal_path());
  if (!info.ok()) return;
  const bool written = MtimeMoved(info->mtime, wal_mtime_seen_);
  const auto now = std::chrono::steady_clock::now();
  if (!written || now - last_wal_write_back_ < kWalWriteBackSpacing) return;
  last_wal_write_back_ = now;
  (void)fs_->WriteBack(wal_path(), info->size);
  // The application's autocheckpoints write the database file but never sync it: SQLite syncs it only
  // after a checkpoint that empties the WAL, and under a steady load only our barrier's does. Bulk inserts
  // left it a second's worth of their pages to write (131 ms of a 150 ms barrier, traced; the commit
  // that waited for the barrier took 180-330 ms). Started early, in the background, they are mostly
  // written when it comes (barriers 10-50 ms; commit max 80-130 ms in 10 s bursts, p99 unchanged). Only
  // after some growth: started at every WAL write-back, under small transactions (whose autocheckpoints
  // rewrite the same few pages) it cost 10% of their throughput, and every 8 MiB raised bulk p99 1.5x.
  auto db_size = db_file_->Size();
  if (!db_size.ok()) return;
  if (*db_size < db_size_written_back_) db_size_written_back_ = *db_size;
  if (*db_size - db_size_written_back_ < kDbWriteBackGrowth) return;
  db_size_written_back_ = *db_size;
  db_file_->StartWriteBack();
}

Status Database::AdvanceReadLockIfIdle() {
  std::unique_lock<std::mutex> lock(exec_mu_, std::try_to_lock);
  if (!lock.owns_lock() || !initialized_ || !read_tx_open_) return Status::OK();
  if (!TryLockCheckpointExclusive()) return Status::OK();
  Status s = HandOffLocked().status();
  UnlockCheckpointExclusive();
  return s;
}

Status Database::BumpSeqLocked() {
  return checkpoint_conn_.Exec(
      "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1;");
}

Status Database::EnsureWalExistsLocked() {
  auto info = fs_->Stat(wal_path());
  if (info.ok() && info->size >= static_cast<uint64_t>(kWalHeaderSize)) return Status::OK();
  return BumpSeqLocked().WithContext("ensure wal exists");
}

Result<std::vector<uint8_t>> Database::ReadWalHeader() {
  LS_ASSIGN_OR_RETURN(auto file, fs_->OpenRandomAccess(wal_path()));
  std::vector<uint8_t> header(kWalHeaderSize);
  LS_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, header.data(), header.size()));
  header.resize(n);
  return header;
}

int64_t Database::WalSizeThreshold(uint32_t pages) const { return CalcWalSize(page_size_.load(), pages); }

// ---------------------------------------------------------------------------------------------------
// Position (§3.3)

Result<TXID> Database::Pos() {
  if (int64_t published = published_pos_.load(); published >= 0) return static_cast<TXID>(published);
  std::lock_guard<std::mutex> lock(exec_mu_);
  return PosLocked();
}

Result<TXID> Database::PosLocked() {
  if (cached_pos_) return *cached_pos_;
  auto files = ListLocalLtx(0);
  if (!files.ok()) return files.status();
  if (files->empty()) {
    SetCachedPosLocked(0);
    return TXID{0};
  }
  const LtxFileInfo& last = files->back();
  // Verify the newest file completely once (checksum); a corrupt L0 must not become our position.
  LS_ASSIGN_OR_RETURN(auto reader, OpenLocalLtx(0, last.min_txid, last.max_txid));
  std::string name = LtxPath(0, last.min_txid, last.max_txid);
  if (Status s = ltx::VerifyFile(*reader, name); !s.ok()) return MarkLocalCorrupt(s);
  SetCachedPosLocked(last.max_txid);
  return last.max_txid;
}

Status Database::MarkLocalCorrupt(const Status& s) {
  if (s.IsCorruption()) local_corrupt_ = true;
  return s;
}

Result<std::vector<LtxFileInfo>> Database::ListLocalLtx(int level) {
  std::vector<LtxFileInfo> files;
  auto names = fs_->ListDir(LtxDir(level));
  if (!names.ok()) {
    if (names.status().IsNotFound()) return files;
    return names.status();
  }
  for (const auto& name : *names) {
    LtxFileInfo info;
    info.level = level;
    if (!ParseLtxFilename(name, &info.min_txid, &info.max_txid)) continue;
    auto st = fs_->Stat(LtxDir(level) + "/" + name);
    if (!st.ok()) continue;
    info.size = static_cast<int64_t>(st->size);
    info.created_at = st->mtime;
    files.push_back(info);
  }
  std::sort(files.begin(), files.end(), [](const LtxFileInfo& a, const LtxFileInfo& b) {
    return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
  });
  return files;
}

Result<std::unique_ptr<Reader>> Database::OpenLocalLtx(int level, TXID min_txid, TXID max_txid) {
  return fs_->OpenSequential(LtxPath(level, min_txid, max_txid), 0);
}

void Database::RemoveLocalLtx(const std::vector<LtxFileInfo>& files) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  for (const auto& f : files) {
    Status s = fs_->Remove(LtxPath(f.level, f.min_txid, f.max_txid));
    if (!s.ok() && !s.IsNotFound()) logger_.Warn("remove local ltx file", {{"error", s.message()}});
  }
  InvalidatePosLocked();
}

Status Database::ResetLocalState() {
  std::lock_guard<std::mutex> lock(exec_mu_);
  InvalidatePosLocked();
  local_corrupt_ = false;
  state_ = SyncState{};
  return fs_->RemoveAll(meta_path_ + "/ltx");
}

}  // namespace litestream

namespace litestream {

// ---------------------------------------------------------------------------------------------------
// Sync (§3.3 - §3.5)

Result<int> Database::Sync() {
  int files = 0;
  for (;;) {
    bool limited = false;
    bool wrote = false;
    bool reached_end = false;
    {
      std::lock_guard<std::mutex> lock(exec_mu_);
      Status s = InitLocked();
      if (s.IsNotFound() && !initialized_) return files;  // no database yet: nothing to do
      LS_RETURN_IF_ERROR(s);
      LS_RETURN_IF_ERROR(EnsureWalExistsLocked());
      // The emergency threshold is judged on the logical WAL size before this chunk (#1290 family).
      int64_t orig_wal_size = state_.last_synced_wal_offset;
      if (orig_wal_size == 0) {
        auto info = fs_->Stat(wal_path());
        orig_wal_size = info.ok() ? static_cast<int64_t>(info->size) : 0;
      }
      hand_off_during_sync_ = true;
      auto result = SyncOnceLocked(options_.max_sync_wal_bytes, /*from_checkpoint=*/false,
                                   /*force_snapshot=*/false, &limited);
      // A WAL restarted under us (see CheckWalNotRestarted) discarded that file; the next attempt reads
      // the new generation.
      for (int attempt = 0; attempt < 3 && !result.ok() && result.status().code() == StatusCode::kUnavailable;
           attempt++) {
        result = SyncOnceLocked(options_.max_sync_wal_bytes, false, false, &limited);
      }
      hand_off_during_sync_ = false;
      if (!result.ok()) {
        if (result.status().IsDiskFull() && ++consecutive_disk_full_ >= kDiskFullSweepThreshold) {
          SweepTempFiles(fs_, meta_path_);
        }
        return result.status();
      }
      consecutive_disk_full_ = 0;
      wrote = *result;
      reached_end = state_.synced_to_wal_end;
      if (wrote) {
        files++;
        state_.synced_since_checkpoint = true;
      }
      // After every new file; without one, only to hand a big backlog (left behind by a snapshot stream)
      // to our own backfill, before a checkpoint's pre-barrier step would work through it on this thread.
      const bool mark_free = HandOffUnlessStreamingLocked(/*only_big_backlog=*/!wrote);
      if (!mark_free && wrote) {
        // A snapshot stream holds the mark, so no hand-off writes the application's WAL back meanwhile:
        // left to the kernel, gigabytes of it stayed dirty until a journal commit (the snapshot's own
        // fsync) had to write them all, and the application's commits waited for that commit.
        WriteBackWalIfWritten();
      }
      if (!limited || reached_end || orig_wal_size >= WalSizeThreshold(EffectiveTruncatePageN())) {
        // A stream that ended since then left its backlog behind the mark: our own backfill takes it first
        // (deferring the checkpoint). The checkpoint's syncs would hand all of it to the application's
        // next autocheckpoint, inside one commit (6 s for 2.8 GB, measured), and the emergency truncate
        // after it would fsync the lot under the write lock (9 s).
        if (!mark_free) HandOffUnlessStreamingLocked(/*only_big_backlog=*/true);
        LS_RETURN_IF_ERROR(
            CheckpointIfNeededLocked(orig_wal_size, state_.last_synced_wal_offset).WithContext("checkpoint"));
      }
    }
    if (!wrote || !limited || reached_end) return files;
  }
}

Status Database::SyncToWalEndLocked() {
  LS_RETURN_IF_ERROR(EnsureWalExistsLocked());
  for (int chunk = 0; chunk < kMaxChunksPerSyncToEnd; chunk++) {
    bool limited = false;
    auto result = SyncOnceLocked(options_.max_sync_wal_bytes, false, false, &limited);
    // Unavailable: the WAL restarted while being copied (CheckWalNotRestarted); read the new generation.
    if (!result.ok() && result.status().code() != StatusCode::kUnavailable) return result.status();
    if (result.ok() && !limited) return Status::OK();
  }
  return Status::Unavailable("the WAL grew faster than it could be synced");
}

uint32_t Database::EffectiveTruncatePageN() const {
  return options_.truncate_page_n == 0 ? 121359 : options_.truncate_page_n;
}

Result<bool> Database::SyncOnceLocked(int64_t max_bytes, bool from_checkpoint, bool force_snapshot,
                                      bool* limited) {
  *limited = false;
  if (!from_checkpoint) LockCheckpointShared();
  struct Unlock {
    Database* db;
    bool active;
    ~Unlock() {
      if (active) db->UnlockCheckpointShared();
    }
  } unlock{this, !from_checkpoint};

  VerifyResult v;
  if (force_snapshot) {
    LS_ASSIGN_OR_RETURN(auto header, ReadWalHeader());
    if (header.size() < kWalHeaderSize) return Status::IOError(wal_path() + ": short wal header");
    v.offset = kWalHeaderSize;
    v.salt1 = ReadBE32(header.data() + 16);
    v.salt2 = ReadBE32(header.data() + 20);
    v.snapshotting = true;
    v.reason = "checkpoint boundary snapshot";
  } else {
    LS_ASSIGN_OR_RETURN(v, VerifyLocked());
  }
  return WriteL0Locked(v, v.snapshotting ? 0 : max_bytes, limited);
}

}  // namespace litestream

namespace litestream {

// ---------------------------------------------------------------------------------------------------
// Checkpoints (§3.6)

Status Database::CheckpointIfNeededLocked(int64_t orig_wal_size, int64_t new_wal_size) {
  if (page_size_ == 0) return Status::OK();
  const int64_t truncate_threshold = WalSizeThreshold(EffectiveTruncatePageN());
  if (CheckpointDeferredLocked(orig_wal_size)) {
    if (orig_wal_size < truncate_threshold || !WalWrittenSinceLastLookLocked()) return Status::OK();
    int slices = 0;
    Status s = ThrottleWritersLocked(orig_wal_size / truncate_threshold, &slices);
    if (slices > 0) logger_.Debug("writers throttled", {{"slices", std::to_string(slices)}});
    return s;
  }
  if (state_.last_synced_wal_offset < truncate_threshold) state_.truncate_passive_failed = false;

  // 1. Emergency: the WAL grew past the truncate threshold. Try PASSIVE first, then TRUNCATE.
  if (orig_wal_size >= truncate_threshold) {
    if (!state_.truncate_passive_failed) {
      auto restarted = CheckpointLocked(CheckpointMode::kPassive);
      if (!restarted.ok()) {
        if (restarted.status().code() != StatusCode::kBusy) return restarted.status();
        state_.truncate_passive_failed = true;
      } else if (*restarted) {
        state_.truncate_passive_failed = false;
        if (state_.last_synced_wal_offset < truncate_threshold) {
          logger_.Info("wal restarted by passive checkpoint, skipping truncate checkpoint",
                       {{"wal_size", std::to_string(orig_wal_size)}});
          return Status::OK();
        }
      } else {
        state_.truncate_passive_failed = true;
      }
    }
    logger_.Info("forcing truncate checkpoint", {{"wal_size", std::to_string(orig_wal_size)},
                                                 {"threshold", std::to_string(truncate_threshold)}});
    auto restarted = CheckpointLocked(CheckpointMode::kTruncate);
    if ((restarted.ok() && *restarted) || state_.last_synced_wal_offset < truncate_threshold) {
      state_.truncate_passive_failed = false;
    }
    return restarted.status();
  }

  auto passive_ignoring_busy = [&]() -> Status {
    auto restarted = CheckpointLocked(CheckpointMode::kPassive);
    if (!restarted.ok() && restarted.status().code() == StatusCode::kBusy) {
      logger_.Trace("passive checkpoint skipped", {{"reason", "database busy"}});
      return Status::OK();
    }
    return restarted.status();
  };

  // 2. PASSIVE by size.
  if (new_wal_size >= WalSizeThreshold(options_.min_checkpoint_page_count)) {
    const SystemTime now = clock_->Now();
    if (now - last_size_checkpoint_at_ < options_.min_size_checkpoint_spacing) return Status::OK();
    last_size_checkpoint_at_ = now;
    return passive_ignoring_busy();
  }

  // 3. PASSIVE by time, only if something was synced since the last checkpoint (#896).
  if (options_.checkpoint_interval.count() > 0 && state_.synced_since_checkpoint &&
      new_wal_size > WalSizeThreshold(1)) {
    auto info = fs_->Stat(options_.path);
    if (!info.ok()) return info.status();
    if (clock_->Now() - info->mtime > options_.checkpoint_interval) return passive_ignoring_busy();
  }
  return Status::OK();
}

// A snapshot stream needs the database file as of its read mark, and a checkpoint started while our own
// backfill runs would find SQLite's checkpoint lock taken (under its barrier, it would wait for it); the
// next sync tries again. Checked under exec_mu_, which OpenSnapshot and StartBackfillLocked need too.
bool Database::CheckpointDeferredLocked(int64_t wal_size) {
  const bool snapshot_streaming = SnapshotStreamOpenLocked();
  if (!snapshot_streaming && !backfilling_.load() && !backlog_waits_for_guard_) {
    deferral_logged_ = false;
    return false;
  }
  // Said once per deferral, and only when it holds off the emergency checkpoint.
  if (!deferral_logged_ && wal_size >= WalSizeThreshold(EffectiveTruncatePageN())) {
    deferral_logged_ = true;
    logger_.Info("checkpoint deferred, throttling writers",
                 {{"reason", snapshot_streaming    ? "snapshot streaming"
                             : backfilling_.load() ? "backfilling"
                                                   : "backlog waits for the checkpointer lock"},
                  {"wal_size", std::to_string(wal_size)}});
  }
  return true;
}

// Whether the WAL's mtime moved since the last call (not on the first): the throttle's test that the
// application is writing. With it idle (say, a backlog it wrote while we were stopped), holding its writers
// off only took slices out of this thread's catch-up: 3 GB took 15-24 s instead of 9-13 s.
bool Database::WalWrittenSinceLastLookLocked() {
  auto info = fs_->Stat(wal_path());
  return info.ok() && MtimeMoved(info->mtime, throttle_wal_mtime_);
}

// While no checkpoint can run and the WAL is past truncate-page-n, the application could grow it as fast
// as it can write, without bound (our backfill takes its autocheckpoints' work away, and with it what
// slows it down). Each sync then holds its write lock in slices, so it writes part of the time only and the
// backlog can shrink; its commits wait a slice at most, not the seconds a backfill of the whole backlog
// inside one of them would take. The further past the threshold (`multiple` times), the longer the slices
// and the shorter the gaps between them; a sync spends at most kThrottleBudget on it.
Status Database::ThrottleWritersLocked(int64_t multiple, int* slices) {
  multiple = std::max<int64_t>(multiple, 1);
  const auto slice = std::min(kThrottleSlice * multiple, kMaxThrottleSlice);
  const auto gap = std::max(kMaxThrottleSlice / multiple, kMinThrottleGap);
  const auto end = std::chrono::steady_clock::now() + kThrottleBudget;
  for (int round = 0; round < 100; round++) {
    auto now = std::chrono::steady_clock::now();
    // A gap after each slice, across syncs too: a writer waiting in SQLite's busy handler polls every
    // 25-100 ms by then, and a slice right after the last would catch it asleep and double its wait.
    if (now < throttle_free_until_) {
      if (throttle_free_until_ >= end) return Status::OK();
      std::this_thread::sleep_for(throttle_free_until_ - now);
      now = std::chrono::steady_clock::now();
    }
    if (now + slice > end) return Status::OK();
    LS_RETURN_IF_ERROR(write_conn_.Exec("BEGIN;"));
    busy_wait_limit_ = std::min<std::chrono::milliseconds>(slice, options_.busy_timeout);
    Status s = write_conn_.Exec("INSERT INTO _litestream_lock (id) VALUES (1);");
    busy_wait_limit_ = options_.busy_timeout;
    if (s.ok()) {
      std::this_thread::sleep_for(slice);
      ++*slices;
    }
    (void)write_conn_.Exec("ROLLBACK;");
    throttle_free_until_ = std::chrono::steady_clock::now() + gap;
    if (!s.ok()) return s.code() == StatusCode::kBusy ? Status::OK() : s;
    if (!SnapshotStreamOpenLocked() && !backfilling_.load()) return Status::OK();  // checkpoints may run
  }
  return Status::OK();
}

Status Database::Checkpoint(CheckpointMode mode) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  LS_RETURN_IF_ERROR(InitLocked());
  return CheckpointLocked(mode).status();
}

Result<bool> Database::CheckpointLocked(CheckpointMode mode) {
  JoinBackfillLocked();  // only Checkpoint() gets here while it runs: CheckpointIfNeededLocked defers
  // Skip silently while a snapshot stream holds the lock; the next sync tries again.
  if (!TryLockCheckpointExclusive()) return false;
  struct Unlock {
    Database* db;
    ~Unlock() { db->UnlockCheckpointExclusive(); }
  } unlock{this};

  LS_ASSIGN_OR_RETURN(auto hdr0, ReadWalHeader());

  // Copy everything pending into L0 first.
  // Outside the barrier the application keeps writing: the syncs before it hand our read mark on before
  // each fsync (see WriteL0Locked), or the application's next autocheckpoint would backfill everything
  // written during this whole procedure at once.
  auto sync_all = [&](bool force_snapshot, bool hand_off = false) -> Status {
    hand_off_during_sync_ = hand_off;
    bool limited = true;
    Status s;
    while (limited && s.ok()) {
      s = SyncOnceLocked(0, /*from_checkpoint=*/true, force_snapshot, &limited).status();
      force_snapshot = false;
    }
    hand_off_during_sync_ = false;
    // A big hand-off in it (the application wrote faster than we synced) went to our own backfill, as
    // outside a checkpoint. It ends before ours starts, which would find SQLite's checkpointer lock taken.
    JoinBackfillLocked();
    return s;
  };
  const bool passive = mode == CheckpointMode::kPassive;
  LS_RETURN_IF_ERROR(sync_all(false, passive).WithContext("pre-checkpoint sync"));
  if (mode == CheckpointMode::kPassive) {
    // Backfill what we have synced before taking the barrier (which blocks the application's writers),
    // then catch up with the commits made meanwhile: the barrier then only covers the commits since that
    // last sync, and copies the pages of the commits since the backfill. Busy means the application's
    // autocheckpoint is backfilling already.
    LS_RETURN_IF_ERROR(AdvanceReadLockLocked().WithContext("advance read lock"));
    LS_RETURN_IF_ERROR(ExecCheckpoint(mode).WithContext("checkpoint before barrier"));
    LS_RETURN_IF_ERROR(sync_all(false, true).WithContext("pre-checkpoint sync"));
    LS_RETURN_IF_ERROR(AdvanceReadLockLocked().WithContext("advance read lock"));
  }

  // PASSIVE: hold the write lock (a barrier) so no commit lands between our last sync and the checkpoint.
  bool barrier = false;
  auto rollback_barrier = [&] {
    if (barrier) (void)write_conn_.Exec("ROLLBACK;");
    barrier = false;
  };
  if (mode == CheckpointMode::kPassive) {
    // The application may hold its write lock nearly all the time (back-to-back bulk transactions), so
    // winning it can take a while, and every commit made meanwhile would be synced under the barrier.
    // Try in short attempts and catch up between them, until busy_timeout.
    const auto deadline = std::chrono::steady_clock::now() + options_.busy_timeout;
    Status s;
    for (;;) {
      LS_RETURN_IF_ERROR(write_conn_.Exec("BEGIN;"));
      barrier = true;
      busy_wait_limit_ = std::min(kBarrierAttempt, options_.busy_timeout);
      s = write_conn_.Exec("INSERT INTO _litestream_lock (id) VALUES (1);");
      busy_wait_limit_ = options_.busy_timeout;
      if (s.ok() || s.code() != StatusCode::kBusy || std::chrono::steady_clock::now() >= deadline) break;
      rollback_barrier();
      LS_RETURN_IF_ERROR(sync_all(false, true).WithContext("pre-checkpoint sync"));
      LS_RETURN_IF_ERROR(AdvanceReadLockLocked().WithContext("advance read lock"));
    }
    if (s.ok()) s = sync_all(false);
    if (!s.ok()) {
      rollback_barrier();
      return s.WithContext("checkpoint barrier");
    }
  }

  // A TRUNCATE runs without a barrier: commits after our last sync may be backfilled and truncated away
  // unseen, and only the boundary snapshot below covers them. Until it is written, a truncated WAL must
  // not pass for our own expected truncation (#927 path in verify()), or a failure in between (e.g. the
  // seq bump finding the write lock taken) would let the next sync continue incrementally past them.
  if (mode == CheckpointMode::kTruncate) state_.synced_to_wal_end = false;

  // Execute: our read transaction must not pin the WAL while SQLite checkpoints.
  ReleaseReadLockLocked();
  Status exec_status = ExecCheckpointWaitingForOthers(mode);
  Status relock = AcquireReadLockLocked();
  rollback_barrier();
  LS_RETURN_IF_ERROR(exec_status);
  LS_RETURN_IF_ERROR(relock.WithContext("re-acquire read lock"));
  // Guarantee a frame in the WAL, and restart it after a full backfill.
  LS_RETURN_IF_ERROR(BumpSeqLocked().WithContext("bump seq after checkpoint"));
  // Our read transaction began on a fully backfilled WAL, so SQLite gave it read-mark 0, which pins
  // nothing: others could backfill frames we have not synced, or restart the WAL. Now that the WAL holds
  // a frame again, take the read lock anew so it pins the WAL from here on.
  ReleaseReadLockLocked();
  LS_RETURN_IF_ERROR(AcquireReadLockLocked().WithContext("re-acquire read lock"));

  LS_ASSIGN_OR_RETURN(auto hdr1, ReadWalHeader());
  if (hdr0 == hdr1) {
    // Not restarted, but the database file may now hold pages of commits after our last sync (a TRUNCATE
    // backfills without a barrier). Sync them now, so that a snapshot bounded to the last synced offset
    // never pairs older WAL pages with newer database-file pages.
    LS_RETURN_IF_ERROR(sync_all(false).WithContext("post-checkpoint sync"));
    state_.synced_since_checkpoint = false;
    return false;
  }
  logger_.Debug("checkpoint restarted wal", {{"mode", std::string(CheckpointModeName(mode))}});

  // PASSIVE ran under our write barrier, so nothing can have been missed: verify() sees the new salts
  // with our last page intact and continues incrementally from offset 32.
  if (mode == CheckpointMode::kPassive) {
    LS_RETURN_IF_ERROR(sync_all(false).WithContext("post-checkpoint sync"));
    state_.synced_since_checkpoint = false;
    return true;
  }

  // TRUNCATE: commits between our pre-sync and the truncate may have been backfilled and truncated
  // without being seen (#1198), and a TRUNCATE reports no frame count that could prove otherwise. Take a
  // full-page snapshot L0 under the write lock.
  LS_RETURN_IF_ERROR(write_conn_.Exec("BEGIN;"));
  barrier = true;
  Status s = write_conn_.Exec("INSERT INTO _litestream_lock (id) VALUES (1);");
  if (s.ok()) s = sync_all(true);
  rollback_barrier();
  LS_RETURN_IF_ERROR(s.WithContext("checkpoint boundary snapshot"));
  state_.synced_since_checkpoint = false;
  return true;
}

// A PASSIVE checkpoint does not call the busy handler: it fails at once while another connection (say,
// the application's autocheckpoint) is checkpointing. Those finish in milliseconds, so poll briefly.
Status Database::ExecCheckpointWaitingForOthers(CheckpointMode mode) {
  const auto deadline = std::chrono::steady_clock::now() + kCheckpointBusyWait;
  for (;;) {
    bool busy = false;
    Status s = ExecCheckpoint(mode, &busy);
    if (!s.ok() || !busy || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

Status Database::ExecCheckpoint(CheckpointMode mode, bool* busy) {
  return ExecCheckpointOn(checkpoint_conn_, mode, busy);
}

Status Database::ExecCheckpointOn(SqliteConn& conn, CheckpointMode mode, bool* busy,
                                  const std::function<void()>& before_step) {
  std::string sql = "PRAGMA wal_checkpoint(" + std::string(CheckpointModeName(mode)) + ");";
  sqlite3_stmt* stmt = nullptr;
  sqlite3* db = conn.raw();
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (before_step) before_step();
  if (rc != SQLITE_OK) return SqliteStatus(rc, db, sql);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    // (busy, log, checkpointed). A busy flag is not an error: whether the WAL restarted is judged by
    // comparing WAL headers afterwards.
    logger_.Debug("checkpoint", {{"mode", std::string(CheckpointModeName(mode))},
                                 {"result", std::to_string(sqlite3_column_int(stmt, 0)) + "," +
                                                std::to_string(sqlite3_column_int64(stmt, 1)) + "," +
                                                std::to_string(sqlite3_column_int64(stmt, 2))}});
    if (busy != nullptr) *busy = sqlite3_column_int(stmt, 0) != 0;
    rc = sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  return SqliteStatus(rc, db, sql);
}

// ---------------------------------------------------------------------------------------------------
// Checkpoint lock

void Database::LockCheckpointShared() {
  std::unique_lock<std::mutex> lock(chk_mu_);
  chk_cv_.wait(lock, [&] { return !chk_exclusive_; });
  chk_shared_++;
}

void Database::UnlockCheckpointShared() {
  std::lock_guard<std::mutex> lock(chk_mu_);
  chk_shared_--;
  chk_cv_.notify_all();
}

bool Database::HandOffUnlessStreamingLocked(bool only_big_backlog) {
  if (!TryLockCheckpointExclusive()) return false;
  Status advanced = HandOffLocked(only_big_backlog).status();
  UnlockCheckpointExclusive();
  if (!advanced.ok()) logger_.Debug("read lock not advanced", {{"error", advanced.message()}});
  return true;
}

void Database::HandOffDuringSyncLocked() {
  if (!hand_off_during_sync_ || !NoSnapshotStreamHoldsCheckpointLock()) return;
  auto moved = HandOffLocked();
  if (moved.ok() && *moved) handed_off_during_sync_ = true;
}

bool Database::SnapshotStreamOpenLocked() {
  std::lock_guard<std::mutex> lock(chk_mu_);
  return chk_shared_ > 0;  // no sync runs now (exec_mu_ is ours): any shared holder is a snapshot stream
}

bool Database::NoSnapshotStreamHoldsCheckpointLock() {
  std::lock_guard<std::mutex> lock(chk_mu_);
  // Held exclusively, it is our checkpoint's; shared once, our sync's (syncs are serialized).
  return chk_exclusive_ || chk_shared_ == 1;
}

bool Database::TryLockCheckpointExclusive() {
  std::lock_guard<std::mutex> lock(chk_mu_);
  if (chk_exclusive_ || chk_shared_ > 0) return false;
  chk_exclusive_ = true;
  return true;
}

void Database::UnlockCheckpointExclusive() {
  std::lock_guard<std::mutex> lock(chk_mu_);
  chk_exclusive_ = false;
  chk_cv_.notify_all();
}

}  // namespace litestream

namespace litestream {

// ---------------------------------------------------------------------------------------------------
// verify (§3.4): may the next L0 continue where the last one ended, or must it hold every page?

Result<Database::VerifyResult> Database::VerifyLocked() {
  VerifyResult v;
  v.snapshotting = true;
  LS_ASSIGN_OR_RETURN(TXID pos, PosLocked());
  if (pos == 0) {
    v.reason = "first sync";
    return v;
  }
  const std::string ltx_path = LtxPath(0, pos, pos);
  LS_ASSIGN_OR_RETURN(auto ltx_file, fs_->OpenRandomAccess(ltx_path));
  auto header = ltx::ReadHeader(*ltx_file, ltx_path);
  if (!header.ok()) return MarkLocalCorrupt(header.status());
  const ltx::Header& h = *header;
  const int64_t frame_size = kWalFrameHeaderSize + page_size_;
  int64_t offset = h.wal_offset + h.wal_size;
  v.prev_commit = h.commit;

  LS_ASSIGN_OR_RETURN(auto wal_info, fs_->Stat(wal_path()));
  if (offset > static_cast<int64_t>(wal_info.size)) {
    state_.truncate_passive_failed = false;
    if (state_.synced_to_wal_end) {
      // Our own checkpoint truncated a WAL we had fully consumed (#927): continue from its new start.
      state_.synced_to_wal_end = false;
      v.snapshotting = false;
      v.reason = "wal truncated after sync to end";
      return v;
    }
    v.reason = "wal truncated by another process";
    return v;
  }

  LS_ASSIGN_OR_RETURN(auto wal_file, fs_->OpenRandomAccess(wal_path()));
  LS_ASSIGN_OR_RETURN(wal::Header wal_header, wal::ReadHeader(*wal_file));
  const wal::Salts ltx_salts{h.wal_salt1, h.wal_salt2};
  const bool salt_match = wal_header.salts == ltx_salts;
  if (!salt_match) state_.truncate_passive_failed = false;

  if (offset == kWalHeaderSize) {  // an L0 recorded at the WAL header (#900)
    if (salt_match) {
      v.snapshotting = false;
      v.offset = offset;
      v.salt1 = h.wal_salt1;
      v.salt2 = h.wal_salt2;
    } else {
      v.reason = "wal header salt reset";
    }
    return v;
  }
  const int64_t prev = offset - frame_size;
  if (prev < kWalHeaderSize) {
    return Status::Corruption(ltx_path + ": previous WAL offset " + std::to_string(prev) +
                              " is inside the header");
  }
  if (prev == kWalHeaderSize && !salt_match) {
    v.reason = "wal header salt reset";
    return v;
  }
  if (prev > kWalHeaderSize) {
    auto matched = LastPageMatch(*wal_file, *ltx_file, h, ltx_path, prev);
    if (!matched.ok()) return MarkLocalCorrupt(matched.status());
    const bool last_page_match = *matched;
    if (!last_page_match) {
      v.reason = "last page does not exist in last ltx file, wal overwritten by another process";
      return v;
    }
  }
  if (!salt_match && wal_header.salts.salt1 - ltx_salts.salt1 != 1) {
    // SQLite adds 1 to salt-1 at each WAL restart. Any other step means more than one restart (a whole
    // generation may have been written, checkpointed and overwritten unseen) or a recreated WAL.
    v.reason = "wal restarted more than once since the last sync";
    return v;
  }
  if (!salt_match) {
    // Frames of the old generation after our last sync mean commits we never saw; they may have been
    // checkpointed into the database before the restart (possible only while we were not running, since
    // our read transaction blocks that otherwise). Their pages are in no L0 file: take a snapshot.
    std::vector<uint8_t> next(kWalFrameHeaderSize);
    LS_ASSIGN_OR_RETURN(size_t n, wal_file->ReadAt(static_cast<uint64_t>(offset), next.data(), next.size()));
    if (n == next.size() && wal::DecodeFrameHeader(next.data()).salts == ltx_salts) {
      v.reason = "wal restarted after commits that were not synced";
      return v;
    }
    // The WAL restarted after our last sync. Safe to continue from its start unless another restart
    // (a FULL or RESTART checkpoint by someone else) happened in between.
    LS_ASSIGN_OR_RETURN(wal::WalReader reader, wal::WalReader::Open(wal_file.get()));
    LS_ASSIGN_OR_RETURN(auto salts, reader.FrameSaltsUntil(ltx_salts));
    std::erase_if(salts, [&](const wal::Salts& s) { return s == wal_header.salts || s == ltx_salts; });
    if (!salts.empty()) {
      v.reason = "full or restart checkpoint detected";
      return v;
    }
    v.snapshotting = false;
    v.reason = "wal restarted";
    return v;
  }
  v.snapshotting = false;
  v.offset = offset;
  v.salt1 = h.wal_salt1;
  v.salt2 = h.wal_salt2;
  return v;
}

// True if the WAL frame at `frame_offset` carries the LTX file's salts and its page, byte for byte, is in
// the LTX file: the WAL still holds what we synced last time. Only that page is read, through the page
// index: the previous file may be a snapshot of the whole database.
Result<bool> Database::LastPageMatch(RandomAccessReader& wal_file, RandomAccessReader& ltx_file,
                                     const ltx::Header& h, const std::string& ltx_path,
                                     int64_t frame_offset) {
  const uint32_t ps = page_size_;
  if (h.page_size != ps) return false;
  std::vector<uint8_t> frame(kWalFrameHeaderSize + ps);
  LS_ASSIGN_OR_RETURN(size_t n,
                      wal_file.ReadAt(static_cast<uint64_t>(frame_offset), frame.data(), frame.size()));
  if (n < frame.size()) return false;
  const uint32_t pgno = ReadBE32(frame.data());
  if (ReadBE32(frame.data() + 8) != h.wal_salt1 || ReadBE32(frame.data() + 12) != h.wal_salt2) return false;
  LS_ASSIGN_OR_RETURN(std::optional<ltx::PageIndexEntry> entry,
                      ltx::FindPageIndexEntry(ltx_file, ltx_path, pgno));
  if (!entry) return false;
  std::vector<uint8_t> page(ps);
  LS_RETURN_IF_ERROR(ltx::ReadPage(ltx_file, *entry, ps, page.data(), ltx_path));
  return std::memcmp(page.data(), frame.data() + kWalFrameHeaderSize, ps) == 0;
}

// ---------------------------------------------------------------------------------------------------
// Writing one L0 file (§3.5)

Result<bool> Database::WriteL0Locked(const VerifyResult& verified, int64_t max_bytes, bool* limited) {
  if (replica_may_be_ahead_) {
    return Status::Unavailable(options_.path +
                               ": waiting for the replica's position (a streamed snapshot L0 did not stage)");
  }
  VerifyResult v = verified;
  const uint32_t ps = page_size_;
  LS_ASSIGN_OR_RETURN(TXID pos, PosLocked());
  const TXID txid = pos + 1;
  LS_ASSIGN_OR_RETURN(uint64_t db_size, db_file_->Size());
  uint32_t commit = static_cast<uint32_t>(db_size / ps);

  LS_ASSIGN_OR_RETURN(auto wal_file, fs_->OpenRandomAccess(wal_path()));
  LS_ASSIGN_OR_RETURN(wal::Header wal_header, wal::ReadHeader(*wal_file));
  if (wal_header.page_size != ps) {
    return Status::Corruption(wal_path() + ": wal page size " + std::to_string(wal_header.page_size) +
                              " != database page size " + std::to_string(ps));
  }
  // A full snapshot always reads the whole WAL: pages before any remembered offset may still be newer in
  // the WAL than in the database file.
  if (v.snapshotting) v.offset = kWalHeaderSize;
  auto opened =
      v.offset == kWalHeaderSize
          ? wal::WalReader::Open(wal_file.get())
          : wal::WalReader::OpenAt(wal_file.get(), static_cast<uint64_t>(v.offset), {v.salt1, v.salt2});
  if (!opened.ok() && wal::IsPrevFrameMismatch(opened.status())) {
    logger_.Trace("prev frame mismatch, reading wal from start", {{"error", opened.status().message()}});
    v.offset = kWalHeaderSize;
    opened = wal::WalReader::Open(wal_file.get());
  }
  LS_ASSIGN_OR_RETURN(wal::WalReader reader, std::move(opened));
  bool from_wal_index = false;
  LS_ASSIGN_OR_RETURN(wal::PageMap map, ReadPageMapLocked(reader, wal_header, max_bytes, &from_wal_index));
  *limited = map.limited;
  if (map.commit > 0) commit = map.commit;
  const int64_t size = map.max_offset > 0 ? static_cast<int64_t>(map.max_offset) - v.offset : 0;
  if (!v.snapshotting && size == 0) {  // idle: every commit in the WAL is already in an L0 file
    state_.last_synced_wal_offset = v.offset;
    state_.last_synced_salts = reader.salts();
    state_.synced_past_read_lock = true;
    return false;
  }

  logger_.Debug("sync", {{"txid", FormatTXID(txid)},
                         {"offset", std::to_string(v.offset)},
                         {"size", std::to_string(size)},
                         {"snapshot", v.snapshotting ? "true" : "false"},
                         {"reason", v.reason}});

  const std::string final_path = LtxPath(0, txid, txid);
  const std::string tmp_path = final_path + ".tmp";
  StagingStream stream(*this);
  auto stage_error = [&](const Status& s, std::string_view op) {
    Status failed = s.WithContext(std::string("stage-") + std::string(op) + " " + tmp_path);
    stream.End(failed);
    (void)fs_->Remove(tmp_path);
    return failed;
  };
  if (Status s = fs_->MkdirAll(LtxDir(0), dir_mode_ | 0700); !s.ok()) return stage_error(s, "mkdir");
  auto created = fs_->Create(tmp_path, db_mode_);
  if (!created.ok()) return stage_error(created.status(), "open");
  std::unique_ptr<WritableFile> out = std::move(*created);
  (void)fs_->Chown(tmp_path, db_uid_, db_gid_);
  if (v.snapshotting && commit >= options_.compress_parallel_pages) stream.Begin(txid, tmp_path);

  handed_off_during_sync_ = false;
  ltx::Header header;
  header.flags = ltx::kHeaderFlagNoChecksum;
  header.page_size = ps;
  header.commit = commit;
  header.min_txid = txid;
  header.max_txid = txid;
  header.timestamp = NowMillis(clock_);
  header.wal_offset = v.offset;
  header.wal_size = size;
  header.wal_salt1 = reader.salts().salt1;
  header.wal_salt2 = reader.salts().salt2;
  // A snapshot is written back while it is compressed (its fsync took 0.26 s of a 1 GiB snapshot's 1.9 s);
  // incremental files are left to the fsync. A streamed one is not: the replica's copy is flushed first
  // (StagingStream::Complete), and our pages already sent to the disk would be part of that flush.
  WritebackWriter writeback(*out);
  Writer* sink = v.snapshotting && !stream.file() ? static_cast<Writer*>(&writeback) : out.get();
  std::optional<ProgressWriter> progress;
  if (stream.file()) sink = &progress.emplace(*sink, *stream.file());
  Status s = WriteL0Pages(*sink, header, *wal_file, map, v.snapshotting, v.prev_commit);
  // A frame that is not the page the map says (Corruption) is a restart under us, or else a wal-index that
  // does not describe this WAL: the next attempt scans the frames.
  if (s.ok() || s.IsCorruption()) {
    if (Status restarted = CheckWalNotRestarted(*wal_file, wal_header.salts); !restarted.ok()) {
      s = restarted;
    } else if (!s.ok() && from_wal_index) {
      trust_wal_index_ = false;
      logger_.Warn("the wal-index disagrees with the wal; reading the wal's frames from now on",
                   {{"error", s.message()}});
      s = Status::Unavailable(s.message());
    }
  }
  if (s.ok()) stream.Complete();
  // Every page is read: hand our read mark on before the fsync (tens of milliseconds for a big file).
  if (s.ok() && !v.snapshotting && size >= WalSizeThreshold(kHandOffFrames)) HandOffDuringSyncLocked();
  if (s.ok()) s = out->Sync();
  if (s.ok()) s = out->Close();
  if (!s.ok()) return stage_error(s, "write");
  if (s = fs_->Rename(tmp_path, final_path); !s.ok()) {
    InvalidatePosLocked();
    return stage_error(s, "rename");
  }
  if (s = fs_->SyncDir(LtxDir(0)); !s.ok()) {
    InvalidatePosLocked();
    s = s.WithContext("stage-sync-dir " + LtxDir(0));
    stream.End(s);
    return s;
  }

  logger_.Trace("staged", {{"txid", FormatTXID(txid)}});
  SetCachedPosLocked(txid);
  state_.last_synced_wal_offset = v.offset + size;
  state_.wal_bytes_synced += static_cast<uint64_t>(size);
  state_.last_synced_salts = reader.salts();
  // After a hand-off during this sync our read transaction began past this file's end.
  if (!*limited && !handed_off_during_sync_) state_.synced_past_read_lock = true;
  auto wal_now = fs_->Stat(wal_path());
  state_.synced_to_wal_end = wal_now.ok() && static_cast<uint64_t>(v.offset + size) == wal_now->size;
  stream.End(Status::OK());  // after SetCachedPosLocked: a reader at its end finds the file is Pos()
  NotifyNewFile(txid);
  return true;
}

// The wal-index's page numbers spare the scan, which reads and checksums every frame only for the encoding
// to read the newest ones again (13% of our CPU under bulk inserts). SQLite's readers trust the wal-index the
// same way; a WAL of other salts, a limited sync (it cuts at a commit inside the range, which only the
// frames show) or a wal-index we cannot read falls back to the scan.
Result<wal::PageMap> Database::ReadPageMapLocked(const wal::WalReader& reader, const wal::Header& wal_header,
                                                 int64_t max_bytes, bool* from_wal_index) {
  *from_wal_index = false;
  if (trust_wal_index_ && reader_->is_open()) {  // ReadWalIndexFrames needs its read transaction
    const uint64_t frame_size = reader.frame_size();
    const uint64_t first_frame = (reader.start_offset() - kWalHeaderSize) / frame_size + 1;
    const uint64_t max_frames = max_bytes > 0 ? static_cast<uint64_t>(max_bytes) / frame_size : UINT32_MAX;
    auto frames = ReadWalIndexFrames(reader_->raw(), static_cast<uint32_t>(first_frame),
                                     static_cast<uint32_t>(std::min<uint64_t>(max_frames, UINT32_MAX)));
    if (frames.ok() && frames->salts == reader.salts() && frames->salts == wal_header.salts &&
        frames->page_size == wal_header.page_size) {
      auto map = reader.PageMapOf(frames->pgnos, frames->db_pages);
      if (map.ok()) {
        *from_wal_index = true;
        return map;
      }
    }
  }
  return reader.ReadPageMap(static_cast<uint64_t>(max_bytes));
}

void Database::NotifyNewFile(TXID txid) {
  std::lock_guard<std::mutex> lock(callback_mu_);
  if (on_new_file_) on_new_file_(txid);
}

std::optional<Database::StagingL0> Database::staging_l0() const {
  std::lock_guard<std::mutex> lock(staging_mu_);
  return staging_l0_;
}

void Database::StagingStream::Begin(TXID txid, const std::string& tmp_path) {
  auto reader = db_.fs_->OpenRandomAccess(tmp_path);
  if (!reader.ok()) return;  // then it is uploaded once complete, as any other file
  file_ = std::make_shared<FileInProgress>(std::move(*reader), db_.LtxPath(0, txid, txid));
  txid_ = txid;
  {
    std::lock_guard<std::mutex> lock(db_.staging_mu_);
    db_.staging_l0_ = StagingL0{txid, file_};
  }
  db_.NotifyNewFile(txid);
}

// Every byte is written and the WAL did not restart under it: the consumers may commit their copies now,
// before ours is durable, so that the first backup is restorable one flush sooner (1 GiB: 1.62-2.13 s ->
// 1.27-1.46 s on this project's virtual disk). A failure to stage it afterwards is handled by End().
void Database::StagingStream::Complete() {
  if (!file_) return;
  Withdraw();  // a consumer that has not started takes the staged file once it is Pos()
  file_->Finish(Status::OK());
  complete_ = true;
  // Past the wait, both copies share one flush: slower, still right.
  (void)file_->WaitForReaders(kStreamConsumerWait);
}

void Database::StagingStream::End(const Status& outcome) {
  if (!file_) return;
  Withdraw();
  if (!complete_) {
    file_->Finish(outcome);
  } else if (!outcome.ok() && file_->Revoke(outcome)) {
    // A consumer read it all and may have committed it: the replica can be one file ahead of us. Writing
    // another file with this TXID would fork the history, so none is written until the replica's
    // position is known (Replica::Sync calls CatchUpWithReplica, kicked here).
    db_.replica_may_be_ahead_ = true;
    db_.logger_.Warn("snapshot l0 reached the replica but could not be staged; comparing positions first",
                     {{"txid", FormatTXID(txid_)}, {"error", outcome.message()}});
    db_.NotifyNewFile(txid_);
  }
  file_.reset();
}

void Database::StagingStream::Withdraw() {
  std::lock_guard<std::mutex> lock(db_.staging_mu_);
  db_.staging_l0_.reset();
}

size_t Database::CompressionThreads(uint64_t pages) const {
  if (pages < options_.compress_parallel_pages) return 1;
  if (options_.compression_threads > 0) return options_.compression_threads;
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
}

// Encodes the pages of an L0 file. A snapshot holds every page 1..commit (WAL version if the page map has
// one, else the database file's); an incremental file holds the page map's pages plus every page that grew
// the database since the previous file ((prev_commit, commit]), so that merges starting at TXID 1 stay
// contiguous (§8.2).
Status Database::WriteL0Pages(Writer& out, const ltx::Header& header, RandomAccessReader& wal_file,
                              const wal::PageMap& map, bool snapshot, uint32_t prev_commit) {
  const uint32_t ps = header.page_size;
  const uint32_t lock_pgno = ltx::LockPgno(ps);
  ltx::Encoder enc(out, options_.page_encoding);
  // Only a snapshot gets compression threads: an incremental file is cut at max_sync_wal_bytes anyway, and
  // under a write load that big the application needs the cores.
  if (snapshot) enc.SetCompressionThreads(CompressionThreads(header.commit));
  LS_RETURN_IF_ERROR(enc.EncodeHeader(header));
  const size_t frame_size = kWalFrameHeaderSize + ps;
  const std::string wal = wal_path();
  // Every WAL frame encoded must be the page the map says, of this WAL generation.
  const wal::Salts salts{header.wal_salt1, header.wal_salt2};
  auto check_frames = [&](const uint8_t* frames, uint32_t pgno, size_t count, uint64_t offset) -> Status {
    for (size_t i = 0; i < count; i++) {
      const wal::FrameHeader fh = wal::DecodeFrameHeader(frames + i * frame_size);
      if (fh.pgno != pgno + i || fh.salts != salts) {
        return Status::Corruption(wal + ": frame at offset " + std::to_string(offset + i * frame_size) +
                                  " holds page " + std::to_string(fh.pgno) + ", want page " +
                                  std::to_string(pgno + i) + " of this wal generation");
      }
    }
    return Status::OK();
  };
  // Runs of up to 1 MiB: one read per run rather than per page.
  const uint32_t run_pages = std::max<uint32_t>(1, (1u << 20) / ps);
  const size_t run_frames = std::max<size_t>(1, (size_t{1} << 20) / frame_size);
  const size_t run_bytes = std::max<size_t>(run_pages * size_t{ps}, run_frames * frame_size);
  if (snapshot) {
    // Every page 1..commit, in runs read on a helper thread while the ones before are encoded: the WAL's
    // version of a page if the page map has one (a run of consecutive frames), else runs of the database
    // file's pages, read once (RandomAccessReader::ReadAtOnce).
    struct Run {
      uint32_t pgno = 0;
      uint32_t count = 0;
      size_t stride = 0;  // bytes from one page to the next in the buffer
      size_t skip = 0;    // bytes before the first page (a WAL frame's header)
    };
    auto wal_it = map.pages.begin();
    uint32_t next = 1;
    ReadAhead<Run> runs(run_bytes, kSnapshotReadAhead, [&](Run* run, uint8_t* buf) -> Result<bool> {
      if (next == lock_pgno) next++;
      if (next > header.commit) return false;
      while (wal_it != map.pages.end() && wal_it->first < next) ++wal_it;
      if (wal_it != map.pages.end() && wal_it->first == next) {
        const size_t count = ConsecutiveFrames(map, wal_it, run_frames, frame_size);
        *run = {next, static_cast<uint32_t>(count), frame_size, kWalFrameHeaderSize};
        LS_RETURN_IF_ERROR(ReadAtFull(wal_file, wal_it->second, buf, count * frame_size, wal));
        LS_RETURN_IF_ERROR(check_frames(buf, next, count, wal_it->second));
        next += static_cast<uint32_t>(count);
        return true;
      }
      // [next, end): database-file pages, stopping before the lock page and the next WAL page.
      uint32_t end = std::min<uint64_t>(uint64_t{header.commit} + 1, uint64_t{next} + run_pages);
      if (next < lock_pgno) end = std::min(end, lock_pgno);
      if (wal_it != map.pages.end()) end = std::min(end, wal_it->first);
      *run = {next, end - next, ps, 0};
      LS_RETURN_IF_ERROR(ReadAtFull(*db_file_, uint64_t{next - 1} * ps, buf, size_t{run->count} * ps,
                                    options_.path, /*once=*/true));
      next = end;
      return true;
    });
    Run run;
    const uint8_t* data = nullptr;
    for (;;) {
      LS_ASSIGN_OR_RETURN(bool more, runs.Next(&run, &data));
      if (!more) break;
      for (uint32_t i = 0; i < run.count; i++) {
        LS_RETURN_IF_ERROR(enc.EncodePage(run.pgno + i, data + i * run.stride + run.skip));
      }
    }
    return enc.Close();
  }
  // Encodes `count` consecutive pages, pgno first, read in one request: stored `stride` bytes apart from
  // `offset`, each page `skip` bytes into its stride (a WAL frame's page follows its header).
  ScratchBuffer run(run_bytes);
  auto encode_run = [&](RandomAccessReader& file, const std::string& path, uint64_t offset, size_t stride,
                        size_t skip, uint32_t pgno, size_t count) -> Status {
    LS_RETURN_IF_ERROR(ReadAtFull(file, offset, run.data(), count * stride, path));
    if (skip != 0) LS_RETURN_IF_ERROR(check_frames(run.data(), pgno, count, offset));  // WAL frames
    for (size_t i = 0; i < count; i++) {
      LS_RETURN_IF_ERROR(enc.EncodePage(pgno + static_cast<uint32_t>(i), run.data() + i * stride + skip));
    }
    return Status::OK();
  };
  auto encode_wal_run = [&](uint32_t pgno, uint64_t frame_offset, size_t count) {
    return encode_run(wal_file, wal, frame_offset, frame_size, kWalFrameHeaderSize, pgno, count);
  };
  auto encode_db_run = [&](uint32_t pgno, size_t count) {
    return encode_run(*db_file_, options_.path, static_cast<uint64_t>(pgno - 1) * ps, ps, 0, pgno, count);
  };
  // A big incremental file hands our read mark on every kHandOffFrames pages (see "Checkpoints" in
  // docs/engine.md), unless it reads pages from the database file: the application may backfill up to
  // the new mark, past the end of this file.
  const uint64_t growth_pages =
      header.commit > prev_commit
          ? header.commit - prev_commit - (lock_pgno > prev_commit && lock_pgno <= header.commit)
          : 0;
  const uint64_t growth_in_map = static_cast<uint64_t>(
      std::distance(map.pages.upper_bound(prev_commit), map.pages.upper_bound(header.commit)));
  const bool reads_database = growth_in_map < growth_pages;
  size_t since_hand_off = 0;
  auto it = map.pages.begin();
  // Merge the page map's pgnos with the growth range, ascending.
  uint32_t growth = prev_commit + 1;
  for (;;) {
    while (growth <= header.commit && (growth == lock_pgno || map.pages.count(growth) != 0)) growth++;
    uint32_t next_map = it != map.pages.end() ? it->first : UINT32_MAX;
    uint32_t next_growth = growth <= header.commit ? growth : UINT32_MAX;
    uint32_t pgno = std::min(next_map, next_growth);
    if (pgno == UINT32_MAX) break;
    if (pgno != next_map) {
      LS_RETURN_IF_ERROR(encode_db_run(pgno, 1));
      growth++;
      continue;
    }
    const size_t count = ConsecutiveFrames(map, it, run_frames, frame_size);
    LS_RETURN_IF_ERROR(encode_wal_run(pgno, it->second, count));
    std::advance(it, count);
    since_hand_off += count;
    if (!reads_database && since_hand_off >= kHandOffFrames) {
      HandOffDuringSyncLocked();
      since_hand_off = 0;
    }
  }
  return enc.Close();
}

}  // namespace litestream

namespace litestream {

// ---------------------------------------------------------------------------------------------------
// Level-9 snapshots (§3.7)

class SnapshotReader::Pages final : public ltx::PageSource {
 public:
  Pages(RandomAccessReader* db_file, std::string db_path, std::unique_ptr<RandomAccessFile> wal_file,
        std::string wal_path)
      : db_file_(db_file),
        db_path_(std::move(db_path)),
        wal_file_(std::move(wal_file)),
        wal_path_(std::move(wal_path)) {}

  // Reads the WAL page map up to wal_end (frames past it are not part of the state at txid) and builds the
  // header of a level-9 snapshot (§3.7).
  Status Start(TXID txid, uint32_t page_size, const wal::Header& wal_header, int64_t wal_end,
               int64_t now_ms) {
    LS_ASSIGN_OR_RETURN(uint64_t db_size, db_file_->Size());
    header_.commit = static_cast<uint32_t>(db_size / page_size);
    int64_t last_frame_end = 0;
    if (wal_end > kWalHeaderSize) {
      LS_ASSIGN_OR_RETURN(auto reader, wal::WalReader::Open(wal_file_.get()));
      LS_ASSIGN_OR_RETURN(wal::PageMap map,
                          reader.ReadPageMap(static_cast<uint64_t>(wal_end - kWalHeaderSize)));
      if (map.commit > 0) header_.commit = map.commit;
      wal_pages_.assign(map.pages.begin(), map.pages.end());
      last_frame_end = static_cast<int64_t>(map.max_offset);
    }
    header_.flags = ltx::kHeaderFlagNoChecksum;
    header_.page_size = page_size;
    header_.min_txid = 1;
    header_.max_txid = txid;
    header_.timestamp = now_ms;
    const int64_t frame_size = kWalFrameHeaderSize + page_size;
    if (last_frame_end <= kWalHeaderSize) {
      header_.wal_offset = kWalHeaderSize;
      header_.wal_size = 0;
    } else {  // the last frame only
      header_.wal_offset = std::max<int64_t>(last_frame_end - frame_size, kWalHeaderSize);
      header_.wal_size = last_frame_end - header_.wal_offset;
    }
    header_.wal_salt1 = wal_header.salts.salt1;
    header_.wal_salt2 = wal_header.salts.salt2;
    wal_salts_ = wal_header.salts;
    lock_pgno_ = ltx::LockPgno(page_size);
    return Status::OK();
  }

  const ltx::Header& header() const override { return header_; }

  Result<bool> NextPage(uint32_t* pgno, uint8_t* page) override {
    if (next_pgno_ == lock_pgno_) next_pgno_++;
    if (next_pgno_ > header_.commit) return false;
    *pgno = next_pgno_++;
    const uint32_t ps = header_.page_size;
    while (wal_index_ < wal_pages_.size() && wal_pages_[wal_index_].first < *pgno) wal_index_++;
    if (wal_index_ < wal_pages_.size() && wal_pages_[wal_index_].first == *pgno) {
      LS_RETURN_IF_ERROR(
          ReadAtFull(*wal_file_, wal_pages_[wal_index_].second + kWalFrameHeaderSize, page, ps, wal_path_));
    } else {
      LS_RETURN_IF_ERROR(
          ReadAtFull(*db_file_, static_cast<uint64_t>(*pgno - 1) * ps, page, ps, db_path_, /*once=*/true));
    }
    return true;
  }

  // The pages read from the WAL are only valid if it was not restarted (overwritten) meanwhile.
  Status Close() override { return CheckWalNotRestarted(*wal_file_, wal_salts_); }
  uint64_t post_apply_checksum() const override { return 0; }

 private:
  RandomAccessReader* db_file_;
  std::string db_path_;
  std::unique_ptr<RandomAccessFile> wal_file_;
  std::string wal_path_;
  wal::Salts wal_salts_;
  ltx::Header header_;
  std::vector<std::pair<uint32_t, uint64_t>> wal_pages_;  // sorted pgno -> frame offset
  size_t wal_index_ = 0;
  uint32_t next_pgno_ = 1;
  uint32_t lock_pgno_ = 0;
};

Result<std::unique_ptr<SnapshotReader>> Database::OpenSnapshot() {
  std::unique_ptr<SnapshotReader> r(new SnapshotReader());
  std::lock_guard<std::mutex> lock(exec_mu_);
  LS_RETURN_IF_ERROR(InitLocked());
  if (page_size_ == 0) return Status::FailedPrecondition("database not ready");
  // A snapshot labelled with our position is the database file overlaid with the WAL up to the last
  // synced offset. That holds only if the database file has no page of a later commit (a sync read the
  // whole WAL since our read transaction began) and the WAL still is the generation that offset belongs
  // to. The application can restart the WAL or backfill it at any time, so sync first and check both.
  std::unique_ptr<RandomAccessFile> wal_file;
  wal::Header wal_header;
  for (int attempt = 0;; attempt++) {
    if (attempt == kSnapshotSyncAttempts) {
      return Status::Unavailable("snapshot " + path() +
                                 ": the WAL kept changing while syncing before it; retry later");
    }
    LS_RETURN_IF_ERROR(AcquireReadLockLocked());
    LS_RETURN_IF_ERROR(SyncToWalEndLocked().WithContext("sync before snapshot"));
    if (!state_.synced_past_read_lock) continue;
    LS_ASSIGN_OR_RETURN(wal_file, fs_->OpenRandomAccess(wal_path()));
    LS_ASSIGN_OR_RETURN(wal_header, wal::ReadHeader(*wal_file));
    if (wal_header.salts == state_.last_synced_salts) break;
  }
  LS_ASSIGN_OR_RETURN(TXID pos, PosLocked());
  if (pos == 0) return Status::FailedPrecondition("database has no position yet");
  const int64_t wal_end = state_.last_synced_wal_offset;
  r->pages_ =
      std::make_unique<SnapshotReader::Pages>(db_file_.get(), path(), std::move(wal_file), wal_path());
  LS_RETURN_IF_ERROR(r->pages_->Start(pos, page_size_, wal_header, wal_end, NowMillis(clock_))
                         .WithContext("snapshot " + path()));
  // Position and content stay consistent: our checkpoints wait until this reader is done (#1164).
  LockCheckpointShared();
  r->holds_lock_ = true;
  r->db_ = this;
  r->txid_ = pos;
  r->encoded_ = std::make_unique<ltx::EncodingReader>(*r->pages_, options_.page_encoding,
                                                      CompressionThreads(r->pages_->header().commit));
  return r;
}

Result<size_t> SnapshotReader::Read(uint8_t* buf, size_t n) {
  auto got = encoded_->Read(buf, n);
  if (!got.ok() || *got == 0) Release();
  return got;
}

void SnapshotReader::Release() {
  if (holds_lock_) {
    holds_lock_ = false;
    db_->UnlockCheckpointShared();
  }
}

SnapshotReader::~SnapshotReader() { Release(); }

// ---------------------------------------------------------------------------------------------------
// Database behind replica (§3.9, #781)

Status Database::CatchUpWithReplica(StorageClient& client) {
  std::lock_guard<std::mutex> lock(exec_mu_);
  LS_ASSIGN_OR_RETURN(TXID local, PosLocked());
  LS_ASSIGN_OR_RETURN(auto remote, client.List(0, 0));
  if (remote.empty() || remote.back().max_txid <= local) {
    replica_may_be_ahead_ = false;
    return Status::OK();
  }
  const LtxFileInfo newest = remote.back();
  logger_.Info("database behind replica, fetching replica's newest L0",
               {{"local_txid", FormatTXID(local)}, {"replica_txid", FormatTXID(newest.max_txid)}});
  LS_RETURN_IF_ERROR(fs_->RemoveAll(LtxDir(0)));
  InvalidatePosLocked();
  LS_RETURN_IF_ERROR(fs_->MkdirAll(LtxDir(0), dir_mode_ | 0700));
  LS_ASSIGN_OR_RETURN(auto in, client.Open(0, newest.min_txid, newest.max_txid, 0, 0));
  const std::string final_path = LtxPath(0, newest.min_txid, newest.max_txid);
  const std::string tmp_path = final_path + ".tmp";
  LS_ASSIGN_OR_RETURN(auto out, fs_->Create(tmp_path, db_mode_));
  auto copied = Copy(*in, *out);
  Status s = copied.status();
  if (s.ok()) s = out->Sync();
  if (s.ok()) s = out->Close();
  if (s.ok()) s = fs_->Rename(tmp_path, final_path);
  if (s.ok()) s = fs_->SyncDir(LtxDir(0));
  if (!s.ok()) {
    (void)fs_->Remove(tmp_path);
    return s.WithContext("fetch replica L0 " + FormatLtxFilename(newest.min_txid, newest.max_txid));
  }
  state_ = SyncState{};
  replica_may_be_ahead_ = false;
  return Status::OK();
}

}  // namespace litestream
