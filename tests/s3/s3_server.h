// The S3 server the tests talk to: a real Ceph RADOS Gateway on 127.0.0.1, started by ctest's fixture
// (scripts/test-servers/radosgw.sh, see tests/CMakeLists.txt), which writes its address and keys to
// LITESTREAM_S3_ENV_FILE. LITESTREAM_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _BUCKET, and _DIR for a
// server started by radosgw.sh) in the environment point the tests at another server instead.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "storage/s3/s3_storage.h"

namespace litestream::testing {

struct S3Server {
  std::string endpoint, access_key, secret_key, bucket;
  std::string dir;  // the server's directory (fault tests control the gateway through radosgw.sh); may be empty
  bool ok() const { return !endpoint.empty(); }
};

inline S3Server LoadS3Server() {
  std::map<std::string, std::string> vars;
  std::ifstream in(LITESTREAM_S3_ENV_FILE);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  for (const char* name : {"LITESTREAM_TEST_S3_ENDPOINT", "LITESTREAM_TEST_S3_ACCESS_KEY",
                           "LITESTREAM_TEST_S3_SECRET_KEY", "LITESTREAM_TEST_S3_BUCKET", "LITESTREAM_TEST_S3_DIR"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') vars[name] = v;
  }
  return {vars["LITESTREAM_TEST_S3_ENDPOINT"], vars["LITESTREAM_TEST_S3_ACCESS_KEY"],
          vars["LITESTREAM_TEST_S3_SECRET_KEY"], vars["LITESTREAM_TEST_S3_BUCKET"], vars["LITESTREAM_TEST_S3_DIR"]};
}

// A key prefix no other test uses.
inline std::string UniqueS3Path(const std::string& name) {
  static std::mt19937_64 rng(std::random_device{}());
  return "t-" + std::to_string(rng() % 1000000000) + "/" + name;
}

inline s3::S3Options TestS3Options(const S3Server& server, const std::string& path) {
  s3::S3Options o;
  o.endpoint = server.endpoint;
  o.bucket = server.bucket;
  o.path = path;
  o.force_path_style = true;
  o.credentials = {server.access_key, server.secret_key, ""};
  o.retry_base = std::chrono::milliseconds(20);
  o.retry_max = std::chrono::milliseconds(200);
  return o;
}

#define LITESTREAM_REQUIRE_S3(server)                                                                        \
  ASSERT_TRUE((server).ok()) << "no S3 test server: run the tests through ctest (its S3Server.Start fixture " \
                                "runs scripts/test-servers/radosgw.sh) or set LITESTREAM_TEST_S3_ENDPOINT"

}  // namespace litestream::testing
