#include "common/catalog.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace daiban::common {
namespace {

const std::string kShippedCatalog = std::string(DAIBAN_SOURCE_DIR) + "/config/catalog/items.csv";

const char kHeader[] =
    "code,name,department,kind,legal_days,promised_days,proxy_allowed,accept_level,"
    "decide_level,fee_yuan,materials\n";

// A valid row as field -> value; tests override one field at a time.
std::map<std::string, std::string> ValidFields(const std::string& code = "T-001") {
  return {{"code", code},
          {"name", "最低生活保障申请"},
          {"department", "民政局"},
          {"kind", "承诺件"},
          {"legal_days", "30"},
          {"promised_days", "20"},
          {"proxy_allowed", "yes"},
          {"accept_level", "township"},
          {"decide_level", "county"},
          {"fee_yuan", "0"},
          {"materials", "申请书;居民身份证"}};
}

std::string Row(const std::map<std::string, std::string>& f) {
  std::string row;
  const char* separator = "";
  for (const char* col : {"code", "name", "department", "kind", "legal_days", "promised_days",
                          "proxy_allowed", "accept_level", "decide_level", "fee_yuan", "materials"}) {
    row += separator + f.at(col);
    separator = ",";
  }
  return row + "\n";
}

// items.csv text: a valid first row (line 2), then a row (line 3) with `field` set to `value`.
std::string WithField(const std::string& field, const std::string& value) {
  auto f = ValidFields("T-002");
  f[field] = value;
  return std::string(kHeader) + Row(ValidFields()) + Row(f);
}

void ExpectError(const std::string& text, std::string_view expected_prefix) {
  Result<Catalog> c = Catalog::FromCsvText(text, "items.csv");
  ASSERT_FALSE(c.ok()) << "loaded " << c->items().size() << " items from\n" << text;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind(expected_prefix, 0), 0u)
      << "message: " << c.status().message() << "\nexpected to start: " << expected_prefix;
}

ServiceItem ValidItem(const std::string& code) {
  Result<Catalog> c = Catalog::FromCsvText(std::string(kHeader) + Row(ValidFields(code)), "t");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->items().front() : ServiceItem{};
}

// ---------------------------------------------------------------------------
// The shipped catalog

TEST(CatalogTest, ShippedCatalog_LoadsAllItemsInFileOrder) {
  Result<Catalog> c = Catalog::LoadCsv(kShippedCatalog);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->items().size(), 30u);
  EXPECT_EQ(c->size(), 30u);
  EXPECT_EQ(c->items().front().code, "MZ-001");
  EXPECT_EQ(c->items().back().code, "SF-001");
}

TEST(CatalogTest, ShippedCatalog_MZ001Fields) {
  Result<Catalog> c = Catalog::LoadCsv(kShippedCatalog);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ServiceItem* item = c->Find("MZ-001");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->name, "最低生活保障申请");
  EXPECT_EQ(item->department, "民政局");
  EXPECT_EQ(item->kind, ItemKind::kPromised);
  EXPECT_EQ(item->legal_days, 30);
  EXPECT_EQ(item->promised_days, 20);
  EXPECT_TRUE(item->proxy_allowed);
  EXPECT_EQ(item->accept_level, Tier::kTownship);
  EXPECT_EQ(item->decide_level, Tier::kCounty);
  EXPECT_EQ(item->fee_fen, 0);
  ASSERT_EQ(item->materials.size(), 5u);
  EXPECT_EQ(item->materials.front(), "申请书");
  EXPECT_EQ(item->materials.back(), "家庭经济状况核对授权书");
}

TEST(CatalogTest, ShippedCatalog_OtherKindsAndLevels) {
  Result<Catalog> c = Catalog::LoadCsv(kShippedCatalog);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Find("MZ-007")->kind, ItemKind::kOnTheSpot);
  EXPECT_EQ(c->Find("MZ-007")->promised_days, 0);
  EXPECT_EQ(c->Find("WJ-002")->kind, ItemKind::kForwarded);
  EXPECT_EQ(c->Find("NY-001")->kind, ItemKind::kJoint);
  EXPECT_EQ(c->Find("NY-001")->name, "农村宅基地和建房(规划许可)审批");
  EXPECT_FALSE(c->Find("GA-001")->proxy_allowed);
  EXPECT_EQ(c->Find("GA-002")->accept_level, Tier::kCounty);
  EXPECT_EQ(c->Find("RS-006")->decide_level, Tier::kCity);
}

TEST(CatalogTest, LoadCsv_MissingFileIsNotFound) {
  Result<Catalog> c = Catalog::LoadCsv("/nonexistent/items.csv");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
}

TEST(CatalogTest, ItemKindNamesRoundTrip) {
  EXPECT_EQ(ItemKindName(ItemKind::kOnTheSpot), "即办件");
  EXPECT_EQ(ItemKindName(ItemKind::kPromised), "承诺件");
  EXPECT_EQ(ItemKindName(ItemKind::kForwarded), "上报件");
  EXPECT_EQ(ItemKindName(ItemKind::kJoint), "联办件");
  for (ItemKind k : {ItemKind::kOnTheSpot, ItemKind::kPromised, ItemKind::kForwarded, ItemKind::kJoint}) {
    EXPECT_EQ(*ParseItemKind(ItemKindName(k)), k);
  }
  EXPECT_EQ(ParseItemKind("promised").status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Field parsing

TEST(CatalogTest, FeeYuanParsesToFen) {
  for (auto [yuan, fen] : std::vector<std::pair<std::string, int64_t>>{
           {"0", 0}, {"12", 1200}, {"12.5", 1250}, {"12.50", 1250}, {"0.05", 5}, {"100.99", 10099}}) {
    Result<Catalog> c = Catalog::FromCsvText(WithField("fee_yuan", yuan), "items.csv");
    ASSERT_TRUE(c.ok()) << yuan << ": " << c.status().ToString();
    EXPECT_EQ(c->Find("T-002")->fee_fen, fen) << yuan;
  }
}

TEST(CatalogTest, MaterialsAreSplitAndTrimmed) {
  Result<Catalog> c =
      Catalog::FromCsvText(WithField("materials", "\"申请书; 居民身份证 ;户口簿\""), "items.csv");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Find("T-002")->materials, (std::vector<std::string>{"申请书", "居民身份证", "户口簿"}));
}

TEST(CatalogTest, ProxyNo) {
  Result<Catalog> c = Catalog::FromCsvText(WithField("proxy_allowed", "no"), "items.csv");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->Find("T-002")->proxy_allowed);
  EXPECT_TRUE(c->Find("T-001")->proxy_allowed);
}

TEST(CatalogTest, ColumnsMayComeInAnyOrder) {
  Result<Catalog> c = Catalog::FromCsvText(
      "materials,fee_yuan,decide_level,accept_level,proxy_allowed,promised_days,legal_days,kind,"
      "department,name,code\n"
      "身份证,1.5,city,county,no,0,0,即办件,公安局,测试,X-1\n",
      "items.csv");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ServiceItem* item = c->Find("X-1");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->fee_fen, 150);
  EXPECT_EQ(item->accept_level, Tier::kCounty);
  EXPECT_EQ(item->decide_level, Tier::kCity);
  EXPECT_EQ(item->kind, ItemKind::kOnTheSpot);
}

// ---------------------------------------------------------------------------
// Loader errors: "items.csv line N: <field>: <problem>", all-or-nothing

TEST(CatalogTest, Error_MissingColumn) {
  ExpectError(
      "code,name,department,kind,legal_days,promised_days,proxy_allowed,accept_level,"
      "decide_level,fee_yuan\n"
      "T-001,x,y,即办件,0,0,yes,township,township,0\n",
      "items.csv line 1: materials: missing column");
}

TEST(CatalogTest, Error_EmptyCode) { ExpectError(WithField("code", ""), "items.csv line 3: code: empty"); }

TEST(CatalogTest, Error_DuplicateCodeNamesBothLines) {
  ExpectError(
      std::string(kHeader) + Row(ValidFields("A-1")) + Row(ValidFields("B-1")) + Row(ValidFields("A-1")),
      "items.csv line 4: code: 'A-1' duplicates line 2");
}

TEST(CatalogTest, Error_UnknownKind) {
  ExpectError(WithField("kind", "加急件"), "items.csv line 3: kind: '加急件' is not one of");
}

TEST(CatalogTest, Error_NonIntegerDays) {
  ExpectError(WithField("legal_days", "3x"), "items.csv line 3: legal_days: '3x' is not an integer");
  ExpectError(WithField("legal_days", ""), "items.csv line 3: legal_days: '' is not an integer");
  ExpectError(WithField("promised_days", "2.5"), "items.csv line 3: promised_days: '2.5' is not an integer");
  ExpectError(WithField("legal_days", "99999999999999999999"), "items.csv line 3: legal_days:");
  ExpectError(WithField("legal_days", "2501"), "items.csv line 3: legal_days: 2501 exceeds 2500");
}

TEST(CatalogTest, Error_NegativeDays) {
  ExpectError(WithField("legal_days", "-1"), "items.csv line 3: legal_days: '-1' is negative");
  ExpectError(WithField("promised_days", "-5"), "items.csv line 3: promised_days: '-5' is negative");
}

TEST(CatalogTest, Error_PromisedExceedsLegal) {
  ExpectError(WithField("promised_days", "31"), "items.csv line 3: promised_days: 31 exceeds legal_days 30");
}

TEST(CatalogTest, Error_OnTheSpotWithPromisedDays) {
  auto f = ValidFields();
  f["kind"] = "即办件";
  f["promised_days"] = "3";
  ExpectError(std::string(kHeader) + Row(f), "items.csv line 2: promised_days: must be 0 for 即办件");
}

TEST(CatalogTest, Error_PromisedKindWithoutPromisedDays) {
  ExpectError(WithField("promised_days", "0"),
              "items.csv line 3: promised_days: must be positive for 承诺件");
}

TEST(CatalogTest, ForwardedAndJointMayHaveZeroOrEqualDays) {
  auto f = ValidFields();
  f["kind"] = "上报件";
  f["promised_days"] = "30";
  auto g = ValidFields("T-002");
  g["kind"] = "联办件";
  g["legal_days"] = "0";
  g["promised_days"] = "0";
  Result<Catalog> c = Catalog::FromCsvText(std::string(kHeader) + Row(f) + Row(g), "items.csv");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

TEST(CatalogTest, Error_ProxyAllowedNotYesNo) {
  ExpectError(WithField("proxy_allowed", "true"), "items.csv line 3: proxy_allowed: 'true' is not yes or no");
  ExpectError(WithField("proxy_allowed", "Yes"), "items.csv line 3: proxy_allowed:");
}

TEST(CatalogTest, Error_UnknownLevel) {
  ExpectError(WithField("accept_level", "province"),
              "items.csv line 3: accept_level: 'province' is not one of township, county, city");
  ExpectError(WithField("accept_level", "village"),
              "items.csv line 3: accept_level: 'village' is not one of township, county, city");
  ExpectError(WithField("decide_level", "County"), "items.csv line 3: decide_level:");
}

TEST(CatalogTest, Error_DecideBelowAccept) {
  auto f = ValidFields();
  f["accept_level"] = "county";
  f["decide_level"] = "township";
  ExpectError(std::string(kHeader) + Row(f),
              "items.csv line 2: decide_level: township is below accept_level county");
}

TEST(CatalogTest, Error_BadFee) {
  for (const char* fee : {"", "abc", "12.345", "1.", ".5", "\"1,5\"", "1e3", " 1", "12.5元"}) {
    SCOPED_TRACE(fee);
    ExpectError(WithField("fee_yuan", fee), "items.csv line 3: fee_yuan:");
  }
  ExpectError(WithField("fee_yuan", "-1"), "items.csv line 3: fee_yuan: '-1' is negative");
  ExpectError(WithField("fee_yuan", "10000000000000"), "items.csv line 3: fee_yuan:");
}

TEST(CatalogTest, Error_EmptyMaterials) {
  ExpectError(WithField("materials", ""), "items.csv line 3: materials: empty list");
  ExpectError(WithField("materials", "申请书;;户口簿"), "items.csv line 3: materials: entry 2 is empty");
  ExpectError(WithField("materials", "申请书;"), "items.csv line 3: materials: entry 2 is empty");
}

TEST(CatalogTest, Error_CsvShapeComesFromTheReader) {
  ExpectError(std::string(kHeader) + "T-001,x\n", "items.csv line 2: expected 11 fields");
}

// ---------------------------------------------------------------------------
// Lookup and Put

TEST(CatalogTest, LookupUnknownIsNotFound) {
  Result<Catalog> c = Catalog::LoadCsv(kShippedCatalog);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<const ServiceItem*> r = c->Lookup("XX-999");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "service item 'XX-999' is not in the catalog");
  EXPECT_EQ(c->Find("XX-999"), nullptr);
  Result<const ServiceItem*> known = c->Lookup("SF-001");
  ASSERT_TRUE(known.ok());
  EXPECT_EQ((*known)->name, "法律援助申请");
}

TEST(CatalogTest, Put_AppendsNewItem) {
  Catalog c;
  EXPECT_TRUE(c.Put(ValidItem("A-1")).ok());
  EXPECT_TRUE(c.Put(ValidItem("B-1")).ok());
  ASSERT_EQ(c.items().size(), 2u);
  EXPECT_EQ(c.items()[1].code, "B-1");
  EXPECT_NE(c.Find("A-1"), nullptr);
}

TEST(CatalogTest, Put_ReplacesExistingInPlace) {
  Result<Catalog> loaded = Catalog::LoadCsv(kShippedCatalog);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  Catalog c = std::move(loaded).value();
  ServiceItem item = *c.Find("MZ-003");
  item.promised_days = 5;
  item.fee_fen = 1250;
  ASSERT_TRUE(c.Put(item).ok());
  EXPECT_EQ(c.items().size(), 30u);
  EXPECT_EQ(c.items()[2].code, "MZ-003");
  EXPECT_EQ(c.Find("MZ-003")->promised_days, 5);
  EXPECT_EQ(c.Find("MZ-003")->fee_fen, 1250);
}

TEST(CatalogTest, Put_RejectsBadItemAndLeavesCatalogUnchanged) {
  Catalog c;
  ASSERT_TRUE(c.Put(ValidItem("A-1")).ok());

  ServiceItem bad = ValidItem("A-1");
  bad.promised_days = 40;  // > legal 30
  Status s = c.Put(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "service item 'A-1': promised_days: 40 exceeds legal_days 30");
  EXPECT_EQ(c.Find("A-1")->promised_days, 20);

  struct Case {
    void (*mutate)(ServiceItem&);
    const char* prefix;
  };
  for (const Case& k : {
           Case{[](ServiceItem& i) { i.code.clear(); }, "service item '': code: empty"},
           Case{[](ServiceItem& i) { i.name.clear(); }, "service item 'B-1': name: empty"},
           Case{[](ServiceItem& i) { i.legal_days = -1; }, "service item 'B-1': legal_days:"},
           Case{[](ServiceItem& i) { i.accept_level = Tier::kVillage; },
                "service item 'B-1': accept_level: village"},
           Case{[](ServiceItem& i) { i.decide_level = Tier::kVillage; },
                "service item 'B-1': decide_level: village"},
           Case{[](ServiceItem& i) { i.accept_level = Tier::kCity; },
                "service item 'B-1': decide_level: county is below accept_level city"},
           Case{[](ServiceItem& i) { i.fee_fen = -1; }, "service item 'B-1': fee_yuan:"},
           Case{[](ServiceItem& i) { i.materials.clear(); }, "service item 'B-1': materials: empty"},
           Case{[](ServiceItem& i) { i.materials.emplace_back(); },
                "service item 'B-1': materials: entry 3 is empty"},
           Case{[](ServiceItem& i) { i.kind = ItemKind::kOnTheSpot; },
                "service item 'B-1': promised_days: must be 0"},
       }) {
    ServiceItem item = ValidItem("B-1");
    k.mutate(item);
    Status st = c.Put(item);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << k.prefix;
    EXPECT_EQ(st.message().rfind(k.prefix, 0), 0u) << st.message();
  }
  EXPECT_EQ(c.items().size(), 1u);
}

}  // namespace
}  // namespace daiban::common
