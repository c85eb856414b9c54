// The lifecycle of a service case (办件) as a pure state machine.
//
//   draft ──submit──▶ submitted ──accept──▶ accepted ──forward──▶ forwarded ─┐
//                        │  ▲ │                 │                  │ ▲      │forward
//                        │  │ └─reject─▶ rejected│                  │ └──────┘
//        request_supplement │                    └──decide─┐         └─decide─┐
//                        ▼  │accept/reject                 ▼                   ▼
//         supplement_requested ─supplement─▶ supplemented  decided ──complete──▶ completed
//                                                          ──deliver──▶ delivered ──evaluate──▶ evaluated
//   withdraw: from any state before `decided` ─▶ withdrawn.   evaluate is also allowed from completed.
//
// Who may take a step is data, taken from the service item's accept and decide levels
// (see CheckStep). Nothing here reads a clock, a store or the network.
#ifndef DAIBAN_COMMON_CASE_MACHINE_H_
#define DAIBAN_COMMON_CASE_MACHINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/calendar.h"
#include "common/date.h"
#include "common/status.h"
#include "common/tier.h"

namespace daiban::common {

enum class CaseStatus {
  kDraft = 0,
  kSubmitted,
  kSupplementRequested,
  kSupplemented,
  kAccepted,
  kRejected,
  kForwarded,
  kDecided,
  kCompleted,
  kDelivered,
  kEvaluated,
  kWithdrawn,
};

enum class CaseAction {
  kSubmit = 0,
  kRequestSupplement,
  kSupplement,
  kAccept,
  kReject,
  kForward,
  kDecide,
  kComplete,
  kDeliver,
  kEvaluate,
  kWithdraw,
};

// Wire/storage names: "supplement_requested", "request_supplement", ...
std::string_view CaseStatusName(CaseStatus s);
Result<CaseStatus> ParseCaseStatus(std::string_view s);
std::string_view CaseActionName(CaseAction a);
Result<CaseAction> ParseCaseAction(std::string_view s);
// Plain Chinese label for pages: 已受理, 待补正, ...
std::string_view CaseStatusLabel(CaseStatus s);
const std::vector<CaseAction>& AllCaseActions();
const std::vector<CaseStatus>& AllCaseStatuses();

// True once no step at all can follow (rejected, withdrawn, evaluated).
bool IsFinal(CaseStatus s);
// True while the working-day clock runs: accepted, forwarded, decided.
bool IsClockRunning(CaseStatus s);
// True before a decision: withdrawal is still possible.
bool IsBeforeDecision(CaseStatus s);

// Everything CheckStep needs to know about a case.
struct CaseFacts {
  CaseStatus status = CaseStatus::kDraft;
  Tier filed_tier = Tier::kVillage;     // tier of the node that filed the case
  Tier holder_tier = Tier::kVillage;    // tier that holds the case now (after submit: accept level; after forward: the tier above)
  Tier accept_level = Tier::kTownship;  // from the catalog
  Tier decide_level = Tier::kTownship;  // from the catalog
  bool supplement_requested_before = false;  // 一次性告知: at most one request per case
};

// Checks that `role` at `tier` may take `action` on a case in `facts`.
// Returns the status after the step. Errors:
//   kFailedPrecondition  the step is not allowed from the current state; the message ends
//                        with what is allowed from here ("...from 已受理 (accepted); allowed from
//                        here: forward, withdraw"). The state includes the holder tier: forward
//                        needs a holder below decide_level, decide a holder at decide_level, and
//                        a second request_supplement says "only once".
//   kPermissionDenied    the step is allowed from here, but not for this role and tier
// Rules (tiers ordered village < township < county < city):
//   submit              agent or clerk at the filing tier
//   request_supplement  clerk at accept_level; from submitted; only once per case
//   supplement          agent or clerk at the filing tier; from supplement_requested
//   accept, reject      clerk at accept_level; from submitted or supplemented
//   forward             clerk at the holder tier, below decide_level; from accepted or forwarded
//   decide              clerk at decide_level holding the case; from accepted or forwarded
//   complete            clerk at a tier from accept_level to decide_level; from decided
//   deliver             agent or clerk at a tier up to decide_level; from completed
//   evaluate            agent or clerk at a tier up to accept_level; from completed or delivered
//   withdraw            agent or clerk at a tier up to decide_level; before decision
Result<CaseStatus> CheckStep(const CaseFacts& facts, CaseAction action, Tier tier, Role role);

// The facts after a successful step (status, holder tier, supplement flag updated).
// REQUIRES: CheckStep(facts, action, tier, role) succeeded.
CaseFacts ApplyStep(const CaseFacts& facts, CaseAction action, Tier tier);

// Actions `role` at `tier` may take now, in CaseAction order (for buttons on a page).
std::vector<CaseAction> AllowedActions(const CaseFacts& facts, Tier tier, Role role);

// The tier directly above `t` (city stays city).
Tier NextTierUp(Tier t);

// Five-level evaluation (好差评).
enum class Evaluation { kVerySatisfied = 5, kSatisfied = 4, kBasicallySatisfied = 3, kDissatisfied = 2, kVeryDissatisfied = 1 };
// "非常满意", "满意", "基本满意", "不满意", "非常不满意".
std::string_view EvaluationLabel(Evaluation e);
// Accepts the Chinese labels and the ASCII names very_satisfied, satisfied,
// basically_satisfied, dissatisfied, very_dissatisfied.
Result<Evaluation> ParseEvaluation(std::string_view s);
std::string_view EvaluationName(Evaluation e);
// 满意 counts as satisfied for the satisfaction rate: the top three levels.
bool IsSatisfied(Evaluation e);

// Deadlines. The clock starts at acceptance; promised_days are working days.
// Due date: the promised_days-th working day after the acceptance date (0: the same day).
Date DueDate(Date accepted_on, int promised_days, const WorkCalendar& calendar);

enum class Warning { kNone = 0, kYellow, kRed };
std::string_view WarningName(Warning w);  // "none", "yellow", "red"
// Warning for an open case on `today`:
//   red     today is after the due date (超期)
//   yellow  `yellow_days` working days or fewer are left (default 1; the due date itself has 0 left)
//   none    otherwise
Warning WarningFor(Date due, Date today, const WorkCalendar& calendar, int yellow_days = 1);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CASE_MACHINE_H_
