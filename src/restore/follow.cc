#include "restore/follow.h"

#include <limits>
#include <random>
#include <vector>

#include "ltx/decoder.h"
#include "restore/describe.h"
#include "restore/follow_db_file.h"

namespace litestream {
namespace {

std::string SpoolPath(const std::string& output_path) { return output_path + ".follow-ltx.tmp"; }

void RandomizeChangeCounter(uint8_t* page1) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  uint32_t v = rng();
  for (int i = 0; i < 4; ++i) page1[24 + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Streams one replica file into a local spool file (resumable over flaky storage).
Status SpoolFile(StorageClient& client, FileSystem& fs, const LtxFileInfo& info, const std::string& spool,
                 const FollowOptions& o) {
  ResumableReader reader(client, info, o.retry, o.sleep, o.stop);
  LS_ASSIGN_OR_RETURN(auto out, fs.Create(spool, 0600));
  auto copied = Copy(reader, *out);
  if (!copied.ok()) return copied.status();
  return out->Close();
}

// Decodes the spooled file completely and checks its checksum and that it fits the database.
Status VerifySpool(FileSystem& fs, const std::string& spool, const LtxFileInfo& info, uint32_t page_size) {
  LS_ASSIGN_OR_RETURN(auto in, fs.OpenSequential(spool));
  ltx::Decoder dec(*in, DescribeLtxFile(info));
  LS_RETURN_IF_ERROR(dec.DecodeHeader());
  const ltx::Header& h = dec.header();
  if (h.min_txid != info.min_txid || h.max_txid != info.max_txid) {
    return Status::Corruption(DescribeLtxFile(info) + ": header TXID range " + FormatTXID(h.min_txid) + "-" +
                              FormatTXID(h.max_txid) + " does not match its name");
  }
  if (h.page_size != page_size) {
    return Status::Corruption(DescribeLtxFile(info) + ": page size " + std::to_string(h.page_size) +
                              " differs from the database's " + std::to_string(page_size));
  }
  if (h.commit == 0)
    return Status::Corruption(DescribeLtxFile(info) + ": commit 0 (deletion files are not supported)");
  std::vector<uint8_t> page(h.page_size);
  uint32_t pgno = 0;
  for (;;) {
    LS_ASSIGN_OR_RETURN(bool more, dec.NextPage(&pgno, page.data()));
    if (!more) break;
  }
  return dec.Close();
}

// Writes the verified spool into the database under the exclusive lock.
Status ApplySpool(FileSystem& fs, FollowDbFile& db, const std::string& spool, const LtxFileInfo& info,
                  const FollowOptions& o) {
  LS_ASSIGN_OR_RETURN(auto in, fs.OpenSequential(spool));
  ltx::Decoder dec(*in, DescribeLtxFile(info));
  LS_RETURN_IF_ERROR(dec.DecodeHeader());
  const uint32_t ps = dec.header().page_size;
  std::vector<uint8_t> page(ps);
  LS_RETURN_IF_ERROR(db.LockExclusive(o.lock_timeout, o.stop));
  Status s;
  for (;;) {
    uint32_t pgno = 0;
    auto more = dec.NextPage(&pgno, page.data());
    if (!more.ok()) {
      s = more.status();
      break;
    }
    if (!*more) break;
    if (pgno == 1) {
      page[18] = 1;  // file format write version: legacy (rollback journal)
      page[19] = 1;  // file format read version
      RandomizeChangeCounter(page.data());
    }
    s = db.WriteAt(uint64_t{pgno - 1} * ps, page.data(), ps);
    if (!s.ok()) break;
  }
  if (s.ok()) s = dec.Close();
  if (s.ok()) s = db.Truncate(uint64_t{dec.header().commit} * ps);
  if (s.ok()) s = db.Sync();
  db.Unlock();
  return s;
}

Status ApplyFile(StorageClient& client, FileSystem& fs, FollowDbFile& db, uint32_t page_size,
                 const std::string& output_path, const LtxFileInfo& info, const FollowOptions& o) {
  const std::string spool = SpoolPath(output_path);
  Status s = SpoolFile(client, fs, info, spool, o);
  if (s.ok()) s = VerifySpool(fs, spool, info, page_size);
  if (s.ok()) s = ApplySpool(fs, db, spool, info, o);
  (void)fs.Remove(spool);
  return s.WithContext("apply " + DescribeLtxFile(info));
}

// What the follow loop remembers between polls.
struct FollowState {
  std::pair<TXID, TXID> warned_gap{0, 0};  // (current, next min) of the last gap warning
};

class Poller {
 public:
  Poller(StorageClient& client, FileSystem& fs, const std::string& output_path, const FollowOptions& o,
         FollowState& state, TXID* current)
      : client_(client), fs_(fs), output_path_(output_path), o_(o), state_(state), current_(*current) {}

  Status Run() {
    LS_ASSIGN_OR_RETURN(db_, FollowDbFile::Open(output_path_));
    LS_ASSIGN_OR_RETURN(page_size_, db_.ReadPageSize());
    auto l0 = client_.List(0, current_ + 1, false);
    if (!l0.ok()) return l0.status().WithContext("list level 0");
    bool saw_level0 = false;
    for (const LtxFileInfo& info : *l0) {
      if (o_.stop.stop_requested()) break;
      saw_level0 = true;
      if (info.min_txid > current_ + 1) {
        LS_RETURN_IF_ERROR(FillGap(info.min_txid));
        if (info.min_txid > current_ + 1) {
          std::pair<TXID, TXID> gap{current_, info.min_txid};
          if (state_.warned_gap != gap) {
            state_.warned_gap = gap;
            o_.logger.Warn(
                "follow: gap in level 0 that no level 1..8 file bridges; waiting",
                {{"txid", FormatTXID(current_)}, {"next", FormatLtxFilename(info.min_txid, info.max_txid)}});
          }
          break;
        }
      }
      if (info.max_txid <= current_) continue;
      LS_RETURN_IF_ERROR(Apply(info));
    }
    // No level-0 file at all: follow whatever levels 1..8 hold, as far as they chain.
    if (!saw_level0) LS_RETURN_IF_ERROR(FillGap(std::numeric_limits<TXID>::max()));
    return Status::OK();
  }

 private:
  Status Apply(const LtxFileInfo& info) {
    LS_RETURN_IF_ERROR(ApplyFile(client_, fs_, db_, page_size_, output_path_, info, o_));
    current_ = info.max_txid;
    return WriteTXIDSidecar(fs_, output_path_, current_);
  }

  // Applies files of levels 1..8 that continue the chain until it reaches gap_min - 1, restarting from
  // level 1 after any progress. Each restart needs progress, so this ends.
  Status FillGap(TXID gap_min) {
    bool progressed = true;
    while (progressed && current_ + 1 < gap_min && !o_.stop.stop_requested()) {
      progressed = false;
      for (int level = 1; level <= kMaxCompactionLevel && !progressed; ++level) {
        auto files = client_.List(level, 0, false);
        if (!files.ok()) return files.status().WithContext("list level " + std::to_string(level));
        for (const LtxFileInfo& info : *files) {
          if (info.min_txid > current_ + 1) break;
          if (info.max_txid <= current_) continue;
          LS_RETURN_IF_ERROR(Apply(info));
          progressed = true;
          if (current_ + 1 >= gap_min) break;
        }
      }
    }
    return Status::OK();
  }

  StorageClient& client_;
  FileSystem& fs_;
  const std::string& output_path_;
  const FollowOptions& o_;
  FollowState& state_;
  TXID& current_;  // advanced as files are applied, even if a later one fails
  FollowDbFile db_;
  uint32_t page_size_ = 0;
};

}  // namespace

Status SetRollbackJournalMode(const std::string& path) {
  LS_ASSIGN_OR_RETURN(FollowDbFile db, FollowDbFile::Open(path));
  LS_RETURN_IF_ERROR(db.ReadPageSize().status());
  const uint8_t versions[2] = {1, 1};
  LS_RETURN_IF_ERROR(db.WriteAt(18, versions, 2));
  return db.Sync();
}

Status CheckFollowResume(StorageClient& client, const std::string& output_path, TXID saved_txid) {
  LS_ASSIGN_OR_RETURN(ReplicaListing listing, ListReplica(client, false));
  const std::string hint =
      "; delete " + output_path + " and " + TXIDSidecarPath(output_path) + " to re-restore";
  TXID newest = 0;
  for (const auto& level : listing.levels) {
    for (const LtxFileInfo& f : level) newest = std::max(newest, f.max_txid);
  }
  const auto& snapshots = listing.levels[kSnapshotLevel];
  if (!snapshots.empty() && snapshots.back().min_txid > saved_txid) {
    return Status::FailedPrecondition("cannot resume follow mode: saved TXID " + FormatTXID(saved_txid) +
                                      " is behind the earliest snapshot" + hint);
  }
  if (saved_txid > newest) {
    return Status::FailedPrecondition("cannot resume follow mode: saved TXID " + FormatTXID(saved_txid) +
                                      " is ahead of the replica (newest TXID " + FormatTXID(newest) +
                                      "): the replica was reset or replaced" + hint);
  }
  if (saved_txid == newest) return Status::OK();
  for (int level = 0; level <= kMaxCompactionLevel; ++level) {
    for (const LtxFileInfo& f : listing.levels[level]) {
      if (f.min_txid <= saved_txid + 1 && f.max_txid > saved_txid) return Status::OK();
    }
  }
  return Status::FailedPrecondition("cannot resume follow mode: no file continues saved TXID " +
                                    FormatTXID(saved_txid) + " (replica history was pruned)" + hint);
}

Status FollowPollOnce(StorageClient& client, FileSystem& fs, const std::string& output_path, TXID* txid,
                      const FollowOptions& options) {
  FollowState state;
  return Poller(client, fs, output_path, options, state, txid).Run();
}

Status RunFollow(StorageClient& client, FileSystem& fs, const std::string& output_path, TXID txid,
                 const FollowOptions& options, TXID* last_txid) {
  const FollowOptions& o = options;
  *last_txid = txid;
  o.logger.Info("entering follow mode", {{"output", output_path},
                                         {"txid", FormatTXID(txid)},
                                         {"interval_ms", std::to_string(o.interval.count())}});
  FollowState state;
  int consecutive_errors = 0;
  while (!o.stop.stop_requested()) {
    if (o.wait) {
      o.wait(o.interval, o.stop);
    } else {
      InterruptibleSleep(o.interval, o.stop);
    }
    if (o.stop.stop_requested()) break;
    const TXID before = *last_txid;
    Status s = Poller(client, fs, output_path, o, state, last_txid).Run();
    if (*last_txid > before) {
      o.logger.Info("follow: applied updates",
                    {{"from_txid", FormatTXID(before)}, {"to_txid", FormatTXID(*last_txid)}});
      if (o.on_applied) o.on_applied(*last_txid);
    }
    if (s.ok()) {
      consecutive_errors = 0;
      continue;
    }
    auto exists = PathExists(fs, output_path);
    if (s.IsNotFound() && exists.ok() && !*exists) {
      return s.WithContext("follow: the database disappeared");
    }
    ++consecutive_errors;
    o.logger.Error("follow: error applying updates",
                   {{"error", s.ToString()}, {"consecutive_errors", std::to_string(consecutive_errors)}});
  }
  o.logger.Info("follow mode stopped", {{"txid", FormatTXID(*last_txid)}});
  return Status::OK();
}

}  // namespace litestream
