// A RandomAccessReader over bytes in memory, for tests, fuzzers and small objects.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "litestream/io.h"

namespace litestream {

// Owns its bytes. ReadAt is safe from several threads as long as nobody mutates data() meanwhile.
class MemoryRandomAccessReader final : public RandomAccessReader {
 public:
  MemoryRandomAccessReader() = default;
  explicit MemoryRandomAccessReader(std::vector<uint8_t> data) : data_(std::move(data)) {}
  MemoryRandomAccessReader(const uint8_t* data, size_t n) : data_(data, data + n) {}

  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    if (offset >= data_.size()) return size_t{0};
    size_t count = std::min<uint64_t>(n, data_.size() - offset);
    if (count > 0) std::memcpy(buf, data_.data() + offset, count);
    return count;
  }
  Result<uint64_t> Size() override { return uint64_t(data_.size()); }

  std::vector<uint8_t>& data() { return data_; }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

}  // namespace litestream
