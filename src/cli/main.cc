// litestream <command> [flags] [args]: dispatch to the command table (commands.cc).
#include <malloc.h>

#include <cstdlib>
#include <exception>

#include "cli/cli.h"

namespace {

// Upstream copies the LITESTREAM_* credential aliases to the AWS_* names when those are unset. Only the CLI
// touches the process environment; the library reads it through ParseOptions::env.
void ApplyLitestreamEnv() {
  const char* pairs[][2] = {{"LITESTREAM_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"},
                            {"LITESTREAM_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"}};
  for (const auto& p : pairs) {
    const char* v = std::getenv(p[0]);
    if (v != nullptr && std::getenv(p[1]) == nullptr) setenv(p[1], v, 0);
  }
}

// Blocks of a megabyte or so come and go (compression batches, page indexes, restore buffers; a sync's own
// buffers are pooled, util/scratch.h). glibc raises its mmap threshold to the size of each such block
// freed, after which they come from the heap arenas and their memory stays resident: a fixed threshold
// keeps them mapped and returned on free (the replicator's RSS after a 1 GiB snapshot: 23 -> 10 MiB).
void LimitRetainedMemory() {
#ifdef M_MMAP_THRESHOLD
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
#endif
}

int Run(int argc, char** argv) {
  using litestream::cli::Args;
  LimitRetainedMemory();
  ApplyLitestreamEnv();
  Args args(argv + 1, argv + argc);
  std::string cmd = args.empty() ? "" : args[0];
  if (!args.empty()) args.erase(args.begin());
  for (const auto& c : litestream::cli::Commands()) {
    if (cmd == c.name) return c.run(args);
  }
  if (cmd == "help" || cmd == "-h" || cmd == "-help" || cmd == "--help") {
    litestream::cli::PrintUsage();
    return 0;
  }
  if (cmd.empty() || cmd[0] == '-') {
    litestream::cli::PrintUsage();
    return 1;
  }
  return litestream::cli::PrintError("litestream " + cmd + ": unknown command");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    return litestream::cli::PrintError(e.what());
  }
}
