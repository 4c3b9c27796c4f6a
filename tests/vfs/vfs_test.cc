// The read-replica VFS: queries through it equal the source at the replica's TXID, new files are picked
// up between transactions, the loadable extension works in our sqlite3 shell (without breaking ordinary
// databases there), and bad replicas are errors, not hangs or crashes.
#include "litestream/vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/file/file_storage.h"
#include "store/store.h"
#include "support/cli_runner.h"
#include "util/time_format.h"
#include "support/paths.h"
#include "support/sqlite_util.h"
#include "support/wait.h"

namespace litestream::testing {
namespace {

using namespace std::chrono_literals;

// A connection to a replica through the VFS; the query result as text, or the error.
class ReplicaConn {
 public:
  explicit ReplicaConn(const std::string& uri) {
    EXPECT_EQ(litestream_vfs_register(0), SQLITE_OK);
    rc_ = sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, "litestream");
    if (rc_ != SQLITE_OK) error_ = db_ != nullptr ? sqlite3_errmsg(db_) : "open failed";
  }
  ~ReplicaConn() { sqlite3_close(db_); }
  int rc() const { return rc_; }
  const std::string& error() const { return error_; }

  std::string Query(const std::string& sql) {
    std::string out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return "error: " + std::string(sqlite3_errmsg(db_));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!out.empty()) out += "\n";
      for (int i = 0; i < sqlite3_column_count(stmt); i++) {
        if (i > 0) out += "|";
        const unsigned char* t = sqlite3_column_text(stmt, i);
        out += t != nullptr ? reinterpret_cast<const char*>(t) : "";
      }
    }
    if (rc != SQLITE_DONE) out = "error: " + std::string(sqlite3_errmsg(db_));
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_OK;
  std::string error_;
};

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("vfs-test");
    db_ = dir_ + "/app.db";
    replica_ = dir_ + "/replica";
    config_ = dir_ + "/litestream.yml";
    std::ofstream(config_) << "dbs:\n  - path: " << db_ << "\n    replica:\n      url: file://" << replica_ << "\n";
  }

  void Replicate() {
    RunResult r = RunCli({"replicate", "-once", "-config", config_});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // A replicator in this process that syncs and compacts only when told to (tests control the replica's
  // files exactly).
  std::unique_ptr<Store> ManualStore(std::shared_ptr<StorageClient> client) {
    StoreOptions options;
    options.background_jobs = false;
    auto store = std::make_unique<Store>(options, Logger());
    DbEntry e;
    e.db.path = db_;
    e.client = std::move(client);
    e.monitor_interval = std::chrono::milliseconds(0);
    EXPECT_TRUE(store->Open({e}).ok());
    return store;
  }

  std::string Uri(const std::string& params = "") const {
    return "file:app.db?vfs=litestream&replica_url=file://" + replica_ + params;
  }

  std::string dir_, db_, replica_, config_;
};

TEST_F(VfsTest, ReadsTheReplicaAndFollowsNewFilesBetweenTransactions) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v);");
  app.Exec(InsertBlobs(300, 1500));
  Replicate();
  const std::string sql = "SELECT count(*), sum(length(v)), max(id) FROM t";
  const std::string at_first = app.Query(sql);

  ReplicaConn conn(Uri("&poll_interval=50ms"));
  ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
  EXPECT_EQ(conn.Query(sql), at_first);
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");
  const std::string txid1 = conn.Query("SELECT litestream_txid()");
  EXPECT_EQ(txid1.size(), 16u) << txid1;
  EXPECT_EQ(conn.Query("PRAGMA litestream_txid"), txid1);
  EXPECT_NE(conn.Query("INSERT INTO t (v) VALUES (1)").find("readonly"), std::string::npos);

  // New commits reach the replica; the next transaction sees them.
  app.Exec("DELETE FROM t WHERE id % 3 = 0;");
  app.Exec(InsertBlobs(50, 800));
  Replicate();
  const std::string at_second = app.Query(sql);
  ASSERT_NE(at_second, at_first);
  ASSERT_TRUE(WaitFor([&] { return conn.Query(sql) == at_second; }, 10s)) << conn.Query(sql);
  EXPECT_NE(conn.Query("SELECT litestream_txid()"), txid1);
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");

  // A database that shrank (VACUUM) is served at its new size.
  app.Exec("DELETE FROM t WHERE id > 20; VACUUM;");
  Replicate();
  const std::string pages = app.Query("PRAGMA page_count");
  ASSERT_TRUE(WaitFor([&] { return conn.Query("PRAGMA page_count") == pages; }, 10s))
      << conn.Query("PRAGMA page_count") << " != " << pages;
  EXPECT_EQ(conn.Query(sql), app.Query(sql));
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");
}

TEST_F(VfsTest, ReadsEveryLevelMixAfterCompactionAndSnapshot) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  for (int i = 0; i < 4; i++) {
    app.Exec(InsertBlobs(40, 2000));
    Replicate();
  }
  RunResult snap = RunCli({"replicate", "-once", "-force-snapshot", "-config", config_});
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  app.Exec("UPDATE t SET v = zeroblob(10) WHERE id % 2 = 0;");
  Replicate();
  ReplicaConn conn(Uri());
  ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
  EXPECT_EQ(conn.Query("SELECT count(*), sum(length(v)) FROM t"), app.Query("SELECT count(*), sum(length(v)) FROM t"));
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");
}

// A full scan reads runs of consecutive pages in one request (read-ahead): with any page cache size,
// including one smaller than a run, and across files (pages updated later live in a newer file).
TEST_F(VfsTest, ScansReadAheadCorrectlyWhateverTheCacheSize) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  for (int i = 0; i < 5; i++) app.Exec(InsertBlobs(200, 1500));
  Replicate();
  app.Exec("UPDATE t SET v = randomblob(700) WHERE id % 7 = 0;");
  Replicate();
  const std::string want = app.Query("SELECT count(*), sum(length(v)), hex(max(v)) FROM t");
  for (const std::string cache : {"", "&cache_size=8192", "&cache_size=0", "&cache_size=100000"}) {
    ReplicaConn conn(Uri(cache));
    ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
    EXPECT_EQ(conn.Query("SELECT count(*), sum(length(v)), hex(max(v)) FROM t"), want) << cache;
    EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok") << cache;
  }
}

TEST_F(VfsTest, MissingReplicaFailsPromptlyOrAfterTheConfiguredWait) {
  auto start = std::chrono::steady_clock::now();
  ReplicaConn none(Uri());
  EXPECT_EQ(none.rc(), SQLITE_CANTOPEN);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  start = std::chrono::steady_clock::now();
  ReplicaConn waited(Uri("&open_timeout=300ms"));
  EXPECT_EQ(waited.rc(), SQLITE_CANTOPEN);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);

  ReplicaConn no_url("file:x.db?vfs=litestream");
  EXPECT_NE(no_url.rc(), SQLITE_OK);
}

TEST_F(VfsTest, CorruptFileIsAnErrorNotACrash) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(100, 3000));
  Replicate();
  // Damage the page data of the only L0 file (its header and page index stay readable).
  std::string l0;
  for (const auto& e : std::filesystem::directory_iterator(replica_ + "/ltx/0")) l0 = e.path();
  ASSERT_FALSE(l0.empty());
  {
    std::fstream f(l0, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4000);
    std::string junk(2000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  ReplicaConn conn(Uri());
  if (conn.rc() == SQLITE_OK) {
    const std::string r = conn.Query("SELECT count(*), sum(length(v)) FROM t");
    EXPECT_EQ(r.rfind("error: ", 0), 0u) << r;
  }
}

// One flipped byte in a block-encoded page decodes to a page of the right size with the wrong bytes: only
// the file checksum catches it. Small files are verified whole when first used, so the open fails.
TEST_F(VfsTest, FlippedByteInASmallFileFailsItsChecksum) {
  std::ofstream(config_) << "dbs:\n  - path: " << db_ << "\n    replica:\n      url: file://" << replica_
                         << "\n      ltx-encoding: block\n";
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  app.Exec("INSERT INTO t (v) SELECT printf('%0500d', 7) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3);");
  Replicate();
  std::string l0;
  for (const auto& e : std::filesystem::directory_iterator(replica_ + "/ltx/0")) l0 = e.path();
  ASSERT_FALSE(l0.empty());
  {
    ReplicaConn before(Uri());
    ASSERT_EQ(before.rc(), SQLITE_OK) << before.error();
  }
  {
    std::fstream f(l0, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(300);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(300);
    f.write(&c, 1);
  }
  ReplicaConn conn(Uri());
  if (conn.rc() == SQLITE_OK) {
    const std::string r = conn.Query("SELECT count(*), max(v) FROM t");
    EXPECT_EQ(r.rfind("error: ", 0), 0u) << "a corrupt file was served: " << r;
  } else {
    // SQLite reports a failed xOpen as "unable to open database file"; the reason is the VFS's last error
    // (xGetLastError, and sqlite3_log for a host that installed a log callback).
    sqlite3_vfs* vfs = sqlite3_vfs_find("litestream");
    ASSERT_NE(vfs, nullptr);
    char why[512] = {};
    vfs->xGetLastError(vfs, sizeof(why), why);
    EXPECT_NE(std::string(why).find("checksum"), std::string::npos) << why;
  }
}

TEST_F(VfsTest, TimeTravelPerConnectionAndBack) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  FileStorageClient replica(replica_);
  std::vector<std::string> states;
  std::vector<SystemTime> times;  // newest L0 time after each round
  for (int round = 0; round < 3; round++) {
    app.Exec("INSERT INTO t (v) VALUES ('round " + std::to_string(round) + "');");
    Replicate();
    states.push_back(app.Query("SELECT group_concat(v) FROM t"));
    auto l0 = replica.List(0, 0);
    ASSERT_TRUE(l0.ok() && !l0->empty());
    times.push_back(l0->back().created_at);
    std::this_thread::sleep_for(1100ms);
  }
  ReplicaConn conn(Uri("&poll_interval=10s"));
  ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
  ReplicaConn other(Uri("&poll_interval=10s"));
  ASSERT_EQ(other.rc(), SQLITE_OK) << other.error();
  EXPECT_EQ(conn.Query("SELECT litestream_lag()"), "-1");  // no poll yet
  EXPECT_EQ(conn.Query("SELECT litestream_time()"), FormatRFC3339Nano(times[2]));

  const std::string after_first = FormatRFC3339Nano(times[0] + 500ms);
  EXPECT_EQ(conn.Query("SELECT litestream_set_time('" + after_first + "')"), "");
  EXPECT_EQ(conn.Query("SELECT group_concat(v) FROM t"), states[0]);
  EXPECT_EQ(conn.Query("SELECT litestream_time()"), after_first);
  EXPECT_EQ(other.Query("SELECT group_concat(v) FROM t"), states[2]);  // other connections unaffected

  EXPECT_EQ(conn.Query("PRAGMA litestream_time = '" + FormatRFC3339Nano(times[1] + 500ms) + "'"), "");
  EXPECT_EQ(conn.Query("SELECT group_concat(v) FROM t"), states[1]);

  // Errors keep the current view and say why.
  EXPECT_NE(conn.Query("SELECT litestream_set_time('not a time')").find("invalid timestamp"), std::string::npos);
  EXPECT_NE(conn.Query("SELECT litestream_set_time('2001-01-01T00:00:00Z')").find("not available"), std::string::npos);
  EXPECT_EQ(conn.Query("SELECT group_concat(v) FROM t"), states[1]);

  EXPECT_EQ(conn.Query("SELECT litestream_set_time('latest')"), "");
  EXPECT_EQ(conn.Query("SELECT group_concat(v) FROM t"), states[2]);
  EXPECT_EQ(conn.Query("SELECT litestream_set_time('10 minutes ago')").find("error"), 0u);  // before any file
  EXPECT_EQ(conn.Query("PRAGMA litestream_lag = 1").rfind("error: ", 0), 0u);
}

// L0 retention can remove level-0 files a reader has not seen yet (they were compacted into L1): the poll
// bridges the gap with the level-1 file.
TEST_F(VfsTest, PollBridgesAnL0GapThroughLevel1) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(30, 1000));
  auto client = std::make_shared<FileStorageClient>(replica_);
  auto store = ManualStore(client);
  ASSERT_TRUE(store->SyncAll().ok());
  ASSERT_TRUE(store->CompactAll(1).ok());

  ReplicaConn conn(Uri("&poll_interval=50ms"));
  ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
  const std::string sql = "SELECT count(*), sum(length(v)) FROM t";
  EXPECT_EQ(conn.Query(sql), app.Query(sql));
  const TXID seen = std::strtoull(conn.Query("SELECT litestream_txid()").c_str(), nullptr, 16);

  for (int i = 0; i < 3; i++) {
    app.Exec(InsertBlobs(10, 1000));
    ASSERT_TRUE(store->SyncAll().ok());
  }
  ASSERT_TRUE(store->CompactAll(1).ok());
  auto l0 = client->List(0, seen + 1);
  ASSERT_TRUE(l0.ok());
  ASSERT_GE(l0->size(), 3u);
  l0->pop_back();  // keep the newest L0 file; the ones before it are "removed by retention"
  ASSERT_TRUE(client->Remove(*l0).ok());
  ASSERT_TRUE(WaitFor([&] { return conn.Query(sql) == app.Query(sql); }, 10s)) << conn.Query(sql);
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");
  EXPECT_TRUE(store->Close().ok());
}

// L0 retention deletes level-0 files an open reader's index points to (after they were compacted): reads
// re-plan the same TXID from the level-1 files and go on, with the same content.
TEST_F(VfsTest, ReadsSurviveRetentionOfIndexedFiles) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  auto client = std::make_shared<FileStorageClient>(replica_);
  auto store = ManualStore(client);
  for (int i = 0; i < 4; i++) {
    app.Exec(InsertBlobs(20, 1500));
    ASSERT_TRUE(store->SyncAll().ok());
  }
  ReplicaConn conn(Uri("&cache_size=0&poll_interval=10s"));  // no page cache: every read fetches
  ASSERT_EQ(conn.rc(), SQLITE_OK) << conn.error();
  const std::string sql = "SELECT count(*), sum(length(v)) FROM t";
  const std::string want = app.Query(sql);
  const std::string txid = conn.Query("SELECT litestream_txid()");
  EXPECT_EQ(conn.Query(sql), want);

  ASSERT_TRUE(store->CompactAll(1).ok());
  auto l0 = client->List(0, 0);
  ASSERT_TRUE(l0.ok());
  ASSERT_TRUE(client->Remove(*l0).ok());  // every L0 file the index points to is gone
  EXPECT_EQ(conn.Query(sql), want);
  EXPECT_EQ(conn.Query("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(conn.Query("SELECT litestream_txid()"), txid);
  EXPECT_TRUE(store->Close().ok());
}

// VFS.md §16 lists bugs of the upstream extension (v0.5.17); each check below shows we do not have it.
TEST_F(VfsTest, UpstreamBugsAbsent) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
  app.Exec(InsertBlobs(200, 2000));
  Replicate();
  app.Exec("DELETE FROM t WHERE id > 10; VACUUM;");
  Replicate();

  // Stale pages beyond commit at open: a fresh open after a shrink reports the new size.
  ReplicaConn live(Uri("&poll_interval=50ms"));
  ASSERT_EQ(live.rc(), SQLITE_OK) << live.error();
  EXPECT_EQ(live.Query("PRAGMA page_count"), app.Query("PRAGMA page_count"));
  EXPECT_EQ(live.Query("PRAGMA integrity_check"), "ok");

  // A failed open (bad parameter, missing replica, zero poll interval: upstream panicked) affects no other
  // connection.
  for (const std::string& bad : {Uri("&poll_interval=0s"), Uri("&cache_size=-1"),
                                 std::string("file:x.db?vfs=litestream&replica_url=bogus://nowhere"),
                                 std::string("file:x.db?vfs=litestream&replica_url=file://" + dir_ + "/none")}) {
    ReplicaConn failed(bad);
    EXPECT_NE(failed.rc(), SQLITE_OK) << bad;
  }
  EXPECT_EQ(live.Query("SELECT count(*) FROM t"), "10");

  // Pragma errors keep their message.
  EXPECT_NE(live.Query("PRAGMA litestream_txid = 5").find("read-only"), std::string::npos);

  // litestream_time() follows polls.
  const std::string before = live.Query("SELECT litestream_time()");
  std::this_thread::sleep_for(1100ms);
  app.Exec("INSERT INTO t (v) VALUES (x'00');");
  Replicate();
  ASSERT_TRUE(WaitFor([&] { return live.Query("SELECT count(*) FROM t") == "11"; }, 10s));
  EXPECT_NE(live.Query("SELECT litestream_time()"), before);
  EXPECT_EQ(live.Query("SELECT litestream_lag()"), "0");

  // No write while time-travelling (or ever): read-only.
  const SystemTime now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  EXPECT_EQ(live.Query("SELECT litestream_set_time('" + FormatRFC3339Nano(now) + "')"), "");
  EXPECT_NE(live.Query("DELETE FROM t").find("readonly"), std::string::npos);

  // A truncated file is an error, never a crash.
  std::string l0;
  for (const auto& e : std::filesystem::directory_iterator(replica_ + "/ltx/0")) l0 = e.path();
  std::filesystem::resize_file(l0, 50);
  ReplicaConn truncated(Uri());
  EXPECT_NE(truncated.rc(), SQLITE_OK);
}

// The extension exports only its entry point and carries no SQLite of its own: it must use the host's.
TEST(VfsExtension, ExportsOnlyTheEntryPointAndHasNoSqliteInside) {
  const std::string so = std::string(LITESTREAM_BIN_DIR) + "/../lib/litestream-vfs.so";
  ASSERT_TRUE(std::filesystem::exists(so)) << so;
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p != nullptr && (n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    if (p != nullptr) pclose(p);
    return out;
  };
  const std::string exported = run("nm -D --defined-only " + so + " | awk '{print $3}' | grep -v '^_' ");
  EXPECT_EQ(exported, "sqlite3_litestreamvfs_init\n");
  EXPECT_EQ(run("nm " + so + " | grep -c -E ' (sqlite3VdbeExec|sqlite3_open_v2|sqlite3BtreeOpen)$'"), "0\n");
}

// The loadable extension in our sqlite3 shell: queries a replica, and ordinary databases opened after the
// load keep working (upstream's auto-extension broke every later open in the process).
TEST_F(VfsTest, LoadableExtensionInTheShell) {
  AppDb app(db_);
  app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('c');");
  Replicate();
  const std::string ext = std::string(LITESTREAM_BIN_DIR) + "/../lib/litestream-vfs";
  ASSERT_TRUE(std::filesystem::exists(ext + ".so")) << ext;
  const std::string plain = dir_ + "/plain.db";
  const std::string script = dir_ + "/script.sql";
  // A bad LITESTREAM_REPLICA_URL does not fail the load (upstream: failed load, then a segfault); the
  // URI's replica_url wins over it.
  setenv("LITESTREAM_REPLICA_URL", "bogus://nowhere", 1);
  std::ofstream(script) << ".load " << ext << "\n"
                        << ".open " << Uri() << "\n"
                        << "SELECT group_concat(v) FROM t;\n"
                        << "SELECT length(litestream_txid());\n"
                        << ".open " << plain << "\n"
                        << "CREATE TABLE p (x); INSERT INTO p VALUES (42); SELECT x FROM p;\n";
  const std::string cmd = std::string(LITESTREAM_BIN_DIR) + "/sqlite3 -batch :memory: < " + script + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  unsetenv("LITESTREAM_REPLICA_URL");
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "a,b,c\n16\n42\n");
}

}  // namespace
}  // namespace litestream::testing
