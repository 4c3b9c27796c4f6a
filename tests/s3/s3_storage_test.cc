// The S3 backend against the real server, beyond the conformance suite: what a standard client (the AWS
// CLI) sees of our objects, credentials errors, dead servers, pagination past 1000 keys, and the whole
// product end to end (replicate through the binary, restore latest / TXID / timestamp from an s3:// URL).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "litestream/config.h"
#include "litestream/restore.h"
#include "s3/s3_server.h"
#include "storage/conformance.h"
#include "support/cli_runner.h"
#include "support/paths.h"
#include "support/sqlite_util.h"

namespace litestream::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kTs = 1735689600123;  // 2025-01-01T00:00:00.123Z

// Runs a shell command, returning its exit code and stdout.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class S3StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = LoadS3Server();
    LITESTREAM_REQUIRE_S3(server_);
    path_ = UniqueS3Path("s3test");
  }

  std::string Aws(const std::string& args) const {
    return "AWS_ACCESS_KEY_ID=" + server_.access_key + " AWS_SECRET_ACCESS_KEY=" + server_.secret_key +
           " AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null timeout 60 aws --endpoint-url " +
           server_.endpoint + " " + args;
  }

  LtxFileInfo MustWrite(StorageClient& client, int level, TXID min, TXID max, size_t payload) {
    BufferReader r(MakeLtxBytes(min, max, kTs, payload));
    auto info = client.Write(level, min, max, r);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : LtxFileInfo{};
  }

  S3Server server_;
  std::string path_;
};

TEST_F(S3StorageTest, TheAwsCliListsAndReadsWhatWeWrote) {
  s3::S3StorageClient client(TestS3Options(server_, path_));
  MustWrite(client, 0, 1, 1, 1000);
  MustWrite(client, 9, 1, 7, 3000);

  // Key layout exactly as Litestream writes it.
  auto [rc, listing] = Shell(Aws("s3 ls --recursive s3://" + server_.bucket + "/" + path_ + "/"));
  ASSERT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find(path_ + "/0000/0000000000000001-0000000000000001.ltx"), std::string::npos) << listing;
  EXPECT_NE(listing.find(path_ + "/0009/0000000000000001-0000000000000007.ltx"), std::string::npos) << listing;

  // Same bytes through a standard client.
  const std::string dir = MakeTempDir("s3-awscli");
  auto [cp_rc, cp_out] = Shell(Aws("s3 cp s3://" + server_.bucket + "/" + path_ +
                                   "/0009/0000000000000001-0000000000000007.ltx " + dir + "/snap.ltx"));
  ASSERT_EQ(cp_rc, 0) << cp_out;
  std::ifstream in(dir + "/snap.ltx", std::ios::binary);
  std::vector<uint8_t> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, MakeLtxBytes(1, 7, kTs, 3000));

  // The header timestamp as litestream-timestamp metadata (RFC 3339, trailing zeros dropped).
  auto [head_rc, head] = Shell(Aws("s3api head-object --bucket " + server_.bucket + " --key " + path_ +
                                   "/0000/0000000000000001-0000000000000001.ltx"));
  ASSERT_EQ(head_rc, 0) << head;
  EXPECT_NE(head.find("\"litestream-timestamp\": \"2025-01-01T00:00:00.123Z\""), std::string::npos) << head;

  // And what the AWS CLI writes, we read.
  {
    auto bytes = MakeLtxBytes(8, 9, kTs, 500);
    std::ofstream(dir + "/foreign.ltx", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  auto [put_rc, put_out] = Shell(Aws("s3 cp " + dir + "/foreign.ltx s3://" + server_.bucket + "/" + path_ +
                                     "/0000/0000000000000008-0000000000000009.ltx"));
  ASSERT_EQ(put_rc, 0) << put_out;
  auto files = client.List(0, 0);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].min_txid, 8u);
  auto r = client.Open(0, 8, 9, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto back = (*r)->ReadAll(1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, MakeLtxBytes(8, 9, kTs, 500));
}

TEST_F(S3StorageTest, WrongSecretIsAClearErrorThatNeverShowsTheSecret) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.credentials.secret_access_key = "definitely-not-the-secret-xyz";
  s3::S3StorageClient client(options);
  auto files = client.List(0, 0);
  ASSERT_FALSE(files.ok());
  const std::string msg = files.status().ToString();
  EXPECT_EQ(files.status().code(), StatusCode::kFailedPrecondition) << msg;
  EXPECT_NE(msg.find(server_.bucket), std::string::npos) << msg;
  EXPECT_NE(msg.find("SignatureDoesNotMatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find(server_.access_key), std::string::npos) << msg;
  EXPECT_EQ(msg.find("definitely-not-the-secret-xyz"), std::string::npos) << msg;

  options.credentials.access_key_id = "NOSUCHKEY";
  s3::S3StorageClient unknown(options);
  BufferReader data(MakeLtxBytes(1, 1, kTs));
  auto written = unknown.Write(0, 1, 1, data);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("InvalidAccessKeyId"), std::string::npos) << written.status().ToString();
}

TEST_F(S3StorageTest, MissingBucketIsNotFoundNamingIt) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.bucket = "no-such-bucket-litestream";
  s3::S3StorageClient client(options);
  auto files = client.List(0, 0);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kNotFound) << files.status().ToString();
  EXPECT_NE(files.status().message().find("no-such-bucket-litestream"), std::string::npos);
}

// Server-side encryption with a customer key (SSE-C): our objects round-trip with the key, a reader without
// it is refused, and multipart uploads carry the key on every part.
TEST_F(S3StorageTest, CustomerKeyEncryption) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.sse_customer_algorithm = "AES256";
  options.sse_customer_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";  // "0123456789abcdef" x 2
  options.sse_customer_key_md5 = "";
  ReplicaConfig config;
  config.bucket = server_.bucket;
  config.path = path_;
  config.endpoint = server_.endpoint;
  config.access_key_id = server_.access_key;
  config.secret_access_key = server_.secret_key;
  config.sse_customer_key = options.sse_customer_key;
  auto resolved = s3::OptionsFromConfig(config);  // computes the key's MD5
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  options.sse_customer_key_md5 = resolved->sse_customer_key_md5;
  s3::S3StorageClient client(options);
  MustWrite(client, 0, 1, 1, 2000);
  GeneratedLtxReader big(1, 9, kTs, (12u << 20));  // multipart: three 5 MiB parts
  auto written = client.Write(9, 1, 9, big);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto r = client.Open(0, 1, 1, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto back = (*r)->ReadAll(1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, MakeLtxBytes(1, 1, kTs, 2000));
  auto tail = client.Open(9, 1, 9, (12u << 20) - 100, 0);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  auto tail_bytes = (*tail)->ReadAll(1 << 20);
  ASSERT_TRUE(tail_bytes.ok());
  EXPECT_EQ(tail_bytes->size(), 100u);

  s3::S3StorageClient keyless(TestS3Options(server_, path_));
  EXPECT_FALSE(keyless.Open(0, 1, 1, 0, 0).ok());
}

// SSE-KMS with the server's key id: written and read back transparently.
TEST_F(S3StorageTest, KmsEncryption) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.sse_kms_key_id = "litestream-test-key";
  s3::S3StorageClient client(options);
  MustWrite(client, 0, 1, 1, 3000);
  auto [rc, head] = Shell(Aws("s3api head-object --bucket " + server_.bucket + " --key " + path_ +
                              "/0000/0000000000000001-0000000000000001.ltx"));
  ASSERT_EQ(rc, 0) << head;
  EXPECT_NE(head.find("aws:kms"), std::string::npos) << head;
  auto r = client.Open(0, 1, 1, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto back = (*r)->ReadAll(1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, MakeLtxBytes(1, 1, kTs, 3000));
}

TEST_F(S3StorageTest, ConnectionRefusedIsRetriedThenUnavailable) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  options.max_attempts = 4;
  int sleeps = 0;
  options.sleep = [&](std::chrono::milliseconds) { sleeps++; };
  s3::S3StorageClient client(options);
  auto files = client.List(0, 0);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kUnavailable) << files.status().ToString();
  EXPECT_NE(files.status().message().find("after 4 attempts"), std::string::npos) << files.status().ToString();
  EXPECT_EQ(sleeps, 3);
}

TEST_F(S3StorageTest, ListingPagesPastAThousandKeys) {
  s3::S3StorageClient client(TestS3Options(server_, path_));
  constexpr int kFiles = 1010;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; w++) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kFiles; i += 8) {
        BufferReader r(MakeLtxBytes(i + 1, i + 1, kTs, 10));
        if (!client.Write(0, i + 1, i + 1, r).ok()) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures, 0);
  auto all = client.List(0, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), static_cast<size_t>(kFiles));
  for (int i = 0; i < kFiles; i++) ASSERT_EQ((*all)[i].min_txid, static_cast<TXID>(i + 1));
  auto tail = client.List(0, 1005);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 6u);
  ASSERT_TRUE(client.RemoveAll().ok());  // DeleteObjects in two batches
  auto none = client.List(0, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// The product end to end over S3: `litestream replicate` from a config, restores from the s3:// URL.
TEST_F(S3StorageTest, ReplicateAndRestoreThroughTheBinary) {
  const std::string dir = MakeTempDir("s3-e2e");
  const std::string db = dir + "/app.db";
  const std::string config = dir + "/litestream.yml";
  std::ofstream(config) << "dbs:\n  - path: " << db << "\n    replica:\n      type: s3\n      bucket: "
                        << server_.bucket << "\n      path: " << path_ << "\n      endpoint: " << server_.endpoint
                        << "\n      region: us-east-1\n      force-path-style: true\n      access-key-id: "
                        << server_.access_key << "\n      secret-access-key: " << server_.secret_key << "\n";
  s3::S3StorageClient client(TestS3Options(server_, path_));
  std::vector<std::string> states;
  std::vector<LtxFileInfo> round_ends;  // the newest L0 after each round
  {
    AppDb app(db);
    app.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
    for (int round = 0; round < 3; round++) {
      app.Exec(InsertBlobs(50, 2000));
      RunResult r = RunCli({"replicate", "-once", "-config", config});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      states.push_back(app.Query("SELECT count(*), sum(length(v)) FROM t"));
      auto l0 = client.List(0, 0, /*use_metadata=*/true);
      ASSERT_TRUE(l0.ok() && !l0->empty()) << l0.status().ToString();
      round_ends.push_back(l0->back());
      std::this_thread::sleep_for(1100ms);  // the next round's files are written at least 1.1 s later
    }
    RunResult snap = RunCli({"replicate", "-once", "-force-snapshot", "-config", config});
    ASSERT_EQ(snap.exit_code, 0) << snap.out << snap.err;
  }
  const std::string url = "s3://" + server_.bucket + "/" + path_ + "?endpoint=" + server_.endpoint +
                          "&forcePathStyle=true&region=us-east-1";
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", server_.access_key},
                                                  {"AWS_SECRET_ACCESS_KEY", server_.secret_key}};
  RunResult latest = RunCli({"restore", "-integrity-check", "full", "-o", dir + "/latest.db", url}, env);
  ASSERT_EQ(latest.exit_code, 0) << latest.out << latest.err;
  EXPECT_EQ(QueryFile(dir + "/latest.db", "SELECT count(*), sum(length(v)) FROM t"), states.back());

  RunResult by_txid =
      RunCli({"restore", "-txid", FormatTXID(round_ends[1].max_txid), "-o", dir + "/txid.db", url}, env);
  ASSERT_EQ(by_txid.exit_code, 0) << by_txid.out << by_txid.err;
  EXPECT_EQ(QueryFile(dir + "/txid.db", "SELECT count(*), sum(length(v)) FROM t"), states[1]);

  // A timestamp between the first and the second round restores the first round's state.
  const auto first_ms = round_ends[0].created_at.time_since_epoch().count() + 500;
  std::time_t secs = static_cast<std::time_t>(first_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[40];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  const std::string timestamp = std::string(ts) + "." + std::to_string(1000 + first_ms % 1000).substr(1) + "Z";
  RunResult by_time = RunCli({"restore", "-timestamp", timestamp, "-o", dir + "/time.db", url}, env);
  ASSERT_EQ(by_time.exit_code, 0) << by_time.out << by_time.err;
  EXPECT_EQ(QueryFile(dir + "/time.db", "SELECT count(*), sum(length(v)) FROM t"), states[0]);
}

}  // namespace
}  // namespace litestream::testing
