#include "wal/reader.h"

#include <algorithm>
#include <memory>
#include <set>

#include "util/scratch.h"

namespace litestream::wal {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;  // read-ahead for page map scans

std::string OffsetContext(uint64_t offset) { return "wal: read at offset " + std::to_string(offset); }

// The reserved codes (format.h) must never come from an I/O failure.
Status ReadError(const Status& s, uint64_t offset) {
  Status out = s;
  if (IsWalNotReady(s) || IsPrevFrameMismatch(s)) out = Status::IOError(s.message());
  return out.WithContext(OffsetContext(offset));
}

// Reads up to n bytes at `offset`, looping over short reads. Returns fewer only at end of file.
Result<size_t> ReadFullAt(RandomAccessReader& file, uint64_t offset, uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    auto got = file.ReadAt(offset + done, buf + done, n - done);
    if (!got.ok()) return ReadError(got.status(), offset + done);
    if (*got == 0) break;
    if (*got > n - done) return Status::IOError(OffsetContext(offset) + ": reader returned too many bytes");
    done += *got;
  }
  return done;
}

// Yields the complete frames from `start` on, reading several frames per ReadAt.
class FrameScanner {
 public:
  FrameScanner(RandomAccessReader& file, uint64_t start, uint64_t frame_size, uint64_t size_hint)
      : file_(file), frame_size_(frame_size), next_offset_(start) {
    uint64_t max_frames = std::max<uint64_t>(1, kChunkBytes / frame_size);
    uint64_t hinted = size_hint > start ? (size_hint - start) / frame_size : 0;
    cap_frames_ = size_t(std::clamp<uint64_t>(hinted, 1, max_frames));
    buf_ = ScratchBuffer(cap_frames_ * frame_size_);
  }

  // Sets *frame to the next complete frame (nullptr at the end of the file) and *offset to its offset.
  Status Next(const uint8_t** frame, uint64_t* offset) {
    *frame = nullptr;
    if (index_ == count_) {
      if (eof_) return Status::OK();
      size_t want = cap_frames_ * frame_size_;
      LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(file_, next_offset_, buf_.data(), want));
      eof_ = got < want;
      buf_offset_ = next_offset_;
      count_ = got / frame_size_;
      index_ = 0;
      next_offset_ += count_ * frame_size_;
      if (count_ == 0) return Status::OK();
    }
    *frame = buf_.data() + index_ * frame_size_;
    *offset = buf_offset_ + index_ * frame_size_;
    index_++;
    return Status::OK();
  }

 private:
  RandomAccessReader& file_;
  const size_t frame_size_;
  size_t cap_frames_ = 1;
  ScratchBuffer buf_;
  uint64_t next_offset_;     // where the next chunk starts
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  size_t count_ = 0;         // complete frames in buf_
  size_t index_ = 0;         // next frame to hand out
  bool eof_ = false;
};

// A transaction that shrank the database leaves pages past its end behind.
void FinishPageMap(uint32_t commit, uint64_t frame_size, PageMap* map) {
  map->pages.erase(map->pages.upper_bound(commit), map->pages.end());
  if (map->pages.empty()) return;
  map->commit = commit;
  uint64_t max_frame = 0;
  for (const auto& entry : map->pages) max_frame = std::max(max_frame, entry.second);
  map->max_offset = max_frame + frame_size;
}

}  // namespace

Result<Header> ReadHeader(RandomAccessReader& file) {
  uint8_t buf[kHeaderSize];
  LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(file, 0, buf, sizeof(buf)));
  return ParseHeader(buf, got);
}

Result<WalReader> WalReader::Open(RandomAccessReader* file) {
  if (file == nullptr) return Status::InvalidArgument("wal: no file");
  LS_ASSIGN_OR_RETURN(Header header, ReadHeader(*file));
  return WalReader(file, header, kHeaderSize, header.salts, header.checksum);
}

Result<WalReader> WalReader::OpenAt(RandomAccessReader* file, uint64_t offset, Salts salts) {
  if (file == nullptr) return Status::InvalidArgument("wal: no file");
  if (offset <= kHeaderSize) {
    return Status::InvalidArgument("wal offset " + std::to_string(offset) +
                                   " must be greater than the wal header size (32)");
  }
  LS_ASSIGN_OR_RETURN(Header header, ReadHeader(*file));
  const uint64_t frame_size = header.frame_size();
  if ((offset - kHeaderSize) % frame_size != 0) {
    return Status::InvalidArgument("unaligned wal offset " + std::to_string(offset) + " for page size " +
                                   std::to_string(header.page_size));
  }
  // The previous frame seeds the running checksum; its own checksum cannot be verified from here.
  const uint64_t prev = offset - frame_size;
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(frame_size);
  LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(*file, prev, buf.get(), frame_size));
  if (got < frame_size) {
    return PrevFrameMismatchError("wal frame at offset " + std::to_string(prev) + " is incomplete");
  }
  FrameHeader fh = DecodeFrameHeader(buf.get());
  if (fh.salts != salts) {
    return PrevFrameMismatchError("wal frame at offset " + std::to_string(prev) + " has salts " +
                                  FormatSalts(fh.salts) + ", want " + FormatSalts(salts));
  }
  return WalReader(file, header, offset, salts, fh.checksum);
}

Result<PageMap> WalReader::ReadPageMap(uint64_t max_bytes) const {
  const uint64_t frame_size = header_.frame_size();
  const ByteOrder order = header_.byte_order();
  LS_ASSIGN_OR_RETURN(uint64_t size_hint, file_->Size());
  FrameScanner scanner(*file_, start_, frame_size, size_hint);

  PageMap out;
  std::map<uint32_t, uint64_t> txn;  // pages of the transaction being read, not yet committed
  Checksum running = seed_;
  uint32_t commit = 0;
  for (;;) {
    const uint8_t* frame;
    uint64_t offset;
    LS_RETURN_IF_ERROR(scanner.Next(&frame, &offset));
    if (frame == nullptr) break;

    const FrameHeader fh = DecodeFrameHeader(frame);
    if (fh.pgno == 0 || fh.salts != salts_) break;
    running = ComputeChecksum(order, running, frame, 8);
    running = ComputeChecksum(order, running, frame + kFrameHeaderSize, header_.page_size);
    if (running != fh.checksum) break;

    txn.insert_or_assign(fh.pgno, offset);
    if (fh.commit == 0) continue;
    for (const auto& [pgno, frame_offset] : txn) out.pages.insert_or_assign(pgno, frame_offset);
    txn.clear();
    commit = fh.commit;
    if (max_bytes > 0 && offset + frame_size - start_ >= max_bytes) {
      out.limited = true;
      break;
    }
  }

  FinishPageMap(commit, frame_size, &out);
  return out;
}

Result<PageMap> WalReader::PageMapOf(std::span<const uint32_t> pgnos, uint32_t commit) const {
  const uint64_t frame_size = header_.frame_size();
  PageMap out;
  for (size_t i = 0; i < pgnos.size(); i++) {
    const uint64_t offset = start_ + i * frame_size;
    if (pgnos[i] == 0)
      return Status::Corruption("wal frame at offset " + std::to_string(offset) + " has page 0");
    out.pages.insert_or_assign(pgnos[i], offset);
  }
  FinishPageMap(commit, frame_size, &out);
  return out;
}

Result<std::vector<Salts>> WalReader::FrameSaltsUntil(Salts until) const {
  std::vector<Salts> out;
  std::set<Salts> seen;
  uint8_t buf[kFrameHeaderSize];
  for (uint64_t offset = kHeaderSize;; offset += header_.frame_size()) {
    LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(*file_, offset, buf, sizeof(buf)));
    if (got < sizeof(buf)) break;
    const Salts salts = DecodeFrameHeader(buf).salts;
    if (seen.insert(salts).second) out.push_back(salts);
    if (salts == until) break;
  }
  return out;
}

Status WalReader::CheckFrameOffset(uint64_t offset) const {
  if (offset < kHeaderSize || (offset - kHeaderSize) % header_.frame_size() != 0) {
    return Status::InvalidArgument("wal offset " + std::to_string(offset) +
                                   " is not a frame boundary for page size " +
                                   std::to_string(header_.page_size));
  }
  return Status::OK();
}

Result<FrameHeader> WalReader::ReadFrameHeader(uint64_t offset) const {
  LS_RETURN_IF_ERROR(CheckFrameOffset(offset));
  uint8_t buf[kFrameHeaderSize];
  LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(*file_, offset, buf, sizeof(buf)));
  if (got < sizeof(buf)) return Status::NotFound("wal: no frame header at offset " + std::to_string(offset));
  return DecodeFrameHeader(buf);
}

Result<FrameHeader> WalReader::ReadFrame(uint64_t offset, uint8_t* page) const {
  LS_ASSIGN_OR_RETURN(FrameHeader fh, ReadFrameHeader(offset));
  const uint64_t data_offset = offset + kFrameHeaderSize;
  LS_ASSIGN_OR_RETURN(size_t got, ReadFullAt(*file_, data_offset, page, header_.page_size));
  if (got < header_.page_size) {
    return Status::NotFound("wal: frame at offset " + std::to_string(offset) + " is incomplete");
  }
  return fh;
}

}  // namespace litestream::wal
