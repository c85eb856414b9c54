// Background sync of this node with its parent: right after local work, every
// sync_interval_s while all is well, and with jittered exponential backoff (up to
// backoff_max_s) while the parent cannot be reached; then with the fallback
// (grandparent) if one is configured. While the parent cannot be reached, local work
// brings the next try forward only once kTriggeredRetryAfterFailureS have passed since
// the failed one. One sync at a time.
#ifndef DAIBAN_NODE_SYNC_LOOP_H_
#define DAIBAN_NODE_SYNC_LOOP_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "common/json.h"
#include "common/tls.h"
#include "node/options.h"
#include "sync/replicator.h"

namespace daiban::node {

// After a failed try, the least time before local work (Trigger) starts another.
inline constexpr double kTriggeredRetryAfterFailureS = 5;

class SyncLoop {
 public:
  // REQUIRES: replica and store_mu outlive the loop; store_mu guards every use of replica.
  SyncLoop(const NodeOptions& options, sync::Replica* replica, std::mutex* store_mu);
  ~SyncLoop();

  // Starts the background thread (no-op without a parent).
  void Start();
  void Stop();
  // Asks for a sync soon: after local work (at once while the link works; while it
  // fails, once kTriggeredRetryAfterFailureS have passed since the failed try), or at once
  // when `by_person` (the "sync now" button).
  void Trigger(bool by_person = false);

  // One sync now, in the caller's thread: the parent, then the fallback if the parent is
  // unreachable. Returns the report of the sync that worked, or the parent's error.
  // `report` (may be null) gets it as /api/sync and last_report show it, with the TLS
  // handshakes made: {"rounds","pushed","pulled","refused","pending","complete",
  // "tls":{"full","resumed"}}.
  common::Result<sync::SyncReport> SyncOnce(common::Json* report = nullptr);

  // Called after every successful sync, outside the store lock (the node applies newly
  // published master data).
  void set_after_sync(std::function<void()> fn) { after_sync_ = std::move(fn); }

  // What this node heard from its children, added to each request (Replicator::set_seen).
  // Called with the store lock held.
  void set_seen(std::function<common::Json()> fn) { seen_ = std::move(fn); }

  // Prints progress (done/total, rate, time left) to stderr during SyncOnce (the CLI).
  void SetProgressPrinter(bool on) { print_progress_ = on; }

  // {"running","done","total","rate","eta_s","last_report","last_error","failed_tries",
  //  "next_try_s"}; failed_tries counts the tries that failed since the last success.
  common::Json StatusJson() const;

 private:
  void Run();
  common::Result<sync::SyncReport> SyncWith(const std::string& url, const std::string& id);

  NodeOptions options_;
  sync::Replica* replica_;
  std::mutex* store_mu_;

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  bool triggered_ = false;
  bool urgent_ = false;  // a person asked: no quiet period after a failure
  bool running_ = false;
  int64_t done_ = 0, total_ = 0;
  double started_s_ = 0;
  double next_try_s_ = 0;
  std::string last_error_;
  int64_t failed_tries_ = 0;
  common::Json last_report_;
  std::mutex once_mu_;  // one sync at a time
  // The TLS session with the parent and with the fallback, resumed by the next sync.
  std::map<std::string, std::unique_ptr<common::TlsResumption>> resume_;  // guarded by once_mu_
  std::mt19937_64 rng_{std::random_device{}()};
  std::thread thread_;
  bool print_progress_ = false;
  std::function<void()> after_sync_;
  std::function<common::Json()> seen_;
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_SYNC_LOOP_H_
