// Restoring a Litestream v0.3.x replica (ENGINE.md §6.2): decompress the chosen snapshot, then replay the
// generation's WAL segments index by index through SQLite (<tmp>-wal + PRAGMA wal_checkpoint(TRUNCATE)).
// SQLite validates every WAL frame and commit itself, so torn or uncommitted tails are ignored.
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "litestream/restore.h"
#include "util/file_system.h"

namespace litestream {

struct V3Plan {
  V3SnapshotInfo snapshot;
  std::vector<V3WALSegmentInfo>
      segments;  // of snapshot.generation, index >= snapshot.index, (index, offset) order
};

// The latest snapshot over all generations, or the latest with created_at <= timestamp. nullopt if none.
Result<std::optional<V3SnapshotInfo>> FindBestV3Snapshot(V3ReplicaClient& client,
                                                         std::optional<SystemTime> timestamp);

// The snapshot and the segments to replay. NoV3SnapshotsError if there is no (matching) snapshot.
Result<V3Plan> CalcV3Plan(V3ReplicaClient& client, std::optional<SystemTime> timestamp);

// Writes the restored database to `tmp_path`, using `tmp_path`-wal as SQLite's WAL. Checks WAL continuity:
// each new index (offset 0) must be the next one ("missing WAL index"), and each later segment must start
// where the previous one ended ("missing WAL segment"). On failure removes tmp_path and its -wal/-shm.
Status ApplyV3Plan(V3ReplicaClient& client, FileSystem& fs, const V3Plan& plan, const std::string& tmp_path,
                   const std::stop_token& stop);

}  // namespace litestream
