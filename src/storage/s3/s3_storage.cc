#include "storage/s3/s3_storage.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/md5.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "storage/registry.h"
#include "util/time_format.h"

namespace litestream::s3 {
namespace {

using std::chrono::milliseconds;

constexpr size_t kDeleteBatch = 1000;  // DeleteObjects limit
constexpr int kHeadConcurrency = 16;   // parallel HeadObject calls for use_metadata listings
constexpr const char* kTimestampHeader = "x-amz-meta-litestream-timestamp";

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(std::max(len, 0)));
  return out;
}

Result<std::string> Base64Decode(const std::string& in) {
  std::string out(3 * ((in.size() + 3) / 4), '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (len < 0) return Status::InvalidArgument("invalid base64");
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; i--) pad++;
  out.resize(static_cast<size_t>(len) - std::min<size_t>(pad, static_cast<size_t>(len)));
  return out;
}

std::string Md5Base64(const void* data, size_t n) {
  unsigned char digest[MD5_DIGEST_LENGTH];
  unsigned int len = 0;
  EVP_Digest(data, n, digest, &len, EVP_md5(), nullptr);
  return Base64(digest, len);
}

// The text of every <tag>...</tag> in `xml` (S3 responses are flat enough for this), entities decoded.
std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      long code = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X') ? std::strtol(std::string(ent.substr(2)).c_str(), nullptr, 16)
                                                                     : std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (code > 0 && code < 128) out += static_cast<char>(code);
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  for (;;) {
    size_t a = xml.find(open, pos);
    if (a == std::string_view::npos) break;
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == std::string_view::npos) break;
    out.push_back(xml.substr(a, b - a));
    pos = b + close.size();
  }
  return out;
}

std::string XmlText(std::string_view xml, std::string_view tag) {
  auto e = XmlElements(xml, tag);
  return e.empty() ? "" : XmlUnescape(e.front());
}

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(userdata);
  std::string_view line(buffer, size * nitems);
  if (line.rfind("HTTP/", 0) == 0) headers->clear();  // a new response (after 100-continue)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    (*headers)[name] = std::string(value);
  }
  return size * nitems;
}

struct UploadBody {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* body = static_cast<UploadBody*>(userdata);
  size_t n = std::min(size * nitems, body->size - body->pos);
  std::memcpy(buffer, body->data + body->pos, n);
  body->pos += n;
  return n;
}

bool Retryable(long status) { return status == 429 || status >= 500; }

// The AWS shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), profile
// AWS_PROFILE or "default". Missing file or profile: empty credentials.
Credentials SharedFileCredentials() {
  Credentials c;
  std::string path;
  if (const char* p = std::getenv("AWS_SHARED_CREDENTIALS_FILE"); p != nullptr && *p != '\0') {
    path = p;
  } else if (const char* home = std::getenv("HOME"); home != nullptr) {
    path = std::string(home) + "/.aws/credentials";
  }
  std::string profile = "default";
  if (const char* p = std::getenv("AWS_PROFILE"); p != nullptr && *p != '\0') profile = p;
  std::ifstream in(path);
  std::string line, section;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    else if (key == "aws_secret_access_key") c.secret_access_key = value;
    else if (key == "aws_session_token") c.session_token = value;
  }
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Configuration

Result<S3Options> OptionsFromConfig(const ReplicaConfig& config) {
  S3Options o;
  o.bucket = config.bucket;
  if (o.bucket.empty()) return Status::InvalidArgument("s3: bucket required");
  std::string path = config.path;
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  o.path = path;
  if (!config.region.empty()) o.region = config.region;
  o.endpoint = config.endpoint;
  o.force_path_style = config.force_path_style.value_or(false);
  o.skip_verify = config.skip_verify;
  o.sign_payload = config.sign_payload.value_or(true);
  o.require_content_md5 = config.require_content_md5.value_or(true);
  if (config.part_size) o.part_size = *config.part_size;
  if (config.concurrency) o.concurrency = *config.concurrency;
  o.storage_class = config.storage_class;
  o.sse_kms_key_id = config.sse_kms_key_id;
  o.sse_customer_key = config.sse_customer_key;
  if (o.sse_customer_key.empty() && !config.sse_customer_key_path.empty()) {
    std::ifstream in(config.sse_customer_key_path);
    if (!in) return Status::InvalidArgument("s3: cannot read sse-customer-key-path " + config.sse_customer_key_path);
    std::stringstream ss;
    ss << in.rdbuf();
    o.sse_customer_key = ss.str();
    while (!o.sse_customer_key.empty() && std::isspace(static_cast<unsigned char>(o.sse_customer_key.back()))) {
      o.sse_customer_key.pop_back();
    }
  }
  if (!o.sse_customer_key.empty()) {
    o.sse_customer_algorithm = config.sse_customer_algorithm.empty() ? "AES256" : config.sse_customer_algorithm;
    LS_ASSIGN_OR_RETURN(std::string raw, Base64Decode(o.sse_customer_key));
    if (raw.size() != 32) return Status::InvalidArgument("s3: sse-customer-key must be 32 bytes, base64-encoded");
    o.sse_customer_key_md5 = config.sse_customer_key_md5.empty() ? Md5Base64(raw.data(), raw.size())
                                                                 : config.sse_customer_key_md5;
  }
  o.credentials.access_key_id = config.access_key_id;
  o.credentials.secret_access_key = config.secret_access_key;
  // A session token belongs to the temporary key in AWS_ACCESS_KEY_ID, never to a key from the config file.
  const char* env_key = std::getenv("AWS_ACCESS_KEY_ID");
  const char* token = std::getenv("AWS_SESSION_TOKEN");
  if (token != nullptr && env_key != nullptr && !o.credentials.access_key_id.empty() &&
      o.credentials.access_key_id == env_key) {
    o.credentials.session_token = token;
  }
  if (o.credentials.access_key_id.empty() || o.credentials.secret_access_key.empty()) {
    o.credentials = SharedFileCredentials();
  }
  if (o.credentials.access_key_id.empty() || o.credentials.secret_access_key.empty()) {
    return Status::InvalidArgument("s3: no credentials for bucket " + o.bucket +
                                   " (set access-key-id/secret-access-key, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                   "or a profile in ~/.aws/credentials)");
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------
// Connections: one curl easy handle each, kept in a pool so keep-alive connections are reused.

class S3StorageClient::Connection {
 public:
  explicit Connection(const CurlApi& api) : api_(api), curl_(api.easy_init()) {}
  ~Connection() {
    if (curl_ != nullptr) api_.easy_cleanup(curl_);
  }
  CURL* get() const { return curl_; }

 private:
  const CurlApi& api_;
  CURL* curl_;
};

S3StorageClient::S3StorageClient(S3Options options) : options_(std::move(options)), curl_(LoadCurl()) {
  std::string endpoint = options_.endpoint;
  if (endpoint.empty()) endpoint = "https://s3." + options_.region + ".amazonaws.com";
  size_t sep = endpoint.find("://");
  scheme_ = sep == std::string::npos ? "https" : endpoint.substr(0, sep);
  host_ = sep == std::string::npos ? endpoint : endpoint.substr(sep + 3);
  while (!host_.empty() && host_.back() == '/') host_.pop_back();
}

S3StorageClient::~S3StorageClient() = default;

std::string S3StorageClient::Describe() const {
  return "s3://" + options_.bucket + (options_.path.empty() ? "" : "/" + options_.path);
}

std::string S3StorageClient::Key(int level, TXID min_txid, TXID max_txid) const {
  char dir[8];
  std::snprintf(dir, sizeof(dir), "%04x", level);
  return options_.path + "/" + dir + "/" + FormatLtxFilename(min_txid, max_txid);
}

std::unique_ptr<S3StorageClient::Connection> S3StorageClient::AcquireConnection() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  return std::make_unique<Connection>(**curl_);
}

void S3StorageClient::ReleaseConnection(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < 32) pool_.push_back(std::move(conn));
}

void S3StorageClient::Sleep(milliseconds d) const {
  if (options_.sleep) options_.sleep(d);
  else std::this_thread::sleep_for(d);
}

void S3StorageClient::AddSseHeaders(std::map<std::string, std::string>& headers, bool for_read) const {
  if (!options_.sse_customer_key.empty()) {
    headers["x-amz-server-side-encryption-customer-algorithm"] = options_.sse_customer_algorithm;
    headers["x-amz-server-side-encryption-customer-key"] = options_.sse_customer_key;
    headers["x-amz-server-side-encryption-customer-key-md5"] = options_.sse_customer_key_md5;
  } else if (!for_read && !options_.sse_kms_key_id.empty()) {
    headers["x-amz-server-side-encryption"] = "aws:kms";
    headers["x-amz-server-side-encryption-aws-kms-key-id"] = options_.sse_kms_key_id;
  }
}

Result<S3StorageClient::Response> S3StorageClient::SendOnce(const Request& request, Connection& conn) {
  // Address: path style "host/bucket/key" or virtual-hosted "bucket.host/key".
  std::string host = host_;
  std::string path = "/";
  if (options_.force_path_style) {
    path += UriEncode(options_.bucket, true);
    if (!request.key.empty()) path += "/" + UriEncode(request.key, false);
  } else {
    host = options_.bucket + "." + host_;
    path += UriEncode(request.key, false);
  }
  SignableRequest sr;
  sr.method = request.method;
  sr.path = path;
  sr.query = request.query;
  sr.headers = request.headers;
  sr.headers["host"] = host;
  sr.payload_sha256 = options_.sign_payload ? Sha256Hex(request.body, request.body_size) : "UNSIGNED-PAYLOAD";
  sr.headers["x-amz-content-sha256"] = sr.payload_sha256;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto auth = Sign(sr, options_.credentials, options_.region, "s3", AmzDate(now));

  std::string url = scheme_ + "://" + host + path;
  const std::string query = CanonicalQuery(request.query);
  if (!query.empty()) url += "?" + query;

  const CurlApi& api = **curl_;
  CURL* curl = conn.get();
  api.easy_reset(curl);
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : sr.headers) {
    if (k == "host") continue;  // curl sends it from the URL
    headers = api.slist_append(headers, (k + ": " + v).c_str());
  }
  for (const auto& [k, v] : auth) headers = api.slist_append(headers, (k + ": " + v).c_str());
  headers = api.slist_append(headers, "Expect:");  // no 100-continue round trip
  if (request.body == nullptr) headers = api.slist_append(headers, "Content-Type:");

  Response response;
  UploadBody body{request.body, request.body_size};
  api.easy_setopt(curl, CURLOPT_URL, url.c_str());
  api.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  response.body.reserve(request.expected_response_bytes);
  api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  api.easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  api.easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  api.easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  api.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  api.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  api.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count() / 1000));
  if (options_.skip_verify) {
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (request.method == "HEAD") {
    api.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    if (request.method == "PUT") api.easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    else api.easy_setopt(curl, CURLOPT_POST, 1L);
    api.easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    api.easy_setopt(curl, CURLOPT_READDATA, &body);
    if (request.method == "PUT") {
      api.easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
    } else {
      api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body_size));
    }
  } else if (request.method != "GET") {
    api.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  CURLcode rc = api.easy_perform(curl);
  api.slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Status::Unavailable(request.method + " " + Describe() + (request.key.empty() ? "" : " key " + request.key) +
                               ": " + api.easy_strerror(rc));
  }
  api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<S3StorageClient::Response> S3StorageClient::Send(const Request& request) {
  if (!curl_.ok()) return curl_.status();
  std::mt19937_64 rng(std::random_device{}());
  const auto start = std::chrono::steady_clock::now();
  Status last;
  int attempts = 0;
  for (int attempt = 0; attempt < std::max(1, options_.max_attempts); attempt++) {
    if (attempt > 0) {
      // Exponential backoff with jitter (half to all of the capped delay), within the total retry budget.
      const int64_t cap = std::min<int64_t>(options_.retry_max.count(), options_.retry_base.count() << std::min(attempt, 16));
      const milliseconds delay(std::uniform_int_distribution<int64_t>(cap / 2, std::max<int64_t>(cap, 1))(rng));
      if (std::chrono::steady_clock::now() - start + delay > options_.max_retry_time) break;
      Sleep(delay);
    }
    attempts++;
    auto conn = AcquireConnection();
    auto response = SendOnce(request, *conn);
    if (!response.ok()) {
      last = response.status();  // connection refused, reset, timeout: retry on a fresh connection
      continue;
    }
    ReleaseConnection(std::move(conn));
    if (Retryable(response->status)) {
      last = ErrorFor(request.method, request.key, *response);
      continue;
    }
    return response;
  }
  return Status::Unavailable(last.message() + " (after " + std::to_string(attempts) + " attempts)");
}

Status S3StorageClient::ErrorFor(const std::string& op, const std::string& key, const Response& r) const {
  const std::string code = XmlText(r.body, "Code");
  const std::string message = XmlText(r.body, "Message");
  std::string where = op + " s3://" + options_.bucket + (key.empty() ? "" : "/" + key);
  std::string text = where + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) +
                     (message.empty() ? "" : ": " + message);
  // Credentials problems name the key id (never the secret) so the user knows which key to fix.
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId") {
    return Status::FailedPrecondition(text + " (wrong credentials: check access-key-id " +
                                      options_.credentials.access_key_id + " and its secret key)");
  }
  if (code == "AccessDenied" || r.status == 403) {
    return Status::FailedPrecondition(text + " (access denied: check the permissions of access-key-id " +
                                      options_.credentials.access_key_id + " on bucket " + options_.bucket + ")");
  }
  if (code == "NoSuchBucket") return Status::NotFound(text + " (bucket " + options_.bucket + " does not exist)");
  if (code == "NoSuchKey" || r.status == 404) return Status::NotFound(text);
  if (Retryable(r.status)) return Status::Unavailable(text);
  return Status::IOError(text);
}

// ---------------------------------------------------------------------------------------------------
// List

Result<std::vector<LtxFileInfo>> S3StorageClient::List(int level, TXID seek, bool use_metadata) {
  char dir[8];
  std::snprintf(dir, sizeof(dir), "%04x", level);
  const std::string prefix = options_.path + "/" + dir + "/";
  std::vector<LtxFileInfo> out;
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 1'000'000; page++) {
    Request req;
    req.method = "GET";
    req.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (options_.list_max_keys > 0) req.query.emplace_back("max-keys", std::to_string(options_.list_max_keys));
    // Keys sort by min TXID (fixed-width hex): start after "<seek>" skips lower ones server-side.
    if (seek > 0 && token.empty()) req.query.emplace_back("start-after", prefix + FormatTXID(seek - 1) + "~");
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    LS_ASSIGN_OR_RETURN(Response r, Send(req));
    if (r.status != 200) return ErrorFor("list", prefix, r);
    for (std::string_view contents : XmlElements(r.body, "Contents")) {
      const std::string key = XmlText(contents, "Key");
      TXID min_txid = 0, max_txid = 0;
      if (!ParseLtxFilename(std::string_view(key).substr(std::min(key.size(), prefix.size())), &min_txid, &max_txid) ||
          key.compare(0, prefix.size(), prefix) != 0 || min_txid < seek) {
        continue;
      }
      LtxFileInfo info;
      info.level = level;
      info.min_txid = min_txid;
      info.max_txid = max_txid;
      info.size = std::strtoll(XmlText(contents, "Size").c_str(), nullptr, 10);
      auto modified = ParseRFC3339(XmlText(contents, "LastModified"));
      if (modified.ok()) info.created_at = *modified;
      out.push_back(info);
      keys.push_back(key);
    }
    if (XmlText(r.body, "IsTruncated") != "true") break;
    token = XmlText(r.body, "NextContinuationToken");
    if (token.empty()) break;
  }
  if (use_metadata && !out.empty()) {
    // The LTX header timestamp, from each object's metadata, in parallel.
    std::atomic<size_t> next{0};
    std::mutex err_mu;
    Status first_error;
    auto worker = [&] {
      for (size_t i = next++; i < out.size(); i = next++) {
        Request req;
        req.method = "HEAD";
        req.key = keys[i];
        AddSseHeaders(req.headers, /*for_read=*/true);
        auto r = Send(req);
        Status s = r.ok() ? (r->status == 200 ? Status::OK() : ErrorFor("head", keys[i], *r)) : r.status();
        if (s.ok()) {
          auto it = r->headers.find(kTimestampHeader);
          if (it != r->headers.end()) {
            auto t = ParseRFC3339(it->second);
            if (t.ok()) out[i].created_at = *t;
          }
        } else {
          std::lock_guard<std::mutex> lock(err_mu);
          if (first_error.ok()) first_error = s;
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::min<int>(kHeadConcurrency, static_cast<int>(out.size())); t++) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    LS_RETURN_IF_ERROR(first_error);
  }
  std::sort(out.begin(), out.end(), [](const LtxFileInfo& a, const LtxFileInfo& b) {
    return a.min_txid != b.min_txid ? a.min_txid < b.min_txid : a.max_txid < b.max_txid;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Open: ranged GETs of bounded size, one after another, so any file streams in constant memory.

class S3StorageClient::ChunkedReader final : public Reader {
 public:
  ChunkedReader(S3StorageClient* client, std::string key, uint64_t offset, uint64_t length)
      : client_(client), key_(std::move(key)), offset_(offset), end_(length == 0 ? UINT64_MAX : offset + length) {}

  // Fetches the first chunk, so that a missing object fails at Open.
  Status Prime() { return Fill(); }

  Result<size_t> Read(uint8_t* buf, size_t n) override {
    if (pos_ == buffer_.size()) {
      if (done_) return size_t{0};
      LS_RETURN_IF_ERROR(Fill());
      if (pos_ == buffer_.size()) return size_t{0};
    }
    size_t take = std::min(n, buffer_.size() - pos_);
    std::memcpy(buf, buffer_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  Status Fill() {
    buffer_.clear();
    pos_ = 0;
    if (offset_ >= end_) {
      done_ = true;
      return Status::OK();
    }
    const uint64_t last = std::min<uint64_t>(end_, offset_ + client_->options_.read_chunk_bytes) - 1;
    Request req;
    req.method = "GET";
    req.key = key_;
    req.headers["range"] = "bytes=" + std::to_string(offset_) + "-" + std::to_string(last);
    req.expected_response_bytes = static_cast<size_t>(last - offset_ + 1);
    client_->AddSseHeaders(req.headers, /*for_read=*/true);
    LS_ASSIGN_OR_RETURN(Response r, client_->Send(req));
    if (r.status == 416) {  // offset at or past the end of the object
      done_ = true;
      return Status::OK();
    }
    if (r.status != 206 && r.status != 200) return client_->ErrorFor("get", key_, r);
    if (r.status == 200) {  // a server that ignored the range: keep only [offset_, last]
      if (offset_ >= r.body.size()) r.body.clear();
      else r.body = r.body.substr(offset_, last - offset_ + 1);
    }
    const auto range = r.headers.find("content-range");  // "bytes a-b/total"
    if (range != r.headers.end()) {
      size_t slash = range->second.find('/');
      if (slash != std::string::npos && range->second.substr(slash + 1) != "*") {
        end_ = std::min<uint64_t>(end_, std::strtoull(range->second.c_str() + slash + 1, nullptr, 10));
      }
    }
    if (r.body.empty()) {
      done_ = true;
      return Status::OK();
    }
    buffer_.swap(r.body);
    offset_ += buffer_.size();
    if (r.status == 200 || offset_ >= end_) done_ = true;
    return Status::OK();
  }

  S3StorageClient* client_;
  std::string key_;
  uint64_t offset_;
  uint64_t end_;
  std::string buffer_;  // the last response's body, taken over without a copy
  size_t pos_ = 0;
  bool done_ = false;
};

Result<std::unique_ptr<Reader>> S3StorageClient::Open(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                                      uint64_t length) {
  auto reader = std::make_unique<ChunkedReader>(this, Key(level, min_txid, max_txid), offset, length);
  LS_RETURN_IF_ERROR(reader->Prime());
  return std::unique_ptr<Reader>(std::move(reader));
}

// ---------------------------------------------------------------------------------------------------
// Write

Result<LtxFileInfo> S3StorageClient::Write(int level, TXID min_txid, TXID max_txid, Reader& data) {
  const std::string key = Key(level, min_txid, max_txid);
  std::vector<uint8_t> first(static_cast<size_t>(options_.part_size));
  size_t filled = 0;
  while (filled < first.size()) {
    LS_ASSIGN_OR_RETURN(size_t n, data.Read(first.data() + filled, first.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  first.resize(filled);
  if (filled < kLtxHeaderBytes) return Status::InvalidArgument("write " + key + ": stream shorter than an LTX header");
  LS_ASSIGN_OR_RETURN(const SystemTime created_at, CheckLtxHeaderForWrite(first.data(), min_txid, max_txid, key));

  std::map<std::string, std::string> headers;
  headers[kTimestampHeader] = FormatRFC3339Nano(created_at);
  headers["content-type"] = "application/octet-stream";
  if (!options_.storage_class.empty()) headers["x-amz-storage-class"] = options_.storage_class;
  AddSseHeaders(headers, /*for_read=*/false);

  Result<LtxFileInfo> info = filled < static_cast<size_t>(options_.part_size)
                                 ? PutSingle(key, first, headers)
                                 : PutMultipart(key, std::move(first), data, headers);
  if (!info.ok()) return info.status();
  info->level = level;
  info->min_txid = min_txid;
  info->max_txid = max_txid;
  info->created_at = created_at;
  return info;
}

Result<LtxFileInfo> S3StorageClient::PutSingle(const std::string& key, const std::vector<uint8_t>& data,
                                               const std::map<std::string, std::string>& headers) {
  Request req;
  req.method = "PUT";
  req.key = key;
  req.headers = headers;
  if (options_.require_content_md5) req.headers["content-md5"] = Md5Base64(data.data(), data.size());
  req.body = data.data();
  req.body_size = data.size();
  LS_ASSIGN_OR_RETURN(Response r, Send(req));
  if (r.status != 200) return ErrorFor("put", key, r);
  LtxFileInfo info;
  info.size = static_cast<int64_t>(data.size());
  return info;
}

Result<LtxFileInfo> S3StorageClient::PutMultipart(const std::string& key, std::vector<uint8_t> first_part,
                                                  Reader& rest, const std::map<std::string, std::string>& headers) {
  Request create;
  create.method = "POST";
  create.key = key;
  create.query = {{"uploads", ""}};
  create.headers = headers;
  LS_ASSIGN_OR_RETURN(Response created, Send(create));
  if (created.status != 200) return ErrorFor("create multipart upload", key, created);
  const std::string upload_id = XmlText(created.body, "UploadId");
  if (upload_id.empty()) return Status::IOError("create multipart upload " + key + ": no UploadId in the response");

  auto upload_part = [this, &key, &upload_id](int number, std::vector<uint8_t> part) -> Result<std::string> {
    Request req;
    req.method = "PUT";
    req.key = key;
    req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    if (options_.require_content_md5) req.headers["content-md5"] = Md5Base64(part.data(), part.size());
    req.headers["content-type"] = "application/octet-stream";
    if (!options_.sse_customer_key.empty()) AddSseHeaders(req.headers, /*for_read=*/true);
    req.body = part.data();
    req.body_size = part.size();
    LS_ASSIGN_OR_RETURN(Response r, Send(req));
    if (r.status != 200) return ErrorFor("upload part " + std::to_string(number) + " of", key, r);
    auto etag = r.headers.find("etag");
    if (etag == r.headers.end()) return Status::IOError("upload part of " + key + ": no ETag in the response");
    return etag->second;
  };

  std::vector<std::future<Result<std::string>>> inflight;
  std::vector<std::string> etags;
  int64_t total = 0;
  Status status;
  auto collect_oldest = [&]() {
    Result<std::string> etag = inflight.front().get();
    inflight.erase(inflight.begin());
    if (!etag.ok() && status.ok()) status = etag.status();
    if (etag.ok()) etags.push_back(*etag);
  };
  std::vector<uint8_t> part = std::move(first_part);
  for (int number = 1; status.ok(); number++) {
    total += static_cast<int64_t>(part.size());
    inflight.push_back(std::async(std::launch::async, upload_part, number, std::move(part)));
    if (static_cast<int>(inflight.size()) >= std::max(1, options_.concurrency)) collect_oldest();
    if (!status.ok()) break;
    // Next part: up to part_size bytes; a short (or empty) read means the stream ended.
    part.assign(static_cast<size_t>(options_.part_size), 0);
    size_t filled = 0;
    while (filled < part.size()) {
      auto n = rest.Read(part.data() + filled, part.size() - filled);
      if (!n.ok()) {
        status = n.status().WithContext("write " + key);
        break;
      }
      if (*n == 0) break;
      filled += *n;
    }
    part.resize(filled);
    if (filled == 0 || !status.ok()) break;
  }
  while (!inflight.empty()) collect_oldest();

  if (status.ok()) {
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags.size(); i++) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + XmlEscape(etags[i]) +
              "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    Request complete;
    complete.method = "POST";
    complete.key = key;
    complete.query = {{"uploadId", upload_id}};
    complete.headers["content-type"] = "application/xml";
    complete.body = reinterpret_cast<const uint8_t*>(body.data());
    complete.body_size = body.size();
    auto r = Send(complete);
    if (!r.ok()) status = r.status();
    // CompleteMultipartUpload can fail with 200 and an <Error> body.
    else if (r->status != 200 || r->body.find("<Error>") != std::string::npos) status = ErrorFor("complete multipart upload", key, *r);
  }
  if (!status.ok()) {
    Request abort;
    abort.method = "DELETE";
    abort.key = key;
    abort.query = {{"uploadId", upload_id}};
    (void)Send(abort);  // best effort; the original error is what matters
    return status;
  }
  LtxFileInfo info;
  info.size = total;
  return info;
}

// ---------------------------------------------------------------------------------------------------
// Remove

Status S3StorageClient::DeleteKeys(const std::vector<std::string>& keys) {
  for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (size_t j = i; j < std::min(keys.size(), i + kDeleteBatch); j++) {
      body += "<Object><Key>" + XmlEscape(keys[j]) + "</Key></Object>";
    }
    body += "</Delete>";
    Request req;
    req.method = "POST";
    req.query = {{"delete", ""}};
    req.headers["content-type"] = "application/xml";
    // Content-MD5 is required by the DeleteObjects API itself, whatever require-content-md5 says.
    req.headers["content-md5"] = Md5Base64(body.data(), body.size());
    req.body = reinterpret_cast<const uint8_t*>(body.data());
    req.body_size = body.size();
    LS_ASSIGN_OR_RETURN(Response r, Send(req));
    if (r.status != 200) return ErrorFor("delete objects in", options_.path, r);
    for (std::string_view err : XmlElements(r.body, "Error")) {
      const std::string code = XmlText(err, "Code");
      if (code == "NoSuchKey") continue;
      return Status::IOError("delete s3://" + options_.bucket + "/" + XmlText(err, "Key") + ": " + code + ": " +
                             XmlText(err, "Message"));
    }
  }
  return Status::OK();
}

Status S3StorageClient::Remove(const std::vector<LtxFileInfo>& files) {
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const auto& f : files) keys.push_back(Key(f.level, f.min_txid, f.max_txid));
  return DeleteKeys(keys);
}

Status S3StorageClient::RemoveAll() {
  const std::string prefix = options_.path + "/";
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 1'000'000; page++) {
    Request req;
    req.method = "GET";
    req.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (options_.list_max_keys > 0) req.query.emplace_back("max-keys", std::to_string(options_.list_max_keys));
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    LS_ASSIGN_OR_RETURN(Response r, Send(req));
    if (r.status != 200) return ErrorFor("list", prefix, r);
    for (std::string_view contents : XmlElements(r.body, "Contents")) keys.push_back(XmlText(contents, "Key"));
    if (XmlText(r.body, "IsTruncated") != "true") break;
    token = XmlText(r.body, "NextContinuationToken");
    if (token.empty()) break;
  }
  return DeleteKeys(keys);
}

void RegisterS3Storage() {
  RegisterStorageFactory("s3", [](const ReplicaConfig& config) -> Result<std::unique_ptr<StorageClient>> {
    LS_ASSIGN_OR_RETURN(S3Options options, OptionsFromConfig(config));
    return std::unique_ptr<StorageClient>(new S3StorageClient(std::move(options)));
  });
}

}  // namespace litestream::s3
