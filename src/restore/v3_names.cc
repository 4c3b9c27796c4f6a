// v0.3 replica names (ENGINE.md §6.1). Hand-written matchers for the upstream regular expressions.
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "litestream/restore.h"

namespace litestream {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool AllLowerHex(std::string_view s) {
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return !s.empty();
}

// Parses lowercase hex into a value that must not exceed `max` (Go's strconv.ParseInt range rule).
bool ParseHexBounded(std::string_view s, uint64_t max, int64_t* out) {
  if (!AllLowerHex(s) || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) v = (v << 4) | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  if (v > max) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() < suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

}  // namespace

bool IsGenerationIDV3(std::string_view name) { return name.size() == 16 && AllLowerHex(name); }

bool ParseSnapshotFilenameV3(std::string_view name, int64_t* index) {
  if (!ConsumeSuffix(&name, ".snapshot.lz4") || name.size() != 8) return false;
  return ParseHexBounded(name, std::numeric_limits<uint32_t>::max(), index);
}

bool ParseWALSegmentFilenameV3(std::string_view name, int64_t* index, int64_t* offset) {
  if (!ConsumeSuffix(&name, ".wal.lz4") || name.size() < 8 + 1 + 8 || name[8] != '_') return false;
  std::string_view index_text = name.substr(0, 8);
  std::string_view offset_text = name.substr(9);
  if (offset_text.size() > 16) return false;
  int64_t i = 0, o = 0;
  if (!ParseHexBounded(index_text, std::numeric_limits<int32_t>::max(), &i)) return false;
  if (!ParseHexBounded(offset_text, std::numeric_limits<int64_t>::max(), &o)) return false;
  *index = i;
  *offset = o;
  return true;
}

std::string FormatSnapshotFilenameV3(int64_t index) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%08" PRIx64 ".snapshot.lz4", static_cast<uint64_t>(index));
  return buf;
}

std::string FormatWALSegmentFilenameV3(int64_t index, int64_t offset) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%08" PRIx64 "_%08" PRIx64 ".wal.lz4", static_cast<uint64_t>(index),
                static_cast<uint64_t>(offset));
  return buf;
}

}  // namespace litestream
