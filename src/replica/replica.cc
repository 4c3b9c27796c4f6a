#include "replica/replica.h"

namespace litestream {

Replica::Replica(Database* db, std::shared_ptr<StorageClient> client, ReplicaOptions options, Logger logger)
    : db_(db),
      client_(std::move(client)),
      options_(options),
      logger_(logger.With({{"replica", client_->Type()}})) {}

Result<TXID> Replica::Pos() {
  std::lock_guard<std::mutex> lock(mu_);
  return PosLocked();
}

TXID Replica::CachedPos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pos_.value_or(0);
}

SystemTime Replica::last_successful_sync() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_success_;
}

Result<TXID> Replica::PosLocked() {
  if (pos_) return *pos_;
  LS_ASSIGN_OR_RETURN(auto files, client_->List(0, 0));
  TXID max = 0;
  for (const auto& f : files) max = std::max(max, f.max_txid);
  pos_ = max;
  return max;
}

Result<TXID> Replica::RebaseLocked() {
  LS_ASSIGN_OR_RETURN(auto snapshot, db_->OpenSnapshot());
  const TXID txid = snapshot->txid();
  logger_.Warn("replica is missing files that are no longer local; writing a snapshot to re-base it",
               {{"txid", FormatTXID(txid)}});
  LS_RETURN_IF_ERROR(client_->Write(kSnapshotLevel, 1, txid, *snapshot).status());
  snapshot.reset();
  // The newest L0 marks the replica position: upload it too, so the position is txid from now on.
  LS_ASSIGN_OR_RETURN(auto local, db_->OpenLocalLtx(0, txid, txid));
  LS_RETURN_IF_ERROR(client_->Write(0, txid, txid, *local).status());
  pos_ = txid;
  return txid;
}

Status Replica::Rebase() {
  std::lock_guard<std::mutex> lock(mu_);
  return RebaseLocked().status();
}

void Replica::ResetPos() {
  std::lock_guard<std::mutex> lock(mu_);
  pos_.reset();
}

Result<bool> Replica::Sync(bool unlimited) {
  std::lock_guard<std::mutex> lock(mu_);
  auto fail = [&](Status s) {
    pos_.reset();  // re-list after any error
    return s;
  };
  if (db_->replica_may_be_ahead()) {
    // The last snapshot L0 may be here but not staged: continue after the replica's newest file.
    pos_.reset();
    if (Status s = db_->CatchUpWithReplica(*client_); !s.ok())
      return fail(s.WithContext("catch up with replica"));
  }
  auto replica_pos = PosLocked();
  if (!replica_pos.ok()) return fail(replica_pos.status().WithContext("replica position"));
  auto db_pos = db_->Pos();
  if (!db_pos.ok()) return fail(db_pos.status().WithContext("database position"));

  int uploaded = 0;
  for (TXID txid = *replica_pos + 1; txid <= *db_pos; txid++) {
    if (!unlimited && options_.max_sync_ltx_files > 0 && uploaded >= options_.max_sync_ltx_files) return true;
    auto local = db_->OpenLocalLtx(0, txid, txid);
    if (!local.ok() && local.status().IsNotFound()) {
      // The replica lacks files we no longer have locally (it was emptied, or it is behind files that L0
      // retention already removed): give it a new base instead of leaving a gap.
      auto rebased = RebaseLocked();
      if (!rebased.ok()) return fail(rebased.status().WithContext("rebase replica"));
      txid = *rebased;
      uploaded++;
      continue;
    }
    Status s = local.status();
    if (s.ok()) {
      auto written = client_->Write(0, txid, txid, **local);
      s = written.status();
    }
    if (!s.ok()) {
      s = s.WithContext("upload " + FormatLtxFilename(txid, txid));
      if (options_.auto_recover && (s.IsNotFound() || s.IsCorruption())) {
        logger_.Warn("local ltx file unusable, resetting local state (auto-recover)",
                     {{"error", s.message()}});
        Status reset = db_->ResetLocalState();
        if (reset.ok()) reset = db_->CatchUpWithReplica(*client_);
        if (!reset.ok()) logger_.Error("auto-recover failed", {{"error", reset.message()}});
      }
      return fail(s);
    }
    pos_ = txid;
    uploaded++;
    logger_.Debug("uploaded", {{"txid", FormatTXID(txid)}});
  }
  // A big snapshot L0 that a sync is writing now goes up while it is written. The stream ends once every
  // byte is written and checked, before the staged file is durable; if staging it fails after that, the
  // database catches up with the replica before it writes another file (see above).
  if (auto staging = db_->staging_l0(); staging && staging->txid == *pos_ + 1) {
    const TXID txid = staging->txid;
    auto reader = staging->file->OpenReader();
    auto written = client_->Write(0, txid, txid, *reader);
    if (!written.ok()) {
      // The sync gave the file up (the WAL restarted under it): not the replica's failure; the next sync
      // writes another.
      if (staging->file->abandoned()) return false;
      return fail(written.status().WithContext("upload " + FormatLtxFilename(txid, txid)));
    }
    pos_ = txid;
    logger_.Debug("uploaded", {{"txid", FormatTXID(txid)}, {"while_staged", "true"}});
  }
  last_success_ = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return false;
}

}  // namespace litestream
