#include "common/field_crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/credential.h"
#include "common/json.h"
#include "common/personal_id.h"

namespace daiban::common {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kId = "11010519491231002X";
constexpr std::string_view kPhone = "13800138000";

// Known-answer vectors computed independently (Python hashlib/hmac HKDF and the
// `cryptography` package's AES-GCM) for the key 00 01 02 ... 1f: they pin the derivation
// and the token format, which must never change under stored data.
constexpr std::string_view kKatKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKatKeyId = "dba5e89a5af6cc54";
constexpr std::string_view kKatIdHash = "h1.3f9d6dd02695c1abc29ea5b7da60ebb3c3a43759ddd03f4b6eb677b7015e3a20";
// kPhone encrypted with nonce a5 x 12 and context "applicant_phone".
constexpr std::string_view kKatPhoneToken =
    "enc1.aes-256-gcm.dba5e89a5af6cc54.paWlpaWlpaWlpaWl2jXD5D40OB4jufDJ_F4mOQnvpmkEyHf3HNSh";

// A fresh directory for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "daiban_field_crypto_XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

FieldCipher MustGenerate(FieldAlg alg = FieldAlg::kAes256Gcm) {
  Result<FieldCipher> c = FieldCipher::Generate(alg);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : FieldCipher();
}

std::string MustEncrypt(const FieldCipher& c, std::string_view plain, std::string_view context = {}) {
  Result<std::string> t = c.Encrypt(plain, context);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : std::string();
}

// The data part of a token, decoded.
std::string Blob(std::string_view token) {
  auto b = Base64UrlDecode(token.substr(token.rfind('.') + 1));
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : std::string();
}

std::string WithBlob(std::string_view token, std::string_view blob) {
  return std::string(token.substr(0, token.rfind('.') + 1)) + Base64UrlEncode(blob);
}

TEST(FieldCryptoTest, RoundTrip_TokenIsSelfDescribingAndHidesThePlaintext) {
  FieldCipher c = MustGenerate();
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(c.KeyId().size(), kKeyIdHexDigits);
  for (std::string_view plain : {kId, kPhone, std::string_view(""), std::string_view("张三 0418-2812345")}) {
    std::string token = MustEncrypt(c, plain, "applicant_id");
    EXPECT_EQ(token.rfind("enc1.aes-256-gcm." + c.KeyId() + ".", 0), 0u) << token;
    EXPECT_TRUE(FieldCipher::IsEncrypted(token));
    EXPECT_EQ(FieldCipher::TokenKeyId(token), c.KeyId());
    if (!plain.empty()) {
      EXPECT_EQ(token.find(plain), std::string::npos) << MaskIdNumber(plain);
    }
    // nonce (12) + ciphertext + tag (16)
    EXPECT_EQ(Blob(token).size(), 12 + plain.size() + 16);
    auto back = c.Decrypt(token, "applicant_id");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == plain) << MaskIdNumber(*back);
  }
  // Printable, JSON- and SQL-safe characters only.
  std::string token = MustEncrypt(c, kId);
  for (char ch : token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_') << ch;
  }
  // A copy shares the key.
  FieldCipher copy = c;
  EXPECT_TRUE(copy.Decrypt(token).ok());
}

TEST(FieldCryptoTest, KnownAnswers_MatchAnIndependentImplementation) {
  TempDir dir;
  std::string path = dir.File("data.key");
  WriteFile(path, "daiban-data-key v1 aes-256-gcm " + std::string(kKatKeyHex) + "\n", 0600);
  auto c = FieldCipher::Load(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->KeyId(), kKatKeyId);
  EXPECT_EQ(*c->SearchHash(kId), kKatIdHash);
  auto phone = c->Decrypt(kKatPhoneToken, "applicant_phone");
  ASSERT_TRUE(phone.ok()) << phone.status().ToString();
  EXPECT_TRUE(*phone == kPhone) << MaskPhone(*phone);
  // The key id is derived, never a piece of the key.
  EXPECT_EQ(std::string(kKatKeyHex).find(c->KeyId()), std::string::npos);
}

TEST(FieldCryptoTest, EveryEncryptionDrawsAFreshNonce) {
  FieldCipher c = MustGenerate();
  std::set<std::string> tokens, nonces;
  constexpr int kN = 2000;
  for (int i = 0; i < kN; ++i) {
    std::string t = MustEncrypt(c, kId);
    tokens.insert(t);
    nonces.insert(Blob(t).substr(0, 12));
  }
  EXPECT_EQ(tokens.size(), static_cast<size_t>(kN));
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kN));
}

TEST(FieldCryptoTest, TamperingWithAnyByteFailsAuthentication) {
  FieldCipher c = MustGenerate();
  std::string token = MustEncrypt(c, kPhone, "applicant_phone");
  std::string blob = Blob(token);
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = c.Decrypt(WithBlob(token, bad), "applicant_phone");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "byte " << i;
    EXPECT_NE(r.status().message().find("does not authenticate"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find(kPhone), std::string::npos);
  }
  // A token cut short or lengthened.
  EXPECT_EQ(c.Decrypt(WithBlob(token, blob.substr(0, blob.size() - 1)), "applicant_phone").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(c.Decrypt(WithBlob(token, blob + "x"), "applicant_phone").status().code(), StatusCode::kDataLoss);
  // The value of one field moved into another.
  auto moved = c.Decrypt(token, "applicant_id");
  EXPECT_EQ(moved.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(moved.status().message().find("belongs to another field"), std::string::npos);
  // The header names another algorithm with the same key id: the AAD no longer matches.
  std::string swapped = "enc1.sm4-gcm." + token.substr(std::string("enc1.aes-256-gcm.").size());
  EXPECT_EQ(c.Decrypt(swapped, "applicant_phone").status().code(), StatusCode::kDataLoss);
}

TEST(FieldCryptoTest, WrongKey_SaysWhichKeyEncryptedIt) {
  FieldCipher a = MustGenerate();
  FieldCipher b = MustGenerate();
  ASSERT_NE(a.KeyId(), b.KeyId());
  std::string token = MustEncrypt(a, kId);
  auto r = b.Decrypt(token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "field cipher: encrypted with data key " + a.KeyId() + ", this node has " +
                                      b.KeyId() + ": wrong key file");
}

TEST(FieldCryptoTest, NotATokenAndMalformedTokensAreTold) {
  FieldCipher c = MustGenerate();
  auto plain = c.Decrypt(kId);
  EXPECT_EQ(plain.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plain.status().message().find("not an encrypted value"), std::string::npos);
  EXPECT_EQ(plain.status().message().find(kId), std::string::npos);
  EXPECT_FALSE(FieldCipher::IsEncrypted(kId));
  EXPECT_FALSE(FieldCipher::IsEncrypted(""));
  std::string good = MustEncrypt(c, kId);
  std::string data = good.substr(good.rfind('.') + 1);
  for (std::string bad : {std::string("enc1."), std::string("enc1.aes-256-gcm"),
                          "enc1.aes-256-gcm.ABCDEF0123456789." + data,  // upper-case key id
                          "enc1.aes-256-gcm.0123." + data,              // short key id
                          "enc1.aes-256-gcm." + c.KeyId() + ".",        // no data
                          "enc1.aes-256-gcm." + c.KeyId() + "." + data + ".x",
                          "enc1.aes-256-gcm." + c.KeyId() + ".abc=",  // padding
                          "enc1.aes-256-gcm." + c.KeyId() + ".AAAA",  // too short
                          "enc1.aes-256-gcm." + c.KeyId() + "." + std::string(kMaxFieldTokenBytes, 'A')}) {
    auto r = c.Decrypt(bad);
    ASSERT_FALSE(r.ok()) << bad.substr(0, 60);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad.substr(0, 60);
    EXPECT_EQ(r.status().message().rfind("field cipher: malformed encrypted value", 0), 0u)
        << r.status().message();
  }
  EXPECT_FALSE(FieldCipher::IsEncrypted("enc1.aes-256-gcm.0123." + data));
  EXPECT_EQ(FieldCipher::TokenKeyId("enc1.aes-256-gcm"), "");
  // Too long to encrypt; an empty cipher does nothing.
  EXPECT_EQ(c.Encrypt(std::string(kMaxFieldPlainBytes + 1, 'a')).status().code(),
            StatusCode::kInvalidArgument);
  FieldCipher empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.KeyId(), "");
  EXPECT_EQ(empty.Encrypt(kId).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.Decrypt(good).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.SearchHash(kId).status().code(), StatusCode::kFailedPrecondition);
}

TEST(FieldCryptoTest, SearchHash_DeterministicPerKeyAndKeyed) {
  FieldCipher a = MustGenerate();
  FieldCipher b = MustGenerate();
  auto h1 = a.SearchHash(kId);
  auto h2 = a.SearchHash(kId);
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_EQ(*h1, *h2);
  EXPECT_EQ(h1->size(), 3u + 64u);
  EXPECT_EQ(h1->rfind("h1.", 0), 0u);
  EXPECT_NE(*h1, *a.SearchHash("11010519491231001X"));
  EXPECT_NE(*h1, *b.SearchHash(kId));        // another key, another hash
  EXPECT_NE(h1->substr(3), Sha256Hex(kId));  // not a plain (brute-forceable) hash
  EXPECT_EQ(h1->find(kId), std::string::npos);
  // Equal values hash equal though their tokens differ.
  EXPECT_NE(MustEncrypt(a, kId), MustEncrypt(a, kId));
}

TEST(FieldCryptoTest, KeyFile_GeneratedWithMode0600AndNeverOverwritten) {
  TempDir dir;
  std::string path = dir.File("data.key");
  mode_t old_umask = ::umask(0);  // a careless umask must not widen the mode
  auto made = FieldCipher::GenerateKeyFile(path, FieldAlg::kAes256Gcm);
  ::umask(old_umask);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(ModeOf(path), 0600u);
  std::string content = ReadFile(path);
  ASSERT_EQ(content.size(), std::string("daiban-data-key v1 aes-256-gcm \n").size() + 64);
  EXPECT_EQ(content.rfind("daiban-data-key v1 aes-256-gcm ", 0), 0u);
  EXPECT_EQ(content.back(), '\n');
  std::string hex = content.substr(31, 64);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);

  auto loaded = FieldCipher::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->KeyId(), made->KeyId());
  EXPECT_EQ(loaded->alg(), FieldAlg::kAes256Gcm);
  auto back = loaded->Decrypt(MustEncrypt(*made, kPhone, "applicant_phone"), "applicant_phone");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == kPhone);
  EXPECT_EQ(*loaded->SearchHash(kId), *made->SearchHash(kId));
  EXPECT_EQ(hex.find(made->KeyId()), std::string::npos);

  // A second generate at the same path changes nothing.
  auto again = FieldCipher::GenerateKeyFile(path, FieldAlg::kAes256Gcm);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find(path), std::string::npos);
  EXPECT_NE(again.status().message().find("refusing to overwrite"), std::string::npos);
  EXPECT_EQ(ReadFile(path), content);
  // Nor through a symbolic link planted at the path.
  std::string link = dir.File("link.key");
  ASSERT_EQ(::symlink(dir.File("elsewhere.key").c_str(), link.c_str()), 0);
  EXPECT_EQ(FieldCipher::GenerateKeyFile(link, FieldAlg::kAes256Gcm).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(fs::exists(dir.File("elsewhere.key")));
  // A missing directory: a clear error and no file.
  auto nodir = FieldCipher::GenerateKeyFile(dir.File("no/such/dir/data.key"), FieldAlg::kAes256Gcm);
  EXPECT_EQ(nodir.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(nodir.status().message().find("cannot create"), std::string::npos);
}

TEST(FieldCryptoTest, KeyFile_ReadableByOthersIsRefusedWithTheFix) {
  TempDir dir;
  std::string path = dir.File("data.key");
  ASSERT_TRUE(FieldCipher::GenerateKeyFile(path, FieldAlg::kAes256Gcm).ok());
  std::string hex = ReadFile(path).substr(31, 64);
  for (mode_t mode : {0640, 0604, 0644, 0660, 0602, 0620}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = FieldCipher::Load(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    const std::string m = r.status().message();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(std::string("has mode ") + octal), std::string::npos) << m;
    EXPECT_NE(m.find("chmod 600 " + path), std::string::npos) << m;
    EXPECT_EQ(m.find(hex), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);  // read-only for the owner is fine
  EXPECT_TRUE(FieldCipher::Load(path).ok());
  // Missing file; a directory.
  EXPECT_EQ(FieldCipher::Load(dir.File("missing.key")).status().code(), StatusCode::kNotFound);
  std::string sub = dir.File("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  auto d = FieldCipher::Load(sub);
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("not a regular file"), std::string::npos) << d.status().message();
}

TEST(FieldCryptoTest, KeyFile_MalformedContentIsRefusedWithoutEchoingIt) {
  TempDir dir;
  std::string path = dir.File("data.key");
  const std::string hex64 = std::string(kKatKeyHex);
  struct Bad {
    std::string content;
    const char* says;
  } bad[] = {
      {"", "not a Daiban data key file"},
      {"hello\n", "not a Daiban data key file"},
      {"-----BEGIN PRIVATE KEY-----\n", "not a Daiban data key file"},
      {"daiban-data-key v1 aes-256-gcm\n", "not a Daiban data key file"},
      {"daiban-data-key v1 aes-256-gcm " + hex64 + " extra\n", "not a Daiban data key file"},
      {"daiban-data-key  v1 aes-256-gcm " + hex64 + "\n", "not a Daiban data key file"},
      {"daiban-data-key v1 aes-256-gcm " + hex64 + "\nsecond line\n", "not a Daiban data key file"},
      {"daiban-data-key v1 aes-256-gcm " + hex64 + "\n\n", "not a Daiban data key file"},
      {"daiban-data-key v1 aes-256-gcm " + hex64 + std::string(300, ' '), "not a Daiban data key file"},
      {"daiban-data-key v2 aes-256-gcm " + hex64 + "\n", "unsupported format version"},
      {"daiban-data-key v1 aes-128-gcm " + hex64 + "\n", "unknown algorithm"},
      {"daiban-data-key v1 aes-256-gcm " + hex64.substr(0, 62) + "\n",
       "needs a 256-bit key (64 hex digits); the file has 62"},
      {"daiban-data-key v1 aes-256-gcm " + hex64 + "00\n", "the file has 66"},
      {"daiban-data-key v1 aes-256-gcm " + hex64.substr(0, 63) + "g\n", "not hexadecimal"},
  };
  for (const auto& b : bad) {
    WriteFile(path, b.content, 0600);
    auto r = FieldCipher::Load(path);
    ASSERT_FALSE(r.ok()) << b.says;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
    EXPECT_EQ(r.status().message().rfind("data key file " + path + ": ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find(hex64.substr(0, 16)), std::string::npos) << r.status().message();
  }
  // Line endings: none, LF or CRLF; upper-case hex.
  for (std::string ending : {"", "\n", "\r\n"}) {
    WriteFile(path, "daiban-data-key v1 aes-256-gcm " + hex64 + ending, 0600);
    auto r = FieldCipher::Load(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->KeyId(), kKatKeyId);
  }
  std::string upper = hex64;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  WriteFile(path, "daiban-data-key v1 aes-256-gcm " + upper + "\n", 0600);
  EXPECT_EQ(FieldCipher::Load(path)->KeyId(), kKatKeyId);
}

TEST(FieldCryptoTest, Sm4Gcm_WorksWhereOpenSslHasItAndIsRefusedClearlyElsewhere) {
  TempDir dir;
  std::string path = dir.File("sm4.key");
  EXPECT_EQ(*ParseFieldAlg("sm4-gcm"), FieldAlg::kSm4Gcm);
  EXPECT_EQ(FieldAlgName(FieldAlg::kSm4Gcm), "sm4-gcm");
  EXPECT_FALSE(ParseFieldAlg("sm4").ok());
  if (FieldAlgAvailable(FieldAlg::kSm4Gcm)) {
    auto made = FieldCipher::GenerateKeyFile(path, FieldAlg::kSm4Gcm);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    EXPECT_EQ(ReadFile(path).size(), std::string("daiban-data-key v1 sm4-gcm \n").size() + 32);
    auto loaded = FieldCipher::Load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    std::string token = MustEncrypt(*made, kId, "applicant_id");
    EXPECT_EQ(token.rfind("enc1.sm4-gcm." + made->KeyId() + ".", 0), 0u);
    auto back = loaded->Decrypt(token, "applicant_id");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == kId);
    std::string blob = Blob(token);
    blob[13] ^= 1;
    EXPECT_EQ(loaded->Decrypt(WithBlob(token, blob), "applicant_id").status().code(), StatusCode::kDataLoss);
    // An AES key and an SM4 key never share a key id.
    EXPECT_NE(MustGenerate().KeyId(), made->KeyId());
  } else {
    // OpenSSL 3.0 has SM4 but not SM4-GCM: refused, naming what is missing, and no file.
    auto made = FieldCipher::GenerateKeyFile(path, FieldAlg::kSm4Gcm);
    ASSERT_FALSE(made.ok());
    EXPECT_EQ(made.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(made.status().message().find("sm4-gcm is not available in this OpenSSL"), std::string::npos)
        << made.status().message();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(FieldCipher::Generate(FieldAlg::kSm4Gcm).status().code(), StatusCode::kUnimplemented);
    WriteFile(path, "daiban-data-key v1 sm4-gcm 000102030405060708090a0b0c0d0e0f\n", 0600);
    auto loaded = FieldCipher::Load(path);
    EXPECT_EQ(loaded.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(loaded.status().message().find(path), std::string::npos);
    EXPECT_NE(loaded.status().message().find("sm4-gcm is not available"), std::string::npos);
  }
}

TEST(FieldCryptoTest, OneCipherServesManyThreads) {
  FieldCipher c = MustGenerate();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string plain = std::to_string(t * 1000 + i);
        auto token = c.Encrypt(plain, "note");
        auto back = token.ok() ? c.Decrypt(*token, "note") : Result<std::string>(token.status());
        if (!back.ok() || *back != plain || !c.SearchHash(plain).ok()) ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace daiban::common
