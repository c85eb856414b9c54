// The service-item catalog (事项目录): what a resident can apply for, which tier
// accepts and decides it, its time limits, fee and required materials.
//
// The catalog is master data owned by the hub and loaded from items.csv (see
// config/catalog/items.csv for the columns). Every item that enters a Catalog, by
// loading or by Put, has passed the same checks, so code that reads an item may rely
// on them:
//   - code, name, department and every material are non-empty;
//   - 0 <= promised_days <= legal_days <= kMaxItemDays;
//   - 即办件 has promised_days == 0, 承诺件 has promised_days > 0;
//   - accept_level and decide_level are township, county or city, and
//     decide_level >= accept_level;
//   - fee_fen >= 0, and there is at least one material.
//
// Thread safety: const methods may be called concurrently; Put needs exclusive access.
#ifndef DAIBAN_COMMON_CATALOG_H_
#define DAIBAN_COMMON_CATALOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/tier.h"

namespace daiban::common {

enum class ItemKind {
  kOnTheSpot,  // 即办件: done at the window, no time limit
  kPromised,   // 承诺件: done within promised_days working days
  kForwarded,  // 上报件: forwarded to a higher level to decide
  kJoint,      // 联办件: several departments act on it
};

// "即办件", "承诺件", "上报件", "联办件".
std::string_view ItemKindName(ItemKind kind);
// Inverse of ItemKindName; anything else is kInvalidArgument naming the allowed values.
Result<ItemKind> ParseItemKind(std::string_view s);

// Largest legal_days / promised_days accepted (about ten years of working days).
inline constexpr int kMaxItemDays = 2500;

struct ServiceItem {
  std::string code;        // unique within the catalog, e.g. "MZ-001"
  std::string name;        // 事项名称
  std::string department;  // owning department, e.g. "民政局"
  ItemKind kind = ItemKind::kPromised;
  int legal_days = 0;                   // statutory limit, working days (法定时限)
  int promised_days = 0;                // promised limit, working days (承诺时限); 0 = on the spot
  bool proxy_allowed = false;           // a village agent may file it for a resident (代办)
  Tier accept_level = Tier::kTownship;  // tier that accepts the case (受理)
  Tier decide_level = Tier::kTownship;  // tier that decides it (决定)
  int64_t fee_fen = 0;                  // fee in fen (0.01 yuan), parsed from fee_yuan decimal like "12.5"
  std::vector<std::string> materials;   // required materials, in catalog order
};

// Checks `item` against the rules above. kInvalidArgument "<field>: <problem>".
Status ValidateServiceItem(const ServiceItem& item);

class Catalog {
 public:
  Catalog() = default;  // empty catalog

  // Parses items.csv text. `label` names the source in errors. Errors are
  // kInvalidArgument "<label> line N: <field>: <problem>": missing column, empty code,
  // duplicate code (naming both lines), unknown kind, non-integer or negative days,
  // any rule above broken, proxy_allowed not yes/no, an unknown level, a bad fee
  // (not a non-negative decimal with at most two places), an empty materials list or
  // entry. Materials are split at ';' and trimmed of ASCII spaces. All-or-nothing.
  static Result<Catalog> FromCsvText(std::string_view text, std::string_view label);
  // Reads and parses a file; errors are labelled with its file name. kNotFound if it
  // cannot be opened.
  static Result<Catalog> LoadCsv(const std::string& path);

  // The item with `code`, or nullptr. The pointer is valid until the next Put.
  const ServiceItem* Find(std::string_view code) const;
  // As Find; kNotFound "service item 'XX-999' is not in the catalog".
  Result<const ServiceItem*> Lookup(std::string_view code) const;
  // All items: in file order, then items added by Put in the order added.
  const std::vector<ServiceItem>& items() const { return items_; }
  size_t size() const { return items_.size(); }

  // Upserts one item (a master-data change at the hub): replaces the item with the
  // same code in place, or appends a new one. kInvalidArgument
  // "service item 'XX-001': <field>: <problem>" if it breaks a rule; the catalog is
  // then unchanged.
  Status Put(ServiceItem item);

 private:
  std::vector<ServiceItem> items_;
  std::map<std::string, size_t, std::less<>> index_;  // code -> position in items_
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CATALOG_H_
