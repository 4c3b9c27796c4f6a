#include "util/fault_file_system.h"

namespace litestream {
namespace {

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultFileSystem* fs, std::string path, std::unique_ptr<RandomAccessFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    LS_RETURN_IF_ERROR(fs_->Check(FaultOp::kRead, path_));
    return base_->ReadAt(offset, buf, n);
  }
  Result<uint64_t> Size() override {
    LS_RETURN_IF_ERROR(fs_->Check(FaultOp::kRead, path_));
    return base_->Size();
  }

 private:
  FaultFileSystem* const fs_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
};

class FaultSequentialFile final : public Reader {
 public:
  FaultSequentialFile(FaultFileSystem* fs, std::string path, std::unique_ptr<Reader> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Result<size_t> Read(uint8_t* buf, size_t n) override {
    LS_RETURN_IF_ERROR(fs_->Check(FaultOp::kRead, path_));
    return base_->Read(buf, n);
  }

 private:
  FaultFileSystem* const fs_;
  const std::string path_;
  const std::unique_ptr<Reader> base_;
};

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Write(const uint8_t* buf, size_t n) override {
    LS_RETURN_IF_ERROR(fs_->Check(FaultOp::kWrite, path_));
    return base_->Write(buf, n);
  }
  Status Sync() override {
    LS_RETURN_IF_ERROR(fs_->Check(FaultOp::kSync, path_));
    return base_->Sync();
  }
  Status Close() override {
    Status injected = fs_->Check(FaultOp::kClose, path_);
    Status s = base_->Close();  // the descriptor is released even when the close "fails"
    return injected.ok() ? s : injected;
  }

 private:
  FaultFileSystem* const fs_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultFileSystem::FailNth(FaultOp op, int n, Status status, std::string path_substr, bool sticky) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(Rule{op, std::move(path_substr), n > 1 ? n - 1 : 0, std::move(status), sticky});
}

void FaultFileSystem::FailAfter(int64_t ops, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_after_ = ops < 0 ? 0 : ops;
  fail_after_status_ = std::move(status);
}

void FaultFileSystem::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  fail_after_.reset();
}

int64_t FaultFileSystem::Count(FaultOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_[size_t(op)];
}

int64_t FaultFileSystem::InjectedCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

Status FaultFileSystem::Check(FaultOp op, const std::string& path) {
  if (before_) before_(op, path);
  std::lock_guard<std::mutex> lock(mu_);
  counts_[size_t(op)]++;
  if (fail_after_.has_value()) {
    if (*fail_after_ == 0) {
      injected_++;
      return fail_after_status_.ok() ? Status::IOError("injected fault: " + path) : fail_after_status_;
    }
    --*fail_after_;
  }
  for (Rule& rule : rules_) {
    if (rule.spent || rule.op != op) continue;
    if (!rule.path_substr.empty() && path.find(rule.path_substr) == std::string::npos) continue;
    if (rule.remaining > 0) {
      rule.remaining--;
      continue;
    }
    if (!rule.sticky) rule.spent = true;
    injected_++;
    return rule.status.ok() ? Status::IOError("injected fault: " + path) : rule.status;
  }
  return Status::OK();
}

Result<std::unique_ptr<RandomAccessFile>> FaultFileSystem::OpenRandomAccess(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kOpen, path));
  LS_ASSIGN_OR_RETURN(auto file, base_->OpenRandomAccess(path));
  return std::unique_ptr<RandomAccessFile>(new FaultRandomAccessFile(this, path, std::move(file)));
}

Result<std::unique_ptr<Reader>> FaultFileSystem::OpenSequential(const std::string& path, uint64_t offset) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kOpen, path));
  LS_ASSIGN_OR_RETURN(auto file, base_->OpenSequential(path, offset));
  return std::unique_ptr<Reader>(new FaultSequentialFile(this, path, std::move(file)));
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::Create(const std::string& path, uint32_t mode) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kCreate, path));
  LS_ASSIGN_OR_RETURN(auto file, base_->Create(path, mode));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(file)));
}

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kRename, from + " -> " + to));
  return base_->Rename(from, to);
}

Status FaultFileSystem::Remove(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  return base_->Remove(path);
}

Status FaultFileSystem::RemoveAll(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  return base_->RemoveAll(path);
}

Status FaultFileSystem::MkdirAll(const std::string& path, uint32_t mode) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kMkdir, path));
  return base_->MkdirAll(path, mode);
}

Status FaultFileSystem::SyncDir(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kSync, path));
  return base_->SyncDir(path);
}

Status FaultFileSystem::WriteBack(const std::string& path, uint64_t length) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kSync, path));
  return base_->WriteBack(path, length);
}

Result<std::vector<std::string>> FaultFileSystem::ListDir(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kList, path));
  return base_->ListDir(path);
}

Result<FileInfo> FaultFileSystem::Stat(const std::string& path) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kStat, path));
  return base_->Stat(path);
}

Status FaultFileSystem::SetTimes(const std::string& path, SystemTime time) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kMetadata, path));
  return base_->SetTimes(path, time);
}

Status FaultFileSystem::Chown(const std::string& path, uint32_t uid, uint32_t gid) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kMetadata, path));
  return base_->Chown(path, uid, gid);
}

Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  LS_RETURN_IF_ERROR(Check(FaultOp::kMetadata, path));
  return base_->Truncate(path, size);
}

}  // namespace litestream
