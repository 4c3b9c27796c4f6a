// Builds replicas for restore tests from a real SQLite database: every "TXID" is one SQL batch run in
// rollback-journal mode, after which the database file is the exact state at that TXID. LTX files for any
// TXID range are encoded from those states with the project's LTX encoder, the way Litestream's L0 files,
// compactions (changed pages plus growth pages) and snapshots (every page) look.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "litestream/storage.h"
#include "ltx/encoder.h"
#include "ltx/format.h"

namespace litestream::testing {

inline std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline bool FileExists(const std::string& path) {
  std::ifstream in(path);
  return in.good();
}

// Runs SQL on a database file; fails the test on error.
inline void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK) << path;
  char* err = nullptr;
  int rc = sqlite3_exec(db, ("PRAGMA synchronous=OFF;" + sql).c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message << " in: " << sql;
}

// The first column of every row of a query, as text.
inline std::vector<std::string> QueryColumn(const std::string& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << path;
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << " in: " << sql;
    sqlite3_close(db);
    return out;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(stmt, 0);
    out.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class DbHistory {
 public:
  static constexpr int64_t kBaseTimestampMs = 1735689600000;  // 2025-01-01T00:00:00Z

  // Creates `dir`/history.db with the given page size.
  explicit DbHistory(const std::string& dir, uint32_t page_size = 4096) : path_(dir + "/history.db") {
    std::remove(path_.c_str());
    page_size_ = page_size;
    // The page size takes effect when the first table is created, in the first Commit.
    pending_pragmas_ = "PRAGMA page_size=" + std::to_string(page_size) + "; PRAGMA journal_mode=DELETE;";
    states_.push_back({});  // TXID 0: empty
  }

  // Runs `sql` as the next TXID and records the resulting database state.
  TXID Commit(const std::string& sql) {
    ExecSql(path_, pending_pragmas_ + sql);
    pending_pragmas_.clear();
    std::vector<uint8_t> bytes = ReadFileBytes(path_);
    EXPECT_EQ(bytes.size() % page_size_, 0u);
    states_.push_back(std::move(bytes));
    return txid();
  }

  // Inserts `rows` rows of ~`blob` bytes each into table t (created by the first call).
  TXID InsertRows(int rows, int blob = 300) {
    std::string sql = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, txid INTEGER, v BLOB);";
    for (int i = 0; i < rows; ++i) {
      sql += "INSERT INTO t (txid, v) VALUES (" + std::to_string(txid() + 1) + ", randomblob(" +
             std::to_string(blob) + "));";
    }
    return Commit(sql);
  }

  TXID txid() const { return states_.size() - 1; }
  uint32_t page_size() const { return page_size_; }
  const std::vector<uint8_t>& Image(TXID t) const { return states_.at(t); }
  uint32_t Commit(TXID t) const { return static_cast<uint32_t>(states_.at(t).size() / page_size_); }
  int64_t TimestampMs(TXID t) const { return kBaseTimestampMs + static_cast<int64_t>(t) * 1000; }
  SystemTime Time(TXID t) const { return SystemTime(std::chrono::milliseconds(TimestampMs(t))); }

  // The pages an LTX file covering [min, max] holds: every page when min == 1, else the pages that differ
  // between the states at min-1 and max plus the growth pages (prev commit, commit].
  std::map<uint32_t, std::vector<uint8_t>> Pages(TXID min, TXID max) const {
    std::map<uint32_t, std::vector<uint8_t>> pages;
    const auto& before = states_.at(min - 1);
    const auto& after = states_.at(max);
    uint32_t commit = Commit(max);
    for (uint32_t pgno = 1; pgno <= commit; ++pgno) {
      size_t off = size_t{pgno - 1} * page_size_;
      bool changed = min == 1 || off + page_size_ > before.size() ||
                     std::memcmp(before.data() + off, after.data() + off, page_size_) != 0;
      if (changed) pages[pgno].assign(after.begin() + off, after.begin() + off + page_size_);
    }
    return pages;
  }

  // Encodes the LTX file for [min, max] (timestamp: that of max).
  std::vector<uint8_t> Ltx(TXID min, TXID max, ltx::PageEncoding encoding = ltx::PageEncoding::kBlock) const {
    ltx::Header h;
    h.flags = ltx::kHeaderFlagNoChecksum;
    h.page_size = page_size_;
    h.commit = Commit(max);
    h.min_txid = min;
    h.max_txid = max;
    h.timestamp = TimestampMs(max);
    BufferWriter out;
    ltx::Encoder enc(out, encoding);
    Status s = enc.EncodeHeader(h);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (const auto& [pgno, data] : Pages(min, max)) {
      s = enc.EncodePage(pgno, data.data(), data.size());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    s = enc.Close();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out.data();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string pending_pragmas_;
  uint32_t page_size_ = 4096;
  std::vector<std::vector<uint8_t>> states_;
};

// Puts [min, max] of `history` on `client` at `level` (through StorageClient::Write, so the file backend
// sets the mtime to the header timestamp).
inline void PutLtx(StorageClient& client, const DbHistory& history, int level, TXID min, TXID max,
                   ltx::PageEncoding encoding = ltx::PageEncoding::kBlock) {
  BufferReader data(history.Ltx(min, max, encoding));
  auto info = client.Write(level, min, max, data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
}

// The byte offset of page `pgno`'s data in an encoded file is not fixed (compression), so corruption tests
// flip a byte inside the trailer's file checksum (always detected at Close) or in the middle of the file.
inline void CorruptFileChecksum(std::vector<uint8_t>& ltx_file) { ltx_file[ltx_file.size() - 3] ^= 0x5a; }

}  // namespace litestream::testing
