// The command table. To add a command: write src/cli/<name>.cc with `int Run<Name>(const Args&)`, declare
// it in cli.h, and replace its NotImplemented entry below (or add a new line).
#include "cli/cli.h"

namespace litestream::cli {
namespace {

// Placeholder for commands that exist upstream but are not built yet.
template <const char* kName>
int NotImplemented(const Args&) {
  return PrintError(std::string("litestream ") + kName + ": not implemented in this build yet");
}

constexpr char kInfo[] = "info";
constexpr char kList[] = "list";
constexpr char kRegister[] = "register";
constexpr char kStart[] = "start";
constexpr char kStop[] = "stop";
constexpr char kSync[] = "sync";
constexpr char kUnregister[] = "unregister";

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"config", "keep age-encrypted configs in an application's database", RunConfig},
      {"databases", "list databases specified in config file", RunDatabases},
      {"doctor", "check a database's replication set-up and say what to change", RunDoctor},
      {"dump-ltx", "print and verify one LTX file (developer tool)", RunDumpLtx},
      {"info", "show daemon information", NotImplemented<kInfo>},
      {"list", "list all managed databases", NotImplemented<kList>},
      {"ltx", "list available LTX files for a database", RunLtx},
      {"register", "register a database for replication", NotImplemented<kRegister>},
      {"replicate", "runs a server to replicate databases", RunReplicate},
      {"reset", "reset local state for a database", RunReset},
      {"restore", "recovers database backup from a replica", RunRestore},
      {"start", "start replication for a database", NotImplemented<kStart>},
      {"status", "display replication status for databases", RunStatus},
      {"stop", "stop replication for a database", NotImplemented<kStop>},
      {"sync", "force an immediate sync for a database", NotImplemented<kSync>},
      {"unregister", "unregister a database from replication", NotImplemented<kUnregister>},
      {"version", "prints the binary version", RunVersion},
      {"wal", "", RunWal},  // deprecated alias of ltx
  };
  return commands;
}

void PrintUsage() {
  std::string out =
      "litestream is a tool for replicating SQLite databases.\n"
      "\n"
      "Usage:\n"
      "\n"
      "\tlitestream <command> [arguments]\n"
      "\n"
      "The commands are:\n"
      "\n";
  for (const Command& c : Commands()) {
    if (*c.summary == '\0') continue;
    std::string name = c.name;
    name.resize(std::max<size_t>(name.size() + 1, 13), ' ');
    out += "\t" + name + c.summary + "\n";
  }
  out += "\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace litestream::cli
