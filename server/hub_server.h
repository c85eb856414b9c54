// The city hub as a running service: the root replica of the city with its statistics
// kept in step (server/stats.h), the node registry with enrolment (credentials signed by
// the hub's Ed25519 key), the /sync endpoint its children call, and the statistics API and
// dashboard for supervisors.
#ifndef DAIBAN_SERVER_HUB_SERVER_H_
#define DAIBAN_SERVER_HUB_SERVER_H_

#include <memory>
#include <mutex>
#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/credential.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "common/users.h"
#include "server/stats.h"
#include "sync/replica.h"
#include "sync/sync_service.h"

namespace httplib {
class Server;
}

namespace daiban::server {

struct HubOptions {
  std::string data_dir;                      // hub.db, registry.db, hub_key.pem (required)
  std::string region;                        // the city's 12-digit code, e.g. 210900000000 (required)
  std::string node_id = "hub";               // the hub's node id (default "hub")
  std::string listen = "127.0.0.1:8700";     // host:port (default)
};

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
  // Every enrolled node: {"node_id","region","tier","serial","enrolled","retired"}.
  common::Result<common::Json> List();

 private:
  explicit Registry(std::unique_ptr<common::Db> db) : db_(std::move(db)) {}
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
  common::Result<common::Json> NodesJson();
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
};

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_HUB_SERVER_H_
