#include "ltx/merge.h"

#include <algorithm>

#include "litestream/storage.h"
#include "ltx/encoder.h"

namespace litestream::ltx {
namespace {

std::string DescribeRange(const MergeInput& in, const Header& h) {
  return in.name + " (TXID " + FormatTXID(h.min_txid) + "-" + FormatTXID(h.max_txid) + ")";
}

}  // namespace

MergeIterator::MergeIterator(std::vector<MergeInput> inputs, uint32_t flags)
    : inputs_(std::move(inputs)), flags_(flags) {}

Status MergeIterator::Open() {
  if (open_) return Status::FailedPrecondition("ltx merge: already open");
  if (inputs_.empty()) return Status::InvalidArgument("ltx merge: no input files");
  cursors_.resize(inputs_.size());
  // Large reads for a few big files (a restore's snapshot), small ones when hundreds of L0 files merge.
  const size_t buffer_size = std::clamp<size_t>(read_buffer_budget_ / inputs_.size(), 8 << 10, 1 << 20);
  for (size_t i = 0; i < inputs_.size(); i++) {
    if (inputs_[i].reader == nullptr)
      return Status::InvalidArgument("ltx merge: " + inputs_[i].name + ": no reader");
    cursors_[i].decoder = std::make_unique<Decoder>(*inputs_[i].reader, inputs_[i].name, buffer_size);
    LS_RETURN_IF_ERROR(cursors_[i].decoder->DecodeHeader());
  }
  const Header& first = cursors_.front().decoder->header();
  const Header& last = cursors_.back().decoder->header();
  for (size_t i = 1; i < cursors_.size(); i++) {
    const Header& prev = cursors_[i - 1].decoder->header();
    const Header& h = cursors_[i].decoder->header();
    if (h.page_size != first.page_size) {
      return Status::Corruption("ltx merge: " + inputs_[i].name + ": page size " +
                                std::to_string(h.page_size) + " differs from " + inputs_[0].name + "'s " +
                                std::to_string(first.page_size));
    }
    if (!(h.min_txid <= prev.max_txid + 1 && h.max_txid > prev.max_txid)) {
      return Status::Corruption("ltx merge: non-contiguous TXIDs: " + DescribeRange(inputs_[i], h) +
                                " does not continue " + DescribeRange(inputs_[i - 1], prev));
    }
  }
  header_ = Header{};
  header_.flags = flags_;
  header_.page_size = first.page_size;
  header_.commit = last.commit;
  header_.min_txid = first.min_txid;
  header_.max_txid = last.max_txid;
  header_.timestamp = last.timestamp;
  header_.pre_apply_checksum = first.pre_apply_checksum;
  if (Status s = header_.Validate(); !s.ok()) return s.WithContext("ltx merge: output header");

  heap_.clear();
  for (size_t i = 0; i < cursors_.size(); i++) {
    cursors_[i].page.resize(header_.page_size);
    LS_RETURN_IF_ERROR(Advance(i));
  }
  open_ = true;
  return Status::OK();
}

// Heap order: the top is the lowest pgno and, among equal pgnos, the newest (highest-index) input.
bool MergeIterator::HeapBelow(size_t a, size_t b) const {
  const uint32_t pa = cursors_[a].pgno, pb = cursors_[b].pgno;
  return pa != pb ? pa > pb : a < b;
}

Status MergeIterator::Advance(size_t i) {
  Cursor& c = cursors_[i];
  LS_ASSIGN_OR_RETURN(bool more, c.decoder->NextPage(&c.pgno, c.page.data()));
  const std::span<const uint8_t> block =
      more && keep_blocks_ ? c.decoder->last_block() : std::span<const uint8_t>();
  c.block.assign(block.begin(), block.end());
  if (!more) {
    std::vector<uint8_t>().swap(c.page);
    return c.decoder->Close();  // verifies this input's index, trailer and checksum
  }
  heap_.push_back(i);
  std::push_heap(heap_.begin(), heap_.end(), [this](size_t a, size_t b) { return HeapBelow(a, b); });
  return Status::OK();
}

Result<bool> MergeIterator::NextPage(uint32_t* pgno, uint8_t* page) {
  if (!error_.ok()) return error_;
  if (!open_) return Status::FailedPrecondition("ltx merge: not open");
  auto less = [this](size_t a, size_t b) { return HeapBelow(a, b); };
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), less);
    const size_t winner = heap_.back();
    heap_.pop_back();
    const uint32_t got = cursors_[winner].pgno;
    const bool keep = got <= header_.commit;
    if (keep) {
      std::copy(cursors_[winner].page.begin(), cursors_[winner].page.end(), page);
      last_block_.swap(cursors_[winner].block);  // Advance refills the cursor's
    }
    Status s = Advance(winner);
    // Older copies of the same page lose.
    while (s.ok() && !heap_.empty() && cursors_[heap_.front()].pgno == got) {
      std::pop_heap(heap_.begin(), heap_.end(), less);
      const size_t loser = heap_.back();
      heap_.pop_back();
      s = Advance(loser);
    }
    if (!s.ok()) {
      error_ = s;
      return s;
    }
    if (keep) {
      *pgno = got;
      return true;
    }
    // Beyond the output commit: the database shrank. Every later page is larger, so keep draining.
  }
  return false;
}

Status MergeIterator::Close() {
  if (!error_.ok()) return error_;
  if (!open_) return Status::FailedPrecondition("ltx merge: not open");
  for (Cursor& c : cursors_) {
    if (Status s = c.decoder->Close(); !s.ok()) {
      error_ = s;
      return s;
    }
  }
  heap_.clear();
  return Status::OK();
}

uint64_t MergeIterator::post_apply_checksum() const {
  return cursors_.empty() ? 0 : cursors_.back().decoder->post_apply_checksum();
}

Status EncodeAll(PageSource& source, Encoder& enc) {
  LS_RETURN_IF_ERROR(enc.EncodeHeader(source.header()));
  std::vector<uint8_t> page(source.header().page_size);
  for (;;) {
    uint32_t pgno = 0;
    LS_ASSIGN_OR_RETURN(bool more, source.NextPage(&pgno, page.data()));
    if (!more) break;
    LS_RETURN_IF_ERROR(enc.EncodePage(pgno, page.data(), source.last_block()));
  }
  LS_RETURN_IF_ERROR(source.Close());
  enc.SetPostApplyChecksum(source.post_apply_checksum());
  return enc.Close();
}

Result<Header> Compact(std::vector<MergeInput> inputs, Writer& out, const CompactOptions& options) {
  MergeIterator merge(std::move(inputs), options.flags);
  LS_RETURN_IF_ERROR(merge.Open());
  Encoder enc(out, options.encoding, "ltx compaction output");
  enc.SetOutputBuffer(0);  // memory stays bounded by the inputs; `out` buffers if it wants to
  LS_RETURN_IF_ERROR(EncodeAll(merge, enc));
  return merge.header();
}

}  // namespace litestream::ltx
