#include "common/flags.h"

#include <charconv>

namespace daiban::common {

Flags Flags::Parse(int argc, const char* const* argv, int first) {
  Flags f;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string body = a.substr(2);
      size_t eq = body.find('=');
      if (eq != std::string::npos) {
        f.values_[body.substr(0, eq)] = body.substr(eq + 1);
      } else if (i + 1 < argc && std::string_view(argv[i + 1]).rfind("--", 0) != 0) {
        f.values_[body] = argv[++i];
      } else {
        f.values_[body] = "true";
      }
    } else {
      f.positional_.push_back(std::move(a));
    }
  }
  return f;
}

std::string Flags::Get(std::string_view key, std::string_view fallback) const {
  auto it = values_.find(std::string(key));
  return it == values_.end() ? std::string(fallback) : it->second;
}

Result<std::string> Flags::Require(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end() || it->second.empty()) return InvalidArgument("--" + std::string(key) + " is required");
  return it->second;
}

Result<int64_t> Flags::GetInt(std::string_view key, int64_t fallback) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return fallback;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return InvalidArgument("--" + std::string(key) + " must be a whole number, not '" + s + "'");
  }
  return v;
}

Status Flags::CheckKnown(std::initializer_list<std::string_view> known) const {
  for (const auto& [k, v] : values_) {
    bool ok = false;
    for (auto n : known) ok = ok || n == k;
    if (!ok) return InvalidArgument("unknown option --" + k + " (see --help)");
  }
  return Status::Ok();
}

}  // namespace daiban::common
