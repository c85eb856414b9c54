// Command-line arguments for the binaries' subcommands: `cmd --key value --key=value pos`.
#ifndef DAIBAN_COMMON_FLAGS_H_
#define DAIBAN_COMMON_FLAGS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace daiban::common {

class Flags {
 public:
  // Parses argv[first..argc). A lone `--flag` followed by another flag or nothing is "true".
  static Flags Parse(int argc, const char* const* argv, int first);

  bool Has(std::string_view key) const { return values_.count(std::string(key)) > 0; }
  std::string Get(std::string_view key, std::string_view fallback = "") const;
  // kInvalidArgument "--key is required" when absent.
  Result<std::string> Require(std::string_view key) const;
  // kInvalidArgument "--key must be a whole number" when not an integer.
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Every --key given, with its value.
  const std::map<std::string, std::string>& values() const { return values_; }
  // Flags given that are not in `known`: error naming the first one.
  Status CheckKnown(std::initializer_list<std::string_view> known) const;

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_FLAGS_H_
