// Configuration of a field node: one Options struct, read from DATA/node.conf (written by
// `daiban-node init`, documented in config/node-*.conf) and overridden by flags.
#ifndef DAIBAN_NODE_OPTIONS_H_
#define DAIBAN_NODE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "common/flags.h"
#include "common/status.h"
#include "common/tier.h"
#include "common/tls.h"

namespace daiban::node {

struct NodeOptions {
  std::string data_dir;                         // where node.db, users.db, master/ live (required)
  std::string node_id;                          // e.g. "v210921100202" (default: tier letter + region prefix)
  std::string region;                           // 12-digit region code (required)
  common::Tier tier = common::Tier::kVillage;   // village | township | county
  std::string listen = "127.0.0.1:8710";        // host:port of the web pages and API (default)
  std::string sync_listen;                      // host:port of the HTTPS (mutual TLS) listener where
                                                // children sync ("" = none: a village)
  bool insecure_plain_sync = false;             // sync over plain HTTP with bearer credentials, /sync on
                                                // `listen` (local tests only; logged loudly)
  std::string parent_url;                       // e.g. "https://127.0.0.1:8721" ("" = no parent)
  std::string parent_id;                        // the parent's node id, e.g. "t210921100"
  std::string fallback_url;                     // grandparent to sync with while the parent is down ("" = none)
  std::string fallback_id;                      // its node id
  std::string credential;                       // bearer credential (insecure_plain_sync only)
  std::string data_key_file;                    // the city's data key ("" = DATA/data.key, mode 600)
  std::string data_key_id;                      // its key id, recorded at init: a different key is refused
  int sync_interval_s = 30;                     // sync this often while all is well (default 30)
  int backoff_max_s = 300;                      // longest wait between tries while the parent is down (default 300)
  int sync_timeout_s = 120;                     // give up on a sync exchange whose reply stalls this long (default 120)
  int session_hours = 12;                       // signed-in sessions last this long (default 12)
  int sync_rate_per_s = 20;                     // sync requests per second each child may make on
                                                // average (bursts of twice that; default 20)
};

// The keys of node.conf, in the order init writes them.
std::string OptionsToConf(const NodeOptions& o);

// Parses node.conf text: `key = value` lines, `#` comments, blank lines. Unknown keys,
// lines without '=', bad numbers, a bad region or tier are kInvalidArgument
// "<label> line N: <key>: <problem>".
common::Result<NodeOptions> OptionsFromConf(std::string_view text, std::string_view label);

// Applies --key value flags over `o` (same key names, '-' or '_'). Unknown flags are
// errors; `extra` names flags the caller handles itself.
common::Status ApplyFlags(const common::Flags& flags, std::initializer_list<std::string_view> extra, NodeOptions* o);

// Checks the whole: region is 12 digits at the tier's level, node_id is set, parent_url and
// parent_id come together, listen is host:port.
common::Status ValidateOptions(const NodeOptions& o);

// Loads DATA/node.conf and applies flags. kNotFound "no node here: run daiban-node init".
common::Result<NodeOptions> LoadOptions(const std::string& data_dir, const common::Flags& flags,
                                        std::initializer_list<std::string_view> extra);

// This node's certificate, key and the city CA: DATA/tls/node.crt, node.key, ca.crt.
common::TlsFiles NodeTlsFiles(const NodeOptions& o);

// The data key file's path: data_key_file, or DATA/data.key.
std::string DataKeyPath(const NodeOptions& o);

// Default node id for a tier and region: "v"/"t"/"c" + the region's significant prefix.
std::string DefaultNodeId(common::Tier tier, const std::string& region);

}  // namespace daiban::node

#endif  // DAIBAN_NODE_OPTIONS_H_
