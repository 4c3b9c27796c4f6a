// A pass-through FileSystem with one-shot hooks at deterministic points in the middle of a sync or a
// checkpoint, where the tests let the application commit:
//  - ArmAfterNextL0: right after the next rename into <meta>/ltx/0 (an L0 file was just written);
//  - ArmOnNextL0Create: when the next L0 staging file is created (the WAL page map has been read, the page
//    data has not).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/file_system.h"

namespace litestream::engine_test {

class HookFileSystem final : public FileSystem {
 public:
  void ArmAfterNextL0(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
  }

  Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) override {
    return base_->OpenRandomAccess(path);
  }
  Result<std::unique_ptr<Reader>> OpenSequential(const std::string& path, uint64_t offset) override {
    return base_->OpenSequential(path, offset);
  }
  void ArmOnNextL0Create(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    create_hook_ = std::move(hook);
  }

  Result<std::unique_ptr<WritableFile>> Create(const std::string& path, uint32_t mode) override {
    std::function<void()> hook;
    if (path.find("/ltx/0/") != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      hook.swap(create_hook_);
    }
    if (hook) hook();
    return base_->Create(path, mode);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    Status s = base_->Rename(from, to);
    std::function<void()> hook;
    if (s.ok() && to.find("/ltx/0/") != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      hook.swap(hook_);
    }
    if (hook) hook();
    return s;
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status RemoveAll(const std::string& path) override { return base_->RemoveAll(path); }
  Status MkdirAll(const std::string& path, uint32_t mode) override { return base_->MkdirAll(path, mode); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override { return base_->ListDir(path); }
  Result<FileInfo> Stat(const std::string& path) override { return base_->Stat(path); }
  Status SetTimes(const std::string& path, SystemTime time) override { return base_->SetTimes(path, time); }
  Status Chown(const std::string& path, uint32_t uid, uint32_t gid) override {
    return base_->Chown(path, uid, gid);
  }
  Status Truncate(const std::string& path, uint64_t size) override { return base_->Truncate(path, size); }

 private:
  FileSystem* const base_ = FileSystem::Default();
  std::mutex mu_;
  std::function<void()> hook_;
  std::function<void()> create_hook_;
};

}  // namespace litestream::engine_test
