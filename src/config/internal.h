// Helpers shared by the files of src/config/. Not part of the public API.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "litestream/config.h"

namespace litestream::config_internal {

// A parsed URL, as much of Go's net/url as replica URLs need. Components are percent-decoded.
struct ParsedURL {
  std::string scheme;  // lower-cased
  bool has_userinfo = false;
  std::string username;
  std::optional<std::string> password;
  std::string host;  // host[:port], as written
  std::string path;  // decoded; "" when absent
  std::vector<std::pair<std::string, std::string>> query;

  // First value of `key`, or "" (url.Values.Get).
  std::string Get(std::string_view key) const;
};

// Parses "scheme://[user[:pass]@]host[/path][?query][#fragment]". InvalidArgument on a malformed URL or a
// bad percent escape.
Result<ParsedURL> ParseURL(std::string_view raw);

// Go's path.Clean (slash-separated, lexical).
std::string CleanPath(std::string_view p);
// Go's filepath.Join for absolute/relative POSIX paths (Clean of the "/"-joined non-empty parts).
std::string JoinPath(std::string_view a, std::string_view b);

// Parses a YAML-1.1 style integer: optional sign, "_" separators, 0x / 0o / 0b prefixes, leading 0 = octal.
bool ParseYamlInt(std::string_view text, int64_t* out);

// S3 host forms ("bucket.s3.us-west-2.amazonaws.com", "bucket.localhost:9000", ...).
struct S3HostInfo {
  std::string bucket;
  std::string region;
  std::string endpoint;
  bool force_path_style = false;
  bool endpoint_from_host = false;
};
S3HostInfo ParseS3Host(std::string_view host);
// OSS host forms ("bucket.oss-cn-hangzhou.aliyuncs.com", "...-internal...").
void ParseOssHost(std::string_view host, std::string* bucket, std::string* region);

}  // namespace litestream::config_internal
