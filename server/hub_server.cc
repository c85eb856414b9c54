#include "server/hub_server.h"

#include <httplib.h>

#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/api.h"
#include "common/master_data.h"
#include "common/region.h"
#include "common/tls.h"
#include "server/web_assets.h"
#include "sync/protocol.h"

namespace daiban::server {

using common::Status;

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string HubOptionsToConf(const HubOptions& o) {
  std::ostringstream s;
  s << "# daiban-hub configuration (written by daiban-hub init)\n"
    << "region = " << o.region << "\nnode_id = " << o.node_id << "\nlisten = " << o.listen << "\n"
    << "sync_listen = " << o.sync_listen << "\n"
    << "insecure_plain_sync = " << (o.insecure_plain_sync ? "yes" : "no") << "\n"
    << "cert_validity_s = " << o.cert_validity_s << "\n";
  return s.str();
}

common::Result<HubOptions> HubOptionsFromConf(std::string_view text, std::string_view label) {
  HubOptions o;
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    std::string where = std::string(label) + " line " + std::to_string(n);
    if (eq == std::string::npos) return common::InvalidArgument(where + ": expected 'key = value'");
    std::string k = Trim(t.substr(0, eq)), v = Trim(t.substr(eq + 1));
    if (k == "region") o.region = v;
    else if (k == "node_id") o.node_id = v;
    else if (k == "listen") o.listen = v;
    else if (k == "sync_listen") o.sync_listen = v;
    else if (k == "insecure_plain_sync") {
      if (v != "yes" && v != "no") return common::InvalidArgument(where + ": insecure_plain_sync: yes or no");
      o.insecure_plain_sync = v == "yes";
    } else if (k == "cert_validity_s") {
      char* end = nullptr;
      o.cert_validity_s = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || o.cert_validity_s < 60 || o.cert_validity_s > 825LL * 86400) {
        return common::InvalidArgument(where + ": cert_validity_s: seconds from 60 to 71280000 (825 days)");
      }
    }
    else return common::InvalidArgument(where + ": " + k + ": unknown setting");
  }
  return o;
}

std::string HubTlsDir(const HubOptions& o) { return o.data_dir + "/tls"; }

common::Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path) {
  DAIBAN_ASSIGN_OR_RETURN(auto db, common::Db::Open(path));
  DAIBAN_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS nodes(node_id TEXT PRIMARY KEY, region TEXT NOT NULL, tier TEXT NOT NULL, "
      "serial INTEGER NOT NULL, issued_ms INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0)"));
  DAIBAN_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS codes(code_hash TEXT PRIMARY KEY, node_id TEXT NOT NULL, region TEXT NOT NULL, "
      "tier TEXT NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0)"));
  return std::unique_ptr<Registry>(new Registry(std::move(db)));
}

common::Result<common::NodeCredential> Registry::Record(common::NodeCredential cred) {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * max, db_->Prepare("SELECT COALESCE(MAX(serial), 0) FROM nodes"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, max->Step());
  cred.serial = (row ? max->ColumnInt(0) : 0) + 1;
  max->Reset();
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("INSERT OR REPLACE INTO nodes VALUES(?, ?, ?, ?, ?, 0)"));
  q->Bind(1, cred.node_id).Bind(2, cred.region).Bind(3, common::TierName(cred.tier)).Bind(4, cred.serial)
      .Bind(5, cred.issued_ms);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  return cred;
}

common::Result<std::string> Registry::Enrol(const common::SigningKey& key, const common::NodeCredential& in) {
  DAIBAN_ASSIGN_OR_RETURN(common::NodeCredential cred, Record(in));
  return common::IssueCredential(key, cred);
}

namespace {
std::string CodeHash(std::string_view code) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(code.data()), code.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}
}  // namespace

common::Result<std::string> Registry::IssueCode(const common::NodeCredential& who, int64_t expires_ms) {
  DAIBAN_ASSIGN_OR_RETURN(std::string code, common::RandomHex(16));
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * del, db_->Prepare("DELETE FROM codes WHERE node_id = ? AND used_ms = 0"));
  del->Bind(1, who.node_id);
  DAIBAN_RETURN_IF_ERROR(del->Run());
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("INSERT INTO codes VALUES(?, ?, ?, ?, ?, 0)"));
  q->Bind(1, CodeHash(code)).Bind(2, who.node_id).Bind(3, who.region).Bind(4, common::TierName(who.tier))
      .Bind(5, expires_ms);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  return code;
}

common::Result<common::NodeCredential> Registry::RedeemCode(std::string_view code, int64_t now_ms,
                                                            const std::function<Status(const common::NodeCredential&)>& issue) {
  if (code.size() != 32) return common::PermissionDenied("enrolment code: not recognised (expected 32 characters)");
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare(
      "SELECT node_id, region, tier, expires_ms, used_ms FROM codes WHERE code_hash = ?"));
  q->Bind(1, CodeHash(code));
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  common::NodeCredential cred;
  int64_t expires = 0, used = 0;
  std::string tier;
  if (row) {
    cred.node_id = q->ColumnText(0);
    cred.region = q->ColumnText(1);
    tier = q->ColumnText(2);
    expires = q->ColumnInt(3);
    used = q->ColumnInt(4);
  }
  q->Reset();
  if (!row) return common::PermissionDenied("enrolment code: not recognised at this hub (check it, or ask for a new one)");
  if (used != 0) return common::PermissionDenied("enrolment code: already used; ask the hub for a new one");
  if (now_ms > expires) return common::PermissionDenied("enrolment code: expired; ask the hub for a new one");
  DAIBAN_ASSIGN_OR_RETURN(cred.tier, common::ParseTier(tier));
  cred.issued_ms = now_ms;
  DAIBAN_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto recorded = Record(cred);
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * mark, db_->Prepare("UPDATE codes SET used_ms = ? WHERE code_hash = ?"));
  mark->Bind(1, now_ms).Bind(2, CodeHash(code));
  Status marked = recorded.ok() ? mark->Run() : recorded.status();
  if (marked.ok()) marked = issue(*recorded);
  if (!marked.ok()) {
    (void)db_->Exec("ROLLBACK");
    return marked;
  }
  DAIBAN_RETURN_IF_ERROR(db_->Exec("COMMIT"));
  return recorded;
}

common::Result<common::NodeCredential> Registry::Renew(const common::NodeCredential& cred, int64_t now_ms) {
  common::NodeCredential next = cred;
  next.issued_ms = now_ms;
  return Record(next);
}

Status Registry::Check(const common::NodeCredential& cred) {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q,
                          db_->Prepare("SELECT serial, retired, region, tier FROM nodes WHERE node_id = ?"));
  q->Bind(1, cred.node_id);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t serial = row ? q->ColumnInt(0) : 0;
  bool retired = row && q->ColumnInt(1) != 0;
  bool same_place = row && q->ColumnText(2) == cred.region && q->ColumnText(3) == common::TierName(cred.tier);
  q->Reset();
  if (!row) return common::PermissionDenied("node " + cred.node_id + " is not enrolled at this hub");
  if (retired) return common::PermissionDenied("node " + cred.node_id + " has been retired");
  if (serial != cred.serial) {
    return common::PermissionDenied("node " + cred.node_id + " was enrolled or renewed since; this credential (serial " +
                                    std::to_string(cred.serial) + ") is replaced");
  }
  if (!same_place) return common::PermissionDenied("node " + cred.node_id + " is registered for another region or tier");
  return Status::Ok();
}

Status Registry::Retire(const std::string& node_id) {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("UPDATE nodes SET retired = 1 WHERE node_id = ?"));
  q->Bind(1, node_id);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0) return common::NotFound("--node-id: " + node_id + " was never enrolled at this hub");
  return Status::Ok();
}

common::Result<std::vector<std::string>> Registry::Retired() {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("SELECT node_id FROM nodes WHERE retired = 1 ORDER BY node_id"));
  std::vector<std::string> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(q->ColumnText(0));
  }
  q->Reset();
  return out;
}

common::Result<common::Json> Registry::List() {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("SELECT node_id, region, tier, serial, issued_ms, retired "
                                                         "FROM nodes ORDER BY region, node_id"));
  common::Json out = common::Json::array();
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({{"node_id", q->ColumnText(0)}, {"region", q->ColumnText(1)}, {"tier", q->ColumnText(2)},
                   {"serial", q->ColumnInt(3)}, {"enrolled", q->ColumnInt(4)}, {"retired", q->ColumnInt(5) != 0}});
  }
  q->Reset();
  return out;
}

common::Result<std::unique_ptr<HubServer>> HubServer::Open(const HubOptions& options) {
  std::unique_ptr<HubServer> h(new HubServer());
  h->options_ = options;
  DAIBAN_ASSIGN_OR_RETURN(auto code, common::RegionCode::Parse(options.region));
  if (code.level() != common::RegionLevel::kCity) {
    return common::InvalidArgument("region: the hub needs a city code such as 210900000000");
  }
  // Master data, copied into DATA/master by init.
  std::string master = options.data_dir + "/master";
  DAIBAN_ASSIGN_OR_RETURN(common::MasterData data, common::LoadMasterData(master, options.region));
  h->catalog_ = std::move(data.catalog);
  h->calendar_ = std::move(data.calendar);
  h->regions_ = std::move(data.regions);
  sync::StoreOptions so;
  so.path = options.data_dir + "/hub.db";
  so.node_id = options.node_id;
  so.region = options.region;
  so.tier = common::Tier::kCity;
  DAIBAN_ASSIGN_OR_RETURN(auto store, sync::EventStore::Open(so));
  h->stats_ = std::make_unique<Stats>(store->db(), &h->catalog_, &h->calendar_, &h->regions_);
  DAIBAN_RETURN_IF_ERROR(h->stats_->Init());
  store->set_fold_listener(h->stats_.get());
  h->replica_ = std::make_unique<sync::Replica>(std::move(store), common::SystemClock::Get());
  DAIBAN_RETURN_IF_ERROR(h->ApplyPublishedMaster());
  h->service_ = std::make_unique<sync::SyncService>(h->replica_.get());
  DAIBAN_ASSIGN_OR_RETURN(h->registry_, Registry::Open(options.data_dir + "/registry.db"));
  DAIBAN_ASSIGN_OR_RETURN(h->users_, common::UserBook::Open(options.data_dir + "/users.db", common::SystemClock::Get(), 12));
  std::ifstream in(options.data_dir + "/hub_key.pub.pem");
  std::stringstream pem;
  pem << in.rdbuf();
  DAIBAN_ASSIGN_OR_RETURN(h->key_, common::VerifyKey::FromPublicPem(pem.str()));
  // The city CA (daiban-hub init --pki): signs node certificates at enrolment and renewal.
  std::string tls = HubTlsDir(options);
  if (std::ifstream(tls + "/ca.key").good()) {
    std::stringstream ca_pem, key_pem;
    ca_pem << std::ifstream(tls + "/ca.crt").rdbuf();
    key_pem << std::ifstream(tls + "/ca.key").rdbuf();
    DAIBAN_ASSIGN_OR_RETURN(h->ca_, common::CertAuthority::FromPem(ca_pem.str(), key_pem.str()));
    h->have_ca_ = true;
  }
  if (!options.sync_listen.empty() && !h->have_ca_) {
    return common::FailedPrecondition("sync_listen is set but " + tls +
                                      "/ca.key is missing: set up the hub with daiban-hub init --pki DIR (ops/pki.sh)");
  }
  return h;
}

common::Status HubServer::ApplyPublishedMaster() {
  DAIBAN_ASSIGN_OR_RETURN(common::Json cat, replica_->LatestMaster(sync::kKindMasterCatalog));
  if (cat.is_object()) {
    DAIBAN_ASSIGN_OR_RETURN(catalog_, common::Catalog::FromCsvText(cat.value("text", ""), "published catalog"));
  }
  DAIBAN_ASSIGN_OR_RETURN(common::Json cal, replica_->LatestMaster(sync::kKindMasterCalendar));
  if (cal.is_object()) {
    DAIBAN_ASSIGN_OR_RETURN(calendar_, common::WorkCalendar::FromCsvText(cal.value("text", ""), "published calendar"));
  }
  return Status::Ok();
}

common::Result<common::Json> HubServer::PublishMaster(const std::string& kind, const std::string& text,
                                                      const std::string& user) {
  if (text.size() > sync::kMaxMasterTextBytes) {
    return common::ResourceExhausted("file: " + std::to_string(text.size()) + " bytes is over the " +
                                     std::to_string(sync::kMaxMasterTextBytes) + "-byte limit of one publication");
  }
  std::string event_kind;
  if (kind == "catalog") {
    DAIBAN_RETURN_IF_ERROR(common::Catalog::FromCsvText(text, "items.csv").status());
    event_kind = sync::kKindMasterCatalog;
  } else if (kind == "calendar") {
    DAIBAN_RETURN_IF_ERROR(common::WorkCalendar::FromCsvText(text, "calendar").status());
    event_kind = sync::kKindMasterCalendar;
  } else {
    return common::InvalidArgument("kind: '" + kind.substr(0, 40) + "' is not catalog or calendar");
  }
  std::lock_guard<std::mutex> lock(mu_);
  DAIBAN_ASSIGN_OR_RETURN(common::Json last, replica_->LatestMaster(event_kind));
  int64_t version = last.is_object() ? last.value("version", int64_t{0}) + 1 : 1;
  DAIBAN_RETURN_IF_ERROR(replica_->Append("", "", event_kind, {{"version", version}, {"text", text}, {"by", user}}, user,
                                          common::Role::kAdmin).status());
  DAIBAN_RETURN_IF_ERROR(ApplyPublishedMaster());
  return common::Json{{"kind", kind}, {"version", version}};
}

common::Status HubServer::PublishRevocations() {
  DAIBAN_ASSIGN_OR_RETURN(std::vector<std::string> retired, registry_->Retired());
  std::string text;
  for (const auto& id : retired) text += id + "\n";
  DAIBAN_ASSIGN_OR_RETURN(common::Json last, replica_->LatestMaster(sync::kKindMasterRevoked));
  if (last.is_object() ? last.value("text", "") == text : text.empty()) return Status::Ok();
  if (text.size() > sync::kMaxMasterTextBytes) {
    return common::ResourceExhausted("revocation list: over " + std::to_string(sync::kMaxMasterTextBytes) + " bytes");
  }
  int64_t version = last.is_object() ? last.value("version", int64_t{0}) + 1 : 1;
  std::fprintf(stderr, "publishing revocation list version %lld (%zu retired nodes)\n", static_cast<long long>(version),
               retired.size());
  return replica_->Append("", "", sync::kKindMasterRevoked, {{"version", version}, {"text", text}, {"by", "hub"}}, "hub",
                          common::Role::kSystem)
      .status();
}

common::Status HubServer::RebuildStats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_->Rebuild();
}

HubServer::~HubServer() { Stop(); }

void HubServer::Stop() {
  if (http_) http_->stop();
}

common::Result<common::Json> HubServer::NodesJson() {
  DAIBAN_ASSIGN_OR_RETURN(common::Json nodes, registry_->List());
  int64_t now = common::SystemClock::Get()->NowMillis();
  DAIBAN_ASSIGN_OR_RETURN(auto peers, replica_->store()->Peers());
  std::map<std::string, int64_t> seen;
  for (const auto& p : peers) seen[p.peer] = p.last_seen_ms;
  for (auto& n : nodes) {
    std::string id = n["node_id"];
    int64_t last = std::max(seen[id], service_->LastSeen(id));
    n["last_seen"] = last;
    n["pending"] = service_->ReportedPending(id) >= 0 ? common::Json(service_->ReportedPending(id)) : common::Json(nullptr);
    common::Json version = service_->ReportedVersion(id);
    n["software"] = version.is_object() ? version["software"] : common::Json(nullptr);
    n["protocol"] = version.is_object() ? version["protocol"] : common::Json(nullptr);
    int64_t age = last ? now - last : INT64_MAX;
    n["freshness"] = age <= 3600 * 1000 ? "green" : age <= 86400 * 1000 ? "yellow" : "red";
    auto code = common::RegionCode::Parse(n["region"].get<std::string>());
    n["region_name"] = code.ok() ? regions_.PathName(*code) : "";
  }
  return common::Json{{"nodes", nodes}};
}

namespace {

void RefuseSync(httplib::Response& res, const Status& st, int http_status = 0) {
  res.status = http_status ? http_status : common::HttpStatusFor(st.code());
  res.set_content(sync::ErrorFrame(st), "application/octet-stream");
}

Status TooMany(const std::string& who) {
  return common::ResourceExhausted(who + " sends too many requests; it is slowed down (HTTP 429)");
}

void SendJsonError(httplib::Response& res, const Status& st, int http_status = 0) {
  res.status = http_status ? http_status : common::HttpStatusFor(st.code());
  res.set_content(common::ErrorJson(st).dump(), "application/json; charset=utf-8");
}

common::Result<common::Json> JsonBody(const httplib::Request& req) {
  auto j = common::ParseJson(req.body);
  if (!j.ok() || !j->is_object()) return common::InvalidArgument("the request must be a JSON object");
  return std::move(j).value();
}

int64_t NowSeconds() { return common::SystemClock::Get()->NowMillis() / 1000; }

}  // namespace

void HubServer::HandleSync(const common::NodeCredential& who, const std::string& body, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  // Nodes retired since (daiban-hub retire writes the registry): tell every parent, at most
  // every 5 seconds.
  if (int64_t now = common::SystemClock::Get()->NowMillis(); now - revocations_checked_ms_ >= 5000) {
    revocations_checked_ms_ = now;
    if (Status st = PublishRevocations(); !st.ok()) {
      std::fprintf(stderr, "cannot publish the revocation list: %s\n", st.ToString().c_str());
    }
  }
  if (Status st = registry_->Check(who); !st.ok()) return RefuseSync(res, st);
  sync::HandleResult r = service_->Handle({who.node_id, who.region, who.tier}, body);
  res.status = common::HttpStatusFor(r.code);
  res.set_content(r.frame, "application/octet-stream");
}

void HubServer::InstallSyncRoutes(httplib::Server& s) {
  s.set_payload_max_length(sync::kMaxFrameBytes + 1024);
  s.Post("/sync", [this](const httplib::Request& req, httplib::Response& res) {
    auto peer = common::ClientCertOf(req);
    if (!peer.ok()) return RefuseSync(res, peer.status());
    if (!sync_limit_.Allow(peer->identity.node_id)) {
      return RefuseSync(res, TooMany("node " + peer->identity.node_id), 429);
    }
    HandleSync(peer->identity, req.body, res);
  });
  // Enrolment: a one-time code and the node's CSR give it its first certificate.
  s.Post("/enrol", [this](const httplib::Request& req, httplib::Response& res) {
    if (!enrol_limit_.Allow(req.remote_addr)) return SendJsonError(res, TooMany("address " + req.remote_addr), 429);
    auto body = JsonBody(req);
    if (!body.ok()) return SendJsonError(res, body.status());
    std::string code = body->value("code", ""), csr = body->value("csr", "");
    auto want = common::ReadCsr(csr);
    if (!want.ok()) return SendJsonError(res, want.status());
    std::lock_guard<std::mutex> lock(mu_);
    // The code is used up only if the certificate is issued (one transaction).
    std::string cert;
    auto who = registry_->RedeemCode(code, common::SystemClock::Get()->NowMillis(),
                                     [&](const common::NodeCredential& c) -> Status {
                                       int64_t now = NowSeconds();
                                       DAIBAN_ASSIGN_OR_RETURN(cert, ca_.Issue(csr, c, now - 300, now + options_.cert_validity_s));
                                       return Status::Ok();
                                     });
    if (!who.ok()) return SendJsonError(res, who.status());
    std::stringstream data_key;
    data_key << std::ifstream(options_.data_dir + "/data.key").rdbuf();
    std::fprintf(stderr, "enrolled %s (%s %s), certificate serial %lld\n", who->node_id.c_str(),
                 std::string(common::TierName(who->tier)).c_str(), who->region.c_str(), static_cast<long long>(who->serial));
    res.set_content(common::Json{{"node_id", who->node_id}, {"region", who->region},
                                 {"tier", common::TierName(who->tier)}, {"cert", cert}, {"ca", ca_.ca_pem()},
                                 {"data_key", data_key.str()}}.dump(),
                    "application/json; charset=utf-8");
  });
  // Renewal, from the node itself or relayed by one of its ancestors: the node's current
  // certificate, a new CSR, and a signature over the CSR with the current key.
  s.Post("/renew", [this](const httplib::Request& req, httplib::Response& res) {
    auto peer = common::ClientCertOf(req);
    if (!peer.ok()) return SendJsonError(res, peer.status());
    if (!sync_limit_.Allow(peer->identity.node_id)) {
      return SendJsonError(res, TooMany("node " + peer->identity.node_id), 429);
    }
    auto body = JsonBody(req);
    if (!body.ok()) return SendJsonError(res, body.status());
    std::string cert = body->value("cert", ""), csr = body->value("csr", "");
    auto proof = common::Base64UrlDecode(body->value("proof", ""));
    auto info = common::VerifyNodeCert(ca_.ca_pem(), cert, NowSeconds());
    if (!info.ok()) return SendJsonError(res, info.status());
    const common::NodeCredential& old = info->identity;
    const common::NodeCredential& via = peer->identity;
    bool ancestor = via.tier > old.tier &&
                    old.region.rfind(std::string(common::RegionCode::Parse(via.region)->Prefix()), 0) == 0;
    if (via.node_id != old.node_id && !ancestor) {
      return SendJsonError(res, common::PermissionDenied("renewal: " + via.node_id + " may not renew " + old.node_id +
                                                         "'s certificate (not the node nor its ancestor)"));
    }
    if (!proof.ok() || !common::VerifyWithCert(cert, csr, *proof)) {
      return SendJsonError(res, common::PermissionDenied("renewal: the proof is not signed with the certificate's key"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (Status st = registry_->Check(old); !st.ok()) return SendJsonError(res, st);
    auto next = registry_->Renew(old, common::SystemClock::Get()->NowMillis());
    if (!next.ok()) return SendJsonError(res, next.status());
    int64_t now = NowSeconds();
    auto fresh = ca_.Issue(csr, *next, now - 300, now + options_.cert_validity_s);
    if (!fresh.ok()) return SendJsonError(res, fresh.status());
    res.set_content(common::Json{{"cert", *fresh}}.dump(), "application/json; charset=utf-8");
  });
}

void HubServer::InstallRoutes() {
  httplib::Server& s = *http_;
  s.set_payload_max_length(sync::kMaxFrameBytes + 1024);
  auto send_error = [](httplib::Response& res, const Status& st, int http = 0) {
    res.status = http ? http : common::HttpStatusFor(st.code());
    res.set_content(common::ErrorJson(st).dump(), "application/json; charset=utf-8");
  };
  // A supervisor's read: the session, then fn under the lock; JSON, or CSV of `table`
  // (the key holding the rows) with `columns` when format=csv.
  using Fn = std::function<common::Result<common::Json>(const httplib::Request&)>;
  auto read = [this, send_error](Fn fn, std::string table, std::vector<std::string> columns) {
    return [this, send_error, fn, table, columns](const httplib::Request& req, httplib::Response& res) {
      auto user = users_->Session(
          common::SessionTokenFrom(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
      if (!user.ok()) return send_error(res, user.status(), 401);
      if (user->role != common::Role::kSupervisor && user->role != common::Role::kAdmin) {
        return send_error(res, common::PermissionDenied("only supervisors and admins read the city's figures"));
      }
      common::Result<common::Json> out = common::Internal("unset");
      {
        std::lock_guard<std::mutex> lock(mu_);
        out = fn(req);
      }
      if (!out.ok()) return send_error(res, out.status());
      if (req.get_param_value("format") == "csv") {
        const common::Json& rows = table.empty() ? common::Json::array({*out}) : (*out)[table];
        std::string name = req.path.substr(5);  // "/api/stats/children" -> "stats-children"
        for (char& c : name)
          if (c == '/') c = '-';
        res.set_header("Content-Disposition", "attachment; filename=\"daiban-" + name + ".csv\"");
        return res.set_content(common::ToCsv(rows, columns), "text/csv; charset=utf-8");
      }
      res.set_content(out->dump(), "application/json; charset=utf-8");
    };
  };
  auto today = [] { return common::DateFromUnixMillisCst(common::SystemClock::Get()->NowMillis()); };
  auto query_of = [this, today](const httplib::Request& req) {
    StatsQuery q;
    q.region = req.has_param("region") ? req.get_param_value("region") : options_.region;
    q.item = req.get_param_value("item");
    q.department = req.get_param_value("department");
    q.agent = req.get_param_value("agent");
    std::string t = today().ToString();
    q.from = req.has_param("from") ? req.get_param_value("from") : t.substr(0, 4) + "-01-01";
    q.to = req.has_param("to") ? req.get_param_value("to") : t;
    return q;
  };
  std::vector<std::string> stat_columns = {"region", "name", "level", "from", "to"};
  for (const auto& m : StatMetrics()) stat_columns.push_back(m);
  for (const char* m : {"overdue_now", "on_time_rate", "on_the_spot_share", "avg_days_to_complete", "satisfaction_rate"})
    stat_columns.push_back(m);

  s.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(common::Json{{"ok", true}, {"node_id", options_.node_id}}.dump(), "application/json");
  });
  // CSRF: cookie-authenticated writes must come from the dashboard's own pages.
  s.set_pre_routing_handler([send_error](const httplib::Request& req, httplib::Response& res) {
    Status csrf = common::CheckCsrf(req.method, req.path, req.get_header_value("Authorization"),
                                    req.get_header_value(common::kCsrfHeader));
    if (csrf.ok()) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, csrf, 0);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Post("/api/login", [this, send_error](const httplib::Request& req, httplib::Response& res) {
    auto body = common::ParseJson(req.body.size() > 65536 ? std::string() : req.body);
    if (!body.ok() || !body->is_object()) return send_error(res, common::InvalidArgument("the request must be a JSON object"));
    auto token = users_->Login(body->value("user", ""), body->value("password", ""));
    if (!token.ok()) {
      bool locked = token.status().code() == common::StatusCode::kResourceExhausted;
      return send_error(res, token.status(), locked ? 429 : 401);
    }
    auto user = users_->Session(*token);
    res.set_header("Set-Cookie", "daiban_session=" + *token + "; Path=/; HttpOnly; SameSite=Strict");
    res.set_content(common::Json{{"token", *token}, {"user", user->name}, {"role", common::RoleName(user->role)},
                                 {"tier", "city"}}.dump(),
                    "application/json; charset=utf-8");
  });
  s.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    users_->Logout(common::SessionTokenFrom(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
    res.set_header("Set-Cookie", "daiban_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    res.set_content("{\"ok\":true}", "application/json");
  });
  s.Get("/api/me", [this, send_error](const httplib::Request& req, httplib::Response& res) {
    auto user = users_->Session(
        common::SessionTokenFrom(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
    if (!user.ok()) return send_error(res, user.status(), 401);
    auto code = common::RegionCode::Parse(options_.region);
    res.set_content(common::Json{{"user", user->name}, {"role", common::RoleName(user->role)},
                                 {"node_id", options_.node_id}, {"tier", "city"}, {"region", options_.region},
                                 {"region_name", code.ok() ? regions_.PathName(*code) : ""}}.dump(),
                    "application/json; charset=utf-8");
  });
  s.Get("/api/stats", read([this, query_of, today](const httplib::Request& req) {
          return stats_->Query(query_of(req), today());
        }, "", stat_columns));
  s.Get("/api/stats/children", read([this, query_of, today](const httplib::Request& req) -> common::Result<common::Json> {
          DAIBAN_ASSIGN_OR_RETURN(common::Json rows, stats_->Children(query_of(req), today()));
          return common::Json{{"rows", rows}};
        }, "rows", stat_columns));
  std::vector<std::string> trend_columns = {"day"};
  for (const auto& m : StatMetrics()) trend_columns.push_back(m);
  s.Get("/api/stats/trend", read([this, query_of](const httplib::Request& req) -> common::Result<common::Json> {
          StatsQuery q = query_of(req);
          DAIBAN_ASSIGN_OR_RETURN(common::Json days, stats_->Trend(q.region, q.from, q.to));
          return common::Json{{"days", days}};
        }, "days", trend_columns));
  s.Get("/api/warnings", read([this, today](const httplib::Request& req) -> common::Result<common::Json> {
          std::string region = req.has_param("region") ? req.get_param_value("region") : options_.region;
          int64_t limit = 200;
          if (req.has_param("limit")) {
            try {
              limit = std::stoll(req.get_param_value("limit"));
            } catch (...) {
              limit = -1;
            }
            if (limit < 1 || limit > 100000) return common::InvalidArgument("limit: a whole number from 1 to 100000");
          }
          DAIBAN_ASSIGN_OR_RETURN(common::Json cases, stats_->Warnings(region, req.get_param_value("department"), today(),
                                                                       static_cast<size_t>(limit)));
          for (auto& c : cases) {
            auto code = common::RegionCode::Parse(c["region"].get<std::string>());
            c["region_name"] = code.ok() ? regions_.PathName(*code) : "";
          }
          return common::Json{{"cases", cases}};
        }, "cases", {"case", "region", "region_name", "item", "item_name", "department", "due_date", "warning"}));
  s.Get("/api/catalog", read([this](const httplib::Request&) -> common::Result<common::Json> {
          common::Json items = common::Json::array();
          for (const auto& i : catalog_.items()) {
            items.push_back({{"code", i.code}, {"name", i.name}, {"department", i.department},
                             {"kind", common::ItemKindName(i.kind)}, {"promised_days", i.promised_days}});
          }
          return common::Json{{"items", items}};
        }, "items", {"code", "name", "department", "kind", "promised_days"}));
  s.Get("/api/nodes", read([this](const httplib::Request&) { return NodesJson(); }, "nodes",
                           {"node_id", "region", "region_name", "tier", "software", "protocol", "serial", "enrolled",
                            "last_seen", "pending", "freshness", "retired"}));
  s.Post(R"(/api/master/(catalog|calendar))", [this, send_error](const httplib::Request& req, httplib::Response& res) {
    auto user = users_->Session(
        common::SessionTokenFrom(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
    if (!user.ok()) return send_error(res, user.status(), 401);
    if (user->role != common::Role::kAdmin) return send_error(res, common::PermissionDenied("only an admin publishes master data"));
    auto r = PublishMaster(req.matches[1], req.body, user->name);
    if (!r.ok()) return send_error(res, r.status());
    res.set_content(r->dump(), "application/json; charset=utf-8");
  });
  if (options_.insecure_plain_sync) {
    // Plain HTTP with bearer credentials: only for local tests (hub.conf insecure_plain_sync).
    s.Post("/sync", [this](const httplib::Request& req, httplib::Response& res) {
      auto cred = common::AuthenticateNode(key_, req.get_header_value("Authorization"), req.get_header_value("X-Daiban-Node"));
      if (!cred.ok()) return RefuseSync(res, cred.status());
      HandleSync(*cred, req.body, res);
    });
  }
  s.Get(R"(/(|index\.html|dashboard\.js|dashboard\.css))", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = FindWebAsset(req.path == "/" ? "/index.html" : req.path);
    if (!a || a->path.empty()) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->body), a->content_type);
  });
}

Status HubServer::Serve() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    DAIBAN_RETURN_IF_ERROR(PublishRevocations());  // nodes retired while the hub was stopped
  }
  http_ = std::make_unique<httplib::Server>();
  InstallRoutes();
  DAIBAN_RETURN_IF_ERROR(common::BindListener(*http_, options_.listen, "listen"));
  if (options_.insecure_plain_sync) {
    std::fprintf(stderr, "WARNING: insecure_plain_sync = yes: nodes sync over PLAIN HTTP on %s with bearer credentials. "
                 "Local tests only; never on a network.\n", options_.listen.c_str());
  }
  std::thread sync_thread;
  if (!options_.sync_listen.empty()) {
    std::string tls = HubTlsDir(options_);
    auto server = common::MakeTlsServer({tls + "/hub.crt", tls + "/hub.key", tls + "/ca.crt"}, /*require=*/false,
                                        [this](const common::NodeCredential& c) {
                                          std::lock_guard<std::mutex> lock(mu_);
                                          return registry_->Check(c);
                                        });
    if (!server.ok()) return server.status();
    sync_http_ = std::move(server).value();
    InstallSyncRoutes(*sync_http_);
    DAIBAN_RETURN_IF_ERROR(common::BindListener(*sync_http_, options_.sync_listen, "sync_listen"));
    sync_thread = std::thread([this] { sync_http_->listen_after_bind(); });
  }
  bool ok = http_->listen_after_bind();
  if (sync_http_) sync_http_->stop();
  if (sync_thread.joinable()) sync_thread.join();
  return ok ? Status::Ok() : common::Unavailable("the web server stopped unexpectedly");
}

}  // namespace daiban::server
