#include "common/status.h"

#include <array>

namespace daiban::common {
namespace {
constexpr std::array<std::string_view, 12> kNames = {
    "ok",        "invalid_argument",   "not_found", "already_exists",
    "failed_precondition", "permission_denied", "unavailable", "aborted",
    "resource_exhausted",  "data_loss", "unimplemented", "internal"};
}  // namespace

std::string_view StatusCodeName(StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : "internal";
}

StatusCode StatusCodeFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<StatusCode>(i);
  }
  return StatusCode::kInternal;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(StatusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace daiban::common
