// Follow mode (ENGINE.md §5.5): keep a restored database current by applying new LTX files in place.
//
// Each poll lists level 0 from the current TXID + 1 and applies every file that continues the chain; a gap
// in level 0 (files compacted away) is bridged with files from levels 1..8. Applying one file:
//   1. stream it into a local spool file and decode it completely, verifying its file checksum, BEFORE any
//      page touches the database (upstream verifies only after writing, so a corrupt file is applied in
//      part);
//   2. take SQLite's EXCLUSIVE lock by hand (write locks on the PENDING byte and the SHARED range);
//   3. write each page at (pgno - 1) * page size; page 1 gets bytes 18/19 = 1 (rollback journal mode) and a
//      random change counter (bytes 24..27) so readers drop their caches;
//   4. truncate to Commit * page size, fsync, unlock;
// then the <output>-txid sidecar is updated atomically.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

#include "litestream/restore.h"
#include "restore/resumable_reader.h"
#include "util/file_system.h"

namespace litestream {

struct FollowOptions {
  std::chrono::milliseconds interval{1000};
  ReadRetryPolicy retry;
  ResumableReader::SleepFn sleep;  // retry backoff; null: InterruptibleSleep
  // Waits between polls; returns early on stop. Null: InterruptibleSleep(interval, stop).
  std::function<void(std::chrono::milliseconds, const std::stop_token&)> wait;
  std::stop_token stop;
  std::function<void(TXID)> on_applied;
  Logger logger;
  // How long to try for the exclusive lock on each apply before giving up until the next poll.
  std::chrono::milliseconds lock_timeout{5000};
};

// Checks, before resuming, that `saved_txid` (from the sidecar) can continue on this replica: the replica
// must not be behind it (a reset or replaced replica), and some file of levels 0..8 must continue it when
// the replica is ahead (otherwise retention pruned the history). FailedPrecondition with a hint otherwise.
Status CheckFollowResume(StorageClient& client, const std::string& output_path, TXID saved_txid);

// Switches page 1 of the database at `path` to rollback-journal mode (bytes 18/19 = 1), as follow mode
// keeps the copy. Used on the initial restore's tmp file before it is renamed into place.
Status SetRollbackJournalMode(const std::string& path);

// Polls and applies until `stop` is requested. Returns OK on a clean stop with *last_txid set to the last
// applied TXID; returns an error only for failures that retrying cannot fix (the output vanished, the
// sidecar cannot be written). Per-poll errors (storage down, a corrupt file) are logged and retried.
Status RunFollow(StorageClient& client, FileSystem& fs, const std::string& output_path, TXID txid,
                 const FollowOptions& options, TXID* last_txid);

// One poll: applies every available file after *txid, advancing *txid (and the sidecar) after each file,
// also when a later file fails. Exposed for tests.
Status FollowPollOnce(StorageClient& client, FileSystem& fs, const std::string& output_path, TXID* txid,
                      const FollowOptions& options);

}  // namespace litestream
