#include "support/paths.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace litestream::testing {
namespace {

std::vector<std::string>& TempDirs() {
  static std::vector<std::string> dirs;
  return dirs;
}

void RemoveTempDirs() {
  if (std::getenv("LITESTREAM_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  for (const auto& d : TempDirs()) std::filesystem::remove_all(d, ec);
}

}  // namespace

std::string TestDataPath(const std::string& relative) {
  return std::string(LITESTREAM_TESTDATA_DIR) + "/" + relative;
}

std::string SourcePath(const std::string& relative) {
  return std::string(LITESTREAM_SOURCE_DIR) + "/" + relative;
}

std::string BinPath(const std::string& name) { return std::string(LITESTREAM_BIN_DIR) + "/" + name; }

std::string MakeTempDir(const std::string& prefix, const std::string& parent) {
  static std::once_flag once;
  // Construct the list before registering the handler: statics are destroyed in reverse order of
  // construction/registration, so the list must outlive RemoveTempDirs.
  std::call_once(once, [] {
    TempDirs();
    std::atexit(RemoveTempDirs);
  });
  const char* base = std::getenv("TMPDIR");
  const std::string top = !parent.empty() ? parent : base && *base ? base : "/tmp";
  std::string tmpl = top + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  TempDirs().push_back(tmpl);
  return tmpl;
}

}  // namespace litestream::testing
