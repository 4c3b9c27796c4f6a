// The embeddable replication service: what `litestream replicate` runs, as a library. An application
// builds it from YAML bytes (say, decrypted from its own database) or from a Config, starts it beside its
// own SQLite use, and stops it with a deadline. No process-global state: logs go to the sink the host
// injects, and the library installs no signal handler, changes no environment variable and never exits.
//
// Rules for running it inside an application (docs/library.md):
// - Link one SQLite into the process (POSIX locks are per process: a second SQLite library closing its
//   own descriptor of the database file drops the locks of the first). The service reads pages through
//   SQLite's own file handle, so it adds no descriptor of its own.
// - Keep the application's connections in WAL mode with a busy timeout; ApplyRecommendedPragmas does it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/config.h"
#include "litestream/log.h"
#include "litestream/restore.h"
#include "litestream/status.h"
#include "litestream/storage.h"

struct sqlite3;

namespace litestream {

struct ServiceOptions {
  // Receives every log line of this instance. Null: logs are discarded.
  std::shared_ptr<LogSink> log_sink;
  // Lines below this level are dropped before they reach the sink. Unset: the config's logging.level.
  std::optional<LogLevel> log_level;
};

// One database as seen by the service.
struct DatabaseStatus {
  std::string path;
  std::string replica;  // where it replicates to ("file:///backups/app", "s3://bucket/app")
  TXID local_txid = 0;
  TXID replica_txid = 0;
  bool in_sync = false;
  SystemTime last_sync_at{};
  std::chrono::milliseconds lag{0};  // age of the oldest local change not yet on the replica
  std::string last_error;            // empty when the last sync and upload succeeded
};

struct SyncOutcome {
  TXID txid = 0;             // local position once everything committed before the call was synced
  TXID replicated_txid = 0;  // the replica's position on return
};

class Service {
 public:
  // Parses YAML (litestream.yml syntax). With options.expand_env false nothing is expanded; see
  // ParseOptions::reject_env_references for configs that must be self-contained.
  static Result<std::unique_ptr<Service>> FromYaml(std::string_view yaml, const ParseOptions& parse,
                                                   ServiceOptions options);
  static Result<std::unique_ptr<Service>> FromConfig(Config config, ServiceOptions options);
  // From the latest Litestream config kept age-encrypted in the application's own database
  // (secure_config.h: scope "litestream", format yaml or yml, no environment references). The age
  // identity file is read once here and its bytes wiped.
  static Result<std::unique_ptr<Service>> FromConfigDb(const std::string& db_path, const std::string& age_key_path,
                                                       ServiceOptions options);

  ~Service();  // stops the service if still running (final sync with the configured timeout)
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Restores databases marked restore-if-db-not-exists, opens every database and runs a first sync of
  // each. Returns the first failure (nothing keeps running then); OK means replication is under way.
  Status Start();
  // Stops the jobs, then syncs and uploads everything one last time, retrying until `deadline`.
  // Idempotent.
  Status Stop(std::chrono::milliseconds deadline);
  bool running() const;

  // Adds or removes a database while running. Unregister does a final sync of that database.
  Status Register(const DbConfig& db);
  Status Unregister(const std::string& db_path);

  // Syncs every commit made before the call; with wait_upload also waits until the replica holds it.
  // Concurrent callers share one sync and one upload.
  Result<SyncOutcome> Sync(const std::string& db_path, bool wait_upload, std::chrono::milliseconds timeout);
  // Returns once the replica holds `txid` (Timeout otherwise).
  Status WaitReplicated(const std::string& db_path, TXID txid, std::chrono::milliseconds timeout);

  Result<DatabaseStatus> GetStatus(const std::string& db_path) const;
  std::vector<DatabaseStatus> Statuses() const;

  const Config& config() const;

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Restores `db.path` from its replica if the file does not exist, checks it with quick_check, and treats
// "the replica has no backup" as success (the application then creates a new database).
Status EnsureExists(const DbConfig& db, const Logger& logger = Logger());

// Puts one of the application's connections in the configuration replication expects: WAL mode,
// busy_timeout (ms), synchronous=NORMAL and, when the service runs in the same process (it then owns
// checkpointing), wal_autocheckpoint=0.
struct RecommendedPragmas {
  int busy_timeout_ms = 5000;
  bool disable_autocheckpoint = true;
};
Status ApplyRecommendedPragmas(sqlite3* db, const RecommendedPragmas& pragmas = {});

}  // namespace litestream
