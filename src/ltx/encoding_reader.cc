#include "ltx/encoding_reader.h"

#include <algorithm>
#include <cstring>

namespace litestream::ltx {

EncodingReader::EncodingReader(PageSource& source, PageEncoding encoding, size_t compression_threads)
    : source_(source), enc_(pending_, encoding) {
  enc_.SetOutputBuffer(0);  // pending_ is the buffer
  enc_.SetCompressionThreads(compression_threads);
}

Status EncodingReader::Produce() {
  if (!started_) {
    started_ = true;
    page_.resize(source_.header().page_size);
    return enc_.EncodeHeader(source_.header());
  }
  uint32_t pgno = 0;
  LS_ASSIGN_OR_RETURN(bool more, source_.NextPage(&pgno, page_.data()));
  if (more) return enc_.EncodePage(pgno, page_.data(), source_.last_block());
  LS_RETURN_IF_ERROR(source_.Close());
  enc_.SetPostApplyChecksum(source_.post_apply_checksum());
  LS_RETURN_IF_ERROR(enc_.Close());
  done_ = true;
  std::vector<uint8_t>().swap(page_);
  return Status::OK();
}

Result<size_t> EncodingReader::Read(uint8_t* buf, size_t n) {
  if (!error_.ok()) return error_;
  while (pending_.pos == pending_.bytes.size() && !done_) {
    pending_.bytes.clear();
    pending_.pos = 0;
    if (Status s = Produce(); !s.ok()) {
      error_ = s;
      return s;
    }
  }
  const size_t take = std::min(n, pending_.bytes.size() - pending_.pos);
  if (take > 0) std::memcpy(buf, pending_.bytes.data() + pending_.pos, take);
  pending_.pos += take;
  return take;
}

}  // namespace litestream::ltx
