// Restore plan computation (ENGINE.md §5.3): a base snapshot from level 9, then greedy chaining over
// levels 8..0 that always takes the file reaching furthest.
#include <optional>
#include <string>

#include "litestream/restore.h"
#include "restore/describe.h"

namespace litestream {
namespace {

// True if `next` is a better continuation than `current`: larger MaxTXID, then smaller MinTXID, then a
// higher level, then an earlier CreatedAt.
bool BetterCandidate(const LtxFileInfo& current, const LtxFileInfo& next) {
  if (next.max_txid != current.max_txid) return next.max_txid > current.max_txid;
  if (next.min_txid != current.min_txid) return next.min_txid < current.min_txid;
  if (next.level != current.level) return next.level > current.level;
  return next.created_at < current.created_at;
}

bool BeforeTimestamp(const LtxFileInfo& info, const std::optional<SystemTime>& timestamp) {
  return !timestamp || info.created_at < *timestamp;
}

// Walks one level's files in (min, max) order. A file is consumed once it could chain onto the covered
// range (min <= covered + 1); the best eligible consumed file waits as the level's candidate.
class LevelCursor {
 public:
  explicit LevelCursor(const std::vector<LtxFileInfo>& files) : files_(files) {}

  void Refresh(TXID covered, TXID txid, const std::optional<SystemTime>& timestamp) {
    if (candidate_ && candidate_->max_txid <= covered) candidate_.reset();
    for (; next_ < files_.size() && files_[next_].min_txid <= covered + 1; ++next_) {
      const LtxFileInfo& info = files_[next_];
      if (info.max_txid <= covered) continue;  // entirely inside the covered range (#847)
      if (txid != 0 && info.max_txid > txid) continue;
      if (!BeforeTimestamp(info, timestamp)) continue;
      if (!candidate_ || BetterCandidate(*candidate_, info)) candidate_ = info;
    }
  }

  const std::optional<LtxFileInfo>& candidate() const { return candidate_; }
  void TakeCandidate() { candidate_.reset(); }
  // The first file not yet consumed, if any: it starts after covered + 1.
  const LtxFileInfo* pending() const { return next_ < files_.size() ? &files_[next_] : nullptr; }

 private:
  const std::vector<LtxFileInfo>& files_;
  size_t next_ = 0;
  std::optional<LtxFileInfo> candidate_;
};

}  // namespace

Result<ReplicaListing> ListReplica(StorageClient& client, bool use_metadata) {
  ReplicaListing listing;
  for (int level = kSnapshotLevel; level >= 0; --level) {
    auto files = client.List(level, 0, use_metadata);
    if (!files.ok()) return files.status().WithContext("list level " + std::to_string(level));
    listing.levels[level] = std::move(files).value();
  }
  return listing;
}

Result<RestorePlan> CalcRestorePlanFromListing(const ReplicaListing& listing, TXID txid,
                                               std::optional<SystemTime> timestamp) {
  if (txid != 0 && timestamp) return Status::InvalidArgument("cannot restore to both a TXID and a timestamp");
  RestorePlan plan;

  // 1. The last snapshot at or below the target.
  const LtxFileInfo* snapshot = nullptr;
  for (const LtxFileInfo& info : listing.levels[kSnapshotLevel]) {
    if (txid != 0 && info.max_txid > txid) continue;
    if (!BeforeTimestamp(info, timestamp)) continue;
    snapshot = &info;
  }
  if (snapshot != nullptr) plan.files.push_back(*snapshot);

  // 2. Greedy chaining over levels 8..0.
  TXID covered = plan.max_txid();
  std::vector<LevelCursor> cursors;
  for (int level = kMaxCompactionLevel; level >= 0; --level) cursors.emplace_back(listing.levels[level]);

  while (txid == 0 || covered < txid) {
    LevelCursor* best = nullptr;
    for (LevelCursor& cursor : cursors) {
      cursor.Refresh(covered, txid, timestamp);
      if (!cursor.candidate()) continue;
      if (best == nullptr || BetterCandidate(*best->candidate(), *cursor.candidate())) best = &cursor;
    }
    if (best == nullptr) break;
    plan.files.push_back(*best->candidate());
    covered = best->candidate()->max_txid;
    best->TakeCandidate();
  }

  // 3. A latest restore must not silently stop at a gap that a later file proves exists.
  if (!plan.files.empty() && txid == 0 && !timestamp) {
    for (const LevelCursor& cursor : cursors) {
      const LtxFileInfo* next = cursor.pending();
      if (next != nullptr && next->min_txid > covered + 1) {
        return Status::FailedPrecondition("non-contiguous ltx files: have up to TXID " + FormatTXID(covered) +
                                          " but " + DescribeLtxFile(*next) + " starts at TXID " +
                                          FormatTXID(next->min_txid));
      }
    }
  }

  if (plan.files.empty()) {
    if (txid != 0) return TxNotAvailableError("no LTX files up to TXID " + FormatTXID(txid));
    if (timestamp) return TxNotAvailableError("no LTX files before " + FormatTimestamp(*timestamp));
    return TxNotAvailableError("no LTX files");
  }
  if (txid != 0 && plan.max_txid() < txid) {
    return TxNotAvailableError("files reach TXID " + FormatTXID(plan.max_txid()) + ", wanted TXID " +
                               FormatTXID(txid));
  }
  return plan;
}

Result<RestorePlan> CalcRestorePlan(StorageClient& client, TXID txid, std::optional<SystemTime> timestamp,
                                    const Logger& logger) {
  if (txid != 0 && timestamp) return Status::InvalidArgument("cannot restore to both a TXID and a timestamp");
  LS_ASSIGN_OR_RETURN(ReplicaListing listing, ListReplica(client, timestamp.has_value()));
  auto plan = CalcRestorePlanFromListing(listing, txid, timestamp);
  if (!plan.ok()) return plan.status().WithContext("restore plan for " + client.Describe());
  for (const LtxFileInfo& info : plan->files)
    logger.Debug("restore plan file", {{"file", DescribeLtxFile(info)}});
  return plan;
}

}  // namespace litestream
