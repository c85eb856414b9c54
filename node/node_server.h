// A running field node: its replica, master data, users, the service desk, the sync loop
// toward its parent, and the HTTP server for people (web pages, /api/) and for its
// children (/sync over mutual TLS on sync_listen). `daiban-node serve` builds one and calls Serve().
#ifndef DAIBAN_NODE_NODE_SERVER_H_
#define DAIBAN_NODE_NODE_SERVER_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/credential.h"
#include "common/field_crypto.h"
#include "common/master_data.h"
#include "common/rate_limit.h"
#include "common/region.h"
#include "node/desk.h"
#include "node/options.h"
#include "node/sync_loop.h"
#include "common/users.h"
#include "sync/replica.h"
#include "sync/sync_service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace daiban::node {

using common::LoadMasterData;
using common::MasterData;

class NodeServer {
 public:
  // Opens the node in options.data_dir (created by `daiban-node init`).
  static common::Result<std::unique_ptr<NodeServer>> Open(const NodeOptions& options);
  ~NodeServer();

  // Listens on options.listen and serves until Stop(). Starts the sync loop.
  common::Status Serve();
  void Stop();

  sync::Replica* replica() { return replica_.get(); }
  UserBook* users() { return users_.get(); }
  SyncLoop* sync_loop() { return sync_loop_.get(); }
  std::mutex* store_mutex() { return &store_mu_; }
  // Uses the latest catalog and calendar the hub published (master.* events), if newer
  // than what the node has. Takes the store lock. Called at start and after each sync.
  common::Status ApplyPublishedMaster();

  // The node's status as GET /api/status returns it. Takes the store lock.
  common::Result<common::Json> StatusJson();

 private:
  NodeServer() = default;
  void InstallRoutes();
  // /sync and /renew on the mutual-TLS listener for children.
  void InstallSyncRoutes(httplib::Server& s);
  // Applies one sync request from an authenticated child.
  void HandleSync(const common::NodeCredential& who, const std::string& body, httplib::Response& res);

  NodeOptions options_;
  std::mutex store_mu_;  // guards replica_, desk_, service_
  std::unique_ptr<sync::Replica> replica_;
  std::unique_ptr<MasterData> master_;
  std::unique_ptr<UserBook> users_;
  std::unique_ptr<Desk> desk_;
  std::unique_ptr<sync::SyncService> service_;
  std::unique_ptr<SyncLoop> sync_loop_;
  common::VerifyKey hub_key_;
  common::FieldCipher cipher_;  // the city's data key: ID and phone numbers at rest
  int64_t catalog_version_ = 0, calendar_version_ = 0, revoked_version_ = 0;
  // Nodes the hub retired (master.revoked): their certificates are refused here too.
  std::mutex revoked_mu_;
  std::set<std::string> revoked_;
  common::Status CheckNotRevoked(const common::NodeCredential& who);  // published versions in use (0: shipped files)
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<httplib::Server> sync_http_;  // the TLS listener for children (sync_listen)
  // Requests per child node on the sync listener (common/rate_limit.h).
  std::unique_ptr<common::RateLimiter> sync_limit_;
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_NODE_SERVER_H_
