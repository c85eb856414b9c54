#include "common/field_crypto.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/credential.h"  // Base64UrlEncode / Base64UrlDecode

namespace daiban::common {

namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHashKeyBytes = 32;
constexpr size_t kKeyIdBytes = kKeyIdHexDigits / 2;
constexpr size_t kMaxKeyFileBytes = 256;  // a v1 line is under 120 bytes
constexpr std::string_view kKeyFileVersion = "v1";
constexpr std::string_view kHkdfSalt = "daiban-data-key v1";

using CipherPtr = std::shared_ptr<EVP_CIPHER>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A string wiped when it goes out of scope, for key material on its way in or out.
struct WipedString {
  std::string s;
  WipedString() = default;
  explicit WipedString(size_t n) : s(n, '\0') {}
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  ~WipedString() { OPENSSL_cleanse(s.data(), s.size()); }
  unsigned char* data() { return reinterpret_cast<unsigned char*>(s.data()); }
};

size_t KeyBytes(FieldAlg alg) { return alg == FieldAlg::kAes256Gcm ? 32 : 16; }

const char* OpenSslCipherName(FieldAlg alg) {
  return alg == FieldAlg::kAes256Gcm ? "AES-256-GCM" : "SM4-GCM";
}

// The cipher, or null if this OpenSSL does not provide it. The error queue is cleared.
CipherPtr FetchCipher(FieldAlg alg) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, OpenSslCipherName(alg), nullptr);
  if (c == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  return CipherPtr(c, EVP_CIPHER_free);
}

Status AlgUnavailable(FieldAlg alg, std::string_view where) {
  return Unimplemented(
      std::string(where) + std::string(FieldAlgName(alg)) + " is not available in this OpenSSL (" +
      OpenSSL_version(OPENSSL_VERSION_STRING) +
      "); SM4-GCM needs OpenSSL 3.2 or later, or a provider that offers it. Use aes-256-gcm.");
}

// HKDF-SHA256(ikm, salt kHkdfSalt, info) into out[0..len). False if OpenSSL fails.
bool Hkdf(std::string_view ikm, std::string_view info, unsigned char* out, size_t len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) {
    ERR_clear_error();
    return false;
  }
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf), EVP_KDF_CTX_free);
  EVP_KDF_free(kdf);
  if (!ctx) return false;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kHkdfSalt.data()),
                                        kHkdfSalt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out, len, params) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

constexpr char kHex[] = "0123456789abcdef";

std::string Hex(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0xF];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Splits "enc1.<alg>.<key id>.<data>" into its three parts after the prefix. False if
// the shape is wrong (any part empty, wrong count, key id not 16 lower-case hex).
bool SplitToken(std::string_view token, std::string_view* alg, std::string_view* key_id,
                std::string_view* data) {
  if (token.substr(0, kEncryptedPrefix.size()) != kEncryptedPrefix) return false;
  std::string_view rest = token.substr(kEncryptedPrefix.size());
  size_t d1 = rest.find('.');
  if (d1 == std::string_view::npos) return false;
  size_t d2 = rest.find('.', d1 + 1);
  if (d2 == std::string_view::npos || rest.find('.', d2 + 1) != std::string_view::npos) return false;
  *alg = rest.substr(0, d1);
  *key_id = rest.substr(d1 + 1, d2 - d1 - 1);
  *data = rest.substr(d2 + 1);
  return !alg->empty() && !data->empty() && key_id->size() == kKeyIdHexDigits && IsLowerHex(*key_id);
}

std::string ModeOctal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string KeyFileError(const std::string& path, std::string_view what) {
  return "data key file " + path + ": " + std::string(what);
}

}  // namespace

// ---- algorithms ----

std::string_view FieldAlgName(FieldAlg alg) {
  return alg == FieldAlg::kAes256Gcm ? "aes-256-gcm" : "sm4-gcm";
}

Result<FieldAlg> ParseFieldAlg(std::string_view name) {
  if (name == "aes-256-gcm") return FieldAlg::kAes256Gcm;
  if (name == "sm4-gcm") return FieldAlg::kSm4Gcm;
  return InvalidArgument("data key algorithm: must be aes-256-gcm or sm4-gcm");
}

bool FieldAlgAvailable(FieldAlg alg) { return FetchCipher(alg) != nullptr; }

// ---- FieldCipher ----

struct FieldCipher::Keys {
  FieldAlg alg = FieldAlg::kAes256Gcm;
  CipherPtr cipher;
  std::string key_id;  // 16 hex
  std::string header;  // "enc1.<alg>.<key id>."
  unsigned char enc_key[32] = {};
  size_t enc_key_len = 0;
  unsigned char hash_key[kHashKeyBytes] = {};

  Keys() = default;
  Keys(const Keys&) = delete;
  Keys& operator=(const Keys&) = delete;
  ~Keys() {
    OPENSSL_cleanse(enc_key, sizeof enc_key);
    OPENSSL_cleanse(hash_key, sizeof hash_key);
  }
};

Result<FieldCipher> FieldCipher::FromKey(FieldAlg alg, std::string_view key) {
  if (key.size() != KeyBytes(alg)) return Internal("field cipher: key of the wrong length");
  CipherPtr cipher = FetchCipher(alg);
  if (!cipher) return AlgUnavailable(alg, "field cipher: ");
  auto keys = std::make_shared<Keys>();
  keys->alg = alg;
  keys->cipher = std::move(cipher);
  keys->enc_key_len = KeyBytes(alg);
  std::string name(FieldAlgName(alg));
  unsigned char id[kKeyIdBytes];
  if (!Hkdf(key, "daiban field encryption " + name, keys->enc_key, keys->enc_key_len) ||
      !Hkdf(key, "daiban search hash", keys->hash_key, kHashKeyBytes) ||
      !Hkdf(key, "daiban key id " + name, id, sizeof id)) {
    return Internal("field cipher: OpenSSL could not derive keys (HKDF)");
  }
  keys->key_id = Hex(id, sizeof id);
  keys->header = std::string(kEncryptedPrefix) + name + "." + keys->key_id + ".";
  return FieldCipher(std::move(keys));
}

Result<FieldCipher> FieldCipher::Generate(FieldAlg alg) {
  if (!FieldAlgAvailable(alg)) return AlgUnavailable(alg, "field cipher: ");
  WipedString key(KeyBytes(alg));
  if (RAND_priv_bytes(key.data(), static_cast<int>(key.s.size())) != 1) {
    ERR_clear_error();
    return Unavailable("field cipher: OpenSSL random source failed");
  }
  return FromKey(alg, key.s);
}

Result<FieldCipher> FieldCipher::GenerateKeyFile(const std::string& path, FieldAlg alg) {
  if (!FieldAlgAvailable(alg)) return AlgUnavailable(alg, "data key file " + path + ": ");
  WipedString key(KeyBytes(alg));
  if (RAND_priv_bytes(key.data(), static_cast<int>(key.s.size())) != 1) {
    ERR_clear_error();
    return Unavailable("data key file " + path + ": OpenSSL random source failed");
  }
  DAIBAN_ASSIGN_OR_RETURN(FieldCipher cipher, FromKey(alg, key.s));

  WipedString line;
  line.s = std::string(kDataKeyMagic) + " " + std::string(kKeyFileVersion) + " " +
           std::string(FieldAlgName(alg)) + " ";
  line.s.reserve(line.s.size() + 2 * key.s.size() + 1);
  for (unsigned char b : key.s) {
    line.s += kHex[b >> 4];
    line.s += kHex[b & 0xF];
  }
  line.s += '\n';

  // O_EXCL: never replace an existing key; O_NOFOLLOW: never write through a planted link.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST || err == ELOOP) {
      return AlreadyExists(KeyFileError(
          path,
          "exists already; refusing to overwrite it (every value encrypted under a lost data key is lost)"));
    }
    return FailedPrecondition(KeyFileError(path, std::string("cannot create: ") + std::strerror(err)));
  }
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return FailedPrecondition(KeyFileError(path, std::string(what) + ": " + std::strerror(err)));
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot set mode 0600");  // whatever the umask
  size_t done = 0;
  while (done < line.s.size()) {
    ssize_t n = ::write(fd, line.s.data() + done, line.s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync to disk");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return FailedPrecondition(KeyFileError(path, std::string("cannot close: ") + std::strerror(err)));
  }
  // Make the new directory entry durable too (best effort: some filesystems refuse).
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return cipher;
}

Result<FieldCipher> FieldCipher::Load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(KeyFileError(path, "no such file"));
    return FailedPrecondition(KeyFileError(path, std::string("cannot open: ") + std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return FailedPrecondition(KeyFileError(path, std::string("cannot stat: ") + std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPrecondition(KeyFileError(path, "not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return FailedPrecondition(
        KeyFileError(path, "has mode " + ModeOctal(st.st_mode) +
                               ": group or others may read or write it; only the node's "
                               "user may (run: chmod 600 " +
                               path + ")"));
  }
  WipedString content(kMaxKeyFileBytes + 1);
  size_t got = 0;
  while (got < content.s.size()) {
    ssize_t n = ::read(fd, content.s.data() + got, content.s.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return FailedPrecondition(KeyFileError(path, std::string("cannot read: ") + std::strerror(err)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  const std::string kExpected =
      "not a Daiban data key file (expected one line: daiban-data-key v1 <algorithm> <hex key>)";
  if (got > kMaxKeyFileBytes) return InvalidArgument(KeyFileError(path, kExpected));
  std::string_view text(content.s.data(), got);
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n") {
    text.remove_suffix(2);
  } else if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  // One line: exactly four words separated by single spaces, nothing else.
  if (text.find_first_of("\r\n") != std::string_view::npos)
    return InvalidArgument(KeyFileError(path, kExpected));
  std::vector<std::string_view> words;
  size_t start = 0;
  while (true) {
    size_t sp = text.find(' ', start);
    words.push_back(text.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  if (words.empty() || words[0] != kDataKeyMagic) return InvalidArgument(KeyFileError(path, kExpected));
  if (words.size() != 4) return InvalidArgument(KeyFileError(path, kExpected));
  for (std::string_view w : words) {
    if (w.empty()) return InvalidArgument(KeyFileError(path, kExpected));
  }
  if (words[1] != kKeyFileVersion) {
    return InvalidArgument(KeyFileError(path, "unsupported format version (this build reads v1)"));
  }
  Result<FieldAlg> alg = ParseFieldAlg(words[2]);
  if (!alg.ok()) return InvalidArgument(KeyFileError(path, "unknown algorithm (aes-256-gcm or sm4-gcm)"));
  if (!FieldAlgAvailable(*alg)) return AlgUnavailable(*alg, "data key file " + path + ": ");
  std::string_view hex = words[3];
  size_t want = 2 * KeyBytes(*alg);
  for (char c : hex) {
    if (HexValue(c) < 0) return InvalidArgument(KeyFileError(path, "the key is not hexadecimal"));
  }
  if (hex.size() != want) {
    return InvalidArgument(KeyFileError(path, std::string(FieldAlgName(*alg)) + " needs a " +
                                                  std::to_string(KeyBytes(*alg) * 8) + "-bit key (" +
                                                  std::to_string(want) + " hex digits); the file has " +
                                                  std::to_string(hex.size())));
  }
  WipedString key(KeyBytes(*alg));
  for (size_t i = 0; i < key.s.size(); ++i) {
    key.s[i] = static_cast<char>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
  }
  return FromKey(*alg, key.s);
}

FieldAlg FieldCipher::alg() const { return keys_->alg; }

const std::string& FieldCipher::KeyId() const {
  static const std::string kNone;
  return keys_ ? keys_->key_id : kNone;
}

Result<std::string> FieldCipher::Encrypt(std::string_view plain, std::string_view context) const {
  if (!valid()) return FailedPrecondition("field cipher: no data key loaded");
  if (plain.size() > kMaxFieldPlainBytes) {
    return InvalidArgument("field cipher: value too long to encrypt (at most " +
                           std::to_string(kMaxFieldPlainBytes) + " bytes)");
  }
  // nonce | ciphertext | tag
  std::string blob(kNonceBytes + plain.size() + kTagBytes, '\0');
  unsigned char* nonce = reinterpret_cast<unsigned char*>(blob.data());
  unsigned char* ct = nonce + kNonceBytes;
  unsigned char* tag = ct + plain.size();
  if (RAND_bytes(nonce, static_cast<int>(kNonceBytes)) != 1) {
    ERR_clear_error();
    return Unavailable("field cipher: OpenSSL random source failed");
  }
  std::string aad = keys_->header + std::string(context);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  unsigned char empty = 0;
  bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), keys_->cipher.get(), keys_->enc_key, nonce, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), plain.empty() ? &empty : ct, &len,
                              plain.empty() ? &empty : Bytes(plain), static_cast<int>(plain.size())) == 1 &&
            static_cast<size_t>(len) == plain.size() &&
            EVP_EncryptFinal_ex(ctx.get(), plain.empty() ? &empty : ct + len, &len) == 1 && len == 0 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
  if (!ok) {
    ERR_clear_error();
    return Internal("field cipher: OpenSSL could not encrypt");
  }
  return keys_->header + Base64UrlEncode(blob);
}

Result<std::string> FieldCipher::Decrypt(std::string_view token, std::string_view context) const {
  if (!valid()) return FailedPrecondition("field cipher: no data key loaded");
  if (token.substr(0, kEncryptedPrefix.size()) != kEncryptedPrefix) {
    return InvalidArgument(
        "field cipher: not an encrypted value (expected enc1.<algorithm>.<key id>.<data>)");
  }
  if (token.size() > kMaxFieldTokenBytes)
    return InvalidArgument("field cipher: malformed encrypted value: too long");
  std::string_view alg_name, key_id, data;
  if (!SplitToken(token, &alg_name, &key_id, &data)) {
    return InvalidArgument(
        "field cipher: malformed encrypted value: expected enc1.<algorithm>.<key id>.<data>");
  }
  if (key_id != keys_->key_id) {
    return FailedPrecondition("field cipher: encrypted with data key " + std::string(key_id) +
                              ", this node has " + keys_->key_id + ": wrong key file");
  }
  if (alg_name != FieldAlgName(keys_->alg)) {
    return DataLoss("field cipher: encrypted value names data key " + keys_->key_id +
                    " with another algorithm: it was altered or damaged");
  }
  Result<std::string> blob = Base64UrlDecode(data);
  if (!blob.ok()) return InvalidArgument("field cipher: malformed encrypted value: bad base64url");
  if (blob->size() < kNonceBytes + kTagBytes)
    return InvalidArgument("field cipher: malformed encrypted value: too short");
  const unsigned char* nonce = Bytes(*blob);
  const unsigned char* ct = nonce + kNonceBytes;
  size_t ct_len = blob->size() - kNonceBytes - kTagBytes;
  std::string tag(blob->data() + kNonceBytes + ct_len, kTagBytes);
  std::string aad = keys_->header + std::string(context);
  std::string plain(ct_len, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(plain.data());
  unsigned char empty = 0;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool setup =
      ctx && EVP_DecryptInit_ex2(ctx.get(), keys_->cipher.get(), keys_->enc_key, nonce, nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), ct_len == 0 ? &empty : out, &len, ct_len == 0 ? &empty : ct,
                        static_cast<int>(ct_len)) == 1 &&
      static_cast<size_t>(len) == ct_len &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1;
  if (!setup) {
    OPENSSL_cleanse(plain.data(), plain.size());
    ERR_clear_error();
    return Internal("field cipher: OpenSSL could not decrypt");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), ct_len == 0 ? &empty : out + len, &final_len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    ERR_clear_error();
    return DataLoss("field cipher: encrypted value does not authenticate under data key " + keys_->key_id +
                    ": it was altered or damaged, or belongs to another field");
  }
  return plain;
}

Result<std::string> FieldCipher::SearchHash(std::string_view normalized) const {
  if (!valid()) return FailedPrecondition("field cipher: no data key loaded");
  unsigned char mac[32];
  size_t mac_len = 0;
  unsigned char empty = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, keys_->hash_key, kHashKeyBytes,
                normalized.empty() ? &empty : Bytes(normalized), normalized.size(), mac, sizeof mac,
                &mac_len) == nullptr ||
      mac_len != sizeof mac) {
    ERR_clear_error();
    return Internal("field cipher: OpenSSL could not compute HMAC-SHA256");
  }
  return std::string(kSearchHashPrefix) + Hex(mac, mac_len);
}

bool FieldCipher::IsEncrypted(std::string_view text) {
  std::string_view alg, key_id, data;
  return SplitToken(text, &alg, &key_id, &data);
}

std::string_view FieldCipher::TokenKeyId(std::string_view token) {
  std::string_view alg, key_id, data;
  return SplitToken(token, &alg, &key_id, &data) ? key_id : std::string_view();
}

}  // namespace daiban::common
