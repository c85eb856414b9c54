#include "common/region.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace daiban::common {
namespace {

const std::string kFuxinDir = std::string(DAIBAN_SOURCE_DIR) + "/config/regions";
const std::string kSharedDir = std::string(DAIBAN_SHARED_DATA) + "/regions";

RegionCode Code(std::string_view s) {
  Result<RegionCode> c = RegionCode::Parse(s);
  EXPECT_TRUE(c.ok()) << s << ": " << c.status().ToString();
  return c.ok() ? *c : RegionCode();
}

RegionTree LoadFuxin() {
  Result<RegionTree> t = RegionTree::LoadDir(kFuxinDir);
  if (!t.ok()) {
    ADD_FAILURE() << t.status().ToString();
    return RegionTree();
  }
  return std::move(t).value();
}

// The shipped Fuxin tree, loaded once for the whole suite.
const RegionTree& Fuxin() {
  static const RegionTree tree = LoadFuxin();
  return tree;
}

// A scratch directory of region CSVs, removed at scope exit. Starts as a tiny valid tree:
// 21 辽宁省 > 2109 阜新市 > 210922 彰武县 > 210922100 彰武镇 > 210922100001.
class TempRegionDir {
 public:
  TempRegionDir() {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("daiban_region_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    Write("provinces.csv", "code,name\n21,\"辽宁省\"\n");
    Write("cities.csv", "code,name,provinceCode\n2109,\"阜新市\",21\n");
    Write("areas.csv", "code,name,cityCode,provinceCode\n210922,\"彰武县\",2109,21\n");
    Write("streets.csv", "code,name,areaCode,provinceCode,cityCode\n210922100,\"彰武镇\",210922,21,2109\n");
    Write("villages.csv",
          "code,name,streetCode,provinceCode,cityCode,areaCode\n"
          "210922100001,\"机务段社区居委会\",210922100,21,2109,210922\n");
  }
  ~TempRegionDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TempRegionDir(const TempRegionDir&) = delete;
  TempRegionDir& operator=(const TempRegionDir&) = delete;

  void Write(const std::string& file, const std::string& text) {
    std::ofstream out(dir_ / file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::string path() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
};

const char kVillageHeader[] = "code,name,streetCode,provinceCode,cityCode,areaCode\n";

// ---------------------------------------------------------------------------
// RegionCode

TEST(RegionCodeTest, LevelNames) {
  EXPECT_EQ(RegionLevelName(RegionLevel::kProvince), "province");
  EXPECT_EQ(RegionLevelName(RegionLevel::kCity), "city");
  EXPECT_EQ(RegionLevelName(RegionLevel::kCounty), "county");
  EXPECT_EQ(RegionLevelName(RegionLevel::kTownship), "township");
  EXPECT_EQ(RegionLevelName(RegionLevel::kVillage), "village");
}

TEST(RegionCodeTest, DefaultIsInvalid) {
  RegionCode c;
  EXPECT_FALSE(c.valid());
  EXPECT_EQ(c.str(), "");
  EXPECT_EQ(c.Prefix(), "");
  EXPECT_EQ(c.Parent().status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(c.Contains(Code("21")));
  EXPECT_FALSE(Code("21").Contains(c));
}

TEST(RegionCodeTest, Parse_PadsEveryWidthToTwelveDigits) {
  struct Case {
    const char* in;
    const char* padded;
    const char* prefix;
    RegionLevel level;
  };
  for (const Case& c : {Case{"21", "210000000000", "21", RegionLevel::kProvince},
                        Case{"2109", "210900000000", "2109", RegionLevel::kCity},
                        Case{"210922", "210922000000", "210922", RegionLevel::kCounty},
                        Case{"210922101", "210922101000", "210922101", RegionLevel::kTownship},
                        Case{"210922101202", "210922101202", "210922101202", RegionLevel::kVillage},
                        // Padded forms name the same division.
                        Case{"210900000000", "210900000000", "2109", RegionLevel::kCity},
                        Case{"210922101000", "210922101000", "210922101", RegionLevel::kTownship},
                        Case{"2100", "210000000000", "21", RegionLevel::kProvince}}) {
    SCOPED_TRACE(c.in);
    RegionCode code = Code(c.in);
    EXPECT_TRUE(code.valid());
    EXPECT_EQ(code.str(), c.padded);
    EXPECT_EQ(code.Prefix(), c.prefix);
    EXPECT_EQ(code.level(), c.level);
  }
  EXPECT_EQ(Code("2109"), Code("210900000000"));
}

void ExpectParseError(std::string_view in, std::string_view fragment) {
  Result<RegionCode> r = RegionCode::Parse(in);
  ASSERT_FALSE(r.ok()) << "'" << in << "' parsed as " << r.value();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("region code", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(RegionCodeTest, Parse_RejectsEmpty) { ExpectParseError("", "empty"); }

TEST(RegionCodeTest, Parse_RejectsNonDigits) {
  ExpectParseError("21a9", "not all ASCII digits");
  ExpectParseError(" 2109", "not all ASCII digits");
  ExpectParseError("2109 ", "not all ASCII digits");
  ExpectParseError("-21", "not all ASCII digits");
  ExpectParseError("２１", "not all ASCII digits");  // full-width digits
}

TEST(RegionCodeTest, Parse_RejectsOtherLengths) {
  for (const char* s :
       {"2", "210", "21092", "2109221", "21092210", "2109221012", "21092210120", "2109221012021"}) {
    ExpectParseError(s, "expected 2, 4, 6, 9 or 12");
  }
}

TEST(RegionCodeTest, Parse_RejectsProvincePartZero) {
  ExpectParseError("00", "province part is 00");
  ExpectParseError("0009", "province part is 00");
  ExpectParseError("000000000000", "province part is 00");
}

TEST(RegionCodeTest, Parse_RejectsZeroGroupFollowedByNonZero) {
  ExpectParseError("210000001000", "township part 001");  // township under no county
  ExpectParseError("210001", "county part 01");           // county under no city
  ExpectParseError("210922000001", "village part 001");   // village under no township
  ExpectParseError("210900100000", "township part 100");
}

TEST(RegionCodeTest, Parse_LongInputIsNotEchoedWhole) {
  std::string junk(200, 'x');
  Result<RegionCode> r = RegionCode::Parse(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 100u) << r.status().message();
}

TEST(RegionCodeTest, ParentChain_VillageUpToProvince) {
  RegionCode c = Code("210922101202");
  std::vector<std::string> chain;
  while (true) {
    chain.push_back(c.str());
    Result<RegionCode> parent = c.Parent();
    if (!parent.ok()) {
      EXPECT_EQ(parent.status().code(), StatusCode::kNotFound);
      EXPECT_EQ(c.level(), RegionLevel::kProvince);
      break;
    }
    EXPECT_EQ(static_cast<int>(parent->level()), static_cast<int>(c.level()) - 1);
    c = *parent;
  }
  EXPECT_EQ(chain, (std::vector<std::string>{"210922101202", "210922101000", "210922000000", "210900000000",
                                             "210000000000"}));
}

TEST(RegionCodeTest, AncestorAt_EachLevel) {
  RegionCode v = Code("210922101202");
  EXPECT_EQ(v.AncestorAt(RegionLevel::kProvince), Code("21"));
  EXPECT_EQ(v.AncestorAt(RegionLevel::kCity), Code("2109"));
  EXPECT_EQ(v.AncestorAt(RegionLevel::kCounty), Code("210922"));
  EXPECT_EQ(v.AncestorAt(RegionLevel::kTownship), Code("210922101"));
  EXPECT_EQ(v.AncestorAt(RegionLevel::kVillage), v);
  EXPECT_EQ(Code("2109").AncestorAt(RegionLevel::kCity), Code("2109"));
}

TEST(RegionCodeDeathTest, AncestorAt_BelowOwnLevelStops) {
  EXPECT_DEATH((void)Code("2109").AncestorAt(RegionLevel::kCounty), "AncestorAt");
}

TEST(RegionCodeTest, Contains_SelfSubtreeNotSiblingsOrCousins) {
  RegionCode village = Code("210922101202");
  for (const char* ancestor : {"21", "2109", "210922", "210922101", "210922101202"}) {
    EXPECT_TRUE(Code(ancestor).Contains(village)) << ancestor;
  }
  EXPECT_FALSE(village.Contains(Code("210922101")));  // not upwards
  EXPECT_FALSE(Code("210922100").Contains(village));  // sibling township
  EXPECT_FALSE(Code("210921").Contains(village));     // sibling county
  EXPECT_FALSE(Code("2108").Contains(village));       // sibling city
  EXPECT_FALSE(Code("22").Contains(village));         // other province
  EXPECT_FALSE(Code("210922101203").Contains(village));
  // Shared leading digits across a group boundary are not containment.
  EXPECT_FALSE(Code("210922101").Contains(Code("210922010001")));
}

TEST(RegionCodeTest, Ordering_AncestorSortsBeforeSubtree) {
  EXPECT_LT(Code("2109"), Code("210902"));
  EXPECT_LT(Code("210902"), Code("210902001"));
  EXPECT_LT(Code("210902999"), Code("210903"));
  std::ostringstream os;
  os << Code("2109") << " " << RegionCode();
  EXPECT_EQ(os.str(), "210900000000 <invalid>");
}

// ---------------------------------------------------------------------------
// The shipped Fuxin tree (config/regions)

TEST(RegionTest, FuxinTree_Counts) {
  const RegionTree& t = Fuxin();
  EXPECT_EQ(t.CountAtLevel(RegionLevel::kProvince), 1u);
  EXPECT_EQ(t.CountAtLevel(RegionLevel::kCity), 1u);
  EXPECT_EQ(t.CountAtLevel(RegionLevel::kCounty), 7u);
  EXPECT_EQ(t.CountAtLevel(RegionLevel::kTownship), 83u);
  EXPECT_EQ(t.CountAtLevel(RegionLevel::kVillage), 813u);
  EXPECT_EQ(t.size(), 1u + 1 + 7 + 83 + 813);
}

TEST(RegionTest, FuxinTree_FindsEachLevelWithNames) {
  const RegionTree& t = Fuxin();
  struct Case {
    const char* code;
    const char* name;
  };
  for (const Case& c : {Case{"21", "辽宁省"}, Case{"2109", "阜新市"}, Case{"210922", "彰武县"},
                        Case{"210922101", "哈尔套镇"}, Case{"210922101202", "富有村委会"}}) {
    const Region* r = t.Find(Code(c.code));
    ASSERT_NE(r, nullptr) << c.code;
    EXPECT_EQ(r->name, c.name);
    EXPECT_EQ(r->code, Code(c.code));
  }
  EXPECT_EQ(t.Find(Code("2101")), nullptr);  // 沈阳市 is not shipped
  EXPECT_EQ(t.Find(RegionCode()), nullptr);
}

TEST(RegionTest, FuxinTree_TownshipContainsItsVillages) {
  const RegionTree& t = Fuxin();
  RegionCode township = Code("210922101");  // 哈尔套镇
  const Region* r = t.Find(township);
  ASSERT_NE(r, nullptr);
  ASSERT_FALSE(r->children.empty());
  for (const RegionCode& v : r->children) {
    EXPECT_EQ(v.level(), RegionLevel::kVillage);
    EXPECT_TRUE(township.Contains(v)) << v;
    EXPECT_EQ(*v.Parent(), township);
  }
  EXPECT_EQ(t.Descendants(township, RegionLevel::kVillage), r->children);
}

TEST(RegionTest, FuxinTree_VillageInEveryAncestorNotInSiblingsOrCousins) {
  const RegionTree& t = Fuxin();
  RegionCode village = Code("210922101202");  // 哈尔套镇 富有村委会
  ASSERT_NE(t.Find(village), nullptr);
  for (const char* a : {"21", "2109", "210922", "210922101"}) {
    ASSERT_NE(t.Find(Code(a)), nullptr) << a;
    EXPECT_TRUE(Code(a).Contains(village)) << a;
  }
  // Sibling townships of 哈尔套镇 in 彰武县.
  for (const RegionCode& township : t.Find(Code("210922"))->children) {
    if (township == Code("210922101")) continue;
    EXPECT_FALSE(township.Contains(village)) << township;
  }
  // Other counties and their townships (cousins).
  for (const RegionCode& county : t.Find(Code("2109"))->children) {
    if (county == Code("210922")) continue;
    EXPECT_FALSE(county.Contains(village)) << county;
    for (const RegionCode& township : t.Find(county)->children) {
      EXPECT_FALSE(township.Contains(village)) << township;
    }
  }
  // And the other way: 彰武县 holds none of 阜新蒙古族自治县's villages.
  RegionCode other_village = Code("210921001001");
  ASSERT_NE(t.Find(other_village), nullptr);
  EXPECT_FALSE(Code("210922").Contains(other_village));
  EXPECT_TRUE(Code("210921").Contains(other_village));
}

TEST(RegionTest, FuxinTree_EveryParentIsLoadedAndListsTheChild) {
  const RegionTree& t = Fuxin();
  size_t visited = 0;
  for (RegionLevel level :
       {RegionLevel::kCity, RegionLevel::kCounty, RegionLevel::kTownship, RegionLevel::kVillage}) {
    for (const RegionCode& c : t.Descendants(Code("21"), level)) {
      ++visited;
      const Region* parent = t.Find(*c.Parent());
      ASSERT_NE(parent, nullptr) << c;
      EXPECT_EQ(std::count(parent->children.begin(), parent->children.end(), c), 1) << c;
      EXPECT_TRUE(std::is_sorted(parent->children.begin(), parent->children.end()));
    }
  }
  EXPECT_EQ(visited + 1, t.size());
}

TEST(RegionTest, FuxinTree_Descendants) {
  const RegionTree& t = Fuxin();
  std::vector<RegionCode> counties = t.Descendants(Code("2109"), RegionLevel::kCounty);
  std::vector<std::string> names;
  for (const RegionCode& c : counties) names.push_back(t.Find(c)->name);
  EXPECT_EQ(names, (std::vector<std::string>{"海州区", "新邱区", "太平区", "清河门区", "细河区",
                                             "阜新蒙古族自治县", "彰武县"}));
  EXPECT_EQ(t.Descendants(Code("2109"), RegionLevel::kTownship).size(), 83u);
  EXPECT_EQ(t.Descendants(Code("21"), RegionLevel::kVillage).size(), 813u);
  EXPECT_EQ(t.Descendants(Code("210922"), RegionLevel::kTownship).size(), 24u);
  EXPECT_EQ(t.Descendants(Code("210922"), RegionLevel::kVillage).size(), 202u);
  EXPECT_EQ(t.Descendants(Code("210921"), RegionLevel::kVillage).size(), 390u);
  std::vector<RegionCode> villages = t.Descendants(Code("210922"), RegionLevel::kVillage);
  EXPECT_TRUE(std::is_sorted(villages.begin(), villages.end()));
  for (const RegionCode& v : villages) EXPECT_TRUE(Code("210922").Contains(v)) << v;
  // Not strictly below, or unknown: nothing.
  EXPECT_TRUE(t.Descendants(Code("210922"), RegionLevel::kCounty).empty());
  EXPECT_TRUE(t.Descendants(Code("210922"), RegionLevel::kCity).empty());
  EXPECT_TRUE(t.Descendants(Code("210922101202"), RegionLevel::kVillage).empty());
  EXPECT_TRUE(t.Descendants(Code("2101"), RegionLevel::kCounty).empty());
}

TEST(RegionTest, FuxinTree_LookupUnknownCode) {
  Result<const Region*> r = Fuxin().Lookup("210999");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "region code 210999000000 is not in the loaded region tree");
}

TEST(RegionTest, FuxinTree_LookupMalformedAndKnown) {
  Result<const Region*> bad = Fuxin().Lookup("21x9");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  Result<const Region*> good = Fuxin().Lookup("210922101000");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->name, "哈尔套镇");
}

TEST(RegionTest, FuxinTree_PathName) {
  const RegionTree& t = Fuxin();
  EXPECT_EQ(t.PathName(Code("210922101202")), "辽宁省 阜新市 彰武县 哈尔套镇 富有村委会");
  EXPECT_EQ(t.PathName(Code("2109")), "辽宁省 阜新市");
  EXPECT_EQ(t.PathName(Code("21")), "辽宁省");
  EXPECT_EQ(t.PathName(Code("210999")), "");
}

TEST(RegionTest, FuxinTree_RootAllKeepsEverything) {
  Result<RegionTree> t = RegionTree::LoadDir(kFuxinDir, "all");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->size(), Fuxin().size());
}

TEST(RegionTest, FuxinTree_RootCountyKeepsItsSubtreeAndAncestors) {
  Result<RegionTree> t = RegionTree::LoadDir(kFuxinDir, "210922");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kProvince), 1u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCity), 1u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCounty), 1u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kTownship), 24u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kVillage), 202u);
  EXPECT_EQ(t->Find(Code("2109"))->children, std::vector<RegionCode>{Code("210922")});
  EXPECT_EQ(t->Find(Code("210921001001")), nullptr);
}

TEST(RegionTest, Load_RootNotInDataIsNotFound) {
  Result<RegionTree> t = RegionTree::LoadDir(kFuxinDir, "2101");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("2101"), std::string::npos) << t.status().message();
}

TEST(RegionTest, Load_MalformedRootIsInvalid) {
  Result<RegionTree> t = RegionTree::LoadDir(kFuxinDir, "21091");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message().rfind("region tree root: region code", 0), 0u) << t.status().message();
}

// ---------------------------------------------------------------------------
// The shared NBS data (beside the clone)

TEST(RegionTest, YantaiTree_FullCityFromSharedData) {
  if (!std::filesystem::is_directory(kSharedDir)) GTEST_SKIP() << kSharedDir << " is missing";
  Result<RegionTree> t = RegionTree::LoadDir(kSharedDir, "3706");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kProvince), 1u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCity), 1u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCounty), 13u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kTownship), 159u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kVillage), 6509u);
  EXPECT_EQ(t->PathName(Code("3706")), "山东省 烟台市");
}

TEST(RegionTest, SharedData_FuxinRootMatchesShippedCopy) {
  if (!std::filesystem::is_directory(kSharedDir)) GTEST_SKIP() << kSharedDir << " is missing";
  Result<RegionTree> t = RegionTree::LoadDir(kSharedDir, "2109");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), Fuxin().size());
  for (RegionLevel level : {RegionLevel::kCounty, RegionLevel::kTownship, RegionLevel::kVillage}) {
    std::vector<RegionCode> shared = t->Descendants(Code("21"), level);
    EXPECT_EQ(shared, Fuxin().Descendants(Code("21"), level));
    for (const RegionCode& c : shared) EXPECT_EQ(t->Find(c)->name, Fuxin().Find(c)->name);
  }
}

TEST(RegionTest, SharedData_WholeCountryLoads) {
  if (!std::filesystem::is_directory(kSharedDir)) GTEST_SKIP() << kSharedDir << " is missing";
  Result<RegionTree> t = RegionTree::LoadDir(kSharedDir);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kProvince), 31u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCity), 342u);
  // areas.csv has 2,978 rows; 441900 东莞市, 442000 中山市 and 460400 儋州市 repeat their city.
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kCounty), 2975u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kTownship), 1674u);
  EXPECT_EQ(t->CountAtLevel(RegionLevel::kVillage), 24409u);
  EXPECT_EQ(
      t->CountAtLevel(RegionLevel::kTownship) - t->Descendants(Code("21"), RegionLevel::kTownship).size(),
      t->Descendants(Code("3706"), RegionLevel::kTownship).size() +
          t->Descendants(Code("2205"), RegionLevel::kTownship).size());
}

// ---------------------------------------------------------------------------
// Loader errors on tiny trees

void ExpectLoadError(const TempRegionDir& dir, std::string_view expected_prefix,
                     std::string_view fragment = "") {
  Result<RegionTree> t = RegionTree::LoadDir(dir.path());
  ASSERT_FALSE(t.ok()) << "loaded " << t->size() << " regions";
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message().rfind(expected_prefix, 0), 0u) << t.status().message();
  EXPECT_NE(t.status().message().find(fragment), std::string::npos) << t.status().message();
}

TEST(RegionTest, Load_TinyValidTree) {
  TempRegionDir dir;
  Result<RegionTree> t = RegionTree::LoadDir(dir.path());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->size(), 5u);
  EXPECT_EQ(t->PathName(Code("210922100001")), "辽宁省 阜新市 彰武县 彰武镇 机务段社区居委会");
}

TEST(RegionTest, Load_OrphanVillageNamesFileAndLine) {
  TempRegionDir dir;
  dir.Write("villages.csv", std::string(kVillageHeader) +
                                "210922100001,\"机务段社区居委会\",210922100,21,2109,210922\n"
                                "210922101202,\"富有村委会\",210922101,21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 3: village 210922101202", "township 210922101");
}

TEST(RegionTest, Load_OrphanTownshipOfAnotherCounty) {
  TempRegionDir dir;
  dir.Write("streets.csv",
            "code,name,areaCode,provinceCode,cityCode\n"
            "210922100,\"彰武镇\",210922,21,2109\n"
            "210921001,\"城区街道\",210921,21,2109\n");
  ExpectLoadError(dir, "streets.csv line 3:", "county 210921 (areaCode) is not loaded");
}

TEST(RegionTest, Load_DuplicateCodeNamesBothLines) {
  TempRegionDir dir;
  dir.Write("villages.csv", std::string(kVillageHeader) +
                                "210922100001,\"机务段社区居委会\",210922100,21,2109,210922\n"
                                "210922100002,\"站前社区居委会\",210922100,21,2109,210922\n"
                                "210922100001,\"又一个\",210922100,21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 4: duplicate code 210922100001", "first on line 2");
}

TEST(RegionTest, Load_MalformedCodeNamesLine) {
  TempRegionDir dir;
  dir.Write("villages.csv", std::string(kVillageHeader) +
                                "210922100001,\"机务段社区居委会\",210922100,21,2109,210922\n"
                                "\n"  // blank lines still count
                                "21092210O002,\"站前社区居委会\",210922100,21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 4: code: region code '21092210O002'", "not all ASCII digits");
}

TEST(RegionTest, Load_CodeAtWrongLevelForItsFile) {
  TempRegionDir dir;
  dir.Write("streets.csv", "code,name,areaCode,provinceCode,cityCode\n210922,\"彰武县\",210922,21,2109\n");
  ExpectLoadError(dir, "streets.csv line 2: code 210922 is a county code", "holds township codes");
}

TEST(RegionTest, Load_ParentColumnDisagreesWithCode) {
  TempRegionDir dir;
  dir.Write("villages.csv",
            std::string(kVillageHeader) + "210922100001,\"机务段社区居委会\",210922101,21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 2: streetCode 210922101 disagrees with code 210922100001");
  dir.Write("villages.csv",
            std::string(kVillageHeader) + "210922100001,\"机务段社区居委会\",210922100,21,2108,210922\n");
  ExpectLoadError(dir, "villages.csv line 2: cityCode 2108 disagrees");
  dir.Write("villages.csv",
            std::string(kVillageHeader) + "210922100001,\"机务段社区居委会\",,21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 2: streetCode: region code: empty");
}

TEST(RegionTest, Load_MissingColumn) {
  TempRegionDir dir;
  dir.Write("villages.csv",
            "code,name,provinceCode,cityCode,areaCode\n"
            "210922100001,\"机务段社区居委会\",21,2109,210922\n");
  ExpectLoadError(dir, "villages.csv line 1: missing column 'streetCode'");
}

TEST(RegionTest, Load_EmptyName) {
  TempRegionDir dir;
  dir.Write("areas.csv", "code,name,cityCode,provinceCode\n210922,,2109,21\n");
  ExpectLoadError(dir, "areas.csv line 2: name: empty");
}

TEST(RegionTest, Load_RowsOutsideRootAreStillChecked) {
  TempRegionDir dir;
  dir.Write("cities.csv", "code,name,provinceCode\n2109,\"阜新市\",21\n2x01,\"沈阳市\",21\n");
  Result<RegionTree> t = RegionTree::LoadDir(dir.path(), "2109");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().rfind("cities.csv line 3: code:", 0), 0u) << t.status().message();
}

TEST(RegionTest, Load_MissingFileIsNotFound) {
  TempRegionDir dir;
  std::filesystem::remove(std::filesystem::path(dir.path()) / "streets.csv");
  Result<RegionTree> t = RegionTree::LoadDir(dir.path());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("streets.csv"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace daiban::common
