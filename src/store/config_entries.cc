#include "store/config_entries.h"

#include <fnmatch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "storage/registry.h"

namespace litestream {
namespace {

bool IsSqliteFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof(header));
  return in.gcount() == 16 && std::string_view(header, 16) == std::string_view("SQLite format 3\0", 16);
}

// Relative paths (to dir) of the SQLite databases matching the pattern.
std::vector<std::string> ScanDirectory(const DbConfig& db) {
  std::vector<std::string> found;
  std::error_code ec;
  auto consider = [&](const std::filesystem::directory_entry& e) {
    if (!e.is_regular_file(ec)) return;
    std::string name = e.path().filename().string();
    if (fnmatch(db.pattern.c_str(), name.c_str(), 0) != 0 || !IsSqliteFile(e.path())) return;
    found.push_back(std::filesystem::relative(e.path(), db.dir, ec).string());
  };
  if (db.recursive) {
    for (auto it = std::filesystem::recursive_directory_iterator(db.dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      consider(*it);
    }
  } else {
    for (auto it = std::filesystem::directory_iterator(db.dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      consider(*it);
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

StoreOptions StoreOptionsFromConfig(const Config& config) {
  StoreOptions o;
  o.levels = config.levels;
  o.snapshot_interval = config.snapshot.interval;
  o.snapshot_retention = config.snapshot.retention;
  o.retention_enabled = config.retention_enabled;
  o.l0_retention = config.l0_retention;
  o.l0_retention_check_interval = config.l0_retention_check_interval;
  o.verify_compaction = config.verify_compaction;
  o.shutdown_sync_timeout = config.shutdown_sync_timeout;
  o.shutdown_sync_interval = config.shutdown_sync_interval;
  return o;
}

Result<DbEntry> MakeDbEntry(const DbConfig& db, const std::string& meta_path) {
  DbEntry e;
  e.db.path = db.path;
  e.db.meta_path = meta_path;
  e.db.busy_timeout = db.busy_timeout;
  e.db.checkpoint_interval = db.checkpoint_interval;
  e.db.min_checkpoint_page_count = static_cast<uint32_t>(db.min_checkpoint_page_count);
  e.db.min_size_checkpoint_spacing = db.monitor_interval;
  e.db.truncate_page_n = static_cast<uint32_t>(db.truncate_page_n);
  e.db.max_sync_wal_bytes = db.max_sync_wal_bytes;
  e.db.page_encoding =
      db.replica.ltx_encoding == LtxEncoding::kBlock ? ltx::PageEncoding::kBlock : ltx::PageEncoding::kFrame;
  e.monitor_interval = db.monitor_interval;
  e.replica.sync_interval = db.replica.sync_interval;
  e.replica.max_sync_ltx_files = db.replica.max_sync_ltx_files;
  e.replica.auto_recover = db.replica.auto_recover;
  LS_ASSIGN_OR_RETURN(auto client, NewStorageClient(db.replica));
  e.client = std::shared_ptr<StorageClient>(std::move(client));
  return e;
}

Result<std::vector<DbEntry>> DbEntriesFromConfig(const Config& config) {
  std::vector<DbEntry> entries;
  std::set<std::string> meta_paths;
  auto add = [&](const DbConfig& db, const std::string& meta_path) -> Status {
    if (!meta_paths.insert(meta_path).second) {
      return Status::InvalidArgument(db.path + ": meta path " + meta_path + " is already used by another database");
    }
    auto entry = MakeDbEntry(db, meta_path);
    if (!entry.ok()) return entry.status().WithContext(db.path);
    entries.push_back(std::move(*entry));
    return Status::OK();
  };
  for (const auto& db : config.dbs) {
    if (db.dir.empty()) {
      LS_RETURN_IF_ERROR(add(db, EffectiveMetaPath(db)));
      continue;
    }
    auto found = ScanDirectory(db);
    if (found.empty() && !db.watch) {
      return Status::InvalidArgument("dir " + db.dir + ": no databases found matching " + db.pattern);
    }
    for (const auto& rel : found) {
      DbConfig one = db;
      one.dir.clear();
      one.path = (std::filesystem::path(db.dir) / rel).string();
      one.replica = DirectoryEntryReplica(db.replica, rel);
      LS_RETURN_IF_ERROR(add(one, DirectoryEntryMetaPath(db, rel)));
    }
  }
  return entries;
}

}  // namespace litestream
