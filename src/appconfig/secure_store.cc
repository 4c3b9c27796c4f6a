#include <openssl/crypto.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "crypto/age.h"
#include "litestream/secure_config.h"

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
    bool found = sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='app_config'", -1,
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

// Reads and parses the identity file, wiping the raw bytes at once. The first identity must be X25519;
// that is the only kind we parse, so any identity we return is one.
Result<std::vector<age::Identity>> LoadIdentities(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("an age identity file is required (-age-key)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read age identity file " + path);
  std::string text;
  text.resize(kMaxIdentityFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  auto ids = age::ParseIdentities(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (text.size() > kMaxIdentityFileBytes) return Status::InvalidArgument("age identity file " + path + " is too big");
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
  LS_ASSIGN_OR_RETURN(auto sealed,
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
  if (generation < 0) return Status::InvalidArgument("generation must be 0 (latest) or more, got " + std::to_string(generation));
  const std::string_view s = ScopeOrDefault(scope);
  const std::string where = "scope '" + std::string(s) + "' generation " + std::to_string(generation);
  LS_ASSIGN_OR_RETURN(auto ids, LoadIdentities(identity_path_));
  LS_ASSIGN_OR_RETURN(Db db, Db::Open(db_path_, /*create=*/false));
  if (!db.HasTable()) return Status::NotFound(db_path_ + " has no app_config table");
  Stmt st;
  const char* sql = "SELECT content, format FROM app_config WHERE scope = ?1 ORDER BY created_at DESC, id DESC LIMIT 1 "
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
    out.push_back({sqlite3_column_int64(st.st, 0), ColumnText(st.st, 1), ColumnText(st.st, 2), ColumnText(st.st, 3),
                   ColumnText(st.st, 4), sqlite3_column_int64(st.st, 5)});
  }
  if (rc != SQLITE_DONE) return db.Error(rc, "app_config list");
  return out;
}

Result<std::unique_ptr<Service>> ServiceFromConfigDb(const std::string& db_path, const std::string& identity_path,
                                                     ServiceOptions options) {
  SecureConfigStore store(db_path, identity_path);
  LS_ASSIGN_OR_RETURN(SecureConfig cfg, store.Get(kLitestreamConfigScope, 0));
  if (cfg.format != "yaml" && cfg.format != "yml") {
    return Status::InvalidArgument("the litestream config in " + db_path + " has format '" + cfg.format +
                                   "', want yaml");
  }
  if (cfg.content.empty()) return Status::InvalidArgument("the litestream config in " + db_path + " is empty");
  ParseOptions parse;
  parse.expand_env = false;
  parse.reject_env_references = true;
  auto service = Service::FromYaml(cfg.content, parse, std::move(options));
  OPENSSL_cleanse(cfg.content.data(), cfg.content.size());
  if (!service.ok()) return service.status().WithContext("config from " + db_path);
  return service;
}

}  // namespace litestream
