// A node's replica: its event store, its hybrid clock and its identity, and the one
// way events are made here (Append). Everything a person does to a case goes through
// this class; replication (sync/replicator.h, sync/sync_service.h) adds events that
// were made elsewhere.
#ifndef DAIBAN_SYNC_REPLICA_H_
#define DAIBAN_SYNC_REPLICA_H_

#include <memory>
#include <string>

#include "common/case_machine.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/hlc.h"
#include "common/json.h"
#include "common/status.h"
#include "sync/event.h"
#include "sync/event_store.h"

namespace daiban::sync {

// Where a case's local changes have got to.
enum class CaseSyncState {
  kLocalOnly,     // some event made here has not reached the parent
  kAtParent,      // all events made here are at the parent, not all at the hub
  kAtHub,         // all events made here are at the city hub
};
std::string_view CaseSyncStateName(CaseSyncState s);  // "local", "parent", "hub"

class Replica {
 public:
  // REQUIRES: clock outlives the replica.
  Replica(std::unique_ptr<EventStore> store, const common::Clock* clock);

  EventStore* store() { return store_.get(); }
  common::HybridClock* hlc() { return &hlc_; }
  const common::Clock* clock() const { return clock_; }
  const std::string& node_id() const { return store_->node_id(); }
  common::Tier tier() const { return store_->tier(); }
  // This node's jurisdiction: the significant prefix of its region code.
  const std::string& prefix() const { return prefix_; }
  // Today's date where the node is (China Standard Time).
  common::Date Today() const;

  // Makes an event on `case_id` (parents: the case's current heads), stores it durably
  // and returns it. kPermissionDenied if the case lies outside this node's subtree;
  // a master-data event (case_id "") only at the hub.
  common::Result<Event> Append(const std::string& case_id, const std::string& region, std::string_view kind,
                               common::Json body, const std::string& user, common::Role role);

  // Files a new case (draft) in `region` (a code in this node's subtree; a village files
  // in its own region). `body` holds the case.create fields. Returns the create event.
  common::Result<Event> CreateCase(const std::string& region, common::Json body, const std::string& user,
                                   common::Role role);

  // Takes a lifecycle step after checking it against the case's current state with
  // common::CheckStep (kFailedPrecondition says what is allowed from here;
  // kPermissionDenied says who may). `extra` adds step fields (reason, missing, ...);
  // "date" is set to Today(), and on accept "due_date" from promised days and `calendar`.
  common::Result<Event> Step(const std::string& case_id, common::CaseAction action, common::Json extra,
                             const std::string& user, common::Role role, const common::WorkCalendar& calendar);

  // The facts CheckStep needs, from a folded state.
  static common::Result<common::CaseFacts> FactsOf(const common::Json& state);

  // The body of the master-data event of `kind` (e.g. "master.catalog") with the greatest
  // body "version", or null if there is none. Master data is published only by the hub
  // (Append with case_id "") and replicated down to every node with each pull.
  common::Result<common::Json> LatestMaster(std::string_view kind);

  // Where the events made here on this case have got to.
  common::Result<CaseSyncState> SyncStateOf(const std::string& case_id);

 private:
  std::unique_ptr<EventStore> store_;
  const common::Clock* clock_;
  common::HybridClock hlc_;
  std::string prefix_;
  int64_t case_counter_ = 0;
};

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_REPLICA_H_
