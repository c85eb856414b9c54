// Password hashing for node users: PBKDF2-HMAC-SHA256 with a random salt.
//
// Stored form (one string, safe for a TEXT column):
//
//   pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>
//
// iterations is decimal without sign or leading zeros; the salt is 16 random bytes and
// the hash 32 bytes, both lower-case hex. The iteration count travels with the hash, so
// raising kDefaultPbkdf2Iterations later leaves existing hashes checkable.
#ifndef DAIBAN_COMMON_PASSWORD_H_
#define DAIBAN_COMMON_PASSWORD_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace daiban::common {

inline constexpr int kDefaultPbkdf2Iterations = 100000;
// Highest iteration count CheckPassword will run, so a damaged or hostile stored string
// cannot make one login check take minutes.
inline constexpr int kMaxPbkdf2Iterations = 10000000;
// Fewest characters (UTF-8 code points, so "密码" counts 2) and most bytes of a password.
inline constexpr size_t kMinPasswordChars = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

// Hashes `password` with a fresh salt; two calls never return the same string.
// kInvalidArgument "password: at least 8 characters" if it is shorter,
// "password: at most 1024 bytes" if longer, "password: iterations must be 1 to 10000000"
// for a bad `iterations` (tests pass a small count; production keeps the default);
// kUnavailable if the random source fails; kInternal if OpenSSL fails.
Result<std::string> HashPassword(std::string_view password, int iterations = kDefaultPbkdf2Iterations);

// True only if `stored` is a well-formed string from HashPassword and `password` hashes
// to it. Malformed or out-of-range stored strings are false, never an error or a crash.
// The final comparison takes time independent of where the hashes differ.
bool CheckPassword(std::string_view password, std::string_view stored);

// True if a and b are equal. Runs in time that depends on the lengths only, not on the
// contents (CRYPTO_memcmp), for comparing secrets such as tokens and hashes.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_PASSWORD_H_
