#include "common/password.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace daiban::common {

namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::string ToHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not produced by ToHex, so it is not accepted either
}

// Lower-case hex of exactly `bytes` bytes, or nullopt.
std::optional<std::string> FromHex(std::string_view hex, size_t bytes) {
  if (hex.size() != bytes * 2) return std::nullopt;
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// PBKDF2-HMAC-SHA256 of password and salt; nullopt if OpenSSL fails.
// REQUIRES: password.size() <= kMaxPasswordBytes, 1 <= iterations <= kMaxPbkdf2Iterations.
std::optional<std::string> Derive(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

// Number of UTF-8 code points (bytes that do not continue a sequence).
size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Splits "a$b$c$d" into exactly four parts; false otherwise.
bool SplitFour(std::string_view s, std::string_view parts[4]) {
  for (int i = 0; i < 3; ++i) {
    size_t dollar = s.find('$');
    if (dollar == std::string_view::npos) return false;
    parts[i] = s.substr(0, dollar);
    s.remove_prefix(dollar + 1);
  }
  if (s.find('$') != std::string_view::npos) return false;
  parts[3] = s;
  return true;
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, int iterations) {
  if (CountChars(password) < kMinPasswordChars) return InvalidArgument("password: at least 8 characters");
  if (password.size() > kMaxPasswordBytes) return InvalidArgument("password: at most 1024 bytes");
  if (iterations < 1 || iterations > kMaxPbkdf2Iterations) {
    return InvalidArgument("password: iterations must be 1 to 10000000");
  }
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    ERR_clear_error();
    return Unavailable("password: OpenSSL random source failed");
  }
  std::optional<std::string> hash = Derive(password, salt, iterations);
  if (!hash) return Internal("password: OpenSSL PBKDF2 failed");
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + ToHex(salt) + "$" + ToHex(*hash);
}

bool CheckPassword(std::string_view password, std::string_view stored) {
  if (password.size() > kMaxPasswordBytes) return false;
  std::string_view parts[4];
  if (!SplitFour(stored, parts) || parts[0] != kScheme) return false;
  std::string_view iter_text = parts[1];
  if (iter_text.empty() || iter_text[0] == '0') return false;  // no leading zeros, no "0"
  int iterations = 0;
  auto [end, ec] = std::from_chars(iter_text.data(), iter_text.data() + iter_text.size(), iterations);
  if (ec != std::errc() || end != iter_text.data() + iter_text.size()) return false;
  if (iterations < 1 || iterations > kMaxPbkdf2Iterations) return false;
  std::optional<std::string> salt = FromHex(parts[2], kSaltBytes);
  std::optional<std::string> want = FromHex(parts[3], kHashBytes);
  if (!salt || !want) return false;
  std::optional<std::string> got = Derive(password, *salt, iterations);
  return got && ConstantTimeEquals(*got, *want);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace daiban::common
