#include <cinttypes>
#include <cstdio>

#include "litestream/storage.h"

namespace litestream {
namespace {

bool ParseHex16(std::string_view text, uint64_t* out) {
  if (text.size() != 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatTXID(TXID txid) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, txid);
  return buf;
}

std::string FormatLtxFilename(TXID min_txid, TXID max_txid) {
  return FormatTXID(min_txid) + "-" + FormatTXID(max_txid) + ".ltx";
}

bool ParseLtxFilename(std::string_view name, TXID* min_txid, TXID* max_txid) {
  // ^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$
  if (name.size() != 16 + 1 + 16 + 4 || name[16] != '-' || name.substr(33) != ".ltx") return false;
  return ParseHex16(name.substr(0, 16), min_txid) && ParseHex16(name.substr(17, 16), max_txid);
}

Result<TXID> ParseTXID(std::string_view text) {
  // Upstream accepts upper-case hex digits here too (strconv.ParseUint base 16).
  if (text.size() != 16) return Status::InvalidArgument("invalid TXID \"" + std::string(text) + "\": want 16 hex digits");
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return Status::InvalidArgument("invalid TXID \"" + std::string(text) + "\": not hex");
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace litestream
