// Administrative divisions: statistical division codes and the region tree.
//
// A RegionCode is a National Bureau of Statistics division code held as 12 digits in
// five groups, province(2) city(2) county(2) township(3) village(3). A code names the
// division at the last non-zero group; the zero groups after it are padding:
//   21               辽宁省            province   210000000000
//   2109             阜新市            city       210900000000
//   210922           彰武县            county     210922000000
//   210922101        哈尔套镇          township   210922101000
//   210922101202     富有村委会        village    210922101202
// so a code's ancestors are its prefixes, and "A contains B" is "B starts with A's
// significant digits".
//
// A RegionTree is the part of the national tree one node works with (a city and its
// counties, townships and villages), loaded from the NBS CSV files shipped in
// config/regions. Both types are values: cheap to copy (RegionCode) or move
// (RegionTree), immutable once built, and safe to share between threads for reading.
#ifndef DAIBAN_COMMON_REGION_H_
#define DAIBAN_COMMON_REGION_H_

#include <array>
#include <compare>
#include <cstddef>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace daiban::common {

// The five levels of the division tree, from the top. A higher value is lower down.
enum class RegionLevel { kProvince = 1, kCity = 2, kCounty = 3, kTownship = 4, kVillage = 5 };

// "province", "city", "county", "township", "village".
std::string_view RegionLevelName(RegionLevel level);

// A statistical division code, always held as 12 digits (2+2+2+3+3), zero-padded.
class RegionCode {
 public:
  RegionCode() = default;  // invalid/empty; valid() is false

  // Accepts 2, 4, 6, 9 or 12 ASCII digits and pads to 12 ("2109" -> "210900000000").
  // Errors are kInvalidArgument with a message starting "region code": empty,
  // non-digit, any other length, province part "00", or a zero group followed by a
  // non-zero group (e.g. 210000001000, a township under no county).
  static Result<RegionCode> Parse(std::string_view s);

  bool valid() const { return !code_.empty(); }
  // The 12 digits; empty if !valid().
  const std::string& str() const { return code_; }
  // The significant digits: 2, 4, 6, 9 or 12 long ("2109" for 阜新市); empty if !valid().
  std::string_view Prefix() const;
  // From the trailing zero groups. REQUIRES: valid().
  RegionLevel level() const;
  // The division one level up. kNotFound for a province; kInvalidArgument if !valid().
  Result<RegionCode> Parent() const;
  // The ancestor at level `l` (the code itself when l == level()).
  // REQUIRES: valid() and l <= level(); stops the process otherwise (a caller bug).
  RegionCode AncestorAt(RegionLevel l) const;
  // True if `other` is this division or lies in its subtree. False if either is invalid.
  bool Contains(const RegionCode& other) const;

  // Orders by the 12 digits, so a division sorts before everything in its subtree and
  // a subtree is a contiguous range.
  friend auto operator<=>(const RegionCode&, const RegionCode&) = default;

 private:
  explicit RegionCode(std::string twelve_digits) : code_(std::move(twelve_digits)) {}

  std::string code_;  // 12 ASCII digits, or empty
};

// Prints str() ("<invalid>" if !valid()); for logs and test failure messages.
std::ostream& operator<<(std::ostream& os, const RegionCode& code);

struct Region {
  RegionCode code;
  std::string name;                  // e.g. "彰武县"
  std::vector<RegionCode> children;  // loaded children, ascending by code
};

class RegionTree {
 public:
  RegionTree() = default;  // empty tree

  // Loads provinces.csv, cities.csv, areas.csv, streets.csv and villages.csv from
  // `dir`, in the layout of the NBS files in config/regions: columns code, name and
  // the parent's code (provinceCode / cityCode / areaCode / streetCode); the other
  // ancestor columns, where present, must agree with the code.
  //
  // Keeps only `root` (e.g. "2109" for Fuxin), its subtree and its ancestors, so the
  // tree always starts at a province; "" or "all" keeps everything. Every row's code
  // is checked, kept or not.
  //
  // An areas.csv row whose county part is 00 and equals its own city (NBS lists
  // 441900 东莞市 so for cities without counties) names the city again and is skipped.
  //
  // Errors (kInvalidArgument, "<file> line N: ..."): missing column, malformed code, a
  // code at the wrong level for its file, a parent column that disagrees with the
  // code, a row whose parent is not loaded (e.g. a village whose streetCode is
  // unknown), duplicate code. kNotFound if a file cannot be opened or `root` is not
  // in the data. All-or-nothing: on error no tree is returned.
  static Result<RegionTree> LoadDir(const std::string& dir, std::string_view root = "");

  // The loaded region, or nullptr if unknown. The pointer lives as long as the tree.
  const Region* Find(const RegionCode& code) const;
  // Parses and finds. kInvalidArgument from RegionCode::Parse; kNotFound
  // "region code 210999000000 is not in the loaded region tree".
  Result<const Region*> Lookup(std::string_view code) const;

  // Every loaded division strictly below `code` at `level`, ascending by code. Empty if
  // `code` is not loaded or `level` is not below code.level().
  std::vector<RegionCode> Descendants(const RegionCode& code, RegionLevel level) const;

  // Number of loaded divisions at `level`.
  size_t CountAtLevel(RegionLevel level) const;
  // Number of loaded divisions at all levels.
  size_t size() const { return regions_.size(); }

  // The names from the province down to `code`, joined by single spaces:
  // "辽宁省 阜新市 彰武县 哈尔套镇 富有村委会". Empty if `code` is not loaded.
  std::string PathName(const RegionCode& code) const;

 private:
  friend class RegionTreeLoader;

  std::map<RegionCode, Region> regions_;
  std::array<size_t, 6> level_counts_{};  // indexed by RegionLevel; [0] unused
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_REGION_H_
