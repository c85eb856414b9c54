// Tests for the small core utilities: Status, CSV, HLC, JSON, SQLite, flags.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/clock.h"
#include "common/csv.h"
#include "common/flags.h"
#include "common/hlc.h"
#include "common/json.h"
#include "common/sqlite.h"
#include "common/status.h"

namespace daiban::common {
namespace {

TEST(StatusTest, CodesRoundTripThroughWireNames) {
  for (int i = 0; i <= static_cast<int>(StatusCode::kInternal); ++i) {
    auto c = static_cast<StatusCode>(i);
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(c)), c);
  }
  EXPECT_EQ(StatusCodeFromName("no_such_code"), StatusCode::kInternal);
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = InvalidArgument("x: wrong");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString(), "invalid_argument: x: wrong");
  Result<int> from_ok = Status::Ok();  // a caller bug, turned into an error rather than a crash
  EXPECT_EQ(from_ok.status().code(), StatusCode::kInternal);
  EXPECT_EQ(InvalidArgument("m").WithContext("ctx").message(), "ctx: m");
}

TEST(CsvTest, QuotedFieldsCommasAndDoubledQuotes) {
  auto t = ParseCsv("\xEF\xBB\xBF" "code,name\n1,\"a, \"\"b\"\"\"\n\n2,c\r\n", "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->header[0], "code");
  EXPECT_EQ(t->rows[0].fields[1], "a, \"b\"");
  EXPECT_EQ(t->rows[1].line, 4);
  EXPECT_EQ(t->Column("name"), 1);
  EXPECT_EQ(t->Column("nope"), -1);
}

TEST(CsvTest, WrongFieldCountNamesTheLine) {
  auto t = ParseCsv("a,b\n1,2\n3\n", "x.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "x.csv line 3: expected 2 fields, found 1");
}

TEST(CsvTest, UnterminatedQuoteAndEmptyFileAreErrors) {
  EXPECT_FALSE(ParseCsv("a,b\n1,\"oops\n", "x.csv").ok());
  EXPECT_FALSE(ParseCsv("", "x.csv").ok());
  auto t = ParseCsv("a,b\n", "x.csv");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->RequireColumns({"a", "c"}, "x.csv").ok());
}

TEST(HlcTest, StrictlyIncreasingEvenWhenWallClockStandsStill) {
  FakeClock clock(1000);
  HybridClock hlc(&clock);
  HlcTimestamp a = hlc.Now(), b = hlc.Now();
  EXPECT_LT(a, b);
  EXPECT_EQ(HlcMillis(b), 1000);
  EXPECT_EQ(HlcLogical(b), 1u);
  clock.Set(500);  // the wall clock goes backwards
  EXPECT_GT(hlc.Now(), b);
}

TEST(HlcTest, ObserveMovesPastARemoteTimestamp) {
  FakeClock clock(1000);
  HybridClock hlc(&clock);
  HlcTimestamp remote = MakeHlc(9'000'000, 4);  // a node whose clock is far ahead
  hlc.Observe(remote);
  EXPECT_GT(hlc.Now(), remote);
  EXPECT_EQ(FormatHlc(MakeHlc(1737705600000, 2)), "2025-01-24T08:00:00.000Z/2");
}

TEST(JsonTest, CanonicalFormSortsKeysAndIsStable) {
  auto a = ParseJson(R"({"b":1,"a":{"y":[1,2],"x":"阜新"}})");
  auto b = ParseJson(R"({ "a" : { "x" : "阜新", "y" : [1, 2] }, "b" : 1 })");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(CanonicalJson(*a), R"({"a":{"x":"阜新","y":[1,2]},"b":1})");
  EXPECT_EQ(CanonicalJson(*a), CanonicalJson(*b));
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(JsonTest, MalformedAndTooDeepInputAreClearErrors) {
  auto bad = ParseJson(R"({"a":)", "batch");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("batch: malformed JSON", 0), 0u) << bad.status().message();
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto d = ParseJson(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nested deeper"), std::string::npos);
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJson("[\"" + std::string(200, '[') + "\"]").ok());
}

TEST(JsonTest, TypedGettersNameTheField) {
  auto j = ParseJson(R"({"s":"x","i":3,"b":true})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*GetString(*j, "s"), "x");
  EXPECT_EQ(*GetInt(*j, "i"), 3);
  EXPECT_TRUE(*GetBool(*j, "b"));
  EXPECT_EQ(GetString(*j, "i").status().message(), "body.i: must be a string");
  EXPECT_EQ(GetInt(*j, "missing", "event").status().message(), "event.missing: missing");
  EXPECT_EQ(*GetOptString(*j, "absent"), "");
}

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("daiban_sqlite_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SqliteTest, TransactionCommitsOrRollsBack) {
  auto db = Db::Open((dir_ / "t.db").string());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").ok());
  {
    Transaction tx(db->get());
    ASSERT_TRUE(tx.Begin().ok());
    auto st = (*db)->Prepare("INSERT INTO t VALUES(?, ?)");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->Bind(1, "a").Bind(2, int64_t{1}).Run().ok());
    // no Commit: rolled back by the destructor
  }
  {
    Transaction tx(db->get());
    ASSERT_TRUE(tx.Begin().ok());
    auto st = (*db)->Prepare("INSERT INTO t VALUES(?, ?)");
    ASSERT_TRUE((*st)->Bind(1, "b").Bind(2, int64_t{2}).Run().ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  auto q = (*db)->Prepare("SELECT k, v FROM t");
  ASSERT_TRUE(q.ok());
  std::vector<std::string> keys;
  while (*(*q)->Step()) keys.push_back((*q)->ColumnText(0));
  EXPECT_EQ(keys, std::vector<std::string>{"b"});
}

TEST_F(SqliteTest, ConstraintViolationIsAlreadyExistsAndStatementsAreReusable) {
  auto db = Db::Open((dir_ / "t.db").string());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k TEXT PRIMARY KEY)").ok());
  auto st = (*db)->Prepare("INSERT INTO t VALUES(?)");
  ASSERT_TRUE((*st)->Bind(1, "a").Run().ok());
  st = (*db)->Prepare("INSERT INTO t VALUES(?)");  // the cached statement, reset
  Status dup = (*st)->Bind(1, "a").Run();
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE((*db)->Prepare("SELEKT nonsense").ok());
}

TEST_F(SqliteTest, GarbageFileIsDataLoss) {
  std::string path = (dir_ / "junk.db").string();
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto db = Db::Open(path);
  Status s = db.ok() ? (*db)->Exec("SELECT * FROM sqlite_master") : db.status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
}

TEST(FlagsTest, ParsesKeyValueFormsAndPositionals) {
  const char* argv[] = {"bin", "cmd", "--a", "1", "--b=two", "pos", "--c"};
  Flags f = Flags::Parse(7, argv, 2);
  EXPECT_EQ(f.Get("a"), "1");
  EXPECT_EQ(f.Get("b"), "two");
  EXPECT_EQ(f.Get("c"), "true");
  EXPECT_EQ(f.positional(), std::vector<std::string>{"pos"});
  EXPECT_EQ(*f.GetInt("a", 0), 1);
  EXPECT_FALSE(f.GetInt("b", 0).ok());
  EXPECT_FALSE(f.Require("zzz").ok());
  EXPECT_FALSE(f.CheckKnown({"a", "b"}).ok());
  EXPECT_TRUE(f.CheckKnown({"a", "b", "c"}).ok());
}

}  // namespace
}  // namespace daiban::common

namespace daiban::common {
namespace {

// Regression: binding a statement that had run to completion failed silently and the next
// run repeated the old values (the hub's statistics counted one row a hundred times).
TEST(SqliteRegressionTest, AStatementRunTwiceWithNewBindingsStoresBoth) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(v INTEGER)").ok());
  auto st = (*db)->Prepare("INSERT INTO t VALUES(?)");
  ASSERT_TRUE(st.ok());
  for (int64_t v : {1, 2, 3}) ASSERT_TRUE((*st)->Bind(1, v).Run().ok());
  auto q = (*db)->Prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->ColumnText(0), "1,2,3");
}

}  // namespace
}  // namespace daiban::common
