#include "restore/v3_restore.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "db/sqlite_conn.h"
#include "restore/lz4_frame_reader.h"

namespace litestream {
namespace {

std::string Hex8(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

std::string SnapshotName(const V3SnapshotInfo& s) {
  return "generations/" + s.generation + "/snapshots/" + FormatSnapshotFilenameV3(s.index);
}

std::string SegmentName(const V3WALSegmentInfo& s) {
  return "generations/" + s.generation + "/wal/" + FormatWALSegmentFilenameV3(s.index, s.offset);
}

// Streams the decompressed contents of `reader` into `out`; returns the byte count.
Result<uint64_t> CopyTo(Reader& reader, WritableFile& out, const std::stop_token& stop) {
  std::vector<uint8_t> chunk(256 * 1024);
  uint64_t total = 0;
  for (;;) {
    if (stop.stop_requested()) return Status::Cancelled("restore cancelled");
    LS_ASSIGN_OR_RETURN(size_t got, reader.Read(chunk.data(), chunk.size()));
    if (got == 0) return total;
    LS_RETURN_IF_ERROR(out.Write(chunk.data(), got));
    total += got;
  }
}

// Applies <db>-wal to <db> through SQLite and leaves neither -wal nor -shm behind.
Status CheckpointWAL(FileSystem& fs, const std::string& db_path) {
  {
    LS_ASSIGN_OR_RETURN(SqliteConn conn, SqliteConn::Open(db_path, std::chrono::seconds(5)));
    auto busy = conn.QueryInt("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!busy.ok()) return busy.status().WithContext("checkpoint " + db_path);
    if (*busy != 0) return Status::Busy("checkpoint " + db_path + ": WAL checkpoint did not complete");
    conn.Close();
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    Status s = fs.Remove(db_path + suffix);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

void RemoveQuietly(FileSystem& fs, const std::string& path) { (void)fs.Remove(path); }

class V3Applier {
 public:
  V3Applier(V3ReplicaClient& client, FileSystem& fs, const std::string& tmp_path, const std::stop_token& stop)
      : client_(client), fs_(fs), tmp_path_(tmp_path), wal_path_(tmp_path + "-wal"), stop_(stop) {}

  Status Run(const V3Plan& plan) {
    LS_RETURN_IF_ERROR(WriteSnapshot(plan.snapshot));
    int64_t expected = plan.snapshot.index;
    for (const V3WALSegmentInfo& seg : plan.segments) {
      if (stop_.stop_requested()) return Status::Cancelled("restore cancelled");
      if (seg.offset == 0) {
        LS_RETURN_IF_ERROR(ApplyCurrentWAL());
        if (seg.index != expected) {
          return Status::Corruption("missing WAL index: expected " + Hex8(expected) + ", found " +
                                    SegmentName(seg));
        }
        LS_ASSIGN_OR_RETURN(wal_, fs_.Create(wal_path_));
        wal_index_ = seg.index;
        wal_size_ = 0;
        ++expected;
      } else if (wal_ == nullptr || seg.index != wal_index_ || seg.offset != wal_size_) {
        std::string want = wal_ == nullptr || seg.index != wal_index_
                               ? FormatWALSegmentFilenameV3(seg.index, 0)
                               : FormatWALSegmentFilenameV3(wal_index_, wal_size_);
        return Status::Corruption("missing WAL segment: expected " + want + " before " + SegmentName(seg));
      }
      LS_ASSIGN_OR_RETURN(auto raw, client_.OpenWALSegment(seg.generation, seg.index, seg.offset));
      Lz4FrameReader reader(std::move(raw), SegmentName(seg));
      auto n = CopyTo(reader, *wal_, stop_);
      if (!n.ok()) return n.status().WithContext("write " + wal_path_);
      wal_size_ += static_cast<int64_t>(*n);
    }
    return ApplyCurrentWAL();
  }

  ~V3Applier() {
    if (wal_ != nullptr) (void)wal_->Close();
  }

 private:
  Status WriteSnapshot(const V3SnapshotInfo& snap) {
    RemoveQuietly(fs_, wal_path_);
    RemoveQuietly(fs_, tmp_path_ + "-shm");
    LS_ASSIGN_OR_RETURN(auto raw, client_.OpenSnapshot(snap.generation, snap.index));
    Lz4FrameReader reader(std::move(raw), SnapshotName(snap));
    LS_ASSIGN_OR_RETURN(auto out, fs_.Create(tmp_path_));
    auto n = CopyTo(reader, *out, stop_);
    if (!n.ok()) return n.status().WithContext("write " + tmp_path_);
    LS_RETURN_IF_ERROR(out->Sync());
    return out->Close();
  }

  Status ApplyCurrentWAL() {
    if (wal_ == nullptr) return Status::OK();
    Status s = wal_->Sync();
    if (s.ok()) s = wal_->Close();
    wal_.reset();
    LS_RETURN_IF_ERROR(s);
    return CheckpointWAL(fs_, tmp_path_).WithContext("apply WAL index " + Hex8(wal_index_));
  }

  V3ReplicaClient& client_;
  FileSystem& fs_;
  std::string tmp_path_;
  std::string wal_path_;
  const std::stop_token& stop_;
  std::unique_ptr<WritableFile> wal_;
  int64_t wal_index_ = 0;
  int64_t wal_size_ = 0;
};

}  // namespace

Result<std::optional<V3SnapshotInfo>> FindBestV3Snapshot(V3ReplicaClient& client,
                                                         std::optional<SystemTime> timestamp) {
  std::vector<V3SnapshotInfo> all;
  auto generations = client.Generations();
  if (!generations.ok()) return generations.status().WithContext("list v0.3 generations");
  for (const std::string& generation : *generations) {
    auto snapshots = client.Snapshots(generation);
    if (!snapshots.ok())
      return snapshots.status().WithContext("list v0.3 snapshots of generation " + generation);
    all.insert(all.end(), snapshots->begin(), snapshots->end());
  }
  std::stable_sort(all.begin(), all.end(), [](const V3SnapshotInfo& a, const V3SnapshotInfo& b) {
    return a.created_at < b.created_at;
  });
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!timestamp || it->created_at <= *timestamp) return std::optional<V3SnapshotInfo>(*it);
  }
  return std::optional<V3SnapshotInfo>();
}

Result<V3Plan> CalcV3Plan(V3ReplicaClient& client, std::optional<SystemTime> timestamp) {
  LS_ASSIGN_OR_RETURN(std::optional<V3SnapshotInfo> snapshot, FindBestV3Snapshot(client, timestamp));
  if (!snapshot) return NoV3SnapshotsError(timestamp ? "no v0.3 snapshot at or before the timestamp" : "");
  V3Plan plan;
  plan.snapshot = *snapshot;
  auto segments = client.WALSegments(snapshot->generation);
  if (!segments.ok())
    return segments.status().WithContext("list v0.3 WAL segments of generation " + snapshot->generation);
  for (const V3WALSegmentInfo& seg : *segments) {
    if (seg.index < snapshot->index) continue;
    if (timestamp && seg.created_at > *timestamp) continue;
    plan.segments.push_back(seg);
  }
  return plan;
}

Status ApplyV3Plan(V3ReplicaClient& client, FileSystem& fs, const V3Plan& plan, const std::string& tmp_path,
                   const std::stop_token& stop) {
  Status s;
  {
    V3Applier applier(client, fs, tmp_path, stop);
    s = applier.Run(plan);
  }
  if (!s.ok()) {
    for (const char* suffix : {"", "-wal", "-shm"}) RemoveQuietly(fs, tmp_path + suffix);
  }
  return s;
}

}  // namespace litestream
