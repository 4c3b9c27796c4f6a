#include "crypto/age.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace litestream::age {
namespace {

constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kX25519Info = "age-encryption.org/v1/X25519";
constexpr std::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr std::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";
constexpr std::string_view kSecretHrp = "age-secret-key-";
constexpr std::string_view kRecipientHrp = "age";
constexpr size_t kFileKeySize = 16;
constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kTagSize = 16;
constexpr size_t kPayloadNonceSize = 16;
constexpr size_t kColumns = 64;  // base64 characters per line of a stanza body

using Bytes = std::vector<uint8_t>;
using Key32 = std::array<uint8_t, 32>;

Status Damaged(const std::string& what) { return Status::Corruption("age: " + what); }

// Secrets on the stack or heap are wiped on every path out.
template <typename T>
struct Wiped {
  T value{};
  ~Wiped() { OPENSSL_cleanse(value.data(), value.size()); }
};

// ----- base64, standard alphabet, no padding, canonical (unused bits zero) -----

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string B64Encode(std::span<const uint8_t> in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 63]);
  return out;
}

Result<Bytes> B64Decode(std::string_view in, bool padded = false) {
  if (padded) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  }
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c == '\0' ? nullptr : std::strchr(kB64, c);
    if (p == nullptr) return Damaged("invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return Damaged("non-canonical base64");
  return out;
}

// ----- Bech32 (BIP 173), as age encodes keys -----

constexpr char kBech32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Polymod(const std::vector<uint8_t>& values) {
  static constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++) chk ^= ((top >> i) & 1) ? kGen[i] : 0;
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<uint8_t> out;
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

std::vector<uint8_t> ConvertBits(std::span<const uint8_t> in, int from, int to, bool pad, bool* ok) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t max = (1u << to) - 1;
  *ok = true;
  for (uint8_t v : in) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & max));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & max));
  } else if (bits >= from || ((acc << (to - bits)) & max) != 0) {
    *ok = false;
  }
  return out;
}

std::string Bech32Encode(std::string_view hrp, std::span<const uint8_t> data) {
  bool ok = false;
  std::vector<uint8_t> values = ConvertBits(data, 8, 5, true, &ok);
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  check.insert(check.end(), 6, 0);
  const uint32_t mod = Polymod(check) ^ 1;
  std::string out(hrp);
  out.push_back('1');
  for (uint8_t v : values) out.push_back(kBech32[v]);
  for (int i = 0; i < 6; i++) out.push_back(kBech32[(mod >> (5 * (5 - i))) & 31]);
  OPENSSL_cleanse(values.data(), values.size());
  return out;
}

// Decodes a Bech32 string whose human-readable part must be `want_hrp` (either case, not mixed).
Result<Key32> Bech32DecodeKey(std::string_view text, std::string_view want_hrp, const std::string& what) {
  const bool has_lower = std::any_of(text.begin(), text.end(),
                                     [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; });
  const bool has_upper = std::any_of(text.begin(), text.end(),
                                     [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; });
  const size_t sep = text.rfind('1');
  if ((has_lower && has_upper) || sep == std::string_view::npos || sep == 0 || text.size() - sep < 7) {
    return Status::InvalidArgument("age: malformed " + what);
  }
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::string_view(lower).substr(0, sep) != want_hrp) return Status::InvalidArgument("age: not " + what);
  std::vector<uint8_t> values;
  for (size_t i = sep + 1; i < lower.size(); i++) {
    const char* p = std::strchr(kBech32, lower[i]);
    if (p == nullptr || lower[i] == '\0') return Status::InvalidArgument("age: malformed " + what);
    values.push_back(static_cast<uint8_t>(p - kBech32));
  }
  std::vector<uint8_t> check = HrpExpand(want_hrp);
  check.insert(check.end(), values.begin(), values.end());
  const bool checksum_ok = Polymod(check) == 1;
  values.resize(values.size() - 6);
  bool ok = false;
  std::vector<uint8_t> data = ConvertBits(values, 5, 8, false, &ok);
  OPENSSL_cleanse(values.data(), values.size());
  OPENSSL_cleanse(check.data(), check.size());
  OPENSSL_cleanse(lower.data(), lower.size());
  Key32 key{};
  const bool good = checksum_ok && ok && data.size() == key.size();
  if (good) std::copy(data.begin(), data.end(), key.begin());
  OPENSSL_cleanse(data.data(), data.size());
  if (!good) return Status::InvalidArgument("age: invalid " + what + " (bad checksum or length)");
  return key;
}

// ----- primitives -----

Status OpenSslError(const std::string& what) { return Status::IOError("age: OpenSSL " + what + " failed"); }

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Result<Key32> X25519(const Key32& scalar, const Key32& point) {
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point.data(), point.size()));
  if (!priv || !peer) return OpenSslError("X25519 key import");
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(priv.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  Key32 out{};
  size_t len = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    return OpenSslError("X25519");  // includes an all-zero shared secret (a low-order point)
  }
  return out;
}

Result<Key32> X25519Base(const Key32& scalar) {
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
  Key32 out{};
  size_t len = out.size();
  if (!priv || EVP_PKEY_get_raw_public_key(priv.get(), out.data(), &len) != 1 || len != out.size()) {
    return OpenSslError("X25519 public key");
  }
  return out;
}

Result<Key32> Hkdf(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::string_view info) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        EVP_KDF_free);
  if (!kdf) return OpenSslError("HKDF fetch");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()), EVP_KDF_CTX_free);
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] =
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size());
  // No salt means HashLen zero bytes (RFC 5869), which HMAC treats exactly as an empty key.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                                    salt.size());
  }
  params[n++] =
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  Key32 out{};
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return OpenSslError("HKDF");
  return out;
}

// ChaCha20-Poly1305; the output is ciphertext || 16-byte tag.
Result<Bytes> Seal(const Key32& key, const std::array<uint8_t, 12>& nonce,
                   std::span<const uint8_t> plaintext) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  Bytes out(plaintext.size() + kTagSize);
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, out.data() + plaintext.size()) != 1) {
    return OpenSslError("ChaCha20-Poly1305 seal");
  }
  return out;
}

// Returns false (not an error) when the tag does not verify.
Result<bool> Open(const Key32& key, const std::array<uint8_t, 12>& nonce, std::span<const uint8_t> sealed,
                  uint8_t* plaintext) {
  if (sealed.size() < kTagSize) return false;
  const size_t n = sealed.size() - kTagSize;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  int len = 0;
  uint8_t tag[kTagSize];
  std::copy(sealed.end() - kTagSize, sealed.end(), tag);
  uint8_t dummy = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, key.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), n > 0 ? plaintext : &dummy, &len, sealed.data(), static_cast<int>(n)) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) != 1) {
    return OpenSslError("ChaCha20-Poly1305 open");
  }
  return EVP_DecryptFinal_ex(ctx.get(), n > 0 ? plaintext + len : &dummy, &len) == 1;
}

Result<Key32> HeaderMac(const Key32& hmac_key, std::string_view header) {
  Key32 mac{};
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, hmac_key.data(), hmac_key.size(),
                reinterpret_cast<const unsigned char*>(header.data()), header.size(), mac.data(), mac.size(),
                &len) == nullptr ||
      len != mac.size()) {
    return OpenSslError("HMAC-SHA256");
  }
  return mac;
}

std::array<uint8_t, 12> ChunkNonce(uint64_t counter, bool last) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; i++) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
  return nonce;
}

Status RandomBytes(uint8_t* out, size_t n) {
  return RAND_bytes(out, static_cast<int>(n)) == 1 ? Status::OK() : OpenSslError("RAND_bytes");
}

// ----- header -----

// A stanza body: base64 in 64-column lines, ended by a shorter line, so a body whose base64 fills the last
// line exactly gets an extra empty line.
std::string BodyLines(std::span<const uint8_t> body) {
  const std::string b64 = B64Encode(body);
  std::string out;
  for (size_t at = 0;; at += kColumns) {
    const std::string_view line = std::string_view(b64).substr(std::min(at, b64.size()), kColumns);
    out.append(line);
    out.push_back('\n');
    if (line.size() < kColumns) return out;
  }
}

struct Stanza {
  std::string type;
  std::vector<std::string> args;
  Bytes body;
};

struct Header {
  std::vector<Stanza> stanzas;
  std::string_view mac_input;  // the header up to and including "---"
  Bytes mac;
  size_t payload_offset = 0;
};

bool IsArbitraryString(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

Result<Header> ParseHeader(std::string_view file) {
  size_t pos = 0;
  auto next_line = [&](std::string_view* line) -> bool {
    const size_t nl = file.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    *line = file.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line != kVersionLine) return Damaged("not an age v1 file (bad version line)");
  Header h;
  for (;;) {
    if (!next_line(&line)) return Damaged("truncated header");
    if (line.substr(0, 4) == "--- ") {
      h.mac_input = file.substr(0, pos - line.size() - 1 + 3);
      LS_ASSIGN_OR_RETURN(h.mac, B64Decode(line.substr(4)));
      if (h.mac.size() != 32) return Damaged("header MAC has the wrong length");
      h.payload_offset = pos;
      break;
    }
    if (line.substr(0, 3) != "-> ") return Damaged("malformed header line");
    Stanza s;
    std::string_view rest = line.substr(3);
    for (size_t sp; !rest.empty();) {
      sp = rest.find(' ');
      std::string_view arg = rest.substr(0, sp);
      if (!IsArbitraryString(arg)) return Damaged("malformed stanza argument");
      if (s.type.empty())
        s.type = std::string(arg);
      else
        s.args.emplace_back(arg);
      if (sp == std::string_view::npos) break;
      rest = rest.substr(sp + 1);
      if (rest.empty()) return Damaged("malformed stanza line");
    }
    if (s.type.empty()) return Damaged("stanza without a type");
    std::string body;
    for (;;) {  // body lines: full 64-column lines, ended by a shorter one (possibly empty)
      if (!next_line(&line)) return Damaged("truncated stanza body");
      if (line.size() > kColumns) return Damaged("stanza body line too long");
      body += line;
      if (line.size() < kColumns) break;
    }
    LS_ASSIGN_OR_RETURN(s.body, B64Decode(body));
    h.stanzas.push_back(std::move(s));
  }
  if (h.stanzas.empty()) return Damaged("no recipient stanza");
  return h;
}

Result<std::string> Dearmor(std::string_view text) {
  // Trailing and leading whitespace around the armor is allowed; the inside is 64-column base64 with padding.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.substr(0, kArmorBegin.size()) != kArmorBegin ||
      text.size() < kArmorBegin.size() + kArmorEnd.size() ||
      text.substr(text.size() - kArmorEnd.size()) != kArmorEnd) {
    return Damaged("malformed armor");
  }
  std::string_view inner =
      text.substr(kArmorBegin.size(), text.size() - kArmorBegin.size() - kArmorEnd.size());
  std::string b64;
  for (char c : inner) {
    if (c != '\n' && c != '\r') b64.push_back(c);
  }
  LS_ASSIGN_OR_RETURN(Bytes raw, B64Decode(b64, /*padded=*/true));
  return std::string(raw.begin(), raw.end());
}

}  // namespace

Identity& Identity::operator=(const Identity& other) {
  secret_ = other.secret_;
  return *this;
}

Identity::~Identity() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

std::string Identity::Encode() const {
  std::string s = Bech32Encode(kSecretHrp, secret_);
  std::string upper = s;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  OPENSSL_cleanse(s.data(), s.size());
  return upper;
}

Result<std::string> Identity::Recipient() const {
  LS_ASSIGN_OR_RETURN(Key32 pub, X25519Base(secret_));
  return Bech32Encode(kRecipientHrp, pub);
}

Result<Identity> GenerateIdentity() {
  Wiped<Key32> secret;
  LS_RETURN_IF_ERROR(RandomBytes(secret.value.data(), secret.value.size()));
  return Identity(secret.value);
}

Result<std::vector<Identity>> ParseIdentities(std::string_view text) {
  std::vector<Identity> out;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line_no++;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto key = Bech32DecodeKey(line, kSecretHrp, "an age identity (AGE-SECRET-KEY-1...)");
    if (!key.ok()) return key.status().WithContext("identity file line " + std::to_string(line_no));
    Wiped<Key32> secret{*key};
    OPENSSL_cleanse(key->data(), key->size());
    out.emplace_back(secret.value);
  }
  if (out.empty())
    return Status::InvalidArgument("age: no identity (AGE-SECRET-KEY-1...) in the identity file");
  return out;
}

Result<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext,
                                     const std::vector<std::string>& recipients) {
  return detail::EncryptWithTweaks(plaintext, recipients, {});
}

namespace detail {

Result<std::vector<uint8_t>> EncryptWithTweaks(std::span<const uint8_t> plaintext,
                                               const std::vector<std::string>& recipients,
                                               const EncryptTweaks& tweaks) {
  if (recipients.empty()) return Status::InvalidArgument("age: no recipient");
  Wiped<std::array<uint8_t, kFileKeySize>> file_key;
  LS_RETURN_IF_ERROR(RandomBytes(file_key.value.data(), file_key.value.size()));

  std::string header(kVersionLine);
  header += '\n';
  for (const auto& extra : tweaks.extra_stanzas) header += "-> " + extra.line + "\n" + BodyLines(extra.body);
  for (const std::string& r : recipients) {
    LS_ASSIGN_OR_RETURN(Key32 recipient, Bech32DecodeKey(r, kRecipientHrp, "an age recipient (age1...)"));
    Wiped<Key32> ephemeral;
    LS_RETURN_IF_ERROR(RandomBytes(ephemeral.value.data(), ephemeral.value.size()));
    LS_ASSIGN_OR_RETURN(Key32 share, X25519Base(ephemeral.value));
    Wiped<Key32> shared;
    LS_ASSIGN_OR_RETURN(shared.value, X25519(ephemeral.value, recipient));
    Bytes salt(share.begin(), share.end());
    salt.insert(salt.end(), recipient.begin(), recipient.end());
    Wiped<Key32> wrap_key;
    LS_ASSIGN_OR_RETURN(wrap_key.value, Hkdf(shared.value, salt, kX25519Info));
    LS_ASSIGN_OR_RETURN(Bytes body, Seal(wrap_key.value, {}, file_key.value));
    header += "-> X25519 " + B64Encode(share) + "\n" + BodyLines(body);
  }
  header += "---";
  Wiped<Key32> hmac_key;
  LS_ASSIGN_OR_RETURN(hmac_key.value, Hkdf(file_key.value, {}, "header"));
  LS_ASSIGN_OR_RETURN(Key32 mac, HeaderMac(hmac_key.value, header));
  header += " " + B64Encode(mac) + "\n";

  Bytes out(header.begin(), header.end());
  std::array<uint8_t, kPayloadNonceSize> nonce{};
  LS_RETURN_IF_ERROR(RandomBytes(nonce.data(), nonce.size()));
  out.insert(out.end(), nonce.begin(), nonce.end());
  Wiped<Key32> payload_key;
  LS_ASSIGN_OR_RETURN(payload_key.value, Hkdf(file_key.value, nonce, "payload"));
  // Full 64 KiB chunks, then a last one that is shorter or full (and empty only for an empty plaintext).
  const bool empty_tail = tweaks.empty_last_chunk && !plaintext.empty() && plaintext.size() % kChunkSize == 0;
  size_t offset = 0;
  for (uint64_t counter = 0;; counter++) {
    const size_t n = std::min(kChunkSize, plaintext.size() - offset);
    const bool last = offset + n == plaintext.size() && !(empty_tail && n > 0);
    LS_ASSIGN_OR_RETURN(Bytes sealed,
                        Seal(payload_key.value, ChunkNonce(counter, last), plaintext.subspan(offset, n)));
    out.insert(out.end(), sealed.begin(), sealed.end());
    offset += n;
    if (last) break;
  }
  return out;
}

}  // namespace detail

Result<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext,
                                     const std::vector<Identity>& identities) {
  std::string_view file(reinterpret_cast<const char*>(ciphertext.data()), ciphertext.size());
  std::string dearmored;
  {
    std::string_view trimmed = file;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
      trimmed.remove_prefix(1);
    if (trimmed.substr(0, kArmorBegin.size()) == kArmorBegin) {
      LS_ASSIGN_OR_RETURN(dearmored, Dearmor(file));
      file = dearmored;
    }
  }
  LS_ASSIGN_OR_RETURN(Header h, ParseHeader(file));

  Wiped<std::array<uint8_t, kFileKeySize>> file_key;
  bool found = false;
  for (const Stanza& s : h.stanzas) {
    if (s.type == "scrypt")
      return Status::InvalidArgument("age: passphrase-encrypted files are not supported");
  }
  for (const Stanza& s : h.stanzas) {
    if (s.type != "X25519") continue;
    if (s.args.size() != 1) return Damaged("X25519 stanza needs exactly one argument");
    LS_ASSIGN_OR_RETURN(Bytes share_bytes, B64Decode(s.args[0]));
    if (share_bytes.size() != 32 || s.body.size() != kFileKeySize + kTagSize) {
      return Damaged("X25519 stanza of the wrong size");
    }
    Key32 share{};
    std::copy(share_bytes.begin(), share_bytes.end(), share.begin());
    for (const Identity& id : identities) {
      LS_ASSIGN_OR_RETURN(Key32 pub, X25519Base(id.secret()));
      Wiped<Key32> shared;
      auto derived = X25519(id.secret(), share);
      if (!derived.ok()) return Damaged("X25519 stanza with an invalid share");
      shared.value = *derived;
      Bytes salt(share.begin(), share.end());
      salt.insert(salt.end(), pub.begin(), pub.end());
      Wiped<Key32> wrap_key;
      LS_ASSIGN_OR_RETURN(wrap_key.value, Hkdf(shared.value, salt, kX25519Info));
      LS_ASSIGN_OR_RETURN(bool opened, Open(wrap_key.value, {}, s.body, file_key.value.data()));
      if (opened) {
        found = true;
        break;
      }
    }
    if (found) break;
  }
  if (!found) return Status::InvalidArgument("age: no identity matched any of the file's recipients");

  Wiped<Key32> hmac_key;
  LS_ASSIGN_OR_RETURN(hmac_key.value, Hkdf(file_key.value, {}, "header"));
  LS_ASSIGN_OR_RETURN(const Key32 mac, HeaderMac(hmac_key.value, h.mac_input));
  if (CRYPTO_memcmp(mac.data(), h.mac.data(), mac.size()) != 0) return Damaged("header MAC mismatch");

  std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(file.data()) + h.payload_offset,
                                   file.size() - h.payload_offset);
  if (payload.size() < kPayloadNonceSize + kTagSize) return Damaged("truncated payload");
  Wiped<Key32> payload_key;
  LS_ASSIGN_OR_RETURN(payload_key.value, Hkdf(file_key.value, payload.first(kPayloadNonceSize), "payload"));
  payload = payload.subspan(kPayloadNonceSize);
  Bytes out;
  for (uint64_t counter = 0; !payload.empty(); counter++) {
    const size_t n = std::min(kChunkSize + kTagSize, payload.size());
    const bool last = n == payload.size();
    if (last && n == kTagSize && counter > 0) return Damaged("empty last chunk");
    const size_t start = out.size();
    out.resize(start + n - kTagSize);
    LS_ASSIGN_OR_RETURN(bool opened, Open(payload_key.value, ChunkNonce(counter, last), payload.first(n),
                                          out.data() + start));
    if (!opened) {
      OPENSSL_cleanse(out.data(), out.size());
      return Damaged(last ? "payload does not authenticate (modified or truncated)"
                          : "payload chunk does not authenticate");
    }
    payload = payload.subspan(n);
  }
  return out;
}

}  // namespace litestream::age
