// The parent side of a sync round: applies a child's pushed events and answers its pull.
//
// Handle() takes one request frame from an authenticated peer and always produces a
// reply frame — a sync_reply, or an error message whose code says what went wrong.
// Nothing from a request that is refused whole is applied; within an accepted request,
// each refused event is listed with its reason and the others are applied.
#ifndef DAIBAN_SYNC_SYNC_SERVICE_H_
#define DAIBAN_SYNC_SYNC_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sync/protocol.h"
#include "sync/replica.h"

namespace daiban::sync {

// Who is calling, as established by the transport (TLS certificate or node token) —
// never taken from the request body.
struct PeerIdentity {
  std::string node_id;
  std::string region;  // 12 digits
  common::Tier tier = common::Tier::kVillage;
};

struct SyncServiceOptions {
  size_t max_pull_events = kDefaultBatchEvents;  // events in one pull reply (default 1000)
  size_t max_pull_bytes = kDefaultBatchBytes;    // about this many event bytes per reply (default 1 MiB)
  size_t max_scan = 20000;                       // log rows looked at per pull reply (default 20000)
};

struct HandleResult {
  std::string frame;                               // the reply to send
  common::StatusCode code = common::StatusCode::kOk;  // kOk, or why the request was refused whole
};

class SyncService {
 public:
  // An extra check on each pushed event after the jurisdiction check (e.g. roles,
  // catalog). A non-OK status refuses that event only.
  using AdmitFn = std::function<common::Status(const PeerIdentity&, const Event&)>;

  // REQUIRES: replica outlives the service. Not thread-safe: serialise calls together
  // with every other use of the replica.
  SyncService(Replica* replica, SyncServiceOptions options = {});
  void set_admit(AdmitFn fn) { admit_ = std::move(fn); }

  HandleResult Handle(const PeerIdentity& peer, std::string_view request);

  // When each peer last called (Unix ms), kept in memory and in the peers table.
  int64_t LastSeen(const std::string& peer) const;
  // {"software","protocol"} a node last reported (directly or through a child's report);
  // null if unknown.
  common::Json ReportedVersion(const std::string& peer) const;

  // [{"node","last_seen","pending","software","protocol"}] for every node heard from directly or through a
  // child's report (status.seen), for the parent's own report upward. Monitoring only: the
  // figures are what children say.
  common::Json SeenJson() const;

  // The backlog (events waiting to go up) a peer reported in its last request, in memory;
  // -1 if it has not called since this service started.
  int64_t ReportedPending(const std::string& peer) const;

 private:
  common::Result<common::Json> HandleSync(const PeerIdentity& peer, common::Json& msg);

  Replica* replica_;
  SyncServiceOptions options_;
  AdmitFn admit_;
  std::map<std::string, int64_t> last_seen_;
  std::map<std::string, int64_t> reported_pending_;
  // What each node runs, as reported (status.software, and v for the protocol version).
  std::map<std::string, std::pair<std::string, int64_t>> reported_version_;
};

// A reply for a request refused whole.
std::string ErrorFrame(const common::Status& status);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_SYNC_SERVICE_H_
