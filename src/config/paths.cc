// Database and meta paths: sqlite:// prefixes, "~/", absolute paths, the meta directory next to a database
// (ENGINE.md §2.5) and the per-database paths of directory mode.
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "config/internal.h"

namespace litestream {
namespace {

constexpr const char* kMetaSuffix = "-litestream";

Result<std::string> HomeDir(const EnvLookup& env) {
  if (env) {
    std::optional<std::string> home = env("HOME");
    if (home && !home->empty()) return *home;
  }
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr && found->pw_dir[0] != '\0') {
    return std::string(found->pw_dir);
  }
  return Status::NotFound("no home directory available");
}

// "/a/b/c.db" -> {"/a/b", "c.db"}; "c.db" -> {".", "c.db"}.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

std::string StripSqlitePrefix(std::string_view path) {
  for (std::string_view prefix : {"sqlite3://", "sqlite://"}) {
    if (path.substr(0, prefix.size()) == prefix) return std::string(path.substr(prefix.size()));
  }
  return std::string(path);
}

Result<std::string> ExpandPath(std::string_view path, const EnvLookup& env) {
  std::string s = StripSqlitePrefix(path);
  if (s == "~" || s.rfind("~/", 0) == 0) {
    Result<std::string> home = HomeDir(env);
    if (!home.ok())
      return Status::InvalidArgument("cannot expand path " + s + ", no home directory available");
    s = s == "~" ? *home : *home + "/" + s.substr(2);
  }
  if (s.empty() || s[0] != '/') {
    std::vector<char> cwd(4096);
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) return Status::FromErrno(errno, "getcwd");
    s = std::string(cwd.data()) + "/" + s;
  }
  return config_internal::CleanPath(s);
}

std::string DefaultMetaPath(const std::string& db_path) {
  auto [dir, file] = SplitPath(db_path);
  return config_internal::JoinPath(dir, "." + file + kMetaSuffix);
}

std::string EffectiveMetaPath(const DbConfig& db) {
  if (db.meta_path) return *db.meta_path;
  return DefaultMetaPath(db.path);
}

std::string DirectoryEntryMetaPath(const DbConfig& dir_db, const std::string& rel_path) {
  std::string rel = config_internal::CleanPath(rel_path);
  if (dir_db.meta_dir) return config_internal::JoinPath(*dir_db.meta_dir, rel + kMetaSuffix);
  if (dir_db.meta_path) {
    if (rel == ".") return *dir_db.meta_path;
    auto [rel_dir, rel_file] = SplitPath(rel);
    std::string base = rel.find('/') == std::string::npos
                           ? *dir_db.meta_path
                           : config_internal::JoinPath(*dir_db.meta_path, rel_dir);
    return config_internal::JoinPath(base, "." + rel_file + kMetaSuffix);
  }
  return DefaultMetaPath(config_internal::JoinPath(dir_db.dir, rel));
}

ReplicaConfig DirectoryEntryReplica(const ReplicaConfig& base, const std::string& rel_path) {
  ReplicaConfig r = base;
  std::string rel = config_internal::CleanPath(rel_path);
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty() || rel == ".") return r;
  if (r.type == "file") {
    r.path = config_internal::JoinPath(r.path, rel);
  } else if (r.path.empty() || r.path == ".") {
    r.path = rel;
  } else {
    bool rooted = r.path[0] == '/';
    r.path = config_internal::JoinPath(r.path, rel);
    if (!rooted && !r.path.empty() && r.path[0] == '/') r.path.erase(0, 1);
  }
  if (!r.url.empty()) {
    // Append to the URL's path, keeping any query string.
    size_t start = r.url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    size_t path_start = r.url.find_first_of("/?#", start);
    if (path_start == std::string::npos) path_start = r.url.size();
    size_t path_end = r.url.find_first_of("?#", path_start);
    if (path_end == std::string::npos) path_end = r.url.size();
    std::string url_path = r.url.substr(path_start, path_end - path_start);
    std::string joined = url_path.empty() ? rel : config_internal::JoinPath(url_path, rel);
    while (!joined.empty() && joined[0] == '/') joined.erase(0, 1);
    r.url = r.url.substr(0, path_start) + "/" + joined + r.url.substr(path_end);
  }
  return r;
}

}  // namespace litestream
