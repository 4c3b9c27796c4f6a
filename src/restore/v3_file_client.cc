// V3ReplicaClient over a local directory (the file backend's root): <root>/generations/<gen>/...
#include <algorithm>
#include <tuple>

#include "litestream/restore.h"
#include "util/file_system.h"

namespace litestream {
namespace {

class FileV3ReplicaClient final : public V3ReplicaClient {
 public:
  FileV3ReplicaClient(std::string root, FileSystem* fs) : root_(std::move(root)), fs_(fs) {}

  Result<std::vector<std::string>> Generations() override {
    std::string dir = root_ + "/generations";
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirOrEmpty(dir));
    std::vector<std::string> out;
    for (const std::string& name : names) {
      if (!IsGenerationIDV3(name)) continue;
      auto info = fs_->Stat(dir + "/" + name);
      if (!info.ok()) {
        if (info.status().IsNotFound()) continue;  // removed while listing
        return info.status();
      }
      if (info->is_dir) out.push_back(name);
    }
    return out;
  }

  Result<std::vector<V3SnapshotInfo>> Snapshots(const std::string& generation) override {
    std::string dir = GenerationDir(generation) + "/snapshots";
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirOrEmpty(dir));
    std::vector<V3SnapshotInfo> out;
    for (const std::string& name : names) {
      V3SnapshotInfo snap;
      if (!ParseSnapshotFilenameV3(name, &snap.index)) continue;
      auto info = fs_->Stat(dir + "/" + name);
      if (!info.ok()) {
        if (info.status().IsNotFound()) continue;
        return info.status();
      }
      if (info->is_dir) continue;
      snap.generation = generation;
      snap.size = static_cast<int64_t>(info->size);
      snap.created_at = info->mtime;
      out.push_back(std::move(snap));
    }
    std::sort(out.begin(), out.end(),
              [](const V3SnapshotInfo& a, const V3SnapshotInfo& b) { return a.index < b.index; });
    return out;
  }

  Result<std::vector<V3WALSegmentInfo>> WALSegments(const std::string& generation) override {
    std::string dir = GenerationDir(generation) + "/wal";
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirOrEmpty(dir));
    std::vector<V3WALSegmentInfo> out;
    for (const std::string& name : names) {
      V3WALSegmentInfo seg;
      if (!ParseWALSegmentFilenameV3(name, &seg.index, &seg.offset)) continue;
      auto info = fs_->Stat(dir + "/" + name);
      if (!info.ok()) {
        if (info.status().IsNotFound()) continue;
        return info.status();
      }
      if (info->is_dir) continue;
      seg.generation = generation;
      seg.size = static_cast<int64_t>(info->size);
      seg.created_at = info->mtime;
      out.push_back(std::move(seg));
    }
    std::sort(out.begin(), out.end(), [](const V3WALSegmentInfo& a, const V3WALSegmentInfo& b) {
      return std::tie(a.index, a.offset) < std::tie(b.index, b.offset);
    });
    return out;
  }

  Result<std::unique_ptr<Reader>> OpenSnapshot(const std::string& generation, int64_t index) override {
    return fs_->OpenSequential(GenerationDir(generation) + "/snapshots/" + FormatSnapshotFilenameV3(index));
  }

  Result<std::unique_ptr<Reader>> OpenWALSegment(const std::string& generation, int64_t index,
                                                 int64_t offset) override {
    // The name on disk may have more offset digits than %08x gives for small offsets only if another
    // writer padded it; find the listed name rather than assuming the canonical one.
    std::string dir = GenerationDir(generation) + "/wal";
    std::string canonical = dir + "/" + FormatWALSegmentFilenameV3(index, offset);
    auto reader = fs_->OpenSequential(canonical);
    if (reader.ok() || !reader.status().IsNotFound()) return reader;
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirOrEmpty(dir));
    for (const std::string& name : names) {
      int64_t i = 0, o = 0;
      if (ParseWALSegmentFilenameV3(name, &i, &o) && i == index && o == offset) {
        return fs_->OpenSequential(dir + "/" + name);
      }
    }
    return reader;
  }

 private:
  std::string GenerationDir(const std::string& generation) const {
    return root_ + "/generations/" + generation;
  }

  Result<std::vector<std::string>> ListDirOrEmpty(const std::string& dir) {
    auto names = fs_->ListDir(dir);
    if (!names.ok() && names.status().IsNotFound()) return std::vector<std::string>{};
    return names;
  }

  std::string root_;
  FileSystem* fs_;
};

}  // namespace

std::unique_ptr<V3ReplicaClient> NewFileV3ReplicaClient(std::string root, FileSystem* fs) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::make_unique<FileV3ReplicaClient>(std::move(root), fs != nullptr ? fs : FileSystem::Default());
}

}  // namespace litestream
