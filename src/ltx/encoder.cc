#include "ltx/encoder.h"

#include "ltx/coding.h"
#include "ltx/lz4_codec.h"
#include "util/crc64.h"

namespace litestream::ltx {

Encoder::Encoder(Writer& out, PageEncoding encoding, std::string name)
    : out_(out), encoding_(encoding), name_(std::move(name)) {}

Status Encoder::Fail(Status s) {
  if (!name_.empty()) s = s.WithContext(name_);
  state_ = State::kFailed;
  error_ = s;
  return s;
}

Status Encoder::Invalid(const std::string& message) { return Fail(Status::InvalidArgument(message)); }

Status Encoder::Emit(const uint8_t* data, size_t n) {
  Status s = out_.Write(data, n);
  if (!s.ok()) return Fail(s);
  offset_ += n;
  return Status::OK();
}

Status Encoder::EncodeHeader(const Header& header) {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kHeader) return Invalid("ltx encoder: header already written");
  if (Status s = header.Validate(); !s.ok()) return Fail(s);
  header_ = header;
  lock_pgno_ = LockPgno(header.page_size);
  uint8_t buf[kHeaderSize];
  header.EncodeTo(buf);
  crc_ = crc64::Value(buf, sizeof(buf));
  LS_RETURN_IF_ERROR(Emit(buf, sizeof(buf)));
  state_ = State::kPages;
  return Status::OK();
}

Status Encoder::CheckPage(uint32_t pgno) const {
  // Messages are built only on failure: this runs for every page.
  auto page = [pgno] { return "ltx encoder: page " + std::to_string(pgno); };
  if (pgno == 0) return Status::InvalidArgument("ltx encoder: invalid pgno 0");
  if (pgno > header_.commit) {
    return Status::InvalidArgument(page() + " is beyond the commit size of " +
                                   std::to_string(header_.commit) + " pages");
  }
  if (pgno == lock_pgno_) return Status::InvalidArgument(page() + " is the lock page and cannot be encoded");
  if (pgno <= last_pgno_) {
    return Status::InvalidArgument(page() + " out of order after page " + std::to_string(last_pgno_) +
                                   " (pages must strictly ascend)");
  }
  if (header_.IsSnapshot() && pgno != next_snapshot_pgno_) {
    return Status::InvalidArgument("ltx encoder: nonsequential page numbers in snapshot: got page " +
                                   std::to_string(pgno) + ", want " + std::to_string(next_snapshot_pgno_));
  }
  return Status::OK();
}

Status Encoder::EncodePage(uint32_t pgno, const uint8_t* data, size_t n) {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kPages) {
    return Invalid(state_ == State::kHeader ? "ltx encoder: page before header"
                                            : "ltx encoder: page after close");
  }
  if (n != header_.page_size) {
    return Invalid("ltx encoder: page " + std::to_string(pgno) + " is " + std::to_string(n) +
                   " bytes, want " + std::to_string(header_.page_size));
  }
  return EncodePage(pgno, data);
}

Status Encoder::EncodePage(uint32_t pgno, const uint8_t* data) {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kPages) {
    return Invalid(state_ == State::kHeader ? "ltx encoder: page before header"
                                            : "ltx encoder: page after close");
  }
  if (Status s = CheckPage(pgno); !s.ok()) return Fail(s);

  const PageHeader ph{pgno, encoding_ == PageEncoding::kBlock ? kPageHeaderFlagSize : uint16_t{0}};
  frame_.resize(kPageHeaderSize);
  ph.EncodeTo(frame_.data());
  Status s;
  size_t hashed = kPageHeaderSize;  // the page header (and the size field) are hashed as written
  if (encoding_ == PageEncoding::kBlock) {
    frame_.resize(kPageHeaderSize + kPageSizeFieldSize);
    s = compressor_.AppendBlock(data, header_.page_size, &frame_);
    PutBE32(frame_.data() + kPageHeaderSize,
            static_cast<uint32_t>(frame_.size() - hashed - kPageSizeFieldSize));
    hashed += kPageSizeFieldSize;
  } else {
    s = compressor_.AppendFrame(data, header_.page_size, &frame_);
  }
  if (!s.ok()) return Fail(s.WithContext("ltx encoder: page " + std::to_string(pgno)));
  crc_ = crc64::Extend(crc_, frame_.data(), hashed);
  crc_ = crc64::Extend(crc_, data, header_.page_size);  // decompressed bytes, not the LZ4 payload

  const uint64_t frame_offset = offset_;
  LS_RETURN_IF_ERROR(Emit(frame_.data(), frame_.size()));
  AppendUvarint(&index_, pgno);
  AppendUvarint(&index_, frame_offset);
  AppendUvarint(&index_, frame_.size());

  last_pgno_ = pgno;
  next_snapshot_pgno_ = uint64_t{pgno} + 1 == lock_pgno_ ? uint64_t{pgno} + 2 : uint64_t{pgno} + 1;
  page_count_++;
  return Status::OK();
}

Status Encoder::Close() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kClosed) return Status::OK();
  if (state_ != State::kPages) return Invalid("ltx encoder: close before header");
  if (header_.IsSnapshot() && header_.commit != 0 && next_snapshot_pgno_ <= header_.commit) {
    return Invalid("ltx encoder: snapshot ends at page " + std::to_string(last_pgno_) +
                   " but must hold every page up to " + std::to_string(header_.commit));
  }
  if (header_.commit == 0 && post_apply_checksum_ != kChecksumFlag) {
    return Invalid("ltx encoder: a file with commit 0 needs post-apply checksum 0x8000000000000000");
  }
  Trailer trailer{post_apply_checksum_, kChecksumFlag};
  if (Status s = trailer.Validate(header_); !s.ok()) return Fail(s);

  const uint8_t end_marker[kPageHeaderSize] = {};
  crc_ = crc64::Extend(crc_, end_marker, sizeof(end_marker));
  LS_RETURN_IF_ERROR(Emit(end_marker, sizeof(end_marker)));

  index_.push_back(0);  // terminator
  uint8_t tail[kPageIndexLengthSize + kTrailerSize];
  PutBE64(tail, index_.size());
  PutBE64(tail + kPageIndexLengthSize, trailer.post_apply_checksum);
  crc_ = crc64::Extend(crc_, index_.data(), index_.size());
  crc_ = crc64::Extend(crc_, tail, kPageIndexLengthSize + 8);
  trailer.file_checksum = kChecksumFlag | crc_;
  PutBE64(tail + kPageIndexLengthSize + 8, trailer.file_checksum);
  LS_RETURN_IF_ERROR(Emit(index_.data(), index_.size()));
  LS_RETURN_IF_ERROR(Emit(tail, sizeof(tail)));

  file_checksum_ = trailer.file_checksum;
  std::vector<uint8_t>().swap(index_);
  state_ = State::kClosed;
  return Status::OK();
}

}  // namespace litestream::ltx
