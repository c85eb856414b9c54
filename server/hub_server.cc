#include "server/hub_server.h"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "common/region.h"
#include "sync/protocol.h"

namespace daiban::server {

using common::Status;

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

int HttpStatusFor(common::StatusCode code) {
  switch (code) {
    case common::StatusCode::kOk: return 200;
    case common::StatusCode::kInvalidArgument: return 400;
    case common::StatusCode::kPermissionDenied: return 403;
    case common::StatusCode::kResourceExhausted: return 413;
    case common::StatusCode::kUnavailable: return 503;
    case common::StatusCode::kUnimplemented: return 501;
    case common::StatusCode::kFailedPrecondition: return 409;
    default: return 500;
  }
}

}  // namespace

std::string HubOptionsToConf(const HubOptions& o) {
  std::ostringstream s;
  s << "# daiban-hub configuration (written by daiban-hub init)\n"
    << "region = " << o.region << "\nnode_id = " << o.node_id << "\nlisten = " << o.listen << "\n";
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
    else return common::InvalidArgument(where + ": " + k + ": unknown setting");
  }
  return o;
}

common::Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path) {
  DAIBAN_ASSIGN_OR_RETURN(auto db, common::Db::Open(path));
  DAIBAN_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS nodes(node_id TEXT PRIMARY KEY, region TEXT NOT NULL, tier TEXT NOT NULL, "
      "serial INTEGER NOT NULL, issued_ms INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0)"));
  return std::unique_ptr<Registry>(new Registry(std::move(db)));
}

common::Result<std::string> Registry::Enrol(const common::SigningKey& key, const common::NodeCredential& in) {
  common::NodeCredential cred = in;
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * max, db_->Prepare("SELECT COALESCE(MAX(serial), 0) FROM nodes"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, max->Step());
  cred.serial = (row ? max->ColumnInt(0) : 0) + 1;
  max->Reset();
  DAIBAN_ASSIGN_OR_RETURN(std::string token, common::IssueCredential(key, cred));
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("INSERT OR REPLACE INTO nodes VALUES(?, ?, ?, ?, ?, 0)"));
  q->Bind(1, cred.node_id).Bind(2, cred.region).Bind(3, common::TierName(cred.tier)).Bind(4, cred.serial)
      .Bind(5, cred.issued_ms);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  return token;
}

Status Registry::Check(const common::NodeCredential& cred) {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("SELECT serial, retired FROM nodes WHERE node_id = ?"));
  q->Bind(1, cred.node_id);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t serial = row ? q->ColumnInt(0) : 0;
  bool retired = row && q->ColumnInt(1) != 0;
  q->Reset();
  if (!row) return common::PermissionDenied("node " + cred.node_id + " is not enrolled at this hub");
  if (retired) return common::PermissionDenied("node " + cred.node_id + " has been retired");
  if (serial != cred.serial) {
    return common::PermissionDenied("node " + cred.node_id + " was enrolled again; this credential is replaced");
  }
  return Status::Ok();
}

common::Result<std::unique_ptr<HubServer>> HubServer::Open(const HubOptions& options) {
  std::unique_ptr<HubServer> h(new HubServer());
  h->options_ = options;
  DAIBAN_ASSIGN_OR_RETURN(auto code, common::RegionCode::Parse(options.region));
  if (code.level() != common::RegionLevel::kCity) {
    return common::InvalidArgument("region: the hub needs a city code such as 210900000000");
  }
  sync::StoreOptions so;
  so.path = options.data_dir + "/hub.db";
  so.node_id = options.node_id;
  so.region = options.region;
  so.tier = common::Tier::kCity;
  DAIBAN_ASSIGN_OR_RETURN(auto store, sync::EventStore::Open(so));
  h->replica_ = std::make_unique<sync::Replica>(std::move(store), common::SystemClock::Get());
  h->service_ = std::make_unique<sync::SyncService>(h->replica_.get());
  DAIBAN_ASSIGN_OR_RETURN(h->registry_, Registry::Open(options.data_dir + "/registry.db"));
  std::ifstream in(options.data_dir + "/hub_key.pub.pem");
  std::stringstream pem;
  pem << in.rdbuf();
  DAIBAN_ASSIGN_OR_RETURN(h->key_, common::VerifyKey::FromPublicPem(pem.str()));
  return h;
}

HubServer::~HubServer() { Stop(); }

void HubServer::Stop() {
  if (http_) http_->stop();
}

Status HubServer::Serve() {
  http_ = std::make_unique<httplib::Server>();
  http_->set_payload_max_length(sync::kMaxFrameBytes + 1024);
  http_->Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"node_id\":\"" + options_.node_id + "\",\"ok\":true}", "application/json");
  });
  http_->Post("/sync", [this](const httplib::Request& req, httplib::Response& res) {
    auto refuse = [&](const Status& s) {
      res.status = HttpStatusFor(s.code());
      res.set_content(sync::ErrorFrame(s), "application/octet-stream");
    };
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) return refuse(common::PermissionDenied("no credential: enrol this node at the hub"));
    auto cred = common::VerifyCredential(key_, std::string_view(auth).substr(7));
    if (!cred.ok()) return refuse(common::PermissionDenied(cred.status().message()));
    if (req.get_header_value("X-Daiban-Node") != cred->node_id) {
      return refuse(common::PermissionDenied("the credential belongs to another node than X-Daiban-Node"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = registry_->Check(*cred); !s.ok()) return refuse(s);
    sync::HandleResult r = service_->Handle({cred->node_id, cred->region, cred->tier}, req.body);
    res.status = HttpStatusFor(r.code);
    res.set_content(r.frame, "application/octet-stream");
  });
  size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) return common::InvalidArgument("listen: expected host:port");
  std::string host = options_.listen.substr(0, colon);
  int port = std::atoi(options_.listen.c_str() + colon + 1);
  if (!http_->bind_to_port(host.c_str(), port)) {
    return common::Unavailable("cannot listen on " + options_.listen + " (in use, or not this machine's address)");
  }
  return http_->listen_after_bind() ? Status::Ok() : common::Unavailable("the web server stopped unexpectedly");
}

}  // namespace daiban::server
