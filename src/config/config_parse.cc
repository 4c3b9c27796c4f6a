// ParseConfig: env expansion, YAML, defaults, the per-database entries, snapshot promotion, replica
// resolution and validation (SURFACE.md §2).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/internal.h"
#include "config/yaml_decode.h"
#include "util/file_system.h"

namespace litestream {
namespace {

using config_internal::DecodeBool;
using config_internal::DecodeDuration;
using config_internal::DecodeInt;
using config_internal::DecodeOptDuration;
using config_internal::DecodeSize;
using config_internal::DecodeString;
using config_internal::DecodeUint32;
using config_internal::KeyMap;
using config_internal::ToKeyMap;
using config_internal::Value;

constexpr Duration kMinHeartbeatInterval{60 * 1000};
constexpr size_t kMaxCompactionLevels = 8;

// Runs `decode` on map[key] if the key is present.
template <typename T, typename F>
Status Field(const KeyMap& m, const char* key, T* out, F decode) {
  auto it = m.find(key);
  if (it == m.end()) return Status::OK();
  return decode(it->second, out);
}

Status PathField(const KeyMap& m, const char* key, std::string* out, const EnvLookup& env) {
  std::string raw;
  LS_RETURN_IF_ERROR(Field(m, key, &raw, DecodeString));
  if (raw.empty()) return Status::OK();
  Result<std::string> p = ExpandPath(raw, env);
  if (!p.ok()) return p.status().WithContext(m.at(key).where);
  *out = *p;
  return Status::OK();
}

Status DecodeGlobals(const KeyMap& top, Config* c) {
  LS_RETURN_IF_ERROR(Field(top, "addr", &c->addr, DecodeString));
  LS_RETURN_IF_ERROR(Field(top, "mcp-addr", &c->mcp_addr, DecodeString));
  LS_RETURN_IF_ERROR(Field(top, "exec", &c->exec, DecodeString));
  if (auto it = top.find("socket"); it != top.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "socket.", "socket"));
    LS_RETURN_IF_ERROR(Field(m, "enabled", &c->socket.enabled, DecodeBool));
    LS_RETURN_IF_ERROR(Field(m, "path", &c->socket.path, DecodeString));
    LS_RETURN_IF_ERROR(Field(m, "permissions", &c->socket.permissions, DecodeUint32));
  }
  if (auto it = top.find("logging"); it != top.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "logging.", "logging"));
    LS_RETURN_IF_ERROR(Field(m, "level", &c->logging.level, DecodeString));
    LS_RETURN_IF_ERROR(Field(m, "type", &c->logging.type, DecodeString));
    LS_RETURN_IF_ERROR(Field(m, "stderr", &c->logging.to_stderr, DecodeBool));
    LS_RETURN_IF_ERROR(Field(m, "source", &c->logging.source, DecodeBool));
  }
  if (auto it = top.find("levels"); it != top.end()) {
    const YAML::Node& n = it->second.node;
    if (!n.IsSequence()) return Status::InvalidArgument("levels: expected a list of {interval: ...}");
    c->levels.clear();
    size_t i = 0;
    for (const YAML::Node& e : n) {
      std::string where = "levels[" + std::to_string(i++) + "]";
      LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(e, where + ".", where));
      Duration d{0};
      LS_RETURN_IF_ERROR(Field(m, "interval", &d, DecodeDuration));
      c->levels.push_back(d);
    }
  }
  if (auto it = top.find("snapshot"); it != top.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "snapshot.", "snapshot"));
    LS_RETURN_IF_ERROR(Field(m, "interval", &c->snapshot.interval, DecodeDuration));
    LS_RETURN_IF_ERROR(Field(m, "retention", &c->snapshot.retention, DecodeDuration));
  }
  if (auto it = top.find("retention"); it != top.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "retention.", "retention"));
    LS_RETURN_IF_ERROR(Field(m, "enabled", &c->retention_enabled, DecodeBool));
  }
  if (auto it = top.find("validation"); it != top.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "validation.", "validation"));
    LS_RETURN_IF_ERROR(Field(m, "interval", &c->validation_interval, DecodeOptDuration));
  }
  LS_RETURN_IF_ERROR(Field(top, "l0-retention", &c->l0_retention, DecodeDuration));
  LS_RETURN_IF_ERROR(
      Field(top, "l0-retention-check-interval", &c->l0_retention_check_interval, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(top, "verify-compaction", &c->verify_compaction, DecodeBool));
  LS_RETURN_IF_ERROR(Field(top, "heartbeat-url", &c->heartbeat_url, DecodeString));
  LS_RETURN_IF_ERROR(Field(top, "heartbeat-interval", &c->heartbeat_interval, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(top, "shutdown-sync-timeout", &c->shutdown_sync_timeout, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(top, "shutdown-sync-interval", &c->shutdown_sync_interval, DecodeDuration));
  return Status::OK();
}

// A database entry before its replica is resolved.
struct RawDb {
  DbConfig db;
  KeyMap keys;
  std::string prefix;  // "dbs[3]."
};

Status DecodeDb(const KeyMap& m, const EnvLookup& env, DbConfig* d) {
  LS_RETURN_IF_ERROR(PathField(m, "path", &d->path, env));
  LS_RETURN_IF_ERROR(PathField(m, "dir", &d->dir, env));
  LS_RETURN_IF_ERROR(Field(m, "pattern", &d->pattern, DecodeString));
  LS_RETURN_IF_ERROR(Field(m, "recursive", &d->recursive, DecodeBool));
  LS_RETURN_IF_ERROR(Field(m, "watch", &d->watch, DecodeBool));
  if (m.count("meta-path")) {
    std::string p;
    LS_RETURN_IF_ERROR(PathField(m, "meta-path", &p, env));
    d->meta_path = p;
  }
  if (m.count("meta-dir")) {
    std::string p;
    LS_RETURN_IF_ERROR(PathField(m, "meta-dir", &p, env));
    d->meta_dir = p;
  }
  LS_RETURN_IF_ERROR(Field(m, "monitor-interval", &d->monitor_interval, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(m, "checkpoint-interval", &d->checkpoint_interval, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(m, "busy-timeout", &d->busy_timeout, DecodeDuration));
  LS_RETURN_IF_ERROR(Field(m, "min-checkpoint-page-count", &d->min_checkpoint_page_count, DecodeInt));
  LS_RETURN_IF_ERROR(Field(m, "truncate-page-n", &d->truncate_page_n, DecodeInt));
  LS_RETURN_IF_ERROR(Field(m, "max-sync-wal-bytes", &d->max_sync_wal_bytes, DecodeSize));
  LS_RETURN_IF_ERROR(Field(m, "restore-if-db-not-exists", &d->restore_if_db_not_exists, DecodeBool));
  if (auto it = m.find("snapshot"); it != m.end()) {
    LS_ASSIGN_OR_RETURN(KeyMap s, ToKeyMap(it->second.node, it->second.where + ".", it->second.where));
    LS_RETURN_IF_ERROR(Field(s, "interval", &d->snapshot_interval, DecodeOptDuration));
    LS_RETURN_IF_ERROR(Field(s, "retention", &d->snapshot_retention, DecodeOptDuration));
  }
  return Status::OK();
}

Status InvalidField(const std::string& field, const std::string& what, Duration got) {
  return Status::InvalidArgument(field + ": " + what + " (got " + FormatDuration(got) + ")");
}

// Upstream keeps snapshot settings global: a database's snapshot block is promoted unless the global block
// sets the value, and two databases may not disagree.
Status PromoteSnapshotSettings(const std::vector<RawDb>& dbs, const KeyMap& top, Config* c) {
  bool global_interval = false, global_retention = false;
  if (auto it = top.find("snapshot"); it != top.end() && it->second.node.IsMap()) {
    LS_ASSIGN_OR_RETURN(KeyMap m, ToKeyMap(it->second.node, "snapshot.", "snapshot"));
    global_interval = m.count("interval") > 0;
    global_retention = m.count("retention") > 0;
  }
  const RawDb* interval_db = nullptr;
  const RawDb* retention_db = nullptr;
  for (size_t i = 0; i < dbs.size(); i++) {
    const RawDb& r = dbs[i];
    std::string label = "dbs[" + std::to_string(i) + "] (" + r.db.Name() + ")";
    if (r.db.snapshot_interval && r.db.snapshot_interval->count() <= 0) {
      return InvalidField(label + ": snapshot.interval", "snapshot interval must be greater than 0",
                          *r.db.snapshot_interval);
    }
    if (r.db.snapshot_retention && r.db.snapshot_retention->count() <= 0) {
      return InvalidField(label + ": snapshot.retention", "snapshot retention must be greater than 0",
                          *r.db.snapshot_retention);
    }
    if (r.db.snapshot_interval) {
      if (interval_db != nullptr && *interval_db->db.snapshot_interval != *r.db.snapshot_interval) {
        return Status::InvalidArgument("conflicting database snapshot intervals: " + interval_db->db.Name() +
                                       " has " + FormatDuration(*interval_db->db.snapshot_interval) + ", " +
                                       r.db.Name() + " has " + FormatDuration(*r.db.snapshot_interval));
      }
      interval_db = &r;
    }
    if (r.db.snapshot_retention) {
      if (retention_db != nullptr && *retention_db->db.snapshot_retention != *r.db.snapshot_retention) {
        return Status::InvalidArgument(
            "conflicting database snapshot retentions: " + retention_db->db.Name() + " has " +
            FormatDuration(*retention_db->db.snapshot_retention) + ", " + r.db.Name() + " has " +
            FormatDuration(*r.db.snapshot_retention));
      }
      retention_db = &r;
    }
  }
  if (!global_interval && interval_db != nullptr) c->snapshot.interval = *interval_db->db.snapshot_interval;
  if (!global_retention && retention_db != nullptr)
    c->snapshot.retention = *retention_db->db.snapshot_retention;
  return Status::OK();
}

Status ValidateGlobals(const Config& c) {
  if (c.snapshot.interval.count() <= 0) {
    return InvalidField("snapshot.interval", "snapshot interval must be greater than 0", c.snapshot.interval);
  }
  if (c.snapshot.retention.count() <= 0) {
    return InvalidField("snapshot.retention", "snapshot retention must be greater than 0",
                        c.snapshot.retention);
  }
  if (c.l0_retention.count() < 0) {
    return InvalidField("l0-retention", "l0 retention must not be negative", c.l0_retention);
  }
  if (c.l0_retention_check_interval.count() <= 0) {
    return InvalidField("l0-retention-check-interval", "l0 retention check interval must be greater than 0",
                        c.l0_retention_check_interval);
  }
  if (c.shutdown_sync_timeout.count() < 0) {
    return InvalidField("shutdown-sync-timeout", "shutdown-sync-timeout must be >= 0",
                        c.shutdown_sync_timeout);
  }
  if (c.shutdown_sync_interval.count() <= 0) {
    return InvalidField("shutdown-sync-interval", "shutdown sync interval must be greater than 0",
                        c.shutdown_sync_interval);
  }
  if (!c.heartbeat_url.empty() && c.heartbeat_url.rfind("http://", 0) != 0 &&
      c.heartbeat_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("heartbeat-url: heartbeat URL must be a valid HTTP or HTTPS URL (got " +
                                   c.heartbeat_url + ")");
  }
  if (c.heartbeat_interval < kMinHeartbeatInterval) {
    return InvalidField("heartbeat-interval", "heartbeat interval must be at least 1 minute",
                        c.heartbeat_interval);
  }
  if (c.levels.size() > kMaxCompactionLevels) {
    return Status::InvalidArgument("levels: at most " + std::to_string(kMaxCompactionLevels) +
                                   " compaction levels are allowed (got " + std::to_string(c.levels.size()) +
                                   ")");
  }
  for (size_t i = 0; i < c.levels.size(); i++) {
    if (c.levels[i].count() <= 0) {
      return InvalidField("levels[" + std::to_string(i) + "].interval",
                          "compaction interval must be greater than 0", c.levels[i]);
    }
  }
  if (c.validation_interval && c.validation_interval->count() < 0) {
    return InvalidField("validation.interval", "validation interval must not be negative",
                        *c.validation_interval);
  }
  const std::string& t = c.logging.type;
  if (!t.empty() && t != "text" && t != "json" && t != "pretty") {
    return Status::InvalidArgument("logging.type: must be text, json or pretty (got \"" + t + "\")");
  }
  return Status::OK();
}

Status ValidateDb(const DbConfig& d) {
  if (!d.path.empty() && !d.dir.empty())
    return Status::InvalidArgument("cannot specify both 'path' and 'dir'");
  if (d.path.empty() && d.dir.empty()) return Status::InvalidArgument("must specify either 'path' or 'dir'");
  if (!d.dir.empty() && d.pattern.empty())
    return Status::InvalidArgument("'pattern' is required when using 'dir'");
  if (d.watch && d.dir.empty())
    return Status::InvalidArgument("'watch' can only be enabled with a directory");
  if (d.meta_dir && d.dir.empty())
    return Status::InvalidArgument("'meta-dir' can only be used with a directory");
  if (d.meta_path && d.meta_dir)
    return Status::InvalidArgument("cannot specify both 'meta-path' and 'meta-dir'");
  if (d.snapshot_interval && d.snapshot_interval->count() <= 0) {
    return InvalidField("snapshot.interval", "snapshot interval must be greater than 0",
                        *d.snapshot_interval);
  }
  if (d.snapshot_retention && d.snapshot_retention->count() <= 0) {
    return InvalidField("snapshot.retention", "snapshot retention must be greater than 0",
                        *d.snapshot_retention);
  }
  if (d.monitor_interval.count() < 0) {
    return InvalidField("monitor-interval", "monitor interval must not be negative", d.monitor_interval);
  }
  if (d.checkpoint_interval.count() < 0) {
    return InvalidField("checkpoint-interval", "checkpoint interval must not be negative",
                        d.checkpoint_interval);
  }
  if (d.busy_timeout.count() < 0) {
    return InvalidField("busy-timeout", "busy timeout must not be negative", d.busy_timeout);
  }
  if (d.min_checkpoint_page_count <= 0) {
    return Status::InvalidArgument("min-checkpoint-page-count: must be greater than 0 (got " +
                                   std::to_string(d.min_checkpoint_page_count) + ")");
  }
  if (d.max_sync_wal_bytes < 0) return Status::InvalidArgument("max-sync-wal-bytes: must not be negative");
  return Status::OK();
}

// The replica of one database entry: `replica:` or the single element of `replicas:`.
Status ResolveDbReplica(const RawDb& raw, const KeyMap& top, const EnvLookup& env, ReplicaConfig* out) {
  auto rep = raw.keys.find("replica");
  auto reps = raw.keys.find("replicas");
  bool has_list = reps != raw.keys.end() && reps->second.node.IsSequence() && reps->second.node.size() > 0;
  if (reps != raw.keys.end() && !reps->second.node.IsSequence()) {
    return Status::InvalidArgument("replicas: expected a list");
  }
  if (rep != raw.keys.end() && has_list) {
    return Status::InvalidArgument("cannot specify 'replica' and 'replicas' on a database");
  }
  if (has_list && reps->second.node.size() > 1) {
    return Status::InvalidArgument("multiple replicas on a single database are no longer supported");
  }
  if (rep == raw.keys.end() && !has_list) return Status::InvalidArgument("must specify replica for database");
  YAML::Node node = rep != raw.keys.end() ? rep->second.node : reps->second.node[0];
  std::string label = rep != raw.keys.end() ? "replica" : "replicas[0]";
  LS_ASSIGN_OR_RETURN(KeyMap own, ToKeyMap(node, raw.prefix + label + ".", raw.prefix + label));
  Result<ReplicaConfig> r = config_internal::ResolveReplica(own, top, env);
  if (!r.ok()) {
    // Decoding errors already name the full key ("dbs[0].replica.sync-interval: ...").
    if (r.status().message().rfind(raw.prefix, 0) == 0) return r.status();
    return r.status().WithContext(label);
  }
  *out = std::move(r).value();
  return Status::OK();
}

Result<Config> ParseExpanded(const std::string& text, const ParseOptions& options) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("parse config: yaml: line " + std::to_string(e.mark.line + 1) +
                                   ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Config c = DefaultConfig();
  LS_ASSIGN_OR_RETURN(KeyMap top, ToKeyMap(root, "", "config"));
  LS_RETURN_IF_ERROR(DecodeGlobals(top, &c));

  std::vector<RawDb> raws;
  if (auto it = top.find("dbs"); it != top.end()) {
    const YAML::Node& n = it->second.node;
    if (!n.IsSequence()) return Status::InvalidArgument("dbs: expected a list of databases");
    size_t i = 0;
    for (const YAML::Node& e : n) {
      RawDb raw;
      raw.prefix = "dbs[" + std::to_string(i) + "].";
      LS_ASSIGN_OR_RETURN(raw.keys, ToKeyMap(e, raw.prefix, "dbs[" + std::to_string(i) + "]"));
      i++;
      LS_RETURN_IF_ERROR(DecodeDb(raw.keys, options.env, &raw.db));
      raws.push_back(std::move(raw));
    }
  }
  LS_RETURN_IF_ERROR(PromoteSnapshotSettings(raws, top, &c));
  if (options.env) {
    std::optional<std::string> level = options.env("LOG_LEVEL");
    if (level && !level->empty()) c.logging.level = *level;
  }
  LS_RETURN_IF_ERROR(ValidateGlobals(c));

  std::map<std::string, size_t> meta_paths;
  for (size_t i = 0; i < raws.size(); i++) {
    RawDb& raw = raws[i];
    std::string label = "dbs[" + std::to_string(i) + "]";
    if (!raw.db.Name().empty()) label += " (" + raw.db.Name() + ")";
    Status s = ValidateDb(raw.db);
    if (s.ok()) s = ResolveDbReplica(raw, top, options.env, &raw.db.replica);
    if (!s.ok()) return s.message().rfind(raw.prefix, 0) == 0 ? s : s.WithContext(label);
    if (!raw.db.path.empty()) {
      std::string meta = EffectiveMetaPath(raw.db);
      auto [it, inserted] = meta_paths.emplace(meta, i);
      if (!inserted) {
        return Status::InvalidArgument(label + ": meta-path collision: databases " + c.dbs[it->second].path +
                                       " and " + raw.db.path + " would share meta path " + meta);
      }
    }
    c.dbs.push_back(std::move(raw.db));
  }
  return c;
}

}  // namespace

Config DefaultConfig() { return Config{}; }

Result<Config> ParseConfig(std::string_view yaml_text, const ParseOptions& options) {
  try {
    std::string text;
    if (options.reject_env_references) {
      LS_RETURN_IF_ERROR(CheckNoEnvReferences(yaml_text));
      text = std::string(yaml_text);
    } else if (options.expand_env) {
      text = ExpandConfigEnv(yaml_text, options.env);
    } else {
      text = std::string(yaml_text);
    }
    return ParseExpanded(text, options);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("parse config: ") + e.what());
  }
}

Result<Config> LoadConfigFile(const std::string& path, const ParseOptions& options) {
  LS_ASSIGN_OR_RETURN(std::string expanded, ExpandPath(path, options.env));
  Result<std::vector<uint8_t>> data = ReadFileToVector(*FileSystem::Default(), expanded, size_t{64} << 20);
  if (!data.ok()) {
    if (data.status().IsNotFound()) return Status::NotFound("config file not found: " + expanded);
    return data.status();
  }
  std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  return ParseConfig(text, options);
}

}  // namespace litestream
