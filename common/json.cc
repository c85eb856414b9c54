#include "common/json.h"

#include <openssl/evp.h>

#include <algorithm>

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
}  // namespace

Result<Json> ParseJson(std::string_view text, std::string_view label) {
  if (NestingDepth(text) > kMaxJsonDepth) {
    return InvalidArgument(std::string(label) + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels");
  }
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

std::string CanonicalJson(const Json& value) {
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
