#include <ctime>
#include <iostream>

#include "cli/cli.h"

namespace litestream::cli {

int PrintError(std::string_view message, std::string_view hint) {
  std::fprintf(stderr, "Error: %.*s\n", static_cast<int>(message.size()), message.data());
  if (!hint.empty()) std::fprintf(stderr, "Try: %.*s\n", static_cast<int>(hint.size()), hint.data());
  return 1;
}

std::string DefaultConfigPath() {
  const char* v = std::getenv("LITESTREAM_CONFIG");
  if (v != nullptr && *v != '\0') return v;
  return "/etc/litestream.yml";
}

Result<Config> LoadCliConfig(const std::string& path, bool no_expand_env) {
  ParseOptions options;
  options.expand_env = !no_expand_env;
  return LoadConfigFile(path.empty() ? DefaultConfigPath() : path, options);
}

void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); c++) {
      if (widths.size() <= c) widths.resize(c + 1, 0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); c++) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] + 2 - row[c].size(), ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
}

std::string FormatRFC3339(SystemTime t) {
  std::time_t secs =
      static_cast<std::time_t>(std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace litestream::cli
