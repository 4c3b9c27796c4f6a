// An in-memory StorageClient for restore tests, with hooks to inject listing and read faults.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "litestream/storage.h"

namespace litestream::testing {

class MemoryStorageClient : public StorageClient {
 public:
  struct File {
    std::vector<uint8_t> data;
    SystemTime created_at{};
    SystemTime metadata_time{};  // returned with use_metadata (the LTX header time on S3)
    int64_t listed_size = -1;    // >= 0: size reported by List instead of data.size()
  };

  // Fault hooks. Each may be empty.
  // Called for every Open; a non-OK status is returned instead of a reader.
  std::function<Status(const LtxFileInfo&, uint64_t offset)> on_open;
  // Called for every Read of an opened reader with the absolute file offset; returns the largest count the
  // read may return (0: a premature end of stream), or an error.
  std::function<Result<size_t>(const LtxFileInfo&, uint64_t offset, size_t n)> on_read;
  // Called for every List.
  std::function<Status(int level)> on_list;

  std::string Type() const override { return "memory"; }
  std::string Describe() const override { return "memory://test"; }

  void Put(int level, TXID min, TXID max, std::vector<uint8_t> data, SystemTime created_at = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    File& f = files_[{level, min, max}];
    f.data = std::move(data);
    f.created_at = created_at;
    f.metadata_time = created_at;
  }
  // A listed file without meaningful contents (plan tests).
  void PutInfo(int level, TXID min, TXID max, SystemTime created_at = {}, int64_t size = 1024) {
    std::lock_guard<std::mutex> lock(mu_);
    File& f = files_[{level, min, max}];
    f.created_at = created_at;
    f.metadata_time = created_at;
    f.listed_size = size;
  }
  void SetMetadataTime(int level, TXID min, TXID max, SystemTime t) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[{level, min, max}].metadata_time = t;
  }
  bool Erase(int level, TXID min, TXID max) {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.erase({level, min, max}) > 0;
  }
  std::vector<uint8_t>* Data(int level, TXID min, TXID max) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find({level, min, max});
    return it == files_.end() ? nullptr : &it->second.data;
  }
  int list_calls_with_metadata() const { return list_with_metadata_; }
  int open_calls() const { return open_calls_; }

  Result<std::vector<LtxFileInfo>> List(int level, TXID seek, bool use_metadata) override {
    if (on_list) {
      Status s = on_list(level);
      if (!s.ok()) return s;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (use_metadata) ++list_with_metadata_;
    std::vector<LtxFileInfo> out;
    for (const auto& [key, f] : files_) {
      auto [lvl, min, max] = key;
      if (lvl != level || min < seek) continue;
      LtxFileInfo info;
      info.level = lvl;
      info.min_txid = min;
      info.max_txid = max;
      info.size = f.listed_size >= 0 ? f.listed_size : static_cast<int64_t>(f.data.size());
      info.created_at = use_metadata ? f.metadata_time : f.created_at;
      out.push_back(info);
    }
    return out;
  }

  Result<std::unique_ptr<Reader>> Open(int level, TXID min, TXID max, uint64_t offset,
                                       uint64_t length) override {
    LtxFileInfo info;
    info.level = level;
    info.min_txid = min;
    info.max_txid = max;
    std::vector<uint8_t> data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++open_calls_;
      auto it = files_.find({level, min, max});
      if (it == files_.end())
        return Status::NotFound("memory://test: no such file " + FormatLtxFilename(min, max));
      data = it->second.data;
      info.size = static_cast<int64_t>(data.size());
    }
    if (on_open) {
      Status s = on_open(info, offset);
      if (!s.ok()) return s;
    }
    uint64_t end = length == 0 ? data.size() : std::min<uint64_t>(data.size(), offset + length);
    if (offset > end) offset = end;
    return std::unique_ptr<Reader>(new RangeReader(this, info, std::move(data), offset, end));
  }

  Result<LtxFileInfo> Write(int level, TXID min, TXID max, Reader& data) override {
    LS_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, data.ReadAll(size_t{1} << 32));
    Put(level, min, max, std::move(bytes));
    LtxFileInfo info;
    info.level = level;
    info.min_txid = min;
    info.max_txid = max;
    return info;
  }

  Status Remove(const std::vector<LtxFileInfo>& files) override {
    for (const auto& f : files) Erase(f.level, f.min_txid, f.max_txid);
    return Status::OK();
  }
  Status RemoveAll() override {
    std::lock_guard<std::mutex> lock(mu_);
    files_.clear();
    return Status::OK();
  }

 private:
  class RangeReader final : public Reader {
   public:
    RangeReader(MemoryStorageClient* owner, LtxFileInfo info, std::vector<uint8_t> data, uint64_t pos,
                uint64_t end)
        : owner_(owner), info_(info), data_(std::move(data)), pos_(pos), end_(end) {}
    Result<size_t> Read(uint8_t* buf, size_t n) override {
      size_t count = static_cast<size_t>(std::min<uint64_t>(n, end_ - pos_));
      if (owner_->on_read && count > 0) {
        auto allowed = owner_->on_read(info_, pos_, count);
        if (!allowed.ok()) return allowed.status();
        count = std::min(count, *allowed);
      }
      if (count > 0) std::memcpy(buf, data_.data() + pos_, count);
      pos_ += count;
      return count;
    }

   private:
    MemoryStorageClient* owner_;
    LtxFileInfo info_;
    std::vector<uint8_t> data_;
    uint64_t pos_;
    uint64_t end_;
  };

  std::mutex mu_;
  std::map<std::tuple<int, TXID, TXID>, File> files_;
  int list_with_metadata_ = 0;
  int open_calls_ = 0;
};

}  // namespace litestream::testing
