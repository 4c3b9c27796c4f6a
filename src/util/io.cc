#include "litestream/io.h"

#include <algorithm>
#include <cstring>

#include "util/file_system.h"

namespace litestream {

Status Reader::ReadFull(uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    LS_ASSIGN_OR_RETURN(size_t got, Read(buf + done, n - done));
    if (got == 0) {
      return Status::Corruption("unexpected end of stream: wanted " + std::to_string(n) + " bytes, got " +
                                std::to_string(done));
    }
    done += got;
  }
  return Status::OK();
}

Result<std::vector<uint8_t>> Reader::ReadAll(size_t max_bytes) {
  std::vector<uint8_t> out;
  uint8_t chunk[64 * 1024];
  for (;;) {
    LS_ASSIGN_OR_RETURN(size_t got, Read(chunk, sizeof(chunk)));
    if (got == 0) return out;
    if (out.size() + got > max_bytes) {
      return Status::InvalidArgument("stream larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.insert(out.end(), chunk, chunk + got);
  }
}

Result<size_t> BufferReader::Read(uint8_t* buf, size_t n) {
  size_t count = std::min(n, data_.size() - pos_);
  if (count > 0) std::memcpy(buf, data_.data() + pos_, count);
  pos_ += count;
  return count;
}

Result<uint64_t> Copy(Reader& from, Writer& to) {
  // File to file (a file replica's file to the local state): in the kernel.
  if (std::optional<Result<uint64_t>> copied = KernelCopy(from, to)) return std::move(*copied);
  return CopyInChunks(nullptr, 0, from, to);
}

}  // namespace litestream
