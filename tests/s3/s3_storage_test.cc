// The S3 backend against the real server, beyond the conformance suite: what a standard client (the AWS
// CLI) sees of our objects, credentials errors, dead servers, pagination past 1000 keys, and the whole
// product end to end (replicate through the binary, restore latest / TXID / timestamp from an s3:// URL).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "litestream/config.h"
#include "litestream/restore.h"
#include "s3/s3_server.h"
#include "storage/conformance.h"
#include "storage/registry.h"
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
  EXPECT_NE(msg.find("wrong credentials"), std::string::npos) << msg;
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

// A source that breaks after `good` bytes: a snapshot whose input fails in the middle of an upload.
class BreaksAfter final : public Reader {
 public:
  BreaksAfter(TXID min_txid, TXID max_txid, uint64_t good) : inner_(min_txid, max_txid, kTs, good + 1), good_(good) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    if (pos_ >= good_) return Status::IOError("source broke");
    LS_ASSIGN_OR_RETURN(size_t got, inner_.Read(buf, static_cast<size_t>(std::min<uint64_t>(n, good_ - pos_))));
    pos_ += got;
    return got;
  }

 private:
  GeneratedLtxReader inner_;
  uint64_t good_;
  uint64_t pos_ = 0;
};

// A streamed snapshot larger than part-size goes up as a multipart upload, parts in parallel.
TEST_F(S3StorageTest, MultipartUploadInParallelParts) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.concurrency = 3;
  s3::S3StorageClient client(options);
  constexpr uint64_t kSize = (uint64_t{5} << 20) * 3 + 12345;  // four parts, the last one short
  GeneratedLtxReader src(1, 20, kTs, kSize);
  auto info = client.Write(9, 1, 20, src);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, static_cast<int64_t>(kSize));
  // S3 gives a multipart object the ETag "<md5 of the part md5s>-<part count>".
  auto [rc, head] = Shell(Aws("s3api head-object --bucket " + server_.bucket + " --key " + client.Key(9, 1, 20)));
  ASSERT_EQ(rc, 0) << head;
  EXPECT_NE(head.find("-4\\\""), std::string::npos) << head;
  EXPECT_NE(head.find("\"litestream-timestamp\": \"2025-01-01T00:00:00.123Z\""), std::string::npos) << head;
  auto r = client.Open(9, 1, 20, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  GeneratedLtxReader expect(1, 20, kTs, kSize);
  std::vector<uint8_t> buf(1 << 20);
  uint64_t offset = 0, mismatches = 0;
  for (int i = 0; i < 100; i++) {  // bounded: 16 reads of 1 MiB suffice
    auto n = (*r)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    for (size_t j = 0; j < *n; j++) mismatches += buf[j] != expect.At(offset + j);
    offset += *n;
  }
  EXPECT_EQ(offset, kSize);
  EXPECT_EQ(mismatches, 0u);
}

// A multipart upload whose source fails is aborted: no object, no orphaned upload holding parts.
TEST_F(S3StorageTest, FailedMultipartUploadIsAborted) {
  s3::S3StorageClient client(TestS3Options(server_, path_));
  BreaksAfter src(1, 30, (uint64_t{7} << 20));  // the first part is uploaded, the second never completes
  auto info = client.Write(9, 1, 30, src);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("source broke"), std::string::npos) << info.status().ToString();
  auto files = client.List(9, 0);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_TRUE(files->empty());
  auto [rc, uploads] =
      Shell(Aws("s3api list-multipart-uploads --bucket " + server_.bucket + " --prefix " + path_ + "/"));
  ASSERT_EQ(rc, 0) << uploads;
  EXPECT_EQ(uploads.find("UploadId"), std::string::npos) << uploads;
}

// Replicas whose paths share a prefix ("x/db" and "x/db2") never see or delete each other's files, and
// listings page with continuation tokens at any page size.
TEST_F(S3StorageTest, NestedPathsAreIsolatedAndListingsPage) {
  s3::S3Options a_options = TestS3Options(server_, path_ + "/db");
  a_options.list_max_keys = 2;
  s3::S3StorageClient a(a_options);
  s3::S3StorageClient b(TestS3Options(server_, path_ + "/db2"));
  for (TXID t = 1; t <= 5; t++) MustWrite(a, 0, t, t, 100);
  MustWrite(b, 0, 1, 1, 100);
  MustWrite(b, 0, 2, 2, 100);
  auto a_files = a.List(0, 0);
  ASSERT_TRUE(a_files.ok()) << a_files.status().ToString();
  ASSERT_EQ(a_files->size(), 5u);  // three pages of at most two keys
  for (TXID t = 1; t <= 5; t++) EXPECT_EQ((*a_files)[t - 1].min_txid, t);
  auto a_seek = a.List(0, 4, /*use_metadata=*/true);
  ASSERT_TRUE(a_seek.ok());
  ASSERT_EQ(a_seek->size(), 2u);
  EXPECT_EQ((*a_seek)[0].created_at, MillisToTime(kTs));
  ASSERT_TRUE(a.RemoveAll().ok());
  auto a_after = a.List(0, 0);
  ASSERT_TRUE(a_after.ok());
  EXPECT_TRUE(a_after->empty());
  auto b_files = b.List(0, 0);
  ASSERT_TRUE(b_files.ok());
  EXPECT_EQ(b_files->size(), 2u);
}

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name); old != nullptr) old_ = old;
    if (value != nullptr) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Credentials from the AWS shared credentials file (AWS_SHARED_CREDENTIALS_FILE, profile AWS_PROFILE)
// when neither the config nor the environment has keys.
TEST_F(S3StorageTest, SharedCredentialsFileProfile) {
  const std::string dir = MakeTempDir("s3-creds");
  std::ofstream(dir + "/credentials") << "[default]\naws_access_key_id = WRONGKEY\naws_secret_access_key = wrong\n\n"
                                      << "# the tests' user\n[litestream-test]\naws_access_key_id = "
                                      << server_.access_key << "\naws_secret_access_key = " << server_.secret_key
                                      << "\n";
  ScopedEnv file("AWS_SHARED_CREDENTIALS_FILE", (dir + "/credentials").c_str());
  ScopedEnv profile("AWS_PROFILE", "litestream-test");
  ScopedEnv no_key("AWS_ACCESS_KEY_ID", nullptr), no_secret("AWS_SECRET_ACCESS_KEY", nullptr);
  ScopedEnv no_ls_key("LITESTREAM_ACCESS_KEY_ID", nullptr), no_ls_secret("LITESTREAM_SECRET_ACCESS_KEY", nullptr);
  auto config = ParseReplicaURL("s3://" + server_.bucket + "/" + path_ + "?endpoint=" + server_.endpoint);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto options = s3::OptionsFromConfig(*config);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->credentials.access_key_id, server_.access_key);
  EXPECT_TRUE(options->force_path_style);  // an explicit endpoint means path style, as upstream
  auto client = NewStorageClient(*config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  MustWrite(**client, 0, 1, 1, 100);
  auto files = (*client)->List(0, 0);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->size(), 1u);

  // The default profile's (wrong) keys are used without AWS_PROFILE: a clear credentials error.
  ScopedEnv default_profile("AWS_PROFILE", nullptr);
  auto wrong = NewStorageClient(*config);
  ASSERT_TRUE(wrong.ok()) << wrong.status().ToString();
  auto denied = (*wrong)->List(0, 0);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("WRONGKEY"), std::string::npos) << denied.status().ToString();
}

// LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY are the fallback names for the keys.
TEST_F(S3StorageTest, LitestreamCredentialVariables) {
  const std::map<std::string, std::string> env = {{"LITESTREAM_ACCESS_KEY_ID", server_.access_key},
                                                  {"LITESTREAM_SECRET_ACCESS_KEY", server_.secret_key}};
  auto config = ParseReplicaURL("s3://" + server_.bucket + "/" + path_ + "?endpoint=" + server_.endpoint,
                                [&env](std::string_view name) -> std::optional<std::string> {
                                  auto it = env.find(std::string(name));
                                  if (it == env.end()) return std::nullopt;
                                  return it->second;
                                });
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto client = NewStorageClient(*config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto files = (*client)->List(0, 0);
  EXPECT_TRUE(files.ok()) << files.status().ToString();
}

// The total retry budget bounds a request against a dead server, whatever max_attempts says.
TEST_F(S3StorageTest, RetriesStopAtTheTimeBudget) {
  s3::S3Options options = TestS3Options(server_, path_);
  options.endpoint = "http://127.0.0.1:1";
  options.max_attempts = 1000;
  options.retry_base = std::chrono::milliseconds(50);
  options.retry_max = std::chrono::milliseconds(50);
  options.max_retry_time = std::chrono::milliseconds(300);
  s3::S3StorageClient client(options);
  const auto start = std::chrono::steady_clock::now();
  auto files = client.List(0, 0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(files.status().message().find("after 1000 attempts"), std::string::npos) << files.status().ToString();
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

  // A timestamp between the first and the second round restores the first round's state, even when it
  // is earlier than the first file's upload time (the first object on a fresh gateway takes seconds).
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
