// The S3 backend (ENGINE.md §2.3): keys "<path>/<level %04x>/<min>-<max>.ltx", exactly as Litestream v0.5
// writes them, on any S3-compatible server. SigV4 is ours (sigv4.h); libcurl carries the bytes.
//
// - Write: objects below part-size go up in one PutObject; larger (streamed) ones use a multipart upload
//   with up to `concurrency` parts in flight (memory: part-size x concurrency), aborted on failure. The
//   LTX header timestamp is stored as x-amz-meta-litestream-timestamp.
// - Open: a reader that fetches the range in bounded chunks (ranged GETs), so a 1 GiB snapshot streams
//   with constant memory.
// - List: ListObjectsV2 with continuation tokens; with use_metadata a HeadObject per file reads the
//   timestamp metadata.
// - Remove/RemoveAll: DeleteObjects in batches of 1000 with Content-MD5.
// - Every request is retried on network errors, 5xx and 429 with exponential backoff and jitter; 4xx
//   errors name the operation, bucket and key, and never the secret.
#pragma once

#include "storage/s3/curl_api.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "litestream/config.h"
#include "litestream/storage.h"
#include "storage/s3/sigv4.h"

namespace litestream::s3 {

struct S3Options {
  std::string endpoint;  // scheme://host[:port]; empty: https://s3.<region>.amazonaws.com
  std::string bucket;
  std::string path;  // key prefix without leading or trailing '/'
  std::string region = "us-east-1";
  bool force_path_style = false;
  bool skip_verify = false;
  bool sign_payload = true;
  bool require_content_md5 = true;
  int64_t part_size = int64_t{5} << 20;
  int concurrency = 5;
  std::string storage_class;
  std::string sse_customer_algorithm;  // "AES256" with a customer key
  std::string sse_customer_key;        // base64
  std::string sse_customer_key_md5;    // base64; computed from the key when empty
  std::string sse_kms_key_id;
  Credentials credentials;

  // Transport.
  int max_attempts = 6;  // per request, network errors / 5xx / 429
  // Total time one request may spend in retries: no further attempt starts once this much has passed.
  std::chrono::milliseconds max_retry_time{60000};
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_max{5000};
  std::chrono::milliseconds connect_timeout{10000};
  // A transfer slower than 1 KiB/s for this long is aborted (and retried).
  std::chrono::milliseconds low_speed_time{30000};
  size_t read_chunk_bytes = 8 << 20;  // bytes fetched per ranged GET while streaming a file
  // ListObjectsV2 max-keys; 0 leaves the server's default (1000). Tests use small pages to exercise
  // continuation tokens without writing thousands of objects.
  int list_max_keys = 0;
  // Waits between retries; tests inject a fast one. Null: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Options for a resolved ReplicaConfig (credentials from config, env already merged by ParseConfig, then
// the AWS shared credentials file; SSE-C key from sse-customer-key-path).
Result<S3Options> OptionsFromConfig(const ReplicaConfig& config);

class S3StorageClient final : public StorageClient {
 public:
  explicit S3StorageClient(S3Options options);
  ~S3StorageClient() override;

  std::string Type() const override { return "s3"; }
  std::string Describe() const override;

  Result<std::vector<LtxFileInfo>> List(int level, TXID seek, bool use_metadata = false) override;
  Result<std::unique_ptr<Reader>> Open(int level, TXID min_txid, TXID max_txid, uint64_t offset,
                                       uint64_t length) override;
  Result<LtxFileInfo> Write(int level, TXID min_txid, TXID max_txid, Reader& data) override;
  Status Remove(const std::vector<LtxFileInfo>& files) override;
  Status RemoveAll() override;

  // The object key of an LTX file.
  std::string Key(int level, TXID min_txid, TXID max_txid) const;

  // One HTTP exchange, exposed for the chunked reader and tests.
  struct Request {
    std::string method;
    std::string key;  // object key (unencoded); empty = the bucket itself
    std::vector<std::pair<std::string, std::string>> query;
    std::map<std::string, std::string> headers;
    const uint8_t* body = nullptr;
    size_t body_size = 0;
    size_t expected_response_bytes = 0;  // reserved up front, so a large body is never copied as it grows
  };
  struct Response {
    long status = 0;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;
  };
  // Signs and sends, retrying transient failures. Any HTTP status is returned; transport failures that
  // outlast the retries are Unavailable.
  Result<Response> Send(const Request& request);

 private:
  class Connection;
  class ChunkedReader;

  Result<Response> SendOnce(const Request& request, Connection& conn);
  Status ErrorFor(const std::string& op, const std::string& key, const Response& response) const;
  std::unique_ptr<Connection> AcquireConnection();
  void ReleaseConnection(std::unique_ptr<Connection> conn);
  void AddSseHeaders(std::map<std::string, std::string>& headers, bool for_read) const;
  Status DeleteKeys(const std::vector<std::string>& keys);
  Result<LtxFileInfo> PutSingle(const std::string& key, const std::vector<uint8_t>& data,
                                const std::map<std::string, std::string>& headers);
  Result<LtxFileInfo> PutMultipart(const std::string& key, std::vector<uint8_t> first_part, Reader& rest,
                                   const std::map<std::string, std::string>& headers);
  void Sleep(std::chrono::milliseconds d) const;

  const S3Options options_;
  Result<const CurlApi*> curl_;  // libcurl, loaded on first use (curl_api.h)
  std::string scheme_, host_;  // of the endpoint
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> pool_;
};

// Registers "s3" with the storage registry (called by RegisterBuiltinStorageBackends).
void RegisterS3Storage();

}  // namespace litestream::s3
