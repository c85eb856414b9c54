// A copy of FoldCase as it was written before it wrote its canonical state directly
// (2026-12-04): it builds the state as a JSON tree, the plainest statement of the merge
// rules. tests/sync/fold_test.cc checks that FoldCase writes exactly this tree's
// canonical bytes, since stored digests depend on them. Not for product code.
#include "tests/sync/fold_reference.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/case_machine.h"
#include "sync/merge.h"
#include "sync/protocol.h"

namespace daiban::sync::testing {

namespace {

using common::CaseAction;
using common::CaseFacts;
using common::Tier;

// Each event's ancestors, found the plain way: a walk over parent ids. A parent cycle
// (forged events) is cut where the walk meets an event already on its path, as FoldCase does.
class Ancestry {
 public:
  explicit Ancestry(const std::vector<Event>& events) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < events.size(); ++i) index[events[i].id] = i;
    parents_.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      for (const auto& p : events[i].parents) {
        auto it = index.find(p);
        if (it != index.end() && it->second != i) parents_[i].push_back(it->second);
      }
    }
    ancestors_.resize(events.size());
    state_.assign(events.size(), 0);
    for (size_t i = 0; i < events.size(); ++i) Visit(i);
  }

  bool IsAncestor(size_t a, size_t b) const { return ancestors_[b].count(a) > 0; }

 private:
  void Visit(size_t node) {
    if (state_[node] != 0) return;
    state_[node] = 1;
    for (size_t p : parents_[node]) Visit(p);
    for (size_t p : parents_[node]) {
      if (state_[p] != 2) continue;  // on the current path: a cycle
      ancestors_[node].insert(p);
      ancestors_[node].insert(ancestors_[p].begin(), ancestors_[p].end());
    }
    state_[node] = 2;
  }

  std::vector<std::vector<size_t>> parents_;
  std::vector<std::set<size_t>> ancestors_;
  std::vector<int> state_;
};

int Authority(CaseAction a) {
  switch (a) {
    case CaseAction::kDecide: return 6;
    case CaseAction::kComplete: return 5;
    case CaseAction::kReject:
    case CaseAction::kDeliver: return 4;
    case CaseAction::kAccept:
    case CaseAction::kForward:
    case CaseAction::kRequestSupplement:
    case CaseAction::kEvaluate: return 3;
    case CaseAction::kSubmit:
    case CaseAction::kSupplement: return 2;
    case CaseAction::kWithdraw: return 1;
  }
  return 0;
}

Tier TierOr(const Json& body, const char* key, Tier fallback) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return fallback;
  auto t = common::ParseTier(it->get<std::string>());
  return t.ok() ? *t : fallback;
}

const std::string& StrOr(const Json& body, const char* key) {
  static const std::string kNone;
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get_ref<const std::string&>() : kNone;
}

void AddStrings(const Json& body, const char* key, std::set<std::string>* out) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_array()) return;
  for (const auto& v : *it) {
    if (v.is_string()) out->insert(v.get<std::string>());
  }
}

}  // namespace

Json ReferenceFoldState(std::vector<Event> events) {
  {
    std::sort(events.begin(), events.end(), EventOrderLess);
    events.erase(std::unique(events.begin(), events.end(),
                             [](const Event& a, const Event& b) { return a.id == b.id; }),
                 events.end());
  }
  const size_t n = events.size();
  Ancestry anc(events);

  Json state = Json::object();
  Json superseded = Json::array();
  state["case"] = n ? events[0].case_id : "";
  state["region"] = n ? events[0].region : "";
  state["events"] = n;

  // Heads of the whole case: events no other event has as an ancestor.
  Json heads = Json::array();
  for (size_t i = 0; i < n; ++i) {
    bool head = true;
    for (size_t j = 0; j < n && head; ++j) head = !anc.IsAncestor(i, j);
    if (head) heads.push_back(events[i].id);
  }
  state["heads"] = heads;

  // The create event: the first case.create in order; later ones are superseded.
  const Event* create = nullptr;
  for (const auto& e : events) {
    if (e.kind != kKindCreate) continue;
    if (!create) {
      create = &e;
    } else {
      superseded.push_back({{"event", e.id}, {"action", "create"}, {"reason", "the case was already created by " + create->id}});
    }
  }
  CaseFacts facts;
  if (create) {
    const Json& b = create->body;
    state["created"] = {{"event", create->id}, {"hlc", create->hlc}, {"user", create->actor.user}, {"origin", create->origin}};
    for (const char* k : {"item", "item_name", "department", "item_kind"}) state[k] = StrOr(b, k);
    auto pd = b.find("promised_days");
    state["promised_days"] = pd != b.end() && pd->is_number_integer() ? pd->get<int64_t>() : 0;
    facts.filed_tier = create->actor.tier;
    facts.accept_level = TierOr(b, "accept_level", Tier::kTownship);
    facts.decide_level = TierOr(b, "decide_level", facts.accept_level);
    facts.holder_tier = facts.filed_tier;
    state["filed_tier"] = common::TierName(facts.filed_tier);
    state["accept_level"] = common::TierName(facts.accept_level);
    state["decide_level"] = common::TierName(facts.decide_level);
    Json required = Json::array();
    if (auto it = b.find("materials_required"); it != b.end() && it->is_array()) {
      for (const auto& m : *it) if (m.is_string()) required.push_back(m);
    }
    state["materials_required"] = required;
  } else {
    state["incomplete"] = "the case.create event has not arrived yet";
  }

  // Rule 2: fields, last-writer-wins among heads, concurrent heads shown as conflicts.
  Json fields = Json::object();
  Json conflicts = Json::array();
  for (const std::string& field : EditableFields()) {
    std::vector<size_t> writes;
    for (size_t i = 0; i < n; ++i) {
      const Event& e = events[i];
      const Json* src = nullptr;
      if (&e == create) {
        src = &e.body;
      } else if (e.kind == kKindEdit) {
        auto f = e.body.find("fields");
        if (f != e.body.end() && f->is_object()) src = &*f;
      }
      if (src && src->contains(field) && (*src)[field].is_string()) writes.push_back(i);
    }
    std::vector<size_t> field_heads;
    for (size_t w : writes) {
      bool seen = false;
      for (size_t o : writes) seen = seen || anc.IsAncestor(w, o);
      if (!seen) field_heads.push_back(w);
    }
    if (field_heads.empty()) continue;
    auto value_of = [&](size_t i) -> std::string {
      const Event& e = events[i];
      const Json& src = (&e == create) ? e.body : e.body["fields"];
      return src[field].get<std::string>();
    };
    // Companions (node/desk.h) travel with the value they were written beside: the
    // winner's own or none, so a mask or search hash never describes another value.
    auto companion = [&](size_t i, const std::string& key) -> const Json* {
      const Event& e = events[i];
      const Json& src = (&e == create) ? e.body : e.body["fields"];
      auto it = src.find(key);
      return it != src.end() && it->is_string() ? &*it : nullptr;
    };
    size_t winner = field_heads.back();  // events are sorted: the last head is the greatest
    fields[field] = value_of(winner);
    bool personal = field == "applicant_id" || field == "applicant_phone";
    for (const char* suffix : {"_hash", "_masked"}) {
      if (const Json* c = personal ? companion(winner, field + suffix) : nullptr) fields[field + suffix] = *c;
    }
    if (field_heads.size() > 1) {
      Json candidates = Json::array();
      for (size_t h : field_heads) {
        Json cand = {{"event", events[h].id}, {"value", value_of(h)}, {"origin", events[h].origin},
                     {"user", events[h].actor.user}, {"hlc", events[h].hlc}};
        if (const Json* m = personal ? companion(h, field + "_masked") : nullptr) cand["masked"] = *m;
        candidates.push_back(std::move(cand));
      }
      conflicts.push_back({{"field", field}, {"winner", events[winner].id}, {"candidates", candidates}});
    }
  }
  state["fields"] = fields;
  state["conflicts"] = conflicts;

  // Rule 4: sets.
  std::set<std::string> materials;
  Json comments = Json::array();
  for (const auto& e : events) {
    if (&e == create) AddStrings(e.body, "materials", &materials);
    if (e.kind == kKindMaterials) AddStrings(e.body, "add", &materials);
    if (e.kind == kKindComment && e.body.contains("text") && e.body["text"].is_string()) {
      comments.push_back({{"event", e.id}, {"user", e.actor.user}, {"hlc", e.hlc}, {"text", e.body["text"]}});
    }
  }
  state["materials"] = materials;
  state["comments"] = comments;

  // Rule 3: status by topological order with authority among concurrent steps.
  std::vector<size_t> steps;
  std::vector<int> authority(n, 0);  // of each step's action, read once
  for (size_t i = 0; i < n; ++i) {
    if (events[i].kind != kKindStep) continue;
    steps.push_back(i);
    auto action = common::ParseCaseAction(StrOr(events[i].body, "action"));
    authority[i] = action.ok() ? Authority(*action) : 0;
  }
  std::vector<bool> done(n, false);
  Json history = Json::array();
  Json missing = Json::array();
  bool supplement_done = false;
  for (size_t round = 0; round < steps.size(); ++round) {
    // Ready: unprocessed steps whose ancestor steps are all processed.
    size_t best = n;
    int best_auth = -1;
    Tier best_tier = Tier::kVillage;
    for (size_t s : steps) {
      if (done[s]) continue;
      bool ready = true;
      for (size_t o : steps) ready = ready && (done[o] || o == s || !anc.IsAncestor(o, s));
      if (!ready) continue;
      int auth = authority[s];
      Tier tier = events[s].actor.tier;
      // Strictly greater wins; on equal authority and tier the earlier in rule-1 order (smaller s) stays.
      if (best == n || auth > best_auth || (auth == best_auth && tier > best_tier)) {
        best = s;
        best_auth = auth;
        best_tier = tier;
      }
    }
    if (best == n) break;  // only possible with a parent cycle among forged events
    done[best] = true;
    const Event& e = events[best];
    const std::string& action_name = StrOr(e.body, "action");
    auto action = common::ParseCaseAction(action_name);
    std::string reason;
    if (!create) {
      reason = "the case.create event has not arrived yet";
    } else if (!action.ok()) {
      reason = action.status().message();
    } else {
      auto next = common::CheckStep(facts, *action, e.actor.tier, e.actor.role);
      if (!next.ok()) reason = next.status().message();
    }
    if (!reason.empty()) {
      superseded.push_back({{"event", e.id}, {"action", action_name}, {"reason", reason}});
      history.push_back({{"event", e.id}, {"action", action_name}, {"user", e.actor.user},
                         {"tier", common::TierName(e.actor.tier)}, {"hlc", e.hlc}, {"applied", false}});
      continue;
    }
    facts = common::ApplyStep(facts, *action, e.actor.tier);
    const std::string& date = StrOr(e.body, "date");
    history.push_back({{"event", e.id}, {"action", action_name}, {"user", e.actor.user},
                       {"tier", common::TierName(e.actor.tier)}, {"hlc", e.hlc}, {"applied", true}, {"date", date}});
    switch (*action) {
      case CaseAction::kAccept:
        state["accepted_on"] = date;
        state["due_date"] = StrOr(e.body, "due_date");
        break;
      case CaseAction::kRequestSupplement:
        missing = Json::array();
        if (auto it = e.body.find("missing"); it != e.body.end() && it->is_array()) {
          for (const auto& m : *it) if (m.is_string()) missing.push_back(m);
        }
        state["supplement_reason"] = StrOr(e.body, "reason");
        break;
      case CaseAction::kSupplement: supplement_done = true; break;
      case CaseAction::kReject: state["rejected_reason"] = StrOr(e.body, "reason"); break;
      case CaseAction::kDecide: {
        auto ap = e.body.find("approved");
        state["decision"] = {{"approved", ap != e.body.end() && ap->is_boolean() && ap->get<bool>()},
                             {"reason", StrOr(e.body, "reason")}, {"on", date}};
        break;
      }
      case CaseAction::kComplete: state["completed_on"] = date; break;
      case CaseAction::kDeliver: state["delivered_on"] = date; break;
      case CaseAction::kEvaluate: state["evaluation"] = StrOr(e.body, "evaluation"); break;
      case CaseAction::kWithdraw: state["withdrawn_reason"] = StrOr(e.body, "reason"); break;
      case CaseAction::kSubmit: state["submitted_on"] = date; break;
      case CaseAction::kForward: break;
    }
  }
  state["status"] = common::CaseStatusName(facts.status);
  state["holder_tier"] = common::TierName(facts.holder_tier);
  state["supplement_requested"] = facts.supplement_requested_before;
  state["supplement_missing"] = missing;
  state["supplemented"] = supplement_done;
  state["steps"] = history;
  state["superseded"] = superseded;

  return state;
}

}  // namespace daiban::sync::testing
