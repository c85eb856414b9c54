#include "common/region.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "common/csv.h"

namespace daiban::common {

namespace {

constexpr size_t kCodeDigits = 12;
// End offset (exclusive) of each level's group in the 12 digits, indexed by RegionLevel.
constexpr std::array<size_t, 6> kGroupEnd = {0, 2, 4, 6, 9, 12};
constexpr std::array<RegionLevel, 5> kAllLevels = {RegionLevel::kProvince, RegionLevel::kCity,
                                                   RegionLevel::kCounty, RegionLevel::kTownship,
                                                   RegionLevel::kVillage};

size_t Index(RegionLevel level) { return static_cast<size_t>(level); }

bool AllZero(std::string_view digits) {
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; });
}

// The input as it may appear in a message: quoted, or only its length if it is long.
std::string Quoted(std::string_view s) {
  if (s.size() > 24) return "of " + std::to_string(s.size()) + " characters";
  return "'" + std::string(s) + "'";
}

}  // namespace

std::string_view RegionLevelName(RegionLevel level) {
  switch (level) {
    case RegionLevel::kProvince:
      return "province";
    case RegionLevel::kCity:
      return "city";
    case RegionLevel::kCounty:
      return "county";
    case RegionLevel::kTownship:
      return "township";
    case RegionLevel::kVillage:
      return "village";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// RegionCode

Result<RegionCode> RegionCode::Parse(std::string_view s) {
  auto error = [&](std::string_view problem) {
    return InvalidArgument("region code " + Quoted(s) + ": " + std::string(problem));
  };
  if (s.empty()) return InvalidArgument("region code: empty");
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return error("not all ASCII digits");
  }
  if (std::find(kGroupEnd.begin() + 1, kGroupEnd.end(), s.size()) == kGroupEnd.end()) {
    return error(std::to_string(s.size()) + " digits; expected 2, 4, 6, 9 or 12");
  }
  std::string code(s);
  code.resize(kCodeDigits, '0');
  std::string_view digits(code);
  if (AllZero(digits.substr(0, kGroupEnd[1]))) return error("province part is 00");
  bool seen_zero_group = false;
  for (size_t l = 2; l < kGroupEnd.size(); ++l) {
    std::string_view group = digits.substr(kGroupEnd[l - 1], kGroupEnd[l] - kGroupEnd[l - 1]);
    if (AllZero(group)) {
      seen_zero_group = true;
    } else if (seen_zero_group) {
      return error(std::string(RegionLevelName(static_cast<RegionLevel>(l))) + " part " + std::string(group) +
                   " follows a zero group (a division under no parent)");
    }
  }
  return RegionCode(std::move(code));
}

RegionLevel RegionCode::level() const {
  if (!valid()) return RegionLevel::kProvince;
  std::string_view digits(code_);
  for (size_t l = kGroupEnd.size() - 1; l > 1; --l) {
    if (!AllZero(digits.substr(kGroupEnd[l - 1], kGroupEnd[l] - kGroupEnd[l - 1]))) {
      return static_cast<RegionLevel>(l);
    }
  }
  return RegionLevel::kProvince;
}

std::string_view RegionCode::Prefix() const {
  if (!valid()) return {};
  return std::string_view(code_).substr(0, kGroupEnd[Index(level())]);
}

Result<RegionCode> RegionCode::Parent() const {
  if (!valid()) return InvalidArgument("region code: an empty code has no parent");
  RegionLevel l = level();
  if (l == RegionLevel::kProvince) {
    return NotFound("region code " + code_ + " is a province and has no parent");
  }
  return AncestorAt(static_cast<RegionLevel>(Index(l) - 1));
}

RegionCode RegionCode::AncestorAt(RegionLevel l) const {
  if (!valid() || Index(l) < 1 || Index(l) > Index(level())) {
    std::cerr << "PANIC: RegionCode::AncestorAt(" << RegionLevelName(l) << ") on "
              << (valid() ? code_ : std::string("an invalid code")) << "\n";
    std::abort();
  }
  std::string code = code_.substr(0, kGroupEnd[Index(l)]);
  code.resize(kCodeDigits, '0');
  return RegionCode(std::move(code));
}

bool RegionCode::Contains(const RegionCode& other) const {
  if (!valid() || !other.valid()) return false;
  return other.code_.starts_with(Prefix());
}

std::ostream& operator<<(std::ostream& os, const RegionCode& code) {
  return os << (code.valid() ? code.str() : std::string("<invalid>"));
}

// ---------------------------------------------------------------------------
// RegionTree loading

class RegionTreeLoader {
 public:
  RegionTreeLoader(std::string dir, std::optional<RegionCode> root)
      : dir_(std::move(dir)), root_(std::move(root)) {}

  Result<RegionTree> Load() {
    struct FileSpec {
      const char* file;
      RegionLevel level;
      const char* parent_column;
    };
    static constexpr FileSpec kFiles[] = {
        {"provinces.csv", RegionLevel::kProvince, nullptr},
        {"cities.csv", RegionLevel::kCity, "provinceCode"},
        {"areas.csv", RegionLevel::kCounty, "cityCode"},
        {"streets.csv", RegionLevel::kTownship, "areaCode"},
        {"villages.csv", RegionLevel::kVillage, "streetCode"},
    };
    for (const FileSpec& spec : kFiles) {
      DAIBAN_RETURN_IF_ERROR(LoadFile(spec.file, spec.level, spec.parent_column));
    }
    if (root_ && tree_.Find(*root_) == nullptr) {
      return NotFound("region root " + std::string(root_->Prefix()) + " is not in " + dir_);
    }
    for (auto& [code, region] : tree_.regions_) {
      std::sort(region.children.begin(), region.children.end());
    }
    return std::move(tree_);
  }

 private:
  // The ancestor columns a file may carry, and the level of the code each holds.
  struct AncestorColumn {
    const char* name;
    RegionLevel level;
  };
  static constexpr AncestorColumn kAncestorColumns[] = {
      {"provinceCode", RegionLevel::kProvince},
      {"cityCode", RegionLevel::kCity},
      {"areaCode", RegionLevel::kCounty},
      {"streetCode", RegionLevel::kTownship},
  };

  Status LoadFile(const std::string& file, RegionLevel level, const char* parent_column) {
    std::string path = dir_.empty() ? file : dir_ + "/" + file;
    DAIBAN_ASSIGN_OR_RETURN(CsvTable table, ReadCsvFile(path));
    for (const char* column : {"code", "name", parent_column}) {
      if (column != nullptr && table.Column(column) < 0) {
        return InvalidArgument(file + " line 1: missing column '" + column + "'");
      }
    }
    const auto code_col = static_cast<size_t>(table.Column("code"));
    const auto name_col = static_cast<size_t>(table.Column("name"));
    // (column index, level) of each ancestor column present, in level order.
    std::vector<std::pair<size_t, const AncestorColumn*>> ancestor_cols;
    for (const AncestorColumn& col : kAncestorColumns) {
      int i = table.Column(col.name);
      if (i >= 0 && col.level < level) ancestor_cols.emplace_back(static_cast<size_t>(i), &col);
    }

    for (const CsvRow& row : table.rows) {
      auto error = [&](const std::string& problem) {
        return InvalidArgument(file + " line " + std::to_string(row.line) + ": " + problem);
      };
      const std::string& raw_code = row.fields[code_col];
      Result<RegionCode> parsed = RegionCode::Parse(raw_code);
      if (!parsed.ok()) return error("code: " + parsed.status().message());
      const RegionCode& code = *parsed;

      if (code.level() != level) {
        // NBS lists a city without counties (441900 东莞市) again in areas.csv.
        if (level == RegionLevel::kCounty && code.level() == RegionLevel::kCity &&
            raw_code.size() == kGroupEnd[Index(RegionLevel::kCounty)] &&
            row.fields[static_cast<size_t>(table.Column(parent_column))] == code.Prefix()) {
          continue;
        }
        return error("code " + raw_code + " is a " + std::string(RegionLevelName(code.level())) + " code; " +
                     file + " holds " + std::string(RegionLevelName(level)) + " codes");
      }
      for (const auto& [index, col] : ancestor_cols) {
        Result<RegionCode> ancestor = RegionCode::Parse(row.fields[index]);
        if (!ancestor.ok()) return error(std::string(col->name) + ": " + ancestor.status().message());
        if (*ancestor != code.AncestorAt(col->level)) {
          return error(std::string(col->name) + " " + row.fields[index] + " disagrees with code " + raw_code);
        }
      }
      const std::string& name = row.fields[name_col];
      if (name.empty()) return error("name: empty for code " + raw_code);

      if (root_ && !root_->Contains(code) && !code.Contains(*root_)) continue;

      auto [first, inserted] = first_line_.try_emplace(code, row.line);
      if (!inserted) {
        return error("duplicate code " + raw_code + " (first on line " + std::to_string(first->second) + ")");
      }
      if (level != RegionLevel::kProvince) {
        RegionCode parent = code.AncestorAt(static_cast<RegionLevel>(Index(level) - 1));
        auto it = tree_.regions_.find(parent);
        if (it == tree_.regions_.end()) {
          return error(std::string(RegionLevelName(level)) + " " + raw_code + ": its " +
                       std::string(RegionLevelName(parent.level())) + " " + std::string(parent.Prefix()) +
                       " (" + parent_column + ") is not loaded");
        }
        it->second.children.push_back(code);
      }
      tree_.regions_.emplace(code, Region{code, name, {}});
      ++tree_.level_counts_[Index(level)];
    }
    return Status::Ok();
  }

  std::string dir_;
  std::optional<RegionCode> root_;  // nullopt: keep everything
  RegionTree tree_;
  std::map<RegionCode, int> first_line_;  // kept code -> line it was loaded from
};

Result<RegionTree> RegionTree::LoadDir(const std::string& dir, std::string_view root) {
  std::optional<RegionCode> root_code;
  if (!root.empty() && root != "all") {
    Result<RegionCode> parsed = RegionCode::Parse(root);
    if (!parsed.ok()) return parsed.status().WithContext("region tree root");
    root_code = *parsed;
  }
  return RegionTreeLoader(dir, std::move(root_code)).Load();
}

// ---------------------------------------------------------------------------
// RegionTree queries

const Region* RegionTree::Find(const RegionCode& code) const {
  auto it = regions_.find(code);
  return it == regions_.end() ? nullptr : &it->second;
}

Result<const Region*> RegionTree::Lookup(std::string_view code) const {
  DAIBAN_ASSIGN_OR_RETURN(RegionCode parsed, RegionCode::Parse(code));
  const Region* region = Find(parsed);
  if (region == nullptr) {
    return NotFound("region code " + parsed.str() + " is not in the loaded region tree");
  }
  return region;
}

std::vector<RegionCode> RegionTree::Descendants(const RegionCode& code, RegionLevel level) const {
  std::vector<RegionCode> out;
  if (Find(code) == nullptr || level <= code.level()) return out;
  // A subtree is the contiguous range of codes that start with code's prefix.
  for (auto it = regions_.upper_bound(code); it != regions_.end() && code.Contains(it->first); ++it) {
    if (it->first.level() == level) out.push_back(it->first);
  }
  return out;
}

size_t RegionTree::CountAtLevel(RegionLevel level) const {
  size_t i = Index(level);
  return i < level_counts_.size() ? level_counts_[i] : 0;
}

std::string RegionTree::PathName(const RegionCode& code) const {
  if (Find(code) == nullptr) return "";
  std::string path;
  for (RegionLevel l : kAllLevels) {
    if (l > code.level()) break;
    const Region* region = Find(code.AncestorAt(l));
    if (region == nullptr) continue;
    if (!path.empty()) path += ' ';
    path += region->name;
  }
  return path;
}

}  // namespace daiban::common
