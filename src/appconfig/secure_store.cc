#include <fcntl.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "crypto/age.h"
#include "litestream/secure_config.h"
#include "litestream/service.h"

namespace litestream {
namespace {

constexpr std::string_view kDefaultScope = "application";
constexpr size_t kMaxIdentityFileBytes = 64 << 10;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS app_config ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " scope TEXT NOT NULL,"
    " content BLOB NOT NULL,"
    " format TEXT NOT NULL DEFAULT 'toml',"
    " description TEXT,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
    "CREATE INDEX IF NOT EXISTS idx_app_config_created ON app_config(created_at DESC);";

std::string_view ScopeOrDefault(std::string_view scope) { return scope.empty() ? kDefaultScope : scope; }

// One connection for one call: the store is used rarely (start-up, a CLI command).
class Db {
 public:
  ~Db() { sqlite3_close_v2(db_); }
  static Result<Db> Open(const std::string& path, bool create) {
    Db d;
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr);
    if (rc != SQLITE_OK) return d.Error(rc, "open " + path);
    sqlite3_busy_timeout(d.db_, 5000);
    return d;
  }
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  sqlite3* get() const { return db_; }
  Status Error(int rc, const std::string& what) const {
    std::string msg = what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    return rc == SQLITE_BUSY ? Status::Busy(msg) : Status::IOError(msg);
  }
  Status Exec(const char* sql) const {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::OK() : Error(rc, "app_config");
  }
  bool HasTable() const {
    sqlite3_stmt* st = nullptr;
    bool found =
        sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='app_config'", -1,
                           &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
  }

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
};

struct Stmt {
  sqlite3_stmt* st = nullptr;
  ~Stmt() { sqlite3_finalize(st); }
};

std::string ColumnText(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
}

// Reads and parses the identity file, wiping the raw bytes at once. Plain read(2) into our own buffer: a
// stdio or iostream buffer would keep a copy of the key we could not wipe. The first identity must be
// X25519; that is the only kind we parse, so any identity we return is one.
Result<std::vector<age::Identity>> LoadIdentities(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("an age identity file is required (-age-key)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    return errno == ENOENT ? Status::NotFound("cannot read age identity file " + path + ": " + why)
                           : Status::IOError("cannot read age identity file " + path + ": " + why);
  }
  std::string text(kMaxIdentityFileBytes + 1, '\0');
  size_t got = 0;
  int read_errno = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_errno = errno;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  Result<std::vector<age::Identity>> ids =
      Status::InvalidArgument("age identity file " + path + " is too big");
  if (read_errno == 0 && got <= kMaxIdentityFileBytes)
    ids = age::ParseIdentities(std::string_view(text.data(), got));
  OPENSSL_cleanse(text.data(), text.size());
  if (read_errno != 0)
    return Status::IOError("cannot read age identity file " + path + ": " + std::strerror(read_errno));
  if (!ids.ok()) return ids.status().WithContext(path);
  return ids;
}

}  // namespace

SecureConfigStore::SecureConfigStore(std::string db_path, std::string identity_path)
    : db_path_(std::move(db_path)), identity_path_(std::move(identity_path)) {}

Status SecureConfigStore::Save(std::string_view scope, std::string_view plaintext, std::string_view format,
                               std::string_view description) const {
  LS_ASSIGN_OR_RETURN(auto ids, LoadIdentities(identity_path_));
  LS_ASSIGN_OR_RETURN(std::string recipient, ids.front().Recipient());
  LS_ASSIGN_OR_RETURN(
      auto sealed,
      age::Encrypt({reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()}, {recipient}));
  LS_ASSIGN_OR_RETURN(Db db, Db::Open(db_path_, /*create=*/true));
  LS_RETURN_IF_ERROR(db.Exec(kSchema));
  Stmt st;
  const char* sql = "INSERT INTO app_config (scope, content, format, description) VALUES (?1, ?2, ?3, ?4)";
  int rc = sqlite3_prepare_v2(db.get(), sql, -1, &st.st, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "app_config insert");
  const std::string_view s = ScopeOrDefault(scope);
  sqlite3_bind_text(st.st, 1, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(st.st, 2, sealed.data(), static_cast<int>(sealed.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st.st, 3, format.data(), static_cast<int>(format.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st.st, 4, description.data(), static_cast<int>(description.size()), SQLITE_TRANSIENT);
  rc = sqlite3_step(st.st);
  return rc == SQLITE_DONE ? Status::OK() : db.Error(rc, "app_config insert");
}

Result<SecureConfig> SecureConfigStore::Get(std::string_view scope, int generation) const {
  if (generation < 0)
    return Status::InvalidArgument("generation must be 0 (latest) or more, got " +
                                   std::to_string(generation));
  const std::string_view s = ScopeOrDefault(scope);
  const std::string where = "scope '" + std::string(s) + "' generation " + std::to_string(generation);
  LS_ASSIGN_OR_RETURN(auto ids, LoadIdentities(identity_path_));
  LS_ASSIGN_OR_RETURN(Db db, Db::Open(db_path_, /*create=*/false));
  if (!db.HasTable()) return Status::NotFound(db_path_ + " has no app_config table");
  Stmt st;
  const char* sql =
      "SELECT content, format FROM app_config WHERE scope = ?1 ORDER BY created_at DESC, id DESC LIMIT 1 "
      "OFFSET ?2";
  int rc = sqlite3_prepare_v2(db.get(), sql, -1, &st.st, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "app_config query");
  sqlite3_bind_text(st.st, 1, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st.st, 2, generation);
  rc = sqlite3_step(st.st);
  if (rc == SQLITE_DONE) return Status::NotFound("no config in " + db_path_ + " for " + where);
  if (rc != SQLITE_ROW) return db.Error(rc, "app_config query");
  const auto* blob = static_cast<const uint8_t*>(sqlite3_column_blob(st.st, 0));
  const int n = sqlite3_column_bytes(st.st, 0);
  auto plain = age::Decrypt({blob, static_cast<size_t>(n)}, ids);
  if (!plain.ok()) return plain.status().WithContext("config " + where);
  SecureConfig out{std::string(plain->begin(), plain->end()), ColumnText(st.st, 1)};
  OPENSSL_cleanse(plain->data(), plain->size());
  return out;
}

Result<std::vector<SecureConfigVersion>> SecureConfigStore::List(std::string_view scope) const {
  LS_ASSIGN_OR_RETURN(Db db, Db::Open(db_path_, /*create=*/false));
  std::vector<SecureConfigVersion> out;
  if (!db.HasTable()) return out;
  Stmt st;
  const char* sql =
      "SELECT id, scope, format, coalesce(description, ''), created_at, length(content) FROM app_config "
      "WHERE ?1 = '' OR scope = ?1 ORDER BY created_at DESC, id DESC";
  int rc = sqlite3_prepare_v2(db.get(), sql, -1, &st.st, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "app_config list");
  const std::string scope_text(scope);  // never NULL: an empty scope lists every scope
  sqlite3_bind_text(st.st, 1, scope_text.c_str(), -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(st.st)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(st.st, 0), ColumnText(st.st, 1), ColumnText(st.st, 2),
                   ColumnText(st.st, 3), ColumnText(st.st, 4), sqlite3_column_int64(st.st, 5)});
  }
  if (rc != SQLITE_DONE) return db.Error(rc, "app_config list");
  return out;
}

Result<Config> LoadLitestreamConfig(const std::string& db_path, const std::string& identity_path) {
  SecureConfigStore store(db_path, identity_path);
  LS_ASSIGN_OR_RETURN(SecureConfig cfg, store.Get(kLitestreamConfigScope, 0));
  if (cfg.format != "yaml" && cfg.format != "yml") {
    OPENSSL_cleanse(cfg.content.data(), cfg.content.size());
    return Status::InvalidArgument("the litestream config in " + db_path + " has format '" + cfg.format +
                                   "', want yaml");
  }
  if (cfg.content.empty())
    return Status::InvalidArgument("the litestream config in " + db_path + " is empty");
  ParseOptions parse;
  parse.expand_env = false;
  parse.reject_env_references = true;  // what is stored is exactly what runs
  auto config = ParseConfig(cfg.content, parse);
  OPENSSL_cleanse(cfg.content.data(), cfg.content.size());
  if (!config.ok()) return config.status().WithContext("litestream config from " + db_path);
  return config;
}

// Declared in service.h; defined here so that the service itself does not depend on the store.
Result<std::unique_ptr<Service>> Service::FromConfigDb(const std::string& db_path,
                                                       const std::string& age_key_path,
                                                       ServiceOptions options) {
  LS_ASSIGN_OR_RETURN(Config config, LoadLitestreamConfig(db_path, age_key_path));
  return FromConfig(std::move(config), std::move(options));
}

}  // namespace litestream
