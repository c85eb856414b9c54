// The hub's dashboard pages (server/web/), built into the binary so that the hub needs no files
// beside it and no internet. The table is generated at build time by node/embed_web.cmake.
#ifndef DAIBAN_SERVER_WEB_ASSETS_H_
#define DAIBAN_SERVER_WEB_ASSETS_H_

#include <string_view>

namespace daiban::server {

struct WebAsset {
  std::string_view path;          // "/index.html"
  const char* content_type;       // "text/html; charset=utf-8"
  std::string_view body;
};

// The asset served at `path`, or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_WEB_ASSETS_H_
