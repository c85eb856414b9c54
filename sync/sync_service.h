// The parent side of a sync round: applies a child's pushed events and answers its pull.
//
// Handle() takes one request frame from an authenticated peer and always produces a
// reply frame — a sync_reply, or an error message whose code says what went wrong.
// Nothing from a request that is refused whole is applied; within an accepted request,
// each refused event is listed with its reason and the others are applied.
//
// Every pushed event passes AdmitPushedEvent (sync/admit.h), then the optional extra check
// set with set_admit. Each refused pushed event is also written to the store's refusal audit
// (EventStore::Refusals) in the same transaction as the push. A child whose log at a seq this
// node already recorded now has another chain raises a history alert (EventStore::Alerts).
#ifndef DAIBAN_SYNC_SYNC_SERVICE_H_
#define DAIBAN_SYNC_SYNC_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sync/admit.h"
#include "sync/codec.h"
#include "sync/protocol.h"
#include "sync/replica.h"

namespace daiban::sync {

// Kinds of history alert the parent records (EventStore::Alerts, docs/PROTOCOL.md §5.1):
//   history_rewritten  a child's push names a position at the seq the parent recorded with
//                      another chain, without announcing a restore;
//   history_differs    a child resends its log from the start saying it was restored; a
//                      restore and a rewritten history look the same from here.
inline constexpr std::string_view kAlertHistoryRewritten = "history_rewritten";
inline constexpr std::string_view kAlertHistoryDiffers = "history_differs";

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
  // An extra check on each pushed event after the default admission (AdmitPushedEvent),
  // e.g. against the catalog. A non-OK status refuses that event only.
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
  // The reply, its pull.events left [] for the events in *pulled. `msg` is the request with
  // push.events left [], its events decoded in `events` (sync/codec.h).
  common::Result<common::Json> HandleSync(const PeerIdentity& peer, common::Json& msg, std::vector<FrameEvent>& events,
                                          std::vector<StoredEvent>* pulled);
  // True if `e` claims to be made here in this store's incarnation but is not held.
  common::Result<bool> ForgedHere(const Event& e);

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
