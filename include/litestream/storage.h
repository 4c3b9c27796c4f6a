// The storage seam: every replica backend (file, s3, sftp, abs, webdav, nats, gcs) implements this
// narrow interface and nothing else; the engine, restore, compaction and the VFS see only this.
// A replica is nothing but immutable LTX files named by (level, min TXID, max TXID).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "litestream/io.h"
#include "litestream/status.h"

namespace litestream {

using TXID = uint64_t;
using SystemTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

constexpr int kSnapshotLevel = 9;  // level-9 files are full snapshots 1-<max>
constexpr int kMaxCompactionLevel = 8;

struct LtxFileInfo {
  int level = 0;
  TXID min_txid = 0;
  TXID max_txid = 0;
  int64_t size = 0;
  // When the file was written (file mtime or object LastModified; with use_metadata, the LTX header's
  // timestamp stored as object metadata). Retention and restore plans use it.
  SystemTime created_at{};

  bool operator==(const LtxFileInfo&) const = default;
};

class StorageClient {
 public:
  virtual ~StorageClient() = default;

  // Short backend name: "file", "s3", ...
  virtual std::string Type() const = 0;
  // A human-readable location for messages ("file:///backups/app", "s3://bkt/app").
  virtual std::string Describe() const = 0;

  // Files of one level with min_txid >= seek, sorted by (min_txid, max_txid). An empty or missing
  // level is an empty list, not an error. use_metadata asks for the LTX header timestamp as created_at
  // where the backend stores it separately (only timestamp restores need it; it may cost a request per file).
  virtual Result<std::vector<LtxFileInfo>> List(int level, TXID seek, bool use_metadata = false) = 0;

  // Opens [offset, offset+length) of a file; length 0 means to the end. NotFound if it does not exist.
  virtual Result<std::unique_ptr<Reader>> Open(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                               uint64_t length) = 0;
  // Like Open, for a reader that reads the file once, front to back, and does not come back to it (a
  // restore, a compaction): a backend may keep the bytes out of local caches (the file backend reads them
  // with FileSystem::OpenSequentialOnce). The default is Open.
  virtual Result<std::unique_ptr<Reader>> OpenOnce(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                                   uint64_t length) {
    return Open(level, min_txid, max_txid, offset, length);
  }

  // Writes a whole LTX file from `data` (size may be unknown: streamed). The file appears atomically
  // under its final name and created_at equals the LTX header timestamp. Returns the stored file's info.
  virtual Result<LtxFileInfo> Write(int level, TXID min_txid, TXID max_txid, Reader& data) = 0;

  // Deletes the given files; files that are already gone are not an error.
  virtual Status Remove(const std::vector<LtxFileInfo>& files) = 0;

  // Deletes everything under this replica's root.
  virtual Status RemoveAll() = 0;
};

// Size of the LTX header every backend peeks at before writing a file.
constexpr size_t kLtxHeaderBytes = 100;
// Checks the first kLtxHeaderBytes of a stream a backend is asked to store as `name`: the LTX magic and the
// TXID range the name claims. Returns the header timestamp (the file's created_at).
Result<SystemTime> CheckLtxHeaderForWrite(const uint8_t* header, TXID min_txid, TXID max_txid,
                                          const std::string& name);

// "%016x-%016x.ltx", lowercase.
std::string FormatLtxFilename(TXID min_txid, TXID max_txid);
// Parses a name of exactly that form; false for anything else (including *.ltx.tmp).
bool ParseLtxFilename(std::string_view name, TXID* min_txid, TXID* max_txid);
// 16 lowercase hex digits.
std::string FormatTXID(TXID txid);
// Exactly 16 hex digits (upstream's ParseTXID); anything else is InvalidArgument.
Result<TXID> ParseTXID(std::string_view text);

}  // namespace litestream
