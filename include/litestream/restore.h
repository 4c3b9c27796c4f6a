// Restore: rebuild a SQLite database file from a replica (ENGINE.md §5, §6).
//
//  - CalcRestorePlan picks the LTX files (a level-9 snapshot, then the longest contiguous chain over
//    levels 8..0) that reach a TXID, a point in time, or the latest state.
//  - Restore streams those files through the LTX merge into <output>.tmp, fsyncs it and renames it into
//    place. Memory stays bounded by the number of plan files, never by the database size.
//  - Follow mode keeps applying new files to the restored copy in place (a read replica, like `tail -f`).
//  - Replicas written by Litestream v0.3.x (the generations/ layout) are restored through SQLite itself.
//
// Errors are values. Every error names the file (level, TXID range) or path involved. On any failure no
// output file and no <output>.tmp is left behind; an existing output is only replaced with `force`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/io.h"
#include "litestream/log.h"
#include "litestream/status.h"
#include "litestream/storage.h"

namespace litestream {

class FileSystem;  // src/util/file_system.h

// ---------------------------------------------------------------------------------------------------
// Errors

// Upstream's ErrTxNotAvailable: the replica has no set of files that reaches the requested state (no
// files at all, or nothing up to the requested TXID / before the timestamp). Code kNotFound; the message
// starts with "transaction not available".
Status TxNotAvailableError(std::string_view detail);
bool IsTxNotAvailable(const Status& status);

// Upstream's ErrNoSnapshots for v0.3 data: code kNotFound, message starts with "no snapshots available".
Status NoV3SnapshotsError(std::string_view detail);
bool IsNoV3Snapshots(const Status& status);

// ---------------------------------------------------------------------------------------------------
// Plans (ENGINE.md §5.3)

// Every level a restore looks at, whatever the configuration: 0..8 and the snapshot level 9.
constexpr int kRestoreLevelCount = kSnapshotLevel + 1;

struct RestorePlan {
  // In apply order: an optional level-9 snapshot, then files that each extend the TXID range
  // (F2.min <= F1.max + 1 and F2.max > F1.max).
  std::vector<LtxFileInfo> files;

  TXID min_txid() const { return files.empty() ? 0 : files.front().min_txid; }
  TXID max_txid() const { return files.empty() ? 0 : files.back().max_txid; }
};

// The listings the plan is computed from: levels[i] holds the files of level i in (min, max) order.
struct ReplicaListing {
  std::vector<LtxFileInfo> levels[kRestoreLevelCount];
};

// Lists all ten levels. use_metadata asks backends for the LTX header timestamp (timestamp restores).
Result<ReplicaListing> ListReplica(StorageClient& client, bool use_metadata);

// The pure plan computation over a listing (no I/O). txid 0 means "no TXID bound"; a timestamp selects
// files with created_at strictly before it. With neither, a gap that no level bridges is an error
// ("non-contiguous ltx files"). Returns a TxNotAvailableError when nothing (or not enough) is available.
Result<RestorePlan> CalcRestorePlanFromListing(const ReplicaListing& listing, TXID txid,
                                               std::optional<SystemTime> timestamp);

// Lists the replica (use_metadata = timestamp set) and computes the plan. InvalidArgument if both a
// txid and a timestamp are given.
Result<RestorePlan> CalcRestorePlan(StorageClient& client, TXID txid, std::optional<SystemTime> timestamp,
                                    const Logger& logger = Logger());

// ---------------------------------------------------------------------------------------------------
// Legacy v0.3.x replicas (ENGINE.md §6): <root>/generations/<16 hex>/{snapshots,wal}/...

struct V3SnapshotInfo {
  std::string generation;
  int64_t index = 0;  // the WAL index the snapshot was taken at
  int64_t size = 0;
  SystemTime created_at{};
};

struct V3WALSegmentInfo {
  std::string generation;
  int64_t index = 0;  // the WAL file (0 ..= INT32_MAX)
  int64_t offset = 0;
  int64_t size = 0;
  SystemTime created_at{};
};

// The listing and reading a backend must offer for v0.3 restores. The file backend's implementation is
// NewFileV3ReplicaClient; an S3 backend implements the same interface over its keys (generations are
// listed with the "/" delimiter). A StorageClient may also inherit this interface: Restore() finds it
// with dynamic_cast when RestoreOptions::v3_client is not set.
class V3ReplicaClient {
 public:
  virtual ~V3ReplicaClient() = default;
  // Generation IDs (names matching ^[0-9a-f]{16}$), sorted. No generations/ directory: an empty list.
  virtual Result<std::vector<std::string>> Generations() = 0;
  // Snapshots of one generation, sorted by index. Names that do not parse are skipped.
  virtual Result<std::vector<V3SnapshotInfo>> Snapshots(const std::string& generation) = 0;
  // WAL segments of one generation, sorted by (index, offset). Names that do not parse are skipped.
  virtual Result<std::vector<V3WALSegmentInfo>> WALSegments(const std::string& generation) = 0;
  // The raw (LZ4-frame compressed) bytes of a snapshot or a segment. NotFound if it does not exist.
  virtual Result<std::unique_ptr<Reader>> OpenSnapshot(const std::string& generation, int64_t index) = 0;
  virtual Result<std::unique_ptr<Reader>> OpenWALSegment(const std::string& generation, int64_t index,
                                                         int64_t offset) = 0;
};

// v0.3 data under a local directory (the file backend's root). fs null: FileSystem::Default().
std::unique_ptr<V3ReplicaClient> NewFileV3ReplicaClient(std::string root, FileSystem* fs = nullptr);

// v0.3 names (ENGINE.md §6.1), matched exactly:
//   generation  ^[0-9a-f]{16}$
//   snapshot    ^([0-9a-f]{8})\.snapshot\.lz4$               index: any 8 hex digits
//   WAL segment ^([0-9a-f]{8})_([0-9a-f]{8,16})\.wal\.lz4$    index: a signed 32-bit value ("f2345678" is
//               rejected); offset: a signed 64-bit value ("f234567812345678" is rejected). Offsets have 8 to
//               16 digits because %08x is a minimum width and offsets past 4 GiB need more (#1442).
bool IsGenerationIDV3(std::string_view name);
bool ParseSnapshotFilenameV3(std::string_view name, int64_t* index);
bool ParseWALSegmentFilenameV3(std::string_view name, int64_t* index, int64_t* offset);
std::string FormatSnapshotFilenameV3(int64_t index);                    // "%08x.snapshot.lz4"
std::string FormatWALSegmentFilenameV3(int64_t index, int64_t offset);  // "%08x_%08x.wal.lz4"

// ---------------------------------------------------------------------------------------------------
// Time bounds (URL-mode restores check the timestamp first, ENGINE.md §5.1)

struct ReplicaTimeBounds {
  std::optional<SystemTime> created_at;  // the oldest CreatedAt of any file; nullopt: no files
  std::optional<SystemTime> updated_at;  // the newest
};

// Over every LTX level (9..0).
// use_metadata: the LTX header timestamps (as the restore plan uses them) rather than the storage's
// modification times, which on object storage trail them by each file's upload time.
Result<ReplicaTimeBounds> CalcTimeBounds(StorageClient& client, bool use_metadata = false);
// Over every v0.3 snapshot and WAL segment.
Result<ReplicaTimeBounds> CalcTimeBoundsV3(V3ReplicaClient& client);

// Returns the newest CreatedAt over LTX and (if v3 is not null) v0.3 data. With a timestamp, fails with
// FailedPrecondition "no backups found" when there is no file at all, and "timestamp does not exist" when
// the timestamp is outside [oldest, newest]. Without a timestamp and without files, returns the epoch.
Result<SystemTime> CalcRestoreTarget(StorageClient& client, V3ReplicaClient* v3,
                                     std::optional<SystemTime> timestamp);

// ---------------------------------------------------------------------------------------------------
// Restore

enum class IntegrityCheck { kNone, kQuick, kFull };
std::string_view IntegrityCheckName(IntegrityCheck mode);  // "none", "quick", "full"
bool ParseIntegrityCheck(std::string_view text, IntegrityCheck* out);

// Runs PRAGMA quick_check / integrity_check on `path` through SQLite; OK only if the answer is "ok"
// (Corruption with SQLite's first answer lines otherwise). kNone is a no-op.
Status CheckIntegrity(const std::string& path, IntegrityCheck mode);

enum class RestoreSource { kLtx, kV3 };
std::string_view RestoreSourceName(RestoreSource source);  // "ltx", "v0.3"

// Retry policy of the readers that stream plan files (ENGINE.md §5.4): after an error or a premature
// end of file, a file is reopened at the current offset up to max_retries times, waiting backoff[i]
// before attempt i+1. NotFound and cancellation are never retried.
struct ReadRetryPolicy {
  int max_retries = 3;
  std::vector<std::chrono::milliseconds> backoff = {
      std::chrono::milliseconds(250), std::chrono::milliseconds(500), std::chrono::milliseconds(1000)};
};

struct RestoreOptions {
  // Required: where the database is written. Its parent directory is created if missing.
  std::string output_path;

  // Target; at most one of the two. 0 / nullopt: the latest state.
  TXID txid = 0;
  std::optional<SystemTime> timestamp;

  // Return kSkippedOutputExists (no error) if the output path exists (anything but ENOENT).
  bool if_db_not_exists = false;
  // Return kSkippedNoBackups (no error) when the replica has no matching backup (IsTxNotAvailable).
  bool if_replica_exists = false;
  // Allow replacing a non-empty output and existing -wal/-shm/-journal sidecars. They are removed only
  // once the new database is complete (just before the rename), so a failed restore touches nothing.
  // Without it those are an error; an empty (0-byte) output is always replaced.
  bool force = false;
  // Check the restored file through SQLite. On failure the output and its -wal/-shm are removed.
  IntegrityCheck integrity_check = IntegrityCheck::kNone;
  // URL-mode restores (ENGINE.md §5.1): check the timestamp against CalcRestoreTarget first.
  bool check_timestamp_bounds = false;
  // Compute the plan and return it without writing anything.
  bool dry_run = false;
  // Accepted for CLI compatibility and unused, as upstream (every plan file is streamed at once).
  int parallelism = 8;

  // The DB path or replica URL as the user gave it; reported as "source" by dry runs.
  std::string source_label;

  // Follow mode (ENGINE.md §5.5): after the initial restore, keep applying new LTX files until `stop` is
  // requested. Not allowed with txid or timestamp. Resumes from <output>-txid if the output exists.
  bool follow = false;
  std::chrono::milliseconds follow_interval{1000};
  // Called with the TXID the copy is at: once the initial restore is done (or resumed), then after every
  // poll that applied something (tests, progress output). Runs on the restoring thread.
  std::function<void(TXID)> on_follow_applied;

  // Cancels follow mode and any retry wait. Checked between files and between polls.
  std::stop_token stop;

  // Hooks. fs null: FileSystem::Default(). sleep null: a real sleep that returns early on `stop`.
  FileSystem* fs = nullptr;
  std::function<void(std::chrono::milliseconds)> sleep;
  ReadRetryPolicy read_retry;
  // v0.3 data source. Null: the StorageClient itself if it implements V3ReplicaClient, else a file-backend
  // client over the StorageClient's root when its Type() is "file", else none (LTX only).
  V3ReplicaClient* v3_client = nullptr;

  Logger logger;
};

struct RestoreResult {
  enum class Outcome {
    kRestored,             // the output was written (follow mode: and followed until stopped)
    kDryRun,               // plan computed, nothing written
    kSkippedOutputExists,  // if_db_not_exists and the output exists
    kSkippedNoBackups,     // if_replica_exists and nothing to restore
  };
  Outcome outcome = Outcome::kRestored;
  RestoreSource format = RestoreSource::kLtx;  // the data that was (would be) restored
  std::string source;                          // RestoreOptions::source_label
  std::string db_path;                         // the output path
  std::string replica;                         // StorageClient::Type(): "file", "s3", ...
  std::string replica_location;                // StorageClient::Describe()
  TXID txid = 0;  // the restored TXID (follow mode: the last applied); 0 for v0.3 data
  std::chrono::milliseconds duration{0};
  IntegrityCheck integrity_check = IntegrityCheck::kNone;  // the check that ran and passed
  RestorePlan plan;  // the LTX plan that was (or, for dry runs, would be) applied
  // v0.3 data: the snapshot and segments that were (would be) applied.
  std::optional<V3SnapshotInfo> v3_snapshot;
  std::vector<V3WALSegmentInfo> v3_segments;
};

// Restores from `client` per `options`. Thread-compatible: concurrent restores need distinct outputs.
Result<RestoreResult> Restore(StorageClient& client, const RestoreOptions& options);

// JSON documents for `restore -json` ({db_path,replica,txid,duration_ms,integrity_check}) and
// `restore -dry-run -json` ({source,target_path,replica,min_txid,max_txid,files[]}); TXIDs are 16-digit
// hex strings, times RFC 3339 UTC with milliseconds.
std::string RestoreResultJson(const RestoreResult& result);
std::string RestorePlanJson(const RestoreResult& result);
// A human-readable plan table for `restore -dry-run`.
std::string RestorePlanText(const RestoreResult& result);

// The follow-mode sidecar: <output>-txid holds 16 hex digits and "\n" (written atomically).
std::string TXIDSidecarPath(const std::string& output_path);
Status WriteTXIDSidecar(FileSystem& fs, const std::string& output_path, TXID txid);
// NotFound if the sidecar does not exist; Corruption if it does not hold exactly one TXID.
Result<TXID> ReadTXIDSidecar(FileSystem& fs, const std::string& output_path);

}  // namespace litestream
