// An LTX file produced on demand: a Reader whose bytes are the encoding of a PageSource, generated as
// they are read (pull-based; about one encoded page buffered at a time, or a few batches
// with compression threads, plus the page index). Use it
// to hand a compaction's output to StorageClient::Write, which takes a Reader.
//
//   MergeIterator merge(inputs);
//   LS_RETURN_IF_ERROR(merge.Open());
//   EncodingReader ltx(merge, PageEncoding::kFrame);
//   LS_ASSIGN_OR_RETURN(auto info, client.Write(level, merge.header().min_txid, merge.header().max_txid,
//   ltx));
//
// The source is Close()d (verified) before the trailer is produced, so a reader that reached the end of
// stream without an error has read a complete, verified file. Errors are returned from Read() and repeat.
#pragma once

#include <cstdint>
#include <vector>

#include "litestream/io.h"
#include "ltx/encoder.h"
#include "ltx/page_source.h"

namespace litestream::ltx {

class EncodingReader final : public Reader {
 public:
  // REQUIRES: `source` is open and outlives this reader. compression_threads: Encoder::SetCompressionThreads.
  EncodingReader(PageSource& source, PageEncoding encoding, size_t compression_threads = 1);
  EncodingReader(const EncodingReader&) = delete;
  EncodingReader& operator=(const EncodingReader&) = delete;

  Result<size_t> Read(uint8_t* buf, size_t n) override;

  // The encoder's view (file checksum, size) once the stream has ended.
  const Encoder& encoder() const { return enc_; }

 private:
  class Pending final : public Writer {
   public:
    Status Write(const uint8_t* buf, size_t n) override {
      bytes.insert(bytes.end(), buf, buf + n);
      return Status::OK();
    }
    std::vector<uint8_t> bytes;
    size_t pos = 0;
  };

  Status Produce();  // encodes the next piece of the file into pending_

  PageSource& source_;
  Pending pending_;
  Encoder enc_;
  std::vector<uint8_t> page_;
  bool started_ = false;
  bool done_ = false;
  Status error_;
};

}  // namespace litestream::ltx
