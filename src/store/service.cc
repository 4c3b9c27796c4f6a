// litestream::Service: the Store behind the public library API (include/litestream/service.h).
#include "litestream/service.h"

#include <sqlite3.h>

#include <filesystem>
#include <mutex>

#include "storage/registry.h"
#include "store/config_entries.h"
#include "store/store.h"

namespace litestream {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kFirstSyncTimeout{60'000};

Logger MakeServiceLogger(const Config& config, const ServiceOptions& options) {
  LogLevel level = LogLevel::kInfo;
  if (options.log_level) {
    level = *options.log_level;
  } else {
    ParseLogLevel(config.logging.level, &level);
  }
  return Logger(options.log_sink ? options.log_sink : NewNullLogSink(), level);
}

DatabaseStatus ToDatabaseStatus(const DbStatus& s) {
  DatabaseStatus out;
  out.path = s.path;
  out.replica = s.replica;
  out.local_txid = s.local_txid;
  out.replica_txid = s.replica_txid;
  out.in_sync = s.in_sync;
  out.last_sync_at = s.last_sync_at;
  out.lag = s.lag;
  out.last_error = s.last_error;
  return out;
}

}  // namespace

Status RestoreIfMissing(const DbEntry& entry, const Logger& logger) {
  std::error_code ec;
  if (std::filesystem::exists(entry.db.path, ec)) return Status::OK();
  RestoreOptions o;
  o.output_path = entry.db.path;
  o.if_replica_exists = true;
  o.integrity_check = IntegrityCheck::kQuick;
  o.logger = logger;
  auto r = Restore(*entry.client, o);
  if (!r.ok()) return r.status().WithContext("restore " + entry.db.path);
  if (r->outcome == RestoreResult::Outcome::kRestored) {
    logger.Info("restored database before replication", {{"db", entry.db.path}, {"txid", FormatTXID(r->txid)}});
  } else {
    logger.Info("no backup to restore, database will be created", {{"db", entry.db.path}});
  }
  return Status::OK();
}

struct Service::Impl {
  Config config;
  Logger logger;
  mutable std::mutex mu;  // guards `store` (start/stop against the other calls)
  // Shared: a Sync or WaitReplicated in progress keeps the Store alive while Stop() closes it (Close wakes
  // them; they return Cancelled).
  std::shared_ptr<Store> store;

  Result<std::shared_ptr<Store>> Running() const {
    std::lock_guard<std::mutex> lock(mu);
    if (!store) return Status::FailedPrecondition("litestream service is not running");
    return store;
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() {
  if (running()) (void)Stop(impl_->config.shutdown_sync_timeout);
}

Result<std::unique_ptr<Service>> Service::FromYaml(std::string_view yaml, const ParseOptions& parse,
                                                   ServiceOptions options) {
  LS_ASSIGN_OR_RETURN(Config config, ParseConfig(yaml, parse));
  return FromConfig(std::move(config), std::move(options));
}

Result<std::unique_ptr<Service>> Service::FromConfig(Config config, ServiceOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->logger = MakeServiceLogger(config, options);
  impl->config = std::move(config);
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

const Config& Service::config() const { return impl_->config; }

bool Service::running() const { return impl_->Running().ok(); }

Status Service::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->store) return Status::FailedPrecondition("litestream service already started");
  const Logger& logger = impl_->logger;
  LS_ASSIGN_OR_RETURN(auto entries, DbEntriesFromConfig(impl_->config));
  for (size_t i = 0; i < entries.size() && i < impl_->config.dbs.size(); i++) {
    if (impl_->config.dbs[i].restore_if_db_not_exists) LS_RETURN_IF_ERROR(RestoreIfMissing(entries[i], logger));
  }
  auto store = std::make_shared<Store>(StoreOptionsFromConfig(impl_->config), logger);
  Status s;
  for (auto& e : entries) {
    const std::string path = e.db.path;
    const std::string replica = e.client->Describe();
    s = store->AddDatabase(std::move(e));
    // The first sync surfaces what would otherwise only be logged later: a database that cannot be put in
    // WAL mode, an unwritable meta directory, a corrupt file.
    if (s.ok()) s = store->SyncNow(path, /*upload=*/false, kFirstSyncTimeout).status();
    if (!s.ok()) {
      s = s.WithContext(path);
      break;
    }
    logger.Info("replicating", {{"db", path}, {"replica", replica}});
  }
  if (!s.ok()) {
    (void)store->Close(milliseconds(0));
    return s;
  }
  impl_->store = std::move(store);
  return Status::OK();
}

Status Service::Stop(milliseconds deadline) {
  std::shared_ptr<Store> store;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    store = std::move(impl_->store);
  }
  if (!store) return Status::OK();
  Status s = store->Close(deadline);
  impl_->logger.Info("litestream service stopped");
  return s;
}

Status Service::Register(const DbConfig& db) {
  LS_ASSIGN_OR_RETURN(auto store, impl_->Running());
  if (db.path.empty()) return Status::InvalidArgument("register: a database path is required");
  LS_ASSIGN_OR_RETURN(DbEntry entry, MakeDbEntry(db, EffectiveMetaPath(db)));
  if (db.restore_if_db_not_exists) LS_RETURN_IF_ERROR(RestoreIfMissing(entry, impl_->logger));
  const std::string replica = entry.client->Describe();
  LS_RETURN_IF_ERROR(store->AddDatabase(std::move(entry)));
  impl_->logger.Info("replicating", {{"db", db.path}, {"replica", replica}});
  return Status::OK();
}

Status Service::Unregister(const std::string& db_path) {
  LS_ASSIGN_OR_RETURN(auto store, impl_->Running());
  return store->RemoveDatabase(db_path);
}

Result<SyncOutcome> Service::Sync(const std::string& db_path, bool wait_upload, milliseconds timeout) {
  LS_ASSIGN_OR_RETURN(auto store, impl_->Running());
  LS_ASSIGN_OR_RETURN(SyncResult r, store->SyncNow(db_path, wait_upload, timeout));
  return SyncOutcome{r.txid, r.replicated_txid};
}

Status Service::WaitReplicated(const std::string& db_path, TXID txid, milliseconds timeout) {
  LS_ASSIGN_OR_RETURN(auto store, impl_->Running());
  return store->WaitReplicated(db_path, txid, timeout);
}

Result<DatabaseStatus> Service::GetStatus(const std::string& db_path) const {
  LS_ASSIGN_OR_RETURN(auto store, impl_->Running());
  LS_ASSIGN_OR_RETURN(DbStatus s, store->StatusOf(db_path));
  return ToDatabaseStatus(s);
}

std::vector<DatabaseStatus> Service::Statuses() const {
  std::vector<DatabaseStatus> out;
  auto store = impl_->Running();
  if (!store.ok()) return out;
  for (const auto& s : (*store)->Statuses()) out.push_back(ToDatabaseStatus(s));
  return out;
}

Status EnsureExists(const DbConfig& db, const Logger& logger) {
  if (db.path.empty()) return Status::InvalidArgument("ensure exists: a database path is required");
  LS_ASSIGN_OR_RETURN(DbEntry entry, MakeDbEntry(db, EffectiveMetaPath(db)));
  LS_RETURN_IF_ERROR(RestoreIfMissing(entry, logger));
  std::error_code ec;
  if (!std::filesystem::exists(db.path, ec)) return Status::OK();  // no backup: the application creates it
  return CheckIntegrity(db.path, IntegrityCheck::kQuick).WithContext(db.path);
}

Status ApplyRecommendedPragmas(sqlite3* db, const RecommendedPragmas& pragmas) {
  if (db == nullptr) return Status::InvalidArgument("apply pragmas: null connection");
  int rc = sqlite3_busy_timeout(db, pragmas.busy_timeout_ms);
  if (rc != SQLITE_OK) return Status::IOError(std::string("busy_timeout: ") + sqlite3_errmsg(db));
  std::string sql = "PRAGMA journal_mode = wal; PRAGMA synchronous = NORMAL;";
  if (pragmas.disable_autocheckpoint) sql += " PRAGMA wal_autocheckpoint = 0;";
  char* err = nullptr;
  rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::IOError("apply pragmas: " + msg);
  }
  // journal_mode=wal can quietly stay "delete" (e.g. in-memory databases): check it.
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode;", -1, &stmt, nullptr);
  std::string mode;
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) mode = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  if (mode != "wal") return Status::FailedPrecondition("apply pragmas: journal_mode is \"" + mode + "\", not wal");
  return Status::OK();
}

}  // namespace litestream
