// The event store of one node: an append-only SQLite log of events, the folded state
// of every case, and the bookkeeping replication needs.
//
// Tables (docs/PROTOCOL.md §3):
//   events     seq (local append order, the cursor space), id (unique), case, region,
//              origin, hlc, kind, canonical bytes, content hash, source peer
//   cases      the fold of each case: state JSON, digest, status
//   vv         per origin incarnation: the highest counter held with no gap below it
//              ("have"), and the same as known for the parent ("up") and the hub ("hub")
//   subtree    per region prefix (2/4/6/9/12 digits, "" for master data): the greatest
//              seq, event count and an order-free sum of event hashes — O(1) "anything
//              new for this subtree?" and a cheap per-jurisdiction digest
//   peers      per peer node: push and pull checkpoints, last success, last error
//   quarantine events a peer refused, with the reason, for a person to see
//   refusals   as parent: every pushed event this node refused (the audit; newest 10,000)
//   alerts     as parent: children whose log history changed under a recorded position
//              (newest 10,000)
//   meta       this node's identity
//
// Writes happen inside a batch (BeginBatch ... CommitBatch): everything in a batch,
// including peer checkpoints written by the caller, becomes durable together or not at
// all, and CommitBatch returns only after the commit is on disk (synchronous=FULL).
// A batch begun with Commit::kLazy is as atomic and ordered, but its commit is not
// waited onto the disk: for sync bookkeeping that moved no event (see Commit).
// Not thread-safe: the owner serialises access.
#ifndef DAIBAN_SYNC_EVENT_STORE_H_
#define DAIBAN_SYNC_EVENT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "common/tier.h"
#include "sync/event.h"
#include "sync/merge.h"

namespace daiban::sync {

struct StoreOptions {
  std::string path;              // SQLite file; ":memory:" for tests (default: none, required)
  std::string node_id;           // this node's id (required)
  std::string region;            // this node's 12-digit region code (required)
  common::Tier tier = common::Tier::kVillage;  // this node's tier (default: village)
  std::string incarnation;       // 12 hex digits for ids minted by this opening; "" = random (default)
  bool synchronous_full = true;  // fsync every commit (default: on; benchmarks may turn it off)
  std::string image;             // if set, open an in-memory copy of this Snapshot() (simulator, tests)
};

// A position in a log: a seq and the log's chain hash at that seq. The chain hash of
// row n is SHA-256(chain of row n-1 || content hash of row n) (row 0: ""), so equal
// positions mean identical log prefixes. (0, "") is the start.
struct LogPosition {
  int64_t seq = 0;
  std::string chain;
  bool operator==(const LogPosition&) const = default;
};
// {"seq": n, "chain": "hex"} on the wire.
common::Json LogPositionToJson(const LogPosition& p);
// kInvalidArgument naming `where` if malformed.
common::Result<LogPosition> LogPositionFromJson(const common::Json& j, std::string_view where);

struct StoredEvent {
  int64_t seq = 0;
  std::string chain;   // the log's chain hash at this row
  std::string bytes;   // canonical JSON
  std::string source;  // peer it came from; "" if made here
  std::string region;
  std::string id;
};

struct PeerState {
  std::string peer;
  LogPosition pushed;      // as child: my log position the peer has acknowledged
  LogPosition pulled;      // as child: the peer's log position I have applied
  int64_t ack_cursor = 0;  // as child: the peer's vv change counter I have seen...
  std::string ack_epoch;   // ...in this incarnation of the peer's store
  LogPosition received;    // as parent: the peer's log position I have applied
  int64_t last_ok_ms = 0;
  std::string last_error;
  int64_t last_seen_ms = 0;  // as parent: when the peer last called
  // Recovery after a restore (docs/PROTOCOL.md §5):
  int64_t resend_until = 0;  // as child: push even events that came from the peer, up to this seq of mine
  bool pull_full = false;    // as child: pull everything, including events that came from me
  LogPosition mark;          // as child: a position I know is in the peer's log (its end when we last spoke)
};

struct VvRow {
  std::string origin_inc;   // "origin.incarnation"
  std::string origin_region;
  int64_t have = 0;  // held here with no gap
  int64_t up = 0;    // held by my parent (learned from its acks)
  int64_t hub = 0;   // held by the city hub (learned from acks; at the hub == have)
};

struct QuarantinedEvent {
  std::string id;
  std::string peer;
  std::string reason;
  int64_t at_ms = 0;
};

// One pushed event this node refused (docs/PROTOCOL.md §4.10).
struct Refusal {
  int64_t at_ms = 0;
  std::string peer;      // the node that pushed it
  std::string event_id;  // as sent, at most 120 characters; "" if it had none
  std::string case_id;   // "" for master data or when the event did not decode
  std::string code;      // status code name, e.g. "permission_denied"
  std::string reason;    // names the case and the rule; never personal data
};

// A child's log history changed under a position this node had recorded (PROTOCOL §5.1).
struct HistoryAlert {
  int64_t at_ms = 0;
  std::string node;    // the child
  std::string kind;    // "history_rewritten" or "history_differs" (sync/sync_service.h)
  int64_t seq = 0;     // the seq of the child's log the alert is about
  std::string detail;  // plain words for an operator
};

// The refusal audit and the alerts keep this many newest rows each.
inline constexpr size_t kMaxAuditRows = 10000;

enum class InsertOutcome { kInserted, kDuplicate };

class EventStore {
 public:
  // Opens or creates the store. kInvalidArgument if the file belongs to another node id.
  static common::Result<std::unique_ptr<EventStore>> Open(const StoreOptions& options);
  ~EventStore();

  const std::string& node_id() const { return options_.node_id; }
  const std::string& region() const { return options_.region; }
  common::Tier tier() const { return options_.tier; }
  const std::string& incarnation() const { return incarnation_; }
  bool is_hub() const { return options_.tier == common::Tier::kCity; }

  // What keeps derived tables in db() (the hub's statistics, server/stats.h) exactly in
  // step with the log. Everything is called inside the batch's transaction; a non-OK
  // status aborts the whole batch.
  class FoldListener {
   public:
    virtual ~FoldListener() = default;
    // Every case CommitBatch refolded, with its new folded state.
    virtual common::Status OnCaseFolded(const std::string& case_id, const common::Json& state) = 0;
    // After the batch's last fold, before its commit: writes what the listener gathered.
    virtual common::Status Flush() = 0;
    // The batch was rolled back: drops what the listener gathered and has not written.
    virtual void Discard() = 0;
  };
  // REQUIRES: `listener` outlives the store or is replaced first (nullptr: none).
  void set_fold_listener(FoldListener* listener) { fold_listener_ = listener; }
  // The store's database, for a fold listener's own tables. Not for the store's tables.
  common::Db* db() { return db_.get(); }

  // ---- batches ----
  // kDurable: CommitBatch returns once the commit is on disk (with synchronous_full).
  // kLazy: the commit goes to the WAL without an fsync (synchronous=NORMAL). A power cut
  // may lose it, and lazy commits after it, but never anything committed durably before
  // it; the next durable commit takes it to disk too. Only for writes that may be lost:
  // checkpoints that a later sync learns again (a no-op round's cursors, acks, times).
  // Never for events, refusals, alerts or any position a reply acknowledges.
  enum class Commit { kDurable, kLazy };
  common::Status BeginBatch(Commit commit = Commit::kDurable);
  // Folds the cases touched, updates vv and subtree rows, commits (durably unless kLazy).
  common::Status CommitBatch();
  // Commits that waited for the disk (synchronous=FULL), since Open: what tests count.
  int64_t durable_commits() const { return durable_commits_; }
  // Cases folded onto their stored state (sync/merge.h ExtendFold) instead of from their
  // log, since the store was opened.
  int64_t extended_folds() const { return extended_folds_; }
  // Discards everything since BeginBatch.
  void AbortBatch();
  bool in_batch() const { return in_batch_; }

  // REQUIRES: in_batch(). Inserts an event that arrived from `source` ("" = made here).
  // kDuplicate if the same id with the same bytes is already stored; kAlreadyExists
  // error (integrity) if the id is stored with different bytes — nothing is changed.
  common::Result<InsertOutcome> Insert(const Event& e, std::string_view source);
  // The same, taking `e` over if the batch keeps it for the fold (then `e` is left valid
  // but unspecified: read what you need of it before).
  common::Result<InsertOutcome> Insert(Event&& e, std::string_view source);

  // Next counter for an id minted by this node in this incarnation (starts at 1).
  int64_t NextCounter() { return ++counter_; }

  // ---- reading ----
  int64_t LastSeq();
  // The chain hash at `seq`, or "" if no row has that seq.
  common::Result<std::string> ChainAt(int64_t seq);
  // The position of the end of my log.
  common::Result<LogPosition> End();
  // Walks the whole log and recomputes every chain hash. kDataLoss naming the first
  // row (seq and event id) whose content or chain does not match.
  common::Status VerifyChain();
  common::Result<bool> Contains(const std::string& id);
  // Events with seq > after, in seq order, at most `limit` and about `max_bytes`.
  // Only events whose region is under `prefix` (and master data if `include_master`),
  // leaving out those whose source is `exclude_source` and whose seq is > `exclude_after`. Scans at most `max_scan` rows; *scanned is the last position
  // looked at (the caller's next cursor), *more is true if rows remain after it.
  common::Status ReadLog(int64_t after, std::string_view prefix, bool include_master,
                         std::string_view exclude_source, int64_t exclude_after, size_t limit,
                         size_t max_bytes, size_t max_scan, std::vector<StoredEvent>* out, LogPosition* scanned,
                         bool* more);
  // Greatest seq of an event under `prefix` or of master data (0 if none).
  common::Result<int64_t> SubtreeMaxSeq(std::string_view prefix);
  // Order-free digest of the events under `prefix`: "<count>:<hex sum>".
  common::Result<std::string> SubtreeDigest(std::string_view prefix);

  common::Result<std::vector<Event>> CaseEvents(const std::string& case_id);
  // The folded state, or kNotFound.
  common::Result<CaseFold> GetCase(const std::string& case_id);
  common::Result<std::vector<std::string>> CaseIds();
  common::Result<std::vector<std::string>> AllEventIds();
  common::Result<int64_t> EventCount();
  // Heads of a case (parents for the next event on it).
  common::Result<std::vector<std::string>> CaseHeads(const std::string& case_id);

  // ---- replication bookkeeping ----
  common::Result<PeerState> GetPeer(const std::string& peer);
  common::Status PutPeer(const PeerState& p);
  common::Result<std::vector<PeerState>> Peers();
  // Events in my log after `after` that did not come from `peer` (pending upload).
  common::Result<int64_t> CountPending(int64_t after, std::string_view peer);

  common::Result<std::vector<VvRow>> VvChangedSince(int64_t counter, std::string_view prefix, int64_t* now);
  // Learned from the parent's acks: it holds origin_inc up to `up`, the hub up to `hub`.
  // Values only ever rise. REQUIRES: in_batch().
  common::Status RaiseAcks(const std::string& origin_inc, const std::string& origin_region, int64_t up,
                           int64_t hub);
  common::Result<VvRow> GetVv(const std::string& origin_inc);

  common::Status Quarantine(const std::string& id, const std::string& peer, const std::string& reason,
                            int64_t now_ms);
  common::Result<std::vector<QuarantinedEvent>> QuarantineList();

  // ---- audit (the parent side) ----
  // Appends to the refusal audit, dropping the oldest rows beyond kMaxAuditRows. Inside or
  // outside a batch (inside, it commits with the batch).
  common::Status RecordRefusal(const Refusal& r);
  // The newest `limit` refusals, newest first.
  common::Result<std::vector<Refusal>> Refusals(size_t limit = kMaxAuditRows);
  // Appends a history alert, dropping the oldest rows beyond kMaxAuditRows. A repeat of the
  // node's newest alert (same kind and seq) is not recorded again. Inside or outside a batch.
  common::Status RecordAlert(const HistoryAlert& a);
  // The newest `limit` alerts, newest first.
  common::Result<std::vector<HistoryAlert>> Alerts(size_t limit = kMaxAuditRows);

  // The committed store as bytes, for EventStore::Open with options.image.
  // REQUIRES: !in_batch().
  common::Result<std::string> Snapshot() { return db_->Serialize(); }


 private:
  EventStore(StoreOptions o, std::unique_ptr<common::Db> db, std::string incarnation);
  common::Status Migrate();
  common::Status MigrateLocked();  // REQUIRES: inside Migrate's transaction
  common::Status EndLazy();  // back to synchronous=FULL after a kLazy batch
  struct DirtyCase;
  common::Status RefoldCase(const std::string& case_id, DirtyCase* dirty);
  common::Result<InsertOutcome> InsertImpl(const Event& e, std::string_view source, Event* take);
  common::Status AdvanceVv(const std::string& origin_inc, const std::string& origin_region);
  common::Status BumpAckClock(const std::string& origin_inc);

  StoreOptions options_;
  std::unique_ptr<common::Db> db_;
  std::string incarnation_;
  int64_t counter_ = 0;
  bool in_batch_ = false;
  bool relaxed_ = false;  // the connection is at synchronous=NORMAL for a kLazy batch
  int64_t durable_commits_ = 0;
  int64_t extended_folds_ = 0;
  std::string last_chain_;  // chain hash of the last row (including rows of the open batch)
  // Per batch: touched cases (with the events this batch added to each, and whether the
  // case is new in this batch, so a new case folds without reading the store back and
  // an old one can fold onto its stored state),
  // origins and subtree deltas.
  struct DirtyCase {
    bool is_new = false;
    std::vector<Event> added;
  };
  std::map<std::string, DirtyCase> dirty_cases_;
  FoldListener* fold_listener_ = nullptr;
  std::map<std::string, std::string> dirty_origins_;  // origin_inc -> origin_region
  struct SubtreeDelta {
    int64_t max_seq = 0;
    int64_t count = 0;
    uint64_t sum = 0;
  };
  std::map<std::string, SubtreeDelta> subtree_delta_;
  bool ack_clock_bumped_ = false;
  int64_t ack_clock_ = 0;
};

// The region prefixes an event counts under: "" for master data, else the 2,4,6,9,12
// digit prefixes of its region.
std::vector<std::string> SubtreePrefixes(std::string_view region);
// The significant prefix of a 12-digit region code ("210902001000" -> "210902001").
std::string RegionPrefix(std::string_view region12);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_EVENT_STORE_H_
