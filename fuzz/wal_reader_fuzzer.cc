// Fuzzes the WAL reader (src/wal/): header parse, page maps with and without a limit, open-at-offset and
// FrameSaltsUntil, on the input as given and on a "repaired" copy whose header and frame checksums are
// recomputed, so that the fuzzer also reaches the frame logic behind the checksums. Invariants of the
// results are checked; a violation traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "util/memory_file.h"
#include "wal/format.h"
#include "wal/reader.h"

namespace {

using namespace litestream;
using namespace litestream::wal;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Makes the header valid (magic, version, page size, checksum) and recomputes every frame's checksum chain,
// keeping pgnos, commits and salts as they are.
void Repair(std::vector<uint8_t>& w) {
  if (w.size() < kHeaderSize) return;
  PutBE32(w.data(), (w[3] & 1) ? kMagicBigEndian : kMagicLittleEndian);
  PutBE32(w.data() + 4, kVersion);
  uint32_t ps = GetBE32(w.data() + 8);
  if (ps < kMinPageSize || ps > kMaxPageSize || (ps & (ps - 1)) != 0)
    PutBE32(w.data() + 8, ps = kMinPageSize);
  const ByteOrder order = (w[3] & 1) ? ByteOrder::kBig : ByteOrder::kLittle;
  Checksum c = ComputeChecksum(order, {}, w.data(), 24);
  PutBE32(w.data() + 24, c.s0);
  PutBE32(w.data() + 28, c.s1);
  const size_t fs = kFrameHeaderSize + ps;
  for (size_t off = kHeaderSize; off + fs <= w.size(); off += fs) {
    c = ComputeChecksum(order, c, w.data() + off, 8);
    c = ComputeChecksum(order, c, w.data() + off + kFrameHeaderSize, ps);
    PutBE32(w.data() + off + 16, c.s0);
    PutBE32(w.data() + off + 20, c.s1);
  }
}

void CheckPageMap(const WalReader& r, const PageMap& m, uint64_t size) {
  const uint64_t fs = r.frame_size();
  Check(m.pages.empty() == (m.max_offset == 0));
  Check(m.pages.empty() == (m.commit == 0));
  uint64_t max_frame = 0;
  std::vector<uint8_t> page(r.page_size());
  for (const auto& [pgno, offset] : m.pages) {
    Check(pgno >= 1 && pgno <= m.commit);
    Check(offset >= r.start_offset() && (offset - kHeaderSize) % fs == 0 && offset + fs <= size);
    if (offset > max_frame) max_frame = offset;
    auto fh = r.ReadFrame(offset, page.data());
    Check(fh.ok() && fh->pgno == pgno && fh->salts == r.salts());
  }
  if (!m.pages.empty()) Check(m.max_offset == max_frame + fs);
}

void Exercise(const std::vector<uint8_t>& bytes) {
  MemoryRandomAccessReader file(bytes);
  const uint64_t size = bytes.size();

  auto header = ParseHeader(bytes.data(), bytes.size());
  auto reader = WalReader::Open(&file);
  Check(header.ok() == reader.ok());
  if (!reader.ok()) {
    Check(!IsPrevFrameMismatch(reader.status()));
    return;
  }
  const uint64_t fs = reader->frame_size();

  auto whole = reader->ReadPageMap(0);
  Check(whole.ok());
  CheckPageMap(*reader, *whole, size);
  Check(!whole->limited);

  for (uint64_t limit : {uint64_t{1}, fs, 3 * fs + 1}) {
    auto part = reader->ReadPageMap(limit);
    Check(part.ok());
    CheckPageMap(*reader, *part, size);
    // Not part->max_offset <= whole->max_offset: max_offset ends the largest *retained* frame (ENGINE.md
    // §3.2), and a later commit that shrinks the database can drop the frames a limited map still holds
    // (WalReaderTest.MaxOffsetIsTheEndOfTheLargestRetainedFrame).
    if (!part->limited) Check(part->pages == whole->pages);
  }

  // Open at a few frame boundaries, with the header's salts and with the previous frame's own salts.
  const uint64_t frames = size > kHeaderSize ? (size - kHeaderSize) / fs : 0;
  for (uint64_t k : {uint64_t{1}, uint64_t{2}, frames, frames + 1}) {
    if (k == 0) continue;
    const uint64_t offset = kHeaderSize + k * fs;
    Salts prev_salts = reader->salts();
    if (auto prev = reader->ReadFrameHeader(offset - fs); prev.ok()) prev_salts = prev->salts;
    for (Salts salts : {reader->salts(), prev_salts}) {
      auto at = WalReader::OpenAt(&file, offset, salts);
      if (!at.ok()) {
        Check(IsPrevFrameMismatch(at.status()));
        continue;
      }
      auto m = at->ReadPageMap(k % 2 == 0 ? 0 : fs);
      Check(m.ok());
      CheckPageMap(*at, *m, size);
    }
  }
  Check(!WalReader::OpenAt(&file, kHeaderSize, reader->salts()).ok());
  Check(!WalReader::OpenAt(&file, kHeaderSize + fs + 8, reader->salts()).ok());

  // Salts: until the header's own salt, until a salt from the tail, until one that is absent.
  Salts tail{};
  if (size >= 16) tail = Salts{GetBE32(bytes.data() + size - 16), GetBE32(bytes.data() + size - 12)};
  for (Salts until : {reader->salts(), tail, Salts{0xFFFFFFFF, 0x12345678}}) {
    auto salts = reader->FrameSaltsUntil(until);
    Check(salts.ok());
    Check(salts->size() <= frames + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Exercise(bytes);
  Repair(bytes);
  Exercise(bytes);
  return 0;
}
