// The storage backend conformance suite: every StorageClient (file, s3, sftp, ...) must pass it.
//
// Use from tests/storage/<backend>_test.cc (same test binary as conformance_test.cc, which holds the
// tests):
//
//   StorageBackend FileBackend() {
//     StorageBackend b;
//     b.name = "file";
//     b.make = [] { return std::make_unique<FileStorageClient>(MakeTempDir("conf")); };
//     b.put_raw = ...;  // optional: plant a foreign object in a level's listing location
//     return b;
//   }
//   INSTANTIATE_TEST_SUITE_P(File, StorageConformance, ::testing::Values(FileBackend()),
//                            [](const auto& p) { return p.param.name; });
//
// It also provides MakeLtxBytes(): a minimal valid LTX header plus payload, which is all a backend looks
// at (the header's magic, TXIDs and timestamp), so the suite does not depend on the LTX codec.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/storage.h"

namespace litestream::testing {

struct StorageBackend {
  std::string name;  // a gtest-safe identifier: letters, digits, underscores
  // A client on a fresh, empty replica location. Called once per test.
  std::function<std::unique_ptr<StorageClient>()> make;
  // Optional: stores `data` as an object named `name` next to `client`'s files of `level`, bypassing
  // the client (to check that List ignores lock.json, *.tmp and other foreign names). Tests that need it
  // are skipped when it is empty.
  std::function<void(StorageClient& client, int level, const std::string& name,
                     const std::vector<uint8_t>& data)>
      put_raw;
  // True when List(use_metadata=false) already reports the header timestamp as created_at (file backend);
  // otherwise only List(use_metadata=true) is checked against it.
  bool list_reports_header_timestamp = true;
};

// gtest prints parameters in test names and failures: the backend's name, not its bytes.
inline void PrintTo(const StorageBackend& backend, std::ostream* os) { *os << backend.name; }

// An LTX header (100 bytes: magic "LTX1", flags 2, page size 4096, commit 1, min, max, timestamp ms) followed
// by `payload_size` bytes derived from `seed`.
inline std::vector<uint8_t> MakeLtxBytes(TXID min_txid, TXID max_txid, int64_t timestamp_ms,
                                         size_t payload_size = 64, uint8_t seed = 0) {
  std::vector<uint8_t> b(100 + payload_size, 0);
  auto put32 = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; i++) b[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  auto put64 = [&](size_t off, uint64_t v) {
    for (int i = 0; i < 8; i++) b[off + i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  };
  b[0] = 'L';
  b[1] = 'T';
  b[2] = 'X';
  b[3] = '1';
  put32(4, 2);     // flags: NoChecksum
  put32(8, 4096);  // page size
  put32(12, 1);    // commit
  put64(16, min_txid);
  put64(24, max_txid);
  put64(32, static_cast<uint64_t>(timestamp_ms));
  for (size_t i = 0; i < payload_size; i++) b[100 + i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

inline SystemTime MillisToTime(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// A stream of `size` bytes (a valid LTX header first) produced on the fly, handed out in reads of at
// most `chunk` bytes: a large upload without a large buffer.
class GeneratedLtxReader final : public Reader {
 public:
  GeneratedLtxReader(TXID min_txid, TXID max_txid, int64_t timestamp_ms, uint64_t size, size_t chunk = 7919)
      : header_(MakeLtxBytes(min_txid, max_txid, timestamp_ms, 0)), size_(size), chunk_(chunk) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;
  // The byte at offset `i` of the stream.
  uint8_t At(uint64_t i) const {
    return i < header_.size() ? header_[i] : static_cast<uint8_t>((i * 2654435761u) >> 13);
  }

 private:
  std::vector<uint8_t> header_;
  uint64_t size_;
  size_t chunk_;
  uint64_t pos_ = 0;
};

inline Result<size_t> GeneratedLtxReader::Read(uint8_t* buf, size_t n) {
  size_t count = static_cast<size_t>(std::min<uint64_t>({n, chunk_, size_ - pos_}));
  for (size_t i = 0; i < count; i++) buf[i] = At(pos_ + i);
  pos_ += count;
  return count;
}

// Reads everything from `r` (test helper; fails the test on error).
inline std::vector<uint8_t> ReadAllOrDie(Reader& r) {
  Result<std::vector<uint8_t>> data = r.ReadAll(size_t{64} << 20);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? *data : std::vector<uint8_t>{};
}

class StorageConformance : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override { client_ = GetParam().make(); }
  // Writes MakeLtxBytes(min, max, ts, payload, seed) and expects success.
  LtxFileInfo MustWrite(int level, TXID min_txid, TXID max_txid, int64_t ts_ms, size_t payload = 64,
                        uint8_t seed = 0);
  std::vector<LtxFileInfo> MustList(int level, TXID seek = 0, bool use_metadata = false);
  // Reads [offset, offset+length) with Open, or with OpenOnce if `once`.
  std::vector<uint8_t> MustOpen(int level, TXID min_txid, TXID max_txid, uint64_t offset = 0,
                                uint64_t length = 0, bool once = false);

  std::unique_ptr<StorageClient> client_;
};

}  // namespace litestream::testing
