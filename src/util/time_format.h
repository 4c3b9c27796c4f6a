// RFC 3339 timestamps as the CLI takes them (restore -timestamp) and prints them.
#pragma once

#include <string>
#include <string_view>

#include "litestream/status.h"
#include "litestream/storage.h"  // SystemTime

namespace litestream {

// "2006-01-02T15:04:05Z", "2006-01-02T15:04:05.123456789+02:00", "...t..z" (case-insensitive T/Z).
// Fractions beyond milliseconds are truncated. InvalidArgument naming the text otherwise.
Result<SystemTime> ParseRFC3339(std::string_view text);

// Go's RFC3339Nano in UTC, trailing zeros of the fraction dropped: "2025-01-01T00:00:00Z",
// "2025-01-01T00:00:00.123Z" (how upstream writes litestream-timestamp and litestream_time()).
std::string FormatRFC3339Nano(SystemTime t);

}  // namespace litestream
