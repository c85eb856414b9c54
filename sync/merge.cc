#include "sync/merge.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "common/case_machine.h"
#include "sync/protocol.h"

namespace daiban::sync {

using common::CaseAction;
using common::CaseFacts;
using common::CaseStatus;
using common::Tier;

const std::vector<std::string>& EditableFields() {
  static const std::vector<std::string> fields = {"applicant_id", "applicant_name", "applicant_phone", "note"};
  return fields;
}

namespace {

// Ancestor sets as bitsets over indices into the sorted event vector.
class Ancestry {
 public:
  explicit Ancestry(const std::vector<Event>& events) : n_(events.size()), words_((n_ + 63) / 64) {
    bits_.assign(n_ * words_, 0);
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < n_; ++i) index[events[i].id] = i;
    parents_.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      for (const auto& p : events[i].parents) {
        auto it = index.find(p);
        if (it != index.end() && it->second != i) parents_[i].push_back(it->second);
      }
    }
    state_.assign(n_, 0);
    for (size_t i = 0; i < n_; ++i) Visit(i);
  }

  // True if event a is a (transitive) ancestor of event b.
  bool IsAncestor(size_t a, size_t b) const { return (bits_[b * words_ + a / 64] >> (a % 64)) & 1u; }
  bool Concurrent(size_t a, size_t b) const { return a != b && !IsAncestor(a, b) && !IsAncestor(b, a); }

 private:
  // Iterative DFS; a parent cycle (only possible with forged events) is cut, not followed.
  void Visit(size_t root) {
    if (state_[root] == 2) return;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    state_[root] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < parents_[node].size()) {
        size_t p = parents_[node][next++];
        if (state_[p] == 0) {
          state_[p] = 1;
          stack.emplace_back(p, 0);
        }
        continue;
      }
      for (size_t p : parents_[node]) {
        if (state_[p] != 2) continue;  // on the current path: a cycle
        bits_[node * words_ + p / 64] |= uint64_t{1} << (p % 64);
        for (size_t w = 0; w < words_; ++w) bits_[node * words_ + w] |= bits_[p * words_ + w];
      }
      state_[node] = 2;
      stack.pop_back();
    }
  }

  size_t n_, words_;
  std::vector<uint64_t> bits_;
  std::vector<std::vector<size_t>> parents_;
  std::vector<uint8_t> state_;
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

#ifdef DAIBAN_MUTANT
int g_mutation = 0;
#define DAIBAN_MUTATION(n) (g_mutation == (n))
#else
#define DAIBAN_MUTATION(n) false
#endif

namespace {

// `"key":`. REQUIRES: key is a plain name ([a-z_]), which needs no escaping.
void AppendKey(std::string* out, std::string_view key) {
  out->push_back('"');
  *out += key;
  *out += "\":";
}

// A JSON object written member by member in canonical form (common/json.h).
// REQUIRES: keys are plain names, given in increasing byte order, each once.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) {}
  // The buffer to append the member's value to, after its key.
  std::string* Key(std::string_view key) {
    out_->push_back(count_++ ? ',' : '{');
    AppendKey(out_, key);
    return out_;
  }
  void Str(std::string_view key, std::string_view value) { common::AppendCanonicalString(Key(key), value); }
  void Uint(std::string_view key, uint64_t value) { *Key(key) += std::to_string(value); }
  void Bool(std::string_view key, bool value) { *Key(key) += value ? "true" : "false"; }
  void Close() { *out_ += count_ ? "}" : "{}"; }

 private:
  std::string* out_;
  size_t count_ = 0;
};

// The case state's members (docs/PROTOCOL.md §6), in canonical (byte) order of their names.
enum StateKey : size_t {
  kAcceptLevel, kAcceptedOn, kCase, kComments, kCompletedOn, kConflicts, kCreated, kDecideLevel, kDecision,
  kDeliveredOn, kDepartment, kDueDate, kEvaluation, kEvents, kFields, kFiledTier, kHeads, kHolderTier,
  kIncomplete, kItem, kItemKind, kItemName, kMaterials, kMaterialsRequired, kPromisedDays, kRegion,
  kRejectedReason, kStatus, kSteps, kSubmittedOn, kSuperseded, kSupplementMissing, kSupplementReason,
  kSupplementRequested, kSupplemented, kWithdrawnReason, kStateKeys
};
constexpr std::array<std::string_view, kStateKeys> kStateNames = {
    "accept_level", "accepted_on", "case", "comments", "completed_on", "conflicts", "created", "decide_level",
    "decision", "delivered_on", "department", "due_date", "evaluation", "events", "fields", "filed_tier", "heads",
    "holder_tier", "incomplete", "item", "item_kind", "item_name", "materials", "materials_required",
    "promised_days", "region", "rejected_reason", "status", "steps", "submitted_on", "superseded",
    "supplement_missing", "supplement_reason", "supplement_requested", "supplemented", "withdrawn_reason"};
constexpr bool StateNamesSorted() {
  for (size_t i = 1; i < kStateNames.size(); ++i) {
    if (!(kStateNames[i - 1] < kStateNames[i])) return false;
  }
  return true;
}
static_assert(StateNamesSorted(), "kStateNames must be in byte order: the state is written in that order");

// The case state: members set in any order by StateKey (a later set replaces the value),
// written in key order. A member is present once its value is (no JSON value is empty).
class StateWriter {
 public:
  // The member's buffer, emptied: the caller appends the value's canonical JSON to it.
  // REQUIRES: the caller appends a value.
  std::string* Set(StateKey key) {
    values_[key].clear();
    return &values_[key];
  }
  void Str(StateKey key, std::string_view value) { common::AppendCanonicalString(Set(key), value); }
  void Write(std::string* out) const {
    ObjectWriter o(out);
    for (size_t k = 0; k < kStateKeys; ++k) {
      if (!values_[k].empty()) *o.Key(kStateNames[k]) += values_[k];
    }
    o.Close();
  }

 private:
  std::array<std::string, kStateKeys> values_;
};

// A JSON array written element by element: Next() before each element's JSON.
class CanonicalArray {
 public:
  explicit CanonicalArray(std::string* out) : out_(out) { out_->push_back('['); }
  std::string* Next() {
    if (count_++) out_->push_back(',');
    return out_;
  }
  void Close() { out_->push_back(']'); }

 private:
  std::string* out_;
  size_t count_ = 0;
};

// The string members of a JSON array, as a canonical array (others are skipped).
void AppendStringMembers(std::string* out, const Json* array) {
  CanonicalArray a(out);
  if (array && array->is_array()) {
    for (const auto& v : *array) {
      if (v.is_string()) common::AppendCanonicalString(a.Next(), v.get_ref<const std::string&>());
    }
  }
  a.Close();
}

const Json* Member(const Json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() ? nullptr : &*it;
}

// The companions of a personal field (node/desk.h): "<field>_hash" and "<field>_masked";
// none (empty names) for the other fields.
struct Companions {
  std::string hash, masked;
};
const Companions& CompanionsOf(const std::string& field) {
  static const Companions kId{"applicant_id_hash", "applicant_id_masked"};
  static const Companions kPhone{"applicant_phone_hash", "applicant_phone_masked"};
  static const Companions kNone;
  return field == "applicant_id" ? kId : field == "applicant_phone" ? kPhone : kNone;
}

// What a superseded event is listed with.
std::string SupersededEntry(const std::string& event, std::string_view action, std::string_view reason) {
  std::string out;
  ObjectWriter o(&out);
  o.Str("action", action);
  o.Str("event", event);
  o.Str("reason", reason);
  o.Close();
  return out;
}

// The members of the state a step sets, each with its value's canonical JSON.
using StateMembers = std::vector<std::pair<StateKey, std::string>>;

// Rule 3 for one step taken from the facts reached before it: its entry in the steps
// history, and whether it applies. If it does: the facts after it and the members it sets;
// if not: its superseded entry. FoldCase and ExtendFold both take steps this way.
struct StepTaken {
  bool applied = false;
  std::string entry;       // canonical JSON
  std::string superseded;  // canonical JSON, if not applied
  StateMembers sets;       // if applied
};
StepTaken TakeStep(const Event& e, bool created, CaseFacts* facts) {
  const std::string& action_name = StrOr(e.body, "action");
  auto action = common::ParseCaseAction(action_name);
  std::string reason;
  if (!created) {
    reason = "the case.create event has not arrived yet";
  } else if (!action.ok()) {
    reason = action.status().message();
  } else {
    auto next = common::CheckStep(*facts, *action, e.actor.tier, e.actor.role);
    if (!next.ok()) reason = next.status().message();
  }
  StepTaken out;
  out.applied = reason.empty();
  const std::string& date = StrOr(e.body, "date");
  {
    ObjectWriter step(&out.entry);
    step.Str("action", action_name);
    step.Bool("applied", out.applied);
    if (out.applied) step.Str("date", date);
    step.Str("event", e.id);
    step.Uint("hlc", e.hlc);
    step.Str("tier", common::TierName(e.actor.tier));
    step.Str("user", e.actor.user);
    step.Close();
  }
  if (!out.applied) {
    out.superseded = SupersededEntry(e.id, action_name, reason);
    return out;
  }
  *facts = common::ApplyStep(*facts, *action, e.actor.tier);
  auto set = [&](StateKey key) -> std::string* { return &out.sets.emplace_back(key, std::string()).second; };
  auto str = [&](StateKey key, std::string_view value) { common::AppendCanonicalString(set(key), value); };
  switch (*action) {
    case CaseAction::kAccept:
      str(kAcceptedOn, date);
      str(kDueDate, StrOr(e.body, "due_date"));
      break;
    case CaseAction::kRequestSupplement:
      AppendStringMembers(set(kSupplementMissing), Member(e.body, "missing"));
      str(kSupplementReason, StrOr(e.body, "reason"));
      break;
    case CaseAction::kSupplement: *set(kSupplemented) = "true"; break;
    case CaseAction::kReject: str(kRejectedReason, StrOr(e.body, "reason")); break;
    case CaseAction::kDecide: {
      const Json* ap = Member(e.body, "approved");
      ObjectWriter decision(set(kDecision));
      decision.Bool("approved", ap && ap->is_boolean() && ap->get<bool>());
      decision.Str("on", date);
      decision.Str("reason", StrOr(e.body, "reason"));
      decision.Close();
      break;
    }
    case CaseAction::kComplete: str(kCompletedOn, date); break;
    case CaseAction::kDeliver: str(kDeliveredOn, date); break;
    case CaseAction::kEvaluate: str(kEvaluation, StrOr(e.body, "evaluation")); break;
    case CaseAction::kWithdraw: str(kWithdrawnReason, StrOr(e.body, "reason")); break;
    case CaseAction::kSubmit: str(kSubmittedOn, date); break;
    case CaseAction::kForward: break;
  }
  return out;
}

// JSON this file wrote, parsed; a broken invariant (abort) if it does not parse.
Json ParseOwn(const std::string& canonical, const char* what) {
  auto parsed = common::ParseJson(canonical, what);
  if (!parsed.ok()) {
    std::fprintf(stderr, "merge: wrote %s that does not parse: %s\n", what, parsed.status().message().c_str());
    std::abort();
  }
  return std::move(parsed).value();
}

}  // namespace

// The state is written as canonical JSON as it is worked out, never built as a tree: its
// keys and shapes are those of docs/PROTOCOL.md §6 (tests/sync/fold_test.cc checks the
// bytes against a tree-building statement of the same rules).
CaseFold FoldCase(std::vector<Event> events, FoldOutput output) {
  if (DAIBAN_MUTATION(1)) {  // keep arrival order; drop repeats
    std::set<std::string> seen;
    std::vector<Event> kept;
    for (auto& e : events) {
      if (seen.insert(e.id).second) kept.push_back(std::move(e));
    }
    events = std::move(kept);
  } else {
    std::sort(events.begin(), events.end(), EventOrderLess);
    events.erase(std::unique(events.begin(), events.end(),
                             [](const Event& a, const Event& b) { return a.id == b.id; }),
                 events.end());
  }
  const size_t n = events.size();
  Ancestry anc(events);

  CaseFold out;
  StateWriter state;
  std::vector<std::string> superseded;  // entries, each canonical JSON
  out.region = n ? events[0].region : "";
  state.Str(kCase, n ? events[0].case_id : "");
  state.Str(kRegion, out.region);
  *state.Set(kEvents) = std::to_string(n);

  // Heads of the whole case: events no other event has as an ancestor.
  {
    CanonicalArray heads(state.Set(kHeads));
    for (size_t i = 0; i < n; ++i) {
      bool head = true;
      for (size_t j = 0; j < n && head; ++j) head = !anc.IsAncestor(i, j);
      if (head) common::AppendCanonicalString(heads.Next(), events[i].id);
    }
    heads.Close();
  }

  // The create event: the first case.create in order; later ones are superseded.
  const Event* create = nullptr;
  for (const auto& e : events) {
    if (e.kind != kKindCreate) continue;
    if (!create) {
      create = &e;
    } else {
      superseded.push_back(SupersededEntry(e.id, "create", "the case was already created by " + create->id));
    }
  }
  CaseFacts facts;
  if (create) {
    const Json& b = create->body;
    ObjectWriter created(state.Set(kCreated));
    created.Str("event", create->id);
    created.Uint("hlc", create->hlc);
    created.Str("origin", create->origin);
    created.Str("user", create->actor.user);
    created.Close();
    state.Str(kItem, StrOr(b, "item"));
    state.Str(kItemName, StrOr(b, "item_name"));
    state.Str(kDepartment, StrOr(b, "department"));
    state.Str(kItemKind, StrOr(b, "item_kind"));
    const Json* pd = Member(b, "promised_days");
    *state.Set(kPromisedDays) = std::to_string(pd && pd->is_number_integer() ? pd->get<int64_t>() : 0);
    facts.filed_tier = create->actor.tier;
    facts.accept_level = TierOr(b, "accept_level", Tier::kTownship);
    facts.decide_level = TierOr(b, "decide_level", facts.accept_level);
    facts.holder_tier = facts.filed_tier;
    state.Str(kFiledTier, common::TierName(facts.filed_tier));
    state.Str(kAcceptLevel, common::TierName(facts.accept_level));
    state.Str(kDecideLevel, common::TierName(facts.decide_level));
    AppendStringMembers(state.Set(kMaterialsRequired), Member(b, "materials_required"));
  } else {
    state.Str(kIncomplete, "the case.create event has not arrived yet");
  }

  // Rule 2: fields, last-writer-wins among heads, concurrent heads shown as conflicts.
  // EditableFields() is in byte order and each personal field's companions follow it
  // ("_hash" < "_masked"), so the fields object is written in its canonical order.
  ObjectWriter fields(state.Set(kFields));
  CanonicalArray conflicts(state.Set(kConflicts));
  // Where each event writes fields: the create's body, an edit's "fields"; else none.
  std::vector<const Json*> sources(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const Event& e = events[i];
    if (&e == create) {
      sources[i] = &e.body;
    } else if (e.kind == kKindEdit) {
      const Json* f = Member(e.body, "fields");
      if (f && f->is_object()) sources[i] = f;
    }
  }
  std::vector<size_t> writes, field_heads;
  for (const std::string& field : EditableFields()) {
    writes.clear();
    for (size_t i = 0; i < n; ++i) {
      const Json* v = sources[i] ? Member(*sources[i], field.c_str()) : nullptr;
      if (v && v->is_string()) writes.push_back(i);
    }
    field_heads.clear();
    for (size_t w : writes) {
      bool seen = false;
      for (size_t o : writes) seen = seen || anc.IsAncestor(w, o);
      if (!seen) field_heads.push_back(w);
    }
    if (field_heads.empty()) continue;
    auto value_of = [&](size_t i) -> const std::string& {
      return Member(*sources[i], field.c_str())->get_ref<const std::string&>();
    };
    // Companions (node/desk.h) travel with the value they were written beside: the
    // winner's own or none, so a mask or search hash never describes another value.
    auto companion = [&](size_t i, const std::string& key) -> const std::string* {
      const Json* v = key.empty() ? nullptr : Member(*sources[i], key.c_str());
      return v && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
    };
    size_t winner = field_heads.back();  // events are sorted: the last head is the greatest
    fields.Str(field, value_of(winner));
    const Companions& names = CompanionsOf(field);
    for (const std::string* key : {&names.hash, &names.masked}) {
      if (const std::string* c = companion(winner, *key)) fields.Str(*key, *c);
    }
    if (field_heads.size() > 1 && !DAIBAN_MUTATION(2)) {
      std::string* c = conflicts.Next();
      ObjectWriter conflict(c);
      CanonicalArray candidates(conflict.Key("candidates"));
      for (size_t h : field_heads) {
        ObjectWriter cand(candidates.Next());
        cand.Str("event", events[h].id);
        cand.Uint("hlc", events[h].hlc);
        if (const std::string* m = companion(h, names.masked)) cand.Str("masked", *m);
        cand.Str("origin", events[h].origin);
        cand.Str("user", events[h].actor.user);
        cand.Str("value", value_of(h));
        cand.Close();
      }
      candidates.Close();
      conflict.Str("field", field);
      conflict.Str("winner", events[winner].id);
      conflict.Close();
    }
  }
  conflicts.Close();
  fields.Close();

  // Rule 4: sets.
  std::set<std::string> materials;
  CanonicalArray comments(state.Set(kComments));
  for (const auto& e : events) {
    if (&e == create) AddStrings(e.body, "materials", &materials);
    if (e.kind == kKindMaterials) AddStrings(e.body, "add", &materials);
    const Json* text = e.kind == kKindComment ? Member(e.body, "text") : nullptr;
    if (text && text->is_string()) {
      ObjectWriter comment(comments.Next());
      comment.Str("event", e.id);
      comment.Uint("hlc", e.hlc);
      comment.Str("text", text->get_ref<const std::string&>());
      comment.Str("user", e.actor.user);
      comment.Close();
    }
  }
  comments.Close();
  {
    CanonicalArray m(state.Set(kMaterials));
    for (const auto& v : materials) common::AppendCanonicalString(m.Next(), v);
    m.Close();
  }

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
  CanonicalArray history(state.Set(kSteps));
  *state.Set(kSupplementMissing) = "[]";  // until a step sets them
  *state.Set(kSupplemented) = "false";
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
      if (DAIBAN_MUTATION(3)) auth = 0, tier = Tier::kVillage;
      if (best == n || auth > best_auth || (auth == best_auth && tier > best_tier)) {
        best = s;
        best_auth = auth;
        best_tier = tier;
      }
    }
    if (best == n) break;  // only possible with a parent cycle among forged events
    done[best] = true;
    StepTaken step = TakeStep(events[best], create != nullptr, &facts);
    *history.Next() += step.entry;
    if (!step.applied) superseded.push_back(std::move(step.superseded));
    for (auto& [key, value] : step.sets) *state.Set(key) = std::move(value);
  }
  history.Close();
  out.status = std::string(common::CaseStatusName(facts.status));
  state.Str(kStatus, out.status);
  state.Str(kHolderTier, common::TierName(facts.holder_tier));
  *state.Set(kSupplementRequested) = facts.supplement_requested_before ? "true" : "false";
  {
    CanonicalArray a(state.Set(kSuperseded));
    for (const auto& entry : superseded) *a.Next() += entry;
    a.Close();
  }

  for (const auto& e : events) out.max_hlc = std::max(out.max_hlc, e.hlc);
  state.Write(&out.canonical);
  out.digest = common::Sha256Hex(out.canonical);
  if (output == FoldOutput::kWithState) out.state = ParseOwn(out.canonical, "a case state");
  return out;
}

namespace {

// The facts a fold reached, read back from its state; nullopt if the state lacks them.
std::optional<CaseFacts> FactsOfState(const Json& state) {
  auto status = common::ParseCaseStatus(StrOr(state, "status"));
  auto filed = common::ParseTier(StrOr(state, "filed_tier"));
  auto holder = common::ParseTier(StrOr(state, "holder_tier"));
  auto accept = common::ParseTier(StrOr(state, "accept_level"));
  auto decide = common::ParseTier(StrOr(state, "decide_level"));
  const Json* asked = Member(state, "supplement_requested");
  if (!status.ok() || !filed.ok() || !holder.ok() || !accept.ok() || !decide.ok() || !asked ||
      !asked->is_boolean()) {
    return std::nullopt;
  }
  CaseFacts f;
  f.status = *status;
  f.filed_tier = *filed;
  f.holder_tier = *holder;
  f.accept_level = *accept;
  f.decide_level = *decide;
  f.supplement_requested_before = asked->get<bool>();
  return f;
}

// Rule 2 for an edit that has every event of the case as an ancestor: each field it
// writes has it as its only head, so the value (and companions) are its own and the
// field's conflict is settled.
void ApplyEdit(const Event& e, Json* state) {
  const Json* written = Member(e.body, "fields");
  if (!written || !written->is_object()) return;
  Json& fields = (*state)["fields"];
  Json& conflicts = (*state)["conflicts"];
  for (const std::string& field : EditableFields()) {
    const Json* v = Member(*written, field.c_str());
    if (!v || !v->is_string()) continue;
    fields[field] = *v;
    const Companions& names = CompanionsOf(field);
    for (const std::string* key : {&names.hash, &names.masked}) {
      if (key->empty()) continue;
      const Json* c = Member(*written, key->c_str());
      if (c && c->is_string()) {
        fields[*key] = *c;
      } else {
        fields.erase(*key);
      }
    }
    auto& list = conflicts.get_ref<Json::array_t&>();
    list.erase(std::remove_if(list.begin(), list.end(), [&](const Json& c) { return StrOr(c, "field") == field; }),
               list.end());
  }
}

// True if every head in `state` is among e's parents (sorted, as a valid event's are).
bool SeesEveryHead(const Json& state, const Event& e) {
  const Json* heads = Member(state, "heads");
  if (!heads || !heads->is_array() || heads->empty()) return false;
  for (const auto& h : *heads) {
    if (!h.is_string() || !std::binary_search(e.parents.begin(), e.parents.end(), h.get_ref<const std::string&>())) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<CaseFold> ExtendFold(std::string_view prior, HlcTimestamp prior_max_hlc, std::vector<Event> added,
                                   FoldOutput output) {
#ifdef DAIBAN_MUTANT
  if (g_mutation != 0) return std::nullopt;  // a mutant's rules are FoldCase's alone
#endif
  if (added.empty()) return std::nullopt;
  auto parsed = common::ParseJson(prior, "case state");
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  Json state = std::move(parsed).value();
  const Json* count = Member(state, "events");
  if (Member(state, "incomplete") || !Member(state, "created") || !count || !count->is_number_unsigned()) {
    return std::nullopt;
  }
  for (const char* array : {"conflicts", "comments", "materials", "steps", "superseded"}) {
    const Json* a = Member(state, array);
    if (!a || !a->is_array()) return std::nullopt;
  }
  const Json* fields = Member(state, "fields");
  if (!fields || !fields->is_object()) return std::nullopt;
  std::optional<CaseFacts> facts = FactsOfState(state);
  if (!facts) return std::nullopt;
  std::sort(added.begin(), added.end(), EventOrderLess);
  added.erase(std::unique(added.begin(), added.end(), [](const Event& a, const Event& b) { return a.id == b.id; }),
              added.end());

  uint64_t events = count->get<uint64_t>();
  HlcTimestamp max_hlc = prior_max_hlc;
  for (const Event& e : added) {
    if (e.kind == kKindCreate || e.hlc <= max_hlc || !SeesEveryHead(state, e)) return std::nullopt;
    max_hlc = e.hlc;
    ++events;
    state["heads"] = Json::array({e.id});
    if (e.kind == kKindEdit) {
      ApplyEdit(e, &state);
    } else if (e.kind == kKindMaterials) {  // rule 4: a set, kept sorted
      std::set<std::string> materials;
      AddStrings(state, "materials", &materials);
      AddStrings(e.body, "add", &materials);
      state["materials"] = Json(materials);
    } else if (e.kind == kKindComment) {  // rule 4: comments in rule-1 order, this one last
      const Json* text = Member(e.body, "text");
      if (text && text->is_string()) {
        state["comments"].push_back({{"event", e.id}, {"hlc", e.hlc}, {"text", *text}, {"user", e.actor.user}});
      }
    } else if (e.kind == kKindStep) {  // rule 3: the last step taken, from the facts so far
      StepTaken step = TakeStep(e, true, &*facts);
      state["steps"].push_back(ParseOwn(step.entry, "a step entry"));
      if (!step.applied) state["superseded"].push_back(ParseOwn(step.superseded, "a superseded entry"));
      for (const auto& [key, value] : step.sets) state[std::string(kStateNames[key])] = ParseOwn(value, "a member");
    }
  }
  state["events"] = events;
  CaseFold out;
  out.status = std::string(common::CaseStatusName(facts->status));
  state["status"] = out.status;
  state["holder_tier"] = std::string(common::TierName(facts->holder_tier));
  state["supplement_requested"] = facts->supplement_requested_before;
  out.region = StrOr(state, "region");
  out.max_hlc = max_hlc;
  out.canonical = common::CanonicalJson(state);
  out.digest = common::Sha256Hex(out.canonical);
  if (output == FoldOutput::kWithState) out.state = std::move(state);
  return out;
}

}  // namespace daiban::sync
