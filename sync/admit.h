// Admission: which events a node stores when a child pushes them (docs/PROTOCOL.md §4.10).
//
// The receiving side enforces jurisdiction and authority, never the sender (shared/DESIGN.md
// §4.5). SyncService applies AdmitPushedEvent to every pushed event, after decoding and before
// storing; a non-OK status refuses that event alone, the rest of the batch is applied. The
// rules are pure functions of the caller's identity and the event: nothing here reads a store,
// a clock or the network.
//
// What admission cannot do: events are not signed, so an event that claims to be made above
// the caller (its parent, the county, the hub) is judged by its own claims. A child that
// forges such an event in the name of a tier above it passes these rules as long as the
// claims are coherent; only a signature by the origin could prove authorship.
#ifndef DAIBAN_SYNC_ADMIT_H_
#define DAIBAN_SYNC_ADMIT_H_

#include <string>
#include <string_view>

#include "common/case_machine.h"
#include "common/status.h"
#include "common/tier.h"
#include "sync/event.h"

namespace daiban::sync {

// Who is calling, as established by the transport (TLS certificate or node token) —
// never taken from the request body.
struct PeerIdentity {
  std::string node_id;
  std::string region;  // 12 digits
  common::Tier tier = common::Tier::kVillage;
};

// Checks that `e`, pushed by `peer`, may be stored. OK, or the first rule it breaks:
//   kPermissionDenied, the reason naming the case (or "master data") and the rule:
//     master data   a master event is made at the city hub (actor tier city, origin a
//                   city-level region above the caller) by an admin or the system;
//     jurisdiction  a case event's region lies in the caller's subtree;
//     origin line   the origin node's region lies in the caller's subtree or above the caller
//                   (events made above the caller come back up with failover, moves and
//                   restore recovery; never from a sibling's or cousin's subtree);
//     origin covers the origin node's region contains the case's region (a node writes only
//                   on cases of its own subtree);
//     tier          the actor's tier is the tier of the origin region's level (12 significant
//                   digits village, 9 township, 6 county, 4 city);
//     role          case events are made by agents and clerks only (supervisors read,
//                   admins manage users and settings, the system takes no case step);
//     step          a case.step's action is one the actor's (tier, role) could ever take
//                   (CouldEverTakeStep);
//     create        a case.create's accept_level and decide_level are township, county or
//                   city, decide_level is not below accept_level, and the filing tier is not
//                   above accept_level (the catalog's and the desk's rules).
//   kInvalidArgument: origin_region or a case region that is not a region code, a case.step
//                   without a known action.
// The reason never holds personal data: only ids of the case, event and nodes, region codes,
// tiers, roles and action names.
common::Status AdmitPushedEvent(const PeerIdentity& peer, const Event& e);

// The part of AdmitPushedEvent that does not depend on who hands the event over (origin
// covers, tier, role, step, create, and for master data the tier and role). A node may apply
// it to events it pulls from its parent as well.
common::Status AdmitEventContent(const Event& e);

// Whether `role` at `tier` could ever take `action` on some case: true exactly when
// common::CheckStep allows it in some state reachable from a draft filed at any tier, under
// any accept_level and decide_level the catalog allows (township, county or city;
// decide_level >= accept_level; filed at or below accept_level). Computed once from the case
// machine itself, so it cannot drift from it. Thread-safe.
bool CouldEverTakeStep(common::CaseAction action, common::Tier tier, common::Role role);

// The tier of a node whose region code is `region12`: the level of the code (village,
// township, county, city). kInvalidArgument if it is not a region code or is a province.
common::Result<common::Tier> TierOfRegion(std::string_view region12);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_ADMIT_H_
