// The database image the read-replica VFS serves: a page index over the replica's LTX files (built with
// the restore-plan rules), pages fetched by range through each file's own page index, an LRU page cache
// sized in bytes, and polling for new files. Nothing here touches SQLite: the VFS glue (vfs.cc) is the
// only SQLite-facing code, so this also builds into the loadable extension without a second SQLite.
//
// Consistency: Poll() stages new files as a *pending* update; ApplyPending() installs it, and the VFS
// calls that only when a connection starts a read transaction, so a transaction sees one state.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "litestream/storage.h"
#include "ltx/page_index.h"

namespace litestream::vfs {

struct ImageOptions {
  size_t cache_bytes = 10 << 20;  // LRU page cache capacity
};

// Read-ahead of a sequential scan: at most this many pages, or bytes of encoded pages, per request.
inline constexpr size_t kReadAheadPages = 64;
inline constexpr uint64_t kReadAheadBytes = 256 << 10;
// Files up to this size are fetched whole when first used, and their file checksum verified.
inline constexpr uint64_t kVerifyWholeFileBytes = 4 << 20;

class ReplicaImage {
 public:
  // Builds the image at the latest state (at == nullopt) or at the state a restore to `at` would give.
  // TxNotAvailable (see restore.h) while the replica has nothing to offer.
  static Result<std::unique_ptr<ReplicaImage>> Open(std::shared_ptr<StorageClient> client, ImageOptions options,
                                                    std::optional<SystemTime> at, TXID txid = 0);

  uint32_t page_size() const { return page_size_; }
  // All of these describe the installed state (not a pending one).
  uint32_t commit() const;   // database size in pages
  TXID txid() const;         // position: max TXID of the files applied
  SystemTime newest_file_time() const;

  // Copies page `pgno` (1-based) of the installed state into out[0, page_size). Pages past commit are an
  // error. A file that has disappeared (L0 retention deletes level-0 files once compacted) makes it
  // re-plan the same TXID from the files that replaced it, then retry once. Thread-safe.
  Status ReadPage(uint32_t pgno, uint8_t* out);

  // Lists level 0 after the position (staged or installed) and stages contiguous new files as a pending
  // update. Returns whether something new was staged. Thread-safe; call from one poller at a time.
  Result<bool> Poll();
  // Installs the pending update, if any. Returns true if the state changed.
  bool ApplyPending();

  // Rebuilds the whole index for the state at `at` (time travel; nullopt: the latest state), dropping the
  // cache and any pending update. On error the current state stays. Thread-safe (excludes Poll).
  Status Rebuild(std::optional<SystemTime> at);

 private:
  // Rebuilds the index for exactly the installed TXID (same content, other files); drops a pending update.
  Status Replan();
  Status Install(ReplicaImage& fresh);  // REQUIRES poll_mu_
  Status ReadPageOnce(uint32_t pgno, uint8_t* out);

 public:
 private:
  struct Location {
    uint32_t file = 0;  // index into files_
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  struct File {
    LtxFileInfo info;
    uint32_t commit = 0;
  };
  struct Pending {
    std::vector<File> files;                              // to append to files_
    std::vector<std::pair<uint32_t, Location>> updates;   // pgno -> location (file relative to files_.size())
    uint32_t commit = 0;
    TXID txid = 0;
  };

  ReplicaImage(std::shared_ptr<StorageClient> client, ImageOptions options)
      : client_(std::move(client)), options_(options) {}

  // Reads one file's header and page index; checks the page size.
  Status LoadFile(const LtxFileInfo& info, File* file, std::vector<ltx::PageIndexEntry>* entries);
  void CachePut(uint32_t pgno, std::vector<uint8_t> page);   // REQUIRES mu_
  bool CacheGet(uint32_t pgno, uint8_t* out);                // REQUIRES mu_
  void CacheErase(uint32_t pgno);                            // REQUIRES mu_

  const std::shared_ptr<StorageClient> client_;
  const ImageOptions options_;
  uint32_t page_size_ = 0;

  std::mutex poll_mu_;  // serializes Poll and Rebuild (both compute positions from the state)
  mutable std::mutex mu_;
  std::vector<File> files_;
  std::vector<Location> index_;  // [pgno - 1], size == commit
  TXID txid_ = 0;
  SystemTime newest_time_{};
  std::optional<Pending> pending_;

  // LRU: most recent at the front.
  std::list<std::pair<uint32_t, std::vector<uint8_t>>> lru_;
  std::unordered_map<uint32_t, std::list<std::pair<uint32_t, std::vector<uint8_t>>>::iterator> cache_;
  size_t cache_bytes_ = 0;
  uint32_t last_miss_pgno_ = 0;  // the page of the last cache miss, to detect a sequential scan
};

// A RandomAccessReader over one replica file: each ReadAt is a ranged Open of the storage client.
class StorageFileReader final : public RandomAccessReader {
 public:
  StorageFileReader(StorageClient& client, LtxFileInfo info) : client_(client), info_(info) {}
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override;
  Result<uint64_t> Size() override { return static_cast<uint64_t>(info_.size); }

 private:
  StorageClient& client_;
  LtxFileInfo info_;
};

}  // namespace litestream::vfs
