// Encryption at rest of personal fields (ID numbers, phone numbers) under a data key kept
// outside the database, and a keyed search hash so a whole value can be found without
// decrypting anything.
//
// Data key file: one line of text, mode 0600 (Load refuses a file group or others may
// read or write):
//
//   daiban-data-key v1 <algorithm> <key as hex>
//
//   algorithm  "aes-256-gcm" (64 hex digits) or "sm4-gcm" (32 hex digits; only where the
//              OpenSSL build provides SM4-GCM — OpenSSL 3.0 does not: FieldAlgAvailable)
//
// Every node that must read a case's personal fields holds the same data key (one per
// city: a case filed at a village is read at its township and county).
//
// Three keys are derived from the data key with HKDF-SHA256 (salt "daiban-data-key v1"),
// each under its own label, so no derived value reveals another or the data key:
//   info "daiban field encryption <algorithm>"  the AEAD key (32 or 16 bytes)
//   info "daiban search hash"                   the HMAC-SHA256 key of SearchHash
//   info "daiban key id <algorithm>"            8 bytes, shown as the 16-hex-digit KeyId()
//
// Encrypted value (a token; printable ASCII, safe in JSON and SQL text):
//
//   enc1.<algorithm>.<key id>.<data>
//
//   data       base64url (no padding) of nonce (12 random bytes) | ciphertext | tag (16)
//   AAD        the ASCII bytes "enc1.<algorithm>.<key id>." followed by the caller's
//              `context` (e.g. the field name), so neither the header nor the field a
//              value belongs to can be changed without Decrypt noticing
//
// A fresh random nonce is drawn for every Encrypt, so encrypting one value twice gives two
// different tokens: compare values by SearchHash, never by token. (Random 96-bit nonces
// are safe for well over the 2^32 encryptions NIST allows per key; a city makes millions.)
//
// Search hash: "h1." followed by the lower-case hex HMAC-SHA256 of the value under the
// search key. Deterministic per data key; without the key it cannot be brute-forced
// from the small space of valid ID or phone numbers.
//
// No error message of this module contains a plaintext value, a token's data or any key
// material; messages name files, modes, algorithms and key ids only.
//
// FieldCipher is a value: copies share one immutable key block (wiped when the last copy
// goes), and one cipher may be used from many threads at once.
#ifndef DAIBAN_COMMON_FIELD_CRYPTO_H_
#define DAIBAN_COMMON_FIELD_CRYPTO_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace daiban::common {

// The fixed start of every encrypted value; the "1" is the format version.
inline constexpr std::string_view kEncryptedPrefix = "enc1.";
// The fixed start of every search hash.
inline constexpr std::string_view kSearchHashPrefix = "h1.";
// The first word of a data key file.
inline constexpr std::string_view kDataKeyMagic = "daiban-data-key";
// Longest plaintext Encrypt takes.
inline constexpr size_t kMaxFieldPlainBytes = 4096;
// Longest token Decrypt reads; longer input is refused before decoding.
inline constexpr size_t kMaxFieldTokenBytes = 8192;
// Length of KeyId() in hex digits.
inline constexpr size_t kKeyIdHexDigits = 16;

enum class FieldAlg {
  kAes256Gcm,  // "aes-256-gcm"
  kSm4Gcm,     // "sm4-gcm" (GB/T 32907 SM4 in GCM mode)
};
std::string_view FieldAlgName(FieldAlg alg);
// kInvalidArgument "data key algorithm: must be aes-256-gcm or sm4-gcm".
Result<FieldAlg> ParseFieldAlg(std::string_view name);
// True if this process's OpenSSL provides the cipher (EVP_CIPHER_fetch succeeds).
bool FieldAlgAvailable(FieldAlg alg);

class FieldCipher {
 public:
  // An empty cipher: valid() is false; Encrypt, Decrypt and SearchHash fail with
  // kFailedPrecondition. Lets a cipher be a member assigned later.
  FieldCipher() = default;

  // A fresh key in memory only (tests, the simulator). kUnimplemented if `alg` is not
  // available here; kUnavailable if the random source fails.
  static Result<FieldCipher> Generate(FieldAlg alg);

  // Writes a fresh key to a new file at `path` with mode 0600, syncs it to disk, and
  // returns the cipher. Never overwrites: kAlreadyExists if anything is at `path` (a lost
  // data key makes every value encrypted under it unreadable). kUnimplemented if `alg`
  // is not available here (no file is written); kFailedPrecondition if the file cannot
  // be created or written (its directory is missing or not writable; no partial file is
  // left behind).
  static Result<FieldCipher> GenerateKeyFile(const std::string& path, FieldAlg alg);

  // Reads a data key file. Errors name `path`, never its content:
  //   kNotFound            no file at `path`
  //   kFailedPrecondition  not a regular file, or readable/writable by group or others
  //                        ("... has mode 0644 ... run: chmod 600 <path>"), or unreadable
  //   kInvalidArgument     not a Daiban data key file, unsupported version, unknown
  //                        algorithm, a key that is not hex or has the wrong length
  //   kUnimplemented       the file's algorithm is not available in this OpenSSL
  static Result<FieldCipher> Load(const std::string& path);

  bool valid() const { return keys_ != nullptr; }
  // REQUIRES: valid().
  FieldAlg alg() const;
  // 16 lower-case hex digits naming the data key (derived from it, never the key);
  // "" if !valid().
  const std::string& KeyId() const;

  // A token for `plain` (format above) bound to `context`. kInvalidArgument if `plain`
  // is longer than kMaxFieldPlainBytes; kFailedPrecondition if !valid(); kUnavailable
  // if the random source fails; kInternal if OpenSSL fails.
  Result<std::string> Encrypt(std::string_view plain, std::string_view context = {}) const;

  // The plaintext of a token made by Encrypt with the same data key and `context`.
  // Errors, each with a message starting "field cipher: ":
  //   kInvalidArgument     not an encrypted value at all (no "enc1." prefix), or a
  //                        malformed one (wrong number of parts, bad key id or base64url,
  //                        too short, too long)
  //   kFailedPrecondition  "field cipher: encrypted with data key <id1>, this node has
  //                        <id2>: wrong key file"; or !valid()
  //   kDataLoss            the token names this key but does not authenticate: altered,
  //                        damaged, or moved from another context
  Result<std::string> Decrypt(std::string_view token, std::string_view context = {}) const;

  // "h1.<64 hex>" for `normalized` (the caller normalises: e.g. an upper-case ID number).
  // kFailedPrecondition if !valid(); kInternal if OpenSSL fails.
  Result<std::string> SearchHash(std::string_view normalized) const;

  // True if `text` has the shape of a token: "enc1.", then three non-empty dot-separated
  // parts, the second 16 lower-case hex digits. Says nothing about which key.
  static bool IsEncrypted(std::string_view text);
  // The key id named by a token, or "" if !IsEncrypted(token).
  static std::string_view TokenKeyId(std::string_view token);

 private:
  struct Keys;
  explicit FieldCipher(std::shared_ptr<const Keys> keys) : keys_(std::move(keys)) {}
  static Result<FieldCipher> FromKey(FieldAlg alg, std::string_view key);

  std::shared_ptr<const Keys> keys_;  // immutable once set; null when empty
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_FIELD_CRYPTO_H_
