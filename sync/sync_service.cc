#include "sync/sync_service.h"

#include "sync/codec.h"

namespace daiban::sync {

using common::Json;
using common::Result;
using common::Status;

std::string ErrorFrame(const Status& status) {
  return EncodeFrame({{"v", kProtocolVersionMax},
                      {"type", kMsgError},
                      {"code", std::string(common::StatusCodeName(status.code()))},
                      {"message", status.message()}});
}

namespace {

std::string Short(const std::string& chain) { return chain.substr(0, 12) + "…"; }

std::string RewrittenDetail(const std::string& node, const LogPosition& base, const LogPosition& recorded) {
  return "the log of " + node + " at seq " + std::to_string(base.seq) + " has chain " + Short(base.chain) +
         ", but this node recorded " + Short(recorded.chain) +
         " there, and it did not announce a restore: its history was rewritten (unless this node was itself "
         "restored from a copy older than that node's last restore). The push was rewound; nothing was "
         "applied.";
}

std::string DiffersDetail(const std::string& node, const LogPosition& recorded) {
  return node + " resent its log from the start, saying it was restored from a backup; this node had applied " +
         "its log up to seq " + std::to_string(recorded.seq) + " (chain " + Short(recorded.chain) +
         "). A restore and a rewritten history look the same here: an operator should confirm the restore.";
}

}  // namespace

SyncService::SyncService(Replica* replica, SyncServiceOptions options) : replica_(replica), options_(options) {}

int64_t SyncService::LastSeen(const std::string& peer) const {
  auto it = last_seen_.find(peer);
  return it == last_seen_.end() ? 0 : it->second;
}

Json SyncService::SeenJson() const {
  Json out = Json::array();
  for (const auto& [node, at] : last_seen_) {
    auto p = reported_pending_.find(node);
    Json entry = {{"node", node}, {"last_seen", at}, {"pending", p == reported_pending_.end() ? Json(nullptr) : Json(p->second)}};
    if (auto v = reported_version_.find(node); v != reported_version_.end()) {
      entry["software"] = v->second.first;
      entry["protocol"] = v->second.second;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Json SyncService::ReportedVersion(const std::string& peer) const {
  auto v = reported_version_.find(peer);
  if (v == reported_version_.end()) return nullptr;
  return {{"software", v->second.first}, {"protocol", v->second.second}};
}

int64_t SyncService::ReportedPending(const std::string& peer) const {
  auto it = reported_pending_.find(peer);
  return it == reported_pending_.end() ? -1 : it->second;
}

Result<bool> SyncService::ForgedHere(const Event& e) {
  // I mint ids in my current incarnation only after storing them durably, so such an event
  // that I do not hold was never made here.
  if (e.origin != replica_->node_id()) return false;
  auto parts = ParseEventId(e.id);
  if (!parts.ok() || parts->incarnation != replica_->store()->incarnation()) return false;
  DAIBAN_ASSIGN_OR_RETURN(bool held, replica_->store()->Contains(e.id));
  return !held;
}

HandleResult SyncService::Handle(const PeerIdentity& peer, std::string_view request) {
  auto msg = DecodeFrameWithEvents(request, "push");
  std::vector<StoredEvent> pulled;
  Result<Json> reply = msg.ok() ? HandleSync(peer, msg->message, msg->events, &pulled) : Result<Json>(msg.status());
  if (!reply.ok()) return {ErrorFrame(reply.status()), reply.status().code()};
  if (pulled.empty()) return {EncodeFrame(*reply), common::StatusCode::kOk};
  // The pulled events go into the frame as stored (canonical JSON), not through a DOM.
  auto frame = EncodeFrameWithRows(*reply, pulled);
  if (!frame.ok()) return {ErrorFrame(frame.status()), frame.status().code()};
  return {std::move(frame).value(), common::StatusCode::kOk};
}

Result<Json> SyncService::HandleSync(const PeerIdentity& peer, Json& msg, std::vector<FrameEvent>& events,
                                     std::vector<StoredEvent>* pulled) {
  EventStore* store = replica_->store();
  // 1. Version and type.
  auto v = msg.find("v");
  if (v == msg.end() || !v->is_number_integer()) return common::InvalidArgument("sync message: v (protocol version) missing");
  int64_t version = v->get<int64_t>();
  if (version < kProtocolVersionMin || version > kProtocolVersionMax) {
    return common::Unimplemented("protocol version " + std::to_string(version) + " is not supported; this node speaks " +
                                 std::to_string(kProtocolVersionMin) + " to " + std::to_string(kProtocolVersionMax));
  }
  DAIBAN_ASSIGN_OR_RETURN(std::string type, common::GetString(msg, "type", "sync message"));
  if (type != kMsgSync) return common::InvalidArgument("sync message: unknown type '" + type.substr(0, 40) + "'");

  // 2. Who is calling: the transport's identity, which the body must agree with.
  DAIBAN_ASSIGN_OR_RETURN(std::string from, common::GetString(msg, "from", "sync message"));
  if (from != peer.node_id) {
    return common::PermissionDenied("request names node '" + from.substr(0, 40) + "' but comes from '" + peer.node_id + "'");
  }
  const std::string peer_prefix = RegionPrefix(peer.region);
  if (peer.node_id == replica_->node_id() || peer.tier >= replica_->tier() ||
      peer_prefix.compare(0, replica_->prefix().size(), replica_->prefix()) != 0) {
    return common::PermissionDenied("node '" + peer.node_id + "' (" + std::string(common::TierName(peer.tier)) + " " +
                                    peer.region + ") is not below this node (" +
                                    std::string(common::TierName(replica_->tier())) + " " + store->region() + ")");
  }
  const int64_t now = replica_->clock()->NowMillis();
  last_seen_[peer.node_id] = now;
  if (auto st = msg.find("status"); st != msg.end() && st->is_object()) {
    auto p = st->find("pending");
    if (p != st->end() && p->is_number_integer()) reported_pending_[peer.node_id] = p->get<int64_t>();
    auto sw = st->find("software");
    reported_version_[peer.node_id] = {sw != st->end() && sw->is_string() ? sw->get<std::string>().substr(0, 40) : "",
                                       msg.value("v", int64_t{0})};
    // What the child heard from the nodes below it (at most 10,000 entries are read).
    auto seen = st->find("seen");
    if (seen != st->end() && seen->is_array()) {
      size_t n = 0;
      for (const auto& e : *seen) {
        if (++n > 10000) break;
        if (!e.is_object() || !e.contains("node") || !e["node"].is_string()) continue;
        std::string node = e["node"].get<std::string>();
        if (node.empty() || node.size() > 64 || node == peer.node_id || node == replica_->node_id()) continue;
        int64_t at = e.value("last_seen", int64_t{0});
        if (at > now) at = now;  // never in the future
        if (at > last_seen_[node]) {
          last_seen_[node] = at;
          if (e.contains("pending") && e["pending"].is_number_integer()) reported_pending_[node] = e["pending"].get<int64_t>();
          if (e.contains("software") && e["software"].is_string() && e.contains("protocol") &&
              e["protocol"].is_number_integer()) {
            reported_version_[node] = {e["software"].get<std::string>().substr(0, 40), e["protocol"].get<int64_t>()};
          }
        }
      }
    }
  }

  // 3. Parse the whole request before changing anything.
  auto push = msg.find("push");
  auto pull = msg.find("pull");
  if (push == msg.end() || !push->is_object()) return common::InvalidArgument("sync message: push must be an object");
  if (pull == msg.end() || !pull->is_object()) return common::InvalidArgument("sync message: pull must be an object");
  DAIBAN_ASSIGN_OR_RETURN(LogPosition base, LogPositionFromJson(push->value("base", Json()), "push.base"));
  DAIBAN_ASSIGN_OR_RETURN(LogPosition last, LogPositionFromJson(push->value("last", Json()), "push.last"));
  auto events_json = push->find("events");
  if (events_json == push->end() || !events_json->is_array()) return common::InvalidArgument("push.events must be an array");
  if (events.size() > kMaxBatchEvents) {
    return common::ResourceExhausted("push of " + std::to_string(events.size()) + " events is over the limit of " +
                                     std::to_string(kMaxBatchEvents) + "; send smaller batches");
  }
  if (last.seq < base.seq) return common::InvalidArgument("push.last is before push.base");
  DAIBAN_ASSIGN_OR_RETURN(LogPosition cursor, LogPositionFromJson(pull->value("cursor", Json()), "pull.cursor"));
  LogPosition mark;
  if (pull->contains("mark")) {
    DAIBAN_ASSIGN_OR_RETURN(mark, LogPositionFromJson((*pull)["mark"], "pull.mark"));
  }
  DAIBAN_ASSIGN_OR_RETURN(int64_t ack_cursor, common::GetInt(*pull, "ack_cursor", "pull"));
  // An ack cursor counts changes in one incarnation of my store; from another (I was
  // restarted or restored since), it means nothing: send every row.
  if (pull->value("ack_epoch", "") != store->incarnation()) ack_cursor = 0;
  auto full_it = pull->find("full");
  const bool full = full_it != pull->end() && full_it->is_boolean() && full_it->get<bool>();

  Json reply = {{"v", kProtocolVersionMax}, {"type", kMsgSyncReply}, {"node", replica_->node_id()}};

  // 4. Push: apply only on top of exactly what I recorded for this peer. Any difference
  // means one of us was restored (or a reply was lost): answer with my record instead.
  DAIBAN_ASSIGN_OR_RETURN(PeerState record, store->GetPeer(peer.node_id));
  Json push_reply = Json::object();
  auto restart_it = push->find("restart");
  const bool restart = restart_it != push->end() && restart_it->is_boolean() && restart_it->get<bool>();
  if (!(base == record.received) && !(restart && base.seq == 0)) {
    if (record.received.seq > 0 && base.seq == record.received.seq) {
      // The child's log at a seq I recorded has another chain, and it does not say it was
      // restored (a restored child's base is a position of its old log, or a restart).
      DAIBAN_RETURN_IF_ERROR(store->BeginBatch());
      Status s = store->RecordAlert({now, peer.node_id, std::string(kAlertHistoryRewritten), base.seq,
                                     RewrittenDetail(peer.node_id, base, record.received)});
      if (!s.ok()) {
        store->AbortBatch();
        return s;
      }
      DAIBAN_RETURN_IF_ERROR(store->CommitBatch());
    }
    push_reply["result"] = "rewind";
    push_reply["received"] = LogPositionToJson(record.received);
  } else {
    Json refused = Json::array();
    int64_t inserted = 0, duplicates = 0;
    // Nothing pushed (the child's log ends where my record does): the batch only notes
    // when the child called, which may be lost (the hub also keeps it in memory), so its
    // commit need not wait for the disk. Anything else is durable before the reply.
    const bool nothing_pushed = events.empty() && last == record.received;
    DAIBAN_RETURN_IF_ERROR(
        store->BeginBatch(nothing_pushed ? EventStore::Commit::kLazy : EventStore::Commit::kDurable));
    auto fail = [&](Status s) {
      store->AbortBatch();
      return s;
    };
    if (restart && base.seq == 0 && record.received.seq > 0 && full && !(last == record.received)) {
      // The child resends its whole log saying it was restored (pull.full): its log is not
      // the one I recorded. A restore and a rewritten history look the same from here.
      Status s = store->RecordAlert({now, peer.node_id, std::string(kAlertHistoryDiffers), record.received.seq,
                                     DiffersDetail(peer.node_id, record.received)});
      if (!s.ok()) return fail(s);
    }
    for (FrameEvent& fe : events) {
      const std::string& id = fe.id;
      const std::string case_id = fe.case_id.substr(0, 80);
      Result<Event>& e = fe.event;
      Status why;
      if (!e.ok()) {
        why = e.status();
      } else {
        why = AdmitPushedEvent(peer, *e);
        if (why.ok()) {
          auto forged = ForgedHere(*e);
          if (!forged.ok()) return fail(forged.status());
          if (*forged) {
            why = common::PermissionDenied((e->is_master() ? "master data " + e->id : "case " + e->case_id) +
                                           ": rule made here: the event claims to be made by this node in "
                                           "its current run, but this node never made it");
          }
        }
        if (why.ok() && admit_) why = admit_(peer, *e);
      }
      if (why.ok()) {
        const common::HlcTimestamp hlc = e->hlc;
        auto r = store->Insert(std::move(*e), peer.node_id);
        if (!r.ok() && r.status().code() != common::StatusCode::kAlreadyExists) {
          return fail(r.status());  // storage failure: nothing acknowledged
        }
        if (r.ok()) {
          replica_->hlc()->Observe(hlc);
          (*r == InsertOutcome::kInserted ? inserted : duplicates) += 1;
          continue;
        }
        why = r.status();
      }
      const std::string code(common::StatusCodeName(why.code()));
      refused.push_back({{"id", id.substr(0, 120)}, {"code", code}, {"reason", why.message()}});
      Status audit = store->RecordRefusal({now, peer.node_id, id.substr(0, 120), case_id, code, why.message()});
      if (!audit.ok()) return fail(audit);  // the audit commits with the push, or neither does
    }
    const LogPosition had = record.received;
    record.received = last;
    record.last_seen_ms = now;
    Status s = store->PutPeer(record);
    if (!s.ok()) return fail(s);
    DAIBAN_RETURN_IF_ERROR(store->CommitBatch());  // durable before we acknowledge
    push_reply = {{"result", "applied"}, {"received", LogPositionToJson(last)}, {"had", LogPositionToJson(had)},
                  {"inserted", inserted},
                  {"duplicates", duplicates}, {"refused", refused}};
  }
  reply["push"] = push_reply;

  // 5. Pull: what is new in the peer's subtree since its cursor.
  Json pull_reply = {{"reset", false}};
  // Is the peer's mark (my log's end when we last spoke) still in my log? If not, I was
  // restored from a backup and may lack what the peer sent or got from me.
  bool mark_ok = true;
  if (mark.seq != 0) {
    DAIBAN_ASSIGN_OR_RETURN(std::string at, store->ChainAt(mark.seq));
    mark_ok = at == mark.chain;
  }
  pull_reply["mark_ok"] = mark_ok;
  DAIBAN_ASSIGN_OR_RETURN(LogPosition end, store->End());
  pull_reply["log_end"] = LogPositionToJson(end);
  if (cursor.seq != 0) {
    DAIBAN_ASSIGN_OR_RETURN(std::string at, store->ChainAt(cursor.seq));
    if (at != cursor.chain) {
      cursor = LogPosition{};  // my log is not the one the cursor was made in: start over
      pull_reply["reset"] = true;
    }
  }
  std::vector<StoredEvent>& pull_rows = *pulled;  // go into the reply's frame as stored (Handle)
  bool more = false;
  DAIBAN_ASSIGN_OR_RETURN(int64_t max_seq, store->SubtreeMaxSeq(peer_prefix));
  if (max_seq > cursor.seq) {  // O(1) answer when nothing is new
    LogPosition scanned;
    DAIBAN_RETURN_IF_ERROR(store->ReadLog(cursor.seq, peer_prefix, /*include_master=*/true, full ? "" : peer.node_id, 0, options_.max_pull_events,
                                          options_.max_pull_bytes, options_.max_scan, &pull_rows, &scanned, &more));
    if (scanned.seq > cursor.seq) cursor = scanned;
  }
  pull_reply["events"] = Json::array();
  pull_reply["cursor"] = LogPositionToJson(cursor);
  pull_reply["more"] = more;
  reply["pull"] = std::move(pull_reply);

  // 6. Acknowledgements: how far I and the hub hold the origins in the peer's subtree.
  int64_t ack_now = 0;
  DAIBAN_ASSIGN_OR_RETURN(std::vector<VvRow> rows, store->VvChangedSince(ack_cursor, peer_prefix, &ack_now));
  Json acks = Json::array();
  for (const auto& r : rows) acks.push_back({r.origin_inc, r.origin_region, r.have, store->is_hub() ? r.have : r.hub});
  reply["acks"] = {{"cursor", ack_now}, {"epoch", store->incarnation()}, {"rows", acks}};
  return reply;
}

}  // namespace daiban::sync
