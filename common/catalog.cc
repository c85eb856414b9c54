#include "common/catalog.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/csv.h"

namespace daiban::common {

namespace {

constexpr std::array<ItemKind, 4> kAllKinds = {ItemKind::kOnTheSpot, ItemKind::kPromised,
                                               ItemKind::kForwarded, ItemKind::kJoint};

// The columns of items.csv, in file order.
constexpr std::array<std::string_view, 11> kColumns = {
    "code",          "name",         "department",   "kind",     "legal_days", "promised_days",
    "proxy_allowed", "accept_level", "decide_level", "fee_yuan", "materials"};

// Largest fee integer part in yuan we accept (keeps fen well inside int64_t).
constexpr size_t kMaxFeeYuanDigits = 12;

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view TrimAscii(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

Status FieldError(std::string_view field, const std::string& problem) {
  return InvalidArgument(std::string(field) + ": " + problem);
}

// A count of working days: ASCII digits, 0..kMaxItemDays.
Result<int> ParseDays(std::string_view field, std::string_view s) {
  if (s.size() > 1 && s.front() == '-' && IsDigits(s.substr(1))) {
    return FieldError(field, "'" + std::string(s) + "' is negative");
  }
  if (!IsDigits(s)) return FieldError(field, "'" + std::string(s) + "' is not an integer");
  if (s.size() > 5) return FieldError(field, std::string(s) + " exceeds " + std::to_string(kMaxItemDays));
  int days = 0;
  for (char c : s) days = days * 10 + (c - '0');
  if (days > kMaxItemDays) {
    return FieldError(field, std::to_string(days) + " exceeds " + std::to_string(kMaxItemDays));
  }
  return days;
}

// A fee in yuan: "0", "12", "12.5" or "12.50" -> fen.
Result<int64_t> ParseFeeYuan(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return FieldError("fee_yuan", "'" + std::string(s) + "' " + why);
  };
  if (!s.empty() && s.front() == '-' && ParseFeeYuan(s.substr(1)).ok()) return bad("is negative");
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (!IsDigits(whole) || (dot != std::string_view::npos && (!IsDigits(frac) || frac.size() > 2))) {
    return bad("is not a decimal amount with at most two places (e.g. 12.5)");
  }
  if (whole.size() > kMaxFeeYuanDigits) return bad("is too large");
  int64_t fen = 0;
  for (char c : whole) fen = fen * 10 + (c - '0');
  fen *= 100;
  if (frac.size() >= 1) fen += 10 * (frac[0] - '0');
  if (frac.size() == 2) fen += frac[1] - '0';
  return fen;
}

// township | county | city.
Result<Tier> ParseItemLevel(std::string_view field, std::string_view s) {
  Result<Tier> tier = ParseTier(s);
  if (!tier.ok() || *tier == Tier::kVillage) {
    return FieldError(field, "'" + std::string(s) + "' is not one of township, county, city");
  }
  return *tier;
}

Result<std::vector<std::string>> ParseMaterials(std::string_view s) {
  std::vector<std::string> materials;
  if (TrimAscii(s).empty()) return FieldError("materials", "empty list");
  size_t start = 0;
  while (true) {
    size_t end = s.find(';', start);
    std::string_view entry = TrimAscii(s.substr(start, end == std::string_view::npos ? end : end - start));
    materials.emplace_back(entry);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return materials;
}

}  // namespace

std::string_view ItemKindName(ItemKind kind) {
  switch (kind) {
    case ItemKind::kOnTheSpot:
      return "即办件";
    case ItemKind::kPromised:
      return "承诺件";
    case ItemKind::kForwarded:
      return "上报件";
    case ItemKind::kJoint:
      return "联办件";
  }
  return "unknown";
}

Result<ItemKind> ParseItemKind(std::string_view s) {
  for (ItemKind k : kAllKinds) {
    if (ItemKindName(k) == s) return k;
  }
  return InvalidArgument("kind: '" + std::string(s) + "' is not one of 即办件, 承诺件, 上报件, 联办件");
}

Status ValidateServiceItem(const ServiceItem& item) {
  if (item.code.empty()) return FieldError("code", "empty");
  if (item.name.empty()) return FieldError("name", "empty");
  if (item.department.empty()) return FieldError("department", "empty");
  if (std::find(kAllKinds.begin(), kAllKinds.end(), item.kind) == kAllKinds.end()) {
    return FieldError("kind", "not a known kind");
  }
  for (auto [field, days] : {std::pair<std::string_view, int>{"legal_days", item.legal_days},
                             std::pair<std::string_view, int>{"promised_days", item.promised_days}}) {
    if (days < 0) return FieldError(field, std::to_string(days) + " is negative");
    if (days > kMaxItemDays) {
      return FieldError(field, std::to_string(days) + " exceeds " + std::to_string(kMaxItemDays));
    }
  }
  if (item.promised_days > item.legal_days) {
    return FieldError("promised_days", std::to_string(item.promised_days) + " exceeds legal_days " +
                                           std::to_string(item.legal_days));
  }
  if (item.kind == ItemKind::kOnTheSpot && item.promised_days != 0) {
    return FieldError("promised_days", "must be 0 for 即办件, got " + std::to_string(item.promised_days));
  }
  if (item.kind == ItemKind::kPromised && item.promised_days == 0) {
    return FieldError("promised_days", "must be positive for 承诺件");
  }
  for (auto [field, tier] : {std::pair<std::string_view, Tier>{"accept_level", item.accept_level},
                             std::pair<std::string_view, Tier>{"decide_level", item.decide_level}}) {
    if (tier != Tier::kTownship && tier != Tier::kCounty && tier != Tier::kCity) {
      return FieldError(field, std::string(TierName(tier)) + " is not one of township, county, city");
    }
  }
  if (item.decide_level < item.accept_level) {
    return FieldError("decide_level", std::string(TierName(item.decide_level)) + " is below accept_level " +
                                          std::string(TierName(item.accept_level)));
  }
  if (item.fee_fen < 0) return FieldError("fee_yuan", "negative");
  if (item.materials.empty()) return FieldError("materials", "empty list");
  for (size_t i = 0; i < item.materials.size(); ++i) {
    if (item.materials[i].empty()) {
      return FieldError("materials", "entry " + std::to_string(i + 1) + " is empty");
    }
  }
  return Status::Ok();
}

Result<Catalog> Catalog::FromCsvText(std::string_view text, std::string_view label) {
  DAIBAN_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, label));
  std::array<size_t, kColumns.size()> col{};
  for (size_t i = 0; i < kColumns.size(); ++i) {
    int c = table.Column(kColumns[i]);
    if (c < 0) {
      return InvalidArgument(std::string(label) + " line 1: " + std::string(kColumns[i]) +
                             ": missing column");
    }
    col[i] = static_cast<size_t>(c);
  }

  Catalog catalog;
  std::map<std::string, int, std::less<>> first_line;  // code -> line it is on
  for (const CsvRow& row : table.rows) {
    std::string where = std::string(label) + " line " + std::to_string(row.line);
    auto field = [&](size_t i) -> const std::string& { return row.fields[col[i]]; };
    auto parse = [&]() -> Result<ServiceItem> {
      ServiceItem item;
      item.code = field(0);
      if (item.code.empty()) return FieldError("code", "empty");
      item.name = field(1);
      item.department = field(2);
      Result<ItemKind> kind = ParseItemKind(field(3));
      if (!kind.ok()) return kind.status();
      item.kind = *kind;
      DAIBAN_ASSIGN_OR_RETURN(item.legal_days, ParseDays("legal_days", field(4)));
      DAIBAN_ASSIGN_OR_RETURN(item.promised_days, ParseDays("promised_days", field(5)));
      if (field(6) == "yes") {
        item.proxy_allowed = true;
      } else if (field(6) == "no") {
        item.proxy_allowed = false;
      } else {
        return FieldError("proxy_allowed", "'" + field(6) + "' is not yes or no");
      }
      DAIBAN_ASSIGN_OR_RETURN(item.accept_level, ParseItemLevel("accept_level", field(7)));
      DAIBAN_ASSIGN_OR_RETURN(item.decide_level, ParseItemLevel("decide_level", field(8)));
      DAIBAN_ASSIGN_OR_RETURN(item.fee_fen, ParseFeeYuan(field(9)));
      DAIBAN_ASSIGN_OR_RETURN(item.materials, ParseMaterials(field(10)));
      DAIBAN_RETURN_IF_ERROR(ValidateServiceItem(item));
      return item;
    };
    Result<ServiceItem> item = parse();
    if (!item.ok()) return item.status().WithContext(where);

    auto [first, inserted] = first_line.try_emplace(item->code, row.line);
    if (!inserted) {
      return InvalidArgument(where + ": code: '" + item->code + "' duplicates line " +
                             std::to_string(first->second));
    }
    catalog.index_.emplace(item->code, catalog.items_.size());
    catalog.items_.push_back(std::move(item).value());
  }
  return catalog;
}

Result<Catalog> Catalog::LoadCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  size_t slash = path.find_last_of('/');
  return FromCsvText(text.str(), slash == std::string::npos ? path : path.substr(slash + 1));
}

const ServiceItem* Catalog::Find(std::string_view code) const {
  auto it = index_.find(code);
  return it == index_.end() ? nullptr : &items_[it->second];
}

Result<const ServiceItem*> Catalog::Lookup(std::string_view code) const {
  const ServiceItem* item = Find(code);
  if (item == nullptr) return NotFound("service item '" + std::string(code) + "' is not in the catalog");
  return item;
}

Status Catalog::Put(ServiceItem item) {
  Status valid = ValidateServiceItem(item);
  if (!valid.ok()) return valid.WithContext("service item '" + item.code + "'");
  auto it = index_.find(item.code);
  if (it != index_.end()) {
    items_[it->second] = std::move(item);
  } else {
    index_.emplace(item.code, items_.size());
    items_.push_back(std::move(item));
  }
  return Status::Ok();
}

}  // namespace daiban::common
