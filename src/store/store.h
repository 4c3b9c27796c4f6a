// The replication service for many databases (ENGINE.md §3.3, §3.8, §4): per database a sync job, a
// read-mark hand-off job (while the WAL grows fast), an upload job, one compaction job per level, a
// snapshot job and an L0-retention job, all on a shared
// Scheduler with a few worker threads. A failure of one database never stops the others.
//
// Change detection: a one-shot inotify watch on each WAL (re-armed by every sync) kicks the sync job at
// the first write after a sync, and a watch on the database's directory sees the WAL created; the monitor
// interval remains as a fallback poll that only stat()s the WAL, so an idle database costs neither CPU nor
// remote requests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "db/database.h"
#include "litestream/log.h"
#include "litestream/storage.h"
#include "replica/replica.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/scheduler.h"

namespace litestream {

using std::chrono::milliseconds;

struct StoreOptions {
  std::vector<milliseconds> levels{milliseconds(30'000), milliseconds(300'000), milliseconds(3'600'000)};
  milliseconds snapshot_interval{24 * 3'600'000};
  milliseconds snapshot_retention{24 * 3'600'000};
  bool retention_enabled = true;
  milliseconds l0_retention{300'000};  // 0: never delete L0
  milliseconds l0_retention_check_interval{15'000};
  bool verify_compaction = false;
  milliseconds shutdown_sync_timeout{30'000};
  milliseconds shutdown_sync_interval{500};
  size_t workers = 0;  // 0: 2 x cores, at least 4
  // Background jobs (compaction, snapshots, retention) can be turned off for `replicate -once`.
  bool background_jobs = true;
  // Change detection through inotify (the monitor interval stays as a fallback).
  bool watch_files = true;
};

struct DbEntry {
  DbOptions db;
  ReplicaOptions replica;
  std::shared_ptr<StorageClient> client;
  milliseconds monitor_interval{1000};  // 0: no monitoring (syncs only on request)
};

// Status of one database, for `litestream status`, the control socket and the library API.
struct DbStatus {
  std::string path;
  std::string replica;
  TXID local_txid = 0;
  TXID replica_txid = 0;
  bool in_sync = false;       // the replica holds every local L0 file
  SystemTime last_sync_at{};  // last successful sync of the WAL (epoch if none yet)
  // How long the oldest local L0 file not yet on the replica has been waiting (0 when in sync).
  milliseconds lag{0};
  std::string last_error;
};

// The outcome of Store::SyncNow.
struct SyncResult {
  TXID txid = 0;             // local position after the sync
  TXID replicated_txid = 0;  // the replica's position when SyncNow returned
};

class Store {
 public:
  Store(StoreOptions options, Logger logger, FileSystem* fs = FileSystem::Default(),
        Clock* clock = Clock::Real());
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens every database and starts its jobs. A database that fails to open is logged and skipped; Open
  // fails only if none could be opened.
  Status Open(std::vector<DbEntry> entries);
  // Stops the jobs, then does a final sync and upload of every database, retrying until
  // shutdown_sync_timeout. Returns the first error that survived the retries.
  Status Close();
  // Close() with another retry budget for the final sync (the library's stop(deadline)).
  Status Close(milliseconds final_sync_timeout);
  // Makes a Close() in progress give up its final-sync retries (a second Ctrl-C). Thread-safe.
  void InterruptShutdown();

  Status AddDatabase(DbEntry entry);
  Status RemoveDatabase(const std::string& path);

  // One full pass for every database: sync all WAL frames and upload everything (for -once and tests).
  Status SyncAll();
  // Writes a level-9 snapshot of every database now, even if one exists at the same TXID.
  Status SnapshotAll();
  // Compacts level `level` (1..n) of every database now, ignoring the schedule.
  Status CompactAll(int level);
  // Snapshot retention and L0 retention for every database now.
  Status EnforceRetentionAll();

  std::vector<DbStatus> Statuses() const;
  Result<DbStatus> StatusOf(const std::string& path) const;
  std::vector<std::string> Paths() const;

  // Syncs every commit made before the call into an L0 file (a sync that starts after the call, run by
  // the database's own sync job); with `upload`, also waits until the replica holds it. Many concurrent
  // callers share one sync and one upload (group commit). Timeout after `timeout`.
  Result<SyncResult> SyncNow(const std::string& path, bool upload, milliseconds timeout);
  // Waits until the replica holds `txid` (kicking the upload). Timeout after `timeout`.
  Status WaitReplicated(const std::string& path, TXID txid, milliseconds timeout);

 private:
  struct DbHandle;
  class Watcher;

  Status OpenDatabase(DbEntry entry, std::shared_ptr<DbHandle>* out);
  void StartJobs(const std::shared_ptr<DbHandle>& h);
  void StopJobs(DbHandle& h);
  Status FinalSync(DbHandle& h, milliseconds timeout);
  std::shared_ptr<DbHandle> Find(const std::string& path) const;
  void MarkRemoved(DbHandle& h);
  DbStatus StatusOfHandle(DbHandle& h) const;
  Status WaitReplicatedUntil(DbHandle& h, TXID txid, SteadyTime deadline);

  // Database::Sync, recovering from a corrupt local L0 (reset + catch up with the replica + snapshot).
  Result<int> SyncDatabase(DbHandle& h);
  SteadyTime RunSync(DbHandle& h);
  SteadyTime RunHandOff(DbHandle& h);
  SteadyTime RunUpload(DbHandle& h);
  SteadyTime RunCompaction(DbHandle& h, int level);
  SteadyTime RunSnapshot(DbHandle& h);
  SteadyTime RunL0Retention(DbHandle& h);

  // Merges the new files of level-1 into one level file. Returns an empty info (max_txid 0) when there is
  // nothing to do or, with respect_schedule, when the level was already compacted since its last boundary.
  Result<LtxFileInfo> Compact(DbHandle& h, int level, bool respect_schedule);
  std::vector<std::shared_ptr<DbHandle>> Handles() const;
  Result<LtxFileInfo> Snapshot(DbHandle& h);
  Status EnforceSnapshotRetention(DbHandle& h);
  Status EnforceL0Retention(DbHandle& h);
  Status CheckReplicaIntact(DbHandle& h, TXID uploaded, const std::vector<LtxFileInfo>& l0, TXID max_l1);
  Result<LtxFileInfo> MaxFileInfo(DbHandle& h, int level);
  milliseconds LevelInterval(int level) const;

  const StoreOptions options_;
  Logger logger_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Watcher> watcher_;

  std::stop_source stop_;  // interrupts retry waits on Close()
  std::atomic<bool> shutdown_interrupted_{false};

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<DbHandle>> dbs_;
};

// Go's Time.Truncate(d) for wall-clock aligned schedules: multiples of d counted from 0001-01-01 UTC.
SystemTime PrevCompactionAt(SystemTime now, milliseconds interval);
SystemTime NextCompactionAt(SystemTime now, milliseconds interval);

}  // namespace litestream
