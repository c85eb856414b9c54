#include "node/node_server.h"

#include <httplib.h>


#include <cstdio>
#include <thread>

#include "common/api.h"
#include "common/tls.h"
#include "node/files.h"
#include "node/http_transport.h"
#include "node/web_assets.h"
#include "sync/protocol.h"

namespace daiban::node {

using common::Json;
using common::Status;
using common::StatusCode;

namespace {

constexpr size_t kMaxApiBody = 1 << 20;  // 1 MiB: a case is a few KB

using common::HttpStatusFor;

// {"error": {"code", "field", "message"}}.
void SendError(httplib::Response& res, const Status& s, int http_status = 0) {
  res.status = http_status ? http_status : HttpStatusFor(s.code());
  res.set_content(common::ErrorJson(s).dump(), "application/json; charset=utf-8");
}

void SendJson(httplib::Response& res, const Json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json; charset=utf-8");
}

std::string SessionToken(const httplib::Request& req) {
  return common::SessionTokenFrom(req.get_header_value("Authorization"), req.get_header_value("Cookie"));
}

common::Result<Json> ParseBody(const httplib::Request& req) {
  if (req.body.size() > kMaxApiBody) return common::ResourceExhausted("the request is over 1 MiB");
  if (req.body.empty()) return Json::object();
  auto j = common::ParseJson(req.body);
  if (!j.ok()) return common::InvalidArgument("the request is not valid JSON: " + j.status().message());
  if (!j->is_object()) return common::InvalidArgument("the request must be a JSON object");
  return std::move(j).value();
}

}  // namespace

common::Result<std::unique_ptr<NodeServer>> NodeServer::Open(const NodeOptions& options) {
  std::unique_ptr<NodeServer> n(new NodeServer());
  n->options_ = options;
  DAIBAN_ASSIGN_OR_RETURN(MasterData master, LoadMasterData(options.data_dir + "/master", options.region));
  if (!master.regions.Lookup(options.region).ok()) {
    return common::InvalidArgument("region: " + options.region + " is not in the region tree in " + options.data_dir +
                                   "/master/regions");
  }
  n->master_ = std::make_unique<MasterData>(std::move(master));
  // The city's data key, checked before the store is opened: with the wrong key nothing is
  // written.
  auto cipher = common::FieldCipher::Load(DataKeyPath(options));
  if (!cipher.ok()) return cipher.status().WithContext("data key");
  if (!options.data_key_id.empty() && cipher->KeyId() != options.data_key_id) {
    return common::FailedPrecondition("data key: " + DataKeyPath(options) + " is key " + cipher->KeyId() +
                                      ", but this node's cases are encrypted under key " + options.data_key_id +
                                      ": wrong key file (nothing was opened or changed)");
  }
  n->cipher_ = std::move(cipher).value();
  sync::StoreOptions so;
  so.path = options.data_dir + "/node.db";
  so.node_id = options.node_id;
  so.region = options.region;
  so.tier = options.tier;
  DAIBAN_ASSIGN_OR_RETURN(auto store, sync::EventStore::Open(so));
  n->replica_ = std::make_unique<sync::Replica>(std::move(store), common::SystemClock::Get());
  DAIBAN_ASSIGN_OR_RETURN(n->users_, UserBook::Open(options.data_dir + "/users.db", common::SystemClock::Get(),
                                                    options.session_hours));
  n->desk_ = std::make_unique<Desk>(n->replica_.get(), &n->master_->catalog, &n->master_->calendar,
                                    &n->master_->regions, &n->cipher_);
  n->service_ = std::make_unique<sync::SyncService>(n->replica_.get());
  n->sync_limit_ = std::make_unique<common::RateLimiter>(common::SystemClock::Get(), options.sync_rate_per_s,
                                                         2.0 * options.sync_rate_per_s);
  n->sync_loop_ = std::make_unique<SyncLoop>(options, n->replica_.get(), &n->store_mu_);
  if (auto pem = ReadFile(options.data_dir + "/hub_key.pem"); pem.ok()) {
    DAIBAN_ASSIGN_OR_RETURN(n->hub_key_, common::VerifyKey::FromPublicPem(*pem));
  }
  DAIBAN_RETURN_IF_ERROR(n->ApplyPublishedMaster());
  NodeServer* raw = n.get();
  n->sync_loop_->set_after_sync([raw] { (void)raw->ApplyPublishedMaster(); });
  sync::SyncService* service = n->service_.get();
  n->sync_loop_->set_seen([service] { return service->SeenJson(); });
  return n;
}

common::Status NodeServer::ApplyPublishedMaster() {
  std::lock_guard<std::mutex> lock(store_mu_);
  DAIBAN_ASSIGN_OR_RETURN(Json cat, replica_->LatestMaster(sync::kKindMasterCatalog));
  if (cat.is_object() && cat.value("version", int64_t{0}) > catalog_version_) {
    DAIBAN_ASSIGN_OR_RETURN(master_->catalog, common::Catalog::FromCsvText(cat.value("text", ""), "published catalog"));
    catalog_version_ = cat.value("version", int64_t{0});
  }
  DAIBAN_ASSIGN_OR_RETURN(Json revoked, replica_->LatestMaster(sync::kKindMasterRevoked));
  if (revoked.is_object() && revoked.value("version", int64_t{0}) > revoked_version_) {
    std::set<std::string> ids;
    std::string text = revoked.value("text", "");
    for (size_t start = 0; start < text.size();) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      if (nl > start) ids.insert(text.substr(start, nl - start));
      start = nl + 1;
    }
    std::lock_guard<std::mutex> r(revoked_mu_);
    revoked_ = std::move(ids);
    revoked_version_ = revoked.value("version", int64_t{0});
  }
  DAIBAN_ASSIGN_OR_RETURN(Json cal, replica_->LatestMaster(sync::kKindMasterCalendar));
  if (cal.is_object() && cal.value("version", int64_t{0}) > calendar_version_) {
    DAIBAN_ASSIGN_OR_RETURN(master_->calendar,
                            common::WorkCalendar::FromCsvText(cal.value("text", ""), "published calendar"));
    calendar_version_ = cal.value("version", int64_t{0});
  }
  return Status::Ok();
}

NodeServer::~NodeServer() {
  Stop();
  if (sync_loop_) sync_loop_->Stop();
}

void NodeServer::Stop() {
  if (http_) http_->stop();
}

common::Result<Json> NodeServer::StatusJson() {
  std::lock_guard<std::mutex> lock(store_mu_);
  auto* store = replica_->store();
  int64_t pending = 0;
  if (!options_.parent_id.empty()) {
    DAIBAN_ASSIGN_OR_RETURN(sync::PeerState p, store->GetPeer(options_.parent_id));
    DAIBAN_ASSIGN_OR_RETURN(pending, store->CountPending(p.pushed.seq, options_.parent_id));
  } else {
    DAIBAN_ASSIGN_OR_RETURN(pending, store->CountPending(0, ""));
  }
  Json links = Json::array();
  DAIBAN_ASSIGN_OR_RETURN(auto peers, store->Peers());
  for (const auto& p : peers) {
    bool up = p.peer == options_.parent_id || p.peer == options_.fallback_id;
    links.push_back({{"peer", p.peer},
                     {"direction", up ? "parent" : "child"},
                     {"last_ok", p.last_ok_ms},
                     {"last_error", p.last_error},
                     {"last_seen", p.last_seen_ms}});
  }
  DAIBAN_ASSIGN_OR_RETURN(auto quarantine, store->QuarantineList());
  DAIBAN_ASSIGN_OR_RETURN(int64_t events, store->EventCount());
  return Json{{"node_id", options_.node_id},
              {"tier", common::TierName(options_.tier)},
              {"region", options_.region},
              {"parent", options_.parent_id},
              {"events", events},
              {"pending", pending},
              {"quarantined", quarantine.size()},
              {"catalog_version", catalog_version_},
              {"calendar_version", calendar_version_},
              {"links", links},
              {"sync", sync_loop_->StatusJson()}};
}

namespace {
void RefuseSync(httplib::Response& res, const Status& s, int http_status = 0) {
  res.status = http_status ? http_status : HttpStatusFor(s.code());
  res.set_content(sync::ErrorFrame(s), "application/octet-stream");
}

Status TooMany(const std::string& node) {
  return common::ResourceExhausted("node " + node + " sends too many requests; it is slowed down (HTTP 429)");
}
}  // namespace

Status NodeServer::CheckNotRevoked(const common::NodeCredential& who) {
  std::lock_guard<std::mutex> lock(revoked_mu_);
  if (revoked_.count(who.node_id)) return common::PermissionDenied("node " + who.node_id + " has been retired by the hub");
  return Status::Ok();
}

void NodeServer::HandleSync(const common::NodeCredential& who, const std::string& body, httplib::Response& res) {
  sync::PeerIdentity peer{who.node_id, who.region, who.tier};
  bool grew = false;
  sync::HandleResult r;
  {
    std::lock_guard<std::mutex> lock(store_mu_);
    int64_t before = replica_->store()->LastSeq();
    r = service_->Handle(peer, body);
    grew = replica_->store()->LastSeq() != before;
  }
  if (grew) sync_loop_->Trigger();  // relay the child's events upward at once
  res.status = HttpStatusFor(r.code);
  res.set_content(r.frame, "application/octet-stream");
}

void NodeServer::InstallSyncRoutes(httplib::Server& s) {
  s.set_payload_max_length(sync::kMaxFrameBytes + 1024);
  s.Post(kSyncPath, [this](const httplib::Request& req, httplib::Response& res) {
    auto peer = common::ClientCertOf(req);
    if (!peer.ok()) return RefuseSync(res, peer.status());
    if (Status st = CheckNotRevoked(peer->identity); !st.ok()) return RefuseSync(res, st);  // kept-alive connections
    if (!sync_limit_->Allow(peer->identity.node_id)) return RefuseSync(res, TooMany(peer->identity.node_id), 429);
    HandleSync(peer->identity, req.body, res);
  });
  // A child's certificate renewal, relayed toward the hub (which alone signs, after
  // checking the child's proof of its current key). Only for nodes in this subtree.
  s.Post("/renew", [this](const httplib::Request& req, httplib::Response& res) {
    auto peer = common::ClientCertOf(req);
    if (!peer.ok()) return SendError(res, peer.status());
    if (!sync_limit_->Allow(peer->identity.node_id)) return SendError(res, TooMany(peer->identity.node_id), 429);
    auto body = ParseBody(req);
    if (!body.ok()) return SendError(res, body.status());
    auto info = common::ReadNodeCert(body->value("cert", ""));
    if (!info.ok()) return SendError(res, info.status());
    std::string prefix(common::RegionCode::Parse(peer->identity.region)->Prefix());
    if (info->identity.region.rfind(prefix, 0) != 0 || info->identity.tier >= options_.tier) {
      return SendError(res, common::PermissionDenied("renewal: " + info->identity.node_id + " is not in the subtree of " +
                                                     peer->identity.node_id));
    }
    if (options_.parent_url.rfind("https://", 0) != 0) {
      return SendError(res, common::FailedPrecondition("renewal: this node has no HTTPS parent to relay to"));
    }
    auto client = common::MakeTlsClient(options_.parent_url, NodeTlsFiles(options_));
    client->set_connection_timeout(10, 0);
    auto up = client->Post("/renew", req.body, "application/json");
    if (!up) {
      return SendError(res, common::Unavailable("renewal: the parent cannot be reached now; try again later"));
    }
    res.status = up->status;
    res.set_content(up->body, "application/json; charset=utf-8");
  });
}

void NodeServer::InstallRoutes() {
  httplib::Server& s = *http_;
  s.set_payload_max_length(sync::kMaxFrameBytes + 1024);

  // A signed-in call: resolves the session, parses the body, runs fn under the store lock.
  using Fn = std::function<common::Result<Json>(const User&, const Json& body, const httplib::Request&)>;
  auto api = [this](Fn fn, bool writes) {
    return [this, fn, writes](const httplib::Request& req, httplib::Response& res) {
      auto user = users_->Session(SessionToken(req));
      if (!user.ok()) return SendError(res, user.status(), 401);
      auto body = ParseBody(req);
      if (!body.ok()) return SendError(res, body.status());
      common::Result<Json> out = common::Internal("unset");
      {
        std::lock_guard<std::mutex> lock(store_mu_);
        out = fn(*user, *body, req);
      }
      if (!out.ok()) return SendError(res, out.status());
      if (writes) sync_loop_->Trigger();
      SendJson(res, *out, writes && req.method == "POST" && req.path == "/api/cases" ? 201 : 200);
    };
  };

  // CSRF: cookie-authenticated writes must come from this node's own pages.
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    Status csrf = common::CheckCsrf(req.method, req.path, req.get_header_value("Authorization"),
                                    req.get_header_value(common::kCsrfHeader));
    if (csrf.ok()) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, csrf);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, {{"ok", true}, {"node_id", options_.node_id}});
  });
  s.Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = ParseBody(req);
    if (!body.ok()) return SendError(res, body.status());
    std::string name = body->value("user", ""), password = body->value("password", "");
    auto token = users_->Login(name, password);
    if (!token.ok()) {
      bool locked = token.status().code() == StatusCode::kResourceExhausted;
      return SendError(res, token.status(), locked ? 429 : 401);
    }
    auto user = users_->Session(*token);
    res.set_header("Set-Cookie", "daiban_session=" + *token + "; Path=/; HttpOnly; SameSite=Strict");
    SendJson(res, {{"token", *token},
                   {"user", user->name},
                   {"role", common::RoleName(user->role)},
                   {"tier", common::TierName(options_.tier)}});
  });
  s.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    users_->Logout(SessionToken(req));
    res.set_header("Set-Cookie", "daiban_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    SendJson(res, {{"ok", true}});
  });
  s.Get("/api/me", api([this](const User& u, const Json&, const httplib::Request&) -> common::Result<Json> {
          std::string name;
          if (auto code = common::RegionCode::Parse(options_.region); code.ok()) name = master_->regions.PathName(*code);
          return Json{{"user", u.name},        {"role", common::RoleName(u.role)},
                      {"node_id", options_.node_id}, {"tier", common::TierName(options_.tier)},
                      {"region", options_.region}, {"region_name", name}};
        }, false));
  s.Get("/api/catalog", api([this](const User&, const Json&, const httplib::Request& req) -> common::Result<Json> {
          return desk_->CatalogJson(req.get_param_value("proxy") == "1");
        }, false));
  s.Post("/api/cases", api([this](const User& u, const Json& b, const httplib::Request&) { return desk_->FileCase(u, b); },
                           true));
  s.Get("/api/cases", api([this](const User& u, const Json&, const httplib::Request& req) -> common::Result<Json> {
          DAIBAN_ASSIGN_OR_RETURN(CaseView view, ParseCaseView(req.get_param_value("view")));
          return desk_->List(u, view, req.get_param_value("q"), req.get_param_value("status"));
        }, false));
  s.Get(R"(/api/cases/([^/]+))", api([this](const User& u, const Json&, const httplib::Request& req) {
          return desk_->Detail(u, req.matches[1]);
        }, false));
  s.Post(R"(/api/cases/([^/]+)/steps)", api([this](const User& u, const Json& b, const httplib::Request& req) {
           return desk_->TakeStep(u, req.matches[1], b);
         }, true));
  s.Post(R"(/api/cases/([^/]+)/materials)", api([this](const User& u, const Json& b, const httplib::Request& req) {
           return desk_->AddMaterials(u, req.matches[1], b);
         }, true));
  s.Post(R"(/api/cases/([^/]+)/comments)", api([this](const User& u, const Json& b, const httplib::Request& req) {
           return desk_->AddComment(u, req.matches[1], b);
         }, true));
  s.Post(R"(/api/cases/([^/]+)/fields)", api([this](const User& u, const Json& b, const httplib::Request& req) {
           return desk_->EditField(u, req.matches[1], b);
         }, true));
  s.Post(R"(/api/cases/([^/]+)/settle)", api([this](const User& u, const Json& b, const httplib::Request& req) {
           return desk_->Settle(u, req.matches[1], b);
         }, true));
  // A whole ID or phone number, for the roles that need it; every attempt is audited.
  s.Post(R"(/api/cases/([^/]+)/reveal)", [this, api](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    api([this](const User& u, const Json& b, const httplib::Request& r) {
      return desk_->Reveal(u, r.matches[1], b.value("field", ""));
    }, false)(req, res);
  });
  s.Get("/api/audit/unmask", [this, api](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    api([this](const User& u, const Json&, const httplib::Request& r) -> common::Result<Json> {
      int64_t limit = r.has_param("limit") ? std::atoll(r.get_param_value("limit").c_str()) : 100;
      return desk_->UnmaskAudit(u, limit);
    }, false)(req, res);
  });
  s.Get("/api/status", [this](const httplib::Request& req, httplib::Response& res) {
    auto user = users_->Session(SessionToken(req));
    if (!user.ok()) return SendError(res, user.status(), 401);
    auto st = StatusJson();
    if (!st.ok()) return SendError(res, st.status());
    SendJson(res, *st);
  });
  s.Post("/api/sync", [this](const httplib::Request& req, httplib::Response& res) {
    auto user = users_->Session(SessionToken(req));
    if (!user.ok()) return SendError(res, user.status(), 401);
    if (options_.parent_url.empty()) {
      return SendError(res, common::FailedPrecondition("this node has no parent to sync with"));
    }
    if (req.get_param_value("wait") == "1") {
      common::Json report;
      auto r = sync_loop_->SyncOnce(&report);
      if (!r.ok()) return SendError(res, r.status());
      return SendJson(res, report);
    }
    sync_loop_->Trigger(/*by_person=*/true);
    SendJson(res, {{"started", true}}, 202);
  });
  s.Get(R"(/receipt/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto user = users_->Session(SessionToken(req));
    if (!user.ok()) return SendError(res, user.status(), 401);
    common::Result<std::string> html = common::Internal("unset");
    {
      std::lock_guard<std::mutex> lock(store_mu_);
      html = desk_->ReceiptHtml(req.matches[1]);
    }
    if (!html.ok()) return SendError(res, html.status());
    res.set_content(*html, "text/html; charset=utf-8");
  });
  if (options_.insecure_plain_sync) {
    // Plain HTTP with bearer credentials: only for local tests (node.conf insecure_plain_sync).
    s.Post(kSyncPath, [this](const httplib::Request& req, httplib::Response& res) {
      if (!hub_key_.valid()) {
        return RefuseSync(res, common::FailedPrecondition(
                                   "this node has no hub key (hub_key.pem) to check its children's credentials"));
      }
      auto cred = common::AuthenticateNode(hub_key_, req.get_header_value("Authorization"),
                                           req.get_header_value(kNodeHeader));
      if (!cred.ok()) return RefuseSync(res, cred.status());
      HandleSync(*cred, req.body, res);
    });
  }

  // The web pages, built into the binary.
  s.Get(R"(/(|index\.html|app\.js|app\.css))", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = FindWebAsset(req.path == "/" ? "/index.html" : req.path);
    if (!a) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->body), a->content_type);
  });
}

Status NodeServer::Serve() {
  http_ = std::make_unique<httplib::Server>();
  InstallRoutes();
  DAIBAN_RETURN_IF_ERROR(common::BindListener(*http_, options_.listen, "listen"));
  if (options_.insecure_plain_sync) {
    std::fprintf(stderr, "WARNING: insecure_plain_sync = yes: sync runs over PLAIN HTTP with bearer credentials. "
                 "Local tests only; never on a network.\n");
  }
  std::thread sync_thread;
  if (!options_.sync_listen.empty()) {
    // Children sync here, each with the certificate the hub issued it.
    auto server = common::MakeTlsServer(NodeTlsFiles(options_), /*require_client_cert=*/true,
                                        [this](const common::NodeCredential& c) { return CheckNotRevoked(c); });
    if (!server.ok()) return server.status();
    sync_http_ = std::move(server).value();
    InstallSyncRoutes(*sync_http_);
    DAIBAN_RETURN_IF_ERROR(common::BindListener(*sync_http_, options_.sync_listen, "sync_listen"));
    sync_thread = std::thread([this] { sync_http_->listen_after_bind(); });
  }
  sync_loop_->Start();
  bool ok = http_->listen_after_bind();
  sync_loop_->Stop();
  if (sync_http_) sync_http_->stop();
  if (sync_thread.joinable()) sync_thread.join();
  return ok ? Status::Ok() : common::Unavailable("the web server stopped unexpectedly");
}

}  // namespace daiban::node
