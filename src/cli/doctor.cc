// litestream doctor [-config PATH] [-no-expand-env] [-json] DB_PATH [REPLICA_URL]: checks a database and
// its replication set-up (journal mode, page size, WAL size, local sidecar state, replica reachability and
// position) and says what to change. Reads files only; never opens the database through SQLite, so it
// is safe beside a live application. Exit code 1 when something is wrong.
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "cli/cli.h"
#include "storage/registry.h"
#include "util/file_system.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The doctor command checks a database and its replication set-up and says what to change.

Usage:

	litestream doctor [arguments] DB_PATH [REPLICA_URL]

Arguments:

	-config PATH
	    Specifies the configuration file (used to find DB_PATH's replica
	    when no REPLICA_URL is given). Defaults to )" +
         DefaultConfigPath() + R"(

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-json
	    Output raw JSON instead of human-readable text.

)";
}

enum class Level { kOk, kInfo, kWarn, kError };

const char* LevelName(Level l) {
  switch (l) {
    case Level::kOk: return "ok";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

struct Finding {
  Level level;
  std::string check, detail, fix;
};

constexpr int64_t kLargeWalBytes = int64_t{256} << 20;

std::vector<Finding> Examine(const std::string& db_path, const std::optional<DbConfig>& db,
                             const std::optional<ReplicaConfig>& replica) {
  std::vector<Finding> out;
  FileSystem* fs = FileSystem::Default();
  auto info = fs->Stat(db_path);
  if (!info.ok()) {
    out.push_back({Level::kError, "database", "cannot stat " + db_path + ": " + info.status().message(),
                   "check the path; `litestream restore` can recreate it from its replica"});
    return out;
  }
  uint8_t header[100] = {0};
  size_t got = 0;
  if (auto file = fs->OpenRandomAccess(db_path); file.ok()) {
    auto n = (*file)->ReadAt(0, header, sizeof(header));
    got = n.ok() ? *n : 0;
  }
  if (got < sizeof(header) || std::memcmp(header, "SQLite format 3", 16) != 0) {
    out.push_back({Level::kError, "database", db_path + " is not a SQLite database (bad header)", ""});
    return out;
  }
  uint32_t page_size = (uint32_t{header[16]} << 8) | header[17];
  if (page_size == 1) page_size = 65536;
  out.push_back({Level::kOk, "database", "SQLite database, " + std::to_string(info->size) + " bytes", ""});
  out.push_back({Level::kInfo, "page size", std::to_string(page_size) + " bytes", ""});
  if (header[18] != 2 || header[19] != 2) {
    out.push_back({Level::kError, "journal mode", "not in WAL mode: Litestream replicates the WAL",
                   "run `PRAGMA journal_mode=wal;` once (it persists), or let `litestream replicate` set it"});
  } else {
    out.push_back({Level::kOk, "journal mode", "wal", ""});
  }

  if (auto wal = fs->Stat(db_path + "-wal"); wal.ok()) {
    const int64_t size = static_cast<int64_t>(wal->size);
    if (size > kLargeWalBytes) {
      out.push_back({Level::kWarn, "wal size", std::to_string(size) + " bytes",
                     "the WAL is not being checkpointed: is replication running? A long-lived read transaction "
                     "in the application also blocks checkpoints"});
    } else {
      out.push_back({Level::kOk, "wal size", std::to_string(size) + " bytes", ""});
    }
  }

  // Local sidecar state (the meta directory).
  DbConfig for_meta;
  if (db) for_meta = *db;
  for_meta.path = db_path;
  const std::string meta = EffectiveMetaPath(for_meta);
  TXID local_txid = 0;
  size_t l0_files = 0, tmp_files = 0;
  if (auto names = fs->ListDir(meta + "/ltx/0"); names.ok()) {
    for (const auto& name : *names) {
      TXID min = 0, max = 0;
      if (ParseLtxFilename(name, &min, &max)) {
        l0_files++;
        local_txid = std::max(local_txid, max);
      } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
        tmp_files++;
      }
    }
    out.push_back({Level::kOk, "local state",
                   meta + ": " + std::to_string(l0_files) + " L0 files, local TXID " + FormatTXID(local_txid), ""});
    if (tmp_files > 0) {
      out.push_back({Level::kInfo, "local state", std::to_string(tmp_files) + " leftover *.tmp files",
                     "harmless: they are swept when replication starts"});
    }
  } else {
    out.push_back({Level::kWarn, "local state", "no " + meta + " directory: this database has not been replicated here",
                   "start `litestream replicate` for it"});
  }

  if (!replica) {
    out.push_back({Level::kWarn, "replica", "no replica given and none configured for this database",
                   "pass a REPLICA_URL or a -config that lists the database"});
  } else {
    auto client = NewStorageClient(*replica);
    if (!client.ok()) {
      out.push_back({Level::kError, "replica", client.status().message(), "fix the replica configuration"});
    } else {
      auto l0 = (*client)->List(0, 0);
      auto snapshots = l0.ok() ? (*client)->List(kSnapshotLevel, 0) : l0;
      if (!l0.ok() || !snapshots.ok()) {
        const Status& s = !l0.ok() ? l0.status() : snapshots.status();
        out.push_back({Level::kError, "replica", "cannot read " + (*client)->Describe() + ": " + s.message(),
                       "check the address, credentials and network"});
      } else {
        const TXID remote = l0->empty() ? 0 : l0->back().max_txid;
        out.push_back({Level::kOk, "replica", (*client)->Describe() + " reachable, replica TXID " + FormatTXID(remote),
                       ""});
        if (snapshots->empty()) {
          out.push_back({Level::kWarn, "snapshots", "the replica has no snapshot yet",
                         "normal right after the first start; otherwise check the replicate logs"});
        }
        if (local_txid > remote) {
          out.push_back({Level::kWarn, "lag", std::to_string(local_txid - remote) + " local L0 files not on the replica",
                         "is `litestream replicate` running and able to upload?"});
        }
      }
    }
  }
  out.push_back({Level::kInfo, "application",
                 "connections should use busy_timeout=5000 and synchronous=NORMAL; with replication in the same "
                 "process also wal_autocheckpoint=0",
                 "litestream::ApplyRecommendedPragmas() does all three (docs/library.md)"});
  return out;
}

}  // namespace

int RunDoctor(const Args& args) {
  FlagSet fs("doctor", Usage());
  std::string config_path;
  bool no_expand_env = false, json = false;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.Bool("json", &json);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (fs.args().empty() || fs.args().size() > 2) return PrintError("usage: litestream doctor [arguments] DB_PATH [REPLICA_URL]");
  auto path = ExpandPath(fs.args()[0]);
  if (!path.ok()) return PrintError(path.status());
  const std::string db_path = std::filesystem::absolute(*path).lexically_normal().string();

  std::optional<DbConfig> db;
  std::optional<ReplicaConfig> replica;
  if (fs.args().size() == 2) {
    auto r = ParseReplicaURL(fs.args()[1]);
    if (!r.ok()) return PrintError(r.status());
    replica = *r;
  } else {
    auto config = LoadCliConfig(config_path, no_expand_env);
    if (config.ok()) {
      for (const auto& d : config->dbs) {
        if (d.path == db_path) {
          db = d;
          replica = d.replica;
        }
      }
    }
  }

  const std::vector<Finding> findings = Examine(db_path, db, replica);
  bool failed = false;
  for (const auto& f : findings) failed |= f.level == Level::kError;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : findings) {
      out.push_back({{"level", LevelName(f.level)}, {"check", f.check}, {"detail", f.detail}, {"fix", f.fix}});
    }
    std::printf("%s\n", nlohmann::json{{"database", db_path}, {"ok", !failed}, {"findings", out}}.dump(2).c_str());
  } else {
    std::vector<std::vector<std::string>> rows{{"level", "check", "detail"}};
    for (const auto& f : findings) {
      rows.push_back({LevelName(f.level), f.check, f.detail});
      if (!f.fix.empty()) rows.push_back({"", "", "-> " + f.fix});
    }
    PrintTable(stdout, rows);
  }
  return failed ? 1 : 0;
}

}  // namespace litestream::cli
