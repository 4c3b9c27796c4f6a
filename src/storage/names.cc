#include <cinttypes>
#include <cstdio>
#include <cstring>

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

uint64_t BE64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<SystemTime> CheckLtxHeaderForWrite(const uint8_t* header, TXID min_txid, TXID max_txid,
                                          const std::string& name) {
  if (std::memcmp(header, "LTX1", 4) != 0) {
    return Status::InvalidArgument("write " + name + ": not an LTX file (bad magic)");
  }
  const TXID hdr_min = BE64(header + 16);
  const TXID hdr_max = BE64(header + 24);
  if (hdr_min != min_txid || hdr_max != max_txid) {
    return Status::InvalidArgument("write " + name + ": header TXID range " + FormatTXID(hdr_min) + "-" +
                                   FormatTXID(hdr_max) + " does not match the file name");
  }
  return SystemTime{std::chrono::milliseconds(static_cast<int64_t>(BE64(header + 32)))};
}

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
