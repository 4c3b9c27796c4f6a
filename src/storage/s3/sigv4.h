// AWS Signature Version 4 for S3 requests, on OpenSSL (tested against AWS's published examples in
// tests/s3/sigv4_test.cc). libcurl is only the transport.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace litestream::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials)
};

struct SignableRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // already URI-encoded ("/bucket/key%20x")
  std::vector<std::pair<std::string, std::string>> query;  // raw (unencoded) names and values; any order
  // Headers to sign, names in any case; "host" must be present. Sign() adds x-amz-date (and
  // x-amz-security-token) itself.
  std::map<std::string, std::string> headers;
  std::string payload_sha256;  // hex, or "UNSIGNED-PAYLOAD"
};

// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else is %XX (uppercase);
// '/' stays when encode_slash is false (object key paths).
std::string UriEncode(std::string_view s, bool encode_slash);
// "k1=v1&k2=v2", encoded and sorted by name then value: the canonical query (and the URL's query string).
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

std::string Sha256Hex(const void* data, size_t size);
inline std::string Sha256Hex(std::string_view s) { return Sha256Hex(s.data(), s.size()); }
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Signs `request` for `region`/`service` at `amz_date` ("20130524T000000Z"). Returns the headers to send
// in addition to request.headers: Authorization, x-amz-date and, with a session token,
// x-amz-security-token.
std::vector<std::pair<std::string, std::string>> Sign(const SignableRequest& request, const Credentials& creds,
                                                      std::string_view region, std::string_view service,
                                                      std::string_view amz_date);

// "20130524T000000Z" for a Unix time in seconds.
std::string AmzDate(int64_t unix_seconds);

}  // namespace litestream::s3
