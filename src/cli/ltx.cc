// litestream ltx [-config PATH] [-no-expand-env] [-level 0-9|all] [-json] DB_PATH|REPLICA_URL
// (and the deprecated alias `wal`).
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "storage/registry.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The ltx command lists all LTX files available for a database.

Usage:

	litestream ltx [arguments] DB_PATH

	litestream ltx [arguments] REPLICA_URL

Arguments:

	-config PATH
	    Specifies the configuration file.
	    Defaults to )" +
         DefaultConfigPath() + R"(

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-level LEVEL
	    Compaction level to list (0-9 or "all").
	    Defaults to 0.

	-json
	    Output raw JSON instead of human-readable text.

Examples:

	# List all LTX files for a database.
	$ litestream ltx /path/to/db

	# List all LTX files for replica URL.
	$ litestream ltx s3://mybkt/db

	# List LTX files at snapshot level (level 9).
	$ litestream ltx -level 9 /path/to/db

	# List LTX files across all compaction levels.
	$ litestream ltx -level all /path/to/db

)";
}

// "all" -> every level 0..9; "N" -> {N}.
Result<std::vector<int>> ParseLevels(const std::string& text) {
  std::vector<int> levels;
  if (text == "all") {
    for (int l = 0; l <= kSnapshotLevel; l++) levels.push_back(l);
    return levels;
  }
  bool digits =
      !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) {
    return Status::InvalidArgument("invalid value \"" + text +
                                   "\" for flag -level: invalid level: must be 0-" +
                                   std::to_string(kSnapshotLevel) + " or \"all\"");
  }
  int n = std::stoi(text);
  if (n > kSnapshotLevel) {
    return Status::InvalidArgument("invalid value \"" + text +
                                   "\" for flag -level: level must be between 0 and " +
                                   std::to_string(kSnapshotLevel));
  }
  return std::vector<int>{n};
}

Result<ReplicaConfig> ReplicaFor(const std::string& target, const std::string& config_path,
                                 bool no_expand_env) {
  if (IsURL(target)) {
    if (!config_path.empty())
      return Status::InvalidArgument("cannot specify a replica URL and the -config flag");
    return ParseReplicaURL(target);
  }
  LS_ASSIGN_OR_RETURN(Config config, LoadCliConfig(config_path, no_expand_env));
  LS_ASSIGN_OR_RETURN(std::string path, ExpandPath(target));
  for (const DbConfig& db : config.dbs) {
    if (db.path == path) return db.replica;
  }
  return Status::NotFound("database not found in config: " + path);
}

}  // namespace

int RunLtx(const Args& args) {
  FlagSet fs("ltx", Usage());
  std::string config_path, level = "0";
  bool no_expand_env = false, json = false;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.String("level", &level);
  fs.Bool("json", &json);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  Result<std::vector<int>> levels = ParseLevels(level);
  if (!levels.ok()) return PrintError(levels.status());
  if (fs.args().empty() || fs.args()[0].empty()) {
    return PrintError("database path or replica URL required", "litestream ltx /path/to/db");
  }
  if (fs.args().size() > 1) return PrintError("too many arguments");

  Result<ReplicaConfig> replica = ReplicaFor(fs.args()[0], config_path, no_expand_env);
  if (!replica.ok()) return PrintError(replica.status());
  Result<std::unique_ptr<StorageClient>> client = NewStorageClient(*replica);
  if (!client.ok()) return PrintError(client.status());

  std::vector<LtxFileInfo> files;
  for (int l : *levels) {
    Result<std::vector<LtxFileInfo>> level_files = (*client)->List(l, 0, false);
    if (!level_files.ok()) return PrintError(level_files.status());
    files.insert(files.end(), level_files->begin(), level_files->end());
  }

  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const LtxFileInfo& f : files) {
      out.push_back({{"level", f.level},
                     {"min_txid", FormatTXID(f.min_txid)},
                     {"max_txid", FormatTXID(f.max_txid)},
                     {"size", f.size},
                     {"timestamp", FormatRFC3339(f.created_at)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"level", "min_txid", "max_txid", "size", "created"}};
  for (const LtxFileInfo& f : files) {
    rows.push_back({std::to_string(f.level), FormatTXID(f.min_txid), FormatTXID(f.max_txid),
                    std::to_string(f.size), FormatRFC3339(f.created_at)});
  }
  PrintTable(stdout, rows);
  return 0;
}

int RunWal(const Args& args) {
  std::fprintf(stderr, "Warning: 'wal' command is deprecated, please use 'ltx' instead\n");
  return RunLtx(args);
}

}  // namespace litestream::cli
