// The storage conformance suite (tests/storage/conformance_test.cc) against the real S3 server.
#include "s3/s3_server.h"
#include "storage/conformance.h"

namespace litestream::testing {
namespace {

StorageBackend S3Backend() {
  StorageBackend b;
  b.name = "s3";
  b.make = []() -> std::unique_ptr<StorageClient> {
    S3Server server = LoadS3Server();
    if (!server.ok()) {
      ADD_FAILURE() << "no S3 test server (see tests/s3/s3_server.h)";
      return nullptr;
    }
    s3::S3Options options = TestS3Options(server, UniqueS3Path("conformance"));
    options.list_max_keys = 3;  // every listing of more than 3 files pages with continuation tokens
    return std::make_unique<s3::S3StorageClient>(options);
  };
  b.put_raw = [](StorageClient& client, int level, const std::string& name, const std::vector<uint8_t>& data) {
    auto& s3 = static_cast<s3::S3StorageClient&>(client);
    std::string key = s3.Key(level, 1, 1);
    key = key.substr(0, key.rfind('/') + 1) + name;
    s3::S3StorageClient::Request req;
    req.method = "PUT";
    req.key = key;
    req.body = data.data();
    req.body_size = data.size();
    auto r = s3.Send(req);
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  };
  b.list_reports_header_timestamp = false;  // LastModified; the header timestamp needs use_metadata
  return b;
}

INSTANTIATE_TEST_SUITE_P(S3, StorageConformance, ::testing::Values(S3Backend()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace litestream::testing
