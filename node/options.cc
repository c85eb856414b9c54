#include "node/options.h"

#include <map>
#include <sstream>

#include "common/region.h"
#include "node/files.h"

namespace daiban::node {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

common::Result<int> ParseSeconds(const std::string& key, const std::string& v, int min, int max) {
  try {
    size_t used = 0;
    long n = std::stol(v, &used);
    if (used == v.size() && n >= min && n <= max) return static_cast<int>(n);
  } catch (...) {
  }
  return common::InvalidArgument(key + ": must be a whole number from " + std::to_string(min) + " to " +
                                 std::to_string(max));
}

// Sets one option. Errors are "<key>: <problem>".
common::Status Set(NodeOptions* o, const std::string& key, const std::string& v) {
  if (key == "data_dir") o->data_dir = v;
  else if (key == "node_id") o->node_id = v;
  else if (key == "region") o->region = v;
  else if (key == "tier") {
    auto t = common::ParseTier(v);
    if (!t.ok()) return t.status().WithContext("tier");
    if (*t == common::Tier::kCity) return common::InvalidArgument("tier: the city tier runs daiban-hub, not daiban-node");
    o->tier = *t;
  } else if (key == "listen") o->listen = v;
  else if (key == "parent_url") o->parent_url = v;
  else if (key == "parent_id") o->parent_id = v;
  else if (key == "fallback_url") o->fallback_url = v;
  else if (key == "fallback_id") o->fallback_id = v;
  else if (key == "credential") o->credential = v;
  else if (key == "sync_listen") o->sync_listen = v;
  else if (key == "data_key_file") o->data_key_file = v;
  else if (key == "data_key_id") o->data_key_id = v;
  else if (key == "insecure_plain_sync") {
    if (v != "yes" && v != "no") return common::InvalidArgument("insecure_plain_sync: yes or no");
    o->insecure_plain_sync = v == "yes";
  } else if (key == "sync_interval_s") {
    DAIBAN_ASSIGN_OR_RETURN(o->sync_interval_s, ParseSeconds(key, v, 1, 86400));
  } else if (key == "backoff_max_s") {
    DAIBAN_ASSIGN_OR_RETURN(o->backoff_max_s, ParseSeconds(key, v, 1, 86400));
  } else if (key == "sync_timeout_s") {
    DAIBAN_ASSIGN_OR_RETURN(o->sync_timeout_s, ParseSeconds(key, v, 1, 3600));
  } else if (key == "sync_rate_per_s") {
    DAIBAN_ASSIGN_OR_RETURN(o->sync_rate_per_s, ParseSeconds(key, v, 1, 10000));
  } else if (key == "session_hours") {
    DAIBAN_ASSIGN_OR_RETURN(o->session_hours, ParseSeconds(key, v, 1, 720));
  } else {
    return common::InvalidArgument(key + ": unknown setting");
  }
  return common::Status::Ok();
}

}  // namespace

std::string DataKeyPath(const NodeOptions& o) {
  return o.data_key_file.empty() ? o.data_dir + "/data.key" : o.data_key_file;
}

common::TlsFiles NodeTlsFiles(const NodeOptions& o) {
  return {o.data_dir + "/tls/node.crt", o.data_dir + "/tls/node.key", o.data_dir + "/tls/ca.crt"};
}

std::string DefaultNodeId(common::Tier tier, const std::string& region) {
  auto code = common::RegionCode::Parse(region);
  std::string prefix = code.ok() ? std::string(code->Prefix()) : region;
  const char* letter = tier == common::Tier::kVillage ? "v" : tier == common::Tier::kTownship ? "t" : "c";
  return letter + prefix;
}

std::string OptionsToConf(const NodeOptions& o) {
  std::ostringstream s;
  s << "# daiban-node configuration (written by daiban-node init; documented in config/node-*.conf)\n"
    << "node_id = " << o.node_id << "\n"
    << "region = " << o.region << "\n"
    << "tier = " << common::TierName(o.tier) << "\n"
    << "listen = " << o.listen << "\n"
    << "parent_url = " << o.parent_url << "\n"
    << "parent_id = " << o.parent_id << "\n"
    << "fallback_url = " << o.fallback_url << "\n"
    << "fallback_id = " << o.fallback_id << "\n"
    << "sync_listen = " << o.sync_listen << "\n"
    << "insecure_plain_sync = " << (o.insecure_plain_sync ? "yes" : "no") << "\n"
    << "credential = " << o.credential << "\n"
    << "data_key_file = " << o.data_key_file << "\n"
    << "data_key_id = " << o.data_key_id << "\n"
    << "sync_interval_s = " << o.sync_interval_s << "\n"
    << "backoff_max_s = " << o.backoff_max_s << "\n"
    << "sync_timeout_s = " << o.sync_timeout_s << "\n"
    << "session_hours = " << o.session_hours << "\n"
    << "sync_rate_per_s = " << o.sync_rate_per_s << "\n";
  return s.str();
}

common::Result<NodeOptions> OptionsFromConf(std::string_view text, std::string_view label) {
  NodeOptions o;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    std::string where = std::string(label) + " line " + std::to_string(line_no);
    if (eq == std::string::npos) return common::InvalidArgument(where + ": expected 'key = value'");
    common::Status s = Set(&o, Trim(t.substr(0, eq)), Trim(t.substr(eq + 1)));
    if (!s.ok()) return s.WithContext(where);
  }
  return o;
}

common::Status ApplyFlags(const common::Flags& flags, std::initializer_list<std::string_view> extra, NodeOptions* o) {
  static const char* const kKeys[] = {"data", "data_dir", "node_id", "region", "tier", "listen", "parent_url",
                                      "parent_id", "fallback_url", "fallback_id", "credential", "sync_interval_s",
                                      "backoff_max_s", "sync_timeout_s", "session_hours", "sync_listen", "sync_rate_per_s",
                                      "data_key_file"};
  std::map<std::string, std::string> given;
  for (const char* k : kKeys) {
    std::string dashed = k;
    for (char& c : dashed)
      if (c == '_') c = '-';
    if (flags.Has(dashed)) given[k] = flags.Get(dashed);
    else if (flags.Has(k)) given[k] = flags.Get(k);
  }
  for (const auto& [k, v] : given) {
    common::Status s = Set(o, k == "data" ? "data_dir" : k, v);
    if (!s.ok()) return s.WithContext("--" + k);
  }
  // Unknown flags: everything not a setting and not in `extra`.
  std::vector<std::string_view> known(extra);
  std::vector<std::string> storage;
  for (const char* k : kKeys) {
    storage.emplace_back(k);
    std::string dashed = k;
    for (char& c : dashed)
      if (c == '_') c = '-';
    storage.push_back(dashed);
  }
  for (const auto& s : storage) known.push_back(s);
  for (const auto& [k, v] : flags.values()) {
    bool ok = false;
    for (auto kk : known) ok = ok || kk == k;
    if (!ok) return common::InvalidArgument("unknown option --" + k + " (see --help)");
  }
  return common::Status::Ok();
}

common::Status ValidateOptions(const NodeOptions& o) {
  if (o.data_dir.empty()) return common::InvalidArgument("data_dir: required (--data DIR)");
  auto code = common::RegionCode::Parse(o.region);
  if (!code.ok()) return code.status().WithContext("region");
  common::RegionLevel want = o.tier == common::Tier::kVillage    ? common::RegionLevel::kVillage
                             : o.tier == common::Tier::kTownship ? common::RegionLevel::kTownship
                                                                 : common::RegionLevel::kCounty;
  if (code->level() != want) {
    return common::InvalidArgument("region: " + o.region + " is a " + std::string(common::RegionLevelName(code->level())) +
                                   " code, but a " + std::string(common::TierName(o.tier)) + " node needs a " +
                                   std::string(common::RegionLevelName(want)) + " code");
  }
  if (o.node_id.empty()) return common::InvalidArgument("node_id: required");
  for (char c : o.node_id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return common::InvalidArgument("node_id: only letters, digits, '-' and '_'");
    }
  }
  if (o.parent_url.empty() != o.parent_id.empty()) {
    return common::InvalidArgument("parent_url and parent_id: give both or neither");
  }
  if (o.fallback_url.empty() != o.fallback_id.empty()) {
    return common::InvalidArgument("fallback_url and fallback_id: give both or neither");
  }
  for (const std::string* u : {&o.parent_url, &o.fallback_url}) {
    if (u->empty()) continue;
    if (!o.insecure_plain_sync && u->rfind("https://", 0) != 0) {
      return common::InvalidArgument("parent_url: must start with https:// (sync is HTTPS only; plain http:// "
                                     "needs insecure_plain_sync = yes, for local tests)");
    }
    if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
      return common::InvalidArgument("parent_url: must start with http:// or https://");
    }
  }
  if (!o.sync_listen.empty()) {
    size_t c = o.sync_listen.rfind(':');
    if (c == std::string::npos || c == 0 || c + 1 == o.sync_listen.size()) {
      return common::InvalidArgument("sync_listen: expected host:port, e.g. 0.0.0.0:8721");
    }
  }
  size_t colon = o.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == o.listen.size()) {
    return common::InvalidArgument("listen: expected host:port, e.g. 127.0.0.1:8710");
  }
  return common::Status::Ok();
}

common::Result<NodeOptions> LoadOptions(const std::string& data_dir, const common::Flags& flags,
                                        std::initializer_list<std::string_view> extra) {
  std::string path = data_dir + "/node.conf";
  auto text = ReadFile(path);
  if (!text.ok()) return common::NotFound("no node in " + data_dir + ": run daiban-node init first");
  DAIBAN_ASSIGN_OR_RETURN(NodeOptions o, OptionsFromConf(*text, path));
  o.data_dir = data_dir;
  DAIBAN_RETURN_IF_ERROR(ApplyFlags(flags, extra, &o));
  o.data_dir = data_dir;
  DAIBAN_RETURN_IF_ERROR(ValidateOptions(o));
  return o;
}

}  // namespace daiban::node
