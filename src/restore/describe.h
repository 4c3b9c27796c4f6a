// Small formatting helpers shared by the restore component's messages and JSON output.
#pragma once

#include <string>

#include "litestream/storage.h"

namespace litestream {

// "level 1 file 0000000000000006-0000000000000007.ltx"
std::string DescribeLtxFile(const LtxFileInfo& info);
// "ltx/1/0000000000000006-0000000000000007.ltx" (the file backend's relative path; used in JSON)
std::string LtxFileRelativePath(const LtxFileInfo& info);
// RFC 3339, UTC, millisecond precision: "2025-01-01T00:00:00.000Z".
std::string FormatTimestamp(SystemTime time);

}  // namespace litestream
