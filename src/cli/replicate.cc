// litestream replicate [flags] [DB_PATH REPLICA_URL]: runs the replication service until SIGINT/SIGTERM
// (or until the -exec child exits), then syncs and uploads everything one last time.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <atomic>
#include <thread>

#include "cli/cli.h"
#include "cli/signals.h"
#include "litestream/log.h"
#include "litestream/secure_config.h"
#include "storage/registry.h"
#include "store/config_entries.h"
#include "store/store.h"

extern char** environ;

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The replicate command starts a server to monitor & replicate databases.
You can specify your database & replicas in a configuration file or you can
replicate a single database file by specifying its path and its replicas in the
command line arguments.

Usage:

	litestream replicate [arguments]

	litestream replicate [arguments] DB_PATH REPLICA_URL

Arguments:

	-config PATH
	    Specifies the configuration file.
	    Defaults to )" +
         DefaultConfigPath() + R"(

	-config-db PATH
	    Loads the latest config (scope "litestream") from the age-encrypted
	    app_config table of this SQLite database. Requires -age-key.
	    The config may not reference environment variables.

	-age-key PATH
	    The age identity file that decrypts -config-db.

	-exec CMD
	    Executes a subcommand. Litestream will exit when the child
	    process exits. Useful for simple process management.

	-log-level LEVEL
	    Sets the log level. Overrides the config file and $LOG_LEVEL.

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-restore-if-db-not-exists
	    Restores a database from its replica before replicating it if
	    the database file does not exist.

	-once
	    Syncs every database and replica once, then exits.

	-force-snapshot
	    With -once: writes a snapshot of every database.

	-enforce-retention
	    With -once: enforces snapshot and L0 retention.

)";
}

// Splits a command line the way a POSIX shell splits words: whitespace separates, single quotes are
// literal, double quotes allow \" and \\, a backslash escapes the next character outside quotes.
Result<std::vector<std::string>> SplitWords(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) return Status::InvalidArgument("-exec: unterminated single quote");
      cur += line.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; j++) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\')) j++;
        cur += line[j];
      }
      if (j >= line.size()) return Status::InvalidArgument("-exec: unterminated double quote");
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(cur);
  if (words.empty()) return Status::InvalidArgument("-exec: empty command");
  return words;
}

Result<pid_t> SpawnChild(const std::string& command) {
  LS_ASSIGN_OR_RETURN(auto words, SplitWords(command));
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the child must not inherit our blocked signals
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "-exec " + words[0]);
  return pid;
}

Logger MakeLogger(const Config& config, const std::string& level_flag) {
  std::string level_text = config.logging.level;
  if (const char* env = std::getenv("LOG_LEVEL"); env != nullptr && *env != '\0') level_text = env;
  if (!level_flag.empty()) level_text = level_flag;
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(level_text, &level);
  return Logger(NewStreamLogSink(config.logging.to_stderr ? stderr : stdout, config.logging.type == "json"), level);
}

}  // namespace

int RunReplicate(const Args& args) {
  FlagSet fs("replicate", Usage());
  std::string config_path, config_db, age_key, exec, log_level;
  bool no_expand_env = false, restore_if_missing = false, once = false, force_snapshot = false,
       enforce_retention = false;
  fs.String("config", &config_path);
  fs.String("config-db", &config_db);
  fs.String("age-key", &age_key);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.String("exec", &exec);
  fs.String("log-level", &log_level);
  fs.Bool("restore-if-db-not-exists", &restore_if_missing);
  fs.Bool("once", &once);
  fs.Bool("force-snapshot", &force_snapshot);
  fs.Bool("enforce-retention", &enforce_retention);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  for (const auto& a : fs.args()) {
    if (!a.empty() && a[0] == '-') return PrintError("flags must be specified before positional arguments: " + a);
  }
  if (once && !exec.empty()) return PrintError("cannot specify -once with -exec");
  if ((force_snapshot || enforce_retention) && !once) {
    return PrintError("-force-snapshot and -enforce-retention require -once");
  }

  Config config;
  std::vector<DbEntry> entries;
  if (!age_key.empty() && config_db.empty()) return PrintError("-age-key requires -config-db");
  if (!fs.args().empty()) {
    if (!config_path.empty()) return PrintError("cannot specify a replica URL and the -config flag");
    if (!config_db.empty()) return PrintError("cannot specify a replica URL and the -config-db flag");
    if (fs.args().size() < 2) return PrintError("must specify at least one replica URL for " + fs.args()[0]);
    if (fs.args().size() > 2) return PrintError("only one replica URL is allowed per database");
    config = DefaultConfig();
    DbConfig db;
    auto path = ExpandPath(fs.args()[0]);
    if (!path.ok()) return PrintError(path.status());
    db.path = *path;
    auto replica = ParseReplicaURL(fs.args()[1]);
    if (!replica.ok()) return PrintError(replica.status());
    db.replica = *replica;
    config.dbs.push_back(db);
  } else if (!config_db.empty()) {
    if (!config_path.empty()) return PrintError("cannot specify both -config and -config-db");
    if (age_key.empty()) return PrintError("-config-db requires -age-key");
    auto loaded = LoadLitestreamConfig(config_db, age_key);
    if (!loaded.ok()) return PrintError(loaded.status());
    config = std::move(*loaded);
  } else {
    auto loaded = LoadCliConfig(config_path, no_expand_env);
    if (!loaded.ok()) return PrintError(loaded.status());
    config = std::move(*loaded);
  }
  if (exec.empty()) exec = config.exec;

  Logger logger = MakeLogger(config, log_level);
  auto made = DbEntriesFromConfig(config);
  if (!made.ok()) return PrintError(made.status());
  entries = std::move(*made);
  if (entries.empty()) logger.Error("no databases specified in configuration");
  if (!config.retention_enabled) logger.Warn("retention disabled: remote files are never deleted");

  // Block signals before any thread exists; they are received synchronously below.
  BlockSignals();

  std::vector<DbEntry> to_restore;
  for (size_t i = 0; i < entries.size(); i++) {
    bool per_db = i < config.dbs.size() && config.dbs[i].restore_if_db_not_exists;
    if (restore_if_missing || per_db) to_restore.push_back(entries[i]);
  }
  for (const auto& e : to_restore) {
    if (Status s = RestoreIfMissing(e, logger); !s.ok()) return PrintError(s);
  }

  StoreOptions store_options = StoreOptionsFromConfig(config);
  if (once) {
    store_options.background_jobs = false;
    store_options.watch_files = false;
    for (auto& e : entries) e.monitor_interval = std::chrono::milliseconds(0);
  }
  Store store(store_options, logger);
  if (Status s = store.Open(entries); !s.ok()) return PrintError(s);
  for (const auto& e : entries) {
    logger.Info("replicating", {{"db", e.db.path}, {"replica", e.client->Describe()}});
  }

  if (once) {
    Status s = store.SyncAll();
    if (s.ok() && force_snapshot) s = store.SnapshotAll();
    if (s.ok() && enforce_retention) s = store.EnforceRetentionAll();
    Status closed = store.Close();
    if (!s.ok()) return PrintError(s);
    return closed.ok() ? 0 : PrintError(closed);
  }

  pid_t child = 0;
  if (!exec.empty()) {
    // The child starts only once every database is synced and uploaded.
    if (Status s = store.SyncAll(); !s.ok()) logger.Warn("initial sync incomplete", {{"error", s.message()}});
    auto spawned = SpawnChild(exec);
    if (!spawned.ok()) {
      (void)store.Close();
      return PrintError(spawned.status());
    }
    child = *spawned;
    logger.Info("started child process", {{"pid", std::to_string(child)}, {"command", exec}});
  }

  int exit_code = 0;
  for (;;) {
    int sig = WaitForSignal(std::chrono::milliseconds(1000));
    if (sig == SIGINT || sig == SIGTERM) {
      logger.Info("signal received, litestream shutting down", {{"signal", strsignal(sig)}});
      if (child > 0) {
        kill(child, sig);
        int status = 0;
        waitpid(child, &status, 0);
      }
      break;
    }
    if (child > 0) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) {
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        logger.Info("child process exited", {{"code", std::to_string(exit_code)}});
        break;
      }
    }
  }
  // A second SIGINT/SIGTERM during the final sync gives up its retries.
  std::atomic<bool> closing{true};
  std::thread interrupter([&] {
    while (closing) {
      int sig = WaitForSignal(std::chrono::milliseconds(100));
      if (sig == SIGINT || sig == SIGTERM) {
        logger.Warn("second signal received, abandoning final sync retries");
        store.InterruptShutdown();
      }
    }
  });
  Status closed = store.Close();
  closing = false;
  interrupter.join();
  if (!closed.ok()) {
    logger.Error("shutdown", {{"error", closed.message()}});
    if (exit_code == 0) exit_code = 1;
  }
  logger.Info("litestream shut down");
  return exit_code;
}

}  // namespace litestream::cli
