// Restore(): option checks, output-path rules, the LTX-vs-v0.3 choice (ENGINE.md §5.1, §5.2), then the
// plan, the apply into <output>.tmp, the rename, the integrity check and follow mode.
#include "litestream/restore.h"

#include <chrono>

#include "restore/describe.h"
#include "restore/follow.h"
#include "restore/ltx_apply.h"
#include "restore/resumable_reader.h"
#include "restore/v3_restore.h"
#include "storage/file/file_storage.h"
#include "util/file_system.h"

namespace litestream {
namespace {

constexpr uint32_t kOutputDirMode = 0700;
const char* const kSidecarSuffixes[] = {"-wal", "-shm", "-journal"};

Status ValidateOptions(const RestoreOptions& o) {
  if (o.output_path.empty()) return Status::InvalidArgument("output path required");
  if (o.txid != 0 && o.timestamp)
    return Status::InvalidArgument("cannot restore to both a TXID and a timestamp");
  if (o.follow && o.txid != 0) return Status::InvalidArgument("cannot use follow mode with a TXID");
  if (o.follow && o.timestamp) return Status::InvalidArgument("cannot use follow mode with a timestamp");
  if (o.follow && o.dry_run) return Status::InvalidArgument("cannot use a dry run with follow mode");
  if (o.follow_interval.count() < 0) return Status::InvalidArgument("follow interval must not be negative");
  return Status::OK();
}

Status RemoveIfExists(FileSystem& fs, const std::string& path) {
  Status s = fs.Remove(path);
  return s.IsNotFound() ? Status::OK() : s;
}

// The output rules of `restore` without follow: a non-empty output or any SQLite sidecar needs `force`.
Status CheckOutputPath(FileSystem& fs, const std::string& out, bool force) {
  auto info = fs.Stat(out);
  if (info.ok()) {
    if (info->is_dir) return Status::FailedPrecondition("cannot restore, output path is a directory: " + out);
    if (info->size > 0 && !force) {
      return Status::FailedPrecondition("cannot restore, output path already exists and is not empty: " +
                                        out + " (use force to overwrite)");
    }
  } else if (!info.status().IsNotFound()) {
    return info.status().WithContext("cannot access output path");
  }
  for (const char* suffix : kSidecarSuffixes) {
    auto sidecar = fs.Stat(out + suffix);
    if (sidecar.ok() && !force) {
      return Status::FailedPrecondition("cannot restore, SQLite sidecar path already exists: " + out +
                                        suffix + " (use force to overwrite)");
    }
    if (!sidecar.ok() && !sidecar.status().IsNotFound()) {
      return sidecar.status().WithContext("cannot access SQLite sidecar path");
    }
  }
  return Status::OK();
}

// Moves the complete tmp database into place. With force, stale sidecars of the old output go first (a
// leftover -wal would otherwise be applied to the new file). A stale follow-mode -txid sidecar always goes:
// it describes the old file and would let a later `restore -f` resume from the wrong TXID.
Status PublishOutput(FileSystem& fs, const std::string& tmp, const std::string& out, bool force) {
  if (force) {
    for (const char* suffix : kSidecarSuffixes) LS_RETURN_IF_ERROR(RemoveIfExists(fs, out + suffix));
  }
  LS_RETURN_IF_ERROR(RemoveIfExists(fs, TXIDSidecarPath(out)));
  LS_RETURN_IF_ERROR(fs.Rename(tmp, out));
  return fs.SyncDir(DirName(out));
}

// After a check (pass or fail) SQLite may have left -wal/-shm files; on failure the output goes too.
Status RunIntegrityCheck(FileSystem& fs, const std::string& out, IntegrityCheck mode) {
  if (mode == IntegrityCheck::kNone) return Status::OK();
  Status check = CheckIntegrity(out, mode);
  if (!check.ok()) (void)fs.Remove(out);
  (void)fs.Remove(out + "-shm");
  (void)fs.Remove(out + "-wal");
  return check.WithContext("post-restore integrity check");
}

// Resolves where v0.3 data comes from: the option, the client itself, or the file backend's root.
V3ReplicaClient* ResolveV3Client(StorageClient& client, const RestoreOptions& o, FileSystem& fs,
                                 std::unique_ptr<V3ReplicaClient>* owned) {
  if (o.v3_client != nullptr) return o.v3_client;
  if (auto* v3 = dynamic_cast<V3ReplicaClient*>(&client)) return v3;
  if (auto* file = dynamic_cast<FileStorageClient*>(&client)) {
    *owned = NewFileV3ReplicaClient(file->root(), &fs);
    return owned->get();
  }
  return nullptr;
}

// ENGINE.md §5.2: whether v0.3 data is the better source for this restore.
Result<bool> ShouldUseV3(StorageClient& client, V3ReplicaClient& v3, std::optional<SystemTime> timestamp,
                         const Logger& logger) {
  auto v3_bounds = CalcTimeBoundsV3(v3);
  if (!v3_bounds.ok()) return v3_bounds.status().WithContext("v0.3 time bounds");
  if (!v3_bounds->updated_at) return false;
  LS_ASSIGN_OR_RETURN(ReplicaTimeBounds ltx_bounds, CalcTimeBounds(client));
  if (!ltx_bounds.updated_at) {
    logger.Debug("using v0.3 restore (no LTX backups)");
    return true;
  }
  if (timestamp) {
    LS_ASSIGN_OR_RETURN(std::optional<V3SnapshotInfo> v3_snapshot, FindBestV3Snapshot(v3, timestamp));
    auto snapshots = client.List(kSnapshotLevel, 0, true);
    if (!snapshots.ok()) return snapshots.status().WithContext("list level 9");
    const LtxFileInfo* ltx_snapshot = nullptr;
    for (const LtxFileInfo& info : *snapshots) {
      if (info.created_at < *timestamp) ltx_snapshot = &info;
    }
    bool use = v3_snapshot && (ltx_snapshot == nullptr || v3_snapshot->created_at > ltx_snapshot->created_at);
    if (use) logger.Debug("using v0.3 restore (better snapshot for timestamp)");
    return use;
  }
  bool use = *v3_bounds->updated_at > *ltx_bounds.updated_at;
  if (use) logger.Debug("using v0.3 restore (more recent backup)");
  return use;
}

class Restorer {
 public:
  Restorer(StorageClient& client, const RestoreOptions& o)
      : client_(client), o_(o), fs_(o.fs != nullptr ? *o.fs : *FileSystem::Default()) {}

  Status Run(RestoreResult* r) {
    r->source = o_.source_label;
    r->db_path = o_.output_path;
    r->replica = client_.Type();
    r->replica_location = client_.Describe();
    LS_RETURN_IF_ERROR(ValidateOptions(o_));

    if (o_.if_db_not_exists) {
      auto info = fs_.Stat(o_.output_path);
      if (info.ok() || !info.status().IsNotFound()) {
        o_.logger.Info("database already exists, skipping", {{"path", o_.output_path}});
        r->outcome = RestoreResult::Outcome::kSkippedOutputExists;
        return Status::OK();
      }
    }

    V3ReplicaClient* v3 = ResolveV3Client(client_, o_, fs_, &owned_v3_);
    if (o_.check_timestamp_bounds && o_.timestamp) {
      LS_RETURN_IF_ERROR(CalcRestoreTarget(client_, v3, o_.timestamp).status());
    }

    if (o_.follow) {
      auto exists = PathExists(fs_, o_.output_path);
      if (!exists.ok()) return exists.status().WithContext("cannot access output path");
      if (*exists) return ResumeFollow(r);
    }
    if (!o_.dry_run) LS_RETURN_IF_ERROR(CheckOutputPath(fs_, o_.output_path, o_.force));

    bool use_v3 = false;
    if (o_.txid == 0 && !o_.follow && v3 != nullptr) {
      LS_ASSIGN_OR_RETURN(use_v3, ShouldUseV3(client_, *v3, o_.timestamp, o_.logger));
    }
    Status s = use_v3 ? RestoreV3(*v3, r) : RestoreLtx(r);
    if (IsTxNotAvailable(s) && o_.if_replica_exists) {
      o_.logger.Info("no matching backups found");
      r->outcome = RestoreResult::Outcome::kSkippedNoBackups;
      return Status::OK();
    }
    return s;
  }

 private:
  std::string TmpPath() const { return o_.output_path + ".tmp"; }

  Status PrepareParent() {
    Status s = fs_.MkdirAll(DirName(o_.output_path), kOutputDirMode);
    return s.WithContext("create parent directory of " + o_.output_path);
  }

  Status RestoreLtx(RestoreResult* r) {
    r->format = RestoreSource::kLtx;
    LS_ASSIGN_OR_RETURN(r->plan, CalcRestorePlan(client_, o_.txid, o_.timestamp, o_.logger));
    r->txid = r->plan.max_txid();
    if (o_.dry_run) {
      r->outcome = RestoreResult::Outcome::kDryRun;
      return Status::OK();
    }
    LS_RETURN_IF_ERROR(ValidatePlanFileSizes(r->plan));
    LS_RETURN_IF_ERROR(PrepareParent());
    o_.logger.Info("restoring", {{"output", o_.output_path},
                                 {"files", std::to_string(r->plan.files.size())},
                                 {"txid", FormatTXID(r->txid)}});
    LtxApplyOptions apply;
    apply.retry = o_.read_retry;
    apply.sleep = o_.sleep;
    apply.stop = o_.stop;
    apply.logger = o_.logger;
    const std::string tmp = TmpPath();
    LS_RETURN_IF_ERROR(ApplyLtxPlan(client_, fs_, r->plan, tmp, apply));
    if (o_.follow) {
      Status s = SetRollbackJournalMode(tmp);
      if (!s.ok()) {
        (void)fs_.Remove(tmp);
        return s;
      }
    }
    LS_RETURN_IF_ERROR(Publish(tmp));
    LS_RETURN_IF_ERROR(RunIntegrityCheck(fs_, o_.output_path, o_.integrity_check));
    r->integrity_check = o_.integrity_check;
    if (o_.follow) return StartFollow(r->plan.max_txid(), r);
    return Status::OK();
  }

  Status RestoreV3(V3ReplicaClient& v3, RestoreResult* r) {
    r->format = RestoreSource::kV3;
    LS_ASSIGN_OR_RETURN(V3Plan plan, CalcV3Plan(v3, o_.timestamp));
    r->v3_snapshot = plan.snapshot;
    r->v3_segments = plan.segments;
    if (o_.dry_run) {
      r->outcome = RestoreResult::Outcome::kDryRun;
      return Status::OK();
    }
    LS_RETURN_IF_ERROR(PrepareParent());
    o_.logger.Info("restoring from v0.3 backup", {{"output", o_.output_path},
                                                  {"generation", plan.snapshot.generation},
                                                  {"segments", std::to_string(plan.segments.size())}});
    const std::string tmp = TmpPath();
    LS_RETURN_IF_ERROR(ApplyV3Plan(v3, fs_, plan, tmp, o_.stop).WithContext("restore v0.3 backup"));
    LS_RETURN_IF_ERROR(Publish(tmp));
    LS_RETURN_IF_ERROR(RunIntegrityCheck(fs_, o_.output_path, o_.integrity_check));
    r->integrity_check = o_.integrity_check;
    return Status::OK();
  }

  Status Publish(const std::string& tmp) {
    Status s = PublishOutput(fs_, tmp, o_.output_path, o_.force);
    if (!s.ok()) (void)fs_.Remove(tmp);
    return s.WithContext("move " + tmp + " to " + o_.output_path);
  }

  FollowOptions MakeFollowOptions() const {
    FollowOptions f;
    f.interval = o_.follow_interval.count() > 0 ? o_.follow_interval : std::chrono::milliseconds(1000);
    f.retry = o_.read_retry;
    f.sleep = o_.sleep;
    f.stop = o_.stop;
    f.on_applied = o_.on_follow_applied;
    f.logger = o_.logger;
    return f;
  }

  Status StartFollow(TXID txid, RestoreResult* r) {
    LS_RETURN_IF_ERROR(WriteTXIDSidecar(fs_, o_.output_path, txid));
    if (o_.on_follow_applied) o_.on_follow_applied(txid);
    return Follow(txid, r);
  }

  Status ResumeFollow(RestoreResult* r) {
    auto saved = ReadTXIDSidecar(fs_, o_.output_path);
    if (!saved.ok()) {
      if (saved.status().IsNotFound()) {
        return Status::FailedPrecondition(
            "cannot resume follow mode: database exists but no -txid file found; "
            "delete the database to re-restore: " +
            o_.output_path);
      }
      return saved.status().WithContext("read txid file for crash recovery");
    }
    LS_RETURN_IF_ERROR(CheckFollowResume(client_, o_.output_path, *saved));
    o_.logger.Info("resuming follow mode", {{"output", o_.output_path}, {"txid", FormatTXID(*saved)}});
    r->txid = *saved;
    if (o_.on_follow_applied) o_.on_follow_applied(*saved);
    return Follow(*saved, r);
  }

  Status Follow(TXID txid, RestoreResult* r) {
    TXID last = txid;
    Status s = RunFollow(client_, fs_, o_.output_path, txid, MakeFollowOptions(), &last);
    r->txid = last;
    return s;
  }

  StorageClient& client_;
  const RestoreOptions& o_;
  FileSystem& fs_;
  std::unique_ptr<V3ReplicaClient> owned_v3_;
};

}  // namespace

std::string_view RestoreSourceName(RestoreSource source) {
  return source == RestoreSource::kV3 ? "v0.3" : "ltx";
}

Result<RestoreResult> Restore(StorageClient& client, const RestoreOptions& options) {
  auto start = std::chrono::steady_clock::now();
  RestoreResult result;
  Status s = Restorer(client, options).Run(&result);
  result.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (!s.ok()) return s.WithContext("restore " + options.output_path);
  return result;
}

}  // namespace litestream
