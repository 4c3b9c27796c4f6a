#include "restore/describe.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace litestream {

std::string DescribeLtxFile(const LtxFileInfo& info) {
  return "level " + std::to_string(info.level) + " file " + FormatLtxFilename(info.min_txid, info.max_txid);
}

std::string LtxFileRelativePath(const LtxFileInfo& info) {
  return "ltx/" + std::to_string(info.level) + "/" + FormatLtxFilename(info.min_txid, info.max_txid);
}

std::string FormatTimestamp(SystemTime time) {
  int64_t ms = time.time_since_epoch().count();
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03" PRId64 "Z", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

}  // namespace litestream
