// litestream reset [-config PATH] [-no-expand-env] [-dry-run] DB_PATH: deletes the database's local LTX
// state (<meta>/ltx) so the next sync starts with a fresh snapshot. The database itself is untouched.
#include <filesystem>

#include "cli/cli.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The reset command clears local Litestream state for a database.
The next replication sync then takes a fresh snapshot. The database is untouched.

Usage:

	litestream reset [arguments] DB_PATH

Arguments:

	-config PATH
	    Specifies the configuration file (only read when given, to find meta-path).

	-no-expand-env
	    Disables environment variable expansion in configuration file.

	-dry-run
	    Prints what would be removed without removing anything.

)";
}

}  // namespace

int RunReset(const Args& args) {
  FlagSet fs("reset", Usage());
  std::string config_path;
  bool no_expand_env = false, dry_run = false;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.Bool("dry-run", &dry_run);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (fs.args().size() != 1) return PrintError("database path required", "litestream reset /path/to/db");
  auto path = ExpandPath(fs.args()[0]);
  if (!path.ok()) return PrintError(path.status());
  std::string meta = DefaultMetaPath(*path);
  if (!config_path.empty()) {
    auto config = LoadCliConfig(config_path, no_expand_env);
    if (!config.ok()) return PrintError(config.status());
    bool found = false;
    for (const DbConfig& db : config->dbs) {
      if (db.path == *path) {
        meta = EffectiveMetaPath(db);
        found = true;
      }
    }
    if (!found) return PrintError("database not found in config: " + *path);
  }
  const std::string ltx_dir = meta + "/ltx";
  std::error_code ec;
  if (!std::filesystem::exists(ltx_dir, ec)) {
    std::printf("No local state to reset for %s\n", path->c_str());
    return 0;
  }
  if (dry_run) {
    for (auto it = std::filesystem::recursive_directory_iterator(ltx_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) std::printf("would remove %s\n", it->path().c_str());
    }
    return 0;
  }
  std::filesystem::remove_all(ltx_dir, ec);
  if (ec) return PrintError("remove " + ltx_dir + ": " + ec.message());
  std::printf("Reset local state for %s: removed %s\nThe next sync takes a full snapshot.\n", path->c_str(),
              ltx_dir.c_str());
  return 0;
}

}  // namespace litestream::cli
