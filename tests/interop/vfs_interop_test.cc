// The published Litestream VFS extension (npm litestream-vfs-linux-amd64@0.5.17, installed by
// scripts/install-reference-tools.sh) must read what we replicate: loaded into our sqlite3 shell over our
// file replica, at several points of a workload, it must answer exactly as the source database does.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream {
namespace {

using testing::AppDb;
using testing::BinPath;
using testing::MakeTempDir;
using testing::SourcePath;

const std::string kVfsLibrary = ".test-tools/node_modules/litestream-vfs-linux-amd64/litestream-vfs";

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `sql` through the upstream VFS in a fresh sqlite3 process; returns its stdout (trailing newline cut).
std::string QueryThroughUpstreamVfs(const std::string& replica_dir, const std::string& sql) {
  std::string cmd = "LITESTREAM_LOG_FILE=/dev/null LITESTREAM_REPLICA_URL=" + ShellQuote("file://" + replica_dir) +
                    " timeout 60 " + ShellQuote(BinPath("sqlite3")) + " :memory: " +
                    ShellQuote(".load " + SourcePath(kVfsLibrary)) + " " +
                    ShellQuote(".open file:replica.db?vfs=litestream") + " " + ShellQuote(sql) + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string InsertRows(int n, int size) {
  return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " + std::to_string(n) +
         ") INSERT INTO t (v, b) SELECT 'row ' || i, randomblob(" + std::to_string(size) + ") FROM s;";
}

class UpstreamVfsTest : public ::testing::TestWithParam<ltx::PageEncoding> {};

TEST_P(UpstreamVfsTest, ReadsOurReplicaAtEveryStage) {
  ASSERT_TRUE(std::filesystem::exists(SourcePath(kVfsLibrary + ".so")))
      << "run scripts/install-reference-tools.sh (scripts/setup.sh does) to install the upstream VFS";
  std::string dir = MakeTempDir("vfs-interop");
  AppDb app(dir + "/app.db");
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX t_v ON t (v);");
  auto client = std::make_shared<FileStorageClient>(dir + "/replica");
  StoreOptions options;
  options.background_jobs = false;
  Store store(options, Logger());
  DbEntry entry;
  entry.db.path = app.path();
  entry.db.page_encoding = GetParam();
  entry.db.min_checkpoint_page_count = 64;  // our checkpoints run during the workload
  entry.client = client;
  entry.monitor_interval = std::chrono::milliseconds(0);
  ASSERT_TRUE(store.Open({entry}).ok());

  const std::string digest = "SELECT count(*), sum(length(b)), group_concat(v) FROM (SELECT * FROM t ORDER BY id);";
  auto check = [&](const std::string& stage) {
    ASSERT_TRUE(store.SyncAll().ok());
    EXPECT_EQ(QueryThroughUpstreamVfs(dir + "/replica", digest), app.Query(digest)) << stage;
  };
  app.Exec(InsertRows(50, 300));
  check("first snapshot");
  app.Exec(InsertRows(200, 5000));  // growth with overflow pages
  check("incremental L0 files");
  ASSERT_TRUE(store.CompactAll(1).ok());
  app.Exec("UPDATE t SET v = v || ' updated' WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0;");
  check("after L1 compaction");
  ASSERT_TRUE(store.SnapshotAll().ok());
  ASSERT_TRUE(store.CompactAll(2).ok());
  app.Exec("DELETE FROM t WHERE id > 100; VACUUM;");
  check("after snapshot and shrink");
  ASSERT_TRUE(store.Close().ok());
}

INSTANTIATE_TEST_SUITE_P(Encodings, UpstreamVfsTest,
                         ::testing::Values(ltx::PageEncoding::kFrame, ltx::PageEncoding::kBlock),
                         [](const auto& p) { return p.param == ltx::PageEncoding::kFrame ? "Frame" : "Block"; });

}  // namespace
}  // namespace litestream
