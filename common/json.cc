#include "common/json.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace daiban::common {

namespace {
// Deepest nesting of arrays/objects in `text`, ignoring brackets inside strings.
int NestingDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return max_depth;
}

size_t Utf8SequenceAt(std::string_view s, size_t i);

// A parser for the JSON that nodes send each other (frames, events, bodies), several times
// faster than nlohmann's lexer, which copies every character into two buffers. It is only a
// first try: it gives up (nullopt) on anything it does not handle exactly as nlohmann does —
// any error, numbers with a fraction or exponent or out of 64-bit range, \\u surrogates, a
// byte-order mark — and ParseJson then asks nlohmann, whose answer and error message stand.
// What it accepts it builds as nlohmann would: a non-negative integer is number_unsigned, a
// negative one number_integer, a repeated key keeps its last value.
//
// It also notes whether the text is the value's canonical form (what CanonicalJson writes):
// no white space, keys in byte order and not repeated, only the escapes that writer uses
// (lower-case \u00XX for control bytes without a short form), no "-0".
class FastParser {
 public:
  explicit FastParser(std::string_view text) : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()) {}

  std::optional<Json> Document() {
    Json v;
    SkipSpace();
    if (!Value(&v)) return std::nullopt;
    SkipSpace();
    if (p_ != end_) return std::nullopt;
    return v;
  }

  std::optional<JsonPrefix> Prefix() {
    JsonPrefix out;
    if (!Value(&out.value)) return std::nullopt;
    out.size = static_cast<size_t>(p_ - begin_);
    out.canonical = canonical_;
    return out;
  }

 private:
  void SkipSpace() {
    const char* from = p_;
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    if (p_ != from) canonical_ = false;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool Value(Json* out) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return Object(out);
      case '[': return Array(out);
      case '"': {
        std::string str;
        if (!String(&str)) return false;
        *out = std::move(str);
        return true;
      }
      case 't': *out = true; return Literal("true");
      case 'f': *out = false; return Literal("false");
      case 'n': *out = nullptr; return Literal("null");
      default: return Number(out);
    }
  }

  bool Object(Json* out) {
    if (++depth_ > kMaxJsonDepth) return false;  // ParseJson's limit (it checks first; a prefix does not)
    ++p_;  // '{'
    *out = Json::object();
    auto& map = out->get_ref<Json::object_t&>();
    SkipSpace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      --depth_;
      return true;
    }
    const std::string* last_key = nullptr;
    for (;;) {
      SkipSpace();
      std::string key;
      if (p_ == end_ || *p_ != '"' || !String(&key)) return false;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      SkipSpace();
      Json v;
      if (!Value(&v)) return false;
      if (last_key && !(*last_key < key)) canonical_ = false;  // out of order or repeated
      auto [at, fresh] = map.insert_or_assign(std::move(key), std::move(v));
      (void)fresh;
      last_key = &at->first;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        --depth_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  bool Array(Json* out) {
    if (++depth_ > kMaxJsonDepth) return false;
    ++p_;  // '['
    *out = Json::array();
    auto& vec = out->get_ref<Json::array_t&>();
    SkipSpace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      --depth_;
      return true;
    }
    for (;;) {
      SkipSpace();
      vec.emplace_back();
      if (!Value(&vec.back())) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        --depth_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool String(std::string* out) {
    ++p_;  // '"'
    const char* run = p_;
    for (;;) {
      if (p_ == end_) return false;
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out->append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = Utf8SequenceAt(std::string_view(p_, static_cast<size_t>(end_ - p_)), 0);
        if (n == 0) return false;
        p_ += n;
        continue;
      }
      if (c != '\\') {
        ++p_;
        continue;
      }
      out->append(run, p_);
      if (++p_ == end_) return false;
      switch (*p_++) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); canonical_ = false; break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (end_ - p_ < 4) return false;
          int cp = 0;
          for (int k = 0; k < 4; ++k) {
            if (*p_ >= 'A' && *p_ <= 'F') canonical_ = false;
            int h = Hex(*p_++);
            if (h < 0) return false;
            cp = cp * 16 + h;
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogates: nlohmann's rules
          // The writer spells only control bytes this way, and those with a short form short.
          if (cp >= 0x20 || cp == '\b' || cp == '\t' || cp == '\n' || cp == '\f' || cp == '\r') canonical_ = false;
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return false;
      }
      run = p_;
    }
  }

  bool Number(Json* out) {
    const bool negative = *p_ == '-';
    const char* digits = negative ? p_ + 1 : p_;
    const char* q = digits;
    while (q != end_ && *q >= '0' && *q <= '9') ++q;
    const size_t n = static_cast<size_t>(q - digits);
    if (n == 0 || n > 19 || (n > 1 && *digits == '0')) return false;
    if (q != end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;  // floats: nlohmann's
    uint64_t v = 0;
    for (const char* d = digits; d != q; ++d) v = v * 10 + static_cast<uint64_t>(*d - '0');  // 19 digits fit
    if (negative) {
      if (v > static_cast<uint64_t>(INT64_MAX)) return false;  // INT64_MIN too: nlohmann's
      if (v == 0) canonical_ = false;                           // "-0" is written "0"
      *out = -static_cast<int64_t>(v);
    } else {
      *out = v;
    }
    p_ = q;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  int depth_ = 0;
  bool canonical_ = true;
};

}  // namespace

int JsonNestingDepth(std::string_view text) { return NestingDepth(text); }

std::optional<Json> FastParseJson(std::string_view text) { return FastParser(text).Document(); }

std::optional<JsonPrefix> FastParseJsonPrefix(std::string_view text) { return FastParser(text).Prefix(); }

Result<Json> ParseJson(std::string_view text, std::string_view label) {
  if (NestingDepth(text) > kMaxJsonDepth) {
    return InvalidArgument(std::string(label) + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels");
  }
  if (std::optional<Json> fast = FastParseJson(text)) return std::move(*fast);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    size_t colon = what.find("] ");
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    if (detail.size() > 160) detail.resize(160);
    return InvalidArgument(std::string(label) + ": malformed JSON: " + detail);
  }
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (Unicode Table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [](unsigned c, unsigned lo = 0x80, unsigned hi = 0xBF) { return c >= lo && c <= hi; };
  unsigned c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (c == 0xE0) return cont(at(1), 0xA0) && cont(at(2)) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(at(1)) && cont(at(2)) ? 3 : 0;
  if (c == 0xED) return cont(at(1), 0x80, 0x9F) && cont(at(2)) ? 3 : 0;
  if (c == 0xF0) return cont(at(1), 0x90) && cont(at(2)) && cont(at(3)) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(at(1)) && cont(at(2)) && cont(at(3)) ? 4 : 0;
  if (c == 0xF4) return cont(at(1), 0x80, 0x8F) && cont(at(2)) && cont(at(3)) ? 4 : 0;
  return 0;
}

// Writes a string the way nlohmann's dump(-1, ' ', false, replace) does, without its
// byte-at-a-time decoder: runs of plain bytes are copied at once. A string that is not
// well-formed UTF-8 is left to nlohmann itself, so its replacement rules stay exactly its own.
void AppendEscaped(std::string* out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  const size_t mark = out->size();
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceAt(s, i);
      if (n == 0) {
        out->resize(mark);
        *out += Json(std::string(s)).dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
        return;
      }
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    out->push_back('\\');
    switch (c) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '\b': out->push_back('b'); break;
      case '\t': out->push_back('t'); break;
      case '\n': out->push_back('n'); break;
      case '\f': out->push_back('f'); break;
      case '\r': out->push_back('r'); break;
      default:
        *out += "u00";
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    run = ++i;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace

void AppendCanonicalString(std::string* out, std::string_view s) { AppendEscaped(out, s); }

void AppendCanonicalJson(std::string* out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      if (value.empty()) {
        *out += "{}";
        return;
      }
      char sep = '{';
      for (const auto& [key, v] : value.get_ref<const Json::object_t&>()) {
        out->push_back(sep);
        sep = ',';
        AppendEscaped(out, key);
        out->push_back(':');
        AppendCanonicalJson(out, v);
      }
      out->push_back('}');
      return;
    }
    case Json::value_t::array: {
      if (value.empty()) {
        *out += "[]";
        return;
      }
      char sep = '[';
      for (const auto& v : value.get_ref<const Json::array_t&>()) {
        out->push_back(sep);
        sep = ',';
        AppendCanonicalJson(out, v);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::string: AppendEscaped(out, value.get_ref<const std::string&>()); return;
    case Json::value_t::number_integer: *out += std::to_string(value.get<int64_t>()); return;
    case Json::value_t::number_unsigned: *out += std::to_string(value.get<uint64_t>()); return;
    case Json::value_t::boolean: *out += value.get<bool>() ? "true" : "false"; return;
    case Json::value_t::null: *out += "null"; return;
    default:  // floats, binary, discarded: nlohmann's own writer
      *out += value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  }
}

std::string CanonicalJson(const Json& value) {
  std::string out;
  AppendCanonicalJson(&out, value);
  return out;
}

std::string NlohmannCanonicalJson(const Json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

namespace {
std::string Where(std::string_view where, std::string_view key) {
  return std::string(where) + "." + std::string(key);
}
}  // namespace

Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) return InvalidArgument(std::string(where) + ": must be a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(Where(where, key) + ": missing");
  if (!it->is_string()) return InvalidArgument(Where(where, key) + ": must be a string");
  return it->get<std::string>();
}

Result<std::string> GetOptString(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) return InvalidArgument(std::string(where) + ": must be a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument(Where(where, key) + ": must be a string");
  return it->get<std::string>();
}

Result<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) return InvalidArgument(std::string(where) + ": must be a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(Where(where, key) + ": missing");
  if (!it->is_number_integer()) return InvalidArgument(Where(where, key) + ": must be an integer");
  return it->get<int64_t>();
}

Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) return InvalidArgument(std::string(where) + ": must be a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(Where(where, key) + ": missing");
  if (!it->is_boolean()) return InvalidArgument(Where(where, key) + ": must be true or false");
  return it->get<bool>();
}

}  // namespace daiban::common
