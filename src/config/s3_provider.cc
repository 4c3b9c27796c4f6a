// S3-compatible provider detection and the defaults each provider needs (SURFACE.md §2.7), plus the
// bucket-in-host forms of S3 and OSS URLs.
#include <algorithm>
#include <cctype>
#include <regex>
#include <string>
#include <vector>

#include "config/internal.h"

namespace litestream {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool Contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host[:port] of an endpoint written with or without a scheme; "" if it carries credentials.
std::string EndpointHost(std::string_view endpoint) {
  std::string e = Lower(endpoint);
  size_t b = e.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  e = e.substr(b, e.find_last_not_of(" \t\r\n") - b + 1);
  std::string_view rest = e;
  if (StartsWith(rest, "http://") || StartsWith(rest, "https://")) {
    std::string_view after = rest.substr(rest.find("://") + 3);
    std::string_view authority = after.substr(0, after.find_first_of("/?#"));
    if (!authority.empty()) {
      if (Contains(authority, "@")) return {};
      return std::string(authority);
    }
  }
  if (Contains(rest.substr(0, rest.find_first_of("/?#")), "@")) return {};
  return e;
}

bool IsGcsHost(std::string host) {
  // Strip a port, then a trailing dot.
  if (size_t c = host.rfind(':'); c != std::string::npos && host.find(']') == std::string::npos) {
    host = host.substr(0, c);
  }
  if (!host.empty() && host.back() == '.') host.pop_back();
  std::vector<std::string> labels;
  size_t pos = 0;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string::npos) dot = host.size();
    labels.push_back(host.substr(pos, dot - pos));
    pos = dot + 1;
  }
  size_t n = labels.size();
  if (n < 3 || labels[n - 2] != "googleapis" || labels[n - 1] != "com") return false;
  for (const auto& l : labels) {
    if (l.empty()) return false;
  }
  auto has_storage_segment = [](const std::string& label) {
    size_t p = 0;
    while (p <= label.size()) {
      size_t dash = label.find('-', p);
      if (dash == std::string::npos) dash = label.size();
      if (label.compare(p, dash - p, "storage") == 0 && dash - p == 7) return true;
      p = dash + 1;
    }
    return false;
  };
  if (n > 3 && has_storage_segment(labels[1])) return false;
  return has_storage_segment(labels[0]);
}

}  // namespace

bool IsLocalEndpoint(std::string_view endpoint) {
  std::string host = EndpointHost(endpoint);
  if (host.empty()) return false;
  if (size_t c = host.rfind(':'); c != std::string::npos) host = host.substr(0, c);
  return host == "localhost" || host == "127.0.0.1" || StartsWith(host, "192.168.") ||
         StartsWith(host, "10.") || StartsWith(host, "172.16.") || StartsWith(host, "172.17.") ||
         StartsWith(host, "172.18.") || StartsWith(host, "172.19.") || StartsWith(host, "172.2") ||
         StartsWith(host, "172.30.") || StartsWith(host, "172.31.") || EndsWith(host, ".local") ||
         EndsWith(host, ".localhost");
}

std::string EnsureEndpointScheme(std::string_view endpoint) {
  if (endpoint.empty()) return {};
  if (StartsWith(endpoint, "http://") || StartsWith(endpoint, "https://")) return std::string(endpoint);
  return (IsLocalEndpoint(endpoint) ? "http://" : "https://") + std::string(endpoint);
}

S3Provider DetectS3Provider(std::string_view endpoint) {
  std::string host = EndpointHost(endpoint);
  if (host.empty()) return S3Provider::kGeneric;
  if (host == "fly.storage.tigris.dev" || host == "t3.storage.dev") return S3Provider::kTigris;
  if (EndsWith(host, ".your-objectstorage.com")) return S3Provider::kHetzner;
  if (EndsWith(host, ".digitaloceanspaces.com")) return S3Provider::kDigitalOcean;
  if (EndsWith(host, ".scw.cloud")) return S3Provider::kScaleway;
  if (EndsWith(host, ".backblazeb2.com")) return S3Provider::kBackblaze;
  if (host == "s3.filebase.com") return S3Provider::kFilebase;
  if (EndsWith(host, ".supabase.co")) return S3Provider::kSupabase;
  if (EndsWith(host, ".r2.cloudflarestorage.com")) return S3Provider::kCloudflareR2;
  if (IsGcsHost(host)) return S3Provider::kGoogleCloudStorage;
  if (Contains(host, ":")) {
    static const char* const kKnownClouds[] = {
        ".amazonaws.com", ".digitaloceanspaces.com",   ".backblazeb2.com", ".filebase.com",
        ".scw.cloud",     ".r2.cloudflarestorage.com", "tigris.dev",       "t3.storage.dev",
        ".supabase.co"};
    bool known = std::any_of(std::begin(kKnownClouds), std::end(kKnownClouds),
                             [&](const char* k) { return Contains(host, k); });
    if (!known) return S3Provider::kMinIO;
  }
  return S3Provider::kGeneric;
}

std::string_view S3ProviderName(S3Provider p) {
  switch (p) {
    case S3Provider::kGeneric:
      return "generic";
    case S3Provider::kTigris:
      return "tigris";
    case S3Provider::kHetzner:
      return "hetzner";
    case S3Provider::kDigitalOcean:
      return "digitalocean";
    case S3Provider::kScaleway:
      return "scaleway";
    case S3Provider::kBackblaze:
      return "backblaze";
    case S3Provider::kFilebase:
      return "filebase";
    case S3Provider::kSupabase:
      return "supabase";
    case S3Provider::kCloudflareR2:
      return "cloudflare-r2";
    case S3Provider::kGoogleCloudStorage:
      return "gcs";
    case S3Provider::kMinIO:
      return "minio";
  }
  return "generic";
}

void ApplyS3ProviderDefaults(ReplicaConfig* r) {
  S3Provider p = DetectS3Provider(r->endpoint);
  // Every detected provider needs signed payloads; that is also the default for AWS.
  if (!r->sign_payload) r->sign_payload = true;
  if (!r->require_content_md5) r->require_content_md5 = p != S3Provider::kTigris;
  if (!r->force_path_style) {
    bool path_style_provider = p == S3Provider::kFilebase || p == S3Provider::kBackblaze ||
                               p == S3Provider::kMinIO || p == S3Provider::kSupabase;
    r->force_path_style = path_style_provider || !r->endpoint.empty();
  }
  if (!r->concurrency) r->concurrency = p == S3Provider::kCloudflareR2 ? 2 : 5;
  if (!r->part_size) r->part_size = int64_t{5} << 20;
}

namespace config_internal {

S3HostInfo ParseS3Host(std::string_view host_view) {
  std::string host(host_view);
  S3HostInfo info;
  // MinIO style: bucket.host:port (http).
  if (Contains(host, ":") && !Contains(host, ".com")) {
    size_t dot = host.find('.');
    info.endpoint_from_host = true;
    info.force_path_style = true;
    if (dot != std::string::npos) {
      info.bucket = host.substr(0, dot);
      info.endpoint = "http://" + host.substr(dot + 1);
      info.region = "us-east-1";
    } else {
      info.endpoint = "http://" + host;
    }
    return info;
  }
  static const std::regex kAws(R"(^(.+)\.s3(?:\.([^.]+))?\.amazonaws\.com$)");
  static const std::regex kDigitalOcean(R"(^(?:(.+)\.)?([^.]+)\.digitaloceanspaces.com$)");
  static const std::regex kBackblaze(R"(^(?:(.+)\.)?s3.([^.]+)\.backblazeb2.com$)");
  static const std::regex kFilebase(R"(^(?:(.+)\.)?s3.filebase.com$)");
  static const std::regex kScaleway(R"(^(?:(.+)\.)?s3.([^.]+)\.scw\.cloud$)");
  std::smatch m;
  if (std::regex_match(host, m, kAws)) {
    info.bucket = m[1];
    info.region = m[2];
  } else if (std::regex_match(host, m, kDigitalOcean)) {
    info.bucket = m[1];
    info.region = m[2];
    info.endpoint = "https://" + info.region + ".digitaloceanspaces.com";
    info.endpoint_from_host = true;
  } else if (std::regex_match(host, m, kBackblaze)) {
    info.bucket = m[1];
    info.region = m[2];
    info.endpoint = "https://s3." + info.region + ".backblazeb2.com";
    info.force_path_style = true;
    info.endpoint_from_host = true;
  } else if (std::regex_match(host, m, kFilebase)) {
    info.bucket = m[1];
    info.endpoint = "https://s3.filebase.com";
    info.force_path_style = true;  // upstream's provider default; the host form alone says false
    info.endpoint_from_host = true;
  } else if (std::regex_match(host, m, kScaleway)) {
    info.bucket = m[1];
    info.region = m[2];
    info.endpoint = "https://s3." + info.region + ".scw.cloud";
    info.endpoint_from_host = true;
  } else {
    info.bucket = host;
  }
  return info;
}

void ParseOssHost(std::string_view host_view, std::string* bucket, std::string* region) {
  std::string host(host_view);
  static const std::regex kInternal(R"(^(?:([^.]+)\.)?oss-(.+?)-internal\.aliyuncs\.com$)");
  static const std::regex kPublic(R"(^(?:([^.]+)\.)?oss-([^.]+)\.aliyuncs\.com$)");
  std::smatch m;
  if (std::regex_match(host, m, kInternal) || std::regex_match(host, m, kPublic)) {
    *bucket = m[1];
    *region = m[2];
    return;
  }
  *bucket = host;
  region->clear();
}

}  // namespace config_internal
}  // namespace litestream
