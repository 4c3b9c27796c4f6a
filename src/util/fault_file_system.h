// A FileSystem for tests that delegates to another one and fails chosen operations on demand:
//
//   FaultFileSystem fs(FileSystem::Default());
//   fs.FailNth(FaultOp::kWrite, 2, Status::DiskFull("injected"), ".ltx.tmp");  // 2nd write to an L0 tmp
//   fs.FailNth(FaultOp::kRename, 1, Status::IOError("crash before rename"));
//   fs.FailAfter(10, Status::IOError("power lost"));  // the 11th operation and everything after fail
//
// A failed operation does nothing (a failed write writes no byte). Files opened through the wrapper keep
// checking the rules (kWrite, kSync, kRead) for their whole life. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/file_system.h"

namespace litestream {

enum class FaultOp {
  kOpen,      // OpenRandomAccess, OpenSequential
  kRead,      // ReadAt, Read and Size on opened files
  kCreate,    // Create
  kWrite,     // WritableFile::Write
  kSync,      // WritableFile::Sync and SyncDir
  kClose,     // WritableFile::Close
  kRename,    // Rename (matched against the source and the destination path)
  kRemove,    // Remove, RemoveAll
  kMkdir,     // MkdirAll
  kList,      // ListDir
  kStat,      // Stat
  kMetadata,  // SetTimes, Chown, Truncate
};
constexpr size_t kFaultOpCount = 12;

class FaultFileSystem final : public FileSystem {
 public:
  // `base` must outlive this object and every file opened through it.
  explicit FaultFileSystem(FileSystem* base) : base_(base) {}

  // Fails the nth (1-based) future `op` whose path contains `path_substr` ("" matches every path) with
  // `status`. One-shot unless `sticky`, in which case that operation and every later matching one fail.
  void FailNth(FaultOp op, int n, Status status, std::string path_substr = "", bool sticky = false);
  // After `ops` more operations of any kind succeed, every operation fails with `status` (a crash or a
  // disk that went away). FailAfter(0, ...) fails everything from now on.
  void FailAfter(int64_t ops, Status status);
  // Calls `hook` before every operation (outside the wrapper's lock, before the rules are checked), so a
  // test can hold an operation back until another thread got somewhere. Set it before sharing the wrapper.
  void SetBeforeHook(std::function<void(FaultOp op, const std::string& path)> hook) {
    before_ = std::move(hook);
  }
  // Drops every rule. Counters are kept.
  void Clear();
  // How many times `op` was attempted through this wrapper (failed attempts included).
  int64_t Count(FaultOp op) const;
  // How many operations were failed by injection.
  int64_t InjectedCount() const;

  // Checks the rules for one operation on `path`; OK means "go ahead". Used by the wrapped files too.
  Status Check(FaultOp op, const std::string& path);

  Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) override;
  Result<std::unique_ptr<Reader>> OpenSequential(const std::string& path, uint64_t offset) override;
  Result<std::unique_ptr<WritableFile>> Create(const std::string& path, uint32_t mode) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status RemoveAll(const std::string& path) override;
  Status MkdirAll(const std::string& path, uint32_t mode) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status SetTimes(const std::string& path, SystemTime time) override;
  Status Chown(const std::string& path, uint32_t uid, uint32_t gid) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status WriteBack(const std::string& path, uint64_t length) override;

 private:
  struct Rule {
    FaultOp op;
    std::string path_substr;
    int remaining;  // matching operations to let through before failing
    Status status;
    bool sticky;
    bool spent = false;
  };

  FileSystem* const base_;
  std::function<void(FaultOp, const std::string&)> before_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::optional<int64_t> fail_after_;  // operations left before everything fails
  Status fail_after_status_;
  std::array<int64_t, kFaultOpCount> counts_{};
  int64_t injected_ = 0;
};

}  // namespace litestream
