// Test helpers around SQLite: an application connection, queries returning text, and a tiny "restore"
// that applies LTX files page by page (independent of the engine's own restore code).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "litestream/status.h"

namespace litestream::testing {

// An application's connection: WAL mode, busy_timeout 5000, as our users are told to configure it.
class AppDb {
 public:
  explicit AppDb(const std::string& path, int page_size = 4096);
  ~AppDb();
  AppDb(const AppDb&) = delete;
  AppDb& operator=(const AppDb&) = delete;

  void Exec(const std::string& sql);  // fails the test on error
  std::string Query(const std::string& sql);  // rows joined by '\n', columns by '|'
  sqlite3* raw() { return db_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// SQL inserting n rows of random blobs of `size` bytes into t(v) (the amalgamation has no generate_series).
std::string InsertBlobs(int n, int size);

// Runs a query on any database file (read-only) and returns rows joined by '\n', columns by '|'.
std::string QueryFile(const std::string& path, const std::string& sql);

// Applies LTX files in order onto a flat page image and writes it to `out_path` (for checks that must not
// depend on the code under test's restore). Verifies every file's checksum.
Status ApplyLtxFiles(const std::vector<std::string>& ltx_paths, const std::string& out_path);

}  // namespace litestream::testing
