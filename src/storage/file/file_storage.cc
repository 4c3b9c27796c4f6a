#include "storage/file/file_storage.h"

#include <algorithm>
#include <cstring>

#include "litestream/config.h"
#include "storage/registry.h"

namespace litestream {
namespace {

// Passes through at most `limit` bytes of another reader.
class LimitReader final : public Reader {
 public:
  LimitReader(std::unique_ptr<Reader> base, uint64_t limit) : base_(std::move(base)), left_(limit) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    if (left_ == 0) return size_t{0};
    LS_ASSIGN_OR_RETURN(size_t got, base_->Read(buf, static_cast<size_t>(std::min<uint64_t>(n, left_))));
    left_ -= got;
    return got;
  }

 private:
  std::unique_ptr<Reader> base_;
  uint64_t left_;
};

Status CheckLevel(int level) {
  if (level < 0 || level > kSnapshotLevel) {
    return Status::InvalidArgument("invalid level " + std::to_string(level) + ": want 0-" +
                                   std::to_string(kSnapshotLevel));
  }
  return Status::OK();
}

}  // namespace

FileStorageClient::FileStorageClient(std::string root, FileStorageOptions options)
    : root_(std::move(root)),
      options_(options),
      fs_(options.fs != nullptr ? options.fs : FileSystem::Default()) {}

std::string FileStorageClient::LevelDir(int level) const { return root_ + "/ltx/" + std::to_string(level); }

std::string FileStorageClient::LtxPath(int level, TXID min_txid, TXID max_txid) const {
  return LevelDir(level) + "/" + FormatLtxFilename(min_txid, max_txid);
}

Result<std::vector<LtxFileInfo>> FileStorageClient::List(int level, TXID seek, bool /*use_metadata*/) {
  LS_RETURN_IF_ERROR(CheckLevel(level));
  std::string dir = LevelDir(level);
  Result<std::vector<std::string>> names = fs_->ListDir(dir);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return std::vector<LtxFileInfo>{};
    return names.status();
  }
  std::vector<LtxFileInfo> out;
  for (const std::string& name : *names) {
    LtxFileInfo info;
    if (!ParseLtxFilename(name, &info.min_txid, &info.max_txid) || info.min_txid < seek) continue;
    Result<FileInfo> st = fs_->Stat(dir + "/" + name);
    if (!st.ok()) {
      if (st.status().IsNotFound()) continue;  // removed while we listed
      return st.status();
    }
    if (st->is_dir) continue;
    info.level = level;
    info.size = static_cast<int64_t>(st->size);
    info.created_at = st->mtime;
    out.push_back(info);
  }
  std::sort(out.begin(), out.end(), [](const LtxFileInfo& a, const LtxFileInfo& b) {
    return a.min_txid != b.min_txid ? a.min_txid < b.min_txid : a.max_txid < b.max_txid;
  });
  return out;
}

Result<std::unique_ptr<Reader>> FileStorageClient::Open(int level, TXID min_txid, TXID max_txid,
                                                        uint64_t offset, uint64_t length) {
  return OpenFile(level, min_txid, max_txid, offset, length, /*once=*/false);
}

Result<std::unique_ptr<Reader>> FileStorageClient::OpenOnce(int level, TXID min_txid, TXID max_txid,
                                                            uint64_t offset, uint64_t length) {
  return OpenFile(level, min_txid, max_txid, offset, length, /*once=*/true);
}

Result<std::unique_ptr<Reader>> FileStorageClient::OpenFile(int level, TXID min_txid, TXID max_txid,
                                                            uint64_t offset, uint64_t length, bool once) {
  LS_RETURN_IF_ERROR(CheckLevel(level));
  const std::string path = LtxPath(level, min_txid, max_txid);
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r,
                      once ? fs_->OpenSequentialOnce(path, offset) : fs_->OpenSequential(path, offset));
  if (length == 0) return r;
  return std::unique_ptr<Reader>(std::make_unique<LimitReader>(std::move(r), length));
}

Status FileStorageClient::MakeDirs(const std::string& dir) {
  // Note which of root, root/ltx and the level directory are about to be created, to chown only those.
  std::vector<std::string> missing;
  if (options_.uid || options_.gid) {
    for (const std::string& d : {root_, root_ + "/ltx", dir}) {
      LS_ASSIGN_OR_RETURN(bool exists, PathExists(*fs_, d));
      if (!exists) missing.push_back(d);
    }
  }
  LS_RETURN_IF_ERROR(fs_->MkdirAll(dir, options_.dir_mode));
  for (const std::string& d : missing) {
    LS_ASSIGN_OR_RETURN(FileInfo st, fs_->Stat(d));
    LS_RETURN_IF_ERROR(fs_->Chown(d, options_.uid.value_or(st.uid), options_.gid.value_or(st.gid)));
  }
  return Status::OK();
}

Status FileStorageClient::WriteStaged(const std::string& tmp, const uint8_t* header, size_t header_size,
                                      Reader& rest, uint64_t* size) {
  // Nobody reads a replica's file back soon: it bypasses the page cache where it can (no copy into the
  // cache, none of the application's pages evicted). Where it cannot, it is written back while it arrives
  // (a snapshot streamed while it is compressed is as big as the database: its fsync would otherwise come
  // after the last byte).
  LS_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs_->CreateWriteOnce(tmp, options_.file_mode));
  WritebackWriter writeback(*f);
  LS_ASSIGN_OR_RETURN(const uint64_t written, CopyInChunks(header, header_size, rest, writeback));
  LS_RETURN_IF_ERROR(f->Sync());
  LS_RETURN_IF_ERROR(f->Close());
  if (options_.uid || options_.gid) {
    LS_ASSIGN_OR_RETURN(FileInfo st, fs_->Stat(tmp));
    LS_RETURN_IF_ERROR(fs_->Chown(tmp, options_.uid.value_or(st.uid), options_.gid.value_or(st.gid)));
  }
  *size = written;
  return Status::OK();
}

Result<LtxFileInfo> FileStorageClient::Write(int level, TXID min_txid, TXID max_txid, Reader& data) {
  LS_RETURN_IF_ERROR(CheckLevel(level));
  const std::string name = LtxPath(level, min_txid, max_txid);
  uint8_t header[kLtxHeaderBytes];
  Status s = data.ReadFull(header, sizeof(header));
  if (!s.ok()) {
    if (s.IsCorruption())
      return Status::InvalidArgument("write " + name + ": stream shorter than an LTX header");
    return s.WithContext("write " + name);
  }
  LS_ASSIGN_OR_RETURN(const SystemTime created_at, CheckLtxHeaderForWrite(header, min_txid, max_txid, name));

  const std::string dir = LevelDir(level);
  LS_RETURN_IF_ERROR(MakeDirs(dir).WithContext("write " + name));
  const std::string tmp = name + ".tmp";
  uint64_t size = 0;
  s = WriteStaged(tmp, header, sizeof(header), data, &size);
  if (s.ok()) s = fs_->Rename(tmp, name);
  if (!s.ok()) {
    (void)fs_->Remove(tmp);  // best effort; the original error is what matters
    return s.WithContext("write " + name);
  }
  LS_RETURN_IF_ERROR(fs_->SyncDir(dir).WithContext("write " + name));
  LS_RETURN_IF_ERROR(fs_->SetTimes(name, created_at).WithContext("write " + name));

  LtxFileInfo info;
  info.level = level;
  info.min_txid = min_txid;
  info.max_txid = max_txid;
  info.size = static_cast<int64_t>(size);
  info.created_at = created_at;
  return info;
}

Status FileStorageClient::Remove(const std::vector<LtxFileInfo>& files) {
  for (const LtxFileInfo& f : files) {
    LS_RETURN_IF_ERROR(CheckLevel(f.level));
    Status s = fs_->Remove(LtxPath(f.level, f.min_txid, f.max_txid));
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

Status FileStorageClient::RemoveAll() { return fs_->RemoveAll(root_); }

void RegisterFileStorage() {
  RegisterStorageFactory("file", [](const ReplicaConfig& c) -> Result<std::unique_ptr<StorageClient>> {
    if (c.path.empty()) return Status::InvalidArgument("file replica path required");
    return std::unique_ptr<StorageClient>(std::make_unique<FileStorageClient>(c.path));
  });
}

}  // namespace litestream
