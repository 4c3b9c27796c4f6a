// litestream status [-config PATH] [-no-expand-env] [-json] [DB_PATH]: local position, replica position
// and replication lag of each configured database (upstream shows only the local side, #958).
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli/cli.h"
#include "storage/registry.h"
#include "util/file_system.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The status command displays the replication status of databases.

Usage:

	litestream status [arguments] [DB_PATH]

Arguments:

	-config PATH
	    Specifies the configuration file.
	    Defaults to )" +
         DefaultConfigPath() + R"(

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-json
	    Output raw JSON instead of human-readable text.

)";
}

struct Row {
  std::string database, status;
  TXID local_txid = 0, replica_txid = 0;
  int64_t lag_ms = 0;  // age of the newest local L0 the replica does not have yet; 0 when caught up
  int64_t wal_size = 0;
  std::string error;
};

Row StatusOf(const DbConfig& db) {
  Row row;
  row.database = db.path;
  FileSystem* fs = FileSystem::Default();
  if (!fs->Stat(db.path).ok()) {
    row.status = "no database";
    return row;
  }
  if (auto wal = fs->Stat(db.path + "-wal"); wal.ok()) row.wal_size = static_cast<int64_t>(wal->size);
  const std::string l0_dir = EffectiveMetaPath(db) + "/ltx/0";
  std::vector<LtxFileInfo> local;
  if (auto names = fs->ListDir(l0_dir); names.ok()) {
    for (const auto& name : *names) {
      LtxFileInfo f;
      if (!ParseLtxFilename(name, &f.min_txid, &f.max_txid)) continue;
      if (auto st = fs->Stat(l0_dir + "/" + name); st.ok()) f.created_at = st->mtime;
      local.push_back(f);
    }
  }
  std::sort(local.begin(), local.end(), [](const auto& a, const auto& b) { return a.max_txid < b.max_txid; });
  if (local.empty()) {
    row.status = "not initialized";
    return row;
  }
  row.local_txid = local.back().max_txid;
  auto client = NewStorageClient(db.replica);
  auto remote = client.ok() ? (*client)->List(0, 0) : Result<std::vector<LtxFileInfo>>(client.status());
  if (!remote.ok()) {
    row.status = "error";
    row.error = remote.status().message();
    return row;
  }
  for (const auto& f : *remote) row.replica_txid = std::max(row.replica_txid, f.max_txid);
  for (const auto& f : local) {
    if (f.max_txid > row.replica_txid) {  // the oldest local file not yet replicated
      auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
      row.lag_ms = std::max<int64_t>(0, (now - f.created_at).count());
      break;
    }
  }
  row.status = "ok";
  return row;
}

}  // namespace

int RunStatus(const Args& args) {
  FlagSet fs("status", Usage());
  std::string config_path;
  bool no_expand_env = false, json = false;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.Bool("json", &json);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (fs.args().size() > 1) return PrintError("too many arguments");
  Result<Config> config = LoadCliConfig(config_path, no_expand_env);
  if (!config.ok()) return PrintError(config.status());
  std::string only;
  if (!fs.args().empty()) {
    auto p = ExpandPath(fs.args()[0]);
    if (!p.ok()) return PrintError(p.status());
    only = *p;
  }
  std::vector<Row> rows;
  for (const DbConfig& db : config->dbs) {
    if (db.path.empty() || (!only.empty() && db.path != only)) continue;
    rows.push_back(StatusOf(db));
  }
  if (!only.empty() && rows.empty()) return PrintError("database not found in config: " + only);
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      nlohmann::ordered_json j = {{"database", r.database},        {"status", r.status},
                                  {"local_txid", FormatTXID(r.local_txid)}, {"replica_txid", FormatTXID(r.replica_txid)},
                                  {"lag_ms", r.lag_ms},              {"wal_size", r.wal_size}};
      if (!r.error.empty()) j["error"] = r.error;
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> table = {{"database", "status", "local-txid", "replica-txid", "lag", "wal-size"}};
  for (const Row& r : rows) {
    table.push_back({r.database, r.error.empty() ? r.status : r.status + ": " + r.error, FormatTXID(r.local_txid),
                     FormatTXID(r.replica_txid), FormatDuration(std::chrono::milliseconds(r.lag_ms)),
                     std::to_string(r.wal_size)});
  }
  PrintTable(stdout, table);
  return 0;
}

}  // namespace litestream::cli
