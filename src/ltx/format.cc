#include "ltx/format.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "ltx/coding.h"
#include "util/crc64.h"

namespace litestream::ltx {

bool IsValidPageSize(uint32_t page_size) {
  return page_size >= kMinPageSize && page_size <= kMaxPageSize && (page_size & (page_size - 1)) == 0;
}

uint64_t ChecksumPage(uint32_t pgno, const uint8_t* data, size_t n) {
  uint8_t be[4];
  PutBE32(be, pgno);
  return kChecksumFlag | crc64::Extend(crc64::Value(be, sizeof(be)), data, n);
}

std::string FormatChecksum(uint64_t checksum) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, checksum);
  return buf;
}

Status Header::Validate() const {
  auto invalid = [](const std::string& m) { return Status::InvalidArgument("invalid header: " + m); };
  if ((flags & ~kHeaderFlagMask) != 0) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08x", flags);
    return invalid(std::string("unknown flags ") + buf + " (only 0x00000002 is defined)");
  }
  if (!IsValidPageSize(page_size)) {
    return invalid("page size " + std::to_string(page_size) + " is not a power of two in [512, 65536]");
  }
  if (min_txid == 0) return invalid("min TXID is 0");
  if (max_txid == 0) return invalid("max TXID is 0");
  if (min_txid > max_txid) {
    return invalid("min TXID " + std::to_string(min_txid) + " > max TXID " + std::to_string(max_txid));
  }
  if (wal_offset < 0) return invalid("negative WAL offset " + std::to_string(wal_offset));
  if (wal_size < 0) return invalid("negative WAL size " + std::to_string(wal_size));
  if ((wal_salt1 != 0 || wal_salt2 != 0) && wal_offset == 0)
    return invalid("WAL salt set without a WAL offset");
  if (wal_offset == 0 && wal_size != 0) return invalid("WAL size set without a WAL offset");
  if (IsSnapshot()) {
    if (pre_apply_checksum != 0) return invalid("pre-apply checksum must be zero in a snapshot");
  } else if (NoChecksum()) {
    if (pre_apply_checksum != 0) return invalid("pre-apply checksum must be zero when checksums are off");
  } else if (pre_apply_checksum == 0) {
    return invalid("pre-apply checksum required in an incremental file");
  } else if ((pre_apply_checksum & kChecksumFlag) == 0) {
    return invalid("pre-apply checksum " + FormatChecksum(pre_apply_checksum) + " lacks bit 63");
  }
  return Status::OK();
}

void Header::EncodeTo(uint8_t out[kHeaderSize]) const {
  std::memset(out, 0, kHeaderSize);
  std::memcpy(out, kMagic, 4);
  PutBE32(out + 4, flags);
  PutBE32(out + 8, page_size);
  PutBE32(out + 12, commit);
  PutBE64(out + 16, min_txid);
  PutBE64(out + 24, max_txid);
  PutBE64(out + 32, static_cast<uint64_t>(timestamp));
  PutBE64(out + 40, pre_apply_checksum);
  PutBE64(out + 48, static_cast<uint64_t>(wal_offset));
  PutBE64(out + 56, static_cast<uint64_t>(wal_size));
  PutBE32(out + 64, wal_salt1);
  PutBE32(out + 68, wal_salt2);
  PutBE64(out + 72, node_id);
}

Result<Header> Header::Decode(const uint8_t in[kHeaderSize]) {
  if (std::memcmp(in, kMagic, 4) != 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "invalid LTX file: bad magic %02x %02x %02x %02x, want \"LTX1\"", in[0],
                  in[1], in[2], in[3]);
    return Status::Corruption(buf);
  }
  Header h;
  h.flags = GetBE32(in + 4);
  h.page_size = GetBE32(in + 8);
  h.commit = GetBE32(in + 12);
  h.min_txid = GetBE64(in + 16);
  h.max_txid = GetBE64(in + 24);
  h.timestamp = static_cast<int64_t>(GetBE64(in + 32));
  h.pre_apply_checksum = GetBE64(in + 40);
  h.wal_offset = static_cast<int64_t>(GetBE64(in + 48));
  h.wal_size = static_cast<int64_t>(GetBE64(in + 56));
  h.wal_salt1 = GetBE32(in + 64);
  h.wal_salt2 = GetBE32(in + 68);
  h.node_id = GetBE64(in + 72);
  return h;
}

Status PageHeader::Validate() const {
  if (pgno == 0) return Status::InvalidArgument("invalid page header: pgno 0 with nonzero flags");
  if ((flags & ~kPageHeaderFlagMask) != 0) {
    char buf[160];
    std::snprintf(
        buf, sizeof(buf),
        "invalid page header flags 0x%04x for pgno %u (only 0x0000 = lz4 frame and 0x0001 = lz4 block "
        "are defined; a pre-v0.5 LTX v1 file looks like this)",
        flags, pgno);
    return Status::InvalidArgument(buf);
  }
  return Status::OK();
}

void PageHeader::EncodeTo(uint8_t out[kPageHeaderSize]) const {
  PutBE32(out, pgno);
  PutBE16(out + 4, flags);
}

PageHeader PageHeader::Decode(const uint8_t in[kPageHeaderSize]) { return {GetBE32(in), GetBE16(in + 4)}; }

Status Trailer::Validate(const Header& h) const {
  auto invalid = [](const std::string& m) { return Status::InvalidArgument("invalid trailer: " + m); };
  if (h.NoChecksum()) {
    if (post_apply_checksum != 0) {
      return invalid("post-apply checksum " + FormatChecksum(post_apply_checksum) +
                     " must be zero when checksums are off");
    }
  } else if ((post_apply_checksum & kChecksumFlag) == 0) {
    return invalid("post-apply checksum " + FormatChecksum(post_apply_checksum) + " lacks bit 63");
  }
  if ((file_checksum & kChecksumFlag) == 0) {
    return invalid("file checksum " + FormatChecksum(file_checksum) + " lacks bit 63");
  }
  return Status::OK();
}

void Trailer::EncodeTo(uint8_t out[kTrailerSize]) const {
  PutBE64(out, post_apply_checksum);
  PutBE64(out + 8, file_checksum);
}

Trailer Trailer::Decode(const uint8_t in[kTrailerSize]) { return {GetBE64(in), GetBE64(in + 8)}; }

}  // namespace litestream::ltx
