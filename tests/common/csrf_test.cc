// CSRF: cookie-authenticated writes to the people's API need Daiban's own request header.
#include <gtest/gtest.h>

#include "common/api.h"

namespace daiban::common {
namespace {

TEST(CsrfTest, CookieWritesNeedTheHeaderBearerAndReadsDoNot) {
  EXPECT_TRUE(CheckCsrf("GET", "/api/cases", "", "").ok());
  EXPECT_TRUE(CheckCsrf("HEAD", "/api/cases", "", "").ok());
  EXPECT_TRUE(CheckCsrf("POST", "/api/cases", "Bearer abc", "").ok());
  EXPECT_TRUE(CheckCsrf("POST", "/api/cases", "", "1").ok());
  EXPECT_TRUE(CheckCsrf("POST", "/api/login", "", "").ok());
  EXPECT_TRUE(CheckCsrf("POST", "/sync", "", "").ok());  // not the people's API
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    Status s = CheckCsrf(method, "/api/cases/x/steps", "", "");
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << method;
    EXPECT_NE(s.message().find("csrf: "), std::string::npos);
  }
  EXPECT_FALSE(CheckCsrf("POST", "/api/logout", "Basic abc", "").ok());
  EXPECT_FALSE(CheckCsrf("POST", "/api/logout", "", "yes").ok());
}

}  // namespace
}  // namespace daiban::common
