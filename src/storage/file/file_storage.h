// The file replica backend (ENGINE.md §2.2): a directory on a local or mounted file system.
//
//   <root>/ltx/<level>/<min16hex>-<max16hex>.ltx      level in decimal: ltx/0 … ltx/9
//   <root>/ltx/<level>/<name>.ltx.tmp                 upload staging, ignored by readers
//
// A file's created_at is its mtime, which Write sets to the LTX header's timestamp. Every operation goes
// through a FileSystem so tests can inject faults. Thread-safe: concurrent calls on different files are
// fine; two concurrent Writes of the same (level, min, max) race on one staging file, as upstream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "litestream/storage.h"
#include "util/file_system.h"

namespace litestream {

struct FileStorageOptions {
  // Where all I/O goes. nullptr means FileSystem::Default(). Not owned; must outlive the client.
  FileSystem* fs = nullptr;
  // Mode of directories Write creates (upstream: the database's parent directory mode).
  uint32_t dir_mode = 0700;
  // Mode of the files Write creates (upstream: the database file's mode).
  uint32_t file_mode = 0600;
  // If set, created directories and files are chown'ed to this uid/gid (best effort, as upstream).
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

class FileStorageClient final : public StorageClient {
 public:
  // `root` is the replica directory (an absolute path, as ReplicaConfig::path is once resolved).
  explicit FileStorageClient(std::string root, FileStorageOptions options = {});

  FileStorageClient(const FileStorageClient&) = delete;
  FileStorageClient& operator=(const FileStorageClient&) = delete;

  std::string Type() const override { return "file"; }
  std::string Describe() const override { return "file://" + root_; }

  Result<std::vector<LtxFileInfo>> List(int level, TXID seek, bool use_metadata = false) override;
  Result<std::unique_ptr<Reader>> Open(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                       uint64_t length) override;
  Result<std::unique_ptr<Reader>> OpenOnce(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                           uint64_t length) override;
  // InvalidArgument if the stream does not start with an LTX header whose magic is "LTX1" and whose
  // min/max TXIDs equal the requested ones. The staging file is removed on every failure.
  Result<LtxFileInfo> Write(int level, TXID min_txid, TXID max_txid, Reader& data) override;
  Status Remove(const std::vector<LtxFileInfo>& files) override;
  Status RemoveAll() override;

  const std::string& root() const { return root_; }
  // <root>/ltx/<level>
  std::string LevelDir(int level) const;
  // <root>/ltx/<level>/<min>-<max>.ltx
  std::string LtxPath(int level, TXID min_txid, TXID max_txid) const;

 private:
  Result<std::unique_ptr<Reader>> OpenFile(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                           uint64_t length, bool once);
  Status MakeDirs(const std::string& dir);
  Status WriteStaged(const std::string& tmp, const uint8_t* header, size_t header_size, Reader& rest,
                     uint64_t* size);

  const std::string root_;
  const FileStorageOptions options_;
  FileSystem* const fs_;
};

// Registers "file" with the storage registry (called by RegisterBuiltinStorageBackends).
void RegisterFileStorage();

}  // namespace litestream
