#include "vfs/replica_image.h"

#include <algorithm>
#include <cstring>

#include "litestream/restore.h"
#include "ltx/decoder.h"

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

// A RandomAccessReader over bytes already fetched.
class MemoryFile final : public RandomAccessReader {
 public:
  explicit MemoryFile(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    if (offset >= bytes_.size()) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(n, bytes_.size() - offset));
    std::memcpy(buf, bytes_.data() + offset, n);
    return n;
  }
  Result<uint64_t> Size() override { return uint64_t{bytes_.size()}; }

 private:
  const std::vector<uint8_t>& bytes_;
};

}  // namespace

Status ReplicaImage::LoadFile(const LtxFileInfo& info, File* file, std::vector<ltx::PageIndexEntry>* entries) {
  StorageFileReader remote(*client_, info);
  const std::string name = "level " + std::to_string(info.level) + " file " + FormatLtxFilename(info.min_txid, info.max_txid);
  // A small file (most L0 and L1 files) is fetched whole in one request and its file checksum verified
  // before any page of it is used; a big one (a snapshot) is checked page by page as pages are read.
  std::vector<uint8_t> whole;
  std::unique_ptr<MemoryFile> memory;
  if (info.size > 0 && static_cast<uint64_t>(info.size) <= kVerifyWholeFileBytes) {
    whole.resize(static_cast<size_t>(info.size));
    LS_ASSIGN_OR_RETURN(size_t got, remote.ReadAt(0, whole.data(), whole.size()));
    if (got != whole.size()) {
      return Status::Corruption(name + ": truncated: " + std::to_string(got) + " of " +
                                std::to_string(whole.size()) + " bytes");
    }
    BufferReader stream(whole);
    LS_RETURN_IF_ERROR(ltx::VerifyFile(stream, name));
    memory = std::make_unique<MemoryFile>(whole);
  }
  RandomAccessReader& reader = memory ? static_cast<RandomAccessReader&>(*memory) : remote;
  LS_ASSIGN_OR_RETURN(ltx::Header header, ltx::ReadHeader(reader, name));
  if (header.min_txid != info.min_txid || header.max_txid != info.max_txid) {
    return Status::Corruption(name + ": header TXID range does not match the file name");
  }
  if (page_size_ != 0 && header.page_size != page_size_) {
    return Status::Corruption(name + ": page size " + std::to_string(header.page_size) + " differs from " +
                              std::to_string(page_size_));
  }
  page_size_ = header.page_size;
  // An index entry takes about 9 bytes (three varints): one request fetches it whole.
  const size_t tail_hint = std::max<size_t>(ltx::kEstimatedPageIndexSize, size_t{header.commit} * 12 + 1024);
  LS_ASSIGN_OR_RETURN(*entries, ltx::ReadPageIndex(reader, name, tail_hint));
  file->info = info;
  file->commit = header.commit;
  return Status::OK();
}

Result<std::unique_ptr<ReplicaImage>> ReplicaImage::Open(std::shared_ptr<StorageClient> client, ImageOptions options,
                                                         std::optional<SystemTime> at, TXID txid) {
  LS_ASSIGN_OR_RETURN(RestorePlan plan, CalcRestorePlan(*client, txid, at));
  if (plan.files.empty() || plan.min_txid() != 1) {
    return TxNotAvailableError("the replica has no file chain starting at TXID 1");
  }
  std::unique_ptr<ReplicaImage> image(new ReplicaImage(std::move(client), options));
  for (const LtxFileInfo& info : plan.files) {
    File file;
    std::vector<ltx::PageIndexEntry> entries;
    LS_RETURN_IF_ERROR(image->LoadFile(info, &file, &entries));
    const uint32_t file_no = static_cast<uint32_t>(image->files_.size());
    image->index_.resize(file.commit);  // a shrinking file drops the pages past its commit
    for (const auto& e : entries) {
      if (e.pgno == 0 || e.pgno > file.commit) continue;
      image->index_[e.pgno - 1] = Location{file_no, e.offset, e.size};
    }
    image->files_.push_back(file);
    image->txid_ = info.max_txid;
    image->newest_time_ = info.created_at;
  }
  // Every page below commit must come from some file (a snapshot or a chain from TXID 1 covers them).
  for (size_t i = 0; i < image->index_.size(); i++) {
    if (image->index_[i].size == 0 && i + 1 != ltx::LockPgno(image->page_size_)) {
      return Status::Corruption("replica image at TXID " + FormatTXID(image->txid_) + " has no page " +
                                std::to_string(i + 1));
    }
  }
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

Status ReplicaImage::ReadPage(uint32_t pgno, uint8_t* out) {
  Status s = ReadPageOnce(pgno, out);
  if (!s.IsNotFound()) return s;
  LS_RETURN_IF_ERROR(Replan().WithContext("re-plan after a missing file"));
  return ReadPageOnce(pgno, out);
}

Status ReplicaImage::ReadPageOnce(uint32_t pgno, uint8_t* out) {
  Location loc;
  LtxFileInfo info;
  // The run of pages read together: [pgno, pgno + run.size()), stored back to back in one file.
  std::vector<Location> run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pgno == 0 || pgno > index_.size()) {
      return Status::InvalidArgument("page " + std::to_string(pgno) + " is past the end of the database (" +
                                     std::to_string(index_.size()) + " pages)");
    }
    if (CacheGet(pgno, out)) return Status::OK();
    loc = index_[pgno - 1];
    if (loc.size == 0) {  // the lock page: never written by SQLite, all zeros
      std::memset(out, 0, page_size_);
      return Status::OK();
    }
    info = files_[loc.file].info;
    run.push_back(loc);
    // A scan reads pages in order: after two consecutive misses, fetch the following pages of the same
    // file in the same request, as long as they are stored contiguously and not cached, within a bound.
    const bool sequential = pgno == last_miss_pgno_ + 1;
    uint64_t bytes = loc.size;
    for (uint32_t next = pgno + 1; sequential && next <= index_.size() && run.size() < kReadAheadPages; next++) {
      const Location& l = index_[next - 1];
      if (l.file != loc.file || l.offset != run.back().offset + run.back().size || cache_.count(next) != 0 ||
          bytes + l.size > kReadAheadBytes) {
        break;
      }
      run.push_back(l);
      bytes += l.size;
    }
    last_miss_pgno_ = pgno + static_cast<uint32_t>(run.size()) - 1;  // the next miss continues the scan
  }
  auto name = [&] {
    return "level " + std::to_string(info.level) + " file " + FormatLtxFilename(info.min_txid, info.max_txid);
  };
  // Fetch outside the lock: other pages can be served meanwhile.
  StorageFileReader reader(*client_, info);
  if (run.size() == 1) {
    LS_RETURN_IF_ERROR(ltx::ReadPage(reader, ltx::PageIndexEntry{pgno, loc.offset, loc.size}, page_size_, out, name()));
  } else {
    const uint64_t total = run.back().offset + run.back().size - loc.offset;
    std::vector<uint8_t> bytes(total);
    LS_ASSIGN_OR_RETURN(size_t got, reader.ReadAt(loc.offset, bytes.data(), bytes.size()));
    if (got != bytes.size()) return Status::Corruption(name() + ": unexpected end of file at offset " + std::to_string(loc.offset + got));
    std::vector<std::vector<uint8_t>> pages(run.size(), std::vector<uint8_t>(page_size_));
    for (size_t i = 0; i < run.size(); i++) {
      uint32_t got_pgno = 0;
      Status s = ltx::DecodePageFrame(bytes.data() + (run[i].offset - loc.offset), run[i].size, page_size_, &got_pgno,
                                      pages[i].data());
      if (s.ok() && got_pgno != pgno + i) s = Status::Corruption("page header says pgno " + std::to_string(got_pgno));
      if (!s.ok()) return s.WithContext(name() + ": page " + std::to_string(pgno + i));
    }
    std::memcpy(out, pages[0].data(), page_size_);
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 1; i < run.size(); i++) {
      const uint32_t p = pgno + static_cast<uint32_t>(i);
      if (p <= index_.size() && index_[p - 1].file == run[i].file && index_[p - 1].offset == run[i].offset) {
        CachePut(p, std::move(pages[i]));
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Cache it only if the page still lives there (a pending update may have been applied meanwhile).
  if (pgno <= index_.size() && index_[pgno - 1].file == loc.file && index_[pgno - 1].offset == loc.offset) {
    CachePut(pgno, std::vector<uint8_t>(out, out + page_size_));
  }
  return Status::OK();
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
  cache_bytes_ = 0;
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
  auto stage = [&](const LtxFileInfo& info) -> Status {
    File file;
    std::vector<ltx::PageIndexEntry> entries;
    LS_RETURN_IF_ERROR(LoadFile(info, &file, &entries));
    const uint32_t file_no = base_files + static_cast<uint32_t>(staged.files.size());
    for (const auto& e : entries) {
      if (e.pgno != 0 && e.pgno <= file.commit) staged.updates.emplace_back(e.pgno, Location{file_no, e.offset, e.size});
    }
    staged.commit = file.commit;
    staged.txid = info.max_txid;
    staged.files.push_back(file);
    pos = info.max_txid;
    return Status::OK();
  };
  // Level 0 after the position; when its chain has a gap (L0 retention already removed files that were
  // compacted), a level-1 file that covers the next TXID bridges it, then level 0 continues.
  for (int round = 0; round < 2; round++) {
    LS_ASSIGN_OR_RETURN(auto listed, client_->List(0, pos + 1));
    for (const LtxFileInfo& info : listed) {
      if (info.min_txid != pos + 1) break;
      LS_RETURN_IF_ERROR(stage(info));
    }
    if (round == 1 || listed.empty() || listed.front().min_txid <= pos + 1) break;
    LS_ASSIGN_OR_RETURN(auto l1, client_->List(1, 0));
    const LtxFileInfo* bridge = nullptr;
    for (const LtxFileInfo& info : l1) {
      if (info.min_txid <= pos + 1 && info.max_txid > pos && (bridge == nullptr || info.max_txid > bridge->max_txid)) {
        bridge = &info;
      }
    }
    if (bridge == nullptr) break;  // not compacted yet: the next poll tries again
    LS_RETURN_IF_ERROR(stage(*bridge));
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
      cache_bytes_ -= it->second->second.size();
      lru_.erase(it->second);
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  txid_ = pending_->txid;
  newest_time_ = pending_->files.back().info.created_at;
  pending_.reset();
  return true;
}

bool ReplicaImage::CacheGet(uint32_t pgno, uint8_t* out) {
  auto it = cache_.find(pgno);
  if (it == cache_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  std::memcpy(out, it->second->second.data(), it->second->second.size());
  return true;
}

void ReplicaImage::CachePut(uint32_t pgno, std::vector<uint8_t> page) {
  if (options_.cache_bytes < page.size()) return;
  CacheErase(pgno);
  cache_bytes_ += page.size();
  lru_.emplace_front(pgno, std::move(page));
  cache_[pgno] = lru_.begin();
  while (cache_bytes_ > options_.cache_bytes && !lru_.empty()) {
    cache_bytes_ -= lru_.back().second.size();
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void ReplicaImage::CacheErase(uint32_t pgno) {
  auto it = cache_.find(pgno);
  if (it == cache_.end()) return;
  cache_bytes_ -= it->second->second.size();
  lru_.erase(it->second);
  cache_.erase(it);
}

}  // namespace litestream::vfs
