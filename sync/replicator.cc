#include "sync/replicator.h"

#include "sync/admit.h"
#include "sync/codec.h"

#include <algorithm>

namespace daiban::sync {

using common::Json;
using common::Result;
using common::Status;

Replicator::Replicator(Replica* replica, ReplicatorOptions options) : replica_(replica), options_(options) {}

Status Replicator::RecordError(const std::string& parent_id, const Status& s) {
  EventStore* store = replica_->store();
  if (store->in_batch()) store->AbortBatch();
  auto peer = store->GetPeer(parent_id);
  if (!peer.ok()) return s;
  peer->last_error = s.ToString();
  (void)store->PutPeer(*peer);  // best effort: the error is returned either way
  return s;
}

Result<SyncReport> Replicator::SyncOnce(const std::string& parent_id, Transport* transport) {
  SyncReport report;
  bool done = false;
  int64_t pending = -1;  // counted in the first round
  while (!done && report.rounds < options_.max_rounds) {
    Status s = Round(parent_id, transport, &report, &done, &pending);
    ++report.rounds;
    if (!s.ok()) return RecordError(parent_id, s);
  }
  report.complete = done;  // the last round wrote last_ok with its checkpoints
  EventStore* store = replica_->store();
  DAIBAN_ASSIGN_OR_RETURN(PeerState peer, store->GetPeer(parent_id));
  DAIBAN_ASSIGN_OR_RETURN(report.pending, store->CountPending(peer.pushed.seq, parent_id));
  return report;
}

Status Replicator::Round(const std::string& parent_id, Transport* transport, SyncReport* report, bool* done,
                         int64_t* pending_io) {
  EventStore* store = replica_->store();
  DAIBAN_ASSIGN_OR_RETURN(PeerState peer, store->GetPeer(parent_id));

  // What to push: my log after what the parent acknowledged, less what came from it.
  std::vector<StoredEvent> rows;
  LogPosition last;
  bool more_push = false;
  DAIBAN_RETURN_IF_ERROR(store->ReadLog(peer.pushed.seq, "", /*include_master=*/true, parent_id, peer.resend_until,
                                        options_.batch_events, options_.batch_bytes,
                                        options_.max_scan, &rows, &last, &more_push));
  if (last.seq == peer.pushed.seq) last = peer.pushed;
  if (*pending_io < 0) {
    DAIBAN_ASSIGN_OR_RETURN(*pending_io, store->CountPending(peer.pushed.seq, parent_id));
  }
  const int64_t pending = *pending_io;
  *pending_io = -1;  // unless this round ends as expected (below): count again
  Json request = {{"v", kProtocolVersionMax},
                  {"type", kMsgSync},
                  {"from", replica_->node_id()},
                  {"push", {{"base", LogPositionToJson(peer.pushed)}, {"last", LogPositionToJson(last)}, {"events", Json::array()},
                            {"restart", peer.pushed.seq == 0 && (peer.pull_full || peer.resend_until > 0)}}},
                  {"pull", {{"cursor", LogPositionToJson(peer.pulled)}, {"ack_cursor", peer.ack_cursor},
                            {"ack_epoch", peer.ack_epoch}, {"full", peer.pull_full},
                            {"mark", LogPositionToJson(peer.mark)}}},
                  {"status", {{"pending", pending}, {"software", std::string(kSoftwareVersion)}}}};
  if (seen_) request["status"]["seen"] = seen_();
  // The stored events are canonical JSON already: they go into the frame as they are.
  DAIBAN_ASSIGN_OR_RETURN(std::string frame, EncodeFrameWithRows(request, rows));

  DAIBAN_ASSIGN_OR_RETURN(std::string reply_frame, transport->RoundTrip(frame));
  auto reply_r = DecodeFrameWithEvents(reply_frame, "pull");
  if (!reply_r.ok()) return common::Unavailable("reply from " + parent_id + " unusable: " + reply_r.status().message());
  Json& reply = reply_r->message;
  std::string type = reply.value("type", "");
  if (type == kMsgError) {
    return Status(common::StatusCodeFromName(reply.value("code", "internal")),
                  parent_id + " refused the sync: " + reply.value("message", ""));
  }
  if (type != kMsgSyncReply) return common::Unavailable("reply from " + parent_id + " has unknown type");
  if (reply.value("node", "") != parent_id) {
    return common::FailedPrecondition("the server answered as '" + reply.value("node", "").substr(0, 40) +
                                      "', but the configured parent is '" + parent_id + "'");
  }
  const Json push = reply.value("push", Json::object());
  Json pull = reply.value("pull", Json::object());

  const Json acks = reply.value("acks", Json::object());
  const int64_t now = replica_->clock()->NowMillis();

  // A round that moved nothing (nothing pushed, pulled, refused or acknowledged, no reset)
  // writes only checkpoints the next round learns again: the parent's log end (an older
  // mark is still a position of its log), the time. Its commit need not wait for the disk
  // (EventStore::Commit::kLazy): an idle sync then costs no fsync. A restore noticed in
  // such a round (push.had) is noticed again from the same reply if the write is lost.
  const std::string result = push.value("result", "");
  const bool moved_nothing =
      rows.empty() && result == "applied" && push.value("inserted", int64_t{0}) == 0 &&
      push.value("refused", Json::array()).empty() && reply_r->events.empty() && !pull.value("reset", false) &&
      pull.value("mark_ok", true) && acks.value("rows", Json::array()).empty();
  DAIBAN_RETURN_IF_ERROR(
      store->BeginBatch(moved_nothing ? EventStore::Commit::kLazy : EventStore::Commit::kDurable));
  auto fail = [&](Status s) {
    store->AbortBatch();
    return s;
  };
  // Push outcome.
  bool push_done = false;
  bool restart_pull = false;  // set when I find I was restored: this reply's pull cursor is stale
  auto received = LogPositionFromJson(push.value("received", Json()), "push.received");
  if (!received.ok()) return fail(common::Unavailable("reply: " + received.status().message()));
  if (result == "rewind") {
    ++report->rewinds;
    // The parent's record of my log differs from mine (docs/PROTOCOL.md §5).
    auto at = store->ChainAt(received->seq);
    if (!at.ok()) return fail(at.status());
    if (received->seq == 0 || *at == received->chain) {
      // My log still holds what the parent recorded. If that is behind what I thought it
      // had, the parent lost data (restored): send everything after it, even what came from it.
      if (received->seq < peer.pushed.seq) peer.resend_until = store->LastSeq();
      peer.pushed = *received;
    } else {
      // My log is not the one the parent saw: I was restored from a backup. Send it all
      // again, and take everything back, even what the parent got from me.
      peer.pushed = LogPosition{};
      peer.pull_full = true;
      restart_pull = true;
    }
  } else if (result == "applied") {
    // What the parent had recorded of my log before this push must be in my log; if it
    // is not, I was restored from a backup (see the rewind case below).
    auto had = LogPositionFromJson(push.value("had", Json()), "push.had");
    if (!had.ok()) return fail(common::Unavailable("reply: " + had.status().message()));
    if (had->seq != 0) {
      auto at = store->ChainAt(had->seq);
      if (!at.ok()) return fail(at.status());
      if (*at != had->chain) {
        peer.pull_full = true;
        restart_pull = true;
      }
    }
    peer.pushed = last;
    report->pushed += push.value("inserted", int64_t{0});
    for (const auto& r : push.value("refused", Json::array())) {
      std::string id = r.value("id", "");
      Status q = store->Quarantine(id, parent_id, r.value("code", "") + ": " + r.value("reason", ""), now);
      if (!q.ok()) return fail(q);
      ++report->refused;
    }
  } else {
    return fail(common::Unavailable("reply: unknown push result"));
  }
  // Pull: store what arrived, in order, checking it lies in my jurisdiction.
  const bool parent_rewound = pull.value("reset", false) || !pull.value("mark_ok", true);
  if (parent_rewound) {
    ++report->resets;
    // The parent's log is not the one my cursor was made in (it was restored or replaced):
    // it may lack anything I sent or got from it, so send my whole log again.
    peer.pulled = LogPosition{};
    peer.ack_cursor = 0;
    peer.resend_until = store->LastSeq();
    peer.pushed = LogPosition{};
  }
  for (FrameEvent& fe : reply_r->events) {
    const std::string& event_id = fe.id;
    Result<Event>& e = fe.event;
    Status why;
    if (!e.ok()) {
      why = e.status();
    } else if (!e->is_master() && e->region.compare(0, replica_->prefix().size(), replica_->prefix()) != 0) {
      why = common::PermissionDenied("case " + e->case_id + " is outside this node's jurisdiction");
    } else {
      why = AdmitEventContent(*e);  // the same per-event rules the parent applied (sync/admit.h)
    }
    if (why.ok()) {
      const common::HlcTimestamp hlc = e->hlc;
      auto ins = store->Insert(std::move(*e), parent_id);
      if (ins.ok()) {
        replica_->hlc()->Observe(hlc);
        if (*ins == InsertOutcome::kInserted) ++report->pulled;
        continue;
      }
      if (ins.status().code() != common::StatusCode::kAlreadyExists) return fail(ins.status());
      why = ins.status();
    }
    Status q = store->Quarantine(event_id.substr(0, 120), parent_id, "received: " + why.ToString(), now);
    if (!q.ok()) return fail(q);
  }
  auto cursor = LogPositionFromJson(pull.value("cursor", Json()), "pull.cursor");
  if (!cursor.ok()) return fail(common::Unavailable("reply: " + cursor.status().message()));
  peer.pulled = restart_pull ? LogPosition{} : *cursor;
  auto log_end = LogPositionFromJson(pull.value("log_end", Json()), "pull.log_end");
  if (!log_end.ok()) return fail(common::Unavailable("reply: " + log_end.status().message()));
  peer.mark = *log_end;
  report->restored = report->restored || restart_pull;
  // Acknowledgements.
  for (const auto& row : acks.value("rows", Json::array())) {
    if (!row.is_array() || row.size() != 4 || !row[0].is_string() || !row[1].is_string() ||
        !row[2].is_number_integer() || !row[3].is_number_integer()) {
      return fail(common::Unavailable("reply: malformed ack row"));
    }
    const std::string origin_inc = row[0].get<std::string>();
    const int64_t parent_has = row[2].get<int64_t>();
    // The parent holds more of my own events than I do: I lost them (restored from a
    // backup). Take everything back, including what came from me.
    if (origin_inc.compare(0, replica_->node_id().size() + 1, replica_->node_id() + ".") == 0) {
      auto mine = store->GetVv(origin_inc);
      if (!mine.ok()) return fail(mine.status());
      if (parent_has > mine->have && !peer.pull_full) {
        peer.pull_full = true;
        peer.pushed = LogPosition{};
        restart_pull = true;
      }
    }
    Status s = store->RaiseAcks(origin_inc, row[1].get<std::string>(), parent_has, row[3].get<int64_t>());
    if (!s.ok()) return fail(s);
  }
  // After a parent restore, this reply's ack cursor belongs to its old history: start over.
  peer.ack_cursor = parent_rewound ? 0 : acks.value("cursor", peer.ack_cursor);
  peer.ack_epoch = acks.value("epoch", "");
  if (restart_pull) peer.pulled = LogPosition{};  // this reply's pull cursor is stale
  report->restored = report->restored || restart_pull;
  peer.last_error.clear();
  push_done = result == "applied" && !more_push;
  *done = push_done && !pull.value("more", false) && !restart_pull;
  if (*done) {
    peer.pull_full = false;  // a full pull has come to its end
    peer.last_ok_ms = now;
  }
  Status put = store->PutPeer(peer);
  if (!put.ok()) return fail(put);
  DAIBAN_RETURN_IF_ERROR(store->CommitBatch());
  // What waits now is what waited less what this push delivered, unless the checkpoint
  // moved some other way (a rewind, a reset, a restore, a resend), when the next round counts.
  if (result == "applied" && !parent_rewound && !restart_pull && peer.resend_until == 0) {
    *pending_io = std::max<int64_t>(0, pending - static_cast<int64_t>(rows.size()));
  }
  if (progress_) {
    SyncProgress p;
    p.done = report->pushed + report->pulled;
    p.total = p.done + (pending - static_cast<int64_t>(rows.size()) > 0 ? pending - static_cast<int64_t>(rows.size()) : 0);
    progress_(p);
  }
  return Status::Ok();
}

}  // namespace daiban::sync
