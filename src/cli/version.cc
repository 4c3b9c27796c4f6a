// litestream version [-verbose]
#include <sqlite3.h>

#include "cli/cli.h"

namespace litestream::cli {
namespace {

constexpr char kUsage[] = R"(Prints the version.

Usage:

	litestream version [arguments]

Arguments:

	-verbose
	    Print detailed build information.

)";

std::string Compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string BuildType() {
  std::string t;
#ifdef NDEBUG
  t = "release";
#else
  t = "debug";
#endif
#ifdef __OPTIMIZE__
  t += " (optimized)";
#endif
#if defined(__SANITIZE_ADDRESS__)
  t += " +asan";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  t += " +asan";
#endif
#endif
  return t;
}

}  // namespace

int RunVersion(const Args& args) {
  FlagSet fs("version", kUsage);
  bool verbose = false;
  fs.Bool("verbose", &verbose);
  if (auto o = fs.Parse(args); o != FlagSet::Outcome::kOk) return fs.ExitCode(o);
  if (!fs.args().empty()) return PrintError("too many arguments");
  const std::string version = std::string("v") + LITESTREAM_VERSION;
  if (!verbose) {
    std::printf("%s\n", version.c_str());
    return 0;
  }
  std::printf("Version:     %s\n", version.c_str());
  std::printf("Compiler:    %s\n", Compiler().c_str());
  std::printf("Build Type:  %s\n", BuildType().c_str());
  std::printf("SQLite:      %s\n", sqlite3_libversion());
#if defined(__x86_64__)
  std::printf("OS/Arch:     linux/amd64\n");
#elif defined(__aarch64__)
  std::printf("OS/Arch:     linux/arm64\n");
#endif
  return 0;
}

}  // namespace litestream::cli
