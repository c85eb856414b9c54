// The canonical writer must give nlohmann's bytes exactly: every stored case digest and
// every event hash was made by nlohmann's dump, and nodes of two versions compare them.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "common/json.h"

namespace daiban::common {
namespace {

// Strings that stress the escaper: ASCII, every control byte, quotes and backslashes,
// Chinese, 4-byte sequences, and random bytes (so invalid, overlong, surrogate and
// truncated UTF-8 sequences, and valid ones next to them).
std::string RandomString(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {
      "a", "Z", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", std::string(1, '\0'), "\x01", "\x1f", "\x7f",
      "阜新", "烟台市", "😀", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEF\xBF\xBF",
      "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
      // ill-formed: overlong, surrogates, above U+10FFFF, lone continuation, truncated
      "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\x80",
      "\xBF", "\xE4\xB8", "\xF0\x9F\x98", "\xFF", "\xFE"};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    if (rng() % 4 == 0) {
      s.push_back(static_cast<char>(rng() & 0xFF));
    } else {
      s += kPieces[rng() % kPieces.size()];
    }
  }
  return s;
}

Json RandomValue(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int64_t>(rng());  // both signs, every magnitude
    case 3: return static_cast<uint64_t>(rng());
    case 4: return RandomString(rng);
    case 5: {
      const double picks[] = {0.5, -1e300, 3.0, 1e-7, std::numeric_limits<double>::infinity(), 0.1};
      return picks[rng() % 6];
    }
    case 6: {
      Json a = Json::array();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      Json o = Json::object();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) o[RandomString(rng)] = RandomValue(rng, depth + 1);
      return o;
    }
  }
}

TEST(CanonicalJsonTest, WritesNlohmannsBytesForRandomValues) {
  std::mt19937_64 rng(20261203);
  for (int i = 0; i < 20000; ++i) {
    Json v = RandomValue(rng, 0);
    std::string mine = CanonicalJson(v);
    std::string theirs = NlohmannCanonicalJson(v);
    ASSERT_EQ(mine, theirs) << "value #" << i;
  }
}

TEST(CanonicalJsonTest, WritesNlohmannsBytesForEveryByteAfterEachLeadByte) {
  // Every lead byte followed by every second byte and a fixed tail: all 2-byte contexts.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (const char* tail : {"", "\x80", "\x80\x80", "x"}) {
        std::string s = {static_cast<char>(a), static_cast<char>(b)};
        s += tail;
        ASSERT_EQ(CanonicalJson(Json(s)), NlohmannCanonicalJson(Json(s))) << a << " " << b;
      }
    }
  }
}

TEST(CanonicalJsonTest, AppendsAStringAsAJsonStringWouldBe) {
  std::string out = "x:";
  AppendCanonicalString(&out, "阜新\n\"\x01");
  EXPECT_EQ(out, "x:\"阜新\\n\\\"\\u0001\"");
  out.clear();
  AppendCanonicalString(&out, "bad \xFF byte");
  EXPECT_EQ(out, "\"bad \xEF\xBF\xBD byte\"");  // replaced, as nlohmann does
  out = "{";
  AppendCanonicalJson(&out, Json::parse(R"({"b":[1,-2,{}],"a":"x"})"));
  EXPECT_EQ(out, R"({{"a":"x","b":[1,-2,{}]})");
}

// Equal values of equal types all the way down (Json's == calls 5u and 5 equal).
bool SameTree(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !SameTree(*ia, *ib)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameTree(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b || (a.is_number_float() && a.dump() == b.dump());
}

// Texts near valid JSON: a canonical dump with white space put in, a byte changed, a byte
// dropped, or cut short, and JSON written by hand with escapes and numbers at the edges.
std::string RandomText(std::mt19937_64& rng) {
  static const std::vector<std::string> kHand = {
      R"({"a":1,"a":2})", R"([-0, 0, 01, -01, 1.0, 1e2, -])", R"("\u0041\u00e9\u4e2d\u0000\ud83d\ude00")",
      R"("\ud800")", R"("\udc00x")", R"("\uZZZZ")", R"("\x")", "\"tab\there\"", "\xEF\xBB\xBF{}",
      "18446744073709551615", "18446744073709551616", "9223372036854775807", "-9223372036854775808",
      "-9223372036854775809", "9999999999999999999", "99999999999999999999", " [ true , false , null ] ",
      "[truex]", "nul", "{\"k\" : [ ] , \"j\" :{ } }", "[1,]", "{,}", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "[1 2]",
      "{\"a\"1}", "\"unterminated", "\"\xE4\xB8\xAD\"", "\"\xE4\xB8\"", "\"\xC0\xAF\"", "", "  ", "[\n1\r\n]",
      R"({"a":[{"b":"\u00e9"},-12,"x"],"c":{"d":[]}})"};
  std::string t;
  if (rng() % 3 == 0) {
    t = kHand[rng() % kHand.size()];
  } else {
    t = NlohmannCanonicalJson(RandomValue(rng, 0));
  }
  switch (rng() % 6) {
    case 0:
      for (int i = 0; i < 3 && !t.empty(); ++i) t.insert(rng() % t.size(), std::string(1, " \t\n\r"[rng() % 4]));
      break;
    case 1:
      if (!t.empty()) t[rng() % t.size()] = static_cast<char>(rng() & 0xFF);
      break;
    case 2:
      if (!t.empty()) t.erase(rng() % t.size(), 1);
      break;
    case 3:
      if (!t.empty()) t.resize(rng() % t.size());
      break;
    default: break;
  }
  return t;
}

TEST(ParseJsonTest, TheFastPathAcceptsOnlyWhatNlohmannAcceptsAndBuildsTheSameTree) {
  std::mt19937_64 rng(31);
  int fast = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string t = RandomText(rng);
    std::optional<Json> mine = FastParseJson(t);
    Json theirs = Json::parse(t, nullptr, /*allow_exceptions=*/false);
    if (mine) {
      ++fast;
      ASSERT_FALSE(theirs.is_discarded()) << "accepted what nlohmann refuses: text #" << i;
      ASSERT_TRUE(SameTree(*mine, theirs)) << "a different tree: text #" << i;
    }
    // Whichever path answers, ParseJson's verdict is nlohmann's.
    auto parsed = ParseJson(t);
    ASSERT_EQ(parsed.ok(), !theirs.is_discarded()) << "text #" << i;
    if (parsed.ok()) {
      ASSERT_TRUE(SameTree(*parsed, theirs)) << "text #" << i;
    }
  }
  EXPECT_GT(fast, 5000);  // the fast path is really taken (9,290 of the 30,000 texts)
}

TEST(ParseJsonTest, APrefixIsReadInPlaceAndKnownCanonicalExactlyWhenItIs) {
  std::mt19937_64 rng(47);
  int canonical = 0, not_canonical = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string t = RandomText(rng);
    const std::string tail = std::string(",\"next\":1}").substr(0, rng() % 12);
    std::optional<JsonPrefix> p = FastParseJsonPrefix(t + tail);
    std::optional<Json> whole = FastParseJson(t);
    if (!p) continue;
    // It read a value the fast parser builds the same way, and said how long its text is.
    ASSERT_LE(p->size, t.size() + tail.size()) << "text #" << i;
    std::optional<Json> again = FastParseJson(std::string_view(t + tail).substr(0, p->size));
    ASSERT_TRUE(again.has_value()) << "text #" << i;
    ASSERT_TRUE(SameTree(*again, p->value)) << "text #" << i;
    if (whole && p->size == t.size()) {
      ASSERT_TRUE(SameTree(*whole, p->value)) << "text #" << i;
    }
    // The verdict on canonical form is the writer's, both ways.
    const bool is = CanonicalJson(p->value) == std::string_view(t + tail).substr(0, p->size);
    ASSERT_EQ(p->canonical, is) << "text #" << i;
    (is ? canonical : not_canonical) += 1;
  }
  EXPECT_GT(canonical, 3000);      // 4,0xx of the 30,000 texts
  EXPECT_GT(not_canonical, 500);   // 939
  // Each thing the writer would write otherwise, one at a time.
  for (const char* t : {"{\"b\":1,\"a\":2}", "{\"a\":1,\"a\":1}", "[1, 2]", " 1", "\"\\/\"", "\"\\u0041\"",
                        "\"\\u000A\"", "\"\\u000a\"", "\"\\u001F\"", "-0", "{\"a\" :1}"}) {
    auto p = FastParseJsonPrefix(t);
    if (std::string_view(t) == " 1") {
      EXPECT_FALSE(p.has_value()) << t;  // a prefix starts at its value
      continue;
    }
    ASSERT_TRUE(p.has_value()) << t;
    EXPECT_FALSE(p->canonical) << t;
  }
  for (const char* t : {"{\"a\":1,\"b\":[true,null,-3,\"\\u001f\\n\\\"\"]}", "\"阜新\"", "{}", "[]", "0"}) {
    auto p = FastParseJsonPrefix(t);
    ASSERT_TRUE(p.has_value()) << t;
    EXPECT_TRUE(p->canonical) << t;
  }
  // Nesting past the limit is left to ParseJson, which refuses it with its own message.
  std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(FastParseJsonPrefix(deep).has_value());
  EXPECT_TRUE(FastParseJsonPrefix(deep.substr(1, deep.size() - 2)).has_value());
}

TEST(ParseJsonTest, TheFastPathTakesTheNodesOwnJson) {
  // Integers keep nlohmann's types: hlc and counters are read with is_number_unsigned().
  auto v = FastParseJson(R"({"hlc":1737705600000,"n":-3,"s":"阜新\n","a":[true,null,{}]})");
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE((*v)["hlc"].is_number_unsigned());
  EXPECT_TRUE((*v)["n"].is_number_integer() && !(*v)["n"].is_number_unsigned());
  EXPECT_EQ((*v)["s"], "阜新\n");
  EXPECT_FALSE(FastParseJson("[1.5]").has_value());  // floats are nlohmann's
  EXPECT_FALSE(FastParseJson("{\"a\":1,}").has_value());
}

}  // namespace
}  // namespace daiban::common
