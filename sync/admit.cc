#include "sync/admit.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <set>
#include <tuple>

#include "common/region.h"
#include "sync/event_store.h"
#include "sync/protocol.h"

namespace daiban::sync {

using common::CaseAction;
using common::PermissionDenied;
using common::Result;
using common::Role;
using common::Status;
using common::Tier;

namespace {

constexpr std::array<Tier, 4> kTiers = {Tier::kVillage, Tier::kTownship, Tier::kCounty, Tier::kCity};
constexpr std::array<Role, 5> kRoles = {Role::kAgent, Role::kClerk, Role::kSupervisor, Role::kAdmin,
                                        Role::kSystem};
constexpr size_t kActions = 11;  // common::AllCaseActions().size()

// [action][tier][role], indexed by the enums' values (kTiers and kRoles list them in that
// order): could that (tier, role) ever take that action.
using StepTable = std::array<std::array<std::array<bool, kRoles.size()>, kTiers.size()>, kActions>;

StepTable BuildStepTable() {
  StepTable table{};
  if (common::AllCaseActions().size() != kActions) {
    std::fprintf(stderr, "PANIC: admit.cc: the case machine has %zu actions, the table %zu\n",
                 common::AllCaseActions().size(), kActions);
    std::abort();
  }
  // Every filing the catalog and the desk allow, then every state reachable from it by any
  // step any (tier, role) may take there.
  for (Tier filed : kTiers) {
    for (Tier accept : {Tier::kTownship, Tier::kCounty, Tier::kCity}) {
      if (filed > accept) continue;
      for (Tier decide : kTiers) {
        if (decide < accept) continue;
        common::CaseFacts start;
        start.status = common::CaseStatus::kDraft;
        start.filed_tier = filed;
        start.holder_tier = filed;  // as the fold starts a case (sync/merge.cc)
        start.accept_level = accept;
        start.decide_level = decide;
        start.supplement_requested_before = false;
        auto key = [](const common::CaseFacts& f) {
          return std::make_tuple(f.status, f.holder_tier, f.supplement_requested_before);
        };
        std::set<decltype(key(start))> seen = {key(start)};
        std::deque<common::CaseFacts> todo = {start};
        while (!todo.empty()) {
          common::CaseFacts f = todo.front();
          todo.pop_front();
          for (CaseAction a : common::AllCaseActions()) {
            for (size_t t = 0; t < kTiers.size(); ++t) {
              for (size_t r = 0; r < kRoles.size(); ++r) {
                if (!common::CheckStep(f, a, kTiers[t], kRoles[r]).ok()) continue;
                table[static_cast<size_t>(a)][t][r] = true;
                common::CaseFacts next = common::ApplyStep(f, a, kTiers[t]);
                if (seen.insert(key(next)).second) todo.push_back(next);
              }
            }
          }
        }
      }
    }
  }
  return table;
}

std::string TierWord(Tier t) { return std::string(common::TierName(t)); }
std::string RoleWord(Role r) { return std::string(common::RoleName(r)); }
// "an agent", "a clerk", "an admin", "a supervisor", "a system".
std::string ARole(Role r) {
  std::string w = RoleWord(r);
  return (w[0] == 'a' ? "an " : "a ") + w;
}

bool Under(std::string_view region, std::string_view prefix) {
  return region.substr(0, prefix.size()) == prefix;
}

// "accept_level"/"decide_level" of a case.create body: absent gives `fallback` (as the fold
// does); present, it must name township, county or city.
Result<Tier> LevelOf(const Event& e, const char* key, Tier fallback) {
  auto it = e.body.find(key);
  if (it == e.body.end()) return fallback;
  if (it->is_string()) {
    auto t = common::ParseTier(it->get<std::string>());
    if (t.ok() && *t != Tier::kVillage) return *t;
  }
  return PermissionDenied("case " + e.case_id + ": rule create: " + key +
                          " must be township, county or city (a village neither accepts nor decides)");
}

Status AdmitCaseContent(const Event& e, Tier origin_tier) {
  const std::string where = "case " + e.case_id + ": ";
  auto case_region = common::RegionCode::Parse(e.region);
  if (!case_region.ok()) {
    return common::InvalidArgument(where + "region " + e.region + " is not a region code");
  }
  const std::string origin_prefix = RegionPrefix(e.origin_region);
  if (!Under(e.region, origin_prefix)) {
    return PermissionDenied(where + "rule origin covers: made at " + e.origin + " (" + TierWord(origin_tier) +
                            " " + e.origin_region + "), whose jurisdiction does not contain the case");
  }
  if (e.actor.role != Role::kAgent && e.actor.role != Role::kClerk) {
    return PermissionDenied(where + "rule role: " + ARole(e.actor.role) +
                            " makes no case events (only agents and clerks work on cases)");
  }
  if (e.kind == kKindStep) {
    auto a = e.body.find("action");
    if (a == e.body.end() || !a->is_string()) {
      return common::InvalidArgument(where + "a case.step needs an action");
    }
    auto action = common::ParseCaseAction(a->get<std::string>());
    if (!action.ok()) return common::InvalidArgument(where + "case.step: " + action.status().message());
    if (!CouldEverTakeStep(*action, e.actor.tier, e.actor.role)) {
      return PermissionDenied(where + "rule step: " + ARole(e.actor.role) + " at " + TierWord(e.actor.tier) +
                              " can never take the step " + std::string(common::CaseActionName(*action)) +
                              " (common/case_machine.h)");
    }
  } else if (e.kind == kKindCreate) {
    DAIBAN_ASSIGN_OR_RETURN(Tier accept, LevelOf(e, "accept_level", Tier::kTownship));
    DAIBAN_ASSIGN_OR_RETURN(Tier decide, LevelOf(e, "decide_level", accept));
    if (decide < accept) {
      return PermissionDenied(where + "rule create: decide_level " + TierWord(decide) +
                              " is below accept_level " + TierWord(accept));
    }
    if (e.actor.tier > accept) {
      return PermissionDenied(where + "rule create: filed at " + TierWord(e.actor.tier) +
                              ", above the tier that accepts it (" + TierWord(accept) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

bool CouldEverTakeStep(CaseAction action, Tier tier, Role role) {
  static const StepTable table = BuildStepTable();
  const auto a = static_cast<size_t>(action);
  const auto t = static_cast<size_t>(tier);
  const auto r = static_cast<size_t>(role);
  if (a >= kActions || t >= kTiers.size() || r >= kRoles.size()) return false;
  return table[a][t][r];
}

Result<Tier> TierOfRegion(std::string_view region12) {
  if (region12.size() != 12) {
    return common::InvalidArgument("region " + std::string(region12.substr(0, 20)) + " is not a 12-digit code");
  }
  auto code = common::RegionCode::Parse(region12);
  if (!code.ok()) return code.status();
  switch (code->level()) {
    case common::RegionLevel::kVillage: return Tier::kVillage;
    case common::RegionLevel::kTownship: return Tier::kTownship;
    case common::RegionLevel::kCounty: return Tier::kCounty;
    case common::RegionLevel::kCity: return Tier::kCity;
    case common::RegionLevel::kProvince: break;
  }
  return common::InvalidArgument("region " + std::string(region12) +
                                 " is a province: no node works at that level");
}

Status AdmitEventContent(const Event& e) {
  const std::string where = e.is_master() ? "master data " + e.id + ": " : "case " + e.case_id + ": ";
  auto origin_tier = TierOfRegion(e.origin_region);
  if (!origin_tier.ok()) {
    return common::InvalidArgument(where + "origin_region: " + origin_tier.status().message());
  }
  if (e.is_master()) {
    // Master data is written only at the hub; a child may hand back the hub's own master
    // events (a restored hub recovers them this way), never its own.
    if (e.actor.tier != Tier::kCity || *origin_tier != Tier::kCity) {
      return PermissionDenied(
          where + "rule master data: master data is written only at the city hub; this was made at " +
          e.origin + " (" + TierWord(*origin_tier) + " " + e.origin_region + ") by a " +
          TierWord(e.actor.tier) + " actor");
    }
    if (e.actor.role != Role::kAdmin && e.actor.role != Role::kSystem) {
      return PermissionDenied(where +
                              "rule master data: master data is published by an admin or the system, not " +
                              ARole(e.actor.role));
    }
    return Status::Ok();
  }
  if (e.actor.tier != *origin_tier) {
    return PermissionDenied(where + "rule tier: the actor claims tier " + TierWord(e.actor.tier) + ", but " +
                            e.origin + " works at " + e.origin_region + ", a " + TierWord(*origin_tier) +
                            " region");
  }
  return AdmitCaseContent(e, *origin_tier);
}

Status AdmitPushedEvent(const PeerIdentity& peer, const Event& e) {
  const std::string peer_prefix = RegionPrefix(peer.region);
  if (!e.is_master() && !Under(e.region, peer_prefix)) {
    return PermissionDenied("case " + e.case_id +
                            ": rule jurisdiction: the case lies outside the jurisdiction of " + peer.node_id);
  }
  // The origin is in the caller's subtree (made there and relayed) or above the caller (made
  // by an ancestor, handed back after failover, a move or a restore): never beside it.
  const std::string origin_prefix = RegionPrefix(e.origin_region);
  const bool below = Under(e.origin_region, peer_prefix);
  const bool above = Under(peer.region, origin_prefix);
  if (!below && !above) {
    const std::string what = e.is_master() ? "master data " + e.id : "case " + e.case_id;
    return PermissionDenied(what + ": rule origin line: made at " + e.origin + " (" + e.origin_region +
                            "), which is neither in the subtree of " + peer.node_id + " nor above it");
  }
  return AdmitEventContent(e);
}

}  // namespace daiban::sync
