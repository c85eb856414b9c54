#include "common/credential.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <set>
#include <string>
#include <vector>

#include "common/json.h"

namespace daiban::common {
namespace {

constexpr std::string_view kBadSignature =
    "credential signature does not verify: not issued by this city's hub";

SigningKey MustGenerate() {
  Result<SigningKey> k = SigningKey::Generate();
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k.ok() ? *k : SigningKey();
}

// The hub's public half, as a node would load it: through PEM.
VerifyKey VerifyKeyOf(const SigningKey& key) {
  Result<std::string> pem = key.PublicPem();
  EXPECT_TRUE(pem.ok()) << pem.status().ToString();
  if (!pem.ok()) return VerifyKey();
  Result<VerifyKey> v = VerifyKey::FromPublicPem(*pem);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : VerifyKey();
}

NodeCredential SampleCredential() {
  NodeCredential c;
  c.node_id = "village-210922101202";
  c.region = "210922101202";
  c.tier = Tier::kVillage;
  c.issued_ms = 1767225600000;
  c.serial = 7;
  return c;
}

std::string MustIssue(const SigningKey& key, const NodeCredential& cred) {
  Result<std::string> t = IssueCredential(key, cred);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : std::string();
}

// A token whose payload is `payload` verbatim, correctly signed by `key`: reaches the
// checks that run after the signature.
std::string SignedToken(const SigningKey& key, std::string_view payload) {
  std::string signed_part = std::string(kCredentialPrefix) + Base64UrlEncode(payload);
  Result<std::string> sig = key.Sign(signed_part);
  EXPECT_TRUE(sig.ok()) << sig.status().ToString();
  return signed_part + "." + Base64UrlEncode(sig.ok() ? *sig : std::string());
}

// The parts of "dbc1.<payload>.<signature>".
struct Split {
  std::string payload_b64, sig_b64;
};
Split SplitToken(const std::string& token) {
  std::string rest = token.substr(kCredentialPrefix.size());
  size_t dot = rest.find('.');
  return {rest.substr(0, dot), rest.substr(dot + 1)};
}

// Checks `token` is refused with kPermissionDenied and exactly `message`, and that the
// message carries neither part of the token.
void ExpectRefused(const VerifyKey& key, const std::string& token, std::string_view message) {
  Result<NodeCredential> r = VerifyCredential(key, token);
  ASSERT_FALSE(r.ok()) << "accepted: " << token.substr(0, 40);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), message);
  if (token.size() >= 8) {
    EXPECT_EQ(r.status().message().find(token), std::string::npos);
  }
  size_t dot = token.rfind('.');
  if (dot != std::string::npos && token.size() - dot > 8) {
    EXPECT_EQ(r.status().message().find(token.substr(dot + 1)), std::string::npos)
        << "message holds the signature";
  }
}

TEST(CredentialTest, IssueThenVerify_RoundTrips) {
  SigningKey key = MustGenerate();
  for (Tier tier : {Tier::kVillage, Tier::kTownship, Tier::kCounty, Tier::kCity}) {
    NodeCredential cred = SampleCredential();
    cred.tier = tier;
    cred.serial = 1000 + static_cast<int>(tier);
    std::string token = MustIssue(key, cred);
    ASSERT_EQ(token.rfind("dbc1.", 0), 0u) << token;
    Result<NodeCredential> back = VerifyCredential(VerifyKeyOf(key), token);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, cred);
  }
}

TEST(CredentialTest, Payload_IsCanonicalJsonOfTheFields) {
  SigningKey key = MustGenerate();
  std::string token = MustIssue(key, SampleCredential());
  Result<std::string> payload = Base64UrlDecode(SplitToken(token).payload_b64);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload,
            R"({"issued_ms":1767225600000,"node_id":"village-210922101202","region":"210922101202",)"
            R"("serial":7,"tier":"village"})");
  Result<std::string> sig = Base64UrlDecode(SplitToken(token).sig_b64);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), kSignatureBytes);
}

TEST(CredentialTest, PemRoundTrip_SameKey) {
  SigningKey key = MustGenerate();
  Result<std::string> pem = key.PrivatePem();
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  Result<SigningKey> again = SigningKey::FromPrivatePem(*pem);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Ed25519 is deterministic: the same key signs the same bytes identically.
  Result<std::string> s1 = key.Sign("hello"), s2 = again->Sign("hello");
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(*s1, *s2);
  EXPECT_EQ(*again->PublicPem(), *key.PublicPem());
  // A credential from the reloaded key verifies under the original's public key.
  EXPECT_TRUE(VerifyCredential(VerifyKeyOf(key), MustIssue(*again, SampleCredential())).ok());
}

TEST(CredentialTest, CopiedKeys_ShareTheKey) {
  SigningKey key = MustGenerate();
  SigningKey copy = key;
  VerifyKey vk = VerifyKeyOf(key);
  VerifyKey vcopy = vk;
  Result<std::string> sig = copy.Sign("data");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(vcopy.Verify("data", *sig));
  EXPECT_FALSE(vcopy.Verify("datA", *sig));
}

TEST(CredentialTest, VerifyKey_RawSignatureChecks) {
  SigningKey key = MustGenerate();
  VerifyKey vk = VerifyKeyOf(key);
  Result<std::string> sig = key.Sign("data");
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), kSignatureBytes);
  EXPECT_TRUE(vk.Verify("data", *sig));
  std::string flipped = *sig;
  flipped[10] = static_cast<char>(flipped[10] ^ 0x01);
  EXPECT_FALSE(vk.Verify("data", flipped));
  EXPECT_FALSE(vk.Verify("data", sig->substr(0, 63)));
  EXPECT_FALSE(vk.Verify("data", *sig + "x"));
  EXPECT_FALSE(vk.Verify("data", ""));
  EXPECT_FALSE(VerifyKey().Verify("data", *sig));
}

TEST(CredentialTest, TamperedPayload_Fails) {
  SigningKey key = MustGenerate();
  VerifyKey vk = VerifyKeyOf(key);
  std::string token = MustIssue(key, SampleCredential());
  Split parts = SplitToken(token);

  // Raise the tier, keep the signature.
  NodeCredential forged = SampleCredential();
  forged.tier = Tier::kCity;
  std::string forged_payload = SplitToken(MustIssue(MustGenerate(), forged)).payload_b64;
  ExpectRefused(vk, "dbc1." + forged_payload + "." + parts.sig_b64, kBadSignature);

  // One payload character changed (still valid base64url).
  std::string p = parts.payload_b64;
  p[5] = p[5] == 'A' ? 'B' : 'A';
  ExpectRefused(vk, "dbc1." + p + "." + parts.sig_b64, kBadSignature);
}

TEST(CredentialTest, TamperedSignature_Fails) {
  SigningKey key = MustGenerate();
  VerifyKey vk = VerifyKeyOf(key);
  std::string token = MustIssue(key, SampleCredential());
  Split parts = SplitToken(token);
  Result<std::string> sig = Base64UrlDecode(parts.sig_b64);
  ASSERT_TRUE(sig.ok());
  for (size_t i : {size_t{0}, size_t{31}, size_t{63}}) {
    std::string bad = *sig;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    ExpectRefused(vk, "dbc1." + parts.payload_b64 + "." + Base64UrlEncode(bad), kBadSignature);
  }
  // Wrong length is a bad signature too, not a crash.
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + "." + Base64UrlEncode(sig->substr(0, 32)), kBadSignature);
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + "." + Base64UrlEncode(*sig + *sig), kBadSignature);
}

TEST(CredentialTest, FromAnotherHub_Fails) {
  SigningKey ours = MustGenerate();
  SigningKey theirs = MustGenerate();
  std::string token = MustIssue(theirs, SampleCredential());
  ASSERT_TRUE(VerifyCredential(VerifyKeyOf(theirs), token).ok());
  ExpectRefused(VerifyKeyOf(ours), token, kBadSignature);
}

TEST(CredentialTest, MalformedEnvelope_SpecificErrors) {
  SigningKey key = MustGenerate();
  VerifyKey vk = VerifyKeyOf(key);
  std::string token = MustIssue(key, SampleCredential());
  Split parts = SplitToken(token);
  const std::string kPrefix = "credential: not a Daiban credential (expected prefix dbc1.)";
  const std::string kShape = "credential: malformed: expected dbc1.<payload>.<signature>";

  ExpectRefused(vk, "", kPrefix);
  ExpectRefused(vk, "dbc1", kPrefix);
  ExpectRefused(vk, "dbc2." + parts.payload_b64 + "." + parts.sig_b64, kPrefix);
  ExpectRefused(vk, "DBC1." + parts.payload_b64 + "." + parts.sig_b64, kPrefix);
  ExpectRefused(vk, " " + token, kPrefix);
  ExpectRefused(vk, "eyJhbGciOiJFZERTQSJ9." + parts.payload_b64 + "." + parts.sig_b64, kPrefix);  // a JWT

  ExpectRefused(vk, "dbc1.", kShape);
  ExpectRefused(vk, "dbc1." + parts.payload_b64, kShape);
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + ".", kShape);
  ExpectRefused(vk, "dbc1.." + parts.sig_b64, kShape);
  ExpectRefused(vk, token + ".extra", kShape);
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + ".." + parts.sig_b64, kShape);

  ExpectRefused(vk, "dbc1." + parts.payload_b64 + "=." + parts.sig_b64,
                "credential: malformed base64url in payload");
  ExpectRefused(vk, "dbc1.a+b/" + parts.payload_b64 + "." + parts.sig_b64,
                "credential: malformed base64url in payload");
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + "." + parts.sig_b64 + "==",
                "credential: malformed base64url in signature");
  ExpectRefused(vk, "dbc1." + parts.payload_b64 + "." + parts.sig_b64 + "!",
                "credential: malformed base64url in signature");

  ExpectRefused(vk, token + std::string(kMaxCredentialBytes, 'A'), "credential: too long");
}

// Payloads the hub signed but that are not a valid credential: only reachable with the
// hub's key, so each is built with SignedToken.
TEST(CredentialTest, MalformedSignedPayload_SpecificErrors) {
  SigningKey key = MustGenerate();
  VerifyKey vk = VerifyKeyOf(key);
  const std::string kMal = "credential: malformed payload: ";
  auto refused = [&](const std::string& payload, const std::string& message) {
    SCOPED_TRACE(payload);
    ExpectRefused(vk, SignedToken(key, payload), message);
  };
  Json good =
      Json::parse(R"({"issued_ms":1,"node_id":"n1","region":"210922101202","serial":2,"tier":"county"})");
  ASSERT_TRUE(VerifyCredential(vk, SignedToken(key, CanonicalJson(good))).ok());  // the base is valid

  Result<NodeCredential> r = VerifyCredential(vk, SignedToken(key, "not json"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message().rfind(kMal + "payload: malformed JSON", 0), 0u) << r.status().message();

  refused("[1,2]", kMal + "payload: must be a JSON object");
  for (const char* field : {"node_id", "region", "tier", "issued_ms", "serial"}) {
    Json j = good;
    j.erase(field);
    refused(CanonicalJson(j), kMal + "payload." + field + ": missing");
  }
  auto with = [&](const char* field, Json v) {
    Json j = good;
    j[field] = std::move(v);
    return CanonicalJson(j);
  };
  refused(with("node_id", 5), kMal + "payload.node_id: must be a string");
  refused(with("node_id", ""), kMal + "payload.node_id: empty");
  refused(with("region", 210922101202), kMal + "payload.region: must be a string");
  refused(with("serial", "2"), kMal + "payload.serial: must be an integer");
  refused(with("issued_ms", 1.5), kMal + "payload.issued_ms: must be an integer");
  refused(with("tier", "province"), kMal + "tier: 'province' is not one of village, township, county, city");

  const std::string kRegion = "credential: region must be 12 digits";
  refused(with("region", "21092210120"), kRegion);    // 11 digits
  refused(with("region", "2109221012020"), kRegion);  // 13 digits
  refused(with("region", "2109"), kRegion);           // a valid prefix, but not 12 digits
  refused(with("region", "21092210120a"), kRegion);
  refused(with("region", ""), kRegion);
}

TEST(CredentialTest, Issue_RefusesBadFieldsAndEmptyKey) {
  SigningKey key = MustGenerate();
  NodeCredential c = SampleCredential();
  c.node_id = "";
  EXPECT_EQ(IssueCredential(key, c).status().message(), "credential.node_id: empty");
  c = SampleCredential();
  c.region = "2109";
  EXPECT_EQ(IssueCredential(key, c).status().code(), StatusCode::kInvalidArgument);
  c.region = "２１０９２２１０１２０２";  // full-width digits are not ASCII digits
  EXPECT_EQ(IssueCredential(key, c).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueCredential(SigningKey(), SampleCredential()).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(SigningKey().PublicPem().status().code(), StatusCode::kFailedPrecondition);
}

TEST(CredentialTest, BadPem_Refused) {
  SigningKey key = MustGenerate();
  std::string public_pem = *key.PublicPem();
  std::string private_pem = *key.PrivatePem();
  EXPECT_EQ(SigningKey::FromPrivatePem("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPrivatePem("not a pem").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(SigningKey::FromPrivatePem(public_pem).ok());  // the public half cannot sign
  EXPECT_FALSE(VerifyKey::FromPublicPem("garbage").ok());
  EXPECT_FALSE(VerifyKey::FromPublicPem(private_pem.substr(0, private_pem.size() / 2)).ok());

  // A well-formed key of another kind (EC P-256) is refused as not Ed25519.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, ec), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string ec_pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  Result<VerifyKey> v = VerifyKey::FromPublicPem(ec_pem);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "verify key: not an Ed25519 key");
}

TEST(CredentialTest, Base64Url_Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff\xbf", "-_-_"},  // the two URL-safe characters
  };
  for (const auto& [raw, enc] : vectors) {
    EXPECT_EQ(Base64UrlEncode(raw), enc);
    Result<std::string> dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(*dec, raw);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(all.substr(0, n))), all.substr(0, n));
  }
}

TEST(CredentialTest, Base64Url_DecodeIsStrict) {
  for (const char* bad : {"Zg==", "Zm8=", "Z", "Zm9vY", "+/+/", "Zm 9v", "Zh", "Zm9", "Zm9vYh"}) {
    Result<std::string> r = Base64UrlDecode(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(CredentialTest, RandomHex_LengthAlphabetAndFreshness) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    Result<std::string> h = RandomHex(16);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->size(), 32u);
    EXPECT_EQ(h->find_first_not_of("0123456789abcdef"), std::string::npos) << *h;
    seen.insert(*h);
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_EQ(RandomHex(1)->size(), 2u);
  EXPECT_EQ(RandomHex(0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace daiban::common
