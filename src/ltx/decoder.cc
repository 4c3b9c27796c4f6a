#include "ltx/decoder.h"

#include "ltx/coding.h"
#include "ltx/lz4_codec.h"
#include "util/crc64.h"

namespace litestream::ltx {
namespace {

// CRC of the canonical varint encoding of one index entry.
uint64_t ExtendIndexDigest(uint64_t digest, uint64_t pgno, uint64_t offset, uint64_t size) {
  uint8_t buf[3 * kMaxVarintLength];
  size_t n = PutUvarint(buf, pgno);
  n += PutUvarint(buf + n, offset);
  n += PutUvarint(buf + n, size);
  return crc64::Extend(digest, buf, n);
}

std::string At(uint64_t offset) { return "offset " + std::to_string(offset); }

}  // namespace

Decoder::Decoder(Reader& in, std::string name, size_t buffer_size)
    : in_(in, buffer_size), name_(std::move(name)) {}

Status Decoder::Fail(Status s, std::string_view where) {
  // Rules broken by the bytes are corruption, whatever the validating helper called them.
  StatusCode code = s.code() == StatusCode::kInvalidArgument ? StatusCode::kCorruption : s.code();
  std::string prefix = name_.empty() ? std::string() : name_ + ": ";
  if (!where.empty()) prefix += std::string(where) + ": ";
  error_ = Status(code, prefix + s.message());
  state_ = State::kFailed;
  return error_;
}

Status Decoder::ReadHashed(uint8_t* dst, size_t n) {
  LS_RETURN_IF_ERROR(in_.ReadExact(dst, n));
  crc_ = crc64::Extend(crc_, dst, n);
  return Status::OK();
}

Status Decoder::DecodeHeader() {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kHeader) return Fail(Status::FailedPrecondition("header already decoded"), "");
  uint8_t buf[kHeaderSize];
  if (Status s = ReadHashed(buf, sizeof(buf)); !s.ok()) return Fail(s, "header");
  Result<Header> h = Header::Decode(buf);
  if (!h.ok()) return Fail(h.status(), "header");
  if (Status s = h->Validate(); !s.ok()) return Fail(s, "header");
  header_ = *h;
  lock_pgno_ = LockPgno(header_.page_size);
  state_ = State::kPages;
  return Status::OK();
}

Result<bool> Decoder::NextPage(uint32_t* pgno, uint8_t* page) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kIndex || state_ == State::kClosed) return false;
  if (state_ != State::kPages) return Fail(Status::FailedPrecondition("page read before the header"), "");

  const uint64_t offset = in_.offset();
  uint8_t buf[kPageHeaderSize];
  if (Status s = ReadHashed(buf, sizeof(buf)); !s.ok()) return Fail(s, "page header at " + At(offset));
  const PageHeader ph = PageHeader::Decode(buf);
  if (ph.IsEndMarker()) {
    state_ = State::kIndex;
    return false;
  }
  if (Status s = ph.Validate(); !s.ok()) return Fail(s, "page header at " + At(offset));
  if (Status s = DecodePage(ph, offset, page); !s.ok()) {
    return Fail(s, "page " + std::to_string(ph.pgno) + " at " + At(offset));
  }
  *pgno = ph.pgno;
  return true;
}

Status Decoder::DecodePage(const PageHeader& ph, uint64_t offset, uint8_t* page) {
  if (ph.pgno <= last_pgno_) {
    return Status::Corruption("pgno does not ascend (previous page " + std::to_string(last_pgno_) + ")");
  }
  if (ph.pgno > header_.commit) {
    return Status::Corruption("pgno beyond the commit size of " + std::to_string(header_.commit) + " pages");
  }
  if (ph.pgno == lock_pgno_) return Status::Corruption("the lock page is stored");

  const uint32_t ps = header_.page_size;
  if (ph.IsBlockEncoded()) {
    uint8_t size_buf[kPageSizeFieldSize];
    LS_RETURN_IF_ERROR(ReadHashed(size_buf, sizeof(size_buf)));
    const uint32_t csize = GetBE32(size_buf);
    if (csize == 0 || csize > MaxCompressedBlockSize(ps)) {
      return Status::Corruption("lz4 block size " + std::to_string(csize) + " is out of range (1.." +
                                std::to_string(MaxCompressedBlockSize(ps)) + ")");
    }
    scratch_.resize(MaxCompressedBlockSize(ps));
    LS_RETURN_IF_ERROR(in_.ReadExact(scratch_.data(), csize));
    LS_RETURN_IF_ERROR(DecompressBlock(scratch_.data(), csize, page, ps));
    last_block_size_ = csize;
  } else {
    last_block_size_ = 0;
    size_t frame_size = 0;
    LS_RETURN_IF_ERROR(DecodeFrame(in_, ps, page, &scratch_, &frame_size));
  }
  crc_ = crc64::Extend(crc_, page, ps);
  if (!header_.NoChecksum() && header_.IsSnapshot()) rolling_checksum_ ^= ChecksumPage(ph.pgno, page, ps);
  index_digest_ = ExtendIndexDigest(index_digest_, ph.pgno, offset, in_.offset() - offset);
  last_pgno_ = ph.pgno;
  page_count_++;
  return Status::OK();
}

Status Decoder::Close() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kClosed) return Status::OK();
  if (state_ == State::kHeader) return Fail(Status::FailedPrecondition("close before the header"), "");
  if (state_ == State::kPages) {
    drain_.resize(header_.page_size);
    uint32_t pgno;
    for (;;) {
      LS_ASSIGN_OR_RETURN(bool more, NextPage(&pgno, drain_.data()));
      if (!more) break;
    }
    std::vector<uint8_t>().swap(drain_);
  }
  const uint64_t index_offset = in_.offset();
  uint64_t digest = 0;
  if (Status s = ReadIndex(&digest); !s.ok()) return Fail(s, "page index at " + At(index_offset));
  const uint64_t trailer_offset = in_.offset();
  uint8_t buf[kTrailerSize];
  if (Status s = in_.ReadExact(buf, sizeof(buf)); !s.ok()) return Fail(s, "trailer at " + At(trailer_offset));
  trailer_ = Trailer::Decode(buf);
  crc_ = crc64::Extend(crc_, buf, 8);  // the post-apply checksum; the file checksum itself is not hashed
  if (Status s = trailer_.Validate(header_); !s.ok()) return Fail(s, "trailer at " + At(trailer_offset));
  const uint64_t computed = kChecksumFlag | crc_;
  if (trailer_.file_checksum != computed) {
    return Fail(
        Status::Corruption("file checksum mismatch: stored " + FormatChecksum(trailer_.file_checksum) +
                           ", computed " + FormatChecksum(computed)),
        "");
  }
  if (digest != index_digest_) {
    return Fail(Status::Corruption("entries (pgno, offset, size) do not match the pages of the file"),
                "page index at " + At(index_offset));
  }
  if (!header_.NoChecksum() && header_.IsSnapshot() &&
      trailer_.post_apply_checksum != (kChecksumFlag | rolling_checksum_)) {
    return Fail(Status::Corruption("post-apply checksum mismatch: stored " +
                                   FormatChecksum(trailer_.post_apply_checksum) + ", computed " +
                                   FormatChecksum(kChecksumFlag | rolling_checksum_)),
                "");
  }
  Result<bool> at_end = in_.AtEnd();
  if (!at_end.ok()) return Fail(at_end.status(), "");
  if (!*at_end)
    return Fail(Status::Corruption("unexpected data after the trailer at " + At(in_.offset())), "");
  state_ = State::kClosed;
  return Status::OK();
}

Result<uint64_t> Decoder::ReadIndexVarint(uint64_t* index_len) {
  const uint64_t offset = in_.offset();
  uint8_t buf[kMaxVarintLength];
  for (size_t i = 0; i < kMaxVarintLength; i++) {
    LS_RETURN_IF_ERROR(ReadHashed(buf + i, 1));
    ++*index_len;
    if ((buf[i] & 0x80) == 0) {
      uint64_t v = 0;
      if (GetUvarint(buf, buf + i + 1, &v) == 0) break;
      return v;
    }
  }
  return Status::Corruption("malformed varint at " + At(offset));
}

Status Decoder::ReadIndex(uint64_t* digest) {
  // The index must list exactly the pages read, so at most page_count_ entries are parsed.
  uint64_t index_len = 0;
  for (uint32_t i = 0;; i++) {
    LS_ASSIGN_OR_RETURN(uint64_t pgno, ReadIndexVarint(&index_len));
    if (pgno == 0) {
      if (i != page_count_) {
        return Status::Corruption("has " + std::to_string(i) + " entries for " + std::to_string(page_count_) +
                                  " pages");
      }
      break;
    }
    if (i == page_count_) {
      return Status::Corruption("has more entries than the " + std::to_string(page_count_) + " pages");
    }
    LS_ASSIGN_OR_RETURN(uint64_t offset, ReadIndexVarint(&index_len));
    LS_ASSIGN_OR_RETURN(uint64_t size, ReadIndexVarint(&index_len));
    *digest = ExtendIndexDigest(*digest, pgno, offset, size);
  }
  uint8_t buf[kPageIndexLengthSize];
  LS_RETURN_IF_ERROR(ReadHashed(buf, sizeof(buf)));
  const uint64_t stored_len = GetBE64(buf);
  if (stored_len != index_len) {
    return Status::Corruption("length field says " + std::to_string(stored_len) + " bytes, the index is " +
                              std::to_string(index_len));
  }
  return Status::OK();
}

Status VerifyFile(Reader& in, std::string_view name, Header* header, Trailer* trailer) {
  Decoder dec(in, std::string(name));
  LS_RETURN_IF_ERROR(dec.DecodeHeader());
  LS_RETURN_IF_ERROR(dec.Close());
  if (header != nullptr) *header = dec.header();
  if (trailer != nullptr) *trailer = dec.trailer();
  return Status::OK();
}

}  // namespace litestream::ltx
