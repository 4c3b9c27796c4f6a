// age v1 (https://age-encryption.org/v1) with X25519 recipients, on OpenSSL 3: what the encrypted config
// store keeps in the application's database. Files we write decrypt with the real `age -d -i KEY`, and
// files the real `age -r RECIPIENT` writes decrypt here (tests/crypto/age_test.cc).
//
// Binary format is written; binary and ASCII-armored ("-----BEGIN AGE ENCRYPTED FILE-----") are read.
// Only X25519 stanzas are understood; other stanza types (ssh-ed25519, ...) are skipped when another
// stanza matches, and an scrypt stanza (passphrase files) is refused.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "litestream/status.h"

namespace litestream::age {

// An X25519 secret key. Zeroed when destroyed.
class Identity {
 public:
  explicit Identity(const std::array<uint8_t, 32>& secret) : secret_(secret) {}
  Identity(const Identity& other) : secret_(other.secret_) {}
  Identity& operator=(const Identity& other);
  ~Identity();

  const std::array<uint8_t, 32>& secret() const { return secret_; }
  // "AGE-SECRET-KEY-1..." (upper case, as age-keygen writes it).
  std::string Encode() const;
  // "age1...": the recipient that encrypts to this identity.
  Result<std::string> Recipient() const;

 private:
  std::array<uint8_t, 32> secret_;
};

// A fresh random identity.
Result<Identity> GenerateIdentity();

// Parses an identity file as age-keygen writes it: one AGE-SECRET-KEY-1... per line; blank lines and lines
// starting with '#' are ignored. Errors never quote the key.
Result<std::vector<Identity>> ParseIdentities(std::string_view text);

// Encrypts to one or more "age1..." recipients.
Result<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext,
                                     const std::vector<std::string>& recipients);

// Decrypts with whichever identity matches a stanza. Corruption for a damaged or tampered file;
// InvalidArgument("no identity matched ...") when the file was encrypted to someone else.
Result<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext,
                                     const std::vector<Identity>& identities);

namespace detail {

// Only for tests: well-formed files Encrypt never writes, to check what readers (ours and the real age)
// accept and refuse.
struct EncryptTweaks {
  struct Stanza {
    std::string line;  // after "-> ": the type and its arguments, e.g. "grease-1 abc"
    std::vector<uint8_t> body;
  };
  std::vector<Stanza> extra_stanzas;  // written before the recipients' stanzas
  // For a plaintext that is a positive multiple of 64 KiB: every full chunk is written as non-last and an
  // empty last chunk follows (the spec forbids it).
  bool empty_last_chunk = false;
};
Result<std::vector<uint8_t>> EncryptWithTweaks(std::span<const uint8_t> plaintext,
                                               const std::vector<std::string>& recipients,
                                               const EncryptTweaks& tweaks);

}  // namespace detail

}  // namespace litestream::age
