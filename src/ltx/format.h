// The LTX file format, version 3 as written by Litestream v0.5 (docs/ltx.md, spec §1): constants, the
// 100-byte header, the 6-byte page header and the 16-byte trailer, with their validation rules.
//
//   header (100) | page frames ... | end marker (6 zero bytes) | page index | trailer (16)
//
// Status codes: bytes that break a rule give kCorruption when decoding and kInvalidArgument when the
// caller asks to encode them. Messages say which rule failed; callers prepend the file name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "litestream/status.h"

namespace litestream::ltx {

constexpr size_t kHeaderSize = 100;
constexpr size_t kPageHeaderSize = 6;
constexpr size_t kPageSizeFieldSize = 4;  // the u32 BE compressed size after a block-encoded page header
constexpr size_t kTrailerSize = 16;
constexpr size_t kPageIndexLengthSize = 8;  // the u64 BE index length before the trailer
constexpr char kMagic[4] = {'L', 'T', 'X', '1'};

constexpr uint32_t kHeaderFlagNoChecksum =
    0x00000002;  // the only valid header flag; Litestream always sets it
constexpr uint32_t kHeaderFlagMask = kHeaderFlagNoChecksum;
constexpr uint16_t kPageHeaderFlagSize = 0x0001;  // block encoding: u32 size + LZ4 block (else one LZ4 frame)
constexpr uint16_t kPageHeaderFlagMask = kPageHeaderFlagSize;

constexpr uint32_t kMinPageSize = 512;
constexpr uint32_t kMaxPageSize = 65536;

// Every stored checksum carries this bit, so a valid checksum is never zero.
constexpr uint64_t kChecksumFlag = uint64_t{1} << 63;

// How page data is stored. Both are LTX "version 3" and a file may mix them; decoders read both.
enum class PageEncoding {
  kFrame,  // page flags 0 + one LZ4 frame: readable by every Litestream v0.5.x (ltx v0.5.0/v0.5.1)
  kBlock,  // page flags 0x0001 + u32 BE size + one LZ4 block: Litestream >= v0.5.16 (ltx v0.5.2)
};

bool IsValidPageSize(uint32_t page_size);

// The page SQLite never uses: the one holding the byte at offset 1 GiB. It is never stored in an LTX file.
constexpr uint32_t LockPgno(uint32_t page_size) { return 0x40000000u / page_size + 1; }

// FLAG | CRC64(u32 BE pgno ‖ data): one page's term of the rolling database checksum (§1.9).
uint64_t ChecksumPage(uint32_t pgno, const uint8_t* data, size_t n);

struct Header {
  uint32_t flags = 0;
  uint32_t page_size = 0;
  uint32_t commit = 0;  // database size in pages after applying this file
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  int64_t timestamp = 0;  // milliseconds since the Unix epoch
  uint64_t pre_apply_checksum = 0;
  int64_t wal_offset = 0;
  int64_t wal_size = 0;
  uint32_t wal_salt1 = 0;
  uint32_t wal_salt2 = 0;
  uint64_t node_id = 0;

  bool IsSnapshot() const { return min_txid == 1; }
  bool NoChecksum() const { return (flags & kHeaderFlagNoChecksum) != 0; }
  bool operator==(const Header&) const = default;

  // OK if every rule of §1.2 holds, else InvalidArgument naming the first rule that fails.
  Status Validate() const;
  // Writes the 100 bytes (reserved bytes zero). Does not validate.
  void EncodeTo(uint8_t out[kHeaderSize]) const;
  // Parses 100 bytes: Corruption("invalid LTX file: bad magic ...") on a wrong magic, else the fields as
  // stored (not validated: call Validate()).
  static Result<Header> Decode(const uint8_t in[kHeaderSize]);
};

struct PageHeader {
  uint32_t pgno = 0;
  uint16_t flags = 0;

  // pgno 0 and flags 0: the end of the page block.
  bool IsEndMarker() const { return pgno == 0 && flags == 0; }
  bool IsBlockEncoded() const { return (flags & kPageHeaderFlagSize) != 0; }
  // OK for a page (not the end marker): pgno != 0 and no flag bits other than 0x0001.
  Status Validate() const;
  void EncodeTo(uint8_t out[kPageHeaderSize]) const;
  static PageHeader Decode(const uint8_t in[kPageHeaderSize]);
};

struct Trailer {
  uint64_t post_apply_checksum = 0;
  uint64_t file_checksum = 0;

  // The rules of §1.6 for a file with header `h`: PostApply is 0 when NoChecksum, else it has bit 63
  // set; FileChecksum has bit 63 set. (The encoder also requires PostApply == 1<<63 when Commit is 0.)
  Status Validate(const Header& h) const;
  void EncodeTo(uint8_t out[kTrailerSize]) const;
  static Trailer Decode(const uint8_t in[kTrailerSize]);
};

// "0x%016x", for messages.
std::string FormatChecksum(uint64_t checksum);

}  // namespace litestream::ltx
