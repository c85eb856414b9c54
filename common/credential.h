// Node credentials: the city hub vouches for a node with an Ed25519 signature.
//
// The hub holds the one SigningKey of a city; every node holds the matching VerifyKey
// (its public half, shipped as PEM). A credential names a node, its region and tier:
//
//   dbc1.<payload>.<signature>
//
//   payload    base64url (no padding) of the canonical JSON (common/json.h) object
//              {"issued_ms":<int>,"node_id":"<text>","region":"<12 digits>",
//               "serial":<int>,"tier":"village|township|county|city"}
//   signature  base64url (no padding) of the 64-byte Ed25519 signature over the ASCII
//              bytes "dbc1.<payload>" (the prefix is signed, so the version is bound)
//
// A token is a bearer secret: whoever holds it can present it. No error message in this
// module contains a whole token.
//
// Keys are values: copies share one immutable OpenSSL key (shared_ptr with EVP_PKEY_free
// as deleter), so copying is cheap, and one key may be used from many threads at once
// (each Sign/Verify builds its own EVP_MD_CTX).
#ifndef DAIBAN_COMMON_CREDENTIAL_H_
#define DAIBAN_COMMON_CREDENTIAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "common/tier.h"

typedef struct evp_pkey_st EVP_PKEY;  // <openssl/types.h>; kept out of this header

namespace daiban::common {

// The fixed start of every credential token; the "1" is the format version.
inline constexpr std::string_view kCredentialPrefix = "dbc1.";
// Longest token VerifyCredential reads; longer input is refused before decoding.
inline constexpr size_t kMaxCredentialBytes = 4096;
// Length of a raw Ed25519 signature.
inline constexpr size_t kSignatureBytes = 64;

// The private half of the hub's Ed25519 key pair.
class SigningKey {
 public:
  // An empty key: valid() is false, Sign fails with kFailedPrecondition and the PEM
  // accessors with kFailedPrecondition. Lets a key be a member assigned later.
  SigningKey() = default;

  // A fresh key from the OpenSSL random source. kInternal if OpenSSL fails.
  static Result<SigningKey> Generate();
  // Reads an unencrypted PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----").
  // kInvalidArgument "signing key: ..." if it is not PEM or not an Ed25519 key.
  static Result<SigningKey> FromPrivatePem(std::string_view pem);

  bool valid() const { return key_ != nullptr; }

  // Unencrypted PKCS#8 PEM of the private key; FromPrivatePem reads it back. Secret:
  // store it with care. kFailedPrecondition if !valid(), kInternal if OpenSSL fails.
  Result<std::string> PrivatePem() const;
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----") for VerifyKey::FromPublicPem.
  Result<std::string> PublicPem() const;

  // The 64 raw bytes of the Ed25519 signature of `data` (deterministic: the same key and
  // data give the same bytes). kFailedPrecondition if !valid(), kInternal if OpenSSL fails.
  Result<std::string> Sign(std::string_view data) const;

 private:
  explicit SigningKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;  // immutable once set; null when empty
};

// The public half: checks what the hub signed.
class VerifyKey {
 public:
  // An empty key: valid() is false and Verify returns false for everything.
  VerifyKey() = default;

  // Reads a SubjectPublicKeyInfo PEM public key ("-----BEGIN PUBLIC KEY-----").
  // kInvalidArgument "verify key: ..." if it is not PEM or not an Ed25519 key.
  static Result<VerifyKey> FromPublicPem(std::string_view pem);

  bool valid() const { return key_ != nullptr; }

  // True only if `sig` is a valid Ed25519 signature of `data` under this key. Any other
  // case (wrong length, wrong key, empty key, OpenSSL failure) is false.
  bool Verify(std::string_view data, std::string_view sig) const;

 private:
  explicit VerifyKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;  // immutable once set; null when empty
};

// What the hub says about a node.
struct NodeCredential {
  std::string node_id;  // non-empty
  std::string region;   // 12 ASCII digits (common/region.h RegionCode::str())
  Tier tier = Tier::kVillage;
  int64_t issued_ms = 0;  // Unix milliseconds at issue
  int64_t serial = 0;     // hub's issue counter; a later serial replaces an earlier one

  friend bool operator==(const NodeCredential&, const NodeCredential&) = default;
};

// Signs `cred` into a "dbc1.<payload>.<signature>" token (format above).
// kInvalidArgument "credential.node_id: empty" / "credential.region: must be 12 digits";
// kFailedPrecondition if `key` is empty; kInternal if OpenSSL fails.
Result<std::string> IssueCredential(const SigningKey& key, const NodeCredential& cred);

// Checks a token and returns what it says. The signature is checked before the payload
// is parsed, so unsigned bytes are never interpreted. Every error is kPermissionDenied
// with a message starting "credential" that never contains the token:
//   "credential: too long"
//   "credential: not a Daiban credential (expected prefix dbc1.)"
//   "credential: malformed: expected dbc1.<payload>.<signature>"
//   "credential: malformed base64url in payload" / "... in signature"
//   "credential signature does not verify: not issued by this city's hub"
//   "credential: malformed payload: <which field and why>"
//   "credential: region must be 12 digits"
// Expiry and revocation (by serial) are the caller's policy, not checked here.
Result<NodeCredential> VerifyCredential(const VerifyKey& key, std::string_view token);

// Authenticates a node's sync request from its headers: "Authorization: Bearer <token>"
// and the node id it claims (X-Daiban-Node). kPermissionDenied "no credential: enrol this
// node at the hub", the VerifyCredential error, or "the credential belongs to another node
// than X-Daiban-Node". The caller's identity is the returned credential, never the header.
Result<NodeCredential> AuthenticateNode(const VerifyKey& key, std::string_view authorization,
                                        std::string_view claimed_node_id);

// RFC 4648 §5 base64url without '=' padding.
std::string Base64UrlEncode(std::string_view bytes);
// Strict inverse of Base64UrlEncode: rejects padding, characters outside [A-Za-z0-9_-],
// a length of 1 mod 4, and non-zero unused trailing bits (so each byte string has exactly
// one encoding). kInvalidArgument "base64url: ..." on error.
Result<std::string> Base64UrlDecode(std::string_view text);

// `bytes` random bytes from the OpenSSL CSPRNG as lower-case hex (2*bytes characters),
// for tokens and nonces. kInvalidArgument if bytes is 0 or over 1 MiB; kUnavailable if
// the random source fails (retry later).
Result<std::string> RandomHex(size_t bytes);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CREDENTIAL_H_
