// Applying an LTX restore plan (ENGINE.md §5.4): every plan file is streamed through a ResumableReader
// into the LTX merge (which verifies each input's file checksum and the TXID chain), and the merged pages
// are written as a flat database image to the tmp path: pages 1..Commit, zeros for the lock page,
// exactly Commit * PageSize bytes, then fsync. Memory is bounded by the number of plan files.
#pragma once

#include <stop_token>
#include <string>

#include "litestream/restore.h"
#include "restore/resumable_reader.h"
#include "util/file_system.h"

namespace litestream {

struct LtxApplyOptions {
  ReadRetryPolicy retry;
  ResumableReader::SleepFn sleep;
  std::stop_token stop;
  Logger logger;
};

// Checks that every plan file is at least an LTX header long ("invalid ltx file: ... has size N bytes").
Status ValidatePlanFileSizes(const RestorePlan& plan);

// Writes the database of `plan` to `tmp_path` and fsyncs it. On failure `tmp_path` is removed and the
// error names the file (level, TXID range) that caused it.
Status ApplyLtxPlan(StorageClient& client, FileSystem& fs, const RestorePlan& plan,
                    const std::string& tmp_path, const LtxApplyOptions& options);

}  // namespace litestream
