// YAML access for the config parser: values carry the dotted key path used in error messages, and every
// decoder returns a Status instead of throwing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "litestream/config.h"

namespace litestream::config_internal {

struct Value {
  YAML::Node node;
  std::string where;  // "dbs[0].replica.bucket", "sync-interval", "url (forcePathStyle)"
};
// The keys of one YAML mapping. Null values and empty scalars are left out: upstream treats them as unset.
using KeyMap = std::map<std::string, Value>;

// InvalidArgument if `node` is neither a map nor null. `prefix` is prepended to key paths ("dbs[0].").
Result<KeyMap> ToKeyMap(const YAML::Node& node, const std::string& prefix, const std::string& what);
Value MakeValue(const std::string& scalar, const std::string& where);
// Sets map[key] = value. Never assign over an existing Value: YAML::Node's assignment operator writes into
// the node it refers to, which would change the parsed document (and every other map sharing that node).
void Put(KeyMap* map, const std::string& key, Value value);

Status DecodeString(const Value& v, std::string* out);
Status DecodeBool(const Value& v, bool* out);
Status DecodeOptBool(const Value& v, std::optional<bool>* out);
Status DecodeInt(const Value& v, int* out);
Status DecodeOptInt(const Value& v, std::optional<int>* out);
Status DecodeInt64(const Value& v, int64_t* out);
Status DecodeUint32(const Value& v, uint32_t* out);
Status DecodeDuration(const Value& v, Duration* out);
Status DecodeOptDuration(const Value& v, std::optional<Duration>* out);
Status DecodeSize(const Value& v, int64_t* out);  // an integer or "5MiB"
Status DecodeOptSize(const Value& v, std::optional<int64_t>* out);
Status DecodeStringList(const Value& v, std::vector<std::string>* out);

// Replica keys read from a replica URL. `cli`: the rules for a URL given on the command line (SSE query
// parameters honoured, $LITESTREAM_S3_ENDPOINT used); a config file's `url:` ignores both, as upstream.
Result<KeyMap> UrlKeys(const std::string& raw, const std::string& where, bool cli, const EnvLookup& env);
// The replica of one database from its own keys and the global (top-level) keys; see replica.cc.
Result<ReplicaConfig> ResolveReplicaWithUrl(const KeyMap& own, const KeyMap& global, const EnvLookup& env,
                                            bool cli);
inline Result<ReplicaConfig> ResolveReplica(const KeyMap& own, const KeyMap& global, const EnvLookup& env) {
  return ResolveReplicaWithUrl(own, global, env, /*cli=*/false);
}

}  // namespace litestream::config_internal
