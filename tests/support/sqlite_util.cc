#include "support/sqlite_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "ltx/decoder.h"
#include "util/file_system.h"

namespace litestream::testing {

AppDb::AppDb(const std::string& path, int page_size) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(db_);
  Exec("PRAGMA page_size = " + std::to_string(page_size) + ";");
  Exec("PRAGMA journal_mode = wal; PRAGMA busy_timeout = 5000;");
}

AppDb::~AppDb() { sqlite3_close_v2(db_); }

void AppDb::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  if (err) sqlite3_free(err);
}

static std::string QueryConn(sqlite3* db, const std::string& sql) {
  std::string out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    return out;
  }
  int rc;
  bool first_row = true;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (!first_row) out += '\n';
    first_row = false;
    for (int i = 0; i < sqlite3_column_count(stmt); i++) {
      if (i > 0) out += '|';
      const unsigned char* t = sqlite3_column_text(stmt, i);
      out += t ? reinterpret_cast<const char*>(t) : "NULL";
    }
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  return out;
}

std::string AppDb::Query(const std::string& sql) { return QueryConn(db_, sql); }

std::string InsertBlobs(int n, int size) {
  return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " + std::to_string(n) +
         ") INSERT INTO t (v) SELECT randomblob(" + std::to_string(size) + ") FROM s;";
}

std::string QueryFile(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    return "";
  }
  std::string out = QueryConn(db, sql);
  sqlite3_close_v2(db);
  return out;
}

Status ApplyLtxFiles(const std::vector<std::string>& ltx_paths, const std::string& out_path) {
  std::map<uint32_t, std::vector<uint8_t>> pages;
  uint32_t page_size = 0, commit = 0;
  for (const auto& path : ltx_paths) {
    LS_ASSIGN_OR_RETURN(auto in, FileSystem::Default()->OpenSequential(path, 0));
    ltx::Decoder dec(*in, path);
    LS_RETURN_IF_ERROR(dec.DecodeHeader());
    page_size = dec.header().page_size;
    commit = dec.header().commit;
    std::vector<uint8_t> page(page_size);
    for (;;) {
      uint32_t pgno = 0;
      LS_ASSIGN_OR_RETURN(bool more, dec.NextPage(&pgno, page.data()));
      if (!more) break;
      pages[pgno] = page;
    }
    LS_RETURN_IF_ERROR(dec.Close());
    pages.erase(pages.upper_bound(commit), pages.end());
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  std::vector<uint8_t> zero(page_size, 0);
  for (uint32_t pgno = 1; pgno <= commit; pgno++) {
    auto it = pages.find(pgno);
    const auto& data = it == pages.end() ? zero : it->second;
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  return out.good() ? Status::OK() : Status::IOError("write " + out_path);
}

}  // namespace litestream::testing
