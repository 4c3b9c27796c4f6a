// age v1: our implementation against itself and against the real `age` / `age-keygen` (Debian package
// `age`, installed by scripts/setup.sh), both ways.
#include "crypto/age.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "support/cli_runner.h"
#include "support/paths.h"

namespace litestream::age {
namespace {

using testing::MakeTempDir;
using testing::RunProgram;

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void WriteFile(const std::string& path, std::span<const uint8_t> data) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                               static_cast<std::streamsize>(data.size()));
}

void WriteFile(const std::string& path, const std::string& text) {
  WriteFile(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  return {s.begin(), s.end()};
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The real tools must be there: CI installs them (scripts/setup.sh); a missing tool fails, never skips.
void RequireRealAge() {
  auto r = RunProgram("age", {"--version"});
  ASSERT_EQ(r.exit_code, 0) << "the real `age` is not installed (apt-get install age; scripts/setup.sh does it)";
}

const size_t kSizes[] = {0, 1, 65535, 65536, 65537, 200000};

TEST(Age, RoundTripsEverySizeAroundTheChunkBoundary) {
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  auto recipient = id->Recipient();
  ASSERT_TRUE(recipient.ok());
  for (size_t n : kSizes) {
    auto plain = RandomBytes(n, n);
    auto enc = Encrypt(plain, {*recipient});
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto dec = Decrypt(*enc, {*id});
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status().ToString();
    EXPECT_EQ(*dec, plain) << n;
  }
}

TEST(Age, IdentityEncodingRoundTrips) {
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  const std::string text = "# created: now\n# public key: " + *id->Recipient() + "\n\n" + id->Encode() + "\n";
  auto parsed = ParseIdentities(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].secret(), id->secret());
  EXPECT_FALSE(ParseIdentities("# nothing here\n").ok());
  auto bad = ParseIdentities("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("QQQQ"), std::string::npos) << "errors must not quote the key";
}

TEST(Age, WrongKeyTamperingAndTruncationFailCleanly) {
  auto id = GenerateIdentity();
  auto other = GenerateIdentity();
  ASSERT_TRUE(id.ok() && other.ok());
  auto plain = RandomBytes(70000, 7);
  auto enc = Encrypt(plain, {*id->Recipient()});
  ASSERT_TRUE(enc.ok());

  auto wrong = Decrypt(*enc, {*other});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("no identity matched"), std::string::npos) << wrong.status().ToString();

  const std::string text(enc->begin(), enc->end());
  const size_t mac_line = text.find("\n--- ") + 1;
  const size_t payload = text.find('\n', mac_line) + 1;
  struct Case {
    const char* what;
    size_t offset;
  } cases[] = {{"version line", 3},          {"stanza share", text.find("-> X25519 ") + 12},
               {"header MAC", mac_line + 6}, {"payload nonce", payload + 2},
               {"first chunk", payload + 100}, {"last chunk", enc->size() - 3}};
  for (const Case& c : cases) {
    auto damaged = *enc;
    damaged[c.offset] ^= 0x01;
    auto r = Decrypt(damaged, {*id});
    EXPECT_FALSE(r.ok()) << c.what;
  }
  for (size_t cut : {payload + 10, enc->size() - 1, payload + 16 + 65536 + 16}) {
    std::vector<uint8_t> truncated(enc->begin(), enc->begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(Decrypt(truncated, {*id}).ok()) << "cut at " << cut;
  }
  auto extra = *enc;
  extra.push_back(0);
  EXPECT_FALSE(Decrypt(extra, {*id}).ok()) << "trailing data";
}

TEST(AgeInterop, RealAgeDecryptsWhatWeEncrypt) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-ours");
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  WriteFile(dir + "/key.txt", id->Encode() + "\n");
  for (size_t n : kSizes) {
    auto plain = RandomBytes(n, 100 + n);
    auto enc = Encrypt(plain, {*id->Recipient()});
    ASSERT_TRUE(enc.ok());
    WriteFile(dir + "/file.age", *enc);
    auto r = RunProgram("age", {"-d", "-i", dir + "/key.txt", "-o", dir + "/out", dir + "/file.age"});
    ASSERT_EQ(r.exit_code, 0) << n << ": " << r.err;
    EXPECT_EQ(ReadFile(dir + "/out"), plain) << n;
  }
}

TEST(AgeInterop, WeDecryptWhatRealAgeEncrypts) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-real");
  auto id = GenerateIdentity();
  auto second = GenerateIdentity();
  ASSERT_TRUE(id.ok() && second.ok());
  WriteFile(dir + "/recipients.txt", *second->Recipient() + "\n" + *id->Recipient() + "\n");
  for (size_t n : kSizes) {
    auto plain = RandomBytes(n, 200 + n);
    WriteFile(dir + "/in", plain);
    auto single = RunProgram("age", {"-r", *id->Recipient(), "-o", dir + "/one.age", dir + "/in"});
    ASSERT_EQ(single.exit_code, 0) << single.err;
    auto dec = Decrypt(ReadFile(dir + "/one.age"), {*id});
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status().ToString();
    EXPECT_EQ(*dec, plain) << n;

    auto both = RunProgram("age", {"-R", dir + "/recipients.txt", "-o", dir + "/two.age", dir + "/in"});
    ASSERT_EQ(both.exit_code, 0) << both.err;
    auto dec2 = Decrypt(ReadFile(dir + "/two.age"), {*id});
    ASSERT_TRUE(dec2.ok()) << n << ": " << dec2.status().ToString();
    EXPECT_EQ(*dec2, plain) << n;

    auto armored = RunProgram("age", {"-a", "-r", *id->Recipient(), "-o", dir + "/armored.age", dir + "/in"});
    ASSERT_EQ(armored.exit_code, 0) << armored.err;
    auto dec3 = Decrypt(ReadFile(dir + "/armored.age"), {*id});
    ASSERT_TRUE(dec3.ok()) << n << ": " << dec3.status().ToString();
    EXPECT_EQ(*dec3, plain) << n;
  }
}

TEST(AgeInterop, KeysFromAgeKeygenAndOursAgree) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-keys");
  // A key from age-keygen: we derive the same recipient as `age-keygen -y`.
  auto gen = RunProgram("age-keygen", {"-o", dir + "/real.txt"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const auto real_file = ReadFile(dir + "/real.txt");
  auto real = ParseIdentities(std::string(real_file.begin(), real_file.end()));
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  auto real_y = RunProgram("age-keygen", {"-y", dir + "/real.txt"});
  ASSERT_EQ(real_y.exit_code, 0) << real_y.err;
  EXPECT_EQ(*(*real)[0].Recipient(), Trim(real_y.out));

  // Our key: `age-keygen -y` derives the recipient we print.
  auto ours = GenerateIdentity();
  ASSERT_TRUE(ours.ok());
  WriteFile(dir + "/ours.txt", ours->Encode() + "\n");
  auto ours_y = RunProgram("age-keygen", {"-y", dir + "/ours.txt"});
  ASSERT_EQ(ours_y.exit_code, 0) << ours_y.err;
  EXPECT_EQ(*ours->Recipient(), Trim(ours_y.out));
}

}  // namespace
}  // namespace litestream::age
