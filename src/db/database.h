// One replicated database: owns Litestream's SQLite connections to it, turns committed WAL frames into
// local L0 LTX files (one file per sync, TXID + 1), owns checkpointing, and produces level-9 snapshots.
// Follows ENGINE.md §3 (setup, verify, sync, checkpoint, snapshot, restart) rule for rule.
//
// Thread-safety: every public method may be called from any thread. Sync chunks, checkpoints, snapshot
// position capture and Close are serialized by one internal mutex (upstream's executor semaphore).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db/sqlite_conn.h"
#include "litestream/log.h"
#include "litestream/storage.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/encoding_reader.h"
#include "util/clock.h"
#include "util/file_in_progress.h"
#include "util/file_system.h"
#include "wal/reader.h"

namespace litestream {

struct DbOptions {
  std::string path;       // absolute path of the database file
  std::string meta_path;  // empty: <dir>/.<file>-litestream
  std::chrono::milliseconds busy_timeout{1000};
  std::chrono::milliseconds checkpoint_interval{60'000};  // 0 disables time-based checkpoints
  uint32_t min_checkpoint_page_count = 1000;
  // Size-triggered PASSIVE checkpoints at most this often: each one holds the application's write lock
  // for a sync and a checkpoint, so under a steady write load they follow the sync cadence of upstream
  // (one per monitor interval) rather than ours (up to ten per interval). 0: after every qualifying sync.
  std::chrono::milliseconds min_size_checkpoint_spacing{0};
  uint32_t truncate_page_n = 121359;      // 0 means the default
  int64_t max_sync_wal_bytes = 64 << 20;  // per L0 file, cut at commit boundaries; 0 = unlimited
  // A hand-off of our read mark that leaves at least this much WAL to backfill (after a snapshot stream
  // pinned it, or while syncs catch up) is backfilled by our own checkpoint thread rather than by the
  // application's next autocheckpoint, inside one of its commits (~3 ms per MB here). Normal hand-offs move
  // it a few MB. See "Checkpoints" in docs/engine.md.
  uint64_t own_backfill_bytes = 32 << 20;
  ltx::PageEncoding page_encoding = ltx::PageEncoding::kBlock;
  // Snapshots (a first L0, a level-9 snapshot) of at least compress_parallel_pages pages are compressed
  // on up to this many threads. 0: one per core, at most 4; 1: on the sync thread only.
  size_t compression_threads = 0;
  size_t compress_parallel_pages = 4096;
};

enum class CheckpointMode { kPassive, kTruncate };
std::string_view CheckpointModeName(CheckpointMode mode);

// The sync state that upstream keeps in memory; lost on restart by design (§3.3).
struct SyncState {
  int64_t last_synced_wal_offset = 0;  // WALOffset + WALSize of the last L0
  wal::Salts last_synced_salts{};      // the WAL generation that offset belongs to
  uint64_t wal_bytes_synced = 0;       // WAL bytes in all L0 files written since open (a rate for the store)
  // A sync read every commit of the WAL after our current read transaction began. Only then can the
  // database file hold no page newer than our position: our read transaction limits what checkpoints
  // may backfill to the state it sees (or, with read-mark 0, blocks backfilling altogether).
  bool synced_past_read_lock = false;
  bool synced_to_wal_end = false;
  bool synced_since_checkpoint = false;
  bool truncate_passive_failed = false;
};

class SnapshotReader;

class Database {
 public:
  Database(DbOptions options, Logger logger, FileSystem* fs = FileSystem::Default(),
           Clock* clock = Clock::Real());
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return options_.path; }
  const std::string& meta_path() const { return meta_path_; }
  std::string wal_path() const { return options_.path + "-wal"; }
  std::string LtxDir(int level) const;
  std::string LtxPath(int level, TXID min_txid, TXID max_txid) const;
  const DbOptions& options() const { return options_; }
  const Logger& logger() const { return logger_; }

  // Prepares local state (sweeps *.tmp under the meta dir). SQLite is set up lazily by the first Sync,
  // because the database file may not exist yet.
  Status Open();
  // Releases the read transaction and closes every connection and fd. Idempotent. Does not sync: the
  // service performs the final sync (and upload) before calling Close.
  void Close();

  // Copies every committed WAL frame into new L0 files (chunks of max_sync_wal_bytes), then applies the
  // checkpoint policy. A no-op returning 0 if the database file does not exist. Returns files written.
  Result<int> Sync();

  // Moves our read mark to the current end of the WAL (see "Checkpoints" in docs/engine.md), unless a
  // sync, a checkpoint or a snapshot stream is running (each of them hands off itself when it is done,
  // or must not be disturbed). Never waits for them.
  Status AdvanceReadLockIfIdle();

  // Runs the checkpoint procedure of §3.6 now.
  Status Checkpoint(CheckpointMode mode);

  // Local position: the highest TXID among local L0 files (0 if none). Verified once, then cached.
  Result<TXID> Pos();
  // 0 until the first successful sync has read the page size.
  uint32_t page_size() const { return page_size_.load(); }

  // A level-9 snapshot (1..Pos) as a stream of LTX bytes, produced on demand without local staging.
  // Holds the checkpoint lock shared until destroyed (so its content stays consistent with its TXID).
  // NotFound/FailedPrecondition if the database is not initialized yet.
  Result<std::unique_ptr<SnapshotReader>> OpenSnapshot();

  // Local L0 files.
  Result<std::unique_ptr<Reader>> OpenLocalLtx(int level, TXID min_txid, TXID max_txid);
  Result<std::vector<LtxFileInfo>> ListLocalLtx(int level);
  // Best-effort delete of local copies of these files; invalidates the cached position.
  void RemoveLocalLtx(const std::vector<LtxFileInfo>& files);
  // Deletes <meta>/ltx so the next sync starts a fresh snapshot (litestream reset / auto-recover).
  Status ResetLocalState();

  // §3.9 "database behind replica": if the replica's newest L0 is ahead of the local position, replace
  // local L0 with a copy of it so TXIDs continue after it. Clears replica_may_be_ahead().
  Status CatchUpWithReplica(StorageClient& client);

  // True after a streamed snapshot L0 that a consumer read to its end could not be staged after all (its
  // fsync or rename failed): the replica may hold a file we do not. No L0 is written until
  // CatchUpWithReplica() has compared the two (the replica does so before its next upload).
  bool replica_may_be_ahead() const { return replica_may_be_ahead_.load(); }

  // Called after every new L0 file, and when a snapshot L0 starts streaming (StagingL0), from the
  // syncing thread; must be cheap and non-blocking.
  void SetOnNewFile(std::function<void(TXID)> callback);

  // The snapshot L0 a sync is writing right now, if it is big enough to stream while written (at least
  // DbOptions::compress_parallel_pages pages): its TXID and a reader that ends once every byte is written
  // and checked (and fails if the sync abandons it). nullopt otherwise. The sync makes its own copy durable
  // and Pos() only after the reader's consumer is done (see "Level-9 snapshots of a new replica" in
  // docs/engine.md), so the replica may briefly be one file ahead of Pos().
  struct StagingL0 {
    TXID txid = 0;
    std::shared_ptr<FileInProgress> file;
  };
  std::optional<StagingL0> staging_l0() const;

  SyncState sync_state() const;

  // True once a local L0 file was found corrupt (it fails its checksum or its header does not decode).
  // The remedy is ResetLocalState() + CatchUpWithReplica(): the next sync then writes a full snapshot at
  // the TXID after the replica's, which loses nothing since the database itself is the source of truth.
  bool local_state_corrupt() const { return local_corrupt_.load(); }

 private:
  friend class SnapshotReader;
  struct VerifyResult {
    int64_t offset = 32;
    uint32_t salt1 = 0, salt2 = 0;
    uint32_t prev_commit = 0;
    bool snapshotting = true;
    std::string reason;
  };

  // All REQUIRE exec_mu_.
  Status InitLocked();
  Status EnsureWalExistsLocked();
  Result<VerifyResult> VerifyLocked();
  // Syncs (in max-sync-wal-bytes chunks) until every commit in the WAL is in an L0 file.
  Status SyncToWalEndLocked();
  // Writes one L0 file. *limited is set if max_bytes cut the page map before the WAL end.
  Result<bool> SyncOnceLocked(int64_t max_bytes, bool from_checkpoint, bool force_snapshot, bool* limited);
  Result<bool> WriteL0Locked(const VerifyResult& v, int64_t max_bytes, bool* limited);
  // The committed pages from reader's start (WalReader::ReadPageMap's map); *from_wal_index says whether
  // the wal-index gave them rather than a scan of the frames.
  Result<wal::PageMap> ReadPageMapLocked(const wal::WalReader& reader, const wal::Header& wal_header,
                                         int64_t max_bytes, bool* from_wal_index);
  Status WriteL0Pages(Writer& out, const ltx::Header& header, RandomAccessReader& wal_file,
                      const wal::PageMap& map, bool snapshot, uint32_t prev_commit);
  // The compression threads for an LTX file of `pages` pages.
  size_t CompressionThreads(uint64_t pages) const;
  Result<bool> LastPageMatch(RandomAccessReader& wal_file, RandomAccessReader& ltx_file, const ltx::Header& h,
                             const std::string& ltx_path, int64_t frame_offset);
  Status ExecCheckpoint(CheckpointMode mode, bool* busy = nullptr);
  // before_step runs between the statement's preparation and its execution (even if preparing failed).
  Status ExecCheckpointOn(SqliteConn& conn, CheckpointMode mode, bool* busy,
                          const std::function<void()>& before_step = {});
  Status ExecCheckpointWaitingForOthers(CheckpointMode mode);
  uint32_t EffectiveTruncatePageN() const;
  Status CheckpointIfNeededLocked(int64_t orig_wal_size, int64_t new_wal_size);
  Result<bool> CheckpointLocked(CheckpointMode mode);  // true if the WAL was restarted
  Status OpenOwnConnection(SqliteConn* conn);
  Status AcquireReadLockLocked();
  static int PollingBusyHandler(void* arg, int attempt);  // sqlite3_busy_handler for write_conn_
  void ReleaseReadLockLocked();
  // Moves the read transaction to the current end of the WAL without ever holding none: the other
  // connection begins first, then the old one ends. REQUIRES: the checkpoint lock held exclusively (a
  // snapshot stream relies on the database file holding nothing newer than its read mark).
  Status AdvanceReadLockLocked();
  // Where the WAL ends now: the wal-index header's last frame, or where we last synced it when the
  // connection has no shared memory; and, with shared memory, where checkpoints have backfilled it to.
  struct WalEnd {
    wal::Salts salts;
    int64_t offset = 0;
    std::optional<int64_t> backfilled;
  };
  WalEnd WalEndLocked() const;
  // Records where a move left our read mark: the WAL's end. The backlog is what the next move hands to
  // checkpoints: the WAL appended since, synced or not, plus what they have not yet backfilled before it.
  void NoteMarkMovedLocked();
  uint64_t BacklogToBackfillLocked() const;
  // The hand-offs of the sync cadence: AdvanceReadLockLocked, unless our own backfill runs (what it is
  // given decides the next backlog), and a backfill of our own when the move handed over a big backlog.
  // True if the mark moved.
  Result<bool> HandOffLocked(bool only_big_backlog = false);
  // HandOffLocked unless a snapshot stream holds the mark (then false).
  bool HandOffUnlessStreamingLocked(bool only_big_backlog);
  // Runs a PASSIVE checkpoint on backfill_conn_ in a thread of its own (see "Checkpoints" in docs/engine.md).
  void StartBackfillLocked(SqliteConn* guard, uint64_t handed_over);
  void JoinBackfillLocked();
  // Checkpoints wait while a snapshot stream holds the checkpoint lock or our own backfill runs.
  bool CheckpointDeferredLocked(int64_t wal_size);
  // multiple: how many times the WAL is past truncate-page-n; counts the slices it held the writers off.
  Status ThrottleWritersLocked(int64_t multiple, int* slices);
  bool WalWrittenSinceLastLookLocked();
  void WriteBackWalIfWritten();
  Result<TXID> PosLocked();
  Status MarkLocalCorrupt(const Status& s);  // returns s
  void InvalidatePosLocked() { SetCachedPosLocked(std::nullopt); }
  void SetCachedPosLocked(std::optional<TXID> pos) {
    cached_pos_ = pos;
    published_pos_ = pos ? static_cast<int64_t>(*pos) : -1;
  }
  Status BumpSeqLocked();
  Result<std::vector<uint8_t>> ReadWalHeader();
  int64_t WalSizeThreshold(uint32_t pages) const;
  void CloseLocked();

  // Checkpoint lock (upstream chkMu): syncs and snapshot streams hold it shared; a checkpoint only
  // try-locks it exclusively and skips if busy. Shared holders may release from another thread.
  void LockCheckpointShared();
  void UnlockCheckpointShared();
  bool TryLockCheckpointExclusive();
  // Moves the read mark on in the middle of a sync, if it may (hand_off_during_sync_, no snapshot stream).
  void HandOffDuringSyncLocked();
  // REQUIRES: the caller (a sync or a checkpoint) holds it. True if no snapshot stream holds it as well.
  bool NoSnapshotStreamHoldsCheckpointLock();
  // REQUIRES: exec_mu_, and no sync of ours running. True while a snapshot stream holds it.
  bool SnapshotStreamOpenLocked();
  void UnlockCheckpointExclusive();

  const DbOptions options_;
  const std::string meta_path_;
  Logger logger_;
  FileSystem* const fs_;
  Clock* const clock_;

  mutable std::mutex exec_mu_;
  bool initialized_ = false;
  bool closed_ = false;
  SqliteConn read_conn_;              // owns the main-file handle we read pages through
  SqliteConn read_conn_alt_;          // the other half of the read-lock hand-off (AdvanceReadLockLocked)
  SqliteConn* reader_ = &read_conn_;  // which of the two holds the long-lived read transaction
  SqliteConn write_conn_;             // barrier / lock transactions
  std::chrono::steady_clock::time_point busy_wait_started_;  // PollingBusyHandler's current wait
  std::chrono::milliseconds busy_wait_limit_{0};             // and how long it may last
  SqliteConn checkpoint_conn_;                               // PRAGMA wal_checkpoint and seq bumps
  bool read_tx_open_ = false;
  // Whether syncs take their page maps from the wal-index (ReadPageMapLocked); cleared for good once a
  // frame disagreed with it.
  bool trust_wal_index_ = true;
  // WriteBackWalIfWritten's: the WAL's mtime at the last hand-off (unset before the first), when it last
  // wrote the WAL back, and the database file's size when it last started writing that back.
  std::optional<SystemTime> wal_mtime_seen_;
  std::chrono::steady_clock::time_point last_wal_write_back_{};
  uint64_t db_size_written_back_ = 0;
  // The WAL's end when our read mark last moved (HandOffLocked judges the backlog by it), and whether a
  // big backlog waits for SQLite's checkpointer lock to be handed to our backfill.
  WalEnd mark_{};
  bool backlog_waits_for_guard_ = false;
  // Our own backfill of a big backlog (StartBackfillLocked); backfill_conn_ is only opened for it.
  SqliteConn backfill_conn_;
  std::thread backfill_thread_;
  std::atomic<bool> backfilling_{false};
  bool deferral_logged_ = false;  // the current deferral of an emergency checkpoint is logged
  std::chrono::steady_clock::time_point throttle_free_until_{};  // ThrottleWritersLocked's gap ends
  std::optional<SystemTime> throttle_wal_mtime_;                 // WalWrittenSinceLastLookLocked's
  // Set by Sync() and a PASSIVE checkpoint's syncs before its barrier, never by OpenSnapshot's: a big
  // incremental file of theirs hands our read mark on while it is written (HandOffDuringSyncLocked).
  bool hand_off_during_sync_ = false;
  bool handed_off_during_sync_ = false;      // by the file being written now
  std::unique_ptr<SqliteMainFile> db_file_;  // one long-lived fd; never reopened (POSIX lock semantics)
  uint32_t db_mode_ = 0600, dir_mode_ = 0700;
  uint32_t db_uid_ = 0, db_gid_ = 0;
  std::atomic<uint32_t> page_size_{0};
  std::optional<TXID> cached_pos_;
  // cached_pos_ readable without exec_mu_ (-1: unknown), so the upload loop never waits behind a checkpoint
  // that is waiting for the application's write lock.
  std::atomic<int64_t> published_pos_{-1};
  SyncState state_;
  SystemTime last_size_checkpoint_at_{};
  int consecutive_disk_full_ = 0;
  std::atomic<bool> local_corrupt_{false};
  std::atomic<bool> replica_may_be_ahead_{false};

  std::mutex chk_mu_;
  std::condition_variable chk_cv_;
  int chk_shared_ = 0;
  bool chk_exclusive_ = false;

  std::mutex callback_mu_;
  std::function<void(TXID)> on_new_file_;

  // The snapshot L0 a sync streams while it writes it (staging_l0_): Begin() publishes it; Complete() lets
  // its readers reach the end and waits (bounded) for their consumers; End() (or the destructor, for any
  // early return) withdraws it, and a failure after Complete() revokes it.
  class StagingStream {
   public:
    explicit StagingStream(Database& db) : db_(db) {}
    ~StagingStream() { End(Status::Cancelled("the sync ended before the file was complete")); }
    void Begin(TXID txid, const std::string& tmp_path);
    void Complete();
    void End(const Status& outcome);
    FileInProgress* file() const { return file_.get(); }

   private:
    void Withdraw();
    Database& db_;
    TXID txid_ = 0;
    bool complete_ = false;
    std::shared_ptr<FileInProgress> file_;
  };
  void NotifyNewFile(TXID txid);

  mutable std::mutex staging_mu_;
  std::optional<StagingL0> staging_l0_;
};

// The stream behind Database::OpenSnapshot(): an LTX file 1..txid generated page by page as it is read
// (pages from the WAL where the page map up to the last synced offset has them, else from the database
// file). Holds the database's checkpoint lock shared until it reaches its end, fails, or is destroyed.
class SnapshotReader final : public Reader {
 public:
  ~SnapshotReader() override;
  Result<size_t> Read(uint8_t* buf, size_t n) override;
  TXID txid() const { return txid_; }

 private:
  friend class Database;
  class Pages;
  SnapshotReader() = default;
  void Release();  // gives the checkpoint lock back (once)

  Database* db_ = nullptr;
  TXID txid_ = 0;
  bool holds_lock_ = false;
  std::unique_ptr<Pages> pages_;
  std::unique_ptr<ltx::EncodingReader> encoded_;
};

}  // namespace litestream
