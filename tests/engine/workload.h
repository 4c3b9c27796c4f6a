// A seeded random application workload over one SQLite connection: inserts of random sizes (many past
// the page size, so overflow pages), updates, deletes, schema changes (CREATE/DROP TABLE, CREATE/DROP
// INDEX, ALTER TABLE ADD COLUMN), bulk transactions, VACUUM and application checkpoints. Every
// transaction increments seq.n and records its digest (engine_util.h). The data comes from the seeded
// generator, so a seed reproduces the same sequence of operations.
#pragma once

#include <sqlite3.h>

#include <random>
#include <string>
#include <vector>

#include "engine/engine_util.h"

namespace litestream::engine_test {

struct WorkloadCounters {
  int transactions = 0;
  int bulk = 0;
  int vacuums = 0;
  int app_passive = 0;
  int app_truncate = 0;
  int creates = 0;
  int drops = 0;
  int indexes = 0;
  int alters = 0;
  int64_t max_db_bytes = 0;

  std::string ToString() const {
    return "transactions=" + std::to_string(transactions) + " bulk=" + std::to_string(bulk) +
           " vacuum=" + std::to_string(vacuums) + " app_passive=" + std::to_string(app_passive) +
           " app_truncate=" + std::to_string(app_truncate) + " create_table=" + std::to_string(creates) +
           " drop_table=" + std::to_string(drops) + " index_ops=" + std::to_string(indexes) +
           " alter=" + std::to_string(alters) + " max_db_bytes=" + std::to_string(max_db_bytes);
  }
};

class Workload {
 public:
  Workload(sqlite3* db, int page_size, uint64_t seed, StateLog* log)
      : db_(db), page_size_(page_size), rng_(seed), log_(log) {}

  // Creates the first table and seq (state 0).
  Status Setup() {
    LS_RETURN_IF_ERROR(
        ExecSql(db_, "CREATE TABLE t0 (id INTEGER PRIMARY KEY, k INTEGER, v BLOB, note TEXT);"));
    tables_.push_back("t0");
    return InitSeq(db_, *log_);
  }

  // One application action: usually a transaction, sometimes VACUUM or a checkpoint.
  Status Step() {
    const double r = Uniform();
    if (r < 0.02) {
      counters_.vacuums++;
      return ExecSql(db_, "VACUUM;");
    }
    if (r < 0.045) {
      counters_.app_passive++;
      return ExecSql(db_, "PRAGMA wal_checkpoint(PASSIVE);");
    }
    if (r < 0.06) {
      // Litestream's read transaction usually makes this wait for the busy timeout and give up (busy = 1 in
      // the result row, not an error); a short timeout keeps the run short.
      counters_.app_truncate++;
      sqlite3_busy_timeout(db_, 100);
      Status s = ExecSql(db_, "PRAGMA wal_checkpoint(TRUNCATE);");
      sqlite3_busy_timeout(db_, 5000);
      return s;
    }
    LS_RETURN_IF_ERROR(ExecSql(db_, "BEGIN IMMEDIATE;"));
    // Every seed must grow the database past several MiB: a bulk insert every 16th transaction until then.
    const bool grow = counters_.max_db_bytes < kGrowthTargetBytes && counters_.transactions % 16 == 15;
    Status s = grow || r < 0.09 ? BulkInsert() : RandomOps();
    if (!s.ok()) {
      (void)ExecSql(db_, "ROLLBACK;");
      return s;
    }
    auto n = BumpAndCommit(db_, *log_);
    if (!n.ok()) return n.status();
    counters_.transactions++;
    auto pages = QueryInt(db_, "PRAGMA page_count");
    if (pages.ok()) counters_.max_db_bytes = std::max(counters_.max_db_bytes, *pages * page_size_);
    return Status::OK();
  }

  // Milliseconds to wait before the next step: often none (bursts), else a few.
  int PauseMs() { return Uniform() < 0.3 ? 0 : static_cast<int>(Below(12)); }

  const WorkloadCounters& counters() const { return counters_; }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  uint64_t Below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  int64_t Between(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }

  const std::string& RandomTable() { return tables_[Below(tables_.size())]; }

  size_t BlobSize() {
    const double r = Uniform();
    if (r < 0.45) return static_cast<size_t>(Between(1, 200));
    if (r < 0.75) return static_cast<size_t>(Between(200, 4000));
    if (r < 0.93) return static_cast<size_t>(Between(4000, 40000));
    return static_cast<size_t>(Between(40000, 150000));  // past every page size: overflow chains
  }

  // Random bytes (incompressible) or a repeated pattern (compressible), from the seeded generator.
  std::vector<uint8_t> Blob(size_t n) {
    std::vector<uint8_t> b(n);
    if (Uniform() < 0.5) {
      for (size_t i = 0; i < n; i += 8) {
        uint64_t w = rng_();
        std::memcpy(b.data() + i, &w, std::min<size_t>(8, n - i));
      }
    } else {
      uint8_t a = static_cast<uint8_t>(rng_()), c = static_cast<uint8_t>(rng_());
      for (size_t i = 0; i < n; i++) b[i] = (i / 37) % 2 ? a : c;
    }
    return b;
  }

  std::string Note() {
    if (Uniform() < 0.3) return "";
    return "note-" + std::to_string(rng_() % 100000) + std::string(Below(60), 'x');
  }

  Status Insert(const std::string& table, size_t size) {
    std::string sql = "INSERT INTO " + table + " (k, v, note) VALUES (?, ?, ?)";
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
    auto blob = Blob(size);
    std::string note = Note();
    sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(rng_() % 1000));
    sqlite3_bind_blob(stmt, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    if (note.empty()) {
      sqlite3_bind_null(stmt, 3);
    } else {
      sqlite3_bind_text(stmt, 3, note.c_str(), static_cast<int>(note.size()), SQLITE_TRANSIENT);
    }
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status::OK() : SqliteError(db_, rc, sql);
  }

  // A random existing rowid of `table`, or 0 if it is empty.
  Result<int64_t> PickRowid(const std::string& table) {
    auto lo = QueryInt(db_, "SELECT coalesce(min(rowid), 0) FROM " + table);
    if (!lo.ok()) return lo.status();
    auto hi = QueryInt(db_, "SELECT coalesce(max(rowid), 0) FROM " + table);
    if (!hi.ok()) return hi.status();
    if (*hi == 0) return int64_t{0};
    int64_t target = Between(*lo, *hi);
    return QueryInt(db_, "SELECT rowid FROM " + table + " WHERE rowid >= " + std::to_string(target) +
                             " ORDER BY rowid LIMIT 1");
  }

  Status Update(const std::string& table) {
    LS_ASSIGN_OR_RETURN(int64_t rowid, PickRowid(table));
    if (rowid == 0) return Insert(table, BlobSize());
    std::string sql = "UPDATE " + table + " SET k = ?, v = ?, note = ? WHERE rowid = ?";
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
    auto blob = Blob(BlobSize());
    std::string note = Note();
    sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(rng_() % 1000));
    sqlite3_bind_blob(stmt, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 3, note.c_str(), static_cast<int>(note.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, rowid);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status::OK() : SqliteError(db_, rc, sql);
  }

  Status Delete(const std::string& table) {
    LS_ASSIGN_OR_RETURN(int64_t rowid, PickRowid(table));
    if (rowid == 0) return Status::OK();
    return ExecSql(db_, "DELETE FROM " + table + " WHERE rowid >= " + std::to_string(rowid) +
                            " AND rowid < " + std::to_string(rowid + Between(1, 6)) + ";");
  }

  Status CreateTable() {
    std::string name = "t" + std::to_string(next_table_++);
    LS_RETURN_IF_ERROR(
        ExecSql(db_, "CREATE TABLE " + name + " (id INTEGER PRIMARY KEY, k INTEGER, v BLOB, note TEXT);"));
    tables_.push_back(name);
    counters_.creates++;
    for (int64_t i = Between(0, 3); i > 0; i--) LS_RETURN_IF_ERROR(Insert(name, BlobSize()));
    return Status::OK();
  }

  Status DropTable() {
    if (tables_.size() < 3) return CreateTable();
    size_t i = 1 + Below(tables_.size() - 1);  // never t0
    LS_RETURN_IF_ERROR(ExecSql(db_, "DROP TABLE " + tables_[i] + ";"));
    tables_.erase(tables_.begin() + static_cast<std::ptrdiff_t>(i));
    counters_.drops++;
    return Status::OK();
  }

  Status IndexOp() {
    const std::string& table = RandomTable();
    const char* col = Uniform() < 0.5 ? "k" : "note";
    std::string name = "idx_" + table + "_" + col;
    counters_.indexes++;
    if (Uniform() < 0.3) return ExecSql(db_, "DROP INDEX IF EXISTS " + name + ";");
    return ExecSql(db_, "CREATE INDEX IF NOT EXISTS " + name + " ON " + table + " (" + col + ");");
  }

  Status Alter() {
    counters_.alters++;
    return ExecSql(db_, "ALTER TABLE " + RandomTable() + " ADD COLUMN extra" +
                            std::to_string(next_column_++) + " TEXT DEFAULT 'd" +
                            std::to_string(rng_() % 100) + "';");
  }

  Status RandomOps() {
    for (int64_t ops = Between(1, 4); ops > 0; ops--) {
      const double r = Uniform();
      const std::string table = RandomTable();
      Status s;
      if (r < 0.50) {
        for (int64_t i = Between(1, 4); i > 0 && s.ok(); i--) s = Insert(table, BlobSize());
      } else if (r < 0.71) {
        s = Update(table);
      } else if (r < 0.86) {
        s = Delete(table);
      } else if (r < 0.90) {
        s = CreateTable();
      } else if (r < 0.92) {
        s = DropTable();
      } else if (r < 0.985) {
        s = IndexOp();
      } else {
        s = Alter();
      }
      LS_RETURN_IF_ERROR(s);
    }
    return Status::OK();
  }

  // 8..16 rows of 16..64 KiB in one transaction: a WAL jump of up to 1 MiB.
  Status BulkInsert() {
    counters_.bulk++;
    const std::string table = RandomTable();
    for (int64_t i = Between(8, 16); i > 0; i--) {
      LS_RETURN_IF_ERROR(Insert(table, static_cast<size_t>(Between(16 << 10, 64 << 10))));
    }
    return Status::OK();
  }

  static constexpr int64_t kGrowthTargetBytes = 5 << 20;

  sqlite3* db_;
  const int page_size_;
  std::mt19937_64 rng_;
  StateLog* log_;
  std::vector<std::string> tables_;
  int next_table_ = 1;
  int next_column_ = 1;
  WorkloadCounters counters_;
};

}  // namespace litestream::engine_test
