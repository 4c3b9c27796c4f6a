#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "litestream/config.h"
#include "support/paths.h"

namespace litestream {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

EnvLookup FakeEnv(std::map<std::string, std::string> vars = {}) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ParseOptions Opts(std::map<std::string, std::string> env = {}) {
  ParseOptions o;
  o.env = FakeEnv(std::move(env));
  return o;
}

Config MustParse(const std::string& yaml, const ParseOptions& opts = Opts()) {
  Result<Config> c = ParseConfig(yaml, opts);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Config{};
}

// The error message of a config that must fail with InvalidArgument.
std::string ParseError(const std::string& yaml, const ParseOptions& opts = Opts()) {
  Result<Config> c = ParseConfig(yaml, opts);
  EXPECT_FALSE(c.ok()) << yaml;
  if (c.ok()) return "<parsed>";
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << c.status().ToString();
  return c.status().message();
}

const char kFullConfig[] = R"(
addr: ":9090"
mcp-addr: "127.0.0.1:3001"
exec: "myapp -serve"
socket:
  enabled: true
  path: /run/ls.sock
  permissions: 0660
logging:
  level: debug
  type: json
  stderr: true
  source: true
levels:
  - interval: 10s
  - interval: 2m
snapshot:
  interval: 12h
  retention: 48h
retention:
  enabled: false
l0-retention: 1m
l0-retention-check-interval: 5s
validation:
  interval: 30m
verify-compaction: true
heartbeat-url: https://hc.example.com/ping
heartbeat-interval: 2m
shutdown-sync-timeout: 10s
shutdown-sync-interval: 250ms
some-future-key: tolerated
# global replica defaults
access-key-id: GLOBALKEY
secret-access-key: GLOBALSECRET
region: eu-central-1
sync-interval: 5s
dbs:
  - path: /data/app.db
    meta-path: /var/lib/ls/app
    monitor-interval: 2s
    checkpoint-interval: 0
    busy-timeout: 3s
    min-checkpoint-page-count: 500
    truncate-page-n: 0
    max-sync-wal-bytes: 16MiB
    restore-if-db-not-exists: true
    unknown-db-key: 1
    replica:
      type: s3
      bucket: bkt
      path: app
      endpoint: localhost:9000
      force-path-style: false
      sign-payload: false
      require-content-md5: false
      skip-verify: true
      storage-class: STANDARD_IA
      part-size: 10MiB
      concurrency: 4
      sse-customer-algorithm: AES256
      sse-customer-key: a2V5
      sse-kms-key-id: kms-1
      max-sync-ltx-files: 10
      auto-recover: true
      validation-interval: 1h
      ltx-encoding: frame
      name: deprecated-and-ignored
  - dir: /data/tenants
    pattern: "*.db"
    recursive: true
    watch: true
    meta-dir: /var/lib/ls/tenants
    replica:
      url: abs://acct@container/tenants
      account-key: AKEY
      sas-token: SAS
  - path: /data/sftp.db
    replica:
      type: sftp
      host: backup:22
      user: bob
      password: pw
      key-path: /root/.ssh/id
      concurrent-writes: false
      host-key: "ssh-ed25519 AAAA"
      path: /backups/sftp
  - path: /data/dav.db
    replica:
      type: webdav
      webdav-url: https://dav.example.com
      webdav-username: u
      webdav-password: p
      path: /dav
  - path: /data/nats.db
    replica:
      type: nats
      url: nats://nats.example:4222/natsbkt
      jwt: J
      seed: S
      creds: /creds
      nkey: N
      username: nu
      token: T
      tls: true
      root-cas: [/ca1.pem, /ca2.pem]
      client-cert: /c.pem
      client-key: /k.pem
      max-reconnects: 5
      reconnect-wait: 3s
      timeout: 20s
  - path: /data/gs.db
    replica:
      type: gs
      bucket: gbkt
      path: g
  - path: sqlite:///data/oss.db
    replica:
      type: oss
      bucket: obkt
      region: cn-beijing
      endpoint: oss-cn-beijing.aliyuncs.com
      part-size: 1MiB
      concurrency: 2
  - path: /data/file.db
    replica:
      path: /backups/file
  - path: /data/sse.db
    replicas:
      - type: s3
        bucket: b2
        sse-customer-key-path: ~/keys/sse
)";

TEST(ParseConfig, EveryKeyLandsInTheStructs) {
  Config c = MustParse(kFullConfig, Opts({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.addr, ":9090");
  EXPECT_EQ(c.mcp_addr, "127.0.0.1:3001");
  EXPECT_EQ(c.exec, "myapp -serve");
  EXPECT_TRUE(c.socket.enabled);
  EXPECT_EQ(c.socket.path, "/run/ls.sock");
  EXPECT_EQ(c.socket.permissions, 0660u);
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.type, "json");
  EXPECT_TRUE(c.logging.to_stderr);
  EXPECT_TRUE(c.logging.source);
  EXPECT_EQ(c.levels, (std::vector<Duration>{seconds(10), minutes(2)}));
  EXPECT_EQ(c.snapshot.interval, hours(12));
  EXPECT_EQ(c.snapshot.retention, hours(48));
  EXPECT_FALSE(c.retention_enabled);
  EXPECT_EQ(c.l0_retention, minutes(1));
  EXPECT_EQ(c.l0_retention_check_interval, seconds(5));
  EXPECT_EQ(c.validation_interval, minutes(30));
  EXPECT_TRUE(c.verify_compaction);
  EXPECT_EQ(c.heartbeat_url, "https://hc.example.com/ping");
  EXPECT_EQ(c.heartbeat_interval, minutes(2));
  EXPECT_EQ(c.shutdown_sync_timeout, seconds(10));
  EXPECT_EQ(c.shutdown_sync_interval, milliseconds(250));
  ASSERT_EQ(c.dbs.size(), 9u);

  const DbConfig& app = c.dbs[0];
  EXPECT_EQ(app.path, "/data/app.db");
  EXPECT_EQ(app.meta_path, "/var/lib/ls/app");
  EXPECT_EQ(EffectiveMetaPath(app), "/var/lib/ls/app");
  EXPECT_EQ(app.monitor_interval, seconds(2));
  EXPECT_EQ(app.checkpoint_interval, milliseconds(0));
  EXPECT_EQ(app.busy_timeout, seconds(3));
  EXPECT_EQ(app.min_checkpoint_page_count, 500);
  EXPECT_EQ(app.truncate_page_n, 0);
  EXPECT_EQ(app.max_sync_wal_bytes, 16 << 20);
  EXPECT_TRUE(app.restore_if_db_not_exists);
  const ReplicaConfig& s3 = app.replica;
  EXPECT_EQ(s3.type, "s3");
  EXPECT_EQ(s3.bucket, "bkt");
  EXPECT_EQ(s3.path, "app");
  EXPECT_EQ(s3.endpoint, "http://localhost:9000");
  EXPECT_EQ(s3.region, "eu-central-1");             // global default
  EXPECT_EQ(s3.access_key_id, "GLOBALKEY");         // global default
  EXPECT_EQ(s3.secret_access_key, "GLOBALSECRET");  // global default
  EXPECT_EQ(s3.sync_interval, seconds(5));          // global default
  EXPECT_EQ(s3.force_path_style, false);
  EXPECT_EQ(s3.sign_payload, false);
  EXPECT_EQ(s3.require_content_md5, false);
  EXPECT_TRUE(s3.skip_verify);
  EXPECT_EQ(s3.storage_class, "STANDARD_IA");
  EXPECT_EQ(s3.part_size, 10 << 20);
  EXPECT_EQ(s3.concurrency, 4);
  EXPECT_EQ(s3.sse_customer_algorithm, "AES256");
  EXPECT_EQ(s3.sse_customer_key, "a2V5");
  EXPECT_EQ(s3.sse_kms_key_id, "kms-1");
  EXPECT_EQ(s3.max_sync_ltx_files, 10);
  EXPECT_TRUE(s3.auto_recover);
  EXPECT_EQ(s3.validation_interval, hours(1));
  EXPECT_EQ(s3.ltx_encoding, LtxEncoding::kFrame);

  const DbConfig& dir = c.dbs[1];
  EXPECT_EQ(dir.path, "");
  EXPECT_EQ(dir.dir, "/data/tenants");
  EXPECT_EQ(dir.Name(), "/data/tenants");
  EXPECT_EQ(dir.pattern, "*.db");
  EXPECT_TRUE(dir.recursive);
  EXPECT_TRUE(dir.watch);
  EXPECT_EQ(dir.meta_dir, "/var/lib/ls/tenants");
  EXPECT_EQ(dir.replica.type, "abs");
  EXPECT_EQ(dir.replica.url, "abs://acct@container/tenants");
  EXPECT_EQ(dir.replica.account_name, "acct");
  EXPECT_EQ(dir.replica.bucket, "container");
  EXPECT_EQ(dir.replica.path, "tenants");
  EXPECT_EQ(dir.replica.account_key, "AKEY");
  EXPECT_EQ(dir.replica.sas_token, "SAS");

  const ReplicaConfig& sftp = c.dbs[2].replica;
  EXPECT_EQ(sftp.type, "sftp");
  EXPECT_EQ(sftp.host, "backup:22");
  EXPECT_EQ(sftp.user, "bob");
  EXPECT_EQ(sftp.password, "pw");
  EXPECT_EQ(sftp.key_path, "/root/.ssh/id");
  EXPECT_FALSE(sftp.concurrent_writes);
  EXPECT_EQ(sftp.host_key, "ssh-ed25519 AAAA");
  EXPECT_EQ(sftp.path, "/backups/sftp");

  const ReplicaConfig& dav = c.dbs[3].replica;
  EXPECT_EQ(dav.type, "webdav");
  EXPECT_EQ(dav.webdav_url, "https://dav.example.com");
  EXPECT_EQ(dav.webdav_username, "u");
  EXPECT_EQ(dav.webdav_password, "p");
  EXPECT_EQ(dav.path, "/dav");

  const ReplicaConfig& nats = c.dbs[4].replica;
  EXPECT_EQ(nats.type, "nats");
  EXPECT_EQ(nats.nats_url, "nats://nats.example:4222");
  EXPECT_EQ(nats.bucket, "natsbkt");
  EXPECT_EQ(nats.jwt, "J");
  EXPECT_EQ(nats.seed, "S");
  EXPECT_EQ(nats.creds, "/creds");
  EXPECT_EQ(nats.nkey, "N");
  EXPECT_EQ(nats.username, "nu");
  EXPECT_EQ(nats.token, "T");
  EXPECT_TRUE(nats.tls);
  EXPECT_EQ(nats.root_cas, (std::vector<std::string>{"/ca1.pem", "/ca2.pem"}));
  EXPECT_EQ(nats.client_cert, "/c.pem");
  EXPECT_EQ(nats.client_key, "/k.pem");
  EXPECT_EQ(nats.max_reconnects, 5);
  EXPECT_EQ(nats.reconnect_wait, seconds(3));
  EXPECT_EQ(nats.timeout, seconds(20));

  EXPECT_EQ(c.dbs[5].replica.type, "gs");
  EXPECT_EQ(c.dbs[5].replica.bucket, "gbkt");
  EXPECT_EQ(c.dbs[5].replica.path, "g");

  const DbConfig& oss = c.dbs[6];
  EXPECT_EQ(oss.path, "/data/oss.db");  // sqlite:// stripped
  EXPECT_EQ(oss.replica.type, "oss");
  EXPECT_EQ(oss.replica.region, "cn-beijing");
  EXPECT_EQ(oss.replica.endpoint, "oss-cn-beijing.aliyuncs.com");
  EXPECT_EQ(oss.replica.part_size, 1 << 20);
  EXPECT_EQ(oss.replica.concurrency, 2);

  EXPECT_EQ(c.dbs[7].replica.type, "file");
  EXPECT_EQ(c.dbs[7].replica.path, "/backups/file");

  EXPECT_EQ(c.dbs[8].replica.type, "s3");  // from the one-element `replicas:` list
  EXPECT_EQ(c.dbs[8].replica.sse_customer_key_path, "/home/u/keys/sse");
  EXPECT_EQ(c.dbs[8].replica.sse_customer_algorithm, "AES256");
}

TEST(ParseConfig, Defaults) {
  Config c = MustParse("dbs:\n  - path: /data/app.db\n    replica:\n      path: /backups/app\n");
  Config d = DefaultConfig();
  EXPECT_EQ(c.addr, "");
  EXPECT_FALSE(c.socket.enabled);
  EXPECT_EQ(c.socket.path, "/var/run/litestream.sock");
  EXPECT_EQ(c.socket.permissions, 0600u);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.type, "text");
  EXPECT_FALSE(c.logging.to_stderr);
  EXPECT_EQ(c.levels, (std::vector<Duration>{seconds(30), minutes(5), hours(1)}));
  EXPECT_EQ(c.snapshot.interval, hours(24));
  EXPECT_EQ(c.snapshot.retention, hours(24));
  EXPECT_TRUE(c.retention_enabled);
  EXPECT_EQ(c.l0_retention, minutes(5));
  EXPECT_EQ(c.l0_retention_check_interval, seconds(15));
  EXPECT_FALSE(c.validation_interval.has_value());
  EXPECT_FALSE(c.verify_compaction);
  EXPECT_EQ(c.heartbeat_interval, minutes(5));
  EXPECT_EQ(c.shutdown_sync_timeout, seconds(30));
  EXPECT_EQ(c.shutdown_sync_interval, milliseconds(500));
  EXPECT_EQ(c.levels, d.levels);

  ASSERT_EQ(c.dbs.size(), 1u);
  const DbConfig& db = c.dbs[0];
  EXPECT_FALSE(db.meta_path.has_value());
  EXPECT_EQ(EffectiveMetaPath(db), "/data/.app.db-litestream");
  EXPECT_EQ(db.monitor_interval, seconds(1));
  EXPECT_EQ(db.checkpoint_interval, minutes(1));
  EXPECT_EQ(db.busy_timeout, seconds(1));
  EXPECT_EQ(db.min_checkpoint_page_count, 1000);
  EXPECT_EQ(db.truncate_page_n, 121359);
  EXPECT_EQ(db.max_sync_wal_bytes, 64 << 20);
  EXPECT_FALSE(db.restore_if_db_not_exists);
  EXPECT_EQ(db.replica.type, "file");
  EXPECT_EQ(db.replica.sync_interval, seconds(1));
  EXPECT_EQ(db.replica.max_sync_ltx_files, 256);
  EXPECT_FALSE(db.replica.auto_recover);
  EXPECT_EQ(db.replica.ltx_encoding, LtxEncoding::kBlock);
}

TEST(ParseConfig, EmptyDocumentAndEmptySectionsKeepDefaults) {
  Config empty = MustParse("");
  EXPECT_TRUE(empty.dbs.empty());
  EXPECT_EQ(empty.snapshot.interval, hours(24));
  Config c =
      MustParse("snapshot:\nlevels:\nsocket:\nlogging:\nretention:\nvalidation:\nl0-retention:\ndbs:\n");
  EXPECT_EQ(c.snapshot.interval, hours(24));
  EXPECT_EQ(c.snapshot.retention, hours(24));
  EXPECT_EQ(c.levels.size(), 3u);
  EXPECT_EQ(c.socket.path, "/var/run/litestream.sock");
  EXPECT_EQ(c.socket.permissions, 0600u);
  EXPECT_TRUE(c.retention_enabled);
  EXPECT_EQ(c.l0_retention, minutes(5));
  // An explicit empty list is different: no compaction levels at all.
  EXPECT_TRUE(MustParse("levels: []\n").levels.empty());
  // Socket permissions in decimal are accepted too.
  EXPECT_EQ(MustParse("socket:\n  permissions: 384\n").socket.permissions, 0600u);
}

TEST(ParseConfig, PerDatabaseSnapshotSettingsArePromoted) {
  Config c = MustParse(R"(
dbs:
  - path: /a.db
    snapshot: {interval: 1h, retention: 72h}
    replica: {path: /b/a}
  - path: /b.db
    snapshot: {interval: 1h}
    replica: {path: /b/b}
)");
  EXPECT_EQ(c.snapshot.interval, hours(1));
  EXPECT_EQ(c.snapshot.retention, hours(72));
  EXPECT_EQ(c.dbs[0].snapshot_interval, hours(1));

  // A global value wins over the per-database one.
  c = MustParse(
      "snapshot: {interval: 6h}\ndbs:\n  - path: /a.db\n    snapshot: {interval: 1h}\n"
      "    replica: {path: /b/a}\n");
  EXPECT_EQ(c.snapshot.interval, hours(6));

  std::string err = ParseError(R"(
dbs:
  - path: /a.db
    snapshot: {interval: 1h}
    replica: {path: /b/a}
  - path: /b.db
    snapshot: {interval: 2h}
    replica: {path: /b/b}
)");
  EXPECT_EQ(err, "conflicting database snapshot intervals: /a.db has 1h0m0s, /b.db has 2h0m0s");
  err = ParseError(
      "dbs:\n  - path: /a.db\n    snapshot: {retention: 1h}\n    replica: {path: /b/a}\n"
      "  - path: /b.db\n    snapshot: {retention: 3h}\n    replica: {path: /b/b}\n");
  EXPECT_NE(err.find("conflicting database snapshot retentions"), std::string::npos) << err;
}

TEST(ParseConfig, GlobalReplicaDefaultsAndTheirQuirks) {
  const char* yaml = R"(
bucket: global-bkt
endpoint: https://s3.example.com
part-size: 10MiB
concurrency: 9
host-key: "ssh-rsa GLOBAL"
webdav-url: https://global-dav
skip-verify: true
max-sync-ltx-files: 7
dbs:
  - path: /a.db
    replica: {type: s3, skip-verify: false}
  - path: /b.db
    replica: {type: s3, bucket: own-bkt, max-sync-ltx-files: 3}
  - path: /c.db
    replica: {type: sftp, host: h, user: u}
  - path: /d.db
    replica: {url: "s3://url-bkt/p"}
)";
  Config c = MustParse(yaml);
  const ReplicaConfig& a = c.dbs[0].replica;
  EXPECT_EQ(a.bucket, "global-bkt");
  EXPECT_EQ(a.endpoint, "https://s3.example.com");
  EXPECT_EQ(a.force_path_style, true);  // an endpoint defaults to path style
  EXPECT_EQ(a.part_size, 5 << 20);      // part-size is not inherited (upstream)
  EXPECT_EQ(a.concurrency, 5);          // concurrency is not inherited (upstream)
  EXPECT_TRUE(a.skip_verify);           // a global skip-verify: true wins even over false
  EXPECT_EQ(a.max_sync_ltx_files, 7);
  const ReplicaConfig& b = c.dbs[1].replica;
  EXPECT_EQ(b.bucket, "own-bkt");
  EXPECT_EQ(b.max_sync_ltx_files, 3);
  EXPECT_EQ(c.dbs[2].replica.host_key, "");  // host-key is not inherited (upstream)
  // The URL beats a global default (upstream would refuse "url & bucket" here).
  EXPECT_EQ(c.dbs[3].replica.bucket, "url-bkt");
  EXPECT_EQ(c.dbs[3].replica.path, "p");
  // webdav-* keys are not inherited.
  EXPECT_NE(ParseError("webdav-url: https://x\ndbs:\n  - path: /a.db\n    replica: {type: webdav}\n")
                .find("webdav-url required for webdav replica"),
            std::string::npos);
}

// Regression: yaml-cpp's Node assignment writes through to the shared node, so overriding a global key in
// one replica once changed the global value seen by every later replica.
TEST(ParseConfig, OverridingAGlobalKeyDoesNotLeakIntoOtherReplicas) {
  Config c = MustParse(R"(
region: global-region
skip-verify: true
dbs:
  - path: /a.db
    replica: {type: s3, bucket: a, region: own-region, skip-verify: false}
  - path: /b.db
    replica: {type: s3, bucket: b}
)");
  EXPECT_EQ(c.dbs[0].replica.region, "own-region");
  EXPECT_EQ(c.dbs[1].replica.region, "global-region");
  EXPECT_TRUE(c.dbs[1].replica.skip_verify);
}

TEST(ParseConfig, ConfigFileUrlIgnoresSseQueryButHonoursPartSizeAndConcurrency) {
  Config c = MustParse(
      "dbs:\n  - path: /a.db\n    replica:\n      url: "
      "s3://bkt/p?sseKmsKeyId=k&concurrency=2&partSize=6291456\n");
  EXPECT_EQ(c.dbs[0].replica.sse_kms_key_id, "");
  EXPECT_EQ(c.dbs[0].replica.concurrency, 2);
  EXPECT_EQ(c.dbs[0].replica.part_size, 6 << 20);
}

TEST(ParseConfig, EnvironmentExpansion) {
  const char* yaml =
      "dbs:\n  - path: /data/$NAME.db\n    replica:\n      url: s3://${BUCKET}/db\n"
      "      region: $UNSET_REGION\n";
  Config c = MustParse(yaml, Opts({{"NAME", "app"}, {"BUCKET", "bkt"}}));
  EXPECT_EQ(c.dbs[0].path, "/data/app.db");
  EXPECT_EQ(c.dbs[0].replica.bucket, "bkt");
  EXPECT_EQ(c.dbs[0].replica.region, "");  // unset -> empty -> unset

  Config pid = MustParse("dbs:\n  - path: /tmp/$PID/app.db\n    replica: {path: /b}\n");
  EXPECT_EQ(pid.dbs[0].path, "/tmp/" + std::to_string(::getpid()) + "/app.db");

  ParseOptions no_expand = Opts({{"BUCKET", "bkt"}});
  no_expand.expand_env = false;
  c = MustParse("dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: $BUCKET}\n", no_expand);
  EXPECT_EQ(c.dbs[0].replica.bucket, "$BUCKET");

  // A comment mentioning a variable is expanded too and stays a comment.
  c = MustParse("# $X\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n", Opts({{"X", "x\ny: 1"}}));
  EXPECT_EQ(c.dbs.size(), 1u);
}

TEST(ParseConfig, RejectEnvReferences) {
  ParseOptions o = Opts({{"BUCKET", "bkt"}});
  o.reject_env_references = true;
  std::string err = ParseError("dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: $BUCKET}\n", o);
  EXPECT_NE(err.find("line 3"), std::string::npos) << err;
  EXPECT_NE(err.find("$BUCKET"), std::string::npos) << err;
  // Comments may mention variables; a literal "$" that is not a reference is fine.
  Config c = MustParse(
      "# uses ${HOME}\ndbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, "
      "secret-access-key: \"p$ $\"}\n",
      o);
  EXPECT_EQ(c.dbs[0].replica.secret_access_key, "p$ $");
}

TEST(ParseConfig, LogLevelEnvironmentOverride) {
  EXPECT_EQ(MustParse("logging: {level: info}\n", Opts({{"LOG_LEVEL", "debug"}})).logging.level, "debug");
  EXPECT_EQ(MustParse("logging: {level: warn}\n", Opts({{"LOG_LEVEL", ""}})).logging.level, "warn");
}

TEST(ParseConfig, CredentialFallbacksComeFromTheEnvLookup) {
  Config c = MustParse("dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b}\n",
                       Opts({{"LITESTREAM_ACCESS_KEY_ID", "lk"}, {"AWS_SECRET_ACCESS_KEY", "as"}}));
  EXPECT_EQ(c.dbs[0].replica.access_key_id, "lk");
  EXPECT_EQ(c.dbs[0].replica.secret_access_key, "as");
  c = MustParse("dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, access-key-id: own}\n",
                Opts({{"AWS_ACCESS_KEY_ID", "env"}}));
  EXPECT_EQ(c.dbs[0].replica.access_key_id, "own");
}

// Each startup validation error of SURFACE.md §2.11, with the key and the database named.
TEST(ParseConfig, ValidationErrors) {
  const std::string db = "dbs:\n  - path: /data/app.db\n    replica: {path: /b}\n";
  struct Case {
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"snapshot: {interval: 0s}\n", "snapshot.interval: snapshot interval must be greater than 0 (got 0s)"},
      {"snapshot: {retention: -1h}\n",
       "snapshot.retention: snapshot retention must be greater than 0 (got -1h0m0s)"},
      {"levels: [{interval: 30s}, {interval: 0}]\n",
       "levels[1].interval: compaction interval must be greater than 0"},
      {"levels: [{}]\n", "levels[0].interval: compaction interval must be greater than 0"},
      {"levels: [{interval: 1s},{interval: 1s},{interval: 1s},{interval: 1s},{interval: 1s},{interval: 1s},"
       "{interval: 1s},{interval: 1s},{interval: 1s}]\n",
       "levels: at most 8 compaction levels"},
      {"l0-retention: -1s\n", "l0-retention: l0 retention must not be negative (got -1s)"},
      {"l0-retention-check-interval: 0\n",
       "l0-retention-check-interval: l0 retention check interval must be"},
      {"shutdown-sync-timeout: -5s\n", "shutdown-sync-timeout: shutdown-sync-timeout must be >= 0"},
      {"shutdown-sync-interval: 0\n",
       "shutdown-sync-interval: shutdown sync interval must be greater than 0"},
      {"heartbeat-url: ftp://x\n", "heartbeat-url: heartbeat URL must be a valid HTTP or HTTPS URL"},
      {"heartbeat-interval: 30s\n",
       "heartbeat-interval: heartbeat interval must be at least 1 minute (got 30s)"},
      {"logging: {type: xml}\n", "logging.type: must be text, json or pretty"},
      {"dbs:\n  - path: /a.db\n    dir: /d\n    pattern: '*'\n    replica: {path: /b}\n",
       "dbs[0] (/a.db): cannot specify both 'path' and 'dir'"},
      {"dbs:\n  - replica: {path: /b}\n", "dbs[0]: must specify either 'path' or 'dir'"},
      {"dbs:\n  - dir: /d\n    replica: {path: /b}\n", "dbs[0] (/d): 'pattern' is required when using 'dir'"},
      {"dbs:\n  - path: /a.db\n    watch: true\n    replica: {path: /b}\n",
       "dbs[0] (/a.db): 'watch' can only be enabled with a directory"},
      {"dbs:\n  - path: /a.db\n    meta-dir: /m\n    replica: {path: /b}\n",
       "dbs[0] (/a.db): 'meta-dir' can only be used with a directory"},
      {"dbs:\n  - dir: /d\n    pattern: '*.db'\n    meta-dir: /m\n    meta-path: /p\n    replica: {path: "
       "/b}\n",
       "dbs[0] (/d): cannot specify both 'meta-path' and 'meta-dir'"},
      {"dbs:\n  - path: /a.db\n    replicas: [{path: /b}, {path: /c}]\n",
       "dbs[0] (/a.db): multiple replicas on a single database are no longer supported"},
      {"dbs:\n  - path: /a.db\n    replica: {path: /b}\n    replicas: [{path: /c}]\n",
       "dbs[0] (/a.db): cannot specify 'replica' and 'replicas' on a database"},
      {"dbs:\n  - path: /a.db\n", "dbs[0] (/a.db): must specify replica for database"},
      {"dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      age:\n        identities: "
       "[AGE-SECRET-KEY-1X]\n",
       "dbs[0] (/a.db): replica: age encryption is not currently supported"},
      {"age: {recipients: [age1x]}\n" + db,
       "dbs[0] (/data/app.db): replica: age encryption is not currently supported"},
      {"dbs:\n  - path: /x.db\n    replica: {path: /b}\n  - path: /data/app.db\n    replica: {type: s3}\n",
       "dbs[1] (/data/app.db): replica: bucket required for s3 replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: gs}\n",
       "dbs[0] (/a.db): replica: bucket required for gs replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: abs}\n",
       "dbs[0] (/a.db): replica: bucket required for abs replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: oss}\n",
       "dbs[0] (/a.db): replica: bucket required for oss replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: nats}\n",
       "dbs[0] (/a.db): replica: bucket required for nats replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: nats, bucket: b, client-cert: /c}\n",
       "client-cert and client-key must both be specified"},
      {"dbs:\n  - path: /a.db\n    replica: {type: sftp, user: u}\n",
       "dbs[0] (/a.db): replica: host required for sftp replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: sftp, host: h}\n",
       "dbs[0] (/a.db): replica: user required for sftp replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: webdav}\n",
       "dbs[0] (/a.db): replica: webdav-url required for webdav replica"},
      {"dbs:\n  - path: /a.db\n    replica: {type: file}\n",
       "dbs[0] (/a.db): replica: file replica path required"},
      {"dbs:\n  - path: /a.db\n    replica: {type: ftp, path: /x}\n",
       "replica: unknown replica type: \"ftp\""},
      {"dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p', path: /x}\n",
       "replica: cannot specify url & path for s3 replica"},
      {"dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p', bucket: c}\n",
       "replica: cannot specify url & bucket for s3 replica"},
      {"dbs:\n  - path: /a.db\n    replica: {url: 'sftp://u@h/p', host: c}\n",
       "replica: cannot specify url & host for sftp replica"},
      {"dbs:\n  - path: /a.db\n    replica: {path: 's3://b/p'}\n",
       "replica path cannot be a url, please use the 'url' field instead: s3://b/p"},
      {"dbs:\n  - path: /a.db\n    replica: {path: /b, sync-interval: 0s}\n",
       "dbs[0] (/a.db): replica: sync-interval: sync interval must be greater than 0 (got 0s)"},
      {"sync-interval: -1s\n" + db,
       "dbs[0] (/data/app.db): replica: sync-interval: sync interval must be greater than"},
      {"dbs:\n  - path: /a.db\n    replica: {path: /b, ltx-encoding: zstd}\n",
       "dbs[0].replica.ltx-encoding: must be \"frame\" or \"block\", got \"zstd\""},
      {"dbs:\n  - path: /a.db\n    snapshot: {interval: 0s}\n    replica: {path: /b}\n",
       "dbs[0] (/a.db): snapshot.interval: snapshot interval must be greater than 0"},
      {"dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 0\n    replica: {path: /b}\n",
       "dbs[0] (/a.db): min-checkpoint-page-count: must be greater than 0"},
      {"dbs:\n  - path: /a.db\n    replica: {path: /a}\n  - path: /a.db\n    replica: {path: /b}\n",
       "dbs[1] (/a.db): meta-path collision: databases /a.db and /a.db would share meta path "
       "/.a.db-litestream"},
      {"dbs:\n  - path: /a.db\n    meta-path: /m\n    replica: {path: /a}\n  - path: /b.db\n    meta-path: "
       "/m\n"
       "    replica: {path: /b}\n",
       "meta-path collision: databases /a.db and /b.db would share meta path /m"},
      {"dbs:\n  - path: /a.db\n    monitor-interval: 10\n    replica: {path: /b}\n",
       "dbs[0].monitor-interval: invalid duration \"10\": missing unit"},
      {"dbs:\n  - path: /a.db\n    busy-timeout: 1d\n    replica: {path: /b}\n",
       "dbs[0].busy-timeout: invalid duration \"1d\": unknown unit \"d\""},
      {"dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, part-size: lots}\n",
       "dbs[0].replica.part-size: invalid size \"lots\""},
      {"dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, part-size: 1MiB}\n",
       "replica: part-size must be at least 5MiB"},
      {"dbs:\n  - path: /a.db\n    replica: {path: /b, auto-recover: maybe}\n",
       "dbs[0].replica.auto-recover: expected true or false, got \"maybe\""},
      {"dbs:\n  - path: /a.db\n    replica: {path: /b, max-sync-ltx-files: many}\n",
       "dbs[0].replica.max-sync-ltx-files: expected an integer"},
      {"dbs:\n  - path: [1]\n", "dbs[0].path: expected a string, got a list"},
      {"dbs: {path: /a.db}\n", "dbs: expected a list of databases"},
      {"- just\n- a list\n", "config: expected a mapping"},
      {"dbs:\n  - path: /a.db\n   replica: bad-indent\n", "parse config: yaml: line 3"},
  };
  for (const Case& tc : cases) {
    std::string err = ParseError(tc.yaml);
    EXPECT_NE(err.find(tc.want), std::string::npos) << "yaml:\n"
                                                    << tc.yaml << "\nwant: " << tc.want << "\ngot:  " << err;
  }
}

TEST(ParseConfig, UnknownKeysAreTolerated) {
  Config c = MustParse(
      "future: 1\nsocket: {enabled: false, future: x}\ndbs:\n  - path: /a.db\n    future: y\n"
      "    replica: {path: /b, future: z}\n");
  EXPECT_EQ(c.dbs.size(), 1u);
}

TEST(ParseConfig, RelativeAndHomePathsAreExpanded) {
  Config c = MustParse("dbs:\n  - path: ~/app.db\n    meta-path: ~/meta\n    replica: {path: ~/backups}\n",
                       Opts({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.dbs[0].path, "/home/u/app.db");
  EXPECT_EQ(c.dbs[0].meta_path, "/home/u/meta");
  EXPECT_EQ(c.dbs[0].replica.path, "/home/u/backups");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  c = MustParse("dbs:\n  - path: rel/app.db\n    replica: {url: 'file:///abs/x'}\n");
  EXPECT_EQ(c.dbs[0].path, std::string(cwd) + "/rel/app.db");
  EXPECT_EQ(c.dbs[0].replica.path, "/abs/x");
}

TEST(LoadConfigFile, ReadsAFileAndReportsAMissingOne) {
  std::string dir = testing::MakeTempDir("config-load");
  std::ofstream(dir + "/litestream.yml") << "dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: $B}\n";
  Result<Config> c = LoadConfigFile(dir + "/litestream.yml", Opts({{"B", "bkt"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dbs[0].replica.bucket, "bkt");
  c = LoadConfigFile("~/litestream.yml", Opts({{"HOME", dir}, {"B", "x"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<Config> missing = LoadConfigFile(dir + "/nope.yml", Opts());
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_EQ(missing.status().message(), "config file not found: " + dir + "/nope.yml");
}

}  // namespace
}  // namespace litestream
