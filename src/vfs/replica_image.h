// The database image the read-replica VFS serves: a page index over the replica's LTX files (built with
// the restore-plan rules), pages fetched by range through each file's own page index, an LRU page cache
// sized in bytes, and polling for new files. Nothing here touches SQLite: the VFS glue (vfs.cc) is the
// only SQLite-facing code, so this also builds into the loadable extension without a second SQLite.
//
// Consistency: Poll() stages new files as a *pending* update; ApplyPending() installs it, and the VFS
// calls that only when a connection starts a read transaction, so a transaction sees one state.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "litestream/storage.h"
#include "ltx/format.h"

namespace litestream::vfs {

struct ImageOptions {
  size_t cache_bytes = 10 << 20;  // LRU page cache capacity
  size_t max_parallel = 8;        // storage requests in flight while opening or polling
};

// Read-ahead of a sequential scan. A cache miss right after the previous miss's run (a scan) fetches the
// following pages of the same file in the same request: first kReadAheadFirstPages, then twice as many on
// every further sequential miss, up to kReadAheadMaxPages pages, kReadAheadMaxBytes of encoded pages, and a
// quarter of the page cache (so that runs never evict each other). A lone miss (a point lookup) fetches
// only its page. Once the window reaches kReadAheadAsyncPages, a background thread fetches the next run
// while SQLite works through the current one, and the run after that as soon as SQLite reaches it.
inline constexpr uint32_t kReadAheadFirstPages = 4;
inline constexpr uint32_t kReadAheadAsyncPages = 32;
inline constexpr uint32_t kReadAheadMaxPages = 1024;
inline constexpr uint64_t kReadAheadMaxBytes = 1 << 20;
// A miss up to this many pages past the expected next page still continues a scan (B-tree interior pages
// between leaves, already cached, are skipped by SQLite).
inline constexpr uint32_t kReadAheadSlackPages = 8;
// Files up to this size are fetched whole when first used, and their file checksum verified. At most
// kWholeFilesInFlight of them are held in memory at once while a replica is opened.
inline constexpr uint64_t kVerifyWholeFileBytes = 4 << 20;
inline constexpr size_t kWholeFilesInFlight = 4;

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

  ~ReplicaImage();
  ReplicaImage(const ReplicaImage&) = delete;
  ReplicaImage& operator=(const ReplicaImage&) = delete;

  // Counters, for tests and diagnostics.
  struct Stats {
    uint64_t fetches = 0;          // ranged page reads from storage
    uint64_t pages_fetched = 0;    // pages those reads carried (more than fetches with read-ahead)
    uint64_t background_fetches = 0;  // of those, made by the read-ahead thread
    uint64_t cache_hits = 0;
    size_t cached_pages = 0;
    size_t cache_capacity_pages = 0;
  };
  Stats stats() const;

  // A file's header and its raw page index bytes, as fetched from storage (public for the helpers in
  // replica_image.cc).
  struct Loaded {
    ltx::Header header;
    std::vector<uint8_t> buf;  // holds the index at [index_pos, index_pos + index_len)
    size_t index_pos = 0;
    size_t index_len = 0;
    uint64_t index_start = 0;  // file offset of the index
  };

 private:
  struct Location {
    uint64_t offset = 0;
    uint32_t size = 0;  // 0: no page (the lock page)
    uint32_t file = 0;  // index into files_
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
  // Consecutive pages first, first + 1, ... stored back to back in one file, fetched in one request.
  struct Run {
    LtxFileInfo info;
    uint32_t first = 0;
    std::vector<Location> locs;
    std::vector<bool> cached;  // cached when planned: their bytes come along, they are not decoded again
    uint64_t generation = 0;
    uint64_t id = 0;           // background runs: which one
  };
  struct CachedPage {
    uint32_t pgno;
    std::unique_ptr<uint8_t[]> data;  // page_size_ bytes
  };
  using Lru = std::list<CachedPage>;

  ReplicaImage(std::shared_ptr<StorageClient> client, ImageOptions options)
      : client_(std::move(client)), options_(options) {}

  // Rebuilds the index for exactly the installed TXID (same content, other files); drops a pending update.
  Status Replan();
  Status Install(ReplicaImage& fresh);  // REQUIRES poll_mu_
  Status ReadPageOnce(uint32_t pgno, uint8_t* out);
  // The run from `first`: up to max_pages pages stored back to back in first's file, within
  // kReadAheadMaxBytes. Empty if `first` has no stored page (the lock page). REQUIRES mu_.
  Run PlanRun(uint32_t first, size_t max_pages) const;
  // Fetches and decodes a run and caches its pages (those that still live there). Page run.first goes to
  // `out` too unless out is null; an error decoding it is the result, later pages just end the run.
  Status FetchRun(const Run& run, uint8_t* out, std::vector<uint8_t>* scratch, bool background);
  size_t MaxReadAhead() const { return std::min<size_t>(kReadAheadMaxPages, cache_capacity_ / 4); }
  // Background read-ahead (REQUIRES mu_): hands the run from `first` to the read-ahead thread; Follow
  // starts the next one once a page of the last one is read.
  void StartAhead(uint32_t first);
  void FollowAhead(uint32_t pgno);
  void ResetScan();
  void AheadLoop();
  // Fetches the header and page index of each file, up to options_.max_parallel requests at a time.
  Status LoadFiles(const std::vector<LtxFileInfo>& files, std::vector<Loaded>* out);
  // Checks a loaded file against the image (page size) and decodes its index: fn(pgno, Location) for every
  // page up to the file's commit.
  template <typename Fn>
  Status DecodeLoaded(const LtxFileInfo& info, const Loaded& loaded, uint32_t file_no, Fn&& fn);
  bool CacheGet(uint32_t pgno, uint8_t* out);                          // REQUIRES mu_
  void CachePut(uint32_t pgno, std::unique_ptr<uint8_t[]> page);       // REQUIRES mu_
  void CacheErase(uint32_t pgno);                                      // REQUIRES mu_
  bool StillAt(uint32_t pgno, const Location& loc) const;              // REQUIRES mu_

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

  // LRU: most recent at the front; at most cache_capacity_ pages (cache_bytes / page size).
  Lru lru_;
  std::unordered_map<uint32_t, Lru::iterator> cache_;
  size_t cache_capacity_ = 0;
  // Sequential-scan detection: the page a continuing scan misses next, and the current read-ahead window.
  uint32_t scan_next_ = 0;
  uint32_t scan_window_ = 0;
  uint64_t generation_ = 0;  // bumped when Install replaces the files (file numbers change meaning)
  Stats stats_;
  // Background read-ahead: at most one run in flight. [ahead_lo_, ahead_hi_] are the pages of the last run
  // handed over (0, 0: none), ahead_next_ the page its successor starts at.
  std::condition_variable ahead_cv_;
  std::optional<Run> ahead_job_;  // waiting for the thread
  bool ahead_busy_ = false;       // a run is queued or being fetched
  bool ahead_followed_ = true;    // the successor of the last run has been started
  uint64_t ahead_id_ = 0;
  uint32_t ahead_lo_ = 0, ahead_hi_ = 0, ahead_next_ = 0;
  bool ahead_stop_ = false;
  bool ahead_failed_ = false;     // the thread could not be started: synchronous read-ahead only
  std::thread ahead_thread_;
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
