#include "common/tier.h"

#include <string>

namespace daiban::common {

std::string_view TierName(Tier t) {
  switch (t) {
    case Tier::kVillage: return "village";
    case Tier::kTownship: return "township";
    case Tier::kCounty: return "county";
    case Tier::kCity: return "city";
  }
  return "unknown";
}

Result<Tier> ParseTier(std::string_view s) {
  for (Tier t : {Tier::kVillage, Tier::kTownship, Tier::kCounty, Tier::kCity}) {
    if (TierName(t) == s) return t;
  }
  return InvalidArgument("tier: '" + std::string(s) + "' is not one of village, township, county, city");
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kAgent: return "agent";
    case Role::kClerk: return "clerk";
    case Role::kSupervisor: return "supervisor";
    case Role::kAdmin: return "admin";
    case Role::kSystem: return "system";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view s) {
  for (Role r : {Role::kAgent, Role::kClerk, Role::kSupervisor, Role::kAdmin, Role::kSystem}) {
    if (RoleName(r) == s) return r;
  }
  return InvalidArgument("role: '" + std::string(s) + "' is not one of agent, clerk, supervisor, admin, system");
}

}  // namespace daiban::common
