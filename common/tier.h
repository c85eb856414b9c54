// Tiers of the network and roles of the people at a node.
#ifndef DAIBAN_COMMON_TIER_H_
#define DAIBAN_COMMON_TIER_H_

#include <string_view>

#include "common/status.h"

namespace daiban::common {

// Ordered by authority: a higher value is a higher tier.
enum class Tier { kVillage = 0, kTownship = 1, kCounty = 2, kCity = 3 };

// "village" | "township" | "county" | "city".
std::string_view TierName(Tier t);
// Accepts the names above; anything else is kInvalidArgument naming the allowed values.
Result<Tier> ParseTier(std::string_view s);

// Who acts at a node.
//   agent      village agent (代办员): files and follows up cases for residents
//   clerk      window / department clerk (窗口人员): accepts, decides, completes
//   supervisor supervision (电子监察): reads everything in the subtree, changes nothing
//   admin      node administrator: users and settings; no case steps
//   system     the node software itself (e.g. automatic steps); never a person
enum class Role { kAgent = 0, kClerk, kSupervisor, kAdmin, kSystem };

std::string_view RoleName(Role r);
Result<Role> ParseRole(std::string_view s);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_TIER_H_
