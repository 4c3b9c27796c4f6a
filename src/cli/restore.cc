// litestream restore [flags] DB_PATH|REPLICA_URL: rebuilds a database from its replica, at the latest
// state, a TXID or a point in time; -f keeps following the replica.
#include <signal.h>

#include <atomic>
#include <stop_token>
#include <thread>

#include "cli/cli.h"
#include "cli/signals.h"
#include "litestream/log.h"
#include "litestream/restore.h"
#include "storage/registry.h"
#include "util/time_format.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The restore command recovers a database from a previous snapshot and WAL.

Usage:

	litestream restore [arguments] DB_PATH

	litestream restore [arguments] REPLICA_URL

Arguments:

	-config PATH
	    Specifies the configuration file.
	    Defaults to )" +
         DefaultConfigPath() + R"(

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-o PATH
	    Output path of the restored database.
	    Defaults to original DB path (required with a replica URL).

	-txid TXID
	    Restore up to a specific hex-encoded transaction ID (16 digits).

	-timestamp TIMESTAMP
	    Restore to a specific point-in-time (RFC 3339).

	-parallelism NUM
	    Accepted for compatibility; every plan file is streamed at once.

	-if-db-not-exists
	    Returns exit code of 0 if the database already exists.

	-if-replica-exists
	    Returns exit code of 0 if no backups found.

	-force
	    Overwrite an existing output database and its -wal/-shm files.

	-integrity-check MODE
	    none (default), quick or full: check the restored database.

	-dry-run
	    Prints the restore plan without restoring.

	-json
	    Prints a JSON summary (logs go to stderr).

	-f
	    Follow the replica and apply new files as they appear.

	-follow-interval DURATION
	    How often to poll the replica in follow mode. Defaults to 1s.

)";
}

}  // namespace

int RunRestore(const Args& args) {
  FlagSet fs("restore", Usage());
  std::string config_path, output, txid_text, timestamp_text, integrity = "none", follow_interval = "1s";
  bool no_expand_env = false, if_db_not_exists = false, if_replica_exists = false, dry_run = false, force = false,
       json = false, follow = false;
  int parallelism = 8;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.String("o", &output);
  fs.String("txid", &txid_text);
  fs.String("timestamp", &timestamp_text);
  fs.Int("parallelism", &parallelism);
  fs.Bool("if-db-not-exists", &if_db_not_exists);
  fs.Bool("if-replica-exists", &if_replica_exists);
  fs.Bool("dry-run", &dry_run);
  fs.Bool("force", &force);
  fs.Bool("json", &json);
  fs.Bool("f", &follow);
  fs.String("follow-interval", &follow_interval);
  fs.String("integrity-check", &integrity);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (fs.args().empty() || fs.args()[0].empty()) {
    return PrintError("database path or replica URL required", "litestream restore -o /tmp/db s3://bkt/db");
  }
  if (fs.args().size() > 1) return PrintError("too many arguments");
  const std::string target = fs.args()[0];

  RestoreOptions o;
  if (!txid_text.empty()) {
    auto txid = ParseTXID(txid_text);
    if (!txid.ok()) return PrintError(txid.status());
    o.txid = *txid;
  }
  if (!timestamp_text.empty()) {
    auto ts = ParseRFC3339(timestamp_text);
    if (!ts.ok()) return PrintError(ts.status());
    o.timestamp = *ts;
  }
  if (o.txid != 0 && o.timestamp) return PrintError("cannot specify both -txid and -timestamp");
  if (follow && (o.txid != 0 || o.timestamp)) return PrintError("cannot use follow mode with -txid or -timestamp");
  if (!ParseIntegrityCheck(integrity, &o.integrity_check)) {
    return PrintError("invalid -integrity-check \"" + integrity + "\": want none, quick or full");
  }
  auto interval = ParseDuration(follow_interval);
  if (!interval.ok() || interval->count() <= 0) return PrintError("invalid -follow-interval \"" + follow_interval + "\"");

  ReplicaConfig replica;
  if (IsURL(target)) {
    if (!config_path.empty()) return PrintError("cannot specify a replica URL and the -config flag");
    if (output.empty()) return PrintError("output path required when restoring from a replica URL", "litestream restore -o PATH URL");
    auto parsed = ParseReplicaURL(target);
    if (!parsed.ok()) return PrintError(parsed.status());
    replica = *parsed;
    o.check_timestamp_bounds = true;
  } else {
    auto config = LoadCliConfig(config_path, no_expand_env);
    if (!config.ok()) return PrintError(config.status());
    auto path = ExpandPath(target);
    if (!path.ok()) return PrintError(path.status());
    const DbConfig* found = nullptr;
    for (const auto& db : config->dbs) {
      if (db.path == *path) found = &db;
    }
    if (found == nullptr) return PrintError("database not found in config: " + *path);
    replica = found->replica;
    if (output.empty()) output = *path;
  }
  auto client = NewStorageClient(replica);
  if (!client.ok()) return PrintError(client.status());

  o.output_path = output;
  o.if_db_not_exists = if_db_not_exists;
  o.if_replica_exists = if_replica_exists;
  o.force = force;
  o.dry_run = dry_run;
  o.parallelism = parallelism;
  o.source_label = target;
  o.follow = follow;
  o.follow_interval = *interval;
  o.logger = Logger(NewStreamLogSink(json ? stderr : stdout, false), LogLevel::kInfo);

  std::stop_source stop;
  std::thread signal_thread;
  std::atomic<bool> done{false};
  if (follow) {
    BlockSignals();
    o.stop = stop.get_token();
    signal_thread = std::thread([&] {
      while (!done) {
        int sig = WaitForSignal(std::chrono::milliseconds(200));
        if (sig == SIGINT || sig == SIGTERM) {
          stop.request_stop();
          return;
        }
      }
    });
  }
  auto result = Restore(**client, o);
  done = true;
  if (signal_thread.joinable()) signal_thread.join();
  if (!result.ok()) {
    if (IsTxNotAvailable(result.status())) return PrintError("no matching backup files available: " + result.status().message());
    return PrintError(result.status());
  }

  switch (result->outcome) {
    case RestoreResult::Outcome::kSkippedOutputExists:
      o.logger.Info("database already exists, skipping", {{"path", output}});
      return 0;
    case RestoreResult::Outcome::kSkippedNoBackups:
      o.logger.Info("no matching backups found");
      return 0;
    case RestoreResult::Outcome::kDryRun:
      std::fputs((json ? RestorePlanJson(*result) + "\n" : RestorePlanText(*result)).c_str(), stdout);
      return 0;
    case RestoreResult::Outcome::kRestored:
      break;
  }
  if (json) {
    std::printf("%s\n", RestoreResultJson(*result).c_str());
  } else {
    o.logger.Info("restore complete", {{"path", output},
                                       {"txid", FormatTXID(result->txid)},
                                       {"duration_ms", std::to_string(result->duration.count())}});
  }
  return 0;
}

}  // namespace litestream::cli
