#include "common/case_machine.h"

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/calendar.h"
#include "common/date.h"
#include "common/status.h"
#include "common/tier.h"
#include "gtest/gtest.h"

namespace daiban::common {
namespace {

// ---------------------------------------------------------------------------
// An independent re-statement of the rules in common/case_machine.h. Nothing in
// this oracle calls the implementation; it is written from the header comment.
// ---------------------------------------------------------------------------

constexpr std::array<CaseStatus, 12> kStatuses = {
    CaseStatus::kDraft,        CaseStatus::kSubmitted, CaseStatus::kSupplementRequested,
    CaseStatus::kSupplemented, CaseStatus::kAccepted,  CaseStatus::kRejected,
    CaseStatus::kForwarded,    CaseStatus::kDecided,   CaseStatus::kCompleted,
    CaseStatus::kDelivered,    CaseStatus::kEvaluated, CaseStatus::kWithdrawn,
};

constexpr std::array<CaseAction, 11> kActions = {
    CaseAction::kSubmit,  CaseAction::kRequestSupplement, CaseAction::kSupplement, CaseAction::kAccept,
    CaseAction::kReject,  CaseAction::kForward,           CaseAction::kDecide,     CaseAction::kComplete,
    CaseAction::kDeliver, CaseAction::kEvaluate,          CaseAction::kWithdraw,
};

constexpr std::array<Tier, 4> kTiers = {Tier::kVillage, Tier::kTownship, Tier::kCounty, Tier::kCity};
constexpr std::array<Role, 5> kRoles = {Role::kAgent, Role::kClerk, Role::kSupervisor, Role::kAdmin,
                                        Role::kSystem};

// Wire names as the header documents them, indexed like kStatuses / kActions.
constexpr std::array<std::string_view, 12> kStatusNames = {
    "draft",        "submitted", "supplement_requested",
    "supplemented", "accepted",  "rejected",
    "forwarded",    "decided",   "completed",
    "delivered",    "evaluated", "withdrawn",
};
constexpr std::array<std::string_view, 11> kActionNames = {
    "submit", "request_supplement", "supplement", "accept",   "reject",   "forward",
    "decide", "complete",           "deliver",    "evaluate", "withdraw",
};

std::string_view OracleName(CaseStatus s) {
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == s) return kStatusNames[i];
  }
  return "?";
}
std::string_view OracleName(CaseAction a) {
  for (size_t i = 0; i < kActions.size(); ++i) {
    if (kActions[i] == a) return kActionNames[i];
  }
  return "?";
}
std::string_view OracleName(Tier t) {
  switch (t) {
    case Tier::kVillage:
      return "village";
    case Tier::kTownship:
      return "township";
    case Tier::kCounty:
      return "county";
    case Tier::kCity:
      return "city";
  }
  return "?";
}
std::string_view OracleName(Role r) {
  switch (r) {
    case Role::kAgent:
      return "agent";
    case Role::kClerk:
      return "clerk";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kAdmin:
      return "admin";
    case Role::kSystem:
      return "system";
  }
  return "?";
}

int Rank(Tier t) { return static_cast<int>(t); }
Tier TierOfRank(int r) { return static_cast<Tier>(r); }

// One arrow of the diagram / one line of the rules.
struct Edge {
  CaseStatus from;
  CaseAction action;
  CaseStatus to;
};
constexpr std::array<Edge, 21> kEdges = {{
    {CaseStatus::kDraft, CaseAction::kSubmit, CaseStatus::kSubmitted},
    {CaseStatus::kSubmitted, CaseAction::kRequestSupplement, CaseStatus::kSupplementRequested},
    {CaseStatus::kSupplementRequested, CaseAction::kSupplement, CaseStatus::kSupplemented},
    {CaseStatus::kSubmitted, CaseAction::kAccept, CaseStatus::kAccepted},
    {CaseStatus::kSupplemented, CaseAction::kAccept, CaseStatus::kAccepted},
    {CaseStatus::kSubmitted, CaseAction::kReject, CaseStatus::kRejected},
    {CaseStatus::kSupplemented, CaseAction::kReject, CaseStatus::kRejected},
    {CaseStatus::kAccepted, CaseAction::kForward, CaseStatus::kForwarded},
    {CaseStatus::kForwarded, CaseAction::kForward, CaseStatus::kForwarded},
    {CaseStatus::kAccepted, CaseAction::kDecide, CaseStatus::kDecided},
    {CaseStatus::kForwarded, CaseAction::kDecide, CaseStatus::kDecided},
    {CaseStatus::kDecided, CaseAction::kComplete, CaseStatus::kCompleted},
    {CaseStatus::kCompleted, CaseAction::kDeliver, CaseStatus::kDelivered},
    {CaseStatus::kCompleted, CaseAction::kEvaluate, CaseStatus::kEvaluated},
    {CaseStatus::kDelivered, CaseAction::kEvaluate, CaseStatus::kEvaluated},
    {CaseStatus::kDraft, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
    {CaseStatus::kSubmitted, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
    {CaseStatus::kSupplementRequested, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
    {CaseStatus::kSupplemented, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
    {CaseStatus::kAccepted, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
    {CaseStatus::kForwarded, CaseAction::kWithdraw, CaseStatus::kWithdrawn},
}};

// Conditions on the case (not on the caller) that the rules attach to a step:
// request_supplement only once; forward only while the holder is below decide_level;
// decide only by the tier at decide_level holding the case.
bool CaseGuardHolds(const CaseFacts& f, CaseAction a) {
  switch (a) {
    case CaseAction::kRequestSupplement:
      return !f.supplement_requested_before;
    case CaseAction::kForward:
      return Rank(f.holder_tier) < Rank(f.decide_level);
    case CaseAction::kDecide:
      return f.holder_tier == f.decide_level;
    default:
      return true;
  }
}

// The status after `a` if the case allows it (role and tier aside).
std::optional<CaseStatus> OracleNext(const CaseFacts& f, CaseAction a) {
  for (const Edge& e : kEdges) {
    if (e.from == f.status && e.action == a && CaseGuardHolds(f, a)) return e.to;
  }
  return std::nullopt;
}

// Whether `role` at `tier` may take `a` (status aside).
bool OracleMay(const CaseFacts& f, CaseAction a, Tier tier, Role role) {
  const bool person = role == Role::kAgent || role == Role::kClerk;
  const bool clerk = role == Role::kClerk;
  const int t = Rank(tier);
  switch (a) {
    case CaseAction::kSubmit:
    case CaseAction::kSupplement:
      return person && tier == f.filed_tier;
    case CaseAction::kRequestSupplement:
    case CaseAction::kAccept:
    case CaseAction::kReject:
      return clerk && tier == f.accept_level;
    case CaseAction::kForward:
      return clerk && tier == f.holder_tier;
    case CaseAction::kDecide:
      return clerk && tier == f.decide_level && tier == f.holder_tier;
    case CaseAction::kComplete:
      return clerk && t >= Rank(f.accept_level) && t <= Rank(f.decide_level);
    case CaseAction::kDeliver:
    case CaseAction::kWithdraw:
      return person && t <= Rank(f.decide_level);
    case CaseAction::kEvaluate:
      return person && t <= Rank(f.accept_level);
  }
  return false;
}

// Actions the case allows now (role and tier aside), in CaseAction order.
std::vector<CaseAction> OracleAllowedFromHere(const CaseFacts& f) {
  std::vector<CaseAction> out;
  for (CaseAction a : kActions) {
    if (OracleNext(f, a).has_value()) out.push_back(a);
  }
  return out;
}

std::vector<CaseAction> OracleAllowedActions(const CaseFacts& f, Tier tier, Role role) {
  std::vector<CaseAction> out;
  for (CaseAction a : kActions) {
    if (OracleNext(f, a).has_value() && OracleMay(f, a, tier, role)) out.push_back(a);
  }
  return out;
}

// The holder tiers a case in `status` can have for an item accepted at `accept`
// and decided at `decide`, filed at `filed`.
std::vector<Tier> HoldersFor(CaseStatus status, Tier filed, Tier accept, Tier decide) {
  std::vector<Tier> forwarded;  // strictly above accept, up to decide
  for (int r = Rank(accept) + 1; r <= Rank(decide); ++r) forwarded.push_back(TierOfRank(r));
  switch (status) {
    case CaseStatus::kDraft:
      return {filed};
    case CaseStatus::kSubmitted:
    case CaseStatus::kSupplementRequested:
    case CaseStatus::kSupplemented:
    case CaseStatus::kAccepted:
    case CaseStatus::kRejected:
      return {accept};
    case CaseStatus::kForwarded:
      return forwarded;  // empty when the item is decided where it is accepted
    case CaseStatus::kDecided:
    case CaseStatus::kCompleted:
    case CaseStatus::kDelivered:
    case CaseStatus::kEvaluated:
      return {decide};
    case CaseStatus::kWithdrawn: {
      std::set<Tier> all = {filed, accept};
      all.insert(forwarded.begin(), forwarded.end());
      return {all.begin(), all.end()};
    }
  }
  return {};
}

struct Item {
  Tier accept;
  Tier decide;
};
constexpr std::array<Item, 4> kItems = {{
    {Tier::kTownship, Tier::kTownship},  // on the spot (即办)
    {Tier::kTownship, Tier::kCounty},
    {Tier::kTownship, Tier::kCity},
    {Tier::kCounty, Tier::kCounty},
}};

std::vector<CaseFacts> RepresentativeFacts() {
  std::vector<CaseFacts> out;
  for (const Item& item : kItems) {
    for (Tier filed : {Tier::kVillage, Tier::kTownship}) {
      for (CaseStatus status : kStatuses) {
        for (bool asked : {false, true}) {
          for (Tier holder : HoldersFor(status, filed, item.accept, item.decide)) {
            CaseFacts f;
            f.status = status;
            f.filed_tier = filed;
            f.holder_tier = holder;
            f.accept_level = item.accept;
            f.decide_level = item.decide;
            f.supplement_requested_before = asked;
            out.push_back(f);
          }
        }
      }
    }
  }
  return out;
}

std::string Describe(const CaseFacts& f) {
  return "status=" + std::string(OracleName(f.status)) + " filed=" + std::string(OracleName(f.filed_tier)) +
         " holder=" + std::string(OracleName(f.holder_tier)) +
         " accept=" + std::string(OracleName(f.accept_level)) +
         " decide=" + std::string(OracleName(f.decide_level)) +
         " asked_before=" + (f.supplement_requested_before ? "true" : "false");
}

std::string Describe(const CaseFacts& f, CaseAction a, Tier tier, Role role) {
  return Describe(f) + " action=" + std::string(OracleName(a)) + " by=" + std::string(OracleName(role)) +
         "@" + std::string(OracleName(tier));
}

std::string Names(const std::vector<CaseAction>& actions) {
  std::string out;
  for (CaseAction a : actions) {
    if (!out.empty()) out += ", ";
    out += OracleName(a);
  }
  return out;
}

// The action names listed at the end of a kFailedPrecondition message
// ("...allowed from here: forward, withdraw"); tokens that are not action names
// (e.g. "nothing") are dropped.
std::vector<CaseAction> ListedActions(const std::string& message) {
  std::vector<CaseAction> out;
  const size_t colon = message.rfind(": ");
  if (colon == std::string::npos) return out;
  std::string_view tail = std::string_view(message).substr(colon + 2);
  while (!tail.empty()) {
    const size_t comma = tail.find(", ");
    const std::string_view token = tail.substr(0, comma);
    for (size_t i = 0; i < kActionNames.size(); ++i) {
      if (kActionNames[i] == token) out.push_back(kActions[i]);
    }
    if (comma == std::string_view::npos) break;
    tail = tail.substr(comma + 2);
  }
  return out;
}

// Takes one step that must be allowed and returns the facts after it.
CaseFacts Step(const CaseFacts& f, CaseAction a, Tier tier, Role role) {
  Result<CaseStatus> next = CheckStep(f, a, tier, role);
  if (!next.ok()) {
    ADD_FAILURE() << Describe(f, a, tier, role) << ": " << next.status().ToString();
    return f;
  }
  CaseFacts after = ApplyStep(f, a, tier);
  EXPECT_EQ(CaseStatusName(after.status), CaseStatusName(*next)) << Describe(f, a, tier, role);
  return after;
}

CaseFacts NewCase(Tier filed, Tier accept, Tier decide) {
  CaseFacts f;
  f.status = CaseStatus::kDraft;
  f.filed_tier = filed;
  f.holder_tier = filed;
  f.accept_level = accept;
  f.decide_level = decide;
  return f;
}

// ---------------------------------------------------------------------------
// 1. Exhaustive table: every status x action x facts x tier x role.
// ---------------------------------------------------------------------------

TEST(CaseMachineTest, AllStatusesAndActionsAreEnumerated) {
  EXPECT_EQ(AllCaseStatuses(), std::vector<CaseStatus>(kStatuses.begin(), kStatuses.end()));
  EXPECT_EQ(AllCaseActions(), std::vector<CaseAction>(kActions.begin(), kActions.end()));
}

TEST(CaseMachineTest, ExhaustiveCheckStepMatchesRules) {
  const std::vector<CaseFacts> facts = RepresentativeFacts();
  // Every status appears in the table (forwarded only for items decided above
  // where they are accepted).
  std::set<CaseStatus> statuses_seen;
  for (const CaseFacts& f : facts) statuses_seen.insert(f.status);
  ASSERT_EQ(statuses_seen.size(), kStatuses.size());

  std::map<std::pair<CaseStatus, CaseAction>, int> ok_count;
  std::map<std::pair<CaseStatus, CaseAction>, int> denied_count;
  int checks = 0;
  int failures = 0;
  for (const CaseFacts& f : facts) {
    for (CaseAction a : AllCaseActions()) {
      const std::optional<CaseStatus> next = OracleNext(f, a);
      for (Tier tier : kTiers) {
        for (Role role : kRoles) {
          ++checks;
          if (failures > 25) FAIL() << "too many mismatches; stopping";
          const Result<CaseStatus> got = CheckStep(f, a, tier, role);
          const std::string where = Describe(f, a, tier, role);
          if (!next.has_value()) {
            if (got.status().code() != StatusCode::kFailedPrecondition) {
              ++failures;
              ADD_FAILURE() << where << ": want failed_precondition, got "
                            << (got.ok() ? "ok" : got.status().ToString());
              continue;
            }
            // The message names the current status and lists what the case allows now.
            const std::string msg = got.status().message();
            if (msg.find(OracleName(f.status)) == std::string::npos ||
                ListedActions(msg) != OracleAllowedFromHere(f)) {
              ++failures;
              ADD_FAILURE() << where << ": message should name the status and list ["
                            << Names(OracleAllowedFromHere(f)) << "]; got: " << msg;
            }
            continue;
          }
          if (!OracleMay(f, a, tier, role)) {
            if (got.status().code() != StatusCode::kPermissionDenied) {
              ++failures;
              ADD_FAILURE() << where << ": want permission_denied, got "
                            << (got.ok() ? "ok" : got.status().ToString());
            } else {
              if (got.status().message().empty()) {
                ++failures;
                ADD_FAILURE() << where << ": permission_denied without a message";
              }
              ++denied_count[{f.status, a}];
            }
            continue;
          }
          if (!got.ok()) {
            ++failures;
            ADD_FAILURE() << where << ": want ok -> " << OracleName(*next) << ", got "
                          << got.status().ToString();
            continue;
          }
          if (*got != *next) {
            ++failures;
            ADD_FAILURE() << where << ": want " << OracleName(*next) << ", got " << OracleName(*got);
            continue;
          }
          ++ok_count[{f.status, a}];

          // ApplyStep agrees and updates holder tier and supplement flag as documented.
          const CaseFacts after = ApplyStep(f, a, tier);
          Tier want_holder = f.holder_tier;
          if (a == CaseAction::kSubmit) want_holder = f.accept_level;
          if (a == CaseAction::kForward) {
            want_holder = TierOfRank(Rank(f.holder_tier) + 1);
          }
          const bool want_asked = f.supplement_requested_before || a == CaseAction::kRequestSupplement;
          if (after.status != *next || after.holder_tier != want_holder ||
              after.supplement_requested_before != want_asked || after.filed_tier != f.filed_tier ||
              after.accept_level != f.accept_level || after.decide_level != f.decide_level) {
            ++failures;
            ADD_FAILURE() << where << ": ApplyStep gave " << Describe(after) << "; want status "
                          << OracleName(*next) << " holder " << OracleName(want_holder) << " asked_before "
                          << want_asked;
          }
        }
      }
    }
  }
  EXPECT_EQ(static_cast<size_t>(checks), facts.size() * kActions.size() * kTiers.size() * kRoles.size());
  EXPECT_GE(facts.size(), 200u);

  // Every allowed transition was taken at least once and refused (wrong role or tier)
  // at least once; every other (status, action) pair was always refused.
  for (const Edge& e : kEdges) {
    EXPECT_GT((ok_count[{e.from, e.action}]), 0)
        << OracleName(e.from) << " --" << OracleName(e.action) << "--> never allowed";
    EXPECT_GT((denied_count[{e.from, e.action}]), 0)
        << OracleName(e.from) << " --" << OracleName(e.action) << "--> never denied";
  }
  for (const auto& [key, count] : ok_count) {
    bool is_edge = false;
    for (const Edge& e : kEdges) is_edge = is_edge || (e.from == key.first && e.action == key.second);
    EXPECT_TRUE(is_edge) << OracleName(key.first) << " --" << OracleName(key.second) << "--> allowed "
                         << count << " times but is not a rule";
  }
}

// 4. AllowedActions lists exactly the steps CheckStep allows, in CaseAction order.
TEST(CaseMachineTest, AllowedActionsMatchesCheckStepAndRules) {
  for (const CaseFacts& f : RepresentativeFacts()) {
    for (Tier tier : kTiers) {
      for (Role role : kRoles) {
        std::vector<CaseAction> via_check;
        for (CaseAction a : AllCaseActions()) {
          if (CheckStep(f, a, tier, role).ok()) via_check.push_back(a);
        }
        const std::vector<CaseAction> got = AllowedActions(f, tier, role);
        ASSERT_EQ(got, via_check) << Describe(f) << " by " << OracleName(role) << "@" << OracleName(tier)
                                  << ": [" << Names(got) << "] vs [" << Names(via_check) << "]";
        ASSERT_EQ(got, OracleAllowedActions(f, tier, role))
            << Describe(f) << " by " << OracleName(role) << "@" << OracleName(tier) << ": [" << Names(got)
            << "] vs rules [" << Names(OracleAllowedActions(f, tier, role)) << "]";
      }
    }
  }
}

// ---------------------------------------------------------------------------
// 2. Headline paths.
// ---------------------------------------------------------------------------

TEST(CaseMachineTest, FullProxyPath_VillageToCountyDecision) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kCounty);
  EXPECT_FALSE(IsClockRunning(f.status));

  f = Step(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.status, CaseStatus::kSubmitted);
  EXPECT_EQ(f.holder_tier, Tier::kTownship);

  f = Step(f, CaseAction::kRequestSupplement, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kSupplementRequested);
  EXPECT_TRUE(f.supplement_requested_before);

  f = Step(f, CaseAction::kSupplement, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.status, CaseStatus::kSupplemented);
  EXPECT_FALSE(IsClockRunning(f.status));

  f = Step(f, CaseAction::kAccept, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kAccepted);
  EXPECT_EQ(f.holder_tier, Tier::kTownship);
  EXPECT_TRUE(IsClockRunning(f.status));
  // The township may not decide a county item; it may only forward it.
  EXPECT_EQ(AllowedActions(f, Tier::kTownship, Role::kClerk),
            (std::vector<CaseAction>{CaseAction::kForward, CaseAction::kWithdraw}));
  EXPECT_FALSE(CheckStep(f, CaseAction::kDecide, Tier::kTownship, Role::kClerk).ok());
  EXPECT_FALSE(CheckStep(f, CaseAction::kDecide, Tier::kCounty, Role::kClerk).ok());

  f = Step(f, CaseAction::kForward, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kForwarded);
  EXPECT_EQ(f.holder_tier, Tier::kCounty);
  EXPECT_TRUE(IsClockRunning(f.status));
  // Now at the deciding tier: no further forwarding.
  EXPECT_EQ(CheckStep(f, CaseAction::kForward, Tier::kCounty, Role::kClerk).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckStep(f, CaseAction::kDecide, Tier::kTownship, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);

  f = Step(f, CaseAction::kDecide, Tier::kCounty, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kDecided);
  EXPECT_TRUE(IsClockRunning(f.status));
  EXPECT_FALSE(IsBeforeDecision(f.status));

  f = Step(f, CaseAction::kComplete, Tier::kCounty, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kCompleted);
  EXPECT_FALSE(IsClockRunning(f.status));
  EXPECT_FALSE(IsFinal(f.status));

  f = Step(f, CaseAction::kDeliver, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.status, CaseStatus::kDelivered);

  f = Step(f, CaseAction::kEvaluate, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.status, CaseStatus::kEvaluated);
  EXPECT_TRUE(IsFinal(f.status));
  for (Tier tier : kTiers) {
    for (Role role : kRoles) EXPECT_TRUE(AllowedActions(f, tier, role).empty());
  }
}

TEST(CaseMachineTest, OnTheSpotPath_TownshipAcceptsAndDecides) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kTownship);
  f = Step(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.holder_tier, Tier::kTownship);
  f = Step(f, CaseAction::kAccept, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(AllowedActions(f, Tier::kTownship, Role::kClerk),
            (std::vector<CaseAction>{CaseAction::kDecide, CaseAction::kWithdraw}));
  const Status forward = CheckStep(f, CaseAction::kForward, Tier::kTownship, Role::kClerk).status();
  EXPECT_EQ(forward.code(), StatusCode::kFailedPrecondition) << forward.ToString();
  f = Step(f, CaseAction::kDecide, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kDecided);
  EXPECT_EQ(f.holder_tier, Tier::kTownship);
  // Completing is for the township itself; the county is above decide_level.
  EXPECT_EQ(CheckStep(f, CaseAction::kComplete, Tier::kCounty, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  f = Step(f, CaseAction::kComplete, Tier::kTownship, Role::kClerk);
  // Evaluation straight from completed (no delivery step).
  f = Step(f, CaseAction::kEvaluate, Tier::kVillage, Role::kAgent);
  EXPECT_EQ(f.status, CaseStatus::kEvaluated);
}

TEST(CaseMachineTest, OnTheSpotPath_FiledAtTheTownshipWindow) {
  CaseFacts f = NewCase(Tier::kTownship, Tier::kTownship, Tier::kTownship);
  EXPECT_EQ(CheckStep(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent).status().code(),
            StatusCode::kPermissionDenied);
  f = Step(f, CaseAction::kSubmit, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kAccept, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kDecide, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kComplete, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kDeliver, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kEvaluate, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kEvaluated);
}

TEST(CaseMachineTest, CityItemIsForwardedTwice) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kCity);
  f = Step(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent);
  f = Step(f, CaseAction::kAccept, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kForward, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.holder_tier, Tier::kCounty);
  // The township no longer holds it.
  EXPECT_EQ(CheckStep(f, CaseAction::kForward, Tier::kTownship, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  // The county does not decide a city item.
  EXPECT_EQ(CheckStep(f, CaseAction::kDecide, Tier::kCounty, Role::kClerk).status().code(),
            StatusCode::kFailedPrecondition);
  f = Step(f, CaseAction::kForward, Tier::kCounty, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kForwarded);
  EXPECT_EQ(f.holder_tier, Tier::kCity);
  f = Step(f, CaseAction::kDecide, Tier::kCity, Role::kClerk);
  // Any tier from accept (township) to decide (city) may complete.
  for (Tier tier : {Tier::kTownship, Tier::kCounty, Tier::kCity}) {
    EXPECT_TRUE(CheckStep(f, CaseAction::kComplete, tier, Role::kClerk).ok()) << OracleName(tier);
  }
  EXPECT_EQ(CheckStep(f, CaseAction::kComplete, Tier::kVillage, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  f = Step(f, CaseAction::kComplete, Tier::kCounty, Role::kClerk);
  f = Step(f, CaseAction::kDeliver, Tier::kCity, Role::kClerk);
  // Evaluation happens at or below the accepting tier: not in the city.
  EXPECT_EQ(CheckStep(f, CaseAction::kEvaluate, Tier::kCity, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  f = Step(f, CaseAction::kEvaluate, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kEvaluated);
}

TEST(CaseMachineTest, RejectPath) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kCounty);
  f = Step(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent);
  // Only a township clerk rejects.
  EXPECT_EQ(CheckStep(f, CaseAction::kReject, Tier::kVillage, Role::kAgent).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckStep(f, CaseAction::kReject, Tier::kCounty, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  f = Step(f, CaseAction::kReject, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kRejected);
  EXPECT_TRUE(IsFinal(f.status));
  EXPECT_FALSE(IsClockRunning(f.status));
  EXPECT_FALSE(IsBeforeDecision(f.status));
  for (CaseAction a : AllCaseActions()) {
    const Status s = CheckStep(f, a, Tier::kTownship, Role::kClerk).status();
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << OracleName(a) << ": " << s.ToString();
  }
}

TEST(CaseMachineTest, RejectAfterSupplement) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kTownship);
  f = Step(f, CaseAction::kSubmit, Tier::kVillage, Role::kAgent);
  f = Step(f, CaseAction::kRequestSupplement, Tier::kTownship, Role::kClerk);
  f = Step(f, CaseAction::kSupplement, Tier::kVillage, Role::kAgent);
  f = Step(f, CaseAction::kReject, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(f.status, CaseStatus::kRejected);
}

// Drives a township-accepted, county-decided case filed in a village to `target`.
CaseFacts DriveTo(CaseStatus target) {
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kCounty);
  const std::vector<std::pair<CaseAction, std::pair<Tier, Role>>> path = {
      {CaseAction::kSubmit, {Tier::kVillage, Role::kAgent}},
      {CaseAction::kRequestSupplement, {Tier::kTownship, Role::kClerk}},
      {CaseAction::kSupplement, {Tier::kVillage, Role::kAgent}},
      {CaseAction::kAccept, {Tier::kTownship, Role::kClerk}},
      {CaseAction::kForward, {Tier::kTownship, Role::kClerk}},
      {CaseAction::kDecide, {Tier::kCounty, Role::kClerk}},
      {CaseAction::kComplete, {Tier::kTownship, Role::kClerk}},
      {CaseAction::kDeliver, {Tier::kVillage, Role::kAgent}},
      {CaseAction::kEvaluate, {Tier::kVillage, Role::kAgent}},
  };
  for (const auto& [action, who] : path) {
    if (f.status == target) break;
    f = Step(f, action, who.first, who.second);
  }
  EXPECT_EQ(f.status, target) << "could not reach " << OracleName(target);
  return f;
}

TEST(CaseMachineTest, WithdrawFromEveryStatusBeforeDecision) {
  for (CaseStatus s : {CaseStatus::kDraft, CaseStatus::kSubmitted, CaseStatus::kSupplementRequested,
                       CaseStatus::kSupplemented, CaseStatus::kAccepted, CaseStatus::kForwarded}) {
    SCOPED_TRACE(std::string(OracleName(s)));
    const CaseFacts f = DriveTo(s);
    EXPECT_TRUE(IsBeforeDecision(f.status));
    const Result<CaseStatus> agent = CheckStep(f, CaseAction::kWithdraw, Tier::kVillage, Role::kAgent);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    EXPECT_EQ(*agent, CaseStatus::kWithdrawn);
    EXPECT_TRUE(CheckStep(f, CaseAction::kWithdraw, Tier::kCounty, Role::kClerk).ok());
    // Above the deciding tier, and non-persons, may not withdraw.
    EXPECT_EQ(CheckStep(f, CaseAction::kWithdraw, Tier::kCity, Role::kClerk).status().code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(CheckStep(f, CaseAction::kWithdraw, Tier::kVillage, Role::kSystem).status().code(),
              StatusCode::kPermissionDenied);
    const CaseFacts after = ApplyStep(f, CaseAction::kWithdraw, Tier::kVillage);
    EXPECT_EQ(after.status, CaseStatus::kWithdrawn);
    EXPECT_TRUE(IsFinal(after.status));
    EXPECT_TRUE(AllowedActions(after, Tier::kVillage, Role::kAgent).empty());
  }
}

TEST(CaseMachineTest, WithdrawRefusedFromDecisionOn) {
  for (CaseStatus s :
       {CaseStatus::kDecided, CaseStatus::kCompleted, CaseStatus::kDelivered, CaseStatus::kEvaluated}) {
    SCOPED_TRACE(std::string(OracleName(s)));
    const CaseFacts f = DriveTo(s);
    EXPECT_FALSE(IsBeforeDecision(f.status));
    for (Tier tier : kTiers) {
      for (Role role : kRoles) {
        const Status st = CheckStep(f, CaseAction::kWithdraw, tier, role).status();
        EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
      }
    }
  }
  CaseFacts rejected = DriveTo(CaseStatus::kSubmitted);
  rejected = Step(rejected, CaseAction::kReject, Tier::kTownship, Role::kClerk);
  EXPECT_EQ(CheckStep(rejected, CaseAction::kWithdraw, Tier::kVillage, Role::kAgent).status().code(),
            StatusCode::kFailedPrecondition);
  CaseFacts withdrawn = ApplyStep(DriveTo(CaseStatus::kDraft), CaseAction::kWithdraw, Tier::kVillage);
  EXPECT_EQ(CheckStep(withdrawn, CaseAction::kWithdraw, Tier::kVillage, Role::kAgent).status().code(),
            StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------
// 3. Refusals and their messages.
// ---------------------------------------------------------------------------

TEST(CaseMachineTest, SupplementRequestedOnlyOnce) {
  // A case back in `submitted` whose supplement was already requested (e.g. loaded
  // from the store with the flag set).
  CaseFacts f = NewCase(Tier::kVillage, Tier::kTownship, Tier::kTownship);
  f.status = CaseStatus::kSubmitted;
  f.holder_tier = Tier::kTownship;
  f.supplement_requested_before = true;
  const Status s = CheckStep(f, CaseAction::kRequestSupplement, Tier::kTownship, Role::kClerk).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("only once"), std::string::npos) << s.message();
  // The other steps from submitted are still listed.
  EXPECT_EQ(ListedActions(s.message()),
            (std::vector<CaseAction>{CaseAction::kAccept, CaseAction::kReject, CaseAction::kWithdraw}))
      << s.message();
  EXPECT_EQ(AllowedActions(f, Tier::kTownship, Role::kClerk),
            (std::vector<CaseAction>{CaseAction::kAccept, CaseAction::kReject, CaseAction::kWithdraw}));
}

TEST(CaseMachineTest, SecondSupplementRequestInTheLifecycleIsRefused) {
  CaseFacts f = DriveTo(CaseStatus::kSupplemented);
  EXPECT_TRUE(f.supplement_requested_before);
  const Status s = CheckStep(f, CaseAction::kRequestSupplement, Tier::kTownship, Role::kClerk).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("only once"), std::string::npos) << s.message();
  EXPECT_EQ(AllowedActions(f, Tier::kTownship, Role::kClerk),
            (std::vector<CaseAction>{CaseAction::kAccept, CaseAction::kReject, CaseAction::kWithdraw}));
}

TEST(CaseMachineTest, InvalidTransitionListsWhatIsAllowedFromHere) {
  const CaseFacts f = DriveTo(CaseStatus::kAccepted);  // township accepts, county decides
  const Status s = CheckStep(f, CaseAction::kComplete, Tier::kTownship, Role::kClerk).status();
  ASSERT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("complete"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("已受理"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("accepted"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("forward"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("withdraw"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("decide"), std::string::npos) << s.message();
  EXPECT_EQ(ListedActions(s.message()),
            (std::vector<CaseAction>{CaseAction::kForward, CaseAction::kWithdraw}))
      << s.message();
}

TEST(CaseMachineTest, VillageAgentMayNotComplete) {
  const CaseFacts f = DriveTo(CaseStatus::kDecided);
  const Status s = CheckStep(f, CaseAction::kComplete, Tier::kVillage, Role::kAgent).status();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(s.message().empty());
  // A village clerk neither: the village is below the accepting tier.
  EXPECT_EQ(CheckStep(f, CaseAction::kComplete, Tier::kVillage, Role::kClerk).status().code(),
            StatusCode::kPermissionDenied);
  // An agent at the township is still not a clerk.
  EXPECT_EQ(CheckStep(f, CaseAction::kComplete, Tier::kTownship, Role::kAgent).status().code(),
            StatusCode::kPermissionDenied);
}

TEST(CaseMachineTest, AgentsNeverAcceptDecideOrForward) {
  for (CaseStatus s : {CaseStatus::kSubmitted, CaseStatus::kAccepted, CaseStatus::kForwarded}) {
    const CaseFacts f = DriveTo(s);
    for (Tier tier : kTiers) {
      for (CaseAction a : {CaseAction::kRequestSupplement, CaseAction::kAccept, CaseAction::kReject,
                           CaseAction::kForward, CaseAction::kDecide, CaseAction::kComplete}) {
        EXPECT_FALSE(CheckStep(f, a, tier, Role::kAgent).ok())
            << OracleName(s) << " " << OracleName(a) << "@" << OracleName(tier);
      }
    }
  }
}

TEST(CaseMachineTest, SupervisorAdminAndSystemNeverTakeAStep) {
  for (const CaseFacts& f : RepresentativeFacts()) {
    for (Role role : {Role::kSupervisor, Role::kAdmin, Role::kSystem}) {
      for (Tier tier : kTiers) {
        EXPECT_TRUE(AllowedActions(f, tier, role).empty()) << Describe(f);
        for (CaseAction a : AllCaseActions()) {
          const Result<CaseStatus> r = CheckStep(f, a, tier, role);
          ASSERT_FALSE(r.ok()) << Describe(f, a, tier, role);
          const StatusCode want =
              OracleNext(f, a).has_value() ? StatusCode::kPermissionDenied : StatusCode::kFailedPrecondition;
          ASSERT_EQ(r.status().code(), want) << Describe(f, a, tier, role) << ": " << r.status().ToString();
        }
      }
    }
  }
}

TEST(CaseMachineTest, PermissionDeniedMessageNamesTheStep) {
  const CaseFacts f = DriveTo(CaseStatus::kSubmitted);
  const Status s = CheckStep(f, CaseAction::kAccept, Tier::kVillage, Role::kAgent).status();
  ASSERT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("accept"), std::string::npos) << s.message();
}

TEST(CaseMachineTest, StatusPredicates) {
  const std::set<CaseStatus> final_statuses = {CaseStatus::kRejected, CaseStatus::kWithdrawn,
                                               CaseStatus::kEvaluated};
  const std::set<CaseStatus> clock = {CaseStatus::kAccepted, CaseStatus::kForwarded, CaseStatus::kDecided};
  const std::set<CaseStatus> before = {
      CaseStatus::kDraft,        CaseStatus::kSubmitted, CaseStatus::kSupplementRequested,
      CaseStatus::kSupplemented, CaseStatus::kAccepted,  CaseStatus::kForwarded};
  for (CaseStatus s : kStatuses) {
    EXPECT_EQ(IsFinal(s), final_statuses.count(s) == 1) << OracleName(s);
    EXPECT_EQ(IsClockRunning(s), clock.count(s) == 1) << OracleName(s);
    EXPECT_EQ(IsBeforeDecision(s), before.count(s) == 1) << OracleName(s);
  }
}

TEST(CaseMachineTest, NextTierUp) {
  EXPECT_EQ(NextTierUp(Tier::kVillage), Tier::kTownship);
  EXPECT_EQ(NextTierUp(Tier::kTownship), Tier::kCounty);
  EXPECT_EQ(NextTierUp(Tier::kCounty), Tier::kCity);
  EXPECT_EQ(NextTierUp(Tier::kCity), Tier::kCity);
}

// ---------------------------------------------------------------------------
// 5. Names and labels.
// ---------------------------------------------------------------------------

TEST(CaseMachineTest, StatusNamesRoundTrip) {
  std::set<std::string_view> labels;
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    EXPECT_EQ(CaseStatusName(kStatuses[i]), kStatusNames[i]);
    const Result<CaseStatus> parsed = ParseCaseStatus(kStatusNames[i]);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, kStatuses[i]) << kStatusNames[i];
    EXPECT_FALSE(CaseStatusLabel(kStatuses[i]).empty());
    labels.insert(CaseStatusLabel(kStatuses[i]));
  }
  EXPECT_EQ(labels.size(), kStatuses.size()) << "labels must be distinct";
  EXPECT_EQ(CaseStatusLabel(CaseStatus::kAccepted), "已受理");
  for (std::string_view junk : {"", "Accepted", "accepted ", "supplement-requested", "已受理", "submit"}) {
    const Result<CaseStatus> r = ParseCaseStatus(junk);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << junk << "'";
  }
}

TEST(CaseMachineTest, ActionNamesRoundTrip) {
  for (size_t i = 0; i < kActions.size(); ++i) {
    EXPECT_EQ(CaseActionName(kActions[i]), kActionNames[i]);
    const Result<CaseAction> parsed = ParseCaseAction(kActionNames[i]);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, kActions[i]) << kActionNames[i];
  }
  for (std::string_view junk : {"", "Submit", "request-supplement", "submitted", "approve"}) {
    const Result<CaseAction> r = ParseCaseAction(junk);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << junk << "'";
  }
}

TEST(CaseMachineTest, EvaluationLabelsAndNames) {
  struct Row {
    Evaluation e;
    std::string_view name;
    std::string_view label;
    bool satisfied;
  };
  const std::vector<Row> rows = {
      {Evaluation::kVerySatisfied, "very_satisfied", "非常满意", true},
      {Evaluation::kSatisfied, "satisfied", "满意", true},
      {Evaluation::kBasicallySatisfied, "basically_satisfied", "基本满意", true},
      {Evaluation::kDissatisfied, "dissatisfied", "不满意", false},
      {Evaluation::kVeryDissatisfied, "very_dissatisfied", "非常不满意", false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(row.name));
    EXPECT_EQ(EvaluationName(row.e), row.name);
    EXPECT_EQ(EvaluationLabel(row.e), row.label);
    EXPECT_EQ(IsSatisfied(row.e), row.satisfied);
    const Result<Evaluation> by_name = ParseEvaluation(row.name);
    ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
    EXPECT_EQ(*by_name, row.e);
    const Result<Evaluation> by_label = ParseEvaluation(row.label);
    ASSERT_TRUE(by_label.ok()) << by_label.status().ToString();
    EXPECT_EQ(*by_label, row.e);
  }
  EXPECT_EQ(static_cast<int>(Evaluation::kVerySatisfied), 5);
  EXPECT_EQ(static_cast<int>(Evaluation::kVeryDissatisfied), 1);
}

TEST(CaseMachineTest, ParseEvaluationRejectsJunk) {
  for (std::string_view junk :
       {"", "5", "good", "Satisfied", "very satisfied", " 满意", "满意 ", "很满意", "差评"}) {
    const Result<Evaluation> r = ParseEvaluation(junk);
    ASSERT_FALSE(r.ok()) << "'" << junk << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << junk << "'";
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(CaseMachineTest, WarningNames) {
  EXPECT_EQ(WarningName(Warning::kNone), "none");
  EXPECT_EQ(WarningName(Warning::kYellow), "yellow");
  EXPECT_EQ(WarningName(Warning::kRed), "red");
}

// ---------------------------------------------------------------------------
// 6. Deadlines and warnings with the shipped 2025-2026 calendar.
// ---------------------------------------------------------------------------

Date D(std::string_view iso) {
  Result<Date> d = Date::Parse(iso);
  if (!d.ok()) {
    ADD_FAILURE() << iso << ": " << d.status().ToString();
    return Date();
  }
  return *d;
}

class CaseDeadlineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<WorkCalendar> loaded =
        WorkCalendar::LoadCsv(std::string(DAIBAN_SOURCE_DIR) + "/config/calendar/cn-holidays-2025-2026.csv");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    calendar_ = new WorkCalendar(std::move(loaded).value());
  }
  static void TearDownTestSuite() {
    delete calendar_;
    calendar_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(calendar_, nullptr); }

  static const WorkCalendar& Cal() { return *calendar_; }
  static std::string_view W(Date due, Date today, int yellow_days = 1) {
    return WarningName(WarningFor(due, today, Cal(), yellow_days));
  }

 private:
  static WorkCalendar* calendar_;
};
WorkCalendar* CaseDeadlineTest::calendar_ = nullptr;

TEST_F(CaseDeadlineTest, DueDateAcrossSpringFestival) {
  // Fri 2025-01-24 + 5 working days: Sun 01-26 (调休), Mon 01-27, then 02-05..02-07.
  EXPECT_EQ(DueDate(D("2025-01-24"), 5, Cal()), D("2025-02-07"));
  EXPECT_EQ(DueDate(D("2025-01-24"), 1, Cal()), D("2025-01-26"));
  EXPECT_EQ(DueDate(D("2025-01-27"), 1, Cal()), D("2025-02-05"));
}

TEST_F(CaseDeadlineTest, DueDateOtherHolidays) {
  EXPECT_EQ(DueDate(D("2025-09-30"), 1, Cal()), D("2025-10-09"));
  EXPECT_EQ(DueDate(D("2025-12-31"), 1, Cal()), D("2026-01-04"));
  // A plain week: Mon 2025-03-03 + 4 = Fri 03-07; + 5 = Mon 03-10.
  EXPECT_EQ(DueDate(D("2025-03-03"), 4, Cal()), D("2025-03-07"));
  EXPECT_EQ(DueDate(D("2025-03-03"), 5, Cal()), D("2025-03-10"));
  // Accepted on a Saturday: the clock counts from the next working day.
  EXPECT_EQ(DueDate(D("2025-03-08"), 1, Cal()), D("2025-03-10"));
}

TEST_F(CaseDeadlineTest, PromisedZeroIsTheSameDay) {
  EXPECT_EQ(DueDate(D("2025-01-24"), 0, Cal()), D("2025-01-24"));
  EXPECT_EQ(DueDate(D("2025-03-05"), 0, Cal()), D("2025-03-05"));
}

TEST_F(CaseDeadlineTest, WarningThresholdsInAPlainWeek) {
  const Date due = D("2025-03-07");              // Friday
  EXPECT_EQ(W(due, D("2025-03-03")), "none");    // 4 working days left
  EXPECT_EQ(W(due, D("2025-03-05")), "none");    // 2 left
  EXPECT_EQ(W(due, D("2025-03-06")), "yellow");  // exactly 1 left
  EXPECT_EQ(W(due, D("2025-03-07")), "yellow");  // due today: 0 left
  EXPECT_EQ(W(due, D("2025-03-08")), "red");     // the day after (a Saturday)
  EXPECT_EQ(W(due, D("2025-03-10")), "red");
  EXPECT_EQ(W(due, D("2026-10-10")), "red");
  EXPECT_EQ(W(due, D("2025-02-10")), "none");  // long before
}

TEST_F(CaseDeadlineTest, WarningAcrossAWeekend) {
  const Date due = D("2025-03-10");              // Monday
  EXPECT_EQ(W(due, D("2025-03-06")), "none");    // Thu: Fri and Mon left
  EXPECT_EQ(W(due, D("2025-03-07")), "yellow");  // Fri: only Mon left
  EXPECT_EQ(W(due, D("2025-03-08")), "yellow");  // Sat
  EXPECT_EQ(W(due, D("2025-03-09")), "yellow");  // Sun
  EXPECT_EQ(W(due, D("2025-03-10")), "yellow");
  EXPECT_EQ(W(due, D("2025-03-11")), "red");
}

TEST_F(CaseDeadlineTest, WarningAcrossHolidaysAndMakeUpDays) {
  // Due Wed 2025-02-05, the first working day after the Spring Festival.
  EXPECT_EQ(W(D("2025-02-05"), D("2025-01-27")), "yellow");  // eight days off between
  EXPECT_EQ(W(D("2025-02-05"), D("2025-01-26")), "none");    // Sunday 调休: 01-27 and 02-05 left
  EXPECT_EQ(W(D("2025-02-05"), D("2025-01-31")), "yellow");  // during the holiday
  // Due on the Sunday make-up day 2025-01-26; Saturday 01-25 is not a working day.
  EXPECT_EQ(W(D("2025-01-26"), D("2025-01-24")), "yellow");
  EXPECT_EQ(W(D("2025-01-26"), D("2025-01-23")), "none");
  // The day after due is red even when it is a holiday.
  EXPECT_EQ(W(D("2025-01-27"), D("2025-01-28")), "red");
}

TEST_F(CaseDeadlineTest, YellowDaysIsConfigurable) {
  const Date due = D("2025-03-07");                 // Friday
  EXPECT_EQ(W(due, D("2025-03-03"), 3), "none");    // 4 left
  EXPECT_EQ(W(due, D("2025-03-04"), 3), "yellow");  // 3 left
  EXPECT_EQ(W(due, D("2025-03-05"), 3), "yellow");
  EXPECT_EQ(W(due, D("2025-03-07"), 3), "yellow");
  EXPECT_EQ(W(due, D("2025-03-08"), 3), "red");
  // Zero: yellow only on the due date itself.
  EXPECT_EQ(W(due, D("2025-03-06"), 0), "none");
  EXPECT_EQ(W(due, D("2025-03-07"), 0), "yellow");
  // Default is one working day.
  EXPECT_EQ(WarningFor(due, D("2025-03-06"), Cal()), Warning::kYellow);
  EXPECT_EQ(WarningFor(due, D("2025-03-05"), Cal()), Warning::kNone);
}

TEST_F(CaseDeadlineTest, DueDateThenWarnings) {
  const Date due = DueDate(D("2025-01-24"), 5, Cal());  // 2025-02-07
  EXPECT_EQ(W(due, D("2025-01-24")), "none");
  EXPECT_EQ(W(due, D("2025-02-05")), "none");  // 02-06 and 02-07 left
  EXPECT_EQ(W(due, D("2025-02-06")), "yellow");
  EXPECT_EQ(W(due, D("2025-02-07")), "yellow");
  EXPECT_EQ(W(due, D("2025-02-08")), "red");  // Saturday make-up working day
}

}  // namespace
}  // namespace daiban::common
