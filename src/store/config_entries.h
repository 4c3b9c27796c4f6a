// Turns a parsed litestream.yml into what the Store runs: store-wide options and one DbEntry (database
// options, replica options, storage client) per database, expanding `dir:` entries by scanning for SQLite
// files.
#pragma once

#include <vector>

#include "litestream/config.h"
#include "store/store.h"

namespace litestream {

StoreOptions StoreOptionsFromConfig(const Config& config);

// One entry per database. Directory entries are scanned now (files whose first 16 bytes are
// "SQLite format 3\0" and whose name matches the pattern). Fails on a replica that cannot be built, on
// two databases sharing a meta directory, or on a `dir:` entry with no database and no `watch`.
Result<std::vector<DbEntry>> DbEntriesFromConfig(const Config& config);

// The entry for one database with one replica (the CLI's `replicate DB_PATH REPLICA_URL` form, and the
// building block of DbEntriesFromConfig).
Result<DbEntry> MakeDbEntry(const DbConfig& db, const std::string& meta_path);

// Restores entry.db.path from its replica if the file does not exist (quick_check after). A replica with
// no backup is fine: the application creates the database (`restore-if-db-not-exists`).
Status RestoreIfMissing(const DbEntry& entry, const Logger& logger);

}  // namespace litestream
