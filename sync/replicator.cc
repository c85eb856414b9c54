#include "sync/replicator.h"

#include "sync/codec.h"

namespace daiban::sync {

using common::Json;
using common::Result;
using common::Status;

namespace {

Json PositionJson(const LogPosition& p) { return {{"seq", p.seq}, {"id", p.id}}; }

Result<LogPosition> PositionFrom(const Json& j, std::string_view where) {
  if (!j.is_object()) return common::InvalidArgument(std::string(where) + ": must be an object {seq, id}");
  LogPosition p;
  DAIBAN_ASSIGN_OR_RETURN(p.seq, common::GetInt(j, "seq", where));
  DAIBAN_ASSIGN_OR_RETURN(p.id, common::GetString(j, "id", where));
  return p;
}

}  // namespace

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
  while (!done && report.rounds < options_.max_rounds) {
    Status s = Round(parent_id, transport, &report, &done);
    ++report.rounds;
    if (!s.ok()) return RecordError(parent_id, s);
  }
  report.complete = done;
  EventStore* store = replica_->store();
  DAIBAN_ASSIGN_OR_RETURN(PeerState peer, store->GetPeer(parent_id));
  DAIBAN_ASSIGN_OR_RETURN(report.pending, store->CountPending(peer.pushed.seq, parent_id));
  if (done) {
    peer.last_ok_ms = replica_->clock()->NowMillis();
    peer.last_error.clear();
    DAIBAN_RETURN_IF_ERROR(store->PutPeer(peer));
  }
  return report;
}

Status Replicator::Round(const std::string& parent_id, Transport* transport, SyncReport* report, bool* done) {
  EventStore* store = replica_->store();
  DAIBAN_ASSIGN_OR_RETURN(PeerState peer, store->GetPeer(parent_id));

  // What to push: my log after what the parent acknowledged, less what came from it.
  std::vector<StoredEvent> rows;
  LogPosition last;
  bool more_push = false;
  DAIBAN_RETURN_IF_ERROR(store->ReadLog(peer.pushed.seq, "", /*include_master=*/false, parent_id, options_.batch_events, options_.batch_bytes,
                                        options_.max_scan, &rows, &last, &more_push));
  if (last.seq == peer.pushed.seq) last = peer.pushed;
  Json events = Json::array();
  for (auto& r : rows) {
    auto j = common::ParseJson(r.bytes, "stored event");
    if (!j.ok()) return common::DataLoss("stored event " + r.id + " does not parse");
    events.push_back(std::move(j).value());
  }
  DAIBAN_ASSIGN_OR_RETURN(int64_t pending, store->CountPending(peer.pushed.seq, parent_id));
  Json request = {{"v", kProtocolVersionMax},
                  {"type", kMsgSync},
                  {"from", replica_->node_id()},
                  {"push", {{"base", PositionJson(peer.pushed)}, {"last", PositionJson(last)}, {"events", events}}},
                  {"pull", {{"cursor", PositionJson(peer.pulled)}, {"ack_cursor", peer.ack_cursor}}},
                  {"status", {{"pending", pending}}}};

  DAIBAN_ASSIGN_OR_RETURN(std::string reply_frame, transport->RoundTrip(EncodeFrame(request)));
  auto reply_r = DecodeFrame(reply_frame);
  if (!reply_r.ok()) return common::Unavailable("reply from " + parent_id + " unusable: " + reply_r.status().message());
  const Json& reply = *reply_r;
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
  const Json pull = reply.value("pull", Json::object());
  const Json acks = reply.value("acks", Json::object());
  const int64_t now = replica_->clock()->NowMillis();

  DAIBAN_RETURN_IF_ERROR(store->BeginBatch());
  auto fail = [&](Status s) {
    store->AbortBatch();
    return s;
  };
  // Push outcome.
  bool push_done = false;
  std::string result = push.value("result", "");
  auto received = PositionFrom(push.value("received", Json()), "push.received");
  if (!received.ok()) return fail(common::Unavailable("reply: " + received.status().message()));
  if (result == "rewind") {
    // The parent holds less of my log than I thought (it was restored, or my log was):
    // resume from its position if my log still has that event there, else from the start.
    auto at = store->IdAtSeq(received->seq);
    if (!at.ok()) return fail(at.status());
    peer.pushed = (received->seq != 0 && *at == received->id) ? *received : LogPosition{};
  } else if (result == "applied") {
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
  if (pull.value("reset", false)) peer.pulled = LogPosition{};
  for (const auto& ej : pull.value("events", Json::array())) {
    auto e = EventFromJson(ej);
    Status why;
    if (!e.ok()) {
      why = e.status();
    } else if (!e->is_master() && e->region.compare(0, replica_->prefix().size(), replica_->prefix()) != 0) {
      why = common::PermissionDenied("case " + e->case_id + " is outside this node's jurisdiction");
    }
    if (why.ok()) {
      auto ins = store->Insert(*e, parent_id);
      if (ins.ok()) {
        replica_->hlc()->Observe(e->hlc);
        if (*ins == InsertOutcome::kInserted) ++report->pulled;
        continue;
      }
      if (ins.status().code() != common::StatusCode::kAlreadyExists) return fail(ins.status());
      why = ins.status();
    }
    std::string id = ej.is_object() ? ej.value("id", "") : "";
    Status q = store->Quarantine(id.substr(0, 120), parent_id, "received: " + why.ToString(), now);
    if (!q.ok()) return fail(q);
  }
  auto cursor = PositionFrom(pull.value("cursor", Json()), "pull.cursor");
  if (!cursor.ok()) return fail(common::Unavailable("reply: " + cursor.status().message()));
  peer.pulled = *cursor;
  // Acknowledgements.
  for (const auto& row : acks.value("rows", Json::array())) {
    if (!row.is_array() || row.size() != 4 || !row[0].is_string() || !row[1].is_string() ||
        !row[2].is_number_integer() || !row[3].is_number_integer()) {
      return fail(common::Unavailable("reply: malformed ack row"));
    }
    Status s = store->RaiseAcks(row[0].get<std::string>(), row[1].get<std::string>(), row[2].get<int64_t>(),
                                row[3].get<int64_t>());
    if (!s.ok()) return fail(s);
  }
  peer.ack_cursor = acks.value("cursor", peer.ack_cursor);
  peer.last_error.clear();
  Status put = store->PutPeer(peer);
  if (!put.ok()) return fail(put);
  DAIBAN_RETURN_IF_ERROR(store->CommitBatch());

  push_done = result == "applied" && !more_push;
  *done = push_done && !pull.value("more", false);
  if (progress_) {
    SyncProgress p;
    p.done = report->pushed + report->pulled;
    p.total = p.done + (pending - static_cast<int64_t>(rows.size()) > 0 ? pending - static_cast<int64_t>(rows.size()) : 0);
    progress_(p);
  }
  return Status::Ok();
}

}  // namespace daiban::sync
