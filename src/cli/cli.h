// Shared pieces of the `litestream` command line: the command table, Go-style flag parsing, config loading
// with the CLI's defaults, and output helpers. Each command lives in its own file and stays thin: parse
// flags, call the library, print text or JSON.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/config.h"
#include "litestream/storage.h"

namespace litestream::cli {

using Args = std::vector<std::string>;

// One subcommand. `run` returns the process exit code; errors are printed with PrintError.
struct Command {
  const char* name;
  const char* summary;  // one line for the usage screen; empty = not listed (aliases)
  int (*run)(const Args& args);
};

// Every command, in usage order. src/cli/commands.cc: the one place where commands are added.
const std::vector<Command>& Commands();
// The top-level usage screen (stdout).
void PrintUsage();

// Prints "Error: <message>" (and "Try: <hint>" when given) on stderr. Returns 1, the exit code.
int PrintError(std::string_view message, std::string_view hint = {});
inline int PrintError(const Status& s) { return PrintError(s.message()); }

// Parses flags the way Go's flag package does: "-name" and "--name" are the same flag, "-name=value" and
// "-name value" both work (booleans only take "-name" or "-name=bool"), and parsing stops at the first
// argument that is not a flag (or after "--"): flags must come before positional arguments.
// Values are converted by CLI11.
class FlagSet {
 public:
  // `usage` is printed on stdout for -h / -help / --help.
  FlagSet(std::string command, std::string usage);
  ~FlagSet();
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  void String(const std::string& name, std::string* out);
  void Bool(const std::string& name, bool* out);
  void Int(const std::string& name, int* out);

  enum class Outcome { kOk, kHelp, kError };
  // kHelp: the usage was printed (exit 0). kError: "Error: ..." was printed (exit 1).
  Outcome Parse(const Args& args);
  int ExitCode(Outcome o) const { return o == Outcome::kHelp ? 0 : 1; }

  // Arguments after the flags.
  const Args& args() const { return positional_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Args positional_;
};

// $LITESTREAM_CONFIG, else /etc/litestream.yml.
std::string DefaultConfigPath();
// Loads `path` (DefaultConfigPath() when empty) with env expansion unless no_expand_env.
Result<Config> LoadCliConfig(const std::string& path, bool no_expand_env);

// Writes rows as Go's text/tabwriter (padding 2, spaces) does: every column but the last is padded to its
// widest cell plus two spaces.
void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows);
// "2006-01-02T15:04:05Z" (RFC 3339, UTC, whole seconds).
std::string FormatRFC3339(SystemTime t);

// Commands implemented so far (one file each).
int RunVersion(const Args& args);
int RunDatabases(const Args& args);
int RunDoctor(const Args& args);
int RunConfig(const Args& args);
int RunLtx(const Args& args);
int RunWal(const Args& args);
int RunReplicate(const Args& args);
int RunRestore(const Args& args);
int RunStatus(const Args& args);
int RunReset(const Args& args);
int RunDumpLtx(const Args& args);

}  // namespace litestream::cli
