// The SigV4 signer against AWS's published examples: the "get-vanilla" case of the AWS Signature Version 4
// test suite, and the worked examples of the S3 API reference ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk": GET object, PUT object, GET bucket
// lifecycle, GET bucket list objects), whose expected signatures are printed in that document.
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

namespace litestream::s3 {
namespace {

std::string SignatureOf(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [k, v] : headers) {
    if (k == "Authorization") return v.substr(v.find("Signature=") + 10);
  }
  return "";
}

std::string AuthorizationOf(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [k, v] : headers) {
    if (k == "Authorization") return v;
  }
  return "";
}

const Credentials kS3DocsCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

TEST(SigV4, TestSuiteGetVanilla) {
  SignableRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}};
  r.payload_sha256 = std::string(kEmptySha256);
  auto h = Sign(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, "us-east-1", "service",
                "20150830T123600Z");
  EXPECT_EQ(AuthorizationOf(h),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, S3GetObjectWithRange) {
  SignableRequest r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", std::string(kEmptySha256)}};
  r.payload_sha256 = std::string(kEmptySha256);
  auto h = Sign(r, kS3DocsCreds, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(SignatureOf(h), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_NE(AuthorizationOf(h).find("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"), std::string::npos);
}

TEST(SigV4, S3PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  SignableRequest r;
  r.method = "PUT";
  r.path = "/" + UriEncode("test$file.text", false);
  EXPECT_EQ(r.path, "/test%24file.text");
  r.payload_sha256 = Sha256Hex(body);
  EXPECT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_sha256}};
  auto h = Sign(r, kS3DocsCreds, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(SignatureOf(h), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, S3GetBucketLifecycleValuelessParameter) {
  SignableRequest r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", std::string(kEmptySha256)}};
  r.payload_sha256 = std::string(kEmptySha256);
  auto h = Sign(r, kS3DocsCreds, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(SignatureOf(h), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, S3ListObjectsQueryIsSortedAndEncoded) {
  SignableRequest r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // given unsorted on purpose
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", std::string(kEmptySha256)}};
  r.payload_sha256 = std::string(kEmptySha256);
  auto h = Sign(r, kS3DocsCreds, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(SignatureOf(h), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, EncodingAndSessionToken) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g+h=", true), "a%20b%2Fc~d_e.f-g%2Bh%3D");
  EXPECT_EQ(UriEncode("db/0000/x.ltx", false), "db/0000/x.ltx");
  EXPECT_EQ(CanonicalQuery({{"prefix", "db/0000/"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=db%2F0000%2F&uploads=");
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
  SignableRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"host", "h"}};
  r.payload_sha256 = "UNSIGNED-PAYLOAD";
  auto h = Sign(r, {"AK", "SK", "TOKEN"}, "us-east-1", "s3", "20130524T000000Z");
  bool token = false;
  for (const auto& [k, v] : h) token |= k == "x-amz-security-token" && v == "TOKEN";
  EXPECT_TRUE(token);
  EXPECT_NE(AuthorizationOf(h).find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos);
}

}  // namespace
}  // namespace litestream::s3
