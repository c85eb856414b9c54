#include "common/api.h"

#include <cctype>

namespace daiban::common {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted: return 409;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Json ErrorJson(const Status& s) {
  Json err = {{"code", std::string(StatusCodeName(s.code()))}, {"message", s.message()}};
  const std::string& m = s.message();
  size_t colon = m.find(": ");
  if (colon != std::string::npos && colon > 0 && colon <= 40) {
    bool ident = true;
    for (size_t i = 0; i < colon; ++i) ident = ident && (std::islower(static_cast<unsigned char>(m[i])) || m[i] == '_');
    if (ident) err["field"] = m.substr(0, colon);
  }
  return {{"error", err}};
}

Status CheckCsrf(std::string_view method, std::string_view path, std::string_view authorization,
                 std::string_view csrf_header) {
  if (method == "GET" || method == "HEAD" || path.rfind("/api/", 0) != 0) return Status::Ok();
  if (path == "/api/login") return Status::Ok();  // nothing to forge before a session exists
  if (authorization.rfind("Bearer ", 0) == 0) return Status::Ok();
  if (csrf_header == "1") return Status::Ok();
  return PermissionDenied(std::string("csrf: this request must come from Daiban's own pages (header ") + kCsrfHeader +
                          ": 1 missing)");
}

std::string SessionTokenFrom(std::string_view authorization, std::string_view cookie) {
  if (authorization.rfind("Bearer ", 0) == 0) return std::string(authorization.substr(7));
  const std::string_view key = "daiban_session=";
  size_t p = cookie.find(key);
  while (p != std::string_view::npos && p > 0 && cookie[p - 1] != ' ' && cookie[p - 1] != ';') {
    p = cookie.find(key, p + 1);
  }
  if (p == std::string_view::npos) return "";
  size_t start = p + key.size();
  size_t end = cookie.find(';', start);
  return std::string(cookie.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

std::string ToCsv(const Json& rows, const std::vector<std::string>& columns) {
  auto cell = [](const Json& v) {
    std::string s;
    if (v.is_null()) return s;
    s = v.is_string() ? v.get<std::string>() : v.dump();
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) {
      bool number = v.is_number();
      if (!number) s = "'" + s;
    }
    if (s.find_first_of(",\"\r\n") != std::string::npos) {
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      s = q + "\"";
    }
    return s;
  };
  std::string out = "\xEF\xBB\xBF";
  for (size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + cell(columns[i]);
  out += "\r\n";
  if (rows.is_array()) {
    for (const auto& r : rows) {
      for (size_t i = 0; i < columns.size(); ++i) {
        auto it = r.find(columns[i]);
        out += (i ? "," : "") + (it == r.end() ? std::string() : cell(*it));
      }
      out += "\r\n";
    }
  }
  return out;
}

}  // namespace daiban::common
