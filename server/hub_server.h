// The city hub as a running service: the root replica of the city with its statistics
// kept in step (server/stats.h), the node registry with enrolment (credentials signed by
// the hub's Ed25519 key), the /sync endpoint its children call, and the statistics API and
// dashboard for supervisors.
#ifndef DAIBAN_SERVER_HUB_SERVER_H_
#define DAIBAN_SERVER_HUB_SERVER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/credential.h"
#include "common/pki.h"
#include "common/rate_limit.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "common/users.h"
#include "server/stats.h"
#include "sync/replica.h"
#include "sync/sync_service.h"

namespace httplib {
class Server;
struct Response;
}

namespace daiban::server {

struct HubOptions {
  std::string data_dir;                      // hub.db, registry.db, hub_key.pem (required)
  std::string region;                        // the city's 12-digit code, e.g. 210900000000 (required)
  std::string node_id = "hub";               // the hub's node id (default "hub")
  std::string listen = "127.0.0.1:8700";     // host:port of the dashboard and its API (default)
  std::string sync_listen;                   // host:port of the HTTPS (mutual TLS) listener for
                                             // nodes: /sync, /enrol, /renew ("" = none)
  bool insecure_plain_sync = false;          // also serve /sync on `listen` over plain HTTP with
                                             // bearer credentials (local tests only; logged loudly)
  int64_t cert_validity_s = 30 * 86400;      // node certificates last this long (default 30 days)
};

// The hub's TLS files under DATA/tls/ (copied there by `daiban-hub init --pki DIR`).
std::string HubTlsDir(const HubOptions& o);

// hub.conf text <-> options (same `key = value` layout as node.conf).
std::string HubOptionsToConf(const HubOptions& o);
common::Result<HubOptions> HubOptionsFromConf(std::string_view text, std::string_view label);

// The registry of enrolled nodes (DATA/registry.db).
class Registry {
 public:
  static common::Result<std::unique_ptr<Registry>> Open(const std::string& path);
  // Records a node and returns its credential, signed by `key`. Enrolling a node again
  // issues a new serial; the old credential stops working.
  common::Result<std::string> Enrol(const common::SigningKey& key, const common::NodeCredential& cred);
  // OK if `cred` is the node's current credential and the node is not retired;
  // kPermissionDenied saying why otherwise.
  common::Status Check(const common::NodeCredential& cred);
  // Retires a node: its credential is refused at the hub from now on. kNotFound if the
  // node was never enrolled.
  common::Status Retire(const std::string& node_id);
  // The ids of retired nodes, sorted.
  common::Result<std::vector<std::string>> Retired();
  // Every enrolled node: {"node_id","region","tier","serial","enrolled","retired"}.
  common::Result<common::Json> List();

  // A one-time enrolment code for a node (certificate enrolment): 32 hex characters,
  // stored only as its SHA-256, valid until expires_ms. A new code for the same node
  // replaces an unused older one.
  common::Result<std::string> IssueCode(const common::NodeCredential& who, int64_t expires_ms);
  // Uses a code: records the node with a new serial, calls `issue` with it (which makes
  // the certificate) and returns it, all in one transaction: if `issue` fails, nothing
  // changes and the code stays usable. kPermissionDenied "enrolment code: not recognised /
  // already used / expired ..." otherwise.
  common::Result<common::NodeCredential> RedeemCode(std::string_view code, int64_t now_ms,
                                                    const std::function<common::Status(const common::NodeCredential&)>& issue);
  // A renewal: the node keeps its identity and gets the next serial (its older
  // certificates stop working at the hub). REQUIRES: Check(cred) is OK.
  common::Result<common::NodeCredential> Renew(const common::NodeCredential& cred, int64_t now_ms);

 private:
  explicit Registry(std::unique_ptr<common::Db> db) : db_(std::move(db)) {}
  // Records `cred` with the next serial (serials are unique across the city).
  common::Result<common::NodeCredential> Record(common::NodeCredential cred);
  std::unique_ptr<common::Db> db_;
};

class HubServer {
 public:
  static common::Result<std::unique_ptr<HubServer>> Open(const HubOptions& options);
  ~HubServer();
  common::Status Serve();
  void Stop();

  common::UserBook* users() { return users_.get(); }
  // Recomputes every statistic from the log (daiban-hub stats rebuild).
  common::Status RebuildStats();

  // Publishes a new catalog ("catalog", items.csv text) or holiday calendar ("calendar")
  // to every node: checked whole first (errors name the line), then one master event with
  // the next version, then used here at once. Returns {"kind","version"}.
  common::Result<common::Json> PublishMaster(const std::string& kind, const std::string& text,
                                             const std::string& user);

 private:
  HubServer() = default;
  void InstallRoutes();
  // /sync, /enrol and /renew on the mutual-TLS listener.
  void InstallSyncRoutes(httplib::Server& s);
  // Applies one sync request from an authenticated node. Takes mu_.
  void HandleSync(const common::NodeCredential& who, const std::string& body, httplib::Response& res);
  common::Result<common::Json> NodesJson();
  // Publishes the list of retired nodes (master.revoked) if it changed since the last
  // publication, so every parent refuses their certificates too. REQUIRES: mu_.
  common::Status PublishRevocations();
  // Replaces catalog_/calendar_ with the latest published versions, if any. REQUIRES: mu_.
  common::Status ApplyPublishedMaster();

  HubOptions options_;
  std::mutex mu_;  // guards replica_, service_, registry_, stats_
  common::Catalog catalog_;
  common::WorkCalendar calendar_;
  common::RegionTree regions_;
  std::unique_ptr<Stats> stats_;
  std::unique_ptr<common::UserBook> users_;
  std::unique_ptr<sync::Replica> replica_;
  std::unique_ptr<sync::SyncService> service_;
  std::unique_ptr<Registry> registry_;
  common::VerifyKey key_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<httplib::Server> sync_http_;  // the TLS listener for nodes
  common::CertAuthority ca_;                    // signs node certificates (DATA/tls/ca.*)
  // Requests per node on the sync listener, and enrolment attempts per address.
  common::RateLimiter sync_limit_{common::SystemClock::Get(), common::kSyncRequestsPerSecond, common::kSyncBurst};
  common::RateLimiter enrol_limit_{common::SystemClock::Get(), common::kEnrolPerSecond, common::kEnrolBurst};
  bool have_ca_ = false;
  int64_t revocations_checked_ms_ = 0;  // when PublishRevocations last looked (throttle)
};

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_HUB_SERVER_H_
