// Merging N LTX files into one page stream (the compactor, §1.13; also restore's merged stream, §5.4).
//
// Inputs come in TXID order. Pages are pulled on demand: a k-way merge by pgno where, for each pgno, the
// page of the newest input that has it wins and older copies are read (and verified) but dropped; pgnos
// beyond the output Commit (the last input's: the database shrank) are dropped too. Every input is
// decoded to its end and Close()d, so its file checksum is verified; a corrupt input fails the merge with
// an error that names it.
//
// Memory: one Decoder per input (an 8 KiB read buffer, one page and one compressed-page scratch buffer),
// i.e. O(k * page_size) for k inputs, independent of the database size. No threads.
//
//   MergeIterator merge(inputs);
//   LS_RETURN_IF_ERROR(merge.Open());
//   LS_RETURN_IF_ERROR(WriteDatabaseImage(merge, out, name));      // restore: N files -> database file
//   // or: Compact(inputs, out, options)                            // compaction: N files -> one LTX file
//   // or: EncodingReader reader(merge, PageEncoding::kBlock)       // the merged LTX file as a Reader
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/format.h"
#include "ltx/page_source.h"

namespace litestream::ltx {

struct MergeInput {
  Reader* reader = nullptr;  // not owned; must outlive the merge
  std::string name;          // for messages
};

class MergeIterator final : public PageSource {
 public:
  // `flags` become the output header's flags (Litestream: NoChecksum).
  explicit MergeIterator(std::vector<MergeInput> inputs, uint32_t flags = kHeaderFlagNoChecksum);

  // The read buffers of all inputs together (default 2 MiB: a compaction inside the replicator), split
  // evenly, 8 KiB to 1 MiB each. A restore of many cold files reads faster with more. Before Open().
  void SetReadBufferBudget(size_t bytes) { read_buffer_budget_ = bytes; }
  // Whether last_block() returns the winning pages' LZ4 blocks (default on, for compaction). A restore
  // only needs the decoded pages and saves copying the blocks.
  void SetKeepBlocks(bool keep) { keep_blocks_ = keep; }
  MergeIterator(const MergeIterator&) = delete;
  MergeIterator& operator=(const MergeIterator&) = delete;

  // Decodes every input's header, then checks that all page sizes are equal and that each input
  // continues the previous one (next.Min <= prev.Max + 1 and next.Max > prev.Max). Builds the output
  // header: flags as given, PageSize of the first input, Commit and Timestamp of the last, MinTXID of the
  // first, MaxTXID of the last, PreApply of the first, WAL fields and NodeID 0. InvalidArgument for an
  // empty input list, Corruption for mismatched inputs.
  Status Open();

  const Header& header() const override { return header_; }
  Result<bool> NextPage(uint32_t* pgno, uint8_t* page) override;
  // Reads the rest of every input and verifies each one (Decoder::Close).
  Status Close() override;
  // The last input's PostApplyChecksum.
  uint64_t post_apply_checksum() const override;
  std::span<const uint8_t> last_block() const override { return last_block_; }

 private:
  struct Cursor {
    std::unique_ptr<Decoder> decoder;
    std::vector<uint8_t> page;   // the page at the head of this input
    std::vector<uint8_t> block;  // its LZ4 block, if the input had one (Decoder::last_block)
    uint32_t pgno = 0;           // its pgno
  };

  // Moves input i to its next page, pushing it back on the heap, or closes it at its end.
  Status Advance(size_t i);
  bool HeapBelow(size_t a, size_t b) const;

  std::vector<MergeInput> inputs_;
  const uint32_t flags_;
  size_t read_buffer_budget_ = 2 << 20;
  bool keep_blocks_ = true;
  std::vector<Cursor> cursors_;
  std::vector<size_t> heap_;         // inputs with a head page; top: lowest pgno, then newest input
  std::vector<uint8_t> last_block_;  // the block of the page NextPage returned last
  Header header_;
  bool open_ = false;
  Status error_;
};

struct CompactOptions {
  PageEncoding encoding = PageEncoding::kBlock;
  uint32_t flags = kHeaderFlagNoChecksum;
};

// Merges the inputs into one LTX file written to `out` and returns its header. The output's
// PostApplyChecksum is the last input's. On error `out` holds a partial file.
Result<Header> Compact(std::vector<MergeInput> inputs, Writer& out, const CompactOptions& options = {});

// Encodes every page of an open source into `enc` (after writing the source's header), then closes the
// source and the encoder, carrying over the source's PostApplyChecksum.
Status EncodeAll(PageSource& source, Encoder& enc);

}  // namespace litestream::ltx
