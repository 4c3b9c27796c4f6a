// litestream config save|get|list: the age-encrypted config store in an application's database
// (include/litestream/secure_config.h).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.h"
#include "litestream/secure_config.h"

namespace litestream::cli {
namespace {

constexpr char kUsage[] = R"(The config command keeps configuration files age-encrypted in an application's
SQLite database (table app_config, append-only versions; generation 0 is the latest).

Usage:

	litestream config save -age-key KEY -db DB -file FILE [-scope S] [-format F] [-desc D]
	litestream config get -age-key KEY -db DB [-scope S] [-generation N]
	litestream config list -db DB [-scope S]

Arguments:

	-age-key PATH
	    An age identity file (AGE-SECRET-KEY-1..., as age-keygen writes it).

	-db PATH
	    The application's SQLite database.

	-file PATH
	    save: the file to encrypt and store.

	-scope NAME
	    The configuration's scope. Defaults to "litestream" (list: every scope).

	-format NAME
	    save: a format label. Defaults to the file's extension.

	-desc TEXT
	    save: a description. Defaults to "Inserted from file: <name>".

	-generation N
	    get: 0 is the latest version, 1 the one before, and so on.

)";

int Save(const Args& args) {
  FlagSet fs("config save", kUsage);
  std::string key, db, file, scope = std::string(kLitestreamConfigScope), format, desc;
  fs.String("age-key", &key);
  fs.String("db", &db);
  fs.String("file", &file);
  fs.String("scope", &scope);
  fs.String("format", &format);
  fs.String("desc", &desc);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (key.empty() || db.empty() || file.empty())
    return PrintError("config save requires -age-key, -db and -file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return PrintError("cannot read " + file);
  std::stringstream content;
  content << in.rdbuf();
  const std::filesystem::path p(file);
  if (format.empty()) {
    format = p.extension().string();
    if (!format.empty() && format[0] == '.') format.erase(0, 1);
    if (format.empty())
      return PrintError("cannot tell the format of " + file + " (no extension): use -format");
  }
  if (desc.empty()) desc = "Inserted from file: " + p.filename().string();
  Status s = SecureConfigStore(db, key).Save(scope, content.str(), format, desc);
  if (!s.ok()) return PrintError(s);
  std::fprintf(stderr, "saved %s config (%s) to %s\n", scope.c_str(), format.c_str(), db.c_str());
  return 0;
}

int Get(const Args& args) {
  FlagSet fs("config get", kUsage);
  std::string key, db, scope = std::string(kLitestreamConfigScope);
  int generation = 0;
  fs.String("age-key", &key);
  fs.String("db", &db);
  fs.String("scope", &scope);
  fs.Int("generation", &generation);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (key.empty() || db.empty()) return PrintError("config get requires -age-key and -db");
  auto cfg = SecureConfigStore(db, key).Get(scope, generation);
  if (!cfg.ok()) return PrintError(cfg.status());
  std::fwrite(cfg->content.data(), 1, cfg->content.size(), stdout);
  return 0;
}

int List(const Args& args) {
  FlagSet fs("config list", kUsage);
  std::string db, scope;
  fs.String("db", &db);
  fs.String("scope", &scope);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (db.empty()) return PrintError("config list requires -db");
  auto versions = SecureConfigStore(db, "").List(scope);
  if (!versions.ok()) return PrintError(versions.status());
  std::vector<std::vector<std::string>> rows = {{"id", "scope", "format", "created", "size", "description"}};
  for (const auto& v : *versions) {
    rows.push_back(
        {std::to_string(v.id), v.scope, v.format, v.created_at, std::to_string(v.size), v.description});
  }
  PrintTable(stdout, rows);
  return 0;
}

}  // namespace

int RunConfig(const Args& args) {
  const std::string sub = args.empty() ? "" : args[0];
  const Args rest = args.empty() ? Args{} : Args(args.begin() + 1, args.end());
  if (sub == "save") return Save(rest);
  if (sub == "get") return Get(rest);
  if (sub == "list") return List(rest);
  if (sub == "-h" || sub == "-help" || sub == "--help" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return PrintError(sub.empty() ? "config: missing subcommand (save, get or list)"
                                : "config: unknown subcommand " + sub);
}

}  // namespace litestream::cli
