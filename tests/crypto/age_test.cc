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
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
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
  ASSERT_EQ(r.exit_code, 0)
      << "the real `age` is not installed (apt-get install age; scripts/setup.sh does it)";
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
  auto bad =
      ParseIdentities("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n");
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
  EXPECT_NE(wrong.status().message().find("no identity matched"), std::string::npos)
      << wrong.status().ToString();

  const std::string text(enc->begin(), enc->end());
  const size_t mac_line = text.find("\n--- ") + 1;
  const size_t payload = text.find('\n', mac_line) + 1;
  struct Case {
    const char* what;
    size_t offset;
  } cases[] = {{"version line", 3},
               {"stanza share", text.find("-> X25519 ") + 12},
               {"header MAC", mac_line + 6},
               {"payload nonce", payload + 2},
               {"first chunk", payload + 100},
               {"last chunk", enc->size() - 3}};
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
  // A key from age-keygen: we derive the same recipient as `age-keygen -y`, and files go both ways.
  auto gen = RunProgram("age-keygen", {"-o", dir + "/real.txt"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const auto real_file = ReadFile(dir + "/real.txt");
  auto real = ParseIdentities(std::string(real_file.begin(), real_file.end()));
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  auto real_y = RunProgram("age-keygen", {"-y", dir + "/real.txt"});
  ASSERT_EQ(real_y.exit_code, 0) << real_y.err;
  const std::string real_recipient = Trim(real_y.out);
  EXPECT_EQ(*(*real)[0].Recipient(), real_recipient);

  const auto plain = RandomBytes(1000, 42);
  auto ours_enc = Encrypt(plain, {real_recipient});
  ASSERT_TRUE(ours_enc.ok());
  WriteFile(dir + "/ours.age", *ours_enc);
  auto dec = RunProgram("age", {"-d", "-i", dir + "/real.txt", "-o", dir + "/ours.out", dir + "/ours.age"});
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(ReadFile(dir + "/ours.out"), plain);
  WriteFile(dir + "/in", plain);
  auto enc = RunProgram("age", {"-r", real_recipient, "-o", dir + "/real.age", dir + "/in"});
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  auto ours_dec = Decrypt(ReadFile(dir + "/real.age"), *real);
  ASSERT_TRUE(ours_dec.ok()) << ours_dec.status().ToString();
  EXPECT_EQ(*ours_dec, plain);

  // Our key: `age-keygen -y` derives the recipient we print.
  auto ours = GenerateIdentity();
  ASSERT_TRUE(ours.ok());
  WriteFile(dir + "/ours.txt", ours->Encode() + "\n");
  auto ours_y = RunProgram("age-keygen", {"-y", dir + "/ours.txt"});
  ASSERT_EQ(ours_y.exit_code, 0) << ours_y.err;
  EXPECT_EQ(*ours->Recipient(), Trim(ours_y.out));
}

// Decrypts with the real age; returns its exit code (and the plaintext in *out).
int RealDecrypt(const std::string& dir, const std::string& key_file, std::span<const uint8_t> file,
                std::vector<uint8_t>* out = nullptr, std::string* err = nullptr) {
  WriteFile(dir + "/probe.age", file);
  std::remove((dir + "/probe.out").c_str());
  auto r = RunProgram("age", {"-d", "-i", key_file, "-o", dir + "/probe.out", dir + "/probe.age"});
  if (out != nullptr) *out = ReadFile(dir + "/probe.out");
  if (err != nullptr) *err = r.err;
  return r.exit_code;
}

TEST(AgeInterop, StanzaBodiesWrapAt64ColumnsWithAShorterLastLine) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-wrap");
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  WriteFile(dir + "/key.txt", id->Encode() + "\n");
  const auto plain = RandomBytes(300, 3);
  // Bodies of 0, 47 (63 columns), 48 (exactly 64: needs an empty line after it) and 96 bytes (two full
  // lines and an empty one), in stanzas neither reader understands: both must skip them and use X25519.
  detail::EncryptTweaks tweaks;
  for (size_t n : {0, 47, 48, 96}) {
    tweaks.extra_stanzas.push_back({"unknown-" + std::to_string(n) + " arg", RandomBytes(n, n)});
  }
  auto enc = detail::EncryptWithTweaks(plain, {*id->Recipient()}, tweaks);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  const std::string text(enc->begin(), enc->end());
  const size_t at48 = text.find("-> unknown-48 arg\n");
  ASSERT_NE(at48, std::string::npos);
  const size_t body48 = text.find('\n', at48) + 1;
  EXPECT_EQ(text.substr(body48 + 64, 2), "\n\n") << "a full 64-column last line needs an empty line after it";

  auto ours = Decrypt(*enc, {*id});
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  EXPECT_EQ(*ours, plain);
  std::vector<uint8_t> theirs;
  std::string err;
  ASSERT_EQ(RealDecrypt(dir, dir + "/key.txt", *enc, &theirs, &err), 0) << err;
  EXPECT_EQ(theirs, plain);
}

TEST(AgeInterop, AnEmptyLastChunkIsRefusedUnlessThePayloadIsEmpty) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-empty-chunk");
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  WriteFile(dir + "/key.txt", id->Encode() + "\n");
  detail::EncryptTweaks tweaks;
  tweaks.empty_last_chunk = true;
  auto enc = detail::EncryptWithTweaks(RandomBytes(65536, 1), {*id->Recipient()}, tweaks);
  ASSERT_TRUE(enc.ok());
  auto ours = Decrypt(*enc, {*id});
  ASSERT_FALSE(ours.ok());
  EXPECT_NE(ours.status().message().find("empty last chunk"), std::string::npos) << ours.status().ToString();
  EXPECT_NE(RealDecrypt(dir, dir + "/key.txt", *enc), 0) << "the real age accepted an empty last chunk";

  auto empty = detail::EncryptWithTweaks({}, {*id->Recipient()}, tweaks);  // the only allowed empty chunk
  ASSERT_TRUE(empty.ok());
  auto dec = Decrypt(*empty, {*id});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(dec->empty());
}

// Replaces the base64 character at `pos` with one that sets a padding bit (unused bits of the last
// character of a 32-byte value: the two lowest).
std::vector<uint8_t> SetPaddingBit(std::vector<uint8_t> file, size_t pos) {
  static const std::string kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t v = kB64.find(static_cast<char>(file[pos]));
  file[pos] = static_cast<uint8_t>(kB64[v ^ 1]);
  return file;
}

TEST(AgeInterop, NonCanonicalBase64IsRefused) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-b64");
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  WriteFile(dir + "/key.txt", id->Encode() + "\n");
  auto enc = Encrypt(RandomBytes(10, 10), {*id->Recipient()});
  ASSERT_TRUE(enc.ok());
  const std::string text(enc->begin(), enc->end());
  const size_t share_end = text.find('\n', text.find("-> X25519 ")) - 1;
  const size_t mac_end = text.find('\n', text.find("\n--- ") + 1) - 1;
  for (size_t pos : {share_end, mac_end}) {
    const auto bad = SetPaddingBit(*enc, pos);
    auto r = Decrypt(bad, {*id});
    ASSERT_FALSE(r.ok()) << pos;
    EXPECT_NE(r.status().message().find("non-canonical base64"), std::string::npos) << r.status().ToString();
    EXPECT_NE(RealDecrypt(dir, dir + "/key.txt", bad), 0) << "the real age accepted it too: " << pos;
  }
}

TEST(Age, PassphraseStanzasAreRefused) {
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  detail::EncryptTweaks tweaks;
  tweaks.extra_stanzas.push_back({"scrypt AAAAAAAAAAAAAAAAAAAAAA 18", RandomBytes(32, 5)});
  auto enc = detail::EncryptWithTweaks(RandomBytes(10, 10), {*id->Recipient()}, tweaks);
  ASSERT_TRUE(enc.ok());
  auto r = Decrypt(*enc, {*id});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("passphrase"), std::string::npos) << r.status().ToString();
}

TEST(AgeInterop, TamperedFilesFromRealAgeFailCleanly) {
  RequireRealAge();
  const std::string dir = MakeTempDir("age-tamper");
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  const auto plain = RandomBytes(140000, 9);
  WriteFile(dir + "/in", plain);
  auto r = RunProgram("age", {"-r", *id->Recipient(), "-o", dir + "/f.age", dir + "/in"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto file = ReadFile(dir + "/f.age");
  ASSERT_TRUE(Decrypt(file, {*id}).ok());

  const std::string text(file.begin(), file.end());
  const size_t mac_line = text.find("\n--- ") + 1;
  const size_t payload = text.find('\n', mac_line) + 1;
  const size_t stanza = text.find("-> X25519 ");
  const size_t body = text.find('\n', stanza) + 1;
  const size_t offsets[] = {stanza + 3,     stanza + 12, body + 5,         mac_line + 1,
                            mac_line + 8,   payload,     payload + 16 + 5, payload + 16 + 65536 + 16 + 7,
                            file.size() - 1};
  for (size_t off : offsets) {
    auto damaged = file;
    damaged[off] ^= 0x20;
    auto d = Decrypt(damaged, {*id});
    EXPECT_FALSE(d.ok()) << "flipped byte " << off;
  }
  for (size_t cut : {size_t{0}, mac_line, payload, payload + 16, payload + 16 + 65536 + 16, file.size() - 16,
                     file.size() - 1}) {
    std::vector<uint8_t> truncated(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(Decrypt(truncated, {*id}).ok()) << "cut at " << cut;
  }
  auto extra = file;
  extra.insert(extra.end(), {'x', 'y'});
  EXPECT_FALSE(Decrypt(extra, {*id}).ok()) << "trailing data";
}

}  // namespace
}  // namespace litestream::age
