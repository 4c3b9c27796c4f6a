#include <gtest/gtest.h>

#include <map>

#include "litestream/config.h"

namespace litestream {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars = {}) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ReplicaConfig MustParse(const std::string& url, std::map<std::string, std::string> env = {}) {
  Result<ReplicaConfig> r = ParseReplicaURL(url, FakeEnv(std::move(env)));
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().ToString();
  return r.ok() ? *r : ReplicaConfig{};
}

std::string ParseError(const std::string& url, std::map<std::string, std::string> env = {}) {
  Result<ReplicaConfig> r = ParseReplicaURL(url, FakeEnv(std::move(env)));
  EXPECT_FALSE(r.ok()) << url;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  return r.status().message();
}

TEST(IsURL, MatchesSchemeColonSlashSlash) {
  EXPECT_TRUE(IsURL("s3://bucket/path"));
  EXPECT_TRUE(IsURL("file:///tmp/x"));
  EXPECT_TRUE(IsURL("a_b1://x"));
  EXPECT_TRUE(IsURL("sqlite://x"));
  EXPECT_FALSE(IsURL("/data/app.db"));
  EXPECT_FALSE(IsURL("app.db"));
  EXPECT_FALSE(IsURL("://x"));
  EXPECT_FALSE(IsURL("s3:/x"));
  EXPECT_FALSE(IsURL("web-dav://x"));
  EXPECT_EQ(ReplicaTypeFromURL("webdavs://h/p"), "webdav");
  EXPECT_EQ(ReplicaTypeFromURL("S3://b/p"), "s3");
  EXPECT_EQ(ReplicaTypeFromURL("/x"), "");
}

TEST(ParseReplicaURL, File) {
  ReplicaConfig r = MustParse("file:///backups/app");
  EXPECT_EQ(r.type, "file");
  EXPECT_EQ(r.path, "/backups/app");
  EXPECT_EQ(r.url, "file:///backups/app");
  EXPECT_EQ(MustParse("file:///backups/app?ignored=1").path, "/backups/app");
  EXPECT_EQ(MustParse("file:///backups/../b/./c/").path, "/b/c");
  EXPECT_EQ(MustParse("file:///my%20dir/db").path, "/my dir/db");
  // Upstream treats a host as part of the path: file://a/b is /a/b.
  EXPECT_EQ(MustParse("file://backups/app").path, "/backups/app");
  EXPECT_NE(ParseError("file://").find("file replica path required"), std::string::npos);
  // Defaults of the common keys.
  EXPECT_EQ(r.sync_interval, std::chrono::seconds(1));
  EXPECT_EQ(r.max_sync_ltx_files, 256);
  EXPECT_FALSE(r.auto_recover);
  EXPECT_EQ(r.ltx_encoding, LtxEncoding::kBlock);
}

TEST(ParseReplicaURL, S3Basic) {
  ReplicaConfig r = MustParse("s3://mybkt/path/to/db");
  EXPECT_EQ(r.type, "s3");
  EXPECT_EQ(r.bucket, "mybkt");
  EXPECT_EQ(r.path, "path/to/db");
  EXPECT_EQ(r.region, "");
  EXPECT_EQ(r.endpoint, "");
  EXPECT_EQ(r.force_path_style, false);
  EXPECT_EQ(r.sign_payload, true);
  EXPECT_EQ(r.require_content_md5, true);
  EXPECT_EQ(r.concurrency, 5);
  EXPECT_EQ(r.part_size, 5 << 20);
  EXPECT_FALSE(r.skip_verify);
  EXPECT_EQ(MustParse("s3://mybkt/a/b/").path, "a/b");
  // Upstream quirk kept for replica compatibility: no path gives ".", so keys start with "./".
  EXPECT_EQ(MustParse("s3://mybkt").path, ".");
  EXPECT_NE(ParseError("s3:///db").find("bucket required for s3 replica"), std::string::npos);
}

TEST(ParseReplicaURL, S3HostForms) {
  ReplicaConfig aws = MustParse("s3://mybkt.s3.us-west-2.amazonaws.com/db");
  EXPECT_EQ(aws.bucket, "mybkt");
  EXPECT_EQ(aws.region, "us-west-2");
  EXPECT_EQ(aws.endpoint, "");
  EXPECT_EQ(MustParse("s3://mybkt.s3.amazonaws.com/db").bucket, "mybkt");

  ReplicaConfig minio = MustParse("s3://mybkt.localhost:9000/db");
  EXPECT_EQ(minio.bucket, "mybkt");
  EXPECT_EQ(minio.endpoint, "http://localhost:9000");
  EXPECT_EQ(minio.region, "us-east-1");
  EXPECT_EQ(minio.force_path_style, true);

  ReplicaConfig dospaces = MustParse("s3://mybkt.nyc3.digitaloceanspaces.com/db");
  EXPECT_EQ(dospaces.bucket, "mybkt");
  EXPECT_EQ(dospaces.region, "nyc3");
  EXPECT_EQ(dospaces.endpoint, "https://nyc3.digitaloceanspaces.com");
  EXPECT_EQ(dospaces.force_path_style, false);

  ReplicaConfig b2 = MustParse("s3://mybkt.s3.us-west-004.backblazeb2.com/db");
  EXPECT_EQ(b2.bucket, "mybkt");
  EXPECT_EQ(b2.region, "us-west-004");
  EXPECT_EQ(b2.endpoint, "https://s3.us-west-004.backblazeb2.com");
  EXPECT_EQ(b2.force_path_style, true);

  ReplicaConfig filebase = MustParse("s3://mybkt.s3.filebase.com/db");
  EXPECT_EQ(filebase.bucket, "mybkt");
  EXPECT_EQ(filebase.endpoint, "https://s3.filebase.com");
  EXPECT_EQ(filebase.force_path_style, true);

  ReplicaConfig scw = MustParse("s3://mybkt.s3.fr-par.scw.cloud/db");
  EXPECT_EQ(scw.bucket, "mybkt");
  EXPECT_EQ(scw.region, "fr-par");
  EXPECT_EQ(scw.endpoint, "https://s3.fr-par.scw.cloud");
  EXPECT_EQ(scw.force_path_style, false);
}

TEST(ParseReplicaURL, S3QueryCamelCase) {
  ReplicaConfig r = MustParse(
      "s3://bkt/"
      "db?endpoint=localhost:9000&region=us-west-1&forcePathStyle=false&skipVerify=true&signPayload=0"
      "&requireContentMD5=no&concurrency=3&partSize=10485760&storageClass=STANDARD_IA&sseCustomerAlgorithm="
      "AES256"
      "&sseCustomerKey=a2V5&sseCustomerKeyMD5=bWQ1&sseKmsKeyId=arn%3Akms");
  EXPECT_EQ(r.endpoint, "http://localhost:9000");
  EXPECT_EQ(r.region, "us-west-1");
  EXPECT_EQ(r.force_path_style, false);
  EXPECT_TRUE(r.skip_verify);
  EXPECT_EQ(r.sign_payload, false);
  EXPECT_EQ(r.require_content_md5, false);
  EXPECT_EQ(r.concurrency, 3);
  EXPECT_EQ(r.part_size, 10 << 20);
  EXPECT_EQ(r.storage_class, "STANDARD_IA");
  EXPECT_EQ(r.sse_customer_algorithm, "AES256");
  EXPECT_EQ(r.sse_customer_key, "a2V5");
  EXPECT_EQ(r.sse_customer_key_md5, "bWQ1");
  EXPECT_EQ(r.sse_kms_key_id, "arn:kms");
}

TEST(ParseReplicaURL, S3QueryKebabCaseAndBooleanSpellings) {
  ReplicaConfig r = MustParse(
      "s3://bkt/db?endpoint=https://s3.example.com&force-path-style=t&skip-verify=yes&sign-payload=f"
      "&require-content-md5=1&part-size=6291456&storage-class=GLACIER&sse-kms-key-id=k&sse-customer-key="
      "c2Vj");
  EXPECT_EQ(r.endpoint, "https://s3.example.com");
  EXPECT_EQ(r.force_path_style, true);
  EXPECT_TRUE(r.skip_verify);
  EXPECT_EQ(r.sign_payload, false);
  EXPECT_EQ(r.require_content_md5, true);
  EXPECT_EQ(r.part_size, 6 << 20);
  EXPECT_EQ(r.storage_class, "GLACIER");
  EXPECT_EQ(r.sse_kms_key_id, "k");
  EXPECT_EQ(r.sse_customer_key, "c2Vj");
  EXPECT_EQ(r.sse_customer_algorithm, "AES256");  // defaulted when a customer key is given
  // An explicit endpoint means path style unless told otherwise.
  EXPECT_EQ(MustParse("s3://bkt/db?endpoint=s3.example.com").force_path_style, true);
  EXPECT_EQ(MustParse("s3://bkt/db?endpoint=s3.example.com").endpoint, "https://s3.example.com");
  EXPECT_EQ(MustParse("s3://bkt/db?endpoint=192.168.1.5:9000").endpoint, "http://192.168.1.5:9000");
}

TEST(ParseReplicaURL, S3InvalidQueryValues) {
  EXPECT_NE(ParseError("s3://bkt/db?forcePathStyle=maybe").find("forcePathStyle"), std::string::npos);
  EXPECT_NE(ParseError("s3://bkt/db?concurrency=0").find("positive integer"), std::string::npos);
  EXPECT_NE(ParseError("s3://bkt/db?concurrency=-1").find("positive integer"), std::string::npos);
  EXPECT_NE(ParseError("s3://bkt/db?part-size=abc").find("part-size"), std::string::npos);
  EXPECT_NE(ParseError("s3://bkt/db?partSize=1000").find("at least 5MiB"), std::string::npos);
  EXPECT_FALSE(ParseReplicaURL("s3://bkt/db?x=%zz", FakeEnv()).ok());
}

TEST(ParseReplicaURL, S3EndpointFromEnvironment) {
  ReplicaConfig r = MustParse("s3://bkt/db", {{"LITESTREAM_S3_ENDPOINT", "localhost:9000"}});
  EXPECT_EQ(r.endpoint, "http://localhost:9000");
  EXPECT_EQ(r.force_path_style, true);
  r = MustParse("s3://bkt/db?endpoint=https://other:1", {{"LITESTREAM_S3_ENDPOINT", "localhost:9000"}});
  EXPECT_EQ(r.endpoint, "https://other:1");
  r = MustParse("s3://bkt/db?forcePathStyle=false", {{"LITESTREAM_S3_ENDPOINT", "localhost:9000"}});
  EXPECT_EQ(r.force_path_style, false);
}

TEST(ParseReplicaURL, S3CredentialsFromEnvironment) {
  ReplicaConfig r = MustParse("s3://bkt/db", {{"AWS_ACCESS_KEY_ID", "aws-id"},
                                              {"LITESTREAM_ACCESS_KEY_ID", "ls-id"},
                                              {"LITESTREAM_SECRET_ACCESS_KEY", "ls-secret"}});
  EXPECT_EQ(r.access_key_id, "aws-id");
  EXPECT_EQ(r.secret_access_key, "ls-secret");
}

TEST(ParseReplicaURL, S3AccessPointArn) {
  ReplicaConfig r = MustParse("s3://arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap/backups/db");
  EXPECT_EQ(r.bucket, "arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap");
  EXPECT_EQ(r.path, "backups/db");
  EXPECT_EQ(r.region, "us-east-2");
  r = MustParse("s3://arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap?region=eu-west-1");
  EXPECT_EQ(r.path, "");
  EXPECT_EQ(r.region, "eu-west-1");
  EXPECT_FALSE(ParseReplicaURL("s3://arn:aws:s3:us-east-2:1:bucket/x", FakeEnv()).ok());
}

TEST(ParseReplicaURL, GoogleCloudStorage) {
  ReplicaConfig r = MustParse("gs://bkt/path/db");
  EXPECT_EQ(r.type, "gs");
  EXPECT_EQ(r.bucket, "bkt");
  EXPECT_EQ(r.path, "path/db");
  EXPECT_NE(ParseError("gs:///db").find("bucket required for gs replica"), std::string::npos);
  // The docs mention gcs://, which upstream does not register.
  EXPECT_NE(ParseError("gcs://bkt/db").find("gcs"), std::string::npos);
}

TEST(ParseReplicaURL, AzureBlobStorage) {
  ReplicaConfig r =
      MustParse("abs://myaccount@mycontainer/path/db", {{"LITESTREAM_AZURE_ACCOUNT_KEY", "key"}});
  EXPECT_EQ(r.type, "abs");
  EXPECT_EQ(r.account_name, "myaccount");
  EXPECT_EQ(r.bucket, "mycontainer");
  EXPECT_EQ(r.path, "path/db");
  EXPECT_EQ(r.account_key, "key");
  r = MustParse("abs://mycontainer/db", {{"LITESTREAM_AZURE_SAS_TOKEN", "sv=1"}});
  EXPECT_EQ(r.account_name, "");
  EXPECT_EQ(r.sas_token, "sv=1");
}

TEST(ParseReplicaURL, Sftp) {
  ReplicaConfig r = MustParse("sftp://alice:pa%24s@backup.example:2222/backups/db");
  EXPECT_EQ(r.type, "sftp");
  EXPECT_EQ(r.host, "backup.example:2222");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.password, "pa$s");
  EXPECT_EQ(r.path, "/backups/db");
  EXPECT_TRUE(r.concurrent_writes);
  EXPECT_EQ(MustParse("sftp://bob@host/x").password, "");
  EXPECT_NE(ParseError("sftp://host/x").find("user required for sftp replica"), std::string::npos);
  EXPECT_NE(ParseError("sftp:///x").find("host required for sftp replica"), std::string::npos);
}

TEST(ParseReplicaURL, WebDav) {
  ReplicaConfig r = MustParse("webdav://u:p@dav.local:8080/backups/db");
  EXPECT_EQ(r.type, "webdav");
  EXPECT_EQ(r.webdav_url, "http://dav.local:8080");
  EXPECT_EQ(r.webdav_username, "u");
  EXPECT_EQ(r.webdav_password, "p");
  EXPECT_EQ(r.path, "/backups/db");
  ReplicaConfig s = MustParse("webdavs://dav.example.com/db");
  EXPECT_EQ(s.type, "webdav");
  EXPECT_EQ(s.webdav_url, "https://dav.example.com");
  EXPECT_NE(ParseError("webdav:///db").find("webdav-url required"), std::string::npos);
}

TEST(ParseReplicaURL, Nats) {
  ReplicaConfig r = MustParse("nats://u:p@localhost:4222/mybucket");
  EXPECT_EQ(r.type, "nats");
  EXPECT_EQ(r.nats_url, "nats://localhost:4222");
  EXPECT_EQ(r.bucket, "mybucket");
  EXPECT_EQ(r.username, "u");
  EXPECT_EQ(r.password, "p");
  EXPECT_EQ(r.max_reconnects, -1);
  EXPECT_EQ(r.reconnect_wait, std::chrono::seconds(2));
  EXPECT_EQ(r.timeout, std::chrono::seconds(10));
  EXPECT_NE(ParseError("nats://localhost:4222/").find("bucket required for nats replica"), std::string::npos);
}

TEST(ParseReplicaURL, AlibabaOss) {
  ReplicaConfig r = MustParse("oss://bkt.oss-cn-shanghai.aliyuncs.com/db");
  EXPECT_EQ(r.type, "oss");
  EXPECT_EQ(r.bucket, "bkt");
  EXPECT_EQ(r.region, "cn-shanghai");
  EXPECT_EQ(r.path, "db");
  EXPECT_EQ(r.concurrency, 3);
  EXPECT_EQ(r.part_size, 5 << 20);
  EXPECT_EQ(MustParse("oss://bkt.oss-cn-beijing-internal.aliyuncs.com/x").region, "cn-beijing");
  ReplicaConfig plain = MustParse("oss://bkt/db");
  EXPECT_EQ(plain.bucket, "bkt");
  EXPECT_EQ(plain.region, "cn-hangzhou");
}

TEST(ParseReplicaURL, UnknownSchemeAndNonUrls) {
  EXPECT_NE(ParseError("ftp://host/x").find("unsupported replica URL scheme"), std::string::npos);
  EXPECT_NE(ParseError("/data/backups").find("scheme required"), std::string::npos);
}

TEST(S3Provider, Detection) {
  EXPECT_EQ(DetectS3Provider(""), S3Provider::kGeneric);
  EXPECT_EQ(DetectS3Provider("https://s3.us-east-1.amazonaws.com"), S3Provider::kGeneric);
  EXPECT_EQ(DetectS3Provider("https://fly.storage.tigris.dev"), S3Provider::kTigris);
  EXPECT_EQ(DetectS3Provider("t3.storage.dev"), S3Provider::kTigris);
  EXPECT_EQ(DetectS3Provider("https://fsn1.your-objectstorage.com"), S3Provider::kHetzner);
  EXPECT_EQ(DetectS3Provider("https://nyc3.digitaloceanspaces.com"), S3Provider::kDigitalOcean);
  EXPECT_EQ(DetectS3Provider("https://s3.fr-par.scw.cloud"), S3Provider::kScaleway);
  EXPECT_EQ(DetectS3Provider("https://s3.us-west-004.backblazeb2.com"), S3Provider::kBackblaze);
  EXPECT_EQ(DetectS3Provider("https://s3.filebase.com"), S3Provider::kFilebase);
  EXPECT_EQ(DetectS3Provider("https://abc.supabase.co/storage/v1/s3"), S3Provider::kSupabase);
  EXPECT_EQ(DetectS3Provider("https://acct.r2.cloudflarestorage.com"), S3Provider::kCloudflareR2);
  EXPECT_EQ(DetectS3Provider("https://storage.googleapis.com"), S3Provider::kGoogleCloudStorage);
  EXPECT_EQ(DetectS3Provider("storage.googleapis.com"), S3Provider::kGoogleCloudStorage);
  EXPECT_EQ(DetectS3Provider("https://www.googleapis.com"), S3Provider::kGeneric);
  EXPECT_EQ(DetectS3Provider("http://localhost:9000"), S3Provider::kMinIO);
  EXPECT_EQ(DetectS3Provider("minio.internal:9000"), S3Provider::kMinIO);
  EXPECT_EQ(DetectS3Provider("https://s3.amazonaws.com:443"), S3Provider::kGeneric);
  EXPECT_EQ(DetectS3Provider("https://user:pw@localhost:9000"),
            S3Provider::kGeneric);  // credentials: ignored
  EXPECT_EQ(S3ProviderName(S3Provider::kCloudflareR2), "cloudflare-r2");
}

TEST(S3Provider, DefaultsTable) {
  auto defaults = [](const std::string& endpoint) {
    ReplicaConfig r;
    r.endpoint = endpoint;
    ApplyS3ProviderDefaults(&r);
    return r;
  };
  ReplicaConfig aws = defaults("");
  EXPECT_EQ(aws.sign_payload, true);
  EXPECT_EQ(aws.require_content_md5, true);
  EXPECT_EQ(aws.force_path_style, false);
  EXPECT_EQ(aws.concurrency, 5);
  EXPECT_EQ(aws.part_size, 5 << 20);
  EXPECT_EQ(defaults("https://fly.storage.tigris.dev").require_content_md5, false);
  EXPECT_EQ(defaults("https://acct.r2.cloudflarestorage.com").concurrency, 2);
  EXPECT_EQ(defaults("https://s3.filebase.com").force_path_style, true);
  EXPECT_EQ(defaults("http://localhost:9000").force_path_style, true);
  EXPECT_EQ(defaults("https://nyc3.digitaloceanspaces.com").force_path_style, true);  // explicit endpoint

  // Explicit values always win.
  ReplicaConfig r;
  r.endpoint = "https://fly.storage.tigris.dev";
  r.require_content_md5 = true;
  r.sign_payload = false;
  r.force_path_style = false;
  r.concurrency = 9;
  r.part_size = 6 << 20;
  ApplyS3ProviderDefaults(&r);
  EXPECT_EQ(r.require_content_md5, true);
  EXPECT_EQ(r.sign_payload, false);
  EXPECT_EQ(r.force_path_style, false);
  EXPECT_EQ(r.concurrency, 9);
  EXPECT_EQ(r.part_size, 6 << 20);
}

TEST(S3Provider, EndpointScheme) {
  EXPECT_EQ(EnsureEndpointScheme(""), "");
  EXPECT_EQ(EnsureEndpointScheme("localhost:9000"), "http://localhost:9000");
  EXPECT_EQ(EnsureEndpointScheme("127.0.0.1:9000"), "http://127.0.0.1:9000");
  EXPECT_EQ(EnsureEndpointScheme("10.1.2.3"), "http://10.1.2.3");
  EXPECT_EQ(EnsureEndpointScheme("172.20.0.2:9000"), "http://172.20.0.2:9000");
  EXPECT_EQ(EnsureEndpointScheme("minio.local"), "http://minio.local");
  EXPECT_EQ(EnsureEndpointScheme("s3.example.com"), "https://s3.example.com");
  EXPECT_EQ(EnsureEndpointScheme("http://s3.example.com"), "http://s3.example.com");
  EXPECT_EQ(EnsureEndpointScheme("https://localhost"), "https://localhost");
  EXPECT_TRUE(IsLocalEndpoint("http://localhost:9000"));
  EXPECT_FALSE(IsLocalEndpoint("s3.amazonaws.com"));
}

}  // namespace
}  // namespace litestream
