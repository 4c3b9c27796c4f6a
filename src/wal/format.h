// The SQLite WAL file format (https://www.sqlite.org/fileformat2.html#walformat), as far as Litestream
// reads it: the 32-byte header, the 24-byte frame headers and SQLite's running checksum. See docs/wal.md.
//
// Status codes with a reserved meaning for statuses returned by this component (src/wal/):
//   kUnavailable         "WAL not ready": the header is shorter than 32 bytes, or its checksum does not
//                        match (for example SQLite is rewriting it during a checkpoint). The WAL is not
//                        damaged and there is nothing to read yet: fail this attempt and retry later. This is
//                        upstream's io.EOF from the header read. Test with IsWalNotReady().
//   kFailedPrecondition  "previous frame mismatch" from WalReader::OpenAt: the frame before the offset is
//                        missing or carries other salts. Fall back to a reader from offset 32. Test with
//                        IsPrevFrameMismatch().
// Errors of the underlying RandomAccessReader that carry either code are turned into kIOError, so the two
// predicates never fire on an I/O failure. Every other failure is a hard error (kCorruption for a bad magic,
// version or page size; kInvalidArgument for a bad offset; the reader's own I/O errors).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

#include "litestream/status.h"

namespace litestream::wal {

constexpr size_t kHeaderSize = 32;
constexpr size_t kFrameHeaderSize = 24;
constexpr uint32_t kMagicLittleEndian = 0x377F0682;  // checksums over little-endian 32-bit words
constexpr uint32_t kMagicBigEndian = 0x377F0683;     // checksums over big-endian 32-bit words
constexpr uint32_t kVersion = 3007000;
constexpr uint32_t kMinPageSize = 512;
constexpr uint32_t kMaxPageSize = 65536;

enum class ByteOrder { kLittle, kBig };

// SQLite's WAL checksum: a running pair of 32-bit sums.
struct Checksum {
  uint32_t s0 = 0;
  uint32_t s1 = 0;
  bool operator==(const Checksum&) const = default;
};

// Continues `seed` over data[0, n): for each 8-byte chunk (a, b), read as two u32 in `order`,
// s0 += a + s1; s1 += b + s0 (mod 2^32). Only whole chunks count: a trailing n % 8 bytes are ignored
// (every caller passes a multiple of 8). Fast: it runs over every WAL byte we replicate.
Checksum ComputeChecksum(ByteOrder order, Checksum seed, const uint8_t* data, size_t n);

// The pair of random salts that identifies one generation of the WAL (renewed at each WAL restart).
struct Salts {
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  auto operator<=>(const Salts&) const = default;
};
std::string FormatSalts(Salts s);  // "4875a40b/a38de4f5"

struct Header {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t page_size = 0;
  uint32_t checkpoint_seq = 0;
  Salts salts;
  Checksum checksum;  // stored in bytes 24..31; equals the checksum of bytes 0..23

  ByteOrder byte_order() const { return magic == kMagicBigEndian ? ByteOrder::kBig : ByteOrder::kLittle; }
  uint64_t frame_size() const { return kFrameHeaderSize + uint64_t(page_size); }
};

// Parses and validates a WAL header from the first n bytes of a WAL. The checks, in order:
//   n < 32                        -> WalNotReady (kUnavailable)
//   magic is neither value        -> Corruption
//   header checksum mismatch      -> WalNotReady (kUnavailable)
//   version != 3007000            -> Corruption
//   page size not a power of two in [512, 65536] -> Corruption (SQLite ignores such a WAL; upstream does not
//                                    check, but no valid WAL has one and a sane frame size bounds memory)
Result<Header> ParseHeader(const uint8_t* data, size_t n);

struct FrameHeader {
  uint32_t pgno = 0;
  uint32_t commit = 0;  // DB size in pages after this commit; nonzero only on a transaction's last frame
  Salts salts;
  Checksum checksum;  // the running checksum after this frame
};

// Decodes the 24 bytes at p (no validation).
FrameHeader DecodeFrameHeader(const uint8_t* p);

// Builders and predicates for the two reserved codes above.
Status WalNotReadyError(std::string message);
Status PrevFrameMismatchError(std::string message);
inline bool IsWalNotReady(const Status& s) { return s.code() == StatusCode::kUnavailable; }
inline bool IsPrevFrameMismatch(const Status& s) { return s.code() == StatusCode::kFailedPrecondition; }

}  // namespace litestream::wal
