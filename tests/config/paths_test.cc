#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "litestream/config.h"

namespace litestream {
namespace {

EnvLookup HomeEnv(const std::string& home) {
  return [home](std::string_view name) -> std::optional<std::string> {
    if (name == "HOME") return home;
    return std::nullopt;
  };
}

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) ? std::string(buf) : std::string();
}

TEST(Paths, StripSqlitePrefix) {
  EXPECT_EQ(StripSqlitePrefix("sqlite:///data/app.db"), "/data/app.db");
  EXPECT_EQ(StripSqlitePrefix("sqlite3:///data/app.db"), "/data/app.db");
  EXPECT_EQ(StripSqlitePrefix("sqlite://app.db"), "app.db");
  EXPECT_EQ(StripSqlitePrefix("/data/app.db"), "/data/app.db");
  EXPECT_EQ(StripSqlitePrefix("sqlite:/x"), "sqlite:/x");
}

TEST(Paths, ExpandPath) {
  EXPECT_EQ(*ExpandPath("/data/app.db", HomeEnv("/home/u")), "/data/app.db");
  EXPECT_EQ(*ExpandPath("/data//x/../app.db/", HomeEnv("/home/u")), "/data/app.db");
  EXPECT_EQ(*ExpandPath("~/app.db", HomeEnv("/home/u")), "/home/u/app.db");
  EXPECT_EQ(*ExpandPath("~", HomeEnv("/home/u")), "/home/u");
  EXPECT_EQ(*ExpandPath("sqlite://~/db/app.db", HomeEnv("/home/u")), "/home/u/db/app.db");
  EXPECT_EQ(*ExpandPath("sqlite3:///abs.db", HomeEnv("/home/u")), "/abs.db");
  EXPECT_EQ(*ExpandPath("app.db", HomeEnv("/home/u")), Cwd() + "/app.db");
  EXPECT_EQ(*ExpandPath("~user/app.db", HomeEnv("/home/u")), Cwd() + "/~user/app.db");  // only "~/" expands
}

TEST(Paths, DefaultMetaPath) {
  EXPECT_EQ(DefaultMetaPath("/data/app.db"), "/data/.app.db-litestream");
  EXPECT_EQ(DefaultMetaPath("/app.db"), "/.app.db-litestream");
  DbConfig db;
  db.path = "/data/app.db";
  EXPECT_EQ(EffectiveMetaPath(db), "/data/.app.db-litestream");
  db.meta_path = "/var/lib/litestream/app";
  EXPECT_EQ(EffectiveMetaPath(db), "/var/lib/litestream/app");
}

TEST(Paths, DirectoryEntryMetaPath) {
  DbConfig dir;
  dir.dir = "/data";
  dir.pattern = "*.db";
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "sub/app.db"), "/data/sub/.app.db-litestream");
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "app.db"), "/data/.app.db-litestream");
  dir.meta_dir = "/var/meta";
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "sub/app.db"), "/var/meta/sub/app.db-litestream");
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "app.db"), "/var/meta/app.db-litestream");
  dir.meta_dir.reset();
  dir.meta_path = "/var/base";
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "sub/app.db"), "/var/base/sub/.app.db-litestream");
  EXPECT_EQ(DirectoryEntryMetaPath(dir, "app.db"), "/var/base/.app.db-litestream");
}

TEST(Paths, DirectoryEntryReplica) {
  ReplicaConfig file;
  file.type = "file";
  file.path = "/backups";
  EXPECT_EQ(DirectoryEntryReplica(file, "sub/app.db").path, "/backups/sub/app.db");

  ReplicaConfig s3;
  s3.type = "s3";
  s3.bucket = "bkt";
  s3.path = "dbs";
  s3.url = "s3://bkt/dbs?region=x";
  ReplicaConfig e = DirectoryEntryReplica(s3, "sub/app.db");
  EXPECT_EQ(e.path, "dbs/sub/app.db");
  EXPECT_EQ(e.url, "s3://bkt/dbs/sub/app.db?region=x");

  s3.path = ".";
  s3.url = "s3://bkt";
  e = DirectoryEntryReplica(s3, "app.db");
  EXPECT_EQ(e.path, "app.db");
  EXPECT_EQ(e.url, "s3://bkt/app.db");
  EXPECT_EQ(DirectoryEntryReplica(s3, ".").path, ".");
}

}  // namespace
}  // namespace litestream
