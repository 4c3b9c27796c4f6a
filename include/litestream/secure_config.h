// Configuration kept in the application's own SQLite database, encrypted with age (binary age v1 format),
// as the restinpieces framework does: the database then carries its own recovery config, and the age
// identity file is the only secret kept outside it.
//
// Table (created on first save):
//   app_config(id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, content BLOB NOT NULL,
//              format TEXT NOT NULL DEFAULT 'toml', description TEXT,
//              created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))
// Versions are append-only: Save inserts, generation 0 is the latest, 1 the one before, and so on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/config.h"
#include "litestream/status.h"

namespace litestream {

// The scope the Litestream config is stored under.
inline constexpr std::string_view kLitestreamConfigScope = "litestream";

struct SecureConfig {
  std::string content;  // the plaintext
  std::string format;   // "yaml", "toml", "json", ...
};

struct SecureConfigVersion {
  int64_t id = 0;
  std::string scope;
  std::string format;
  std::string description;
  std::string created_at;  // RFC 3339, UTC
  int64_t size = 0;        // bytes of ciphertext
};

class SecureConfigStore {
 public:
  // `identity_path`: an age identity file (AGE-SECRET-KEY-1...; the first identity must be X25519). It is
  // re-read on every call and its bytes are wiped right after parsing. May be empty for List().
  SecureConfigStore(std::string db_path, std::string identity_path);

  // Encrypts `plaintext` to the first identity's recipient and appends it as the newest version.
  // An empty scope means "application".
  Status Save(std::string_view scope, std::string_view plaintext, std::string_view format,
              std::string_view description) const;
  // Generation 0 is the latest version. NotFound when the scope has no such version.
  Result<SecureConfig> Get(std::string_view scope, int generation = 0) const;
  // Every version, newest first (all scopes when `scope` is empty). Never decrypts.
  Result<std::vector<SecureConfigVersion>> List(std::string_view scope = {}) const;

 private:
  std::string db_path_;
  std::string identity_path_;
};

// The latest Litestream config (scope "litestream", format yaml or yml), parsed. It must be
// self-contained: environment references ($VAR, ${VAR}) are errors and nothing is expanded.
// Service::FromConfigDb (service.h) builds the service from it; `litestream replicate -config-db` runs it.
Result<Config> LoadLitestreamConfig(const std::string& db_path, const std::string& identity_path);

}  // namespace litestream
