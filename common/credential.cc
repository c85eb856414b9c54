#include "common/credential.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"

namespace daiban::common {

namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

std::shared_ptr<EVP_PKEY> OwnKey(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// Reads a PEM key with `read` and checks it is Ed25519. OpenSSL's error queue is cleared
// on failure so a later unrelated call does not see stale errors on this thread.
template <typename ReadFn>
Result<std::shared_ptr<EVP_PKEY>> ReadEd25519Pem(std::string_view pem, ReadFn read, std::string_view what) {
  if (pem.size() > static_cast<size_t>(INT_MAX))
    return InvalidArgument(std::string(what) + ": PEM too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return Internal(std::string(what) + ": out of memory");
  std::shared_ptr<EVP_PKEY> key = OwnKey(read(bio.get()));
  if (!key) {
    ERR_clear_error();
    return InvalidArgument(std::string(what) + ": not a PEM key of the expected kind");
  }
  if (!EVP_PKEY_is_a(key.get(), "ED25519"))
    return InvalidArgument(std::string(what) + ": not an Ed25519 key");
  return key;
}

// Writes `key` with `write` into a PEM string.
template <typename WriteFn>
Result<std::string> WritePem(EVP_PKEY* key, WriteFn write, std::string_view what) {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || write(bio.get(), key) != 1) {
    ERR_clear_error();
    return Internal(std::string(what) + ": OpenSSL could not write PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return Internal(std::string(what) + ": OpenSSL wrote no PEM");
  return std::string(data, static_cast<size_t>(len));
}

bool IsTwelveDigits(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value of a base64url character, or -1.
int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

constexpr std::string_view kBadSignature =
    "credential signature does not verify: not issued by this city's hub";

}  // namespace

// ---- SigningKey ----

Result<SigningKey> SigningKey::Generate() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    ERR_clear_error();
    return Internal("signing key: OpenSSL could not generate an Ed25519 key");
  }
  return SigningKey(OwnKey(raw));
}

Result<SigningKey> SigningKey::FromPrivatePem(std::string_view pem) {
  auto read = [](BIO* bio) { return PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr); };
  DAIBAN_ASSIGN_OR_RETURN(std::shared_ptr<EVP_PKEY> key, ReadEd25519Pem(pem, read, "signing key"));
  return SigningKey(std::move(key));
}

Result<std::string> SigningKey::PrivatePem() const {
  if (!valid()) return FailedPrecondition("signing key: empty");
  auto write = [](BIO* bio, EVP_PKEY* key) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  };
  return WritePem(key_.get(), write, "signing key");
}

Result<std::string> SigningKey::PublicPem() const {
  if (!valid()) return FailedPrecondition("signing key: empty");
  return WritePem(key_.get(), PEM_write_bio_PUBKEY, "signing key");
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  if (!valid()) return FailedPrecondition("signing key: empty");
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string sig(kSignatureBytes, '\0');
  size_t len = sig.size();
  // Ed25519 hashes internally: the digest must be NULL and the one-shot call used.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(data),
                     data.size()) != 1 ||
      len != kSignatureBytes) {
    ERR_clear_error();
    return Internal("signing key: OpenSSL could not sign");
  }
  return sig;
}

// ---- VerifyKey ----

Result<VerifyKey> VerifyKey::FromPublicPem(std::string_view pem) {
  auto read = [](BIO* bio) { return PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr); };
  DAIBAN_ASSIGN_OR_RETURN(std::shared_ptr<EVP_PKEY> key, ReadEd25519Pem(pem, read, "verify key"));
  return VerifyKey(std::move(key));
}

bool VerifyKey::Verify(std::string_view data, std::string_view sig) const {
  if (!valid() || sig.size() != kSignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), Bytes(sig), sig.size(), Bytes(data), data.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// ---- Credentials ----

Result<std::string> IssueCredential(const SigningKey& key, const NodeCredential& cred) {
  if (cred.node_id.empty()) return InvalidArgument("credential.node_id: empty");
  if (!IsTwelveDigits(cred.region)) return InvalidArgument("credential.region: must be 12 digits");
  Json payload = {
      {"node_id", cred.node_id},     {"region", cred.region}, {"tier", std::string(TierName(cred.tier))},
      {"issued_ms", cred.issued_ms}, {"serial", cred.serial},
  };
  std::string signed_part = std::string(kCredentialPrefix) + Base64UrlEncode(CanonicalJson(payload));
  DAIBAN_ASSIGN_OR_RETURN(std::string sig, key.Sign(signed_part));
  return signed_part + "." + Base64UrlEncode(sig);
}

Result<NodeCredential> VerifyCredential(const VerifyKey& key, std::string_view token) {
  if (token.size() > kMaxCredentialBytes) return PermissionDenied("credential: too long");
  if (token.substr(0, kCredentialPrefix.size()) != kCredentialPrefix) {
    return PermissionDenied("credential: not a Daiban credential (expected prefix dbc1.)");
  }
  std::string_view rest = token.substr(kCredentialPrefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size() ||
      rest.find('.', dot + 1) != std::string_view::npos) {
    return PermissionDenied("credential: malformed: expected dbc1.<payload>.<signature>");
  }
  std::string_view signed_part = token.substr(0, kCredentialPrefix.size() + dot);
  Result<std::string> payload = Base64UrlDecode(rest.substr(0, dot));
  if (!payload.ok()) return PermissionDenied("credential: malformed base64url in payload");
  Result<std::string> sig = Base64UrlDecode(rest.substr(dot + 1));
  if (!sig.ok()) return PermissionDenied("credential: malformed base64url in signature");
  if (!key.Verify(signed_part, *sig)) return PermissionDenied(std::string(kBadSignature));

  // Signed by the hub from here on; a failure below is a hub bug or a format mismatch.
  auto malformed = [](const Status& s) {
    return PermissionDenied("credential: malformed payload: " + s.message());
  };
  Result<Json> json = ParseJson(*payload, "payload");
  if (!json.ok()) return malformed(json.status());
  constexpr std::string_view kWhere = "payload";
  Result<std::string> node_id = GetString(*json, "node_id", kWhere);
  if (!node_id.ok()) return malformed(node_id.status());
  if (node_id->empty()) return malformed(InvalidArgument("payload.node_id: empty"));
  Result<std::string> region = GetString(*json, "region", kWhere);
  if (!region.ok()) return malformed(region.status());
  Result<std::string> tier_name = GetString(*json, "tier", kWhere);
  if (!tier_name.ok()) return malformed(tier_name.status());
  Result<Tier> tier = ParseTier(*tier_name);
  if (!tier.ok()) return malformed(tier.status());
  Result<int64_t> issued_ms = GetInt(*json, "issued_ms", kWhere);
  if (!issued_ms.ok()) return malformed(issued_ms.status());
  Result<int64_t> serial = GetInt(*json, "serial", kWhere);
  if (!serial.ok()) return malformed(serial.status());
  if (!IsTwelveDigits(*region)) return PermissionDenied("credential: region must be 12 digits");

  NodeCredential cred;
  cred.node_id = std::move(*node_id);
  cred.region = std::move(*region);
  cred.tier = *tier;
  cred.issued_ms = *issued_ms;
  cred.serial = *serial;
  return cred;
}

// ---- Encodings and randomness ----

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kB64Alphabet[(n >> 18) & 63];
    out += kB64Alphabet[(n >> 12) & 63];
    out += kB64Alphabet[(n >> 6) & 63];
    out += kB64Alphabet[n & 63];
  }
  size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kB64Alphabet[(n >> 18) & 63];
    out += kB64Alphabet[(n >> 12) & 63];
    if (left == 2) out += kB64Alphabet[(n >> 6) & 63];
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return InvalidArgument("base64url: impossible length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = B64Value(c);
    if (v < 0) return InvalidArgument("base64url: character outside the URL-safe alphabet (or padding)");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // 2 or 4 bits are left over after a partial group; an encoder leaves them zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return InvalidArgument("base64url: non-zero trailing bits");
  return out;
}

Result<std::string> RandomHex(size_t bytes) {
  constexpr size_t kMaxRandomBytes = size_t{1} << 20;
  if (bytes == 0 || bytes > kMaxRandomBytes) return InvalidArgument("random: byte count must be 1 to 1 MiB");
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    ERR_clear_error();
    return Unavailable("random: OpenSSL random source failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buf) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

Result<NodeCredential> AuthenticateNode(const VerifyKey& key, std::string_view authorization,
                                        std::string_view claimed_node_id) {
  if (authorization.rfind("Bearer ", 0) != 0) return PermissionDenied("no credential: enrol this node at the hub");
  auto cred = VerifyCredential(key, authorization.substr(7));
  if (!cred.ok()) return PermissionDenied(cred.status().message());
  if (claimed_node_id != cred->node_id) {
    return PermissionDenied("the credential belongs to another node than X-Daiban-Node");
  }
  return cred;
}

}  // namespace daiban::common
