// Replica configuration: the per-replica keys, the merge with the global replica defaults, the replica
// URL, and the per-backend resolution (required fields, provider defaults, credential fallbacks).
//
// Precedence, highest first: the replica's own keys, then what its `url:` says, then the global keys.
// (Upstream merges the global keys into the replica before reading the URL, so a global `bucket:` next to
// a replica `url:` is an error there and a global `region:` beats the URL's; docs/config.md.)
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "config/internal.h"
#include "config/yaml_decode.h"

namespace litestream {
namespace config_internal {
namespace {

using Apply = Status (*)(const Value&, ReplicaConfig*);

struct KeySpec {
  const char* key;
  bool inherited;  // taken from the global (top-level) replica defaults
  Apply apply;
};

#define LS_KEY(name, inherited, decoder, field)                                             \
  KeySpec {                                                                                 \
    name, inherited, [](const Value& v, ReplicaConfig* r) { return decoder(v, &r->field); } \
  }

Status DecodeEncoding(const Value& v, LtxEncoding* out) {
  std::string s;
  LS_RETURN_IF_ERROR(DecodeString(v, &s));
  if (s == "frame") {
    *out = LtxEncoding::kFrame;
  } else if (s == "block") {
    *out = LtxEncoding::kBlock;
  } else {
    return Status::InvalidArgument(v.where + ": must be \"frame\" or \"block\", got \"" + s + "\"");
  }
  return Status::OK();
}

// Every replica key. Not inherited from the globals, as upstream: path, part-size, concurrency, host-key
// and the webdav-* keys. skip-verify is special (a global true forces it on; see ResolveReplica).
const std::vector<KeySpec>& ReplicaKeys() {
  static const std::vector<KeySpec> keys = {
      LS_KEY("path", false, DecodeString, path),
      LS_KEY("sync-interval", true, DecodeDuration, sync_interval),
      LS_KEY("validation-interval", true, DecodeOptDuration, validation_interval),
      LS_KEY("max-sync-ltx-files", true, DecodeInt, max_sync_ltx_files),
      LS_KEY("auto-recover", true, DecodeBool, auto_recover),
      LS_KEY("ltx-encoding", true, DecodeEncoding, ltx_encoding),
      LS_KEY("access-key-id", true, DecodeString, access_key_id),
      LS_KEY("secret-access-key", true, DecodeString, secret_access_key),
      LS_KEY("region", true, DecodeString, region),
      LS_KEY("bucket", true, DecodeString, bucket),
      LS_KEY("endpoint", true, DecodeString, endpoint),
      LS_KEY("force-path-style", true, DecodeOptBool, force_path_style),
      LS_KEY("sign-payload", true, DecodeOptBool, sign_payload),
      LS_KEY("require-content-md5", true, DecodeOptBool, require_content_md5),
      LS_KEY("skip-verify", true, DecodeBool, skip_verify),
      LS_KEY("storage-class", true, DecodeString, storage_class),
      LS_KEY("part-size", false, DecodeOptSize, part_size),
      LS_KEY("concurrency", false, DecodeOptInt, concurrency),
      LS_KEY("sse-customer-algorithm", true, DecodeString, sse_customer_algorithm),
      LS_KEY("sse-customer-key", true, DecodeString, sse_customer_key),
      LS_KEY("sse-customer-key-path", true, DecodeString, sse_customer_key_path),
      LS_KEY("sse-customer-key-md5", false, DecodeString, sse_customer_key_md5),
      LS_KEY("sse-kms-key-id", true, DecodeString, sse_kms_key_id),
      LS_KEY("account-name", true, DecodeString, account_name),
      LS_KEY("account-key", true, DecodeString, account_key),
      LS_KEY("sas-token", true, DecodeString, sas_token),
      LS_KEY("host", true, DecodeString, host),
      LS_KEY("user", true, DecodeString, user),
      LS_KEY("password", true, DecodeString, password),
      LS_KEY("key-path", true, DecodeString, key_path),
      LS_KEY("concurrent-writes", true, DecodeBool, concurrent_writes),
      LS_KEY("host-key", false, DecodeString, host_key),
      LS_KEY("webdav-url", false, DecodeString, webdav_url),
      LS_KEY("webdav-username", false, DecodeString, webdav_username),
      LS_KEY("webdav-password", false, DecodeString, webdav_password),
      LS_KEY("jwt", true, DecodeString, jwt),
      LS_KEY("seed", true, DecodeString, seed),
      LS_KEY("creds", true, DecodeString, creds),
      LS_KEY("nkey", true, DecodeString, nkey),
      LS_KEY("username", true, DecodeString, username),
      LS_KEY("token", true, DecodeString, token),
      LS_KEY("tls", true, DecodeBool, tls),
      LS_KEY("root-cas", true, DecodeStringList, root_cas),
      LS_KEY("client-cert", true, DecodeString, client_cert),
      LS_KEY("client-key", true, DecodeString, client_key),
      LS_KEY("max-reconnects", true, DecodeInt, max_reconnects),
      LS_KEY("reconnect-wait", true, DecodeDuration, reconnect_wait),
      LS_KEY("timeout", true, DecodeDuration, timeout),
      LS_KEY("_nats-url", false, DecodeString, nats_url),  // only ever set from a nats:// URL
  };
  return keys;
}
#undef LS_KEY

const KeySpec* FindKey(const std::string& key) {
  for (const auto& k : ReplicaKeys()) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

bool Has(const KeyMap& m, const char* key) { return m.find(key) != m.end(); }

// True if an `age:` block names any identity or recipient.
bool HasAge(const KeyMap& m) {
  auto it = m.find("age");
  if (it == m.end() || !it->second.node.IsMap()) return false;
  for (const char* k : {"identities", "recipients"}) {
    const YAML::Node& n = it->second.node;
    for (const auto& e : n) {
      if (e.first.IsScalar() && e.first.Scalar() == k && e.second.IsDefined() && !e.second.IsNull() &&
          (e.second.size() > 0 || (e.second.IsScalar() && !e.second.Scalar().empty()))) {
        return true;
      }
    }
  }
  return false;
}

Result<bool> ParseQueryBool(const std::string& key, const std::string& raw) {
  std::string s = raw;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "1" || s == "t" || s == "yes") return true;
  if (s == "false" || s == "0" || s == "f" || s == "no") return false;
  return Status::InvalidArgument("invalid value for query parameter \"" + key + "\": \"" + raw +
                                 "\" (want true/1/t/yes or false/0/f/no)");
}

// The first of `keys` present in the query: its name and value.
bool QueryLookup(const ParsedURL& u, std::initializer_list<const char*> keys, std::string* key,
                 std::string* value) {
  for (const char* k : keys) {
    std::string v = u.Get(k);
    if (!v.empty()) {
      *key = k;
      *value = v;
      return true;
    }
  }
  return false;
}

// Replica keys from the query string of an s3:// URL.
Status S3QueryKeys(const ParsedURL& u, const std::string& where, bool include_sse, KeyMap* out) {
  std::string k, v;
  auto put = [&](const char* name, const std::string& value) {
    Put(out, name, MakeValue(value, where + " (" + k + ")"));
  };
  if (QueryLookup(u, {"endpoint"}, &k, &v)) put("endpoint", EnsureEndpointScheme(v));
  if (QueryLookup(u, {"region"}, &k, &v)) put("region", v);
  struct BoolParam {
    const char* camel;
    const char* kebab;
    const char* key;
  };
  for (const BoolParam& p : {BoolParam{"forcePathStyle", "force-path-style", "force-path-style"},
                             BoolParam{"skipVerify", "skip-verify", "skip-verify"},
                             BoolParam{"signPayload", "sign-payload", "sign-payload"},
                             BoolParam{"requireContentMD5", "require-content-md5", "require-content-md5"}}) {
    if (QueryLookup(u, {p.camel, p.kebab}, &k, &v)) {
      LS_ASSIGN_OR_RETURN(bool b, ParseQueryBool(k, v));
      put(p.key, b ? "true" : "false");
    }
  }
  for (const auto& [camel, kebab] :
       {std::pair{"partSize", "part-size"}, std::pair{"concurrency", "concurrency"}}) {
    if (QueryLookup(u, {camel, kebab}, &k, &v)) {
      int64_t n = 0;
      bool digits = std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || v.size() > 18 || (n = std::stoll(v)) <= 0 ||
          (std::string_view(kebab) == "concurrency" && n > INT32_MAX)) {
        return Status::InvalidArgument("invalid value for query parameter \"" + k + "\": \"" + v +
                                       "\" (must be a positive integer)");
      }
      put(kebab, std::to_string(n));
    }
  }
  if (QueryLookup(u, {"storageClass", "storage-class"}, &k, &v)) put("storage-class", v);
  if (include_sse) {
    if (QueryLookup(u, {"sseCustomerAlgorithm", "sse-customer-algorithm"}, &k, &v))
      put("sse-customer-algorithm", v);
    if (QueryLookup(u, {"sseCustomerKey", "sse-customer-key"}, &k, &v)) put("sse-customer-key", v);
    if (QueryLookup(u, {"sseCustomerKeyMD5", "sse-customer-key-md5"}, &k, &v)) put("sse-customer-key-md5", v);
    if (QueryLookup(u, {"sseKmsKeyId", "sse-kms-key-id"}, &k, &v)) put("sse-kms-key-id", v);
  }
  return Status::OK();
}

// "path/inside/bucket" as upstream derives it from a URL path: TrimPrefix(path.Clean(p), "/").
// (An empty URL path gives ".", as upstream, whose S3 keys then start with "./".)
std::string BucketPath(const std::string& p) {
  std::string c = CleanPath(p);
  if (!c.empty() && c[0] == '/') c.erase(0, 1);
  return c;
}

}  // namespace

Result<KeyMap> UrlKeys(const std::string& raw, const std::string& where, bool cli, const EnvLookup& env) {
  KeyMap out;
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) Put(&out, key, MakeValue(value, where));
  };
  std::string lower = raw.substr(0, 9);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "s3://arn:") {
    // s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME[/path][?query]
    std::string rest = raw.substr(5);
    std::string query;
    if (size_t q = rest.find('?'); q != std::string::npos) {
      query = rest.substr(q);
      rest = rest.substr(0, q);
    }
    std::string rest_lower = rest;
    for (char& c : rest_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t marker = rest_lower.find(":accesspoint/");
    if (marker == std::string::npos || marker + 13 >= rest.size()) {
      return Status::InvalidArgument("invalid s3 access point arn: " + rest);
    }
    size_t slash = rest.find('/', marker + 13);
    std::string bucket = slash == std::string::npos ? rest : rest.substr(0, slash);
    std::string key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    put("bucket", bucket);
    std::string cleaned = key.empty() ? "" : CleanPath("/" + key).substr(1);
    put("path", cleaned);
    // The region is the 4th ":" field of the ARN.
    size_t pos = 0;
    for (int i = 0; i < 3 && pos != std::string::npos; i++) pos = bucket.find(':', pos + 1);
    if (pos != std::string::npos) put("region", bucket.substr(pos + 1, bucket.find(':', pos + 1) - pos - 1));
    LS_ASSIGN_OR_RETURN(ParsedURL qu, ParseURL("s3://x/" + query));
    LS_RETURN_IF_ERROR(S3QueryKeys(qu, where, cli, &out));
    return out;
  }

  LS_ASSIGN_OR_RETURN(ParsedURL u, ParseURL(raw));
  const std::string& s = u.scheme;
  if (s == "file") {
    // Upstream: path.Clean of the URL without its scheme; a host is part of the path ("file://a/b" = "/a/b").
    std::string p = u.host.empty() ? u.path : "//" + u.host + u.path;
    if (!p.empty()) put("path", CleanPath(p));
  } else if (s == "s3") {
    S3HostInfo h = ParseS3Host(u.host);
    put("bucket", h.bucket);
    put("region", h.region);
    put("endpoint", h.endpoint.empty() ? "" : EnsureEndpointScheme(h.endpoint));
    if (h.endpoint_from_host) put("force-path-style", h.force_path_style ? "true" : "false");
    put("path", BucketPath(u.path));
    LS_RETURN_IF_ERROR(S3QueryKeys(u, where, cli, &out));
    if (cli && !Has(out, "endpoint") && env) {
      std::string e = env("LITESTREAM_S3_ENDPOINT").value_or("");
      if (!e.empty()) {
        Put(&out, "endpoint", MakeValue(EnsureEndpointScheme(e), "LITESTREAM_S3_ENDPOINT"));
        if (!Has(out, "force-path-style"))
          Put(&out, "force-path-style", MakeValue("true", "LITESTREAM_S3_ENDPOINT"));
      }
    }
  } else if (s == "gs") {
    put("bucket", u.host);
    put("path", BucketPath(u.path));
  } else if (s == "abs") {
    put("account-name", u.username);
    put("bucket", u.host);
    put("path", BucketPath(u.path));
  } else if (s == "sftp") {
    put("host", u.host);
    put("user", u.username);
    put("password", u.password.value_or(""));
    put("path", u.path);
  } else if (s == "webdav" || s == "webdavs") {
    if (!u.host.empty()) put("webdav-url", (s == "webdavs" ? "https://" : "http://") + u.host);
    put("webdav-username", u.username);
    put("webdav-password", u.password.value_or(""));
    put("path", u.path);
  } else if (s == "nats") {
    if (!u.host.empty()) put("_nats-url", "nats://" + u.host);
    put("username", u.username);
    put("password", u.password.value_or(""));
    std::string bucket = BucketPath(u.path);
    bucket.erase(0, bucket.find_first_not_of('/'));
    while (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
    if (bucket != ".") put("bucket", bucket);
  } else if (s == "oss") {
    std::string bucket, region;
    ParseOssHost(u.host, &bucket, &region);
    put("bucket", bucket);
    put("region", region);
    put("path", BucketPath(u.path));
  } else {
    return Status::InvalidArgument("unsupported replica URL scheme: \"" + s + "\"");
  }
  return out;
}

namespace {

Status ResolveByType(ReplicaConfig& r, const EnvLookup& env) {
  auto lookup = [&env](const char* name) -> std::string {
    if (!env) return {};
    return env(name).value_or("");
  };
  const std::string& t = r.type;
  if (t == "file") {
    if (r.path.empty() || r.path == ".") return Status::InvalidArgument("file replica path required");
    LS_ASSIGN_OR_RETURN(r.path, ExpandPath(r.path, env));
  } else if (t == "s3" || t == "oss") {
    if (r.bucket.empty()) return Status::InvalidArgument("bucket required for " + t + " replica");
    if (r.access_key_id.empty()) {
      r.access_key_id = lookup("AWS_ACCESS_KEY_ID");
      if (r.access_key_id.empty()) r.access_key_id = lookup("LITESTREAM_ACCESS_KEY_ID");
    }
    if (r.secret_access_key.empty()) {
      r.secret_access_key = lookup("AWS_SECRET_ACCESS_KEY");
      if (r.secret_access_key.empty()) r.secret_access_key = lookup("LITESTREAM_SECRET_ACCESS_KEY");
    }
    if (r.concurrency && *r.concurrency <= 0)
      return Status::InvalidArgument("concurrency must be greater than 0");
    if (t == "oss") {
      if (r.region.empty()) r.region = "cn-hangzhou";
      if (!r.concurrency) r.concurrency = 3;
      if (!r.part_size) r.part_size = int64_t{5} << 20;
      if (*r.part_size <= 0) return Status::InvalidArgument("part-size must be greater than 0");
      return Status::OK();
    }
    if (!r.endpoint.empty()) r.endpoint = EnsureEndpointScheme(r.endpoint);
    ApplyS3ProviderDefaults(&r);
    if (*r.part_size < (int64_t{5} << 20)) {
      return Status::InvalidArgument("part-size must be at least 5MiB (5242880 bytes), got " +
                                     std::to_string(*r.part_size));
    }
    if ((!r.sse_customer_key.empty() || !r.sse_customer_key_path.empty()) &&
        r.sse_customer_algorithm.empty()) {
      r.sse_customer_algorithm = "AES256";
    }
    if (r.sse_customer_key_path == "~" || r.sse_customer_key_path.rfind("~/", 0) == 0) {
      LS_ASSIGN_OR_RETURN(r.sse_customer_key_path, ExpandPath(r.sse_customer_key_path, env));
    }
  } else if (t == "gs") {
    if (r.bucket.empty()) return Status::InvalidArgument("bucket required for gs replica");
  } else if (t == "abs") {
    if (r.bucket.empty()) return Status::InvalidArgument("bucket required for abs replica");
    if (r.sas_token.empty()) r.sas_token = lookup("LITESTREAM_AZURE_SAS_TOKEN");
    if (r.account_key.empty()) r.account_key = lookup("LITESTREAM_AZURE_ACCOUNT_KEY");
  } else if (t == "sftp") {
    if (r.host.empty()) return Status::InvalidArgument("host required for sftp replica");
    if (r.user.empty()) return Status::InvalidArgument("user required for sftp replica");
  } else if (t == "webdav") {
    if (r.webdav_url.empty()) return Status::InvalidArgument("webdav-url required for webdav replica");
  } else if (t == "nats") {
    if (r.bucket.empty()) return Status::InvalidArgument("bucket required for nats replica");
    if (r.client_cert.empty() != r.client_key.empty()) {
      return Status::InvalidArgument(
          "client-cert and client-key must both be specified for mutual TLS authentication");
    }
  } else {
    return Status::InvalidArgument("unknown replica type: \"" + t + "\"");
  }
  return Status::OK();
}

}  // namespace

Result<ReplicaConfig> ResolveReplicaWithUrl(const KeyMap& own, const KeyMap& global, const EnvLookup& env,
                                            bool cli) {
  if (HasAge(own) || HasAge(global)) {
    return Status::InvalidArgument(
        "age encryption is not currently supported, if you need encryption please revert back to Litestream "
        "v0.3.x");
  }
  ReplicaConfig r;
  if (auto it = own.find("url"); it != own.end()) LS_RETURN_IF_ERROR(DecodeString(it->second, &r.url));
  std::string own_path;
  if (auto it = own.find("path"); it != own.end()) LS_RETURN_IF_ERROR(DecodeString(it->second, &own_path));
  if (IsURL(own_path)) {
    return Status::InvalidArgument("replica path cannot be a url, please use the 'url' field instead: " +
                                   own_path);
  }
  KeyMap url_keys;
  if (!r.url.empty()) {
    if (!IsURL(r.url)) return Status::InvalidArgument("replica url scheme required: " + r.url);
    r.type = ReplicaTypeFromURL(r.url);
    auto where_it = own.find("url");
    std::string where = where_it != own.end() ? where_it->second.where : "url";
    LS_ASSIGN_OR_RETURN(url_keys, UrlKeys(r.url, where, cli, env));
    // The URL and these keys name the same thing; upstream refuses both.
    std::vector<const char*> exclusive = {"path"};
    if (r.type == "s3" || r.type == "gs" || r.type == "abs" || r.type == "oss") exclusive.push_back("bucket");
    if (r.type == "sftp") exclusive.push_back("host");
    if (r.type == "webdav") exclusive.push_back("webdav-url");
    if (r.type == "nats") exclusive = {};
    for (const char* k : exclusive) {
      if (Has(own, k)) {
        return Status::InvalidArgument(std::string("cannot specify url & ") + k + " for " + r.type +
                                       " replica");
      }
    }
  } else if (auto it = own.find("type"); it != own.end()) {
    LS_RETURN_IF_ERROR(DecodeString(it->second, &r.type));
  }
  if (r.type.empty()) r.type = "file";

  KeyMap merged;
  for (const auto& [k, v] : global) {
    const KeySpec* spec = FindKey(k);
    if (spec != nullptr && spec->inherited) Put(&merged, k, v);
  }
  for (const auto& [k, v] : url_keys) Put(&merged, k, v);
  for (const auto& [k, v] : own) Put(&merged, k, v);
  for (const auto& [k, v] : merged) {
    const KeySpec* spec = FindKey(k);
    if (spec != nullptr) LS_RETURN_IF_ERROR(spec->apply(v, &r));
  }
  // Upstream quirk kept: a global `skip-verify: true` turns verification off for every replica.
  if (auto it = global.find("skip-verify"); it != global.end()) {
    bool b = false;
    LS_RETURN_IF_ERROR(DecodeBool(it->second, &b));
    if (b) r.skip_verify = true;
  }
  if (r.sync_interval.count() <= 0) {
    return Status::InvalidArgument("sync-interval: sync interval must be greater than 0 (got " +
                                   FormatDuration(r.sync_interval) + ")");
  }
  if (r.max_sync_ltx_files < 0) return Status::InvalidArgument("max-sync-ltx-files must not be negative");
  LS_RETURN_IF_ERROR(ResolveByType(r, env));
  return r;
}

}  // namespace config_internal

Result<ReplicaConfig> ParseReplicaURL(std::string_view url, const EnvLookup& env) {
  try {
    if (!IsURL(url)) return Status::InvalidArgument("replica url scheme required: " + std::string(url));
    config_internal::KeyMap own;
    config_internal::Put(&own, "url", config_internal::MakeValue(std::string(url), "url"));
    return config_internal::ResolveReplicaWithUrl(own, {}, env, /*cli=*/true);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("replica url " + std::string(url) + ": " + e.what());
  }
}

}  // namespace litestream
