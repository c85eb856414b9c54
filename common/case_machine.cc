#include "common/case_machine.h"

#include <array>
#include <string>

namespace daiban::common {
namespace {

struct StatusInfo {
  CaseStatus status;
  std::string_view name;
  std::string_view label;
};
constexpr std::array<StatusInfo, 12> kStatuses = {{
    {CaseStatus::kDraft, "draft", "草稿"},
    {CaseStatus::kSubmitted, "submitted", "已提交"},
    {CaseStatus::kSupplementRequested, "supplement_requested", "待补正"},
    {CaseStatus::kSupplemented, "supplemented", "已补正"},
    {CaseStatus::kAccepted, "accepted", "已受理"},
    {CaseStatus::kRejected, "rejected", "不予受理"},
    {CaseStatus::kForwarded, "forwarded", "已上报"},
    {CaseStatus::kDecided, "decided", "已决定"},
    {CaseStatus::kCompleted, "completed", "已办结"},
    {CaseStatus::kDelivered, "delivered", "已送达"},
    {CaseStatus::kEvaluated, "evaluated", "已评价"},
    {CaseStatus::kWithdrawn, "withdrawn", "已撤件"},
}};

constexpr std::array<std::string_view, 11> kActionNames = {
    "submit", "request_supplement", "supplement", "accept", "reject", "forward",
    "decide", "complete", "deliver", "evaluate", "withdraw"};

bool IsPerson(Role r) { return r == Role::kAgent || r == Role::kClerk; }

// Statuses from which `a` may be taken (role and tier aside).
bool AllowedFrom(const CaseFacts& f, CaseAction a) {
  const CaseStatus s = f.status;
  switch (a) {
    case CaseAction::kSubmit: return s == CaseStatus::kDraft;
    case CaseAction::kRequestSupplement: return s == CaseStatus::kSubmitted && !f.supplement_requested_before;
    case CaseAction::kSupplement: return s == CaseStatus::kSupplementRequested;
    case CaseAction::kAccept:
    case CaseAction::kReject: return s == CaseStatus::kSubmitted || s == CaseStatus::kSupplemented;
    case CaseAction::kForward:
      return (s == CaseStatus::kAccepted || s == CaseStatus::kForwarded) && f.holder_tier < f.decide_level;
    case CaseAction::kDecide:
      return (s == CaseStatus::kAccepted || s == CaseStatus::kForwarded) && f.holder_tier == f.decide_level;
    case CaseAction::kComplete: return s == CaseStatus::kDecided;
    case CaseAction::kDeliver: return s == CaseStatus::kCompleted;
    case CaseAction::kEvaluate: return s == CaseStatus::kCompleted || s == CaseStatus::kDelivered;
    case CaseAction::kWithdraw: return IsBeforeDecision(s);
  }
  return false;
}

// Whether `role` at `tier` may take `a` (status aside). Empty string: yes; else the rule.
std::string WhoMay(const CaseFacts& f, CaseAction a, Tier tier, Role role) {
  const bool clerk = role == Role::kClerk;
  switch (a) {
    case CaseAction::kSubmit:
    case CaseAction::kSupplement:
      if (IsPerson(role) && tier == f.filed_tier) return "";
      return "only an agent or clerk at the filing tier (" + std::string(TierName(f.filed_tier)) + ")";
    case CaseAction::kRequestSupplement:
    case CaseAction::kAccept:
    case CaseAction::kReject:
      if (clerk && tier == f.accept_level) return "";
      return "only a clerk at the accepting tier (" + std::string(TierName(f.accept_level)) + ")";
    case CaseAction::kForward:
    case CaseAction::kDecide:
      if (clerk && tier == f.holder_tier) return "";
      return "only a clerk at the tier holding the case (" + std::string(TierName(f.holder_tier)) + ")";
    case CaseAction::kComplete:
      if (clerk && tier >= f.accept_level && tier <= f.decide_level) return "";
      return "only a clerk at the accepting or deciding tier";
    case CaseAction::kDeliver:
    case CaseAction::kWithdraw:
      if (IsPerson(role) && tier <= f.decide_level) return "";
      return "only an agent or clerk at or below the deciding tier (" + std::string(TierName(f.decide_level)) + ")";
    case CaseAction::kEvaluate:
      if (IsPerson(role) && tier <= f.accept_level) return "";
      return "only an agent or clerk at or below the accepting tier (" + std::string(TierName(f.accept_level)) + ")";
  }
  return "not allowed";
}

}  // namespace

std::string_view CaseStatusName(CaseStatus s) {
  auto i = static_cast<size_t>(s);
  return i < kStatuses.size() ? kStatuses[i].name : "unknown";
}
std::string_view CaseStatusLabel(CaseStatus s) {
  auto i = static_cast<size_t>(s);
  return i < kStatuses.size() ? kStatuses[i].label : "未知";
}

Result<CaseStatus> ParseCaseStatus(std::string_view s) {
  for (const auto& i : kStatuses) {
    if (i.name == s) return i.status;
  }
  return InvalidArgument("status: '" + std::string(s) + "' is not a case status");
}

std::string_view CaseActionName(CaseAction a) {
  auto i = static_cast<size_t>(a);
  return i < kActionNames.size() ? kActionNames[i] : "unknown";
}

Result<CaseAction> ParseCaseAction(std::string_view s) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == s) return static_cast<CaseAction>(i);
  }
  return InvalidArgument("action: '" + std::string(s) + "' is not a case step");
}

const std::vector<CaseAction>& AllCaseActions() {
  static const std::vector<CaseAction> all = [] {
    std::vector<CaseAction> v;
    for (size_t i = 0; i < kActionNames.size(); ++i) v.push_back(static_cast<CaseAction>(i));
    return v;
  }();
  return all;
}

const std::vector<CaseStatus>& AllCaseStatuses() {
  static const std::vector<CaseStatus> all = [] {
    std::vector<CaseStatus> v;
    for (const auto& i : kStatuses) v.push_back(i.status);
    return v;
  }();
  return all;
}

bool IsFinal(CaseStatus s) {
  return s == CaseStatus::kRejected || s == CaseStatus::kWithdrawn || s == CaseStatus::kEvaluated;
}

bool IsClockRunning(CaseStatus s) {
  return s == CaseStatus::kAccepted || s == CaseStatus::kForwarded || s == CaseStatus::kDecided;
}

bool IsBeforeDecision(CaseStatus s) {
  switch (s) {
    case CaseStatus::kDraft:
    case CaseStatus::kSubmitted:
    case CaseStatus::kSupplementRequested:
    case CaseStatus::kSupplemented:
    case CaseStatus::kAccepted:
    case CaseStatus::kForwarded:
      return true;
    default:
      return false;
  }
}

Result<CaseStatus> CheckStep(const CaseFacts& facts, CaseAction action, Tier tier, Role role) {
  if (!AllowedFrom(facts, action)) {
    std::string allowed;
    for (CaseAction a : AllCaseActions()) {
      if (!AllowedFrom(facts, a)) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += CaseActionName(a);
    }
    std::string msg = std::string(CaseActionName(action)) + " is not allowed from " +
                      std::string(CaseStatusLabel(facts.status)) + " (" +
                      std::string(CaseStatusName(facts.status)) + ")";
    if (action == CaseAction::kRequestSupplement && facts.supplement_requested_before) {
      msg += ": a supplement may be requested only once (一次性告知)";
    }
    msg += "; allowed from here: " + (allowed.empty() ? std::string("nothing") : allowed);
    return FailedPrecondition(msg);
  }
  std::string rule = WhoMay(facts, action, tier, role);
  if (!rule.empty()) {
    return PermissionDenied(std::string(CaseActionName(action)) + ": " + std::string(RoleName(role)) +
                            " at " + std::string(TierName(tier)) + " may not take this step; " + rule);
  }
  return ApplyStep(facts, action, tier).status;
}

CaseFacts ApplyStep(const CaseFacts& facts, CaseAction action, Tier tier) {
  CaseFacts f = facts;
  switch (action) {
    case CaseAction::kSubmit:
      f.status = CaseStatus::kSubmitted;
      f.holder_tier = f.accept_level;
      break;
    case CaseAction::kRequestSupplement:
      f.status = CaseStatus::kSupplementRequested;
      f.supplement_requested_before = true;
      break;
    case CaseAction::kSupplement: f.status = CaseStatus::kSupplemented; break;
    case CaseAction::kAccept:
      f.status = CaseStatus::kAccepted;
      f.holder_tier = tier;
      break;
    case CaseAction::kReject: f.status = CaseStatus::kRejected; break;
    case CaseAction::kForward:
      f.status = CaseStatus::kForwarded;
      f.holder_tier = NextTierUp(tier);
      break;
    case CaseAction::kDecide: f.status = CaseStatus::kDecided; break;
    case CaseAction::kComplete: f.status = CaseStatus::kCompleted; break;
    case CaseAction::kDeliver: f.status = CaseStatus::kDelivered; break;
    case CaseAction::kEvaluate: f.status = CaseStatus::kEvaluated; break;
    case CaseAction::kWithdraw: f.status = CaseStatus::kWithdrawn; break;
  }
  return f;
}

std::vector<CaseAction> AllowedActions(const CaseFacts& facts, Tier tier, Role role) {
  std::vector<CaseAction> out;
  for (CaseAction a : AllCaseActions()) {
    if (CheckStep(facts, a, tier, role).ok()) out.push_back(a);
  }
  return out;
}

Tier NextTierUp(Tier t) {
  switch (t) {
    case Tier::kVillage: return Tier::kTownship;
    case Tier::kTownship: return Tier::kCounty;
    case Tier::kCounty:
    case Tier::kCity: return Tier::kCity;
  }
  return Tier::kCity;
}

namespace {
struct EvalInfo {
  Evaluation e;
  std::string_view name;
  std::string_view label;
};
constexpr std::array<EvalInfo, 5> kEvals = {{
    {Evaluation::kVerySatisfied, "very_satisfied", "非常满意"},
    {Evaluation::kSatisfied, "satisfied", "满意"},
    {Evaluation::kBasicallySatisfied, "basically_satisfied", "基本满意"},
    {Evaluation::kDissatisfied, "dissatisfied", "不满意"},
    {Evaluation::kVeryDissatisfied, "very_dissatisfied", "非常不满意"},
}};
}  // namespace

std::string_view EvaluationLabel(Evaluation e) {
  for (const auto& i : kEvals) if (i.e == e) return i.label;
  return "";
}
std::string_view EvaluationName(Evaluation e) {
  for (const auto& i : kEvals) if (i.e == e) return i.name;
  return "";
}
Result<Evaluation> ParseEvaluation(std::string_view s) {
  for (const auto& i : kEvals) {
    if (i.name == s || i.label == s) return i.e;
  }
  return InvalidArgument("evaluation: '" + std::string(s) +
                         "' is not one of 非常满意, 满意, 基本满意, 不满意, 非常不满意");
}
bool IsSatisfied(Evaluation e) { return static_cast<int>(e) >= 3; }

Date DueDate(Date accepted_on, int promised_days, const WorkCalendar& calendar) {
  return calendar.AddWorkingDays(accepted_on, promised_days < 0 ? 0 : promised_days);
}

std::string_view WarningName(Warning w) {
  switch (w) {
    case Warning::kNone: return "none";
    case Warning::kYellow: return "yellow";
    case Warning::kRed: return "red";
  }
  return "none";
}

Warning WarningFor(Date due, Date today, const WorkCalendar& calendar, int yellow_days) {
  if (today > due) return Warning::kRed;
  if (calendar.WorkingDaysBetween(today, due) <= yellow_days) return Warning::kYellow;
  return Warning::kNone;
}

}  // namespace daiban::common
