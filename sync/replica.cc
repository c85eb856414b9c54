#include "sync/replica.h"

#include <algorithm>

#include "sync/protocol.h"

namespace daiban::sync {

using common::Json;
using common::Result;
using common::Status;

std::string_view CaseSyncStateName(CaseSyncState s) {
  switch (s) {
    case CaseSyncState::kLocalOnly: return "local";
    case CaseSyncState::kAtParent: return "parent";
    case CaseSyncState::kAtHub: return "hub";
  }
  return "local";
}

Replica::Replica(std::unique_ptr<EventStore> store, const common::Clock* clock)
    : store_(std::move(store)), clock_(clock), hlc_(clock), prefix_(RegionPrefix(store_->region())) {
  // Continue after every timestamp already stored (a restored or restarted node).
  auto q = store_->db()->Prepare("SELECT COALESCE(MAX(hlc), 0) FROM events");
  if (q.ok() && (*q)->Step().ok()) hlc_.Observe(static_cast<common::HlcTimestamp>((*q)->ColumnInt(0)));
  if (q.ok()) (*q)->Reset();
}

common::Date Replica::Today() const { return common::DateFromUnixMillisCst(clock_->NowMillis()); }

Result<Event> Replica::Append(const std::string& case_id, const std::string& region, std::string_view kind,
                              Json body, const std::string& user, common::Role role) {
  Event e;
  e.case_id = case_id;
  e.region = region;
  e.kind = std::string(kind);
  if (e.is_master()) {
    if (!store_->is_hub()) return common::PermissionDenied("master data is written only at the city hub");
  } else if (region.compare(0, prefix_.size(), prefix_) != 0) {
    return common::PermissionDenied("case " + case_id + " lies outside this node's jurisdiction (" + prefix_ + ")");
  }
  if (!e.is_master()) {
    auto heads = store_->CaseHeads(case_id);
    if (heads.ok()) {
      e.parents = std::move(heads).value();
      std::sort(e.parents.begin(), e.parents.end());
    } else if (heads.status().code() != common::StatusCode::kNotFound) {
      return heads.status();
    } else if (kind != kKindCreate) {
      return common::NotFound("case " + case_id + " is not stored here");
    }
  }
  e.origin = store_->node_id();
  e.origin_region = store_->region();
  e.actor = {user, role, store_->tier()};
  e.body = std::move(body);
  e.hlc = hlc_.Now();  // after every stored event was observed, so after all parents
  e.id = MakeEventId(e.origin, store_->incarnation(), store_->NextCounter());
  // Validate exactly as a receiver would.
  DAIBAN_ASSIGN_OR_RETURN(Event checked, EventFromJson(EventToJson(e)));
  DAIBAN_RETURN_IF_ERROR(store_->BeginBatch());
  auto ins = store_->Insert(checked, "");
  if (!ins.ok()) {
    store_->AbortBatch();
    return ins.status();
  }
  DAIBAN_RETURN_IF_ERROR(store_->CommitBatch());
  return checked;
}

Result<Event> Replica::CreateCase(const std::string& region, Json body, const std::string& user,
                                  common::Role role) {
  if (region.size() != 12) return common::InvalidArgument("region must be a 12-digit code");
  std::string case_id = region + "-" + Today().ToString().substr(0, 4) + Today().ToString().substr(5, 2) +
                        Today().ToString().substr(8, 2) + "-" + store_->incarnation() + "-" +
                        std::to_string(++case_counter_);
  return Append(case_id, region, kKindCreate, std::move(body), user, role);
}

Result<common::CaseFacts> Replica::FactsOf(const Json& state) {
  if (state.contains("incomplete")) return common::FailedPrecondition("the case has not fully arrived here yet");
  common::CaseFacts f;
  DAIBAN_ASSIGN_OR_RETURN(f.status, common::ParseCaseStatus(state.value("status", "")));
  DAIBAN_ASSIGN_OR_RETURN(f.filed_tier, common::ParseTier(state.value("filed_tier", "")));
  DAIBAN_ASSIGN_OR_RETURN(f.holder_tier, common::ParseTier(state.value("holder_tier", "")));
  DAIBAN_ASSIGN_OR_RETURN(f.accept_level, common::ParseTier(state.value("accept_level", "")));
  DAIBAN_ASSIGN_OR_RETURN(f.decide_level, common::ParseTier(state.value("decide_level", "")));
  f.supplement_requested_before = state.value("supplement_requested", false);
  return f;
}

Result<Event> Replica::Step(const std::string& case_id, common::CaseAction action, Json extra,
                            const std::string& user, common::Role role, const common::WorkCalendar& calendar) {
  DAIBAN_ASSIGN_OR_RETURN(CaseFold fold, store_->GetCase(case_id));
  DAIBAN_ASSIGN_OR_RETURN(common::CaseFacts facts, FactsOf(fold.state));
  DAIBAN_RETURN_IF_ERROR(common::CheckStep(facts, action, store_->tier(), role).status());
  Json body = extra.is_object() ? std::move(extra) : Json::object();
  body["action"] = std::string(common::CaseActionName(action));
  common::Date today = Today();
  body["date"] = today.ToString();
  if (action == common::CaseAction::kAccept) {
    int days = static_cast<int>(fold.state.value("promised_days", int64_t{0}));
    body["due_date"] = common::DueDate(today, days, calendar).ToString();
  }
  return Append(case_id, fold.state.value("region", ""), kKindStep, std::move(body), user, role);
}

Result<Json> Replica::LatestMaster(std::string_view kind) {
  DAIBAN_ASSIGN_OR_RETURN(std::vector<Event> events, store_->CaseEvents(""));
  Json best = nullptr;
  int64_t best_version = -1;
  for (const auto& e : events) {
    if (e.kind != kind) continue;
    auto v = e.body.find("version");
    if (v == e.body.end() || !v->is_number_integer()) continue;
    if (v->get<int64_t>() > best_version) {
      best_version = v->get<int64_t>();
      best = e.body;
    }
  }
  return best;
}

Result<CaseSyncState> Replica::SyncStateOf(const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(std::vector<Event> events, store_->CaseEvents(case_id));
  CaseSyncState state = CaseSyncState::kAtHub;
  for (const auto& e : events) {
    if (e.origin != store_->node_id()) continue;
    auto parts = ParseEventId(e.id);
    if (!parts.ok()) continue;
    DAIBAN_ASSIGN_OR_RETURN(VvRow v, store_->GetVv(e.origin + "." + parts->incarnation));
    if (store_->is_hub()) continue;
    if (v.up < parts->counter && v.hub < parts->counter) return CaseSyncState::kLocalOnly;
    if (v.hub < parts->counter) state = CaseSyncState::kAtParent;
  }
  return state;
}

}  // namespace daiban::sync
