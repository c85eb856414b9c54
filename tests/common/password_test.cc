#include "common/password.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace daiban::common {
namespace {

// Tests use few iterations; the format and the checks do not depend on the count.
constexpr int kFast = 1000;

std::string MustHash(std::string_view password) {
  Result<std::string> h = HashPassword(password, kFast);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : std::string();
}

// Splits a stored string on '$'.
std::vector<std::string> Parts(const std::string& stored) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t dollar; (dollar = stored.find('$', start)) != std::string::npos; start = dollar + 1) {
    out.push_back(stored.substr(start, dollar - start));
  }
  out.push_back(stored.substr(start));
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "$" : "") + parts[i];
  return out;
}

bool IsLowerHex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

TEST(PasswordTest, HashThenCheck_RoundTrips) {
  std::string stored = MustHash("correct horse battery");
  EXPECT_TRUE(CheckPassword("correct horse battery", stored));
}

TEST(PasswordTest, StoredForm_SchemeIterationsSaltHash) {
  std::vector<std::string> p = Parts(MustHash("correct horse battery"));
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "pbkdf2-sha256");
  EXPECT_EQ(p[1], "1000");
  EXPECT_EQ(p[2].size(), 32u);  // 16-byte salt
  EXPECT_EQ(p[3].size(), 64u);  // 32-byte SHA-256 output
  EXPECT_TRUE(IsLowerHex(p[2]) && IsLowerHex(p[3]));
}

TEST(PasswordTest, DefaultIterations_Is100000) {
  Result<std::string> h = HashPassword("correct horse battery");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Parts(*h)[1], "100000");
  EXPECT_TRUE(CheckPassword("correct horse battery", *h));
}

// A known answer computed outside OpenSSL (Python hashlib.pbkdf2_hmac), so a wrong
// digest, salt handling or byte order would fail here even though round trips pass.
TEST(PasswordTest, KnownAnswer_MatchesIndependentPbkdf2) {
  std::string stored =
      "pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
      "02169e674d80c0fc7292e8610c8f17be140df062af9aa33ea85eaabecffdf08d";
  EXPECT_TRUE(CheckPassword("correct horse battery", stored));
  EXPECT_FALSE(CheckPassword("correct horse batterY", stored));
}

TEST(PasswordTest, WrongPassword_Fails) {
  std::string stored = MustHash("correct horse battery");
  EXPECT_FALSE(CheckPassword("correct horse batterx", stored));
  EXPECT_FALSE(CheckPassword("Correct horse battery", stored));
  EXPECT_FALSE(CheckPassword("correct horse battery ", stored));
  EXPECT_FALSE(CheckPassword("", stored));
}

TEST(PasswordTest, SamePasswordTwice_DifferentSaltAndHash) {
  std::string a = MustHash("correct horse battery");
  std::string b = MustHash("correct horse battery");
  EXPECT_NE(a, b);
  EXPECT_NE(Parts(a)[2], Parts(b)[2]);
  EXPECT_TRUE(CheckPassword("correct horse battery", a));
  EXPECT_TRUE(CheckPassword("correct horse battery", b));
}

// Each variant is derived from a valid hash and would still match if the parser were
// lax about it (leading zeros, upper-case hex, extra parts), so the test can fail.
TEST(PasswordTest, MalformedStored_IsFalseNeverCrash) {
  const std::string pw = "correct horse battery";
  std::string good = MustHash(pw);
  std::vector<std::string> p = Parts(good);
  ASSERT_EQ(p.size(), 4u);
  auto with = [&](size_t i, std::string v) {
    std::vector<std::string> q = p;
    q[i] = std::move(v);
    return Join(q);
  };
  std::string upper_hash = p[3];
  for (char& c : upper_hash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> bad = {
      "",
      "pbkdf2-sha256",
      good + "$",              // five parts
      "$" + good,              // empty scheme in front
      with(0, "pbkdf2-sha1"),  // other scheme
      with(0, "PBKDF2-SHA256"),
      with(1, "01000"),  // leading zero: same number, not our form
      with(1, "+1000"),
      with(1, "1000 "),
      with(1, ""),
      with(1, "0"),
      with(1, "-1000"),
      with(1, "99999999999999999999"),  // overflows int
      with(1, "10000001"),              // above kMaxPbkdf2Iterations
      with(1, "1e3"),
      with(2, p[2].substr(2)),        // salt one byte short
      with(2, p[2] + "00"),           // salt one byte long
      with(2, p[2].substr(1) + "g"),  // non-hex
      with(3, upper_hash),            // same bytes, upper-case hex
      with(3, p[3].substr(2)),        // hash one byte short
      with(3, p[3] + "00"),
      with(3, ""),
  };
  for (const std::string& s : bad) EXPECT_FALSE(CheckPassword(pw, s)) << "accepted: " << s;
  EXPECT_TRUE(CheckPassword(pw, good));  // the base really was valid
}

TEST(PasswordTest, ShortPassword_Refused) {
  Result<std::string> h = HashPassword("1234567", kFast);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.status().message(), "password: at least 8 characters");
  EXPECT_FALSE(HashPassword("", kFast).ok());
  EXPECT_TRUE(HashPassword("12345678", kFast).ok());
}

// Length counts characters, not bytes: four Chinese characters are 12 bytes but too short.
TEST(PasswordTest, LengthCountsUtf8Characters) {
  EXPECT_FALSE(HashPassword("密码密码", kFast).ok());
  std::string stored = MustHash("密码密码密码密码");
  EXPECT_TRUE(CheckPassword("密码密码密码密码", stored));
}

TEST(PasswordTest, OverlongPasswordAndBadIterations_Refused) {
  EXPECT_EQ(HashPassword(std::string(kMaxPasswordBytes + 1, 'a'), kFast).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(HashPassword(std::string(kMaxPasswordBytes, 'a'), kFast).ok());
  EXPECT_EQ(HashPassword("correct horse battery", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword("correct horse battery", kMaxPbkdf2Iterations + 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(CheckPassword(std::string(kMaxPasswordBytes + 1, 'a'), MustHash("correct horse battery")));
}

TEST(PasswordTest, ConstantTimeEquals_ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "Abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", ""));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace daiban::common
