// litestream databases [-config PATH] [-no-expand-env] [-json]
#include <nlohmann/json.hpp>

#include "cli/cli.h"

namespace litestream::cli {
namespace {

std::string Usage() {
  return R"(The databases command lists all databases in the configuration file.

Usage:

	litestream databases [arguments]

Arguments:

	-config PATH
	    Specifies the configuration file.
	    Defaults to )" +
         DefaultConfigPath() + R"(

	-json
	    Output raw JSON instead of human-readable text.

	-no-expand-env
	    Disables environment variable expansion in configuration file.

Examples:

	$ litestream databases
	$ litestream databases -config /path/to/litestream.yml
	$ litestream databases -no-expand-env -config /path/to/litestream.yml

)";
}

}  // namespace

int RunDatabases(const Args& args) {
  FlagSet fs("databases", Usage());
  std::string config_path;
  bool no_expand_env = false, json = false;
  fs.String("config", &config_path);
  fs.Bool("no-expand-env", &no_expand_env);
  fs.Bool("json", &json);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (!fs.args().empty()) return PrintError("too many arguments");

  Result<Config> config = LoadCliConfig(config_path, no_expand_env);
  if (!config.ok()) return PrintError(config.status());

  // Upstream prints the current directory for a `dir:` entry (it is not enumerated); we print the directory.
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const DbConfig& db : config->dbs) out.push_back({{"path", db.Name()}, {"replica", db.replica.type}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"path", "replica"}};
  for (const DbConfig& db : config->dbs) rows.push_back({db.Name(), db.replica.type});
  PrintTable(stdout, rows);
  return 0;
}

}  // namespace litestream::cli
