// The age-encrypted config store in the application's database: the library, `litestream config
// save|get|list`, `litestream replicate -config-db`, and interop with the real `age` both ways.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "crypto/age.h"
#include "litestream/secure_config.h"
#include "litestream/service.h"
#include "support/cli_runner.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using testing::AppDb;
using testing::MakeTempDir;
using testing::QueryFile;
using testing::RunCli;
using testing::RunProgram;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SecureStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("secure-store");
    db_ = dir_ + "/app.db";
    key_ = dir_ + "/key.txt";
    auto id = age::GenerateIdentity();
    ASSERT_TRUE(id.ok());
    recipient_ = *id->Recipient();
    WriteText(key_, "# created: test\n# public key: " + recipient_ + "\n" + id->Encode() + "\n");
    AppDb app(db_);
    app.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT);");
  }

  std::string LitestreamYaml(const std::string& extra = "") const {
    return "dbs:\n  - path: " + db_ + "\n    replica:\n      type: file\n      path: " + dir_ + "/replica\n" +
           extra;
  }

  // The ciphertext of the newest version of `scope`, read with plain SQL.
  std::vector<uint8_t> LatestBlob(const std::string& scope) {
    AppDb app(db_);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(
            app.raw(), "SELECT content FROM app_config WHERE scope = ?1 ORDER BY created_at DESC, id DESC",
            -1, &st, nullptr),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, scope.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<uint8_t> out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, 0));
      out.assign(p, p + sqlite3_column_bytes(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

  void InsertRaw(const std::string& scope, const std::vector<uint8_t>& blob, const std::string& format) {
    AppDb app(db_);
    app.Exec(
        "CREATE TABLE IF NOT EXISTS app_config (id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, "
        "content "
        "BLOB NOT NULL, format TEXT NOT NULL DEFAULT 'toml', description TEXT, created_at TEXT NOT NULL "
        "DEFAULT "
        "(strftime('%Y-%m-%dT%H:%M:%SZ','now')));");
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(app.raw(), "INSERT INTO app_config (scope, content, format) VALUES (?1, ?2, ?3)",
                           -1, &st, nullptr),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, scope.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, format.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }

  std::string dir_, db_, key_, recipient_;
};

TEST_F(SecureStoreTest, VersionsAreAppendOnlyAndGenerationZeroIsTheLatest) {
  SecureConfigStore store(db_, key_);
  ASSERT_TRUE(store.Save("litestream", "first: 1\n", "yaml", "v1").ok());
  ASSERT_TRUE(store.Save("litestream", "second: 2\n", "yaml", "v2").ok());
  ASSERT_TRUE(store.Save("", "app = 1\n", "toml", "app").ok());  // empty scope: "application"

  auto latest = store.Get("litestream");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->content, "second: 2\n");
  EXPECT_EQ(latest->format, "yaml");
  EXPECT_EQ(store.Get("litestream", 1)->content, "first: 1\n");
  EXPECT_EQ(store.Get("application")->content, "app = 1\n");
  EXPECT_TRUE(store.Get("litestream", 2).status().IsNotFound());
  EXPECT_EQ(store.Get("litestream", -1).status().code(), StatusCode::kInvalidArgument);

  auto all = SecureConfigStore(db_, "").List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].scope, "application");
  EXPECT_EQ((*all)[1].description, "v2");
  EXPECT_EQ(SecureConfigStore(db_, "").List("litestream")->size(), 2u);
  // The table holds ciphertext only.
  EXPECT_EQ(QueryFile(db_, "SELECT count(*) FROM app_config WHERE instr(content, 'second') > 0"), "0");
}

TEST_F(SecureStoreTest, WrongKeyAndMissingKeyAreClearErrors) {
  ASSERT_TRUE(SecureConfigStore(db_, key_).Save("litestream", "a: 1\n", "yaml", "").ok());
  auto other = age::GenerateIdentity();
  WriteText(dir_ + "/other.txt", other->Encode() + "\n");
  auto wrong = SecureConfigStore(db_, dir_ + "/other.txt").Get("litestream");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("no identity matched"), std::string::npos)
      << wrong.status().ToString();
  auto missing = SecureConfigStore(db_, dir_ + "/nope.txt").Get("litestream");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.txt"), std::string::npos);
}

TEST_F(SecureStoreTest, WhatConfigSaveStoresDecryptsWithTheRealAge) {
  ASSERT_EQ(RunProgram("age", {"--version"}).exit_code, 0)
      << "the real `age` is not installed (scripts/setup.sh)";
  // A key from age-keygen this time, and the BLOB taken out with our sqlite3 shell.
  const std::string key = dir_ + "/keygen.txt";
  auto gen = RunProgram("age-keygen", {"-o", key});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string yaml = LitestreamYaml();
  WriteText(dir_ + "/litestream.yaml", yaml);
  auto save = RunCli({"config", "save", "-age-key", key, "-db", db_, "-file", dir_ + "/litestream.yaml"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  auto extract =
      RunProgram(testing::BinPath("sqlite3"),
                 {db_, "SELECT writefile('" + dir_ +
                           "/blob.age', content) FROM app_config "
                           "WHERE scope = 'litestream' ORDER BY created_at DESC, id DESC LIMIT 1"});
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  EXPECT_EQ(ReadText(dir_ + "/blob.age").rfind("age-encryption.org/v1\n", 0), 0u)
      << "binary age, not armored";
  auto r = RunProgram("age", {"-d", "-i", key, dir_ + "/blob.age"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, yaml);
}

TEST_F(SecureStoreTest, TheIdentityFileIsReadOnEveryCall) {
  SecureConfigStore store(db_, key_);
  ASSERT_TRUE(store.Save("litestream", "a: 1\n", "yaml", "").ok());
  const std::string original = ReadText(key_);
  auto other = age::GenerateIdentity();
  ASSERT_TRUE(other.ok());

  WriteText(key_, other->Encode() + "\n");  // the same store object now holds another key
  auto wrong = store.Get("litestream");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("no identity matched"), std::string::npos)
      << wrong.status().ToString();

  // Every identity in the file is tried; the first one is the one Save encrypts to.
  WriteText(key_, other->Encode() + "\n\n# the old key\n" + original);
  auto both = store.Get("litestream");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->content, "a: 1\n");
  ASSERT_TRUE(store.Save("litestream", "b: 2\n", "yaml", "").ok());
  WriteText(key_, other->Encode() + "\n");
  EXPECT_EQ(store.Get("litestream")->content, "b: 2\n");

  WriteText(key_, "# only comments\n\n");
  EXPECT_FALSE(store.Get("litestream").ok());
  WriteText(key_, "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n" + other->Encode() + "\n");
  auto plugin = store.Get("litestream");
  ASSERT_FALSE(plugin.ok()) << "the first identity must be X25519";
  EXPECT_EQ(plugin.status().message().find("QQQQ"), std::string::npos) << "errors must not quote the key";
}

TEST_F(SecureStoreTest, ADatabaseWithoutTheTable) {
  EXPECT_TRUE(SecureConfigStore(db_, key_).Get("litestream").status().IsNotFound());
  auto list = SecureConfigStore(db_, "").List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->empty());
  EXPECT_FALSE(SecureConfigStore(dir_ + "/missing.db", key_).Get("litestream").ok());
  auto load = LoadLitestreamConfig(db_, key_);
  EXPECT_TRUE(load.status().IsNotFound()) << load.status().ToString();
}

TEST_F(SecureStoreTest, AFileEncryptedByTheRealAgeLoadsThroughGetCliAndReplicate) {
  ASSERT_EQ(RunProgram("age", {"--version"}).exit_code, 0)
      << "the real `age` is not installed (scripts/setup.sh)";
  const std::string yaml = LitestreamYaml();
  WriteText(dir_ + "/litestream.yml", yaml);
  auto enc = RunProgram("age", {"-r", recipient_, "-o", dir_ + "/cfg.age", dir_ + "/litestream.yml"});
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  const std::string ct = ReadText(dir_ + "/cfg.age");
  InsertRaw("litestream", std::vector<uint8_t>(ct.begin(), ct.end()), "yaml");

  auto got = SecureConfigStore(db_, key_).Get("litestream");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->content, yaml);

  auto cli = RunCli({"config", "get", "-age-key", key_, "-db", db_});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, yaml);

  {
    AppDb app(db_);
    app.Exec("INSERT INTO items (v) VALUES ('from the encrypted config');");
  }
  auto rep = RunCli({"replicate", "-once", "-config-db", db_, "-age-key", key_});
  ASSERT_EQ(rep.exit_code, 0) << rep.out << rep.err;
  auto restore = RunCli({"restore", "-o", dir_ + "/restored.db", "file://" + dir_ + "/replica"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(QueryFile(dir_ + "/restored.db", "SELECT v FROM items"), "from the encrypted config");
}

TEST_F(SecureStoreTest, CliSaveGetListAndTheirDefaults) {
  const std::string yaml = LitestreamYaml();
  WriteText(dir_ + "/litestream.yml", yaml);
  auto save = RunCli({"config", "save", "-age-key", key_, "-db", db_, "-file", dir_ + "/litestream.yml"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  auto list = RunCli({"config", "list", "-db", db_});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("litestream"), std::string::npos) << list.out;  // default scope
  EXPECT_NE(list.out.find("yml"), std::string::npos) << list.out;         // format from the extension
  EXPECT_NE(list.out.find("Inserted from file: litestream.yml"), std::string::npos) << list.out;

  WriteText(dir_ + "/app.toml", "port = 8080\n");
  ASSERT_EQ(RunCli({"config", "save", "-age-key", key_, "-db", db_, "-file", dir_ + "/app.toml", "-scope",
                    "application", "-desc", "the app"})
                .exit_code,
            0);
  auto get = RunCli({"config", "get", "-age-key", key_, "-db", db_, "-scope", "application"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "port = 8080\n");
  EXPECT_NE(RunCli({"config", "get", "-age-key", key_, "-db", db_, "-generation", "1"}).exit_code, 0);
  EXPECT_NE(RunCli({"config", "save", "-db", db_, "-file", dir_ + "/app.toml"}).exit_code, 0);  // no key
}

TEST_F(SecureStoreTest, ReplicateFlagsForTheConfigDb) {
  ASSERT_TRUE(SecureConfigStore(db_, key_).Save("litestream", LitestreamYaml(), "yaml", "").ok());
  WriteText(dir_ + "/litestream.yml", LitestreamYaml());
  struct Case {
    std::vector<std::string> args;
    const char* error;
  } cases[] = {
      {{"replicate", "-once", "-age-key", key_}, "-age-key requires -config-db"},
      {{"replicate", "-once", "-config-db", db_}, "-config-db requires -age-key"},
      {{"replicate", "-once", "-config-db", db_, "-age-key", key_, db_, "file://" + dir_ + "/r"},
       "cannot specify a replica URL and the -config-db flag"},
      {{"replicate", "-once", "-config", dir_ + "/litestream.yml", "-config-db", db_, "-age-key", key_},
       "cannot specify both -config and -config-db"},
      {{"config"}, "missing subcommand"},
      {{"config", "drop", "-db", db_}, "unknown subcommand"},
      {{"config", "get", "-db", db_}, "requires -age-key"},
      {{"config", "get", "-age-key", key_, "-db", db_, "-generation", "-1"}, "generation"},
      {{"config", "list"}, "requires -db"},
  };
  for (const Case& c : cases) {
    auto r = RunCli(c.args);
    EXPECT_NE(r.exit_code, 0) << c.error;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
  }
}

TEST_F(SecureStoreTest, EnvironmentReferencesAreRejected) {
  SecureConfigStore store(db_, key_);
  const std::string yaml =
      "dbs:\n  - path: " + db_ + "\n    replica:\n      type: file\n      path: ${HOME}/replica\n";
  ASSERT_TRUE(store.Save("litestream", yaml, "yaml", "").ok());
  auto rep = RunCli({"replicate", "-once", "-config-db", db_, "-age-key", key_});
  EXPECT_NE(rep.exit_code, 0);
  EXPECT_NE(rep.err.find("HOME"), std::string::npos) << rep.err;
  auto service = Service::FromConfigDb(db_, key_, {});
  EXPECT_FALSE(service.ok());

  ASSERT_TRUE(store.Save("litestream", "port = 1\n", "toml", "").ok());
  auto toml = Service::FromConfigDb(db_, key_, {});
  ASSERT_FALSE(toml.ok());
  EXPECT_NE(toml.status().message().find("want yaml"), std::string::npos) << toml.status().ToString();
}

// Collects every log line, as a host's logger would.
class Lines final : public LogSink {
 public:
  void Write(LogLevel, std::string_view message, const std::vector<LogField>&) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(message);
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_.size();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(SecureStoreTest, TheLibraryStartsReplicationFromTheStoredConfig) {
  ASSERT_TRUE(SecureConfigStore(db_, key_).Save("litestream", LitestreamYaml(), "yaml", "").ok());
  auto sink = std::make_shared<Lines>();
  ServiceOptions options;
  options.log_sink = sink;
  options.log_level = LogLevel::kDebug;
  auto service = Service::FromConfigDb(db_, key_, options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  ASSERT_TRUE((*service)->Start().ok());
  {
    AppDb app(db_);
    app.Exec("INSERT INTO items (v) VALUES ('acknowledged');");
  }
  auto synced = (*service)->Sync(db_, /*wait_upload=*/true, 10s);
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  ASSERT_TRUE((*service)->Stop(10s).ok());
  EXPECT_GT(sink->size(), 0u);
  auto restore = RunCli({"restore", "-o", dir_ + "/restored.db", "file://" + dir_ + "/replica"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(QueryFile(dir_ + "/restored.db", "SELECT v FROM items"), "acknowledged");
}

}  // namespace
}  // namespace litestream
