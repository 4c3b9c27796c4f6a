// litestream.yml: the configuration of the daemon and of the embedded service, parsed into plain structs
// with every default written down. The same code serves the CLI (a file on disk, env expansion on) and an
// embedding application (YAML from an encrypted store, env references forbidden).
//
// Parsing never touches the process environment directly: every lookup ($VAR expansion, LOG_LEVEL,
// credential fallbacks, HOME for "~/") goes through ParseOptions::env. See docs/config.md for the whole
// reference, including where this port deliberately differs from upstream Litestream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/status.h"

namespace litestream {

using Duration = std::chrono::milliseconds;

// Looks up one environment variable; nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
// getenv(3). The only function of the config library that reads the process environment.
EnvLookup ProcessEnvLookup();

// How LTX page frames are encoded when this replica's files are written (our extension; upstream has no key).
//  kBlock: flags 0x0001 + u32 size + an LZ4 block per page, as Litestream >= v0.5.16 writes (default).
//          Smaller and cheaper than a frame (no xxh32 content checksum per page: ~10% of the replicator's
//          CPU under a bulk load), but Litestream <= v0.5.15 cannot restore such files.
//  kFrame: flags 0x0000 + an LZ4 frame per page. Readable by every Litestream v0.5.x release.
enum class LtxEncoding { kFrame, kBlock };

// One replica (the `replica:` block of a database, merged with the global replica defaults, with its `url:`
// parsed into the fields below). After ParseConfig/ParseReplicaURL the struct is *resolved*: `type` is
// always set, backend fields taken from the URL are filled in, S3 provider defaults are applied, and the
// required fields of the backend are present.
struct ReplicaConfig {
  // ---- common ----
  std::string
      type;  // "file", "s3", "gs", "abs", "sftp", "webdav", "nats", "oss" (URL scheme, else type:, else file)
  std::string url;  // as written (`url:` key or the CLI argument); informational once resolved
  // file: absolute directory of the replica. Other backends: the key prefix / remote directory.
  std::string path;
  Duration sync_interval{1000};  // sync-interval: upload tick, > 0
  int max_sync_ltx_files = 256;  // max-sync-ltx-files: L0 files uploaded per tick; 0 = unlimited
  bool auto_recover = false;     // auto-recover: reset local state on a missing/corrupt LTX file
  std::optional<Duration> validation_interval;  // validation-interval: deprecated and unused (upstream too)
  LtxEncoding ltx_encoding = LtxEncoding::kBlock;  // ltx-encoding: block | frame (our extension)

  // ---- s3 (and oss: access keys, region, bucket, endpoint, part-size, concurrency) ----
  std::string access_key_id;      // access-key-id; else $AWS_ACCESS_KEY_ID, else $LITESTREAM_ACCESS_KEY_ID
  std::string secret_access_key;  // secret-access-key; else $AWS_SECRET_ACCESS_KEY, else
                                  // $LITESTREAM_SECRET_ACCESS_KEY
  std::string region;             // s3: empty = auto-detect / us-east-1. oss: defaults to cn-hangzhou.
  std::string bucket;             // s3, gs, abs (container), nats, oss: required
  std::string endpoint;  // s3: always with a scheme once resolved (https://, http:// for local hosts)
  // force-path-style: the explicit value from the config or URL; when absent, ApplyS3ProviderDefaults fills
  // it (true for an explicit endpoint or a path-style provider). Backends read value_or(false).
  std::optional<bool> force_path_style;
  std::optional<bool> sign_payload;         // sign-payload: default true (filled by ApplyS3ProviderDefaults)
  std::optional<bool> require_content_md5;  // require-content-md5: default true (false on Tigris)
  bool skip_verify = false;                 // skip-verify: disable TLS verification
  std::string storage_class;                // storage-class
  std::optional<int64_t> part_size;         // part-size: multipart part size in bytes (s3 default 5 MiB)
  std::optional<int> concurrency;           // concurrency: parallel parts (s3 5, Cloudflare R2 2, oss 3)
  std::string sse_customer_algorithm;       // sse-customer-algorithm: "AES256" when a key is given
  std::string sse_customer_key;             // sse-customer-key: base64 key
  std::string sse_customer_key_path;        // sse-customer-key-path: file holding the key ("~" expanded)
  std::string sse_customer_key_md5;         // only from the URL query (sseCustomerKeyMD5)
  std::string sse_kms_key_id;               // sse-kms-key-id

  // ---- abs ----
  std::string account_name;  // account-name (or abs://ACCOUNT@container/path)
  std::string account_key;   // account-key; else $LITESTREAM_AZURE_ACCOUNT_KEY
  std::string sas_token;     // sas-token; else $LITESTREAM_AZURE_SAS_TOKEN

  // ---- sftp ----
  std::string host;               // host (host[:port]): required
  std::string user;               // user: required
  std::string password;           // password (also the NATS password)
  std::string key_path;           // key-path
  bool concurrent_writes = true;  // concurrent-writes
  std::string host_key;           // host-key (authorized_keys format); empty = host key NOT verified

  // ---- webdav ----
  std::string webdav_url;  // webdav-url: http(s)://host[:port]; required
  std::string webdav_username;
  std::string webdav_password;

  // ---- nats ----
  std::string nats_url;  // server URL "nats://host:port" from the replica URL; empty = nats://127.0.0.1:4222
  std::string jwt, seed, creds, nkey, username, token;
  bool tls = false;
  std::vector<std::string> root_cas;    // root-cas
  std::string client_cert, client_key;  // both or neither
  int max_reconnects = -1;              // -1 = unlimited
  Duration reconnect_wait{2000};
  Duration timeout{10000};
};

// One `dbs[]` entry: either a single database (`path`) or a directory of databases (`dir` + `pattern`).
struct DbConfig {
  std::string path;  // absolute; sqlite:// and sqlite3:// stripped, "~/" expanded. Empty in directory mode.
  std::string dir;   // absolute directory to scan. Empty in single-database mode.
  std::string pattern;  // glob on the base name, required with dir
  bool recursive = false;
  bool watch = false;                    // only with dir
  std::optional<std::string> meta_path;  // meta-path, expanded; see EffectiveMetaPath/DirectoryEntryMetaPath
  std::optional<std::string> meta_dir;   // meta-dir, expanded; only with dir
  Duration monitor_interval{1000};       // monitor-interval; 0 disables the monitor
  Duration checkpoint_interval{60000};   // checkpoint-interval; 0 disables time-based checkpoints
  Duration busy_timeout{1000};           // busy-timeout
  int min_checkpoint_page_count = 1000;  // min-checkpoint-page-count; > 0
  int truncate_page_n = 121359;          // truncate-page-n; 0 = use the default backstop
  int64_t max_sync_wal_bytes = 64LL << 20;  // max-sync-wal-bytes; 0 = unlimited
  bool restore_if_db_not_exists = false;
  // snapshot.interval / snapshot.retention as written on this database; ParseConfig promotes them to
  // Config::snapshot (they are global in Litestream).
  std::optional<Duration> snapshot_interval;
  std::optional<Duration> snapshot_retention;
  ReplicaConfig replica;  // `replica:` (or the one element of the deprecated `replicas:`); required

  // "path" or, in directory mode, "dir": what error messages name.
  const std::string& Name() const { return path.empty() ? dir : path; }
};

struct SocketConfig {
  bool enabled = false;
  std::string path = "/var/run/litestream.sock";
  uint32_t permissions = 0600;  // YAML: octal (0600) or decimal integer
};

struct LoggingConfig {
  std::string level = "info";  // trace|debug|info|warn|warning|error; $LOG_LEVEL overrides (see ParseConfig)
  std::string type = "text";   // text|json|pretty
  bool to_stderr = false;      // `stderr:`
  bool source = false;
};

struct SnapshotConfig {
  Duration interval{24LL * 3600 * 1000};   // snapshot.interval
  Duration retention{24LL * 3600 * 1000};  // snapshot.retention
};

// The whole litestream.yml.
struct Config {
  std::vector<DbConfig> dbs;
  std::string addr;      // metrics/pprof HTTP listener; empty = off
  std::string mcp_addr;  // mcp-addr; empty = off
  std::string exec;
  SocketConfig socket;
  LoggingConfig logging;
  // levels[i].interval: compaction intervals of L1..Ln (L0 is implicit); at most 8.
  std::vector<Duration> levels{Duration(30 * 1000), Duration(5 * 60 * 1000), Duration(3600 * 1000)};
  SnapshotConfig snapshot;
  bool retention_enabled = true;                    // retention.enabled
  Duration l0_retention{5 * 60 * 1000};             // l0-retention; 0 = no wait, < 0 invalid
  Duration l0_retention_check_interval{15 * 1000};  // l0-retention-check-interval; > 0
  std::optional<Duration> validation_interval;      // validation.interval; unset = off
  bool verify_compaction = false;
  std::string heartbeat_url;                   // http(s) URL; empty = off
  Duration heartbeat_interval{5 * 60 * 1000};  // >= 1m
  Duration shutdown_sync_timeout{30 * 1000};   // >= 0
  Duration shutdown_sync_interval{500};        // > 0
};

struct ParseOptions {
  // Expand $VAR / ${VAR} / $PID in the whole text before parsing (Go's os.Expand; -no-expand-env turns it
  // off).
  bool expand_env = true;
  // Environment lookups: expansion, $LOG_LEVEL, credential fallbacks, $HOME for "~/". Default: getenv.
  EnvLookup env = ProcessEnvLookup();
  // For configs from an encrypted store: any $word or ${...} outside a comment line is an error, and
  // nothing is expanded (expand_env is ignored).
  bool reject_env_references = false;
};

// The defaults of every key, no databases.
Config DefaultConfig();

// Parses, applies defaults, merges the global replica defaults into each replica, resolves replica URLs,
// promotes per-database snapshot settings and validates. Errors are InvalidArgument with the key and the
// database named: "dbs[1] (/data/app.db): replica: bucket required for s3 replica".
Result<Config> ParseConfig(std::string_view yaml_text, const ParseOptions& options = {});
// Reads `path` ("~/" expanded) and parses it. NotFound "config file not found: <path>" if it is missing.
Result<Config> LoadConfigFile(const std::string& path, const ParseOptions& options = {});

// Go's os.Expand over `text`: $NAME and ${NAME} are replaced by mapping(NAME) (special one-character names
// such as $1 or $$ too); "${}" and an unterminated "${" are eaten; a "$" not followed by a name stays.
std::string ExpandEnv(std::string_view text, const std::function<std::string(std::string_view)>& mapping);
// The expansion ParseConfig uses: unset variables become "", $PID becomes getpid().
std::string ExpandConfigEnv(std::string_view text, const EnvLookup& env);
// InvalidArgument naming the line if any non-comment line holds $word or ${...}.
Status CheckNoEnvReferences(std::string_view text);

// Go duration syntax: "300ms", "1.5h", "2h45m", "-1s", "0". Units ns us µs ms s m h; no days. Truncated to
// milliseconds.
Result<Duration> ParseDuration(std::string_view text);
// Go's Duration.String() at millisecond precision: "0s", "500ms", "1.5s", "1h30m0s".
std::string FormatDuration(Duration d);
// SI and IEC sizes as go-humanize parses them: "5242880", "5MB" (5e6), "5MiB", "5 mib", "1.5GB", "10k".
Result<int64_t> ParseByteSize(std::string_view text);

// ---- paths ----
// Removes a leading "sqlite://" or "sqlite3://".
std::string StripSqlitePrefix(std::string_view path);
// StripSqlitePrefix, "~" / "~/x" expanded ($HOME through `env`, else the passwd entry), then made
// absolute against the current directory and cleaned.
Result<std::string> ExpandPath(std::string_view path, const EnvLookup& env = ProcessEnvLookup());
// "<dir>/.<file>-litestream" for a database at <dir>/<file>.
std::string DefaultMetaPath(const std::string& db_path);
// A single-database entry's meta directory: meta-path if set, else DefaultMetaPath(path).
std::string EffectiveMetaPath(const DbConfig& db);
// Directory mode, for a database found at <dir>/<rel_path>: meta-dir gives
// "<meta-dir>/<rel_path>-litestream"; meta-path gives "<meta-path>/<rel dir>/.<file>-litestream"; neither
// gives the default next to the file.
std::string DirectoryEntryMetaPath(const DbConfig& dir_db, const std::string& rel_path);
// Directory mode: the replica of the database at <dir>/<rel_path>, with rel_path appended to the replica's
// path (an OS join for file replicas, a "/" join otherwise) and to its URL.
ReplicaConfig DirectoryEntryReplica(const ReplicaConfig& base, const std::string& rel_path);

// ---- replica URLs ----
// True if `s` starts with a scheme: ^\w+://
bool IsURL(std::string_view s);
// The backend type named by a URL's scheme ("webdavs" -> "webdav"); empty if `s` is not a URL.
std::string ReplicaTypeFromURL(std::string_view s);
// A replica from a URL given on the command line (replicate, restore, ltx, register; the VFS): every
// scheme of file, s3, gs, abs, sftp, webdav(s), nats, oss. S3 query parameters (camelCase or kebab-case):
// endpoint, region, forcePathStyle, skipVerify, signPayload, requireContentMD5, concurrency, partSize,
// storageClass, sseCustomerAlgorithm, sseCustomerKey, sseCustomerKeyMD5, sseKmsKeyId. $LITESTREAM_S3_ENDPOINT
// is used when no endpoint is given. Defaults and required fields are as for a config-file replica.
Result<ReplicaConfig> ParseReplicaURL(std::string_view url, const EnvLookup& env = ProcessEnvLookup());

// ---- S3-compatible providers (SURFACE.md §2.7) ----
enum class S3Provider {
  kGeneric,  // AWS or an unknown host
  kTigris,
  kHetzner,
  kDigitalOcean,
  kScaleway,
  kBackblaze,
  kFilebase,
  kSupabase,
  kCloudflareR2,
  kGoogleCloudStorage,  // the GCS XML API: exclude Accept-Encoding from the SigV4 signature
  kMinIO,               // any other host with a port
};
S3Provider DetectS3Provider(std::string_view endpoint);
std::string_view S3ProviderName(S3Provider p);
// Fills what the user left unset: sign_payload (true), require_content_md5 (true; Tigris false),
// force_path_style (Backblaze, Filebase, MinIO, Supabase and any explicit endpoint: true), concurrency
// (5; Cloudflare R2 2) and part_size (5 MiB). Used for config files and URLs alike.
void ApplyS3ProviderDefaults(ReplicaConfig* replica);
// Adds "http://" for localhost, 127.0.0.1, private networks and *.local, "https://" otherwise.
std::string EnsureEndpointScheme(std::string_view endpoint);
bool IsLocalEndpoint(std::string_view endpoint);

}  // namespace litestream
