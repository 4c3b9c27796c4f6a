// Runs the built `litestream` binary for CLI tests.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace litestream::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs litestream with `args`. `env` entries override the environment (an empty value unsets the variable);
// LITESTREAM_CONFIG is always unset unless given. Output is collected until the process exits (bounded:
// a silent child is given up on after 30 s).
RunResult RunCli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {});

// Runs any program (looked up on PATH unless it contains a '/') the same way.
RunResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {});

}  // namespace litestream::testing
