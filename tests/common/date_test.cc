#include "common/date.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace daiban::common {
namespace {

Date D(std::string_view iso) {
  Result<Date> d = Date::Parse(iso);
  EXPECT_TRUE(d.ok()) << iso << ": " << d.status().ToString();
  return d.ok() ? *d : Date();
}

TEST(DateTest, Default_IsEpoch) {
  Date d;
  EXPECT_EQ(d.days(), 0);
  EXPECT_EQ(d.ToString(), "1970-01-01");
  EXPECT_EQ(d.weekday(), 4);  // Thursday
}

TEST(DateTest, Parse_ValidDates) {
  Date d = D("2025-01-24");
  EXPECT_EQ(d.year(), 2025);
  EXPECT_EQ(d.month(), 1);
  EXPECT_EQ(d.day(), 24);
  EXPECT_EQ(d.ToString(), "2025-01-24");

  EXPECT_EQ(D("2024-02-29").ToString(), "2024-02-29");
  EXPECT_EQ(D("2000-02-29").ToString(), "2000-02-29");
  EXPECT_EQ(D("1900-01-01").ToString(), "1900-01-01");
  EXPECT_EQ(D("2199-12-31").ToString(), "2199-12-31");
  EXPECT_EQ(D("1970-01-01").days(), 0);
  EXPECT_EQ(D("1969-12-31").days(), -1);
  EXPECT_EQ(D("2000-03-01").days(), 11017);
}

TEST(DateTest, Parse_InvalidDates) {
  for (const char* bad :
       {"2025-02-29", "1900-02-29",  "2100-02-29",  "2025-1-5",   "abcd-ef-gh", "",
        "2025-13-01", "2025-00-10",  "2025-04-31",  "2025-01-00", "2025-01-32", "1899-12-31",
        "2200-01-01", " 2025-01-01", "2025-01-01 ", "2025/01/01", "20250101",   "2025-01-01T00:00",
        "+025-01-01", "2025-0a-01",  "2025-01-1\n"}) {
    Result<Date> d = Date::Parse(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' parsed as " << (d.ok() ? d->ToString() : "");
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DateTest, Parse_ErrorMessagesSayWhatIsWrong) {
  EXPECT_NE(Date::Parse("2025-02-29").status().message().find("February 2025 has 28 days"),
            std::string::npos)
      << Date::Parse("2025-02-29").status().message();
  EXPECT_NE(Date::Parse("2025-1-5").status().message().find("YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(Date::Parse("").status().message().find("empty"), std::string::npos);
  EXPECT_NE(Date::Parse("2025-13-01").status().message().find("month 13"), std::string::npos);
  EXPECT_NE(Date::Parse("1899-12-31").status().message().find("year 1899"), std::string::npos);
  // Long garbage is cut short in the message.
  std::string long_input(1000, 'x');
  EXPECT_LT(Date::Parse(long_input).status().message().size(), 100u);
}

TEST(DateTest, FromYmd_ValidatesLikeParse) {
  ASSERT_TRUE(Date::FromYmd(2024, 2, 29).ok());
  EXPECT_EQ(Date::FromYmd(2024, 2, 29)->ToString(), "2024-02-29");
  EXPECT_FALSE(Date::FromYmd(2025, 2, 29).ok());
  EXPECT_FALSE(Date::FromYmd(2025, 0, 1).ok());
  EXPECT_FALSE(Date::FromYmd(2025, 6, 31).ok());
  EXPECT_FALSE(Date::FromYmd(1899, 12, 31).ok());
  EXPECT_FALSE(Date::FromYmd(2200, 1, 1).ok());
  EXPECT_EQ(Date::FromYmd(2025, 2, 29).status().code(), StatusCode::kInvalidArgument);
}

TEST(DateTest, Weekday_KnownDates) {
  EXPECT_EQ(D("2025-01-24").weekday(), 5);  // Friday
  EXPECT_EQ(D("2025-01-26").weekday(), 7);  // Sunday
  EXPECT_EQ(D("2025-01-27").weekday(), 1);  // Monday
  EXPECT_EQ(D("2026-02-14").weekday(), 6);  // Saturday
  EXPECT_EQ(D("2000-01-01").weekday(), 6);  // Saturday
  EXPECT_EQ(D("1900-01-01").weekday(), 1);  // Monday
  EXPECT_EQ(D("1969-12-29").weekday(), 1);  // Monday, before the epoch
  EXPECT_EQ(D("2199-12-31").weekday(), 2);  // Tuesday
  EXPECT_FALSE(D("2025-01-24").IsWeekend());
  EXPECT_TRUE(D("2025-01-25").IsWeekend());
  EXPECT_TRUE(D("2025-01-26").IsWeekend());
}

TEST(DateTest, Weekday_CyclesThroughSevenDays) {
  Date d = D("1900-01-01");  // Monday
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(d.AddDays(i).weekday(), i % 7 + 1) << d.AddDays(i);
  }
}

TEST(DateTest, FromDaysRoundTrip_EveryDay1900To2199) {
  const int64_t first = D("1900-01-01").days();
  const int64_t last = D("2199-12-31").days();
  int expected_y = 1900, expected_m = 1, expected_d = 1;
  for (int64_t days = first; days <= last; ++days) {
    Date d = Date::FromDays(days);
    ASSERT_EQ(d.days(), days);
    ASSERT_EQ(d.year(), expected_y) << days;
    ASSERT_EQ(d.month(), expected_m) << days;
    ASSERT_EQ(d.day(), expected_d) << days;
    Result<Date> again = Date::FromYmd(d.year(), d.month(), d.day());
    ASSERT_TRUE(again.ok()) << d;
    ASSERT_EQ(again->days(), days);
    Result<Date> parsed = Date::Parse(d.ToString());
    ASSERT_TRUE(parsed.ok()) << d;
    ASSERT_EQ(*parsed, d);
    // Advance the expected civil date independently of the conversion code.
    if (++expected_d > Date::DaysInMonth(expected_y, expected_m)) {
      expected_d = 1;
      if (++expected_m > 12) {
        expected_m = 1;
        ++expected_y;
      }
    }
  }
  EXPECT_EQ(last - first + 1, 300 * 365 + 73);  // 73 leap years in 1900..2199
}

TEST(DateTest, FromDays_FarOutsideParseRange) {
  Date d = Date::FromDays(-719468);  // 0000-03-01
  EXPECT_EQ(d.ToString(), "0000-03-01");
  EXPECT_EQ(Date::FromDays(2932896).ToString(), "9999-12-31");
  EXPECT_EQ(D("2199-12-31").AddDays(1).ToString(), "2200-01-01");
  EXPECT_EQ(D("1900-01-01").AddDays(-1).ToString(), "1899-12-31");
}

TEST(DateTest, AddDays_AndCompare) {
  Date a = D("2024-12-31");
  Date b = a.AddDays(1);
  EXPECT_EQ(b.ToString(), "2025-01-01");
  EXPECT_EQ(b.AddDays(-1), a);
  EXPECT_LT(a, b);
  EXPECT_GT(b, a);
  EXPECT_NE(a, b);
  EXPECT_EQ(D("2024-02-28").AddDays(1).ToString(), "2024-02-29");
  EXPECT_EQ(D("2025-02-28").AddDays(1).ToString(), "2025-03-01");
  EXPECT_EQ(D("2025-01-01").AddDays(365).ToString(), "2026-01-01");
}

TEST(DateTest, DaysInMonth) {
  EXPECT_EQ(Date::DaysInMonth(2024, 2), 29);
  EXPECT_EQ(Date::DaysInMonth(2025, 2), 28);
  EXPECT_EQ(Date::DaysInMonth(1900, 2), 28);
  EXPECT_EQ(Date::DaysInMonth(2000, 2), 29);
  EXPECT_EQ(Date::DaysInMonth(2025, 4), 30);
  EXPECT_EQ(Date::DaysInMonth(2025, 12), 31);
  EXPECT_EQ(Date::DaysInMonth(2025, 13), 0);
}

TEST(DateTest, StreamsAsIso) {
  std::ostringstream os;
  os << D("2025-10-01");
  EXPECT_EQ(os.str(), "2025-10-01");
}

// 2025-01-24T16:00:00Z is 2025-01-25T00:00:00+08:00.
TEST(DateTest, DateFromUnixMillisCst_MidnightBoundary) {
  const int64_t boundary = 1737734400000;  // 2025-01-24T16:00:00Z
  EXPECT_EQ(DateFromUnixMillisCst(boundary).ToString(), "2025-01-25");
  EXPECT_EQ(DateFromUnixMillisCst(boundary - 1).ToString(), "2025-01-24");
  EXPECT_EQ(DateFromUnixMillisCst(boundary + 86400000 - 1).ToString(), "2025-01-25");
  EXPECT_EQ(DateFromUnixMillisCst(boundary + 86400000).ToString(), "2025-01-26");
  // 2025-01-24T00:00:00Z is already 08:00 on the 24th in China.
  EXPECT_EQ(DateFromUnixMillisCst(boundary - 16LL * 3600 * 1000).ToString(), "2025-01-24");
}

TEST(DateTest, DateFromUnixMillisCst_AroundAndBeforeEpoch) {
  EXPECT_EQ(DateFromUnixMillisCst(0).ToString(), "1970-01-01");
  EXPECT_EQ(DateFromUnixMillisCst(16LL * 3600 * 1000 - 1).ToString(), "1970-01-01");
  EXPECT_EQ(DateFromUnixMillisCst(16LL * 3600 * 1000).ToString(), "1970-01-02");
  EXPECT_EQ(DateFromUnixMillisCst(-8LL * 3600 * 1000).ToString(), "1970-01-01");
  EXPECT_EQ(DateFromUnixMillisCst(-8LL * 3600 * 1000 - 1).ToString(), "1969-12-31");
  // Extreme inputs do not overflow.
  EXPECT_GT(DateFromUnixMillisCst(INT64_MAX).year(), 2199);
  EXPECT_LT(DateFromUnixMillisCst(INT64_MIN).year(), 1900);
}

}  // namespace
}  // namespace daiban::common
