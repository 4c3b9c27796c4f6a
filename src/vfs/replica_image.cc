#include "vfs/replica_image.h"

#include <algorithm>
#include <cstring>
#include <semaphore>

#include "litestream/restore.h"
#include "ltx/coding.h"
#include "ltx/decoder.h"
#include "ltx/page_index.h"
#include "vfs/index_decode.h"
#include "vfs/parallel.h"

namespace litestream::vfs {

Result<size_t> StorageFileReader::ReadAt(uint64_t offset, uint8_t* buf, size_t n) {
  const uint64_t size = static_cast<uint64_t>(info_.size);
  if (offset >= size || n == 0) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
  LS_ASSIGN_OR_RETURN(auto reader, client_.Open(info_.level, info_.min_txid, info_.max_txid, offset, n));
  size_t got = 0;
  while (got < n) {
    LS_ASSIGN_OR_RETURN(size_t k, reader->Read(buf + got, n - got));
    if (k == 0) break;
    got += k;
  }
  return got;
}

namespace {

constexpr size_t kIndexTailSize = ltx::kPageIndexLengthSize + ltx::kTrailerSize;  // 24

std::string FileName(const LtxFileInfo& info) {
  return "level " + std::to_string(info.level) + " file " + FormatLtxFilename(info.min_txid, info.max_txid);
}

// A Reader over bytes already fetched (no copy).
class SpanReader final : public Reader {
 public:
  SpanReader(const uint8_t* data, size_t n) : data_(data), n_(n) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    n = std::min(n, n_ - pos_);
    std::memcpy(buf, data_ + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t n_;
  size_t pos_ = 0;
};

// Reads exactly [offset, offset + n) of a replica file.
Status ReadExactAt(StorageFileReader& file, uint64_t offset, uint8_t* buf, size_t n, const std::string& name) {
  LS_ASSIGN_OR_RETURN(size_t got, file.ReadAt(offset, buf, n));
  if (got != n) {
    return Status::Corruption(name + ": unexpected end of file at offset " + std::to_string(offset + got) +
                              " (reading " + std::to_string(n) + " bytes at offset " + std::to_string(offset) + ")");
  }
  return Status::OK();
}

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) n++;
  return n;
}

// How many bytes to read from the end of a big file so that they hold its whole page index (plus the index
// length and trailer), from its header: an index entry is three varints (pgno, offset, size), each no
// longer than the largest value it can take. A snapshot holds exactly its commit's pages, so its estimate is
// tight; any other file holds at most that many, typically far fewer, so its estimate is capped at 1/64 of
// the file (an index entry per 600 bytes of frames), and a bigger index costs one more request.
uint64_t IndexTailEstimate(const ltx::Header& h, uint64_t file_size) {
  const uint64_t lock = ltx::LockPgno(h.page_size);
  const uint64_t pages = h.commit - (h.commit >= lock ? 1 : 0);
  const uint64_t entry = VarintLength(h.commit) + VarintLength(file_size) +
                         VarintLength(std::min<uint64_t>(file_size, ltx::MaxEncodedPageSize(h.page_size)));
  uint64_t estimate = pages * entry + 1 + kIndexTailSize;
  if (h.min_txid != 1) estimate = std::min<uint64_t>(estimate, std::max<uint64_t>(file_size / 64, 64 << 10));
  return std::max<uint64_t>(estimate, ltx::kEstimatedPageIndexSize);
}

// Holds one of the kWholeFilesInFlight slots for a whole-file fetch.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<>& slots) : slots_(slots) { slots_.acquire(); }
  ~SlotGuard() { slots_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<>& slots_;
};

// Fetches one file's header and raw page index. A small file (most L0 and L1 files) is fetched whole in one
// request and its file checksum verified before any of its pages is used; a big one (a snapshot) costs two
// requests, the header and then the tail holding the whole index (sized from the header's page count), and
// its pages are checked one by one as they are read.
Status LoadOne(StorageClient& client, const LtxFileInfo& info, std::counting_semaphore<>& whole_slots,
               ReplicaImage::Loaded* out) {
  const std::string name = FileName(info);
  const uint64_t size = info.size > 0 ? static_cast<uint64_t>(info.size) : 0;
  StorageFileReader remote(client, info);
  uint64_t buf_start = 0;  // file offset of out->buf[0]
  if (size > 0 && size <= kVerifyWholeFileBytes) {
    SlotGuard slot(whole_slots);
    out->buf.resize(static_cast<size_t>(size));
    LS_ASSIGN_OR_RETURN(size_t got, remote.ReadAt(0, out->buf.data(), out->buf.size()));
    if (got != out->buf.size()) {
      return Status::Corruption(name + ": truncated: " + std::to_string(got) + " of " + std::to_string(size) + " bytes");
    }
    SpanReader stream(out->buf.data(), out->buf.size());
    LS_RETURN_IF_ERROR(ltx::VerifyFile(stream, name));
    Result<ltx::Header> h = ltx::Header::Decode(out->buf.data());
    if (!h.ok()) return Status::Corruption(name + ": header: " + h.status().message());
    if (Status s = h->Validate(); !s.ok()) return Status::Corruption(name + ": header: " + s.message());
    out->header = *h;
  } else {
    LS_ASSIGN_OR_RETURN(out->header, ltx::ReadHeader(remote, name));
    if (size < kIndexTailSize) {
      return Status::Corruption(name + ": truncated page index: file is " + std::to_string(size) +
                                " bytes, the index length and trailer alone take 24");
    }
    const size_t tail_len = static_cast<size_t>(std::min(size, IndexTailEstimate(out->header, size)));
    buf_start = size - tail_len;
    out->buf.resize(tail_len);
    LS_RETURN_IF_ERROR(ReadExactAt(remote, buf_start, out->buf.data(), tail_len, name));
  }
  if (out->header.min_txid != info.min_txid || out->header.max_txid != info.max_txid) {
    return Status::Corruption(name + ": header TXID range does not match the file name");
  }
  const uint64_t index_len = ltx::GetBE64(out->buf.data() + out->buf.size() - kIndexTailSize);
  const uint64_t max_len = size >= ltx::kHeaderSize + ltx::kPageHeaderSize + kIndexTailSize
                               ? size - ltx::kHeaderSize - ltx::kPageHeaderSize - kIndexTailSize
                               : 0;
  if (index_len == 0 || index_len > max_len) {
    return Status::Corruption(name + ": truncated page index: index length " + std::to_string(index_len) +
                              " does not fit in a " + std::to_string(size) + "-byte file");
  }
  out->index_start = size - kIndexTailSize - index_len;
  out->index_len = static_cast<size_t>(index_len);
  if (out->index_start >= buf_start) {
    out->index_pos = static_cast<size_t>(out->index_start - buf_start);
  } else {  // a bigger index than the header suggested: one more request for the rest
    std::vector<uint8_t> index(out->index_len);
    LS_RETURN_IF_ERROR(ReadExactAt(remote, out->index_start, index.data(), index.size(), name));
    out->buf = std::move(index);
    out->index_pos = 0;
  }
  return Status::OK();
}

}  // namespace

Status ReplicaImage::LoadFiles(const std::vector<LtxFileInfo>& files, std::vector<Loaded>* out) {
  out->clear();
  out->resize(files.size());
  std::counting_semaphore<> whole_slots(static_cast<std::ptrdiff_t>(kWholeFilesInFlight));
  return RunBounded(files.size(), options_.max_parallel,
                    [&](size_t i) { return LoadOne(*client_, files[i], whole_slots, &(*out)[i]); });
}

template <typename Fn>
Status ReplicaImage::DecodeLoaded(const LtxFileInfo& info, const Loaded& loaded, uint32_t file_no, Fn&& fn) {
  const uint32_t ps = loaded.header.page_size;
  if (page_size_ != 0 && ps != page_size_) {
    return Status::Corruption(FileName(info) + ": page size " + std::to_string(ps) + " differs from " +
                              std::to_string(page_size_));
  }
  if (page_size_ == 0) page_size_ = ps;  // only while opening: the image is not shared yet
  const uint32_t commit = loaded.header.commit;
  Status s = DecodePageIndexEntries(loaded.buf.data() + loaded.index_pos, loaded.index_len,
                                    loaded.index_start - ltx::kPageHeaderSize,
                                    [&](uint32_t pgno, uint64_t offset, uint32_t size) {
                                      if (pgno <= commit) fn(pgno, Location{offset, size, file_no});
                                    });
  if (!s.ok()) {
    return Status::Corruption(FileName(info) + ": page index at offset " + std::to_string(loaded.index_start) +
                              ": " + s.message());
  }
  return Status::OK();
}

Result<std::unique_ptr<ReplicaImage>> ReplicaImage::Open(std::shared_ptr<StorageClient> client, ImageOptions options,
                                                         std::optional<SystemTime> at, TXID txid) {
  // The restore plan (the same rules as `litestream restore`), over the ten levels listed together.
  ReplicaListing listing;
  LS_RETURN_IF_ERROR(RunBounded(kRestoreLevelCount, options.max_parallel, [&](size_t i) -> Status {
    const int level = kSnapshotLevel - static_cast<int>(i);
    auto files = client->List(level, 0, at.has_value());
    if (!files.ok()) return files.status().WithContext("list level " + std::to_string(level));
    listing.levels[level] = std::move(files).value();
    return Status::OK();
  }));
  Result<RestorePlan> planned = CalcRestorePlanFromListing(listing, txid, at);
  if (!planned.ok()) return planned.status().WithContext("restore plan for " + client->Describe());
  const std::vector<LtxFileInfo>& plan = planned->files;
  if (plan.empty() || planned->min_txid() != 1) {
    return TxNotAvailableError("the replica has no file chain starting at TXID 1");
  }

  std::unique_ptr<ReplicaImage> image(new ReplicaImage(std::move(client), options));
  std::vector<Loaded> loaded;
  LS_RETURN_IF_ERROR(image->LoadFiles(plan, &loaded));
  std::vector<Location>& index = image->index_;
  for (size_t i = 0; i < plan.size(); i++) {
    const uint32_t file_no = static_cast<uint32_t>(i);
    const uint32_t commit = loaded[i].header.commit;
    index.resize(commit);  // a shrinking file drops the pages past its commit
    LS_RETURN_IF_ERROR(image->DecodeLoaded(plan[i], loaded[i], file_no,
                                           [&](uint32_t pgno, const Location& loc) { index[pgno - 1] = loc; }));
    std::vector<uint8_t>().swap(loaded[i].buf);
    image->files_.push_back(File{plan[i], commit});
    image->txid_ = plan[i].max_txid;
    image->newest_time_ = plan[i].created_at;
  }
  // Every page below commit must come from some file (a snapshot or a chain from TXID 1 covers them).
  const uint32_t lock_pgno = ltx::LockPgno(image->page_size_);
  for (size_t i = 0; i < index.size(); i++) {
    if (index[i].size == 0 && i + 1 != lock_pgno) {
      return Status::Corruption("replica image at TXID " + FormatTXID(image->txid_) + " has no page " +
                                std::to_string(i + 1));
    }
  }
  image->cache_capacity_ = options.cache_bytes / image->page_size_;
  return image;
}

uint32_t ReplicaImage::commit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<uint32_t>(index_.size());
}

TXID ReplicaImage::txid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return txid_;
}

SystemTime ReplicaImage::newest_file_time() const {
  std::lock_guard<std::mutex> lock(mu_);
  return newest_time_;
}

ReplicaImage::Stats ReplicaImage::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.cached_pages = cache_.size();
  s.cache_capacity_pages = cache_capacity_;
  return s;
}

Status ReplicaImage::ReadPage(uint32_t pgno, uint8_t* out) {
  Status s = ReadPageOnce(pgno, out);
  if (!s.IsNotFound()) return s;
  LS_RETURN_IF_ERROR(Replan().WithContext("re-plan after a missing file"));
  return ReadPageOnce(pgno, out);
}

bool ReplicaImage::StillAt(uint32_t pgno, const Location& loc) const {
  if (pgno == 0 || pgno > index_.size()) return false;
  const Location& now = index_[pgno - 1];
  return now.file == loc.file && now.offset == loc.offset && now.size == loc.size;
}

ReplicaImage::~ReplicaImage() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ahead_stop_ = true;
  }
  ahead_cv_.notify_all();
  if (ahead_thread_.joinable()) ahead_thread_.join();
}

ReplicaImage::Run ReplicaImage::PlanRun(uint32_t first, size_t max_pages) const {
  Run run;
  const Location& loc = index_[first - 1];
  if (loc.size == 0) return run;
  run.info = files_[loc.file].info;
  run.first = first;
  run.generation = generation_;
  run.locs.push_back(loc);
  run.cached.push_back(cache_.count(first) != 0);
  uint64_t end = loc.offset + loc.size;
  for (uint32_t next = first + 1; run.locs.size() < max_pages && next <= index_.size(); next++) {
    const Location& l = index_[next - 1];
    if (l.size == 0 || l.file != loc.file || l.offset != end || end + l.size - loc.offset > kReadAheadMaxBytes) break;
    run.locs.push_back(l);
    run.cached.push_back(cache_.count(next) != 0);
    end += l.size;
  }
  return run;
}

Status ReplicaImage::FetchRun(const Run& run, uint8_t* out, std::vector<uint8_t>* scratch, bool background) {
  const Location& first = run.locs.front();
  const size_t total = static_cast<size_t>(run.locs.back().offset + run.locs.back().size - first.offset);
  std::unique_ptr<uint8_t[]> bytes(new uint8_t[total]);
  StorageFileReader reader(*client_, run.info);
  LS_ASSIGN_OR_RETURN(size_t got, reader.ReadAt(first.offset, bytes.get(), total));
  if (got != total) {
    return Status::Corruption(FileName(run.info) + ": unexpected end of file at offset " +
                              std::to_string(first.offset + got));
  }
  // Pages are decoded straight into cache buffers (the first one into `out` too). A bad page other than the
  // first ends the run quietly: it is reported if and when SQLite asks for it.
  std::vector<std::unique_ptr<uint8_t[]>> pages(run.locs.size());
  for (size_t i = 0; i < run.locs.size(); i++) {
    if (run.cached[i] && !(i == 0 && out != nullptr)) continue;
    const uint32_t pgno = run.first + static_cast<uint32_t>(i);
    uint8_t* dst = out;
    if (i > 0 || out == nullptr) {
      pages[i].reset(new uint8_t[page_size_]);
      dst = pages[i].get();
    }
    uint32_t got_pgno = 0;
    Status s = ltx::DecodePageFrame(bytes.get() + (run.locs[i].offset - first.offset), run.locs[i].size, page_size_,
                                    &got_pgno, dst, scratch);
    if (s.ok() && got_pgno != pgno) s = Status::Corruption("page header says pgno " + std::to_string(got_pgno));
    if (!s.ok()) {
      pages[i].reset();
      if (i == 0) {
        return s.WithContext(FileName(run.info) + ": page " + std::to_string(pgno) + " at offset " +
                             std::to_string(first.offset));
      }
      break;
    }
    if (i == 0 && out != nullptr && cache_capacity_ > 0) {
      pages[0].reset(new uint8_t[page_size_]);
      std::memcpy(pages[0].get(), out, page_size_);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.fetches++;
  stats_.pages_fetched += run.locs.size();
  if (background) stats_.background_fetches++;
  // Cache only what still lives there (a pending update or a rebuild may have been installed meanwhile).
  if (run.generation != generation_) return Status::OK();
  for (size_t i = 0; i < run.locs.size(); i++) {
    const uint32_t pgno = run.first + static_cast<uint32_t>(i);
    if (pages[i] && StillAt(pgno, run.locs[i])) CachePut(pgno, std::move(pages[i]));
  }
  return Status::OK();
}

Status ReplicaImage::ReadPageOnce(uint32_t pgno, uint8_t* out) {
  Run run;
  bool scanning = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (pgno == 0 || pgno > index_.size()) {
        return Status::InvalidArgument("page " + std::to_string(pgno) + " is past the end of the database (" +
                                       std::to_string(index_.size()) + " pages)");
      }
      if (CacheGet(pgno, out)) {
        stats_.cache_hits++;
        FollowAhead(pgno);
        return Status::OK();
      }
      // The read-ahead thread is fetching it: wait rather than fetch it twice.
      if (!ahead_busy_ || pgno < ahead_lo_ || pgno > ahead_hi_) break;
      const uint64_t id = ahead_id_;
      ahead_cv_.wait(lock, [&] { return !ahead_busy_ || ahead_id_ != id; });
    }
    if (index_[pgno - 1].size == 0) {  // the lock page: never written by SQLite, all zeros
      std::memset(out, 0, page_size_);
      return Status::OK();
    }
    // A miss where the previous run ended continues a scan: the window grows. Pages SQLite still has in its
    // own cache are skipped without a read, so a miss up to a window further on continues it too. Any other
    // miss is a lookup: it reads only its page and ends the background read-ahead.
    const bool sequential = scan_next_ != 0 && pgno >= scan_next_ &&
                            pgno - scan_next_ <= std::max(kReadAheadSlackPages, scan_window_);
    scan_window_ = !sequential ? 0 : scan_window_ == 0 ? kReadAheadFirstPages
                                                       : std::min(scan_window_ * 2, kReadAheadMaxPages);
    if (!sequential) ahead_followed_ = true;
    run = PlanRun(pgno, 1 + std::min<size_t>(scan_window_, MaxReadAhead()));
    run.cached[0] = false;
    scan_next_ = pgno + static_cast<uint32_t>(run.locs.size());
    scanning = scan_window_ >= kReadAheadAsyncPages && MaxReadAhead() >= kReadAheadAsyncPages;
  }
  std::vector<uint8_t> scratch;
  LS_RETURN_IF_ERROR(FetchRun(run, out, &scratch, false));
  if (scanning) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ahead_busy_ && run.generation == generation_) StartAhead(pgno + static_cast<uint32_t>(run.locs.size()));
  }
  return Status::OK();
}

void ReplicaImage::FollowAhead(uint32_t pgno) {
  if (!ahead_followed_ && !ahead_busy_ && pgno >= ahead_lo_ && pgno <= ahead_hi_) {
    scan_window_ = std::min(scan_window_ * 2, kReadAheadMaxPages);  // the scan goes on: bigger runs
    StartAhead(ahead_next_);
  }
}

void ReplicaImage::StartAhead(uint32_t first) {
  ahead_followed_ = true;
  const size_t window = std::min<size_t>(scan_window_, MaxReadAhead());
  if (window < kReadAheadAsyncPages || ahead_failed_ || ahead_stop_ || first == 0 || first > index_.size()) return;
  // Pages already cached (a second scan) are skipped, not fetched again.
  uint32_t p = first;
  while (p <= index_.size() && p - first < window && (cache_.count(p) != 0 || index_[p - 1].size == 0)) p++;
  Run run;
  if (p <= index_.size() && p - first < window) run = PlanRun(p, window - (p - first));
  ahead_lo_ = first;
  ahead_hi_ = run.locs.empty() ? p - 1 : p + static_cast<uint32_t>(run.locs.size()) - 1;
  ahead_next_ = ahead_hi_ + 1;
  ahead_followed_ = ahead_hi_ < ahead_lo_ || ahead_next_ > index_.size();
  scan_next_ = ahead_next_;  // a miss there still continues the scan
  if (run.locs.empty()) return;  // nothing to fetch now: the next run starts when SQLite gets here
  if (!ahead_thread_.joinable()) {
    try {
      ahead_thread_ = std::thread([this] { AheadLoop(); });
    } catch (...) {
      ahead_failed_ = true;
      return;
    }
  }
  run.id = ++ahead_id_;
  ahead_job_ = std::move(run);
  ahead_busy_ = true;
  ahead_cv_.notify_all();
}

void ReplicaImage::AheadLoop() {
  std::vector<uint8_t> scratch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ahead_cv_.wait(lock, [&] { return ahead_stop_ || ahead_job_.has_value(); });
    if (ahead_stop_) return;
    Run job = std::move(*ahead_job_);
    ahead_job_.reset();
    lock.unlock();
    try {
      (void)FetchRun(job, nullptr, &scratch, true);  // errors show when SQLite reads the page itself
    } catch (...) {
    }
    lock.lock();
    if (job.id == ahead_id_) ahead_busy_ = false;
    ahead_cv_.notify_all();
  }
}

void ReplicaImage::ResetScan() {
  scan_next_ = 0;
  scan_window_ = 0;
  ahead_job_.reset();  // a queued run is dropped; one being fetched finds the generation or index changed
  ahead_busy_ = false;
  ahead_followed_ = true;
  ahead_id_++;
  ahead_lo_ = ahead_hi_ = ahead_next_ = 0;
  ahead_cv_.notify_all();
}

Status ReplicaImage::Rebuild(std::optional<SystemTime> at) {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  LS_ASSIGN_OR_RETURN(auto fresh, Open(client_, options_, at));
  return Install(*fresh);
}

Status ReplicaImage::Replan() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  LS_ASSIGN_OR_RETURN(auto fresh, Open(client_, options_, std::nullopt, txid()));
  if (fresh->txid_ != txid()) return Status::NotFound("the replica no longer reaches TXID " + FormatTXID(txid()));
  return Install(*fresh);
}

Status ReplicaImage::Install(ReplicaImage& fresh) {
  if (fresh.page_size_ != page_size_) return Status::Corruption("the replica's page size changed");
  std::lock_guard<std::mutex> lock(mu_);
  files_ = std::move(fresh.files_);
  index_ = std::move(fresh.index_);
  txid_ = fresh.txid_;
  newest_time_ = fresh.newest_time_;
  pending_.reset();
  lru_.clear();
  cache_.clear();
  generation_++;
  ResetScan();  // file numbers now mean other files: reads in flight must not cache what they fetched
  return Status::OK();
}

Result<bool> ReplicaImage::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  TXID pos;
  uint32_t base_files;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pos = pending_ ? pending_->txid : txid_;
    base_files = static_cast<uint32_t>(files_.size() + (pending_ ? pending_->files.size() : 0));
  }
  Pending staged;
  // Loads the files (together) and stages them in order.
  auto stage = [&](const std::vector<LtxFileInfo>& chain) -> Status {
    std::vector<Loaded> loaded;
    LS_RETURN_IF_ERROR(LoadFiles(chain, &loaded));
    for (size_t i = 0; i < chain.size(); i++) {
      const uint32_t file_no = base_files + static_cast<uint32_t>(staged.files.size());
      LS_RETURN_IF_ERROR(DecodeLoaded(chain[i], loaded[i], file_no, [&](uint32_t pgno, const Location& loc) {
        staged.updates.emplace_back(pgno, loc);
      }));
      staged.commit = loaded[i].header.commit;
      staged.txid = chain[i].max_txid;
      staged.files.push_back(File{chain[i], loaded[i].header.commit});
      pos = chain[i].max_txid;
    }
    return Status::OK();
  };
  // Level 0 after the position; when its chain has a gap (L0 retention already removed files that were
  // compacted), a level-1 file that covers the next TXID bridges it, then level 0 continues.
  for (int round = 0; round < 2; round++) {
    LS_ASSIGN_OR_RETURN(auto listed, client_->List(0, pos + 1));
    std::vector<LtxFileInfo> chain;
    for (const LtxFileInfo& info : listed) {
      if (info.min_txid != (chain.empty() ? pos : chain.back().max_txid) + 1) break;
      chain.push_back(info);
    }
    LS_RETURN_IF_ERROR(stage(chain));
    if (round == 1 || listed.empty() || listed.front().min_txid <= pos + 1) break;
    LS_ASSIGN_OR_RETURN(auto l1, client_->List(1, 0));
    const LtxFileInfo* bridge = nullptr;
    for (const LtxFileInfo& info : l1) {
      if (info.min_txid <= pos + 1 && info.max_txid > pos && (bridge == nullptr || info.max_txid > bridge->max_txid)) {
        bridge = &info;
      }
    }
    if (bridge == nullptr) break;  // not compacted yet: the next poll tries again
    LS_RETURN_IF_ERROR(stage({*bridge}));
  }
  if (staged.files.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_) {
    pending_ = std::move(staged);
  } else {
    for (auto& f : staged.files) pending_->files.push_back(f);
    for (auto& u : staged.updates) pending_->updates.push_back(u);
    pending_->commit = staged.commit;
    pending_->txid = staged.txid;
  }
  return true;
}

bool ReplicaImage::ApplyPending() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_) return false;
  for (auto& f : pending_->files) files_.push_back(f);
  index_.resize(pending_->commit);
  for (const auto& [pgno, loc] : pending_->updates) {
    // Pages past a later file's smaller commit are dropped by the resize; do not bring them back.
    if (pgno <= index_.size()) index_[pgno - 1] = loc;
    CacheErase(pgno);
  }
  for (auto it = cache_.begin(); it != cache_.end();) {  // pages cut off by a shrink
    if (it->first > index_.size()) {
      lru_.erase(it->second);
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  txid_ = pending_->txid;
  newest_time_ = pending_->files.back().info.created_at;
  pending_.reset();
  ResetScan();
  return true;
}

bool ReplicaImage::CacheGet(uint32_t pgno, uint8_t* out) {
  auto it = cache_.find(pgno);
  if (it == cache_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  std::memcpy(out, it->second->data.get(), page_size_);
  return true;
}

void ReplicaImage::CachePut(uint32_t pgno, std::unique_ptr<uint8_t[]> page) {
  if (cache_capacity_ == 0) return;
  auto it = cache_.find(pgno);
  if (it != cache_.end()) {
    it->second->data = std::move(page);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (cache_.size() >= cache_capacity_) {  // reuse the least recently used entry
    auto last = std::prev(lru_.end());
    cache_.erase(last->pgno);
    last->pgno = pgno;
    last->data = std::move(page);
    lru_.splice(lru_.begin(), lru_, last);
  } else {
    lru_.push_front(CachedPage{pgno, std::move(page)});
  }
  cache_[pgno] = lru_.begin();
}

void ReplicaImage::CacheErase(uint32_t pgno) {
  auto it = cache_.find(pgno);
  if (it == cache_.end()) return;
  lru_.erase(it->second);
  cache_.erase(it);
}

}  // namespace litestream::vfs
