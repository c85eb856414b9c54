// JSON: parsing with clear errors, and the canonical encoding that digests are made of.
//
// nlohmann::json (Debian nlohmann-json3-dev) is used rather than POCO JSON: its default
// object type is a std::map, so keys are always in byte order and equal values dump to
// equal bytes — the canonical form comes for free — and it is header-only and faster.
//
// Canonical form: UTF-8, keys sorted bytewise, no insignificant white space, non-ASCII
// kept as UTF-8 (not \u escapes), integers only (canonical state never holds floats).
#ifndef DAIBAN_COMMON_JSON_H_
#define DAIBAN_COMMON_JSON_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace daiban::common {

using Json = nlohmann::json;

// Deepest nesting ParseJson accepts (deeper input is refused before parsing).
inline constexpr int kMaxJsonDepth = 64;

// Deepest nesting of arrays and objects in `text` (brackets inside strings not counted).
int JsonNestingDepth(std::string_view text);

// Parses JSON text. kInvalidArgument "<label>: malformed JSON: parse error at line 1, column 7: ..." on error.
Result<Json> ParseJson(std::string_view text, std::string_view label = "body");

// ParseJson's first try, alone: the value, or nullopt where it leaves the text to nlohmann
// (any error, floats, out-of-range integers, \u surrogates). For the tests, which check that
// what it accepts nlohmann accepts as the same tree.
std::optional<Json> FastParseJson(std::string_view text);

// One JSON value read from the very start of `text` by FastParseJson's rules (what follows it
// is not looked at): the value, how many bytes it took, and whether those bytes are exactly
// CanonicalJson(value). nullopt where FastParseJson would give up, and on nesting deeper
// than kMaxJsonDepth. The decoders use it to read values out of a larger text in place.
struct JsonPrefix {
  Json value;
  size_t size = 0;
  bool canonical = false;
};
std::optional<JsonPrefix> FastParseJsonPrefix(std::string_view text);

// The canonical bytes of a value. Invalid UTF-8 is replaced, never thrown. Byte for byte
// what nlohmann's dump(-1, ' ', false, replace) writes (the digests of stored states depend on
// it; tests/common/json_test.cc compares the two on random values), several times faster.
std::string CanonicalJson(const Json& value);
// The same, appended to *out; and a string value's canonical bytes, without making a Json.
void AppendCanonicalJson(std::string* out, const Json& value);
void AppendCanonicalString(std::string* out, std::string_view s);
// nlohmann's own writer, which CanonicalJson must equal: for the tests.
std::string NlohmannCanonicalJson(const Json& value);

// Lower-case hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

// Typed field access with errors that name the field ("body.item: missing", "... must be a string").
Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view where = "body");
Result<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where = "body");
Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view where = "body");
// Optional string: "" when absent; error only if present and not a string.
Result<std::string> GetOptString(const Json& obj, std::string_view key, std::string_view where = "body");

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_JSON_H_
