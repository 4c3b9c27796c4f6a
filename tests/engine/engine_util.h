// Shared pieces of the engine correctness suites: a logical digest of a SQLite database (the oracle the
// replica is checked against), a record of every committed application state, restore helpers, and a log
// sink that keeps the engine's warnings and errors for the failure message.
//
// The oracle: the application keeps `seq(id = 1, n)` and increments n in every transaction. Before each
// COMMIT it computes, inside that transaction, the digest of the whole logical content (schema from
// sqlite_master without _litestream_* and every table's rows in rowid order) and records n -> digest.
// Any state restored from the replica must then be a recorded state: seq n present and digest equal.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "litestream/log.h"
#include "litestream/restore.h"
#include "litestream/status.h"
#include "litestream/storage.h"
#include "ltx/decoder.h"
#include "util/file_system.h"

namespace litestream::engine_test {

// FNV-1a, 64-bit, applied to 8-byte words (and the tail bytes one by one): the same mixing step as the
// byte-wise variant, fast enough to hash a whole multi-MiB database after every transaction.
class Hasher {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      Mix(w);
    }
    for (; i < n; i++) Mix(p[i]);
    Mix(n);
  }
  void U64(uint64_t v) { Mix(v); }
  void Tag(uint8_t t) { Mix(0x100u | t); }
  uint64_t value() const { return h_; }

 private:
  void Mix(uint64_t v) {
    h_ ^= v;
    h_ *= 0x100000001b3ULL;
  }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

inline Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  return Status(
      rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? StatusCode::kBusy : StatusCode::kIOError,
      what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + " (rc " + std::to_string(rc) + ")");
}

inline Status ExecSql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? StatusCode::kBusy : StatusCode::kIOError,
                sql.substr(0, 80) + ": " + msg + " (rc " + std::to_string(rc) + ")");
}

// Runs a query whose first column of the first row is an integer.
inline Result<int64_t> QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status::NotFound(sql + ": no row") : SqliteError(db, rc, sql);
  }
  int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

// Hashes every row of a query, column by column with type tags.
inline Status HashQuery(sqlite3* db, const std::string& sql, Hasher& h) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  const int cols = sqlite3_column_count(stmt);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    h.Tag(0xf0);  // row
    for (int i = 0; i < cols; i++) {
      switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
          h.Tag(1);
          h.U64(static_cast<uint64_t>(sqlite3_column_int64(stmt, i)));
          break;
        case SQLITE_FLOAT: {
          double d = sqlite3_column_double(stmt, i);
          uint64_t bits;
          std::memcpy(&bits, &d, 8);
          h.Tag(2);
          h.U64(bits);
          break;
        }
        case SQLITE_TEXT:
          h.Tag(3);
          h.Bytes(sqlite3_column_text(stmt, i), static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
          break;
        case SQLITE_BLOB:
          h.Tag(4);
          h.Bytes(sqlite3_column_blob(stmt, i), static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
          break;
        default: h.Tag(5); break;
      }
    }
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? Status::OK() : SqliteError(db, rc, sql);
}

inline std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The digest of the logical content as seen by `db` (inside its current transaction, if any): the schema
// (sqlite_master rows other than Litestream's own, without root pages, which VACUUM renumbers) and every
// table's rows in rowid order.
inline Result<uint64_t> LogicalDigest(sqlite3* db) {
  Hasher h;
  const std::string user = "name NOT LIKE '\\_litestream\\_%' ESCAPE '\\'";
  LS_RETURN_IF_ERROR(HashQuery(
      db, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE " + user + " ORDER BY type, name", h));
  std::vector<std::string> tables;
  {
    sqlite3_stmt* stmt = nullptr;
    std::string sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND " + user + " ORDER BY name";
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db, rc, sql);
  }
  for (const auto& t : tables) {
    h.Tag(0xf1);
    h.Bytes(t.data(), t.size());
    LS_RETURN_IF_ERROR(HashQuery(db, "SELECT * FROM " + QuoteIdent(t) + " ORDER BY rowid", h));
  }
  return h.value();
}

// One recorded application state.
struct AppState {
  uint64_t digest = 0;
  // Wall-clock time taken just before COMMIT was issued (the commit itself happens after it).
  SystemTime commit_start{};
};

// n -> state, filled by writers (possibly from another thread), read by the checks.
class StateLog {
 public:
  void Record(int64_t n, uint64_t digest, SystemTime commit_start) {
    std::lock_guard<std::mutex> lock(mu_);
    states_[n] = AppState{digest, commit_start};
  }
  std::optional<AppState> Get(int64_t n) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = states_.find(n);
    if (it == states_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return states_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<int64_t, AppState> states_;
};

inline SystemTime WallNow() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// The application connection: WAL mode, busy_timeout 5000, the seq table.
inline Result<sqlite3*> OpenAppConnection(const std::string& path, int page_size,
                                          bool synchronous_normal = false) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  // busy_timeout first: switching to WAL needs a lock that a replicator opening the same database may hold.
  Status s = ExecSql(db, "PRAGMA busy_timeout = 5000;");
  if (s.ok()) s = ExecSql(db, "PRAGMA page_size = " + std::to_string(page_size) + "; PRAGMA journal_mode = wal;");
  if (s.ok() && synchronous_normal) s = ExecSql(db, "PRAGMA synchronous = NORMAL;");
  if (!s.ok()) {
    sqlite3_close_v2(db);
    return s;
  }
  return db;
}

// Creates seq (n = 0) and records state 0.
inline Status InitSeq(sqlite3* db, StateLog& log) {
  LS_RETURN_IF_ERROR(
      ExecSql(db,
              "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS seq (id INTEGER PRIMARY KEY CHECK (id = 1), "
              "n INTEGER); INSERT INTO seq (id, n) VALUES (1, 0);"));
  auto digest = LogicalDigest(db);
  if (!digest.ok()) {
    (void)ExecSql(db, "ROLLBACK;");
    return digest.status();
  }
  log.Record(0, *digest, WallNow());
  return ExecSql(db, "COMMIT;");
}

// Inside an open write transaction: n = n + 1, digest, record, COMMIT. Returns the new n.
inline Result<int64_t> BumpAndCommit(sqlite3* db, StateLog& log) {
  Status s = ExecSql(db, "UPDATE seq SET n = n + 1 WHERE id = 1;");
  Result<int64_t> n = s.ok() ? QueryInt(db, "SELECT n FROM seq WHERE id = 1") : Result<int64_t>(s);
  Result<uint64_t> digest = n.ok() ? LogicalDigest(db) : Result<uint64_t>(n.status());
  if (!digest.ok()) {
    (void)ExecSql(db, "ROLLBACK;");
    return digest.status();
  }
  // Recorded before COMMIT: a state can reach the replica the instant it commits.
  log.Record(*n, *digest, WallNow());
  LS_RETURN_IF_ERROR(ExecSql(db, "COMMIT;"));
  return *n;
}

// The hash of one database page (its number and bytes). An image's hash is the sum of its pages' hashes, so
// it can be kept up to date page by page.
inline uint64_t PageHash(uint32_t pgno, const uint8_t* data, size_t n) {
  Hasher h;
  h.U64(pgno);
  h.Bytes(data, n);
  return h.value();
}

// The database image at each TXID, built independently of the engine's restore code by applying the level-0
// files in order: the test's own oracle for "the state at TXID t", byte for byte. Only page hashes are kept.
class L0Chain {
 public:
  Status Apply(const std::string& ltx_path) {
    LS_ASSIGN_OR_RETURN(auto in, FileSystem::Default()->OpenSequential(ltx_path, 0));
    return Apply(*in, ltx_path);
  }
  // The L0 file of `txid` as stored on any replica.
  Status Apply(StorageClient& client, TXID txid) {
    LS_ASSIGN_OR_RETURN(auto in, client.Open(0, txid, txid, 0, 0));
    return Apply(*in, client.Describe() + " L0 " + FormatTXID(txid));
  }
  Status Apply(Reader& in, const std::string& ltx_path) {
    ltx::Decoder dec(in, ltx_path);
    LS_RETURN_IF_ERROR(dec.DecodeHeader());
    const uint32_t ps = dec.header().page_size;
    if (page_size_ != 0 && ps != page_size_) return Status::Corruption(ltx_path + ": page size changed");
    page_size_ = ps;
    Resize(dec.header().commit);
    std::vector<uint8_t> page(ps);
    for (;;) {
      uint32_t pgno = 0;
      LS_ASSIGN_OR_RETURN(bool more, dec.NextPage(&pgno, page.data()));
      if (!more) break;
      if (pgno > hashes_.size()) continue;  // beyond the commit: dropped, as the merge does
      sum_ -= hashes_[pgno - 1];
      hashes_[pgno - 1] = PageHash(pgno, page.data(), ps);
      sum_ += hashes_[pgno - 1];
    }
    return dec.Close();
  }
  uint64_t image_hash() const { return sum_; }

 private:
  void Resize(uint32_t commit) {
    while (hashes_.size() > commit) {
      sum_ -= hashes_.back();
      hashes_.pop_back();
    }
    std::vector<uint8_t> zero(page_size_, 0);
    while (hashes_.size() < commit) {  // a page no file has written yet reads as zeros (the lock page)
      hashes_.push_back(PageHash(static_cast<uint32_t>(hashes_.size() + 1), zero.data(), zero.size()));
      sum_ += hashes_.back();
    }
  }

  uint32_t page_size_ = 0;
  std::vector<uint64_t> hashes_;  // index pgno - 1
  uint64_t sum_ = 0;
};

// The image hash (as L0Chain computes it) of a database file.
inline Result<uint64_t> FileImageHash(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto bytes, ReadFileToVector(*FileSystem::Default(), path, size_t{4} << 30));
  if (bytes.size() < 100) return Status::Corruption(path + ": too short");
  uint32_t ps = (uint32_t{bytes[16]} << 8) | bytes[17];
  if (ps == 1) ps = 65536;
  if (ps == 0 || bytes.size() % ps != 0)
    return Status::Corruption(path + ": size is not a multiple of the page size");
  uint64_t sum = 0;
  for (size_t off = 0; off < bytes.size(); off += ps) {
    sum += PageHash(static_cast<uint32_t>(off / ps + 1), bytes.data() + off, ps);
  }
  return sum;
}

// What a restored file holds.
struct RestoredState {
  TXID txid = 0;        // as reported by Restore
  int64_t n = -1;       // seq.n
  uint64_t digest = 0;  // LogicalDigest
  int64_t page_size = 0;
  uint64_t image_hash = 0;  // FileImageHash of the restored file, before SQLite opened it
};

// seq n and the logical digest of a database file.
inline Result<RestoredState> ReadStateOfFile(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  RestoredState st;
  Status s = ExecSql(db, "BEGIN;");
  auto n = s.ok() ? QueryInt(db, "SELECT n FROM seq WHERE id = 1") : Result<int64_t>(s);
  auto digest = n.ok() ? LogicalDigest(db) : Result<uint64_t>(n.status());
  auto ps = digest.ok() ? QueryInt(db, "PRAGMA page_size") : Result<int64_t>(digest.status());
  (void)ExecSql(db, "COMMIT;");
  sqlite3_close_v2(db);
  if (!ps.ok()) return ps.status().WithContext(path);
  st.n = *n;
  st.digest = *digest;
  st.page_size = *ps;
  return st;
}

inline void RemoveDbFiles(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".tmp"})
    std::filesystem::remove(path + suffix, ec);
}

// Restores (txid 0 and no timestamp: the latest state) with a full integrity check into `out` (replaced)
// and reads the result.
inline Result<RestoredState> RestoreState(StorageClient& client, const std::string& out, TXID txid,
                                          std::optional<SystemTime> timestamp = std::nullopt) {
  RemoveDbFiles(out);
  RestoreOptions o;
  o.output_path = out;
  o.txid = txid;
  o.timestamp = timestamp;
  o.integrity_check = IntegrityCheck::kFull;
  auto r = Restore(client, o);
  if (!r.ok()) return r.status();
  if (r->outcome != RestoreResult::Outcome::kRestored)
    return Status::FailedPrecondition("restore did not restore");
  auto image = FileImageHash(out);
  if (!image.ok()) return image.status();
  auto st = ReadStateOfFile(out);
  if (!st.ok()) return st.status();
  st->txid = r->txid;
  st->image_hash = *image;
  return st;
}

// Keeps every record at or above `min_level` (for the failure message) and counts errors.
class CapturingLogSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
    std::string line = "+" + std::to_string(ms.count()) + "ms " + std::string(LogLevelName(level)) + " " +
                       std::string(message);
    for (const auto& f : fields) line += " " + f.key + "=" + f.value;
    std::lock_guard<std::mutex> lock(mu_);
    if (level >= LogLevel::kError) errors_++;
    if (level >= LogLevel::kWarn) warnings_.push_back(line);
    lines_.push_back(std::move(line));
    if (lines_.size() > 5000) lines_.pop_front();
    if (warnings_.size() > 200) warnings_.pop_front();
  }
  int errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  // The warnings and errors seen (most recent 200).
  std::string Warnings() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& l : warnings_) out += "  " + l + "\n";
    return out;
  }
  // How many records (of the last 5000) contain `needle`.
  int Count(const std::string& needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& l : lines_) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  // The most recent `max_lines` records (of the last 5000) that contain `needle`.
  std::string Matching(const std::string& needle, size_t max_lines = 60) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const std::string*> hits;
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) hits.push_back(&l);
    }
    std::string out;
    for (size_t i = hits.size() > max_lines ? hits.size() - max_lines : 0; i < hits.size(); i++) {
      out += "  " + *hits[i] + "\n";
    }
    return out;
  }

 private:
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  mutable std::mutex mu_;
  int errors_ = 0;
  std::deque<std::string> warnings_;
  std::deque<std::string> lines_;
};

// The L0 listing must be exactly 1..max, one file per TXID (no L0 retention in these tests).
inline Result<std::vector<LtxFileInfo>> ContiguousL0(StorageClient& client, bool use_metadata = false) {
  LS_ASSIGN_OR_RETURN(auto l0, client.List(0, 0, use_metadata));
  for (size_t i = 0; i < l0.size(); i++) {
    const TXID want = static_cast<TXID>(i + 1);
    if (l0[i].min_txid != want || l0[i].max_txid != want) {
      return Status::Corruption("level 0 is not contiguous: file #" + std::to_string(i) + " is " +
                                FormatLtxFilename(l0[i].min_txid, l0[i].max_txid) + ", expected TXID " +
                                FormatTXID(want));
    }
  }
  return l0;
}

}  // namespace litestream::engine_test
