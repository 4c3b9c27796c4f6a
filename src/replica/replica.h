// The upload side of one (database, replica) pair: copies local L0 files to the replica in TXID order
// (ENGINE.md §3.8). The replica position is the newest remote L0 TXID, listed lazily and re-listed after
// any error, so a restart or a failed upload never skips or duplicates a TXID.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "db/database.h"
#include "litestream/log.h"
#include "litestream/storage.h"

namespace litestream {

struct ReplicaOptions {
  std::chrono::milliseconds sync_interval{1000};  // upper bound between upload attempts while behind
  int max_sync_ltx_files = 256;                   // uploads per batch; 0 = unlimited
  bool auto_recover = false;                      // reset local state on a missing or corrupt local L0
};

class Replica {
 public:
  Replica(Database* db, std::shared_ptr<StorageClient> client, ReplicaOptions options, Logger logger);

  StorageClient& client() { return *client_; }
  const std::shared_ptr<StorageClient>& shared_client() const { return client_; }
  const ReplicaOptions& options() const { return options_; }

  // Uploads the local L0 files after the replica position, up to max_sync_ltx_files unless `unlimited`.
  // Returns true if the batch cap stopped it with files left to upload.
  Result<bool> Sync(bool unlimited = false);

  // The replica position (newest remote L0 TXID; 0 for an empty replica).
  Result<TXID> Pos();
  // The last known position without a remote request (0 if unknown).
  TXID CachedPos() const;
  SystemTime last_successful_sync() const;
  // Forgets the cached position so the next Sync lists the replica again (after the replica was found
  // to have lost files).
  void ResetPos();
  // Writes a level-9 snapshot of the database's current position and the matching L0, making that the
  // replica position (for a replica that lost files).
  Status Rebase();

 private:
  Result<TXID> PosLocked();
  // Writes a level-9 snapshot of the database's current position and the matching L0, making that the
  // replica position. Returns it.
  Result<TXID> RebaseLocked();

  Database* const db_;
  const std::shared_ptr<StorageClient> client_;
  const ReplicaOptions options_;
  Logger logger_;

  mutable std::mutex mu_;
  std::optional<TXID> pos_;
  SystemTime last_success_{};
};

}  // namespace litestream
