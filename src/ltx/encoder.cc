#include "ltx/encoder.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

#include "ltx/coding.h"
#include "ltx/lz4_codec.h"
#include "util/crc64.h"

namespace litestream::ltx {
namespace {

// Pages per batch handed to a compression worker (1 MiB of 4 KiB pages).
constexpr size_t kBatchPages = 256;

// Appends page `data` as it is stored to *out: page header, size field (block encoding), LZ4 payload.
Status EncodeFrame(Lz4Compressor& compressor, PageEncoding encoding, uint32_t pgno, const uint8_t* data,
                   uint32_t page_size, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  const bool block = encoding == PageEncoding::kBlock;
  const PageHeader ph{pgno, block ? kPageHeaderFlagSize : uint16_t{0}};
  out->resize(start + kPageHeaderSize + (block ? kPageSizeFieldSize : 0));
  ph.EncodeTo(out->data() + start);
  Status s =
      block ? compressor.AppendBlock(data, page_size, out) : compressor.AppendFrame(data, page_size, out);
  if (!s.ok()) {
    out->resize(start);
    return s.WithContext("ltx encoder: page " + std::to_string(pgno));
  }
  if (block) {
    PutBE32(out->data() + start + kPageHeaderSize,
            static_cast<uint32_t>(out->size() - start - kPageHeaderSize - kPageSizeFieldSize));
  }
  return Status::OK();
}

}  // namespace

struct Encoder::Batch {
  std::vector<uint32_t> pgnos;
  std::vector<uint8_t> pages;   // page_size bytes each, in pgno order
  std::vector<uint8_t> frames;  // their encodings back to back
  std::vector<size_t> ends;     // ends[i]: where page i's encoding ends in frames
  Status status;
  bool done = false;
};

// Compression workers: batches are compressed in any order, on any worker, and taken back oldest first.
class Encoder::Workers {
 public:
  Workers(PageEncoding encoding, uint32_t page_size) : encoding_(encoding), page_size_(page_size) {}
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Starts up to n threads; false if none could be started.
  bool Start(size_t n) {
    try {
      for (size_t i = 0; i < n; i++) threads_.emplace_back([this] { Loop(); });
    } catch (...) {  // no more threads (or memory): the ones running will do
    }
    return !threads_.empty();
  }
  size_t threads() const { return threads_.size(); }

  // Batches are allocated here, on the caller's thread, with room for a whole batch: the workers never
  // allocate (memory a worker allocates lands in its own malloc arena and outlives the encoder there).
  std::unique_ptr<Batch> Spare() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!spare_.empty()) {
        std::unique_ptr<Batch> b = std::move(spare_.back());
        spare_.pop_back();
        return b;
      }
    }
    auto b = std::make_unique<Batch>();
    b->pgnos.reserve(kBatchPages);
    b->pages.reserve(kBatchPages * page_size_);
    b->frames.reserve(kBatchPages * MaxEncodedPageSize(page_size_));
    b->ends.reserve(kBatchPages);
    return b;
  }
  void Recycle(std::unique_ptr<Batch> b) {
    b->pgnos.clear();
    b->pages.clear();
    b->status = Status::OK();
    b->done = false;
    std::lock_guard<std::mutex> lock(mu_);
    spare_.push_back(std::move(b));
  }
  void Submit(std::unique_ptr<Batch> b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo_.push_back(b.get());
      order_.push_back(std::move(b));
    }
    work_cv_.notify_one();
  }
  size_t in_flight() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_.size();
  }
  // REQUIRES: in_flight() > 0.
  std::unique_ptr<Batch> TakeOldest() {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return order_.front()->done; });
    std::unique_ptr<Batch> b = std::move(order_.front());
    order_.pop_front();
    return b;
  }

 private:
  void Loop() {
    Lz4Compressor compressor;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || !todo_.empty(); });
      if (stop_) return;
      Batch* b = todo_.front();
      todo_.pop_front();
      lock.unlock();
      Status s;
      try {
        b->frames.clear();
        b->ends.clear();
        for (size_t i = 0; i < b->pgnos.size() && s.ok(); i++) {
          s = EncodeFrame(compressor, encoding_, b->pgnos[i], b->pages.data() + i * page_size_, page_size_,
                          &b->frames);
          b->ends.push_back(b->frames.size());
        }
      } catch (const std::bad_alloc&) {
        s = Status::IOError("ltx encoder: out of memory");
      }
      lock.lock();
      b->status = std::move(s);
      b->done = true;
      done_cv_.notify_all();
    }
  }

  const PageEncoding encoding_;
  const uint32_t page_size_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  bool stop_ = false;
  std::deque<std::unique_ptr<Batch>> order_;  // submitted, oldest first
  std::deque<Batch*> todo_;                   // submitted, not yet picked up
  std::vector<std::unique_ptr<Batch>> spare_;
};

Encoder::Encoder(Writer& out, PageEncoding encoding, std::string name)
    : out_(out), encoding_(encoding), name_(std::move(name)) {}

Encoder::~Encoder() = default;

void Encoder::SetCompressionThreads(size_t threads) { compression_threads_ = threads; }

Status Encoder::Fail(Status s) {
  if (!name_.empty()) s = s.WithContext(name_);
  state_ = State::kFailed;
  error_ = s;
  return s;
}

Status Encoder::Invalid(const std::string& message) { return Fail(Status::InvalidArgument(message)); }

Status Encoder::Emit(const uint8_t* data, size_t n) {
  offset_ += n;
  if (buffer_limit_ == 0) {
    Status s = out_.Write(data, n);
    return s.ok() ? s : Fail(s);
  }
  if (buffer_.data() == nullptr) buffer_ = ScratchBuffer(buffer_limit_);
  if (buffered_ + n > buffer_.capacity()) {
    LS_RETURN_IF_ERROR(Flush());
    if (n >= buffer_.capacity()) {  // a page index bigger than the buffer goes out as it is
      Status s = out_.Write(data, n);
      return s.ok() ? s : Fail(s);
    }
  }
  std::memcpy(buffer_.data() + buffered_, data, n);
  buffered_ += n;
  return buffered_ >= buffer_limit_ ? Flush() : Status::OK();
}

Status Encoder::Flush() {
  if (buffered_ == 0) return Status::OK();
  Status s = out_.Write(buffer_.data(), buffered_);
  buffered_ = 0;
  return s.ok() ? s : Fail(s);
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
  if (compression_threads_ > 1) {
    workers_ = std::make_unique<Workers>(encoding_, header.page_size);
    if (!workers_->Start(compression_threads_)) workers_.reset();
  }
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

Status Encoder::CheckState() {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kPages) {
    return Invalid(state_ == State::kHeader ? "ltx encoder: page before header"
                                            : "ltx encoder: page after close");
  }
  return Status::OK();
}

void Encoder::Accepted(uint32_t pgno) {
  last_pgno_ = pgno;
  next_snapshot_pgno_ = uint64_t{pgno} + 1 == lock_pgno_ ? uint64_t{pgno} + 2 : uint64_t{pgno} + 1;
  page_count_++;
}

Status Encoder::EncodePage(uint32_t pgno, const uint8_t* data, size_t n) {
  LS_RETURN_IF_ERROR(CheckState());
  if (n != header_.page_size) {
    return Invalid("ltx encoder: page " + std::to_string(pgno) + " is " + std::to_string(n) +
                   " bytes, want " + std::to_string(header_.page_size));
  }
  return EncodePage(pgno, data);
}

Status Encoder::EncodePage(uint32_t pgno, const uint8_t* data) {
  LS_RETURN_IF_ERROR(CheckState());
  if (Status s = CheckPage(pgno); !s.ok()) return Fail(s);
  if (workers_) {
    if (!filling_) filling_ = workers_->Spare();
    filling_->pgnos.push_back(pgno);
    filling_->pages.insert(filling_->pages.end(), data, data + header_.page_size);
    Accepted(pgno);
    return filling_->pgnos.size() >= kBatchPages ? SubmitBatch() : Status::OK();
  }
  frame_.clear();
  if (Status s = EncodeFrame(compressor_, encoding_, pgno, data, header_.page_size, &frame_); !s.ok()) {
    return Fail(s);
  }
  Accepted(pgno);
  return EmitPage(pgno, frame_.data(), frame_.size(), data);
}

Status Encoder::EncodePage(uint32_t pgno, const uint8_t* data, std::span<const uint8_t> block) {
  if (block.empty() || encoding_ != PageEncoding::kBlock || workers_ ||
      block.size() > MaxCompressedBlockSize(header_.page_size)) {
    return EncodePage(pgno, data);
  }
  LS_RETURN_IF_ERROR(CheckState());
  if (Status s = CheckPage(pgno); !s.ok()) return Fail(s);
  frame_.resize(kPageHeaderSize + kPageSizeFieldSize);
  PageHeader{pgno, kPageHeaderFlagSize}.EncodeTo(frame_.data());
  PutBE32(frame_.data() + kPageHeaderSize, static_cast<uint32_t>(block.size()));
  frame_.insert(frame_.end(), block.begin(), block.end());
  Accepted(pgno);
  return EmitPage(pgno, frame_.data(), frame_.size(), data);
}

Status Encoder::EmitPage(uint32_t pgno, const uint8_t* frame, size_t frame_size, const uint8_t* data) {
  // The page header (and the size field) are hashed as written, then the decompressed bytes, not the
  // LZ4 payload (§1.8).
  const size_t hashed = kPageHeaderSize + (encoding_ == PageEncoding::kBlock ? kPageSizeFieldSize : 0);
  crc_ = crc64::Extend(crc_, frame, hashed);
  crc_ = crc64::Extend(crc_, data, header_.page_size);
  const uint64_t frame_offset = offset_;
  LS_RETURN_IF_ERROR(Emit(frame, frame_size));
  AppendUvarint(&index_, pgno);
  AppendUvarint(&index_, frame_offset);
  AppendUvarint(&index_, frame_size);
  return Status::OK();
}

Status Encoder::SubmitBatch() {
  workers_->Submit(std::move(filling_));
  // Bounded memory: at most two batches waiting per worker.
  while (workers_->in_flight() > 2 * workers_->threads()) {
    LS_RETURN_IF_ERROR(EmitBatch(workers_->TakeOldest()));
  }
  return Status::OK();
}

Status Encoder::EmitBatch(std::unique_ptr<Batch> batch) {
  if (!batch->status.ok()) return Fail(batch->status);
  size_t start = 0;
  for (size_t i = 0; i < batch->pgnos.size(); i++) {
    LS_RETURN_IF_ERROR(EmitPage(batch->pgnos[i], batch->frames.data() + start, batch->ends[i] - start,
                                batch->pages.data() + i * header_.page_size));
    start = batch->ends[i];
  }
  workers_->Recycle(std::move(batch));
  return Status::OK();
}

Status Encoder::Close() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kClosed) return Status::OK();
  if (state_ != State::kPages) return Invalid("ltx encoder: close before header");
  if (workers_) {
    if (filling_ && !filling_->pgnos.empty()) workers_->Submit(std::move(filling_));
    while (workers_->in_flight() > 0) LS_RETURN_IF_ERROR(EmitBatch(workers_->TakeOldest()));
    workers_.reset();
    filling_.reset();
  }
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
  LS_RETURN_IF_ERROR(Flush());

  file_checksum_ = trailer.file_checksum;
  std::vector<uint8_t>().swap(index_);
  buffer_ = ScratchBuffer();
  state_ = State::kClosed;
  return Status::OK();
}

}  // namespace litestream::ltx
