#include "store/store.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "ltx/encoding_reader.h"
#include "ltx/merge.h"
#include "restore/resumable_reader.h"
#include "util/scratch.h"

namespace litestream {
namespace {

constexpr milliseconds kMaxBackoff{300'000};
constexpr milliseconds kErrorLogInterval{30'000};
constexpr milliseconds kNotReadyRetry{1'000};
constexpr milliseconds kStagingRetry{50};
constexpr int kNotReadyWarnAttempts = 30;
// Go's zero time (0001-01-01T00:00:00Z) is this many seconds before the Unix epoch.
constexpr int64_t kGoEpochOffsetMs = 62'135'596'800'000;

SystemTime Now(Clock* clock) { return clock->Now(); }

// Exponential backoff with rate-limited error logging (§3.3: start = interval, x2, max 5 min; log <= 1/30 s).
struct Backoff {
  milliseconds current{0};
  SteadyTime last_log{};

  milliseconds Fail(milliseconds base) {
    current = current.count() == 0 ? std::max(base, milliseconds(1)) : std::min(current * 2, kMaxBackoff);
    return current;
  }
  void Reset() { current = milliseconds(0); }
  bool ShouldLog() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_log < kErrorLogInterval) return false;
    last_log = now;
    return true;
  }
};

}  // namespace

SystemTime PrevCompactionAt(SystemTime now, milliseconds interval) {
  if (interval.count() <= 0) return now;
  int64_t ms = now.time_since_epoch().count() + kGoEpochOffsetMs;
  int64_t floored = (ms / interval.count()) * interval.count();
  return SystemTime(milliseconds(floored - kGoEpochOffsetMs));
}

SystemTime NextCompactionAt(SystemTime now, milliseconds interval) {
  return PrevCompactionAt(now, interval) + interval;
}

struct Store::DbHandle {
  DbEntry entry;
  std::unique_ptr<Database> db;
  std::unique_ptr<Replica> replica;

  std::shared_ptr<Job> sync_job, upload_job, snapshot_job, l0_job, hand_off_job;
  std::vector<std::shared_ptr<Job>> compaction_jobs;  // index i -> level i + 1

  // Touched only by the sync job (never concurrent with itself).
  Backoff sync_backoff;
  // The sync-spacing rule's state (NextSyncSpacing), put back after a changed sync that found no commit.
  struct SpacingState {
    milliseconds sync_spacing{0};
    SteadyTime previous_changed_sync{};  // the start of the changed sync before last_changed_sync
    SteadyTime last_changed_sync{};
    uint64_t wal_bytes_at_last_changed_sync = 0;  // SyncState::wal_bytes_synced then
  } spacing;
  int syncs_without_commit = 0;           // consecutive changed syncs that found no new commit
  SteadyTime last_sync_without_commit{};  // when the last of them began
  bool have_wal_stat = false;
  uint64_t wal_size = 0;
  SystemTime wal_mtime{};
  // While the WAL grows fast, the hand-off job moves our read mark on between syncs until then.
  std::atomic<SteadyTime::rep> hand_off_until{0};
  // Touched only by the upload job.
  Backoff upload_backoff;
  int snapshot_not_ready = 0;
  // Touched only by the L0-retention job: what the last pass saw, to skip passes while idle.
  TXID l0_checked_uploaded = ~TXID{0};
  TXID l0_checked_l1 = ~TXID{0};
  SteadyTime l0_recheck_at{};
  bool l0_settled = false;

  std::mutex mu;                            // guards the fields below
  std::map<int, LtxFileInfo> max_by_level;  // newest remote file per level (compaction/snapshot cache)
  std::string last_error;
  // Progress, for SyncNow/WaitReplicated: notified after every sync and upload attempt and on removal.
  std::condition_variable progress;
  uint64_t syncs_started = 0;
  uint64_t syncs_finished = 0;
  Status last_sync_status;
  bool sync_requested = false;  // the next sync job run syncs even if the WAL looks unchanged
  bool removed = false;
  SystemTime last_sync_at{};

  // The sync-spacing rule (kSyncSpacingDivisor), for a sync that found the WAL changed at `now`.
  milliseconds NextSyncSpacing(SteadyTime now, milliseconds interval);
  // After a changed sync that ended at `end`: whether the WAL grew at kSlowWalBytesPerSecond or faster.
  bool WalGrowingFast(SteadyTime end) const;

  void SetError(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    last_error = e;
  }
};

// How long the watcher lets WAL events accumulate after handling some. A busy database's sync is spaced
// 100 ms apart anyway; at 2 ms the watcher woke ~170 times a second under synchronous=FULL commits, and
// its sleeps were a third of the replicator's CPU on a virtual machine (hrtimer set-up and cancel).
constexpr milliseconds kWatchCoalesce{10};
// Under a steady stream of commits a sync starts at most once per spacing: one L0 file per spacing instead
// of one per commit. The spacing starts at monitor-interval / kSyncSpacingDivisor (100 ms by default) and
// doubles while every sync finds new commits within two spacings of the previous one and the WAL grew by
// less than kSlowWalBytesPerSecond since then, up to kMaxSyncSpacingFactor times that (400 ms): each file
// costs the same fsyncs and renames however little it holds, and at 10 files a second that was 0.4 CPU-s
// per 100 MB of WAL under synchronous=FULL. A fast-growing WAL keeps the short spacing: every sync hands
// our read mark on, and the application's autocheckpoint backfills up to it inside a commit (bulk inserts
// at 400 ms: commit max 0.3 -> 1.1 s). A commit after a quiet spell is still synced at once, and the
// spacing starts over.
constexpr int kSyncSpacingDivisor = 10;
constexpr int kMaxSyncSpacingFactor = 4;
constexpr uint64_t kSlowWalBytesPerSecond = 32 << 20;
// While the WAL grows faster than that, our read mark is also handed on this often between syncs (the
// hand-off job), for up to two sync spacings after the last sync that saw it: the application's
// autocheckpoint backfills up to our mark inside a commit, and a mark that moved only with the syncs let it
// backfill a whole spacing (and a sync) of WAL at once, 50-90 MB under bulk inserts, which made those commits
// 100-400 ms long. Ten milliseconds is about SQLite's own cadence (1,000 frames) at 400 MB/s of WAL.
constexpr milliseconds kHandOffInterval{10};

milliseconds Store::DbHandle::NextSyncSpacing(SteadyTime now, milliseconds interval) {
  SpacingState& st = spacing;
  const milliseconds base = interval / kSyncSpacingDivisor;
  const uint64_t synced = db->sync_state().wal_bytes_synced;
  const auto since = now - st.last_changed_sync;
  const bool sustained = st.sync_spacing.count() > 0 && since < 2 * st.sync_spacing;
  const uint64_t grown = synced >= st.wal_bytes_at_last_changed_sync
                             ? synced - st.wal_bytes_at_last_changed_sync
                             : 0;  // local state was reset
  const bool slow =
      static_cast<double>(grown) < kSlowWalBytesPerSecond * std::chrono::duration<double>(since).count();
  st.sync_spacing = sustained && slow ? std::min(2 * st.sync_spacing, kMaxSyncSpacingFactor * base) : base;
  st.previous_changed_sync = st.last_changed_sync;
  st.last_changed_sync = now;
  st.wal_bytes_at_last_changed_sync = synced;
  return st.sync_spacing;
}

// What this sync copied, over the time since the previous sync began: the commits it found accumulated
// over that span. Judged before the sync (on what the previous one copied) and only while syncs ran
// within two spacings of each other, the test failed after every long sync (a 64 MiB file under bulk
// inserts puts the next sync two spacings after the last), the hand-off job stopped early while the
// application wrote on, and its next autocheckpoint backfilled 13-18k frames in one commit (150-280 ms).
bool Store::DbHandle::WalGrowingFast(SteadyTime end) const {
  const uint64_t synced = db->sync_state().wal_bytes_synced;
  if (synced <= spacing.wal_bytes_at_last_changed_sync) return false;
  // A sync that looked since and found no commit (RunSync) started the span later.
  const SteadyTime from = std::max(spacing.previous_changed_sync, last_sync_without_commit);
  const double seconds = std::chrono::duration<double>(end - from).count();
  return static_cast<double>(synced - spacing.wal_bytes_at_last_changed_sync) >=
         kSlowWalBytesPerSecond * seconds;
}

// Change detection through inotify. A watch on each database's directory sees the WAL appear (created or
// renamed into place); the WAL itself gets a one-shot IN_MODIFY watch that the sync job re-arms after each
// sync (Arm). A permanent watch on every write cost the application 6% of its time at saturation: the
// kernel queues (and merges) an event for every pwrite, inside the application's commit. With the one-shot
// watch the first write after a sync raises one event and the rest of a burst costs nothing.
class Store::Watcher {
 public:
  explicit Watcher(Scheduler* scheduler, Logger logger) : scheduler_(scheduler), logger_(std::move(logger)) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ >= 0 && stop_fd_ >= 0) thread_ = std::thread([this] { Loop(); });
  }
  ~Watcher() {
    if (stop_fd_ >= 0) {
      uint64_t one = 1;
      (void)!write(stop_fd_, &one, sizeof(one));
    }
    if (thread_.joinable()) thread_.join();
    if (inotify_fd_ >= 0) close(inotify_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
  }

  void Add(const std::string& db_path, const Job* job) {
    if (inotify_fd_ < 0) return;
    std::filesystem::path p(db_path);
    std::string dir = p.parent_path().string();
    {
      std::lock_guard<std::mutex> lock(mu_);
      int wd = inotify_add_watch(inotify_fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
      if (wd < 0) {
        logger_.Warn("inotify watch failed; falling back to polling", {{"dir", dir}});
        return;
      }
      dir_targets_[wd][p.filename().string() + "-wal"] = job;
      wals_[db_path + "-wal"] = Wal{job};
    }
    Arm(db_path);
  }

  void Remove(const std::string& db_path) {
    std::filesystem::path p(db_path);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [wd, names] : dir_targets_) names.erase(p.filename().string() + "-wal");
    auto wal = wals_.find(db_path + "-wal");
    if (wal == wals_.end()) return;
    if (wal->second.wd >= 0) {
      inotify_rm_watch(inotify_fd_, wal->second.wd);
      wal_by_wd_.erase(wal->second.wd);
    }
    wals_.erase(wal);
  }

  // Watches the database's WAL for its next write, unless a watch is armed already (without a WAL yet,
  // ENOENT, the directory watch reports its creation). Returns whether the previous watch fired since the
  // last call: the WAL was written, even if a stat cannot tell (an overwrite within the mtime granularity).
  bool Arm(const std::string& db_path) {
    std::lock_guard<std::mutex> lock(mu_);
    auto wal = wals_.find(db_path + "-wal");
    if (wal == wals_.end()) return false;
    const bool fired = std::exchange(wal->second.fired, false);
    if (wal->second.wd >= 0) return fired;
    int wd = inotify_add_watch(inotify_fd_, wal->first.c_str(), IN_MODIFY | IN_ONESHOT);
    if (wd >= 0) {
      wal->second.wd = wd;
      wal_by_wd_[wd] = wal->first;
    }
    return fired;
  }

 private:
  struct Wal {
    const Job* job = nullptr;
    int wd = -1;         // the armed one-shot watch, -1 if none
    bool fired = false;  // a watch fired since the last Arm()
  };

  void Loop() {
    alignas(inotify_event) char buf[16 * 1024];
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
      int rc = poll(fds, 2, 1000);
      if (rc < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if (rc <= 0 || (fds[0].revents & POLLIN) == 0) continue;
      ssize_t n = read(inotify_fd_, buf, sizeof(buf));
      if (n <= 0) continue;
      HandleEvents(buf, static_cast<size_t>(n));
      // Several databases' events may arrive close together; the kicked sync jobs are spaced anyway
      // (SetKickFloor), so let them accumulate for a moment instead of waking for each one.
      std::this_thread::sleep_for(kWatchCoalesce);
    }
  }

  void HandleEvents(const char* buf, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->len == 0) {
        HandleWalEvent(*ev);
        continue;
      }
      auto dir = dir_targets_.find(ev->wd);
      if (dir == dir_targets_.end()) continue;
      auto target = dir->second.find(ev->name);
      if (target != dir->second.end()) scheduler_->SoftKick(target->second);
    }
  }

  // REQUIRES: mu_. A one-shot watch fired (IN_MODIFY), or went away (IN_IGNORED: fired, removed, or the
  // WAL deleted): either way it is no longer armed.
  void HandleWalEvent(const inotify_event& ev) {
    auto path = wal_by_wd_.find(ev.wd);
    if (path == wal_by_wd_.end()) return;
    auto wal = wals_.find(path->second);
    wal_by_wd_.erase(path);
    if (wal == wals_.end() || wal->second.wd != ev.wd) return;
    wal->second.wd = -1;
    if ((ev.mask & IN_MODIFY) == 0) return;
    wal->second.fired = true;
    scheduler_->SoftKick(wal->second.job);
  }

  Scheduler* scheduler_;
  Logger logger_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::map<int, std::map<std::string, const Job*>> dir_targets_;  // directory wd -> WAL file name -> job
  std::map<std::string, Wal> wals_;                               // WAL path -> its job and watch
  std::map<int, std::string> wal_by_wd_;                          // armed watch -> WAL path
};

Store::Store(StoreOptions options, Logger logger, FileSystem* fs, Clock* clock)
    : options_(std::move(options)), logger_(std::move(logger)), fs_(fs), clock_(clock) {
  size_t workers = options_.workers;
  if (workers == 0) workers = std::max<size_t>(4, 2 * std::max(1u, std::thread::hardware_concurrency()));
  scheduler_ = std::make_unique<Scheduler>(workers);
  if (options_.watch_files) watcher_ = std::make_unique<Watcher>(scheduler_.get(), logger_);
}

Store::~Store() { (void)Close(); }

milliseconds Store::LevelInterval(int level) const {
  if (level == kSnapshotLevel) return options_.snapshot_interval;
  return options_.levels.at(static_cast<size_t>(level - 1));
}

Status Store::Open(std::vector<DbEntry> entries) {
  size_t opened = 0;
  Status first_error;
  for (auto& e : entries) {
    std::string path = e.db.path;
    Status s = AddDatabase(std::move(e));
    if (s.ok()) {
      opened++;
    } else {
      logger_.Error("cannot open database", {{"db", path}, {"error", s.message()}});
      if (first_error.ok()) first_error = s.WithContext(path);
    }
  }
  if (opened == 0 && !entries.empty()) return first_error;
  return Status::OK();
}

Status Store::AddDatabase(DbEntry entry) {
  if (!entry.client) return Status::InvalidArgument(entry.db.path + ": no replica configured");
  if (stop_.stop_requested()) return Status::FailedPrecondition(entry.db.path + ": the service is stopping");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dbs_.count(entry.db.path) != 0)
      return Status::InvalidArgument(entry.db.path + ": already registered");
  }
  auto h = std::make_shared<DbHandle>();
  h->entry = entry;
  h->db = std::make_unique<Database>(entry.db, logger_, fs_, clock_);
  LS_RETURN_IF_ERROR(h->db->Open());
  h->replica = std::make_unique<Replica>(h->db.get(), entry.client, entry.replica,
                                         logger_.With({{"db", entry.db.path}}));
  // TXIDs continue after the replica's even if local state was lost or the database was restored (#781).
  if (fs_->Stat(entry.db.path).ok()) {
    Status s = h->db->CatchUpWithReplica(h->replica->client());
    if (!s.ok())
      logger_.Warn("cannot compare with replica position", {{"db", entry.db.path}, {"error", s.message()}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    dbs_[entry.db.path] = h;
  }
  StartJobs(h);
  return Status::OK();
}

void Store::StartJobs(const std::shared_ptr<DbHandle>& h) {
  DbHandle* raw = h.get();
  auto now = std::chrono::steady_clock::now();
  h->upload_job = std::make_shared<FunctionJob>([this, raw] { return RunUpload(*raw); });
  h->sync_job = std::make_shared<FunctionJob>([this, raw] { return RunSync(*raw); });
  h->hand_off_job = std::make_shared<FunctionJob>([this, raw] { return RunHandOff(*raw); });
  // Created before any job runs: the upload job kicks it (RunUpload).
  if (options_.background_jobs) {
    h->snapshot_job = std::make_shared<FunctionJob>([this, raw] { return RunSnapshot(*raw); });
  }
  Job* upload = h->upload_job.get();
  h->db->SetOnNewFile([this, upload](TXID) { scheduler_->Kick(upload); });
  scheduler_->Add(h->upload_job, now);
  scheduler_->Add(h->hand_off_job, Job::kNever);  // woken by RunSync while the WAL grows fast
  if (h->entry.monitor_interval.count() > 0) {
    scheduler_->Add(h->sync_job, now);
    if (watcher_) watcher_->Add(h->entry.db.path, h->sync_job.get());
  } else {
    scheduler_->Add(h->sync_job, Job::kNever);  // runs only when SyncNow kicks it
  }
  if (!options_.background_jobs) return;
  for (size_t i = 0; i < options_.levels.size(); i++) {
    int level = static_cast<int>(i) + 1;
    auto job = std::make_shared<FunctionJob>([this, raw, level] { return RunCompaction(*raw, level); });
    h->compaction_jobs.push_back(job);
    scheduler_->Add(job, now);
  }
  scheduler_->Add(h->snapshot_job, now);
  h->l0_job = std::make_shared<FunctionJob>([this, raw] { return RunL0Retention(*raw); });
  scheduler_->Add(h->l0_job, now + options_.l0_retention_check_interval);
}

void Store::StopJobs(DbHandle& h) {
  if (watcher_) watcher_->Remove(h.entry.db.path);
  h.db->SetOnNewFile(nullptr);
  for (const auto& job : {h.sync_job, h.hand_off_job, h.upload_job, h.snapshot_job, h.l0_job}) {
    if (job) scheduler_->Remove(job.get());
  }
  for (const auto& job : h.compaction_jobs) scheduler_->Remove(job.get());
}

Status Store::FinalSync(DbHandle& h, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Status last;
  for (int attempt = 0;; attempt++) {
    last = SyncDatabase(h).status();
    if (last.ok()) last = h.replica->Sync(/*unlimited=*/true).status();
    if (last.ok()) return last;
    if (std::chrono::steady_clock::now() + options_.shutdown_sync_interval > deadline) break;
    if (shutdown_interrupted_) return last.WithContext("shutdown interrupted");
    logger_.Warn("shutdown sync failed, retrying", {{"db", h.entry.db.path}, {"error", last.message()}});
    std::this_thread::sleep_for(options_.shutdown_sync_interval);
  }
  return last.WithContext("final sync " + h.entry.db.path);
}

Status Store::RemoveDatabase(const std::string& path) {
  std::shared_ptr<DbHandle> h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = dbs_.find(path);
    if (it == dbs_.end()) return Status::NotFound(path + ": not registered");
    h = it->second;
    dbs_.erase(it);
  }
  StopJobs(*h);
  Status s = FinalSync(*h, options_.shutdown_sync_timeout);
  h->db->Close();
  MarkRemoved(*h);
  return s;
}

void Store::InterruptShutdown() { shutdown_interrupted_ = true; }

Status Store::Close() { return Close(options_.shutdown_sync_timeout); }

Status Store::Close(milliseconds final_sync_timeout) {
  stop_.request_stop();
  std::map<std::string, std::shared_ptr<DbHandle>> dbs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dbs.swap(dbs_);
  }
  for (auto& [path, h] : dbs) StopJobs(*h);
  watcher_.reset();
  scheduler_->Stop();
  Status first;
  for (auto& [path, h] : dbs) {
    Status s = FinalSync(*h, final_sync_timeout);
    if (!s.ok()) {
      logger_.Error("final sync failed", {{"db", path}, {"error", s.message()}});
      if (first.ok()) first = s;
    }
    h->db->Close();
    MarkRemoved(*h);
  }
  return first;
}

std::vector<std::string> Store::Paths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> paths;
  for (const auto& [path, h] : dbs_) paths.push_back(path);
  return paths;
}

std::vector<DbStatus> Store::Statuses() const {
  std::vector<DbStatus> out;
  for (const auto& h : Handles()) out.push_back(StatusOfHandle(*h));
  return out;
}

Result<DbStatus> Store::StatusOf(const std::string& path) const {
  auto h = Find(path);
  if (!h) return Status::NotFound(path + ": not registered");
  return StatusOfHandle(*h);
}

DbStatus Store::StatusOfHandle(DbHandle& h) const {
  DbStatus st;
  st.path = h.entry.db.path;
  st.replica = h.replica->client().Describe();
  auto pos = h.db->Pos();
  st.local_txid = pos.ok() ? *pos : 0;
  st.replica_txid = h.replica->CachedPos();
  st.in_sync = st.replica_txid >= st.local_txid;
  if (!st.in_sync) {
    // The oldest waiting L0 file's mtime is when it was staged.
    auto staged = fs_->Stat(h.db->LtxPath(0, st.replica_txid + 1, st.replica_txid + 1));
    if (staged.ok()) {
      st.lag = std::max(milliseconds(0),
                        std::chrono::duration_cast<milliseconds>(
                            clock_->Now() - std::chrono::system_clock::time_point(staged->mtime)));
    }
  }
  std::lock_guard<std::mutex> lock(h.mu);
  st.last_error = h.last_error;
  st.last_sync_at = h.last_sync_at;
  return st;
}

std::shared_ptr<Store::DbHandle> Store::Find(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dbs_.find(path);
  return it == dbs_.end() ? nullptr : it->second;
}

void Store::MarkRemoved(DbHandle& h) {
  {
    std::lock_guard<std::mutex> lock(h.mu);
    h.removed = true;
  }
  h.progress.notify_all();
}

Result<SyncResult> Store::SyncNow(const std::string& path, bool upload, milliseconds timeout) {
  const SteadyTime deadline = std::chrono::steady_clock::now() + timeout;
  auto h = Find(path);
  if (!h) return Status::NotFound(path + ": not registered");
  {
    std::unique_lock<std::mutex> lock(h->mu);
    // Syncs run one at a time, so the next one to start begins after this call: it sees every commit
    // made before it.
    const uint64_t target = h->syncs_started + 1;
    h->sync_requested = true;
    lock.unlock();
    scheduler_->Kick(h->sync_job.get());
    lock.lock();
    if (!h->progress.wait_until(lock, deadline, [&] { return h->removed || h->syncs_finished >= target; })) {
      return Status::Timeout(path + ": sync did not complete within " + std::to_string(timeout.count()) +
                             " ms" + (h->last_error.empty() ? "" : ": " + h->last_error));
    }
    if (h->removed) return Status::Cancelled(path + ": database was unregistered or the service stopped");
    LS_RETURN_IF_ERROR(h->last_sync_status);
  }
  SyncResult result;
  LS_ASSIGN_OR_RETURN(result.txid, h->db->Pos());
  if (upload) LS_RETURN_IF_ERROR(WaitReplicatedUntil(*h, result.txid, deadline));
  result.replicated_txid = h->replica->CachedPos();
  return result;
}

Status Store::WaitReplicated(const std::string& path, TXID txid, milliseconds timeout) {
  auto h = Find(path);
  if (!h) return Status::NotFound(path + ": not registered");
  return WaitReplicatedUntil(*h, txid, std::chrono::steady_clock::now() + timeout);
}

Status Store::WaitReplicatedUntil(DbHandle& h, TXID txid, SteadyTime deadline) {
  if (h.replica->CachedPos() >= txid) return Status::OK();
  scheduler_->Kick(h.upload_job.get());
  std::unique_lock<std::mutex> lock(h.mu);
  if (!h.progress.wait_until(lock, deadline, [&] { return h.removed || h.replica->CachedPos() >= txid; })) {
    return Status::Timeout(h.entry.db.path + ": TXID " + FormatTXID(txid) +
                           " not on the replica in time (replica at " + FormatTXID(h.replica->CachedPos()) +
                           ")" + (h.last_error.empty() ? "" : ": " + h.last_error));
  }
  if (h.replica->CachedPos() >= txid) return Status::OK();
  return Status::Cancelled(h.entry.db.path + ": database was unregistered or the service stopped");
}

// ---------------------------------------------------------------------------------------------------
// Jobs

Result<int> Store::SyncDatabase(DbHandle& h) {
  auto result = h.db->Sync();
  if (result.ok() || !h.db->local_state_corrupt()) return result;
  logger_.Error("local ltx state is corrupt; resetting it, the next sync writes a snapshot",
                {{"db", h.entry.db.path}, {"error", result.status().message()}});
  LS_RETURN_IF_ERROR(h.db->ResetLocalState());
  LS_RETURN_IF_ERROR(h.db->CatchUpWithReplica(h.replica->client()));
  h.replica->ResetPos();
  return h.db->Sync();
}

SteadyTime Store::RunSync(DbHandle& h) {
  TrimScratchBuffers();  // every database polls at least once a second: idle sync buffers go back then
  auto now = std::chrono::steady_clock::now();
  const milliseconds interval = h.entry.monitor_interval;
  // Cheap change check: the WAL watch fired, or a stat of the WAL differs. A full sync also runs while a
  // time-based checkpoint may be due. The watch is re-armed before the sync reads the WAL, so a write the
  // sync does not see raises a new event.
  const bool wal_event = watcher_ && interval.count() > 0 && watcher_->Arm(h.entry.db.path);
  auto wal = fs_->Stat(h.db->wal_path());
  bool changed =
      wal_event || !h.have_wal_stat || !wal.ok() || wal->size != h.wal_size || wal->mtime != h.wal_mtime;
  bool checkpoint_pending =
      h.db->options().checkpoint_interval.count() > 0 && h.db->sync_state().synced_since_checkpoint;
  // Without monitoring (interval 0) the job only runs when SyncNow asks.
  const SteadyTime next_check = interval.count() > 0 ? now + interval : Job::kNever;
  bool requested = false;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    requested = std::exchange(h.sync_requested, false);
    if (!requested && ((!changed && !checkpoint_pending) || interval.count() == 0)) return next_check;
    h.syncs_started++;
  }

  // Kicks that arrive while this sync runs wait for the spacing, instead of re-running it right after.
  const DbHandle::SpacingState spacing_before = h.spacing;
  if (changed) scheduler_->SetKickFloor(h.sync_job.get(), now + h.NextSyncSpacing(now, interval));
  auto result = SyncDatabase(h);
  if (const auto end = std::chrono::steady_clock::now(); changed && h.WalGrowingFast(end)) {
    h.hand_off_until = (end + 2 * h.spacing.sync_spacing).time_since_epoch().count();
    scheduler_->WakeAt(h.hand_off_job.get(), end + kHandOffInterval);
  }
  {
    std::lock_guard<std::mutex> lock(h.mu);
    h.syncs_finished++;
    h.last_sync_status = result.status();
    if (result.ok()) h.last_sync_at = Now(clock_);
  }
  h.progress.notify_all();
  if (!result.ok()) {
    milliseconds wait = h.sync_backoff.Fail(interval);
    h.have_wal_stat = false;
    if (h.sync_backoff.ShouldLog()) {
      logger_.Error("sync error", {{"db", h.entry.db.path},
                                   {"error", result.status().message()},
                                   {"retry_in_ms", std::to_string(wait.count())}});
    }
    h.SetError(result.status().message());
    return interval.count() > 0 ? std::chrono::steady_clock::now() + wait : Job::kNever;
  }
  h.sync_backoff.Reset();
  auto after = fs_->Stat(h.db->wal_path());
  h.have_wal_stat = after.ok();
  if (after.ok()) {
    h.wal_size = after->size;
    h.wal_mtime = after->mtime;
  }
  if (changed && *result == 0 && interval.count() > 0) {
    // The write that woke it belongs to a transaction not committed yet: SQLite writes a big transaction's
    // pages to the WAL as its cache fills, before the commit. Held off a whole spacing, the first sync of
    // a bulk burst found 20-30 MB, a hand-off that big went to our own backfill, and the backfill rounds
    // then chased the burst to its end (twice the CPU per byte). So this sync does not count for the
    // spacing, and the next one looks again soon: 10, 20, 40 ms... up to the spacing's base, while
    // transactions stay uncommitted.
    h.spacing = spacing_before;
    h.last_sync_without_commit = now;
    const milliseconds retry = std::min(interval / kSyncSpacingDivisor,
                                        kWatchCoalesce * (1 << std::min(h.syncs_without_commit++, 4)));
    const SteadyTime next = std::chrono::steady_clock::now() + retry;
    scheduler_->SetKickFloor(h.sync_job.get(), next);
    return next;
  }
  h.syncs_without_commit = 0;
  return interval.count() > 0 ? std::chrono::steady_clock::now() + interval : Job::kNever;
}

SteadyTime Store::RunHandOff(DbHandle& h) {
  const auto now = std::chrono::steady_clock::now();
  if (now.time_since_epoch().count() >= h.hand_off_until.load()) return Job::kNever;
  if (Status s = h.db->AdvanceReadLockIfIdle(); !s.ok()) {
    logger_.Debug("read lock not advanced", {{"db", h.entry.db.path}, {"error", s.message()}});
  }
  return now + kHandOffInterval;
}

SteadyTime Store::RunUpload(DbHandle& h) {
  const bool replica_was_empty = h.replica->CachedPos() == 0;
  auto result = h.replica->Sync();
  struct Notify {
    DbHandle& h;
    ~Notify() { h.progress.notify_all(); }  // success or not: waiters re-check (and see last_error)
  } notify{h};
  if (!result.ok()) {
    milliseconds wait = h.upload_backoff.Fail(h.entry.replica.sync_interval);
    if (h.upload_backoff.ShouldLog()) {
      logger_.Error("replica sync error", {{"db", h.entry.db.path},
                                           {"error", result.status().message()},
                                           {"retry_in_ms", std::to_string(wait.count())}});
    }
    h.SetError(result.status().message());
    return std::chrono::steady_clock::now() + wait;
  }
  h.upload_backoff.Reset();
  h.SetError("");
  {
    std::lock_guard<std::mutex> lock(h.mu);
    TXID pos = h.replica->CachedPos();
    auto& l0 = h.max_by_level[0];
    if (pos > l0.max_txid) l0 = LtxFileInfo{0, pos, pos, 0, Now(clock_)};
  }
  if (replica_was_empty && h.replica->CachedPos() != 0 && h.snapshot_job)
    scheduler_->Kick(h.snapshot_job.get());
  if (*result) return std::chrono::steady_clock::now();  // more to upload
  // Caught up: the database kicks this job when it writes a new L0. The interval is a safety net.
  return std::chrono::steady_clock::now() + h.entry.replica.sync_interval;
}

SteadyTime Store::RunCompaction(DbHandle& h, int level) {
  milliseconds interval = LevelInterval(level);
  if (h.db->page_size() == 0) return std::chrono::steady_clock::now() + kNotReadyRetry;
  auto result = Compact(h, level, /*respect_schedule=*/true);
  if (!result.ok() && stop_.stop_requested() && result.status().code() == StatusCode::kCancelled) {
    logger_.Debug("compaction interrupted by shutdown",
                  {{"db", h.entry.db.path}, {"level", std::to_string(level)}});
  } else if (!result.ok()) {
    logger_.Error(
        "compaction failed",
        {{"db", h.entry.db.path}, {"level", std::to_string(level)}, {"error", result.status().message()}});
  }
  SystemTime now = Now(clock_);
  return std::chrono::steady_clock::now() + (NextCompactionAt(now, interval) - now);
}

SteadyTime Store::RunSnapshot(DbHandle& h) {
  if (h.db->page_size() == 0) {
    if (++h.snapshot_not_ready == kNotReadyWarnAttempts) {
      logger_.Warn("database not ready for a snapshot yet", {{"db", h.entry.db.path}});
    }
    return std::chrono::steady_clock::now() + kNotReadyRetry;
  }
  SystemTime now = Now(clock_);
  Status s;
  auto dst = MaxFileInfo(h, kSnapshotLevel);
  auto pos = h.db->Pos();
  if (!dst.ok())
    s = dst.status();
  else if (!pos.ok())
    s = pos.status();
  else if (*pos == 0) {
    // Once the replica holds the first L0, the local copy is moments from being staged (Database::
    // StagingStream::Complete): look again soon, so that the level-9 copy follows the first L0 at once.
    const bool staging = h.replica->CachedPos() != 0 && !h.db->replica_may_be_ahead();
    return std::chrono::steady_clock::now() + (staging ? kStagingRetry : kNotReadyRetry);
  } else if (h.replica->CachedPos() == 0)
    // Nothing is on the replica yet: the first L0 (itself a snapshot) goes first. Uploading both at
    // once split the bandwidth and delayed the first restorable backup (1 GiB: 1.9 s -> 2.9 s). The
    // upload job kicks this one when it lands.
    return std::chrono::steady_clock::now() + kNotReadyRetry;
  else if (dst->created_at <= PrevCompactionAt(now, options_.snapshot_interval) &&
           !(dst->max_txid != 0 && dst->max_txid >= *pos)) {
    s = Snapshot(h).status();
  }
  if (s.ok()) s = EnforceSnapshotRetention(h);
  if (!s.ok()) {
    logger_.Error("snapshot failed", {{"db", h.entry.db.path}, {"error", s.message()}});
    return std::chrono::steady_clock::now() + kNotReadyRetry * 60;
  }
  now = Now(clock_);
  return std::chrono::steady_clock::now() + (NextCompactionAt(now, options_.snapshot_interval) - now);
}

SteadyTime Store::RunL0Retention(DbHandle& h) {
  const auto now = std::chrono::steady_clock::now();
  const auto next = now + options_.l0_retention_check_interval;
  // An idle database costs no remote requests: with no new upload and no new L1 file since the last pass,
  // only the passage of time can make more L0 files eligible, and one pass after l0_retention has seen to
  // that; until something changes again, there is nothing to do.
  const TXID uploaded = h.replica->CachedPos();
  TXID l1 = 0;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    if (auto it = h.max_by_level.find(1); it != h.max_by_level.end()) l1 = it->second.max_txid;
  }
  const bool changed = uploaded != h.l0_checked_uploaded || l1 != h.l0_checked_l1;
  if (!changed && (h.l0_settled || now < h.l0_recheck_at)) return next;
  Status s = EnforceL0Retention(h);
  if (!s.ok()) {
    logger_.Error("l0 retention failed", {{"db", h.entry.db.path}, {"error", s.message()}});
    return next;
  }
  h.l0_settled = !changed;
  h.l0_checked_uploaded = uploaded;
  h.l0_checked_l1 = l1;
  h.l0_recheck_at = now + options_.l0_retention;
  return next;
}

// ---------------------------------------------------------------------------------------------------
// Compaction, snapshots and retention (§4)

Result<LtxFileInfo> Store::MaxFileInfo(DbHandle& h, int level) {
  {
    std::lock_guard<std::mutex> lock(h.mu);
    auto it = h.max_by_level.find(level);
    if (it != h.max_by_level.end()) return it->second;
  }
  LS_ASSIGN_OR_RETURN(auto files, h.replica->client().List(level, 0));
  LtxFileInfo max;
  max.level = level;
  for (const auto& f : files) {
    if (f.max_txid >= max.max_txid) max = f;
  }
  std::lock_guard<std::mutex> lock(h.mu);
  h.max_by_level[level] = max;
  return max;
}

Result<LtxFileInfo> Store::Compact(DbHandle& h, int level, bool respect_schedule) {
  StorageClient& client = h.replica->client();
  SystemTime now = Now(clock_);
  LS_ASSIGN_OR_RETURN(LtxFileInfo dst, MaxFileInfo(h, level));
  if (respect_schedule && dst.created_at > PrevCompactionAt(now, LevelInterval(level))) {
    return LtxFileInfo{};  // compacted since the last boundary already (e.g. before a restart)
  }
  LS_ASSIGN_OR_RETURN(LtxFileInfo src, MaxFileInfo(h, level - 1));
  if (src.max_txid <= dst.max_txid) return LtxFileInfo{};  // nothing new

  LS_ASSIGN_OR_RETURN(auto files, client.List(level - 1, dst.max_txid + 1));
  if (files.empty()) return LtxFileInfo{};
  std::vector<std::unique_ptr<Reader>> readers;
  std::vector<ltx::MergeInput> inputs;
  for (const auto& f : files) {
    // Prefer the local copy (only L0 has one): immune to eventual consistency and partial remote reads
    // (#760).
    std::unique_ptr<Reader> in;
    if (level - 1 == 0) {
      auto local = h.db->OpenLocalLtx(0, f.min_txid, f.max_txid);
      if (local.ok())
        in = std::move(*local);
      else if (!local.status().IsNotFound())
        return local.status();
    }
    if (!in) {
      in = std::make_unique<ResumableReader>(
          client, f, ReadRetryPolicy{}, [this](milliseconds d) { InterruptibleSleep(d, stop_.get_token()); },
          stop_.get_token());
    }
    inputs.push_back(
        {in.get(), "level " + std::to_string(f.level) + " " + FormatLtxFilename(f.min_txid, f.max_txid)});
    readers.push_back(std::move(in));
  }
  ltx::MergeIterator merge(std::move(inputs));
  LS_RETURN_IF_ERROR(merge.Open());
  ltx::EncodingReader merged(merge, h.db->options().page_encoding);
  LS_ASSIGN_OR_RETURN(LtxFileInfo info,
                      client.Write(level, merge.header().min_txid, merge.header().max_txid, merged));
  {
    std::lock_guard<std::mutex> lock(h.mu);
    h.max_by_level[level] = info;
  }
  logger_.Info("compaction complete", {{"db", h.entry.db.path},
                                       {"level", std::to_string(level)},
                                       {"min_txid", FormatTXID(info.min_txid)},
                                       {"max_txid", FormatTXID(info.max_txid)}});
  if (level == 1) {
    Status s = EnforceL0Retention(h);
    if (!s.ok()) logger_.Error("l0 retention failed", {{"db", h.entry.db.path}, {"error", s.message()}});
  }
  return info;
}

Result<LtxFileInfo> Store::Snapshot(DbHandle& h) {
  LtxFileInfo info;
  TXID txid = 0;
  // The first L0 file (TXID 1) is a snapshot already, byte for byte what a level-9 snapshot at TXID 1
  // holds: upload it instead of reading and compressing the whole database a second time.
  std::unique_ptr<Reader> first;
  if (auto pos = h.db->Pos(); pos.ok() && *pos == 1) {
    auto local = h.db->OpenLocalLtx(0, 1, 1);
    if (local.ok()) first = std::move(*local);
  }
  if (first) {
    txid = 1;
    LS_ASSIGN_OR_RETURN(info, h.replica->client().Write(kSnapshotLevel, 1, 1, *first));
  } else {
    LS_ASSIGN_OR_RETURN(auto reader, h.db->OpenSnapshot());
    txid = reader->txid();
    LS_ASSIGN_OR_RETURN(info, h.replica->client().Write(kSnapshotLevel, 1, txid, *reader));
  }
  {
    std::lock_guard<std::mutex> lock(h.mu);
    h.max_by_level[kSnapshotLevel] = info;
  }
  ReleasePooledScratchBuffers();  // a snapshot comes once a day: its copy buffers need not wait for it
  logger_.Info("snapshot complete",
               {{"db", h.entry.db.path}, {"txid", FormatTXID(txid)}, {"size", std::to_string(info.size)}});
  return info;
}

Status Store::EnforceSnapshotRetention(DbHandle& h) {
  StorageClient& client = h.replica->client();
  SystemTime cutoff = Now(clock_) - options_.snapshot_retention;
  LS_ASSIGN_OR_RETURN(auto snapshots, client.List(kSnapshotLevel, 0));
  std::vector<LtxFileInfo> doomed;
  size_t first_retained = 0;
  for (size_t i = 0; i + 1 < snapshots.size(); i++) {  // never the newest
    if (snapshots[i].created_at >= cutoff) break;
    doomed.push_back(snapshots[i]);
    first_retained = i + 1;
  }
  if (doomed.empty()) return Status::OK();
  // Conservative floor (#1325): keep what a restore based on the newest deleted snapshot might still need.
  const TXID min_snapshot_txid = snapshots[first_retained - 1].max_txid;
  auto remove = [&](const std::vector<LtxFileInfo>& files) -> Status {
    if (files.empty()) return Status::OK();
    if (options_.retention_enabled) LS_RETURN_IF_ERROR(client.Remove(files));
    h.db->RemoveLocalLtx(files);
    return Status::OK();
  };
  LS_RETURN_IF_ERROR(remove(doomed));
  for (int level = 1; level <= static_cast<int>(options_.levels.size()); level++) {
    LS_ASSIGN_OR_RETURN(auto files, client.List(level, 0));
    std::vector<LtxFileInfo> old;
    for (size_t i = 0; i + 1 < files.size(); i++) {  // always keep the last file of a level
      if (files[i].max_txid < min_snapshot_txid) old.push_back(files[i]);
    }
    LS_RETURN_IF_ERROR(remove(old));
  }
  return Status::OK();
}

// A replica whose files were deleted behind our back (a bucket emptied, a directory removed) would
// otherwise keep receiving L0 files that chain to nothing. Detected from listings retention makes anyway:
// the replica holds less than we uploaded, or its L0 files start after a gap with no level above them.
Status Store::CheckReplicaIntact(DbHandle& h, TXID uploaded, const std::vector<LtxFileInfo>& l0,
                                 TXID max_l1) {
  TXID remote_max = l0.empty() ? 0 : l0.back().max_txid;
  bool lost = uploaded > 0 && remote_max < uploaded;
  if (!lost && !l0.empty() && l0.front().min_txid > max_l1 + 1) {
    LS_ASSIGN_OR_RETURN(auto snapshots, h.replica->client().List(kSnapshotLevel, 0));
    TXID max_snapshot = snapshots.empty() ? 0 : snapshots.back().max_txid;
    lost = l0.front().min_txid > max_snapshot + 1;
  }
  if (!lost) return Status::OK();
  logger_.Error("replica has lost files; re-basing it with a new snapshot",
                {{"db", h.entry.db.path},
                 {"uploaded_txid", FormatTXID(uploaded)},
                 {"replica_txid", FormatTXID(remote_max)}});
  {
    std::lock_guard<std::mutex> lock(h.mu);
    h.max_by_level.clear();
  }
  h.replica->ResetPos();
  LS_RETURN_IF_ERROR(h.replica->Rebase());
  return Status::FailedPrecondition("replica was re-based; retention skipped this round");
}

Status Store::EnforceL0Retention(DbHandle& h) {
  if (options_.l0_retention.count() <= 0) return Status::OK();
  StorageClient& client = h.replica->client();
  const TXID uploaded = h.replica->CachedPos();  // before listing: uploads may finish meanwhile
  LS_ASSIGN_OR_RETURN(auto l1, client.List(1, 0));
  TXID max_l1 = 0;
  for (const auto& f : l1) max_l1 = std::max(max_l1, f.max_txid);
  if (max_l1 == 0) {
    LS_ASSIGN_OR_RETURN(auto l0_only, client.List(0, 0));
    return CheckReplicaIntact(h, uploaded, l0_only, 0);
  }
  const SystemTime threshold = Now(clock_) - options_.l0_retention;
  LS_ASSIGN_OR_RETURN(auto l0, client.List(0, 0));
  LS_RETURN_IF_ERROR(CheckReplicaIntact(h, uploaded, l0, max_l1));
  std::vector<LtxFileInfo> doomed;
  bool reached_end = true;
  for (const auto& f : l0) {
    SystemTime created = f.created_at.time_since_epoch().count() != 0 ? f.created_at : threshold;
    if (created > threshold) {  // stop at the first recent file: never leave a gap for VFS readers
      reached_end = false;
      break;
    }
    if (f.max_txid <= max_l1) doomed.push_back(f);
  }
  // The newest L0 is the replica position: keep it.
  if (reached_end && !doomed.empty() && !l0.empty() && doomed.back() == l0.back()) doomed.pop_back();
  if (doomed.empty()) return Status::OK();
  if (options_.retention_enabled) LS_RETURN_IF_ERROR(client.Remove(doomed));
  h.db->RemoveLocalLtx(doomed);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------
// One-shot passes

std::vector<std::shared_ptr<Store::DbHandle>> Store::Handles() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<DbHandle>> handles;
  for (const auto& [path, h] : dbs_) handles.push_back(h);
  return handles;
}

Status Store::SyncAll() {
  auto handles = Handles();
  Status first;
  for (const auto& h : handles) {
    Status s = SyncDatabase(*h).status();
    if (s.ok()) s = h->replica->Sync(/*unlimited=*/true).status();
    if (!s.ok() && first.ok()) first = s.WithContext(h->entry.db.path);
  }
  return first;
}

Status Store::SnapshotAll() {
  auto handles = Handles();
  Status first;
  for (const auto& h : handles) {
    Status s = Snapshot(*h).status();
    if (!s.ok() && first.ok()) first = s.WithContext(h->entry.db.path);
  }
  return first;
}

Status Store::CompactAll(int level) {
  auto handles = Handles();
  Status first;
  for (const auto& h : handles) {
    Status s = Compact(*h, level, /*respect_schedule=*/false).status();
    if (!s.ok() && first.ok()) first = s.WithContext(h->entry.db.path);
  }
  return first;
}

Status Store::EnforceRetentionAll() {
  auto handles = Handles();
  Status first;
  for (const auto& h : handles) {
    Status s = EnforceSnapshotRetention(*h);
    if (s.ok()) s = EnforceL0Retention(*h);
    if (!s.ok() && first.ok()) first = s.WithContext(h->entry.db.path);
  }
  return first;
}

}  // namespace litestream
