// The node's web pages (node/web/), built into the binary so that a node needs no files
// beside it and no internet. The table is generated at build time by node/embed_web.cmake.
#ifndef DAIBAN_NODE_WEB_ASSETS_H_
#define DAIBAN_NODE_WEB_ASSETS_H_

#include <string_view>

namespace daiban::node {

struct WebAsset {
  std::string_view path;          // "/index.html"
  const char* content_type;       // "text/html; charset=utf-8"
  std::string_view body;
};

// The asset served at `path`, or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace daiban::node

#endif  // DAIBAN_NODE_WEB_ASSETS_H_
