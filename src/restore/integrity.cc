// Post-restore integrity checks through SQLite (ENGINE.md §5.1).
#include <chrono>

#include "db/sqlite_conn.h"
#include "litestream/restore.h"

namespace litestream {

std::string_view IntegrityCheckName(IntegrityCheck mode) {
  switch (mode) {
    case IntegrityCheck::kNone: return "none";
    case IntegrityCheck::kQuick: return "quick";
    case IntegrityCheck::kFull: return "full";
  }
  return "none";
}

bool ParseIntegrityCheck(std::string_view text, IntegrityCheck* out) {
  for (IntegrityCheck mode : {IntegrityCheck::kNone, IntegrityCheck::kQuick, IntegrityCheck::kFull}) {
    if (text == IntegrityCheckName(mode)) {
      *out = mode;
      return true;
    }
  }
  return false;
}

Status CheckIntegrity(const std::string& path, IntegrityCheck mode) {
  if (mode == IntegrityCheck::kNone) return Status::OK();
  const char* pragma = mode == IntegrityCheck::kQuick ? "PRAGMA quick_check" : "PRAGMA integrity_check";
  LS_ASSIGN_OR_RETURN(SqliteConn conn, SqliteConn::Open(path, std::chrono::seconds(5)));
  auto answer = conn.QueryText(pragma);
  conn.Close();
  if (!answer.ok())
    return answer.status().WithContext(std::string(IntegrityCheckName(mode)) + " integrity check of " + path);
  if (*answer != "ok") {
    return Status::Corruption(std::string(IntegrityCheckName(mode)) + " integrity check of " + path +
                              " failed: " + *answer);
  }
  return Status::OK();
}

}  // namespace litestream
