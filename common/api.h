// What the node's and the hub's JSON APIs share, without an HTTP library: the HTTP status
// for each error code, the error body, the session token from the request headers, and
// CSV export of a table.
#ifndef DAIBAN_COMMON_API_H_
#define DAIBAN_COMMON_API_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace daiban::common {

// 400 invalid_argument, 403 permission_denied, 404 not_found, 409 failed_precondition and
// already_exists and aborted, 413 resource_exhausted, 501 unimplemented, 503 unavailable,
// 500 otherwise.
int HttpStatusFor(StatusCode code);

// {"error": {"code", "message", "field"?}}; `field` is the part of the message before
// ": " when it is a lower-case identifier ("applicant_id: check digit ...").
Json ErrorJson(const Status& s);

// The session token: "Authorization: Bearer T", else the daiban_session cookie; "" if none.
std::string SessionTokenFrom(std::string_view authorization, std::string_view cookie);

// The header Daiban's own pages send with every API call. A browser sends a custom header
// cross-site only after a CORS preflight, which Daiban never grants, so a forged form or
// script on another site cannot produce it.
inline constexpr const char* kCsrfHeader = "X-Daiban-Request";

// CSRF check for a request to the people's API: a state-changing method (anything but GET
// and HEAD) under /api/ that is not authenticated by an "Authorization: Bearer" header
// (i.e. relies on the session cookie) must carry kCsrfHeader: 1. /api/login is exempt (it
// starts a session rather than using one). kPermissionDenied "csrf: ..." otherwise.
Status CheckCsrf(std::string_view method, std::string_view path, std::string_view authorization,
                 std::string_view csrf_header);

// A CSV table (RFC 4180, CRLF, UTF-8 with a byte-order mark so spreadsheet programs read
// Chinese text): a header of `columns`, then one line per object in `rows` (missing or
// null values empty). Values are quoted when they hold a comma, quote or line break; a
// value starting with = + - @ is prefixed with ' so a spreadsheet does not run it.
std::string ToCsv(const Json& rows, const std::vector<std::string>& columns);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_API_H_
