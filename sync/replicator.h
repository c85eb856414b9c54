// The child side of sync: pushes this node's log to its parent and pulls what is new in
// its subtree, in rounds, until both directions are drained.
#ifndef DAIBAN_SYNC_REPLICATOR_H_
#define DAIBAN_SYNC_REPLICATOR_H_

#include <functional>
#include <string>

#include "common/status.h"
#include "sync/protocol.h"
#include "sync/replica.h"
#include "sync/transport.h"

namespace daiban::sync {

struct ReplicatorOptions {
  size_t batch_events = kDefaultBatchEvents;  // events per push (default 1000)
  size_t batch_bytes = kDefaultBatchBytes;    // about this many event bytes per push (default 1 MiB)
  size_t max_scan = 20000;                    // log rows looked at per push (default 20000)
  int max_rounds = 10000;                     // stop a SyncOnce after this many exchanges (default 10000)
};

struct SyncReport {
  int rounds = 0;           // exchanges made
  int64_t pushed = 0;       // events the parent stored new
  int64_t pulled = 0;       // events stored new here
  int64_t refused = 0;      // events the parent refused (now in quarantine)
  int64_t pending = 0;      // events still waiting to go up after the last round
  bool complete = false;    // both directions drained
  int rewinds = 0;          // the parent's record of my log differed from mine (a restore on either side)
  int resets = 0;           // the parent's log was not the one my pull cursor was made in
  bool restored = false;    // I found my own log was restored from a backup
};

struct SyncProgress {
  int64_t done = 0;   // events moved so far in this SyncOnce
  int64_t total = 0;  // best estimate of events to move (pending up + known down)
};

class Replicator {
 public:
  // REQUIRES: replica outlives the replicator. Not thread-safe (see SyncService).
  Replicator(Replica* replica, ReplicatorOptions options = {});

  // Called after each round.
  void set_progress(std::function<void(const SyncProgress&)> fn) { progress_ = std::move(fn); }
  // Adds `status.seen` to each request: when this node last heard from each node below
  // it and the backlog each reported (SyncService::SeenJson), so the hub knows when every
  // node was last seen even though villages sync with their townships.
  void set_seen(std::function<common::Json()> fn) { seen_ = std::move(fn); }

  // Syncs with the node `parent_id` over `transport` until nothing is left either way.
  // A transport failure or a refusal ends the call with that error; everything applied
  // before it stays applied, and the next call resumes from the last checkpoint.
  // The error is also recorded for `parent_id` (peers.last_error) for status pages.
  common::Result<SyncReport> SyncOnce(const std::string& parent_id, Transport* transport);

 private:
  // *pending: events waiting to go up before this round; counted (a scan of the log after
  // the push checkpoint) when negative, else carried from the round before less what it
  // sent, so a long push does not rescan its whole backlog every round.
  common::Status Round(const std::string& parent_id, Transport* transport, SyncReport* report, bool* done,
                       int64_t* pending);
  common::Status RecordError(const std::string& parent_id, const common::Status& s);

  Replica* replica_;
  ReplicatorOptions options_;
  std::function<void(const SyncProgress&)> progress_;
  std::function<common::Json()> seen_;
};

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_REPLICATOR_H_
