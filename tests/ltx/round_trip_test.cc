// Database -> snapshot LTX -> database is the identity: real SQLite databases of every page size, and
// synthetic images over 1 GiB that span the lock page (never stored, restored as zeros). The large images
// are streamed: a generator feeds the encoder, the LTX bytes are produced on demand, and the restored
// image is compared page by page as it is written, so nothing of that size touches memory or disk.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <string>

#include "ltx/ltx.h"
#include "ltx_test_util.h"
#include "support/paths.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define LTX_TEST_SANITIZERS 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LTX_TEST_SANITIZERS 1
#endif

namespace litestream::ltx {
namespace {

using testing::Bytes;

// Runs SQL, failing the test on error; returns the first column of the last row, if any.
std::string Exec(sqlite3* db, const std::string& sql) {
  std::string result;
  char* err = nullptr;
  int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int n, char** values, char**) {
        if (n > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
        return 0;
      },
      &result, &err);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
  return result;
}

// A database with a table, an index and `rows` rows, in rollback-journal mode (the file is complete
// after close).
Bytes MakeDatabase(const std::string& path, uint32_t page_size, int rows) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Exec(db, "PRAGMA page_size=" + std::to_string(page_size));
  Exec(db, "PRAGMA journal_mode=DELETE");
  Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v BLOB)");
  Exec(db, "CREATE INDEX t_name ON t(name)");
  Exec(db, "BEGIN");
  for (int i = 0; i < rows; i++) {
    Exec(db, "INSERT INTO t(name, v) VALUES ('row " + std::to_string(i) + "', randomblob(" +
                 std::to_string(50 + (i * 37) % 400) + "))");
  }
  Exec(db, "COMMIT");
  EXPECT_EQ(Exec(db, "PRAGMA page_size"), std::to_string(page_size));
  sqlite3_close(db);
  return testing::ReadFileBytes(path);
}

Result<Bytes> SnapshotOf(const Bytes& db, uint32_t page_size, PageEncoding encoding) {
  const uint32_t commit = static_cast<uint32_t>(db.size() / page_size);
  testing::PageMap pages;
  for (uint32_t pgno = 1; pgno <= commit; pgno++) {
    const auto start = db.begin() + static_cast<std::ptrdiff_t>(size_t{pgno - 1} * page_size);
    pages[pgno] = Bytes(start, start + page_size);
  }
  return testing::EncodeFile(testing::MakeHeader(page_size, commit, 1, 1), pages, encoding);
}

class SqliteRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SqliteRoundTrip, EveryEncodingRestoresTheSameBytes) {
  const uint32_t ps = GetParam();
  const std::string dir = litestream::testing::MakeTempDir("ltx-round-trip");
  const int rows = 300;
  const Bytes db = MakeDatabase(dir + "/src.db", ps, rows);
  ASSERT_EQ(db.size() % ps, 0u);
  ASSERT_GE(db.size() / ps, 2u);
  for (PageEncoding encoding : {PageEncoding::kFrame, PageEncoding::kBlock}) {
    Result<Bytes> ltx = SnapshotOf(db, ps, encoding);
    ASSERT_TRUE(ltx.ok()) << ltx.status().ToString();
    Result<Bytes> restored = testing::DecodeDatabase(*ltx);
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    ASSERT_EQ(*restored, db) << "page size " << ps;

    const std::string out = dir + "/restored-" + std::to_string(static_cast<int>(encoding)) + ".db";
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(restored->data()),
               static_cast<std::streamsize>(restored->size()));
    sqlite3* rdb = nullptr;
    ASSERT_EQ(sqlite3_open(out.c_str(), &rdb), SQLITE_OK);
    EXPECT_EQ(Exec(rdb, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(Exec(rdb, "SELECT count(*) FROM t"), std::to_string(rows));
    sqlite3_close(rdb);
  }
}

INSTANTIATE_TEST_SUITE_P(PageSizes, SqliteRoundTrip,
                         ::testing::Values(512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u, 65536u));

// A database of `commit` pages that crosses 1 GiB, generated on the fly.
struct LargeCase {
  uint32_t page_size;
  uint32_t commit;
  PageEncoding encoding;
};

class LockPageRoundTrip : public ::testing::TestWithParam<LargeCase> {};

TEST_P(LockPageRoundTrip, SnapshotSkipsItAndRestoreWritesZeros) {
  const LargeCase c = GetParam();
  const uint32_t lock = LockPgno(c.page_size);
  ASSERT_GT(c.commit, lock);
  const auto started = std::chrono::steady_clock::now();
  auto pages = [](uint32_t pgno, uint8_t* page, uint32_t ps) { testing::SparsePage(pgno, page, ps); };
  testing::SyntheticSource source(testing::MakeHeader(c.page_size, c.commit, 1, 1), pages);
  EncodingReader ltx(source, c.encoding);
  testing::ImageChecker image(c.page_size, pages);
  Status s = DecodeDatabaseTo(ltx, image, "large.ltx");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(image.bytes(), uint64_t{c.commit} * c.page_size);
  EXPECT_GT(image.bytes(), uint64_t{1} << 30);
  EXPECT_EQ(image.mismatches(), 0u);
  EXPECT_EQ(ltx.encoder().page_count(), c.commit - 1) << "the lock page was stored";
  std::printf("page size %u, %u pages: %.1f s\n", c.page_size, c.commit,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

// Two million 512-byte pages through an unoptimized, instrumented build take over a minute, and the code
// paths are those of the 64 KiB case, so sanitizer builds run only that one; the release build runs both.
std::vector<LargeCase> OneGiBCases() {
  std::vector<LargeCase> cases = {LargeCase{65536, LockPgno(65536) + 2, PageEncoding::kFrame}};
#ifndef LTX_TEST_SANITIZERS
  cases.push_back(LargeCase{512, LockPgno(512) + 1, PageEncoding::kBlock});
#endif
  return cases;
}

INSTANTIATE_TEST_SUITE_P(OneGiB, LockPageRoundTrip, ::testing::ValuesIn(OneGiBCases()),
                         [](const ::testing::TestParamInfo<LargeCase>& pi) {
                           return std::to_string(pi.param.page_size) +
                                  (pi.param.encoding == PageEncoding::kFrame ? "Frame" : "Block");
                         });

// A database whose last page is the lock page: the image still ends with it, as zeros. (Encoding such a
// snapshot is covered by MergeIterator.RestoreAcrossTheLockPage.)
TEST(LockPage, DatabaseImageEndingOnTheLockPage) {
  const uint32_t ps = 65536;
  const uint32_t commit = LockPgno(ps);
  auto pages = [](uint32_t pgno, uint8_t* page, uint32_t n) { testing::SparsePage(pgno, page, n, 7); };
  testing::SyntheticSource source(testing::MakeHeader(ps, commit, 1, 1), pages);
  testing::ImageChecker image(ps, pages);
  Status s = WriteDatabaseImage(source, image, "edge");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(image.bytes(), uint64_t{commit} * ps);
  EXPECT_EQ(image.mismatches(), 0u);
}

}  // namespace
}  // namespace litestream::ltx
