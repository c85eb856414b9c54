// The city hub as a running service. For now: the root replica of the city, the node
// registry with enrolment (credentials signed by the hub's Ed25519 key), and the /sync
// endpoint its children call. Statistics, warnings and the dashboard come with the hub
// issue.
#ifndef DAIBAN_SERVER_HUB_SERVER_H_
#define DAIBAN_SERVER_HUB_SERVER_H_

#include <memory>
#include <mutex>
#include <string>

#include "common/credential.h"
#include "common/sqlite.h"
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

 private:
  HubServer() = default;
  HubOptions options_;
  std::mutex mu_;  // guards replica_, service_, registry_
  std::unique_ptr<sync::Replica> replica_;
  std::unique_ptr<sync::SyncService> service_;
  std::unique_ptr<Registry> registry_;
  common::VerifyKey key_;
  std::unique_ptr<httplib::Server> http_;
};

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_HUB_SERVER_H_
