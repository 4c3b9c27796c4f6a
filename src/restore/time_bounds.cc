// Replica time bounds and the URL-mode timestamp check (ENGINE.md §5.1).
#include <string>

#include "litestream/restore.h"
#include "restore/describe.h"

namespace litestream {
namespace {

void Extend(ReplicaTimeBounds& bounds, SystemTime t) {
  if (!bounds.created_at || t < *bounds.created_at) bounds.created_at = t;
  if (!bounds.updated_at || t > *bounds.updated_at) bounds.updated_at = t;
}

void Merge(ReplicaTimeBounds& into, const ReplicaTimeBounds& from) {
  if (from.created_at) Extend(into, *from.created_at);
  if (from.updated_at) Extend(into, *from.updated_at);
}

}  // namespace

Result<ReplicaTimeBounds> CalcTimeBounds(StorageClient& client, bool use_metadata) {
  ReplicaTimeBounds bounds;
  for (int level = kSnapshotLevel; level >= 0; --level) {
    auto files = client.List(level, 0, use_metadata);
    if (!files.ok()) return files.status().WithContext("list level " + std::to_string(level));
    for (const LtxFileInfo& info : *files) Extend(bounds, info.created_at);
  }
  return bounds;
}

Result<ReplicaTimeBounds> CalcTimeBoundsV3(V3ReplicaClient& client) {
  ReplicaTimeBounds bounds;
  LS_ASSIGN_OR_RETURN(std::vector<std::string> generations, client.Generations());
  for (const std::string& generation : generations) {
    LS_ASSIGN_OR_RETURN(std::vector<V3SnapshotInfo> snapshots, client.Snapshots(generation));
    for (const V3SnapshotInfo& info : snapshots) Extend(bounds, info.created_at);
    LS_ASSIGN_OR_RETURN(std::vector<V3WALSegmentInfo> segments, client.WALSegments(generation));
    for (const V3WALSegmentInfo& info : segments) Extend(bounds, info.created_at);
  }
  return bounds;
}

Result<SystemTime> CalcRestoreTarget(StorageClient& client, V3ReplicaClient* v3,
                                     std::optional<SystemTime> timestamp) {
  // A timestamp is checked against the times the plan will use: a file's header timestamp, not its
  // upload time (upstream compares with the upload time and so refuses timestamps of the last seconds
  // before a slow upload that the plan could restore).
  LS_ASSIGN_OR_RETURN(ReplicaTimeBounds bounds, CalcTimeBounds(client, timestamp.has_value()));
  if (v3 != nullptr) {
    auto v3_bounds = CalcTimeBoundsV3(*v3);
    if (!v3_bounds.ok()) return v3_bounds.status().WithContext("v0.3 time bounds");
    Merge(bounds, *v3_bounds);
  }
  if (timestamp) {
    if (!bounds.created_at) return Status::FailedPrecondition("no backups found");
    if (*timestamp < *bounds.created_at || *timestamp > *bounds.updated_at) {
      return Status::FailedPrecondition("timestamp does not exist");
    }
  }
  return bounds.updated_at.value_or(SystemTime{});
}

}  // namespace litestream
