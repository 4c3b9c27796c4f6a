// Builds Litestream v0.3.x replicas (generations/<gen>/{snapshots,wal}) for tests: a WAL-mode SQLite
// database whose file and WAL bytes are shipped as LZ4-framed snapshots and WAL segments.
#pragma once

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "litestream/restore.h"
#include "restore/ltx_fixture.h"
#include "util/file_system.h"

namespace litestream::testing {

// Compresses `data` into LZ4 frames of at most `frame_bytes` input each (several frames exercise the
// concatenated-frame path). `prefs` null: liblz4's defaults.
inline std::vector<uint8_t> Lz4Frames(const std::vector<uint8_t>& data, size_t frame_bytes = SIZE_MAX,
                                      const LZ4F_preferences_t* prefs = nullptr) {
  std::vector<uint8_t> out;
  size_t pos = 0;
  do {
    size_t n = std::min(frame_bytes, data.size() - pos);
    std::vector<uint8_t> frame(LZ4F_compressFrameBound(n, prefs));
    size_t got = LZ4F_compressFrame(frame.data(), frame.size(), data.data() + pos, n, prefs);
    EXPECT_FALSE(LZ4F_isError(got)) << LZ4F_getErrorName(got);
    out.insert(out.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(got));
    pos += n;
  } while (pos < data.size());
  return out;
}

// A WAL-mode database kept open (so the WAL is never checkpointed behind our back).
class WalSource {
 public:
  explicit WalSource(const std::string& path) : path_(path) {
    std::remove(path.c_str());
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    Exec(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=OFF;"
        "CREATE TABLE t (id INTEGER PRIMARY KEY, gen TEXT, v BLOB);");
  }
  ~WalSource() { sqlite3_close(db_); }
  WalSource(const WalSource&) = delete;
  WalSource& operator=(const WalSource&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }

  // Inserts `n` rows tagged `tag` in one transaction.
  void Insert(int n, const std::string& tag, int blob = 200) {
    std::string sql = "BEGIN;";
    for (int i = 0; i < n; ++i) {
      sql += "INSERT INTO t (gen, v) VALUES ('" + tag + "', randomblob(" + std::to_string(blob) + "));";
    }
    Exec(sql + "COMMIT;");
    rows_ += n;
  }

  void CheckpointTruncate() { Exec("PRAGMA wal_checkpoint(TRUNCATE);"); }

  std::vector<uint8_t> DbBytes() const { return ReadFileBytes(path_); }
  std::vector<uint8_t> WalBytes() const { return ReadFileBytes(path_ + "-wal"); }
  int rows() const { return rows_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  int rows_ = 0;
};

// Writes v0.3 files under <root>/generations/<gen>/.
class V3Writer {
 public:
  V3Writer(std::string root, std::string generation) : root_(std::move(root)), gen_(std::move(generation)) {}

  std::string SnapshotPath(int64_t index) const {
    return root_ + "/generations/" + gen_ + "/snapshots/" + FormatSnapshotFilenameV3(index);
  }
  std::string SegmentPath(int64_t index, int64_t offset) const {
    return root_ + "/generations/" + gen_ + "/wal/" + FormatWALSegmentFilenameV3(index, offset);
  }

  void Snapshot(int64_t index, const std::vector<uint8_t>& db, SystemTime mtime = {}) {
    Put(SnapshotPath(index), Lz4Frames(db, 16 * 1024), mtime);
  }
  void Segment(int64_t index, int64_t offset, const std::vector<uint8_t>& wal_bytes, SystemTime mtime = {}) {
    Put(SegmentPath(index, offset), Lz4Frames(wal_bytes), mtime);
  }

 private:
  void Put(const std::string& path, const std::vector<uint8_t>& data, SystemTime mtime) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    WriteFileBytes(path, data);
    if (mtime != SystemTime{}) {
      Status s = FileSystem::Default()->SetTimes(path, mtime);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }

  std::string root_;
  std::string gen_;
};

inline std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from, size_t to) {
  return std::vector<uint8_t>(v.begin() + static_cast<std::ptrdiff_t>(from),
                              v.begin() + static_cast<std::ptrdiff_t>(to));
}

inline int64_t CountRows(const std::string& db_path, const std::string& where = "") {
  auto rows = QueryColumn(db_path, "SELECT count(*) FROM t" + (where.empty() ? "" : " WHERE " + where));
  return rows.size() == 1 ? std::stoll(rows[0]) : -1;
}

}  // namespace litestream::testing
