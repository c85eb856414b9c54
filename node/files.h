// Small file helpers for the node's data directory.
#ifndef DAIBAN_NODE_FILES_H_
#define DAIBAN_NODE_FILES_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace daiban::node {

// The whole file. kNotFound "cannot read PATH".
common::Result<std::string> ReadFile(const std::string& path);

// Writes `data` to PATH.tmp, fsyncs it and renames it over PATH, so a crash leaves the old
// or the new file, never half of one. `mode` is the new file's permission bits.
common::Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace daiban::node

#endif  // DAIBAN_NODE_FILES_H_
