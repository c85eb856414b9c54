#include "common/calendar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/csv.h"

namespace daiban::common {
namespace {

const std::string kCsvPath =
    std::string(DAIBAN_SOURCE_DIR) + "/config/calendar/cn-holidays-2025-2026.csv";

Date D(std::string_view iso) {
  Result<Date> d = Date::Parse(iso);
  EXPECT_TRUE(d.ok()) << iso << ": " << d.status().ToString();
  return d.ok() ? *d : Date();
}

// The shipped calendar; fails the test (and returns plain Mon-Fri) if it cannot load.
WorkCalendar Cn() {
  Result<WorkCalendar> cal = WorkCalendar::LoadCsv(kCsvPath);
  EXPECT_TRUE(cal.ok()) << cal.status().ToString();
  return cal.ok() ? *cal : WorkCalendar();
}

// Day-by-day reference implementations, built only on IsWorkingDay.
Date SlowAddWorkingDays(const WorkCalendar& cal, Date start, int n) {
  Date d = start;
  while (n > 0) {
    d = d.AddDays(1);
    if (cal.IsWorkingDay(d)) --n;
  }
  return d;
}

int SlowWorkingDaysBetween(const WorkCalendar& cal, Date from, Date to) {
  int sign = 1;
  if (to < from) {
    std::swap(from, to);
    sign = -1;
  }
  int n = 0;
  for (Date d = from.AddDays(1); d <= to; d = d.AddDays(1)) n += cal.IsWorkingDay(d) ? 1 : 0;
  return sign * n;
}

// Loads `text` labelled cn-holidays.csv; returns the error message ("" if it loaded).
std::string LoadError(const std::string& text) {
  Result<WorkCalendar> cal = WorkCalendar::FromCsvText(text, "cn-holidays.csv");
  if (cal.ok()) return "";
  EXPECT_EQ(cal.status().code(), StatusCode::kInvalidArgument) << cal.status().ToString();
  return cal.status().message();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- The shipped file -------------------------------------------------------------

TEST(CalendarTest, ShippedCsv_IsByteIdenticalToSharedData) {
  std::string shared_dir = std::string(DAIBAN_SOURCE_DIR) + "/../shared/data";
#ifdef DAIBAN_SHARED_DATA
  shared_dir = DAIBAN_SHARED_DATA;
#endif
  std::ifstream shared(shared_dir + "/calendar/cn-holidays-2025-2026.csv", std::ios::binary);
  if (!shared) GTEST_SKIP() << "shared/data is not beside the clone";
  std::ifstream shipped(kCsvPath, std::ios::binary);
  ASSERT_TRUE(shipped) << kCsvPath;
  std::ostringstream a, b;
  a << shipped.rdbuf();
  b << shared.rdbuf();
  EXPECT_EQ(a.str(), b.str()) << "config/calendar copy differs from shared/data";
}

TEST(CalendarTest, LoadCsv_ShippedFile) {
  Result<WorkCalendar> cal = WorkCalendar::LoadCsv(kCsvPath);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->exception_count(), 72u);
  EXPECT_EQ(cal->YearsCovered(), (std::vector<int>{2025, 2026}));
  EXPECT_TRUE(cal->Covers(2025));
  EXPECT_TRUE(cal->Covers(2026));
  EXPECT_FALSE(cal->Covers(2024));
  EXPECT_FALSE(cal->Covers(2027));
  EXPECT_FALSE(cal->Covers(1800));
  EXPECT_EQ(cal->ExceptionName(D("2025-01-29")), "春节");
  EXPECT_EQ(cal->ExceptionName(D("2025-01-26")), "春节调休上班");
  EXPECT_EQ(cal->ExceptionName(D("2025-01-27")), "");
}

TEST(CalendarTest, LoadCsv_MissingFileIsNotFound) {
  Result<WorkCalendar> cal = WorkCalendar::LoadCsv("/nonexistent/calendar.csv");
  ASSERT_FALSE(cal.ok());
  EXPECT_EQ(cal.status().code(), StatusCode::kNotFound);
}

TEST(CalendarTest, EveryRowOfShippedFileIsHonoured) {
  Result<CsvTable> table = ReadCsvFile(kCsvPath);
  ASSERT_TRUE(table.ok());
  WorkCalendar cal = Cn();
  const auto date_col = static_cast<size_t>(table->Column("date"));
  const auto kind_col = static_cast<size_t>(table->Column("kind"));
  for (const CsvRow& row : table->rows) {
    EXPECT_EQ(cal.IsWorkingDay(D(row.fields[date_col])), row.fields[kind_col] == "workday")
        << row.fields[date_col];
  }
}

// Counted independently: 261 weekdays, 18 holidays on weekdays, 5 make-up Saturdays
// or Sundays in 2025; 261 - 18 + 5 in 2026 as well.
TEST(CalendarTest, WorkingDaysPerYear_2025And2026) {
  WorkCalendar cal = Cn();
  EXPECT_EQ(cal.WorkingDaysBetween(D("2024-12-31"), D("2025-12-31")), 248);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-12-31"), D("2026-12-31")), 248);
  EXPECT_EQ(WorkCalendar().WorkingDaysBetween(D("2024-12-31"), D("2025-12-31")), 261);
}

// ---- IsWorkingDay ---------------------------------------------------------------

TEST(CalendarTest, IsWorkingDay_MakeUpSundayHolidayWeekdayAndOrdinaryDays) {
  WorkCalendar cal = Cn();
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-01-26")));   // Sunday, make-up workday
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-10-11")));   // Saturday, make-up workday
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-01-28")));  // Tuesday, Spring Festival
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-10-08")));  // Wednesday, National Day
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-02-01")));  // Saturday inside the holiday
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-03-04")));   // ordinary Tuesday
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-03-08")));  // ordinary Saturday
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-03-09")));  // ordinary Sunday
  EXPECT_TRUE(cal.IsWorkingDay(D("2027-01-01")));   // Friday of an unpublished year
}

TEST(CalendarTest, DefaultCalendar_IsPlainMondayToFriday) {
  WorkCalendar cal;
  EXPECT_EQ(cal.exception_count(), 0u);
  EXPECT_TRUE(cal.YearsCovered().empty());
  EXPECT_FALSE(cal.Covers(2025));
  EXPECT_FALSE(cal.IsWorkingDay(D("2025-01-26")));
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-01-28")));
  EXPECT_EQ(cal.AddWorkingDays(D("2025-01-24"), 5).ToString(), "2025-01-31");
  EXPECT_EQ(cal.AddWorkingDays(D("2025-01-25"), 1).ToString(), "2025-01-27");  // from Saturday
}

// ---- AddWorkingDays on the real holidays -------------------------------------------

// Accepted Friday 2025-01-24: Sun 1-26 is a make-up day, 1-28..2-4 are off.
TEST(CalendarTest, SpringFestival2025_FiveDaysFromFriday) {
  WorkCalendar cal = Cn();
  Date start = D("2025-01-24");
  EXPECT_EQ(cal.AddWorkingDays(start, 0), start);
  EXPECT_EQ(cal.AddWorkingDays(start, 1).ToString(), "2025-01-26");
  EXPECT_EQ(cal.AddWorkingDays(start, 2).ToString(), "2025-01-27");
  EXPECT_EQ(cal.AddWorkingDays(start, 3).ToString(), "2025-02-05");
  EXPECT_EQ(cal.AddWorkingDays(start, 5).ToString(), "2025-02-07");
  EXPECT_EQ(cal.AddWorkingDays(start, 6).ToString(), "2025-02-08");  // make-up Saturday
  EXPECT_EQ(cal.AddWorkingDays(start, 7).ToString(), "2025-02-10");
  EXPECT_EQ(cal.WorkingDaysBetween(start, D("2025-02-07")), 5);
}

// 2026: Sat 2-14 make-up, 2-15..2-23 off, Sat 2-28 make-up.
TEST(CalendarTest, SpringFestival2026_BreakAndMakeUpDays) {
  WorkCalendar cal = Cn();
  Date start = D("2026-02-13");  // Friday
  EXPECT_EQ(cal.AddWorkingDays(start, 1).ToString(), "2026-02-14");
  EXPECT_EQ(cal.AddWorkingDays(start, 2).ToString(), "2026-02-24");
  EXPECT_EQ(cal.AddWorkingDays(start, 5).ToString(), "2026-02-27");
  EXPECT_EQ(cal.AddWorkingDays(start, 6).ToString(), "2026-02-28");
  EXPECT_EQ(cal.AddWorkingDays(start, 7).ToString(), "2026-03-02");
  EXPECT_FALSE(cal.IsWorkingDay(D("2026-02-16")));  // Monday
  EXPECT_FALSE(cal.IsWorkingDay(D("2026-02-23")));  // Monday
  EXPECT_TRUE(cal.IsWorkingDay(D("2026-02-14")));   // Saturday
  EXPECT_TRUE(cal.IsWorkingDay(D("2026-02-28")));   // Saturday
  // Nothing counts from the make-up Saturday to the end of the break.
  EXPECT_EQ(cal.WorkingDaysBetween(D("2026-02-14"), D("2026-02-23")), 0);
}

// 2025: Sun 9-28 make-up, 10-1..10-8 off, Sat 10-11 make-up.
TEST(CalendarTest, NationalDay2025_BreakAndMakeUpDays) {
  WorkCalendar cal = Cn();
  Date start = D("2025-09-26");  // Friday
  EXPECT_EQ(cal.AddWorkingDays(start, 1).ToString(), "2025-09-28");
  EXPECT_EQ(cal.AddWorkingDays(start, 2).ToString(), "2025-09-29");
  EXPECT_EQ(cal.AddWorkingDays(start, 3).ToString(), "2025-09-30");
  EXPECT_EQ(cal.AddWorkingDays(start, 4).ToString(), "2025-10-09");
  EXPECT_EQ(cal.AddWorkingDays(start, 5).ToString(), "2025-10-10");
  EXPECT_EQ(cal.AddWorkingDays(start, 6).ToString(), "2025-10-11");
  EXPECT_EQ(cal.AddWorkingDays(start, 7).ToString(), "2025-10-13");
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-09-30"), D("2025-10-08")), 0);
}

// 2026: Sun 9-20 make-up, 9-25..9-27 off (Mid-Autumn), 10-1..10-7 off, Sat 10-10 make-up.
TEST(CalendarTest, NationalDay2026_BreakAndMakeUpDays) {
  WorkCalendar cal = Cn();
  EXPECT_EQ(cal.AddWorkingDays(D("2026-09-18"), 1).ToString(), "2026-09-20");
  EXPECT_EQ(cal.AddWorkingDays(D("2026-09-24"), 1).ToString(), "2026-09-28");
  Date start = D("2026-09-30");  // Wednesday
  EXPECT_EQ(cal.AddWorkingDays(start, 1).ToString(), "2026-10-08");
  EXPECT_EQ(cal.AddWorkingDays(start, 2).ToString(), "2026-10-09");
  EXPECT_EQ(cal.AddWorkingDays(start, 3).ToString(), "2026-10-10");
  EXPECT_EQ(cal.AddWorkingDays(start, 4).ToString(), "2026-10-12");
  // (9-24, 10-10]: 9-28, 9-29, 9-30, 10-8, 10-9 and the make-up Saturday 10-10.
  EXPECT_EQ(cal.WorkingDaysBetween(D("2026-09-24"), D("2026-10-10")), 6);
}

// 2026-01-01..03 off, Sun 2026-01-04 is a make-up day.
TEST(CalendarTest, YearEnd2025To2026) {
  WorkCalendar cal = Cn();
  EXPECT_EQ(cal.AddWorkingDays(D("2025-12-30"), 1).ToString(), "2025-12-31");
  EXPECT_EQ(cal.AddWorkingDays(D("2025-12-31"), 1).ToString(), "2026-01-04");
  EXPECT_EQ(cal.AddWorkingDays(D("2025-12-31"), 2).ToString(), "2026-01-05");
  EXPECT_EQ(cal.AddWorkingDays(D("2025-12-20"), 10).ToString(), "2026-01-05");
  EXPECT_EQ(cal.AddWorkingDays(D("2026-01-30"), 20).ToString(), "2026-03-05");
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-12-31"), D("2026-01-04")), 1);
}

TEST(CalendarTest, LongSpans_AcrossPublishedAndUnpublishedYears) {
  WorkCalendar cal = Cn();
  // 2024-06-01..2027-06-01 counted day by day elsewhere: 756.
  EXPECT_EQ(cal.WorkingDaysBetween(D("2024-06-01"), D("2027-06-01")), 756);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2027-06-01"), D("2024-06-01")), -756);
  EXPECT_EQ(cal.AddWorkingDays(D("2024-06-01"), 756),
            SlowAddWorkingDays(cal, D("2024-06-01"), 756));
  for (Date from : {D("1990-01-01"), D("2024-12-30"), D("2025-10-05"), D("2026-12-31")}) {
    for (Date to : {D("2024-01-01"), D("2025-02-03"), D("2026-10-01"), D("2031-07-15")}) {
      EXPECT_EQ(cal.WorkingDaysBetween(from, to), SlowWorkingDaysBetween(cal, from, to))
          << from << " -> " << to;
    }
  }
  Date far = cal.AddWorkingDays(D("2020-01-01"), 5000);
  EXPECT_EQ(far, SlowAddWorkingDays(cal, D("2020-01-01"), 5000));
  EXPECT_EQ(cal.WorkingDaysBetween(D("2020-01-01"), far), 5000);
}

// ---- WorkingDaysBetween ----------------------------------------------------------

TEST(CalendarTest, WorkingDaysBetween_EqualNegativeAndEndpoints) {
  WorkCalendar cal = Cn();
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-04"), D("2025-03-04")), 0);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-01-28"), D("2025-01-28")), 0);
  // (from, to]: the start never counts, the end does.
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-03"), D("2025-03-04")), 1);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-04"), D("2025-03-03")), -1);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-02-07"), D("2025-01-24")), -5);
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-07"), D("2025-03-09")), 0);   // Fri -> Sun
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-09"), D("2025-03-07")), 0);   // -(Fri, Sun]
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-03-10"), D("2025-03-07")), -1);  // -(Fri, Mon]
}

// Property: the two functions agree, and both agree with day-by-day counting.
TEST(CalendarTest, WorkingDaysBetween_ConsistentWithAddWorkingDays) {
  WorkCalendar cal = Cn();
  for (Date s = D("2024-11-01"); s <= D("2027-02-01"); s = s.AddDays(1)) {
    for (int n = 0; n <= 40; ++n) {
      Date end = cal.AddWorkingDays(s, n);
      ASSERT_EQ(cal.WorkingDaysBetween(s, end), n) << s << " + " << n << " = " << end;
      ASSERT_EQ(cal.WorkingDaysBetween(end, s), -n) << s << " + " << n;
      if (n > 0) {
        ASSERT_TRUE(cal.IsWorkingDay(end)) << s << " + " << n << " = " << end;
        ASSERT_GT(end, s);
      }
    }
    ASSERT_EQ(cal.AddWorkingDays(s, 40), SlowAddWorkingDays(cal, s, 40)) << s;
    ASSERT_EQ(cal.WorkingDaysBetween(s, s.AddDays(45)),
              SlowWorkingDaysBetween(cal, s, s.AddDays(45)))
        << s;
  }
}

TEST(CalendarDeathTest, AddWorkingDays_NegativeStopsTheProcess) {
  WorkCalendar cal;
  EXPECT_DEATH((void)cal.AddWorkingDays(D("2025-03-04"), -1), "n = -1");
}

// ---- Merge -----------------------------------------------------------------------

TEST(CalendarTest, Merge_AddsANewYear) {
  Result<WorkCalendar> y2025 = WorkCalendar::FromCsvText(
      "date,kind,name\n2025-01-01,holiday,元旦\n2025-01-26,workday,春节调休上班\n", "2025.csv");
  Result<WorkCalendar> y2026 = WorkCalendar::FromCsvText(
      "date,kind,name\n2026-01-01,holiday,元旦\n2025-01-01,holiday,元旦\n", "2026.csv");
  ASSERT_TRUE(y2025.ok() && y2026.ok());
  WorkCalendar cal = *y2025;
  EXPECT_FALSE(cal.Covers(2026));
  ASSERT_TRUE(cal.Merge(*y2026).ok());
  EXPECT_EQ(cal.exception_count(), 3u);  // 2025-01-01 kept once
  EXPECT_TRUE(cal.Covers(2026));
  EXPECT_EQ(cal.YearsCovered(), (std::vector<int>{2025, 2026}));
  EXPECT_FALSE(cal.IsWorkingDay(D("2026-01-01")));
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-01-26")));
  EXPECT_EQ(cal.WorkingDaysBetween(D("2025-12-31"), D("2026-01-02")), 1);
}

TEST(CalendarTest, Merge_ConflictingKindIsRejectedAndChangesNothing) {
  WorkCalendar cal = Cn();
  Result<WorkCalendar> other = WorkCalendar::FromCsvText(
      "date,kind,name\n2027-01-01,holiday,元旦\n2025-01-26,holiday,oops\n", "2027.csv");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Status s = cal.Merge(*other);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "2025-01-26")) << s.message();
  EXPECT_EQ(cal.exception_count(), 72u);
  EXPECT_FALSE(cal.Covers(2027));
  EXPECT_TRUE(cal.IsWorkingDay(D("2025-01-26")));
}

TEST(CalendarTest, Merge_IntoEmptyEqualsLoaded) {
  WorkCalendar loaded = Cn();
  WorkCalendar cal;
  ASSERT_TRUE(cal.Merge(loaded).ok());
  ASSERT_TRUE(cal.Merge(loaded).ok());  // idempotent
  EXPECT_EQ(cal.exception_count(), loaded.exception_count());
  for (Date d = D("2024-12-01"); d <= D("2027-01-31"); d = d.AddDays(1)) {
    ASSERT_EQ(cal.IsWorkingDay(d), loaded.IsWorkingDay(d)) << d;
  }
  EXPECT_EQ(cal.WorkingDaysBetween(D("2024-12-31"), D("2026-12-31")), 496);
}

// ---- Loader errors -----------------------------------------------------------------

TEST(CalendarTest, FromCsvText_SmallValidFile) {
  Result<WorkCalendar> cal = WorkCalendar::FromCsvText(
      "\xEF\xBB\xBF"
      "date,kind,name\r\n2025-01-01,holiday,元旦\r\n\r\n2025-01-26,workday,\r\n",
      "cn-holidays.csv");
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->exception_count(), 2u);
  EXPECT_EQ(cal->ExceptionName(D("2025-01-26")), "");
}

TEST(CalendarTest, FromCsvText_ColumnsInAnyOrder) {
  Result<WorkCalendar> cal = WorkCalendar::FromCsvText(
      "name,kind,date,note\n元旦,holiday,2025-01-01,x\n", "cn-holidays.csv");
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_FALSE(cal->IsWorkingDay(D("2025-01-01")));
}

TEST(CalendarTest, FromCsvText_HeaderOnlyIsEmptyCalendar) {
  Result<WorkCalendar> cal = WorkCalendar::FromCsvText("date,kind,name\n", "cn-holidays.csv");
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->exception_count(), 0u);
}

TEST(CalendarTest, LoadError_MissingColumn) {
  std::string e = LoadError("date,name\n2025-01-01,元旦\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 1: ")) << e;
  EXPECT_TRUE(Contains(e, "missing column 'kind'")) << e;
  e = LoadError("day,kind,name\n2025-01-01,holiday,元旦\n");
  EXPECT_TRUE(Contains(e, "missing column 'date'")) << e;
}

TEST(CalendarTest, LoadError_BadDate) {
  std::string e = LoadError("date,kind,name\n2025-01-01,holiday,元旦\n2025-02-29,holiday,x\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 3: ")) << e;
  EXPECT_TRUE(Contains(e, "2025-02-29")) << e;
  e = LoadError("date,kind,name\n2025/01/01,holiday,元旦\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 2: ")) << e;
  EXPECT_TRUE(Contains(e, "YYYY-MM-DD")) << e;
  e = LoadError("date,kind,name\n,holiday,元旦\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 2: ")) << e;
}

TEST(CalendarTest, LoadError_BadKind) {
  std::string e = LoadError("date,kind,name\n2025-01-01,holiday,元旦\n\n2025-01-02,Holiday,x\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 4: ")) << e;  // the blank line counts
  EXPECT_TRUE(Contains(e, "'Holiday'")) << e;
  EXPECT_TRUE(Contains(e, "holiday, workday")) << e;
  e = LoadError("date,kind,name\n2025-01-01,,元旦\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 2: ")) << e;
}

TEST(CalendarTest, LoadError_SameDateTwiceNamesBothLines) {
  std::string e = LoadError(
      "date,kind,name\n2025-01-01,holiday,元旦\n2025-01-28,holiday,春节\n"
      "2025-01-01,holiday,元旦\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 4: ")) << e;
  EXPECT_TRUE(Contains(e, "2025-01-01")) << e;
  EXPECT_TRUE(Contains(e, "lines 2 and 4")) << e;
  e = LoadError("date,kind,name\n2025-01-26,workday,a\n2025-01-26,holiday,b\n");
  EXPECT_TRUE(Contains(e, "lines 2 and 3")) << e;
}

TEST(CalendarTest, LoadError_WorkdayOnAWeekday) {
  std::string e = LoadError("date,kind,name\n2025-01-01,holiday,元旦\n2025-03-04,workday,x\n");
  EXPECT_EQ(e, "cn-holidays.csv line 3: workday 2025-03-04 is already a weekday");
}

TEST(CalendarTest, HolidayOnAWeekend_IsAcceptedAndHarmless) {
  Result<WorkCalendar> cal = WorkCalendar::FromCsvText(
      "date,kind,name\n2025-02-01,holiday,春节\n2025-02-02,holiday,春节\n", "cn-holidays.csv");
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_FALSE(cal->IsWorkingDay(D("2025-02-01")));
  EXPECT_TRUE(cal->Covers(2025));
  EXPECT_EQ(cal->WorkingDaysBetween(D("2025-01-31"), D("2025-02-07")),
            WorkCalendar().WorkingDaysBetween(D("2025-01-31"), D("2025-02-07")));
}

TEST(CalendarTest, LoadError_MalformedCsvLine) {
  std::string e = LoadError("date,kind,name\n2025-01-01,holiday\n");
  EXPECT_TRUE(Contains(e, "cn-holidays.csv line 2: ")) << e;
  EXPECT_FALSE(LoadError("").empty());
}

TEST(CalendarTest, LoadError_LoadCsvUsesFileNameAsLabel) {
  const std::string path = ::testing::TempDir() + "/broken-calendar.csv";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("date,kind,name\n2025-03-04,workday,x\n", f);
    std::fclose(f);
  }
  Result<WorkCalendar> cal = WorkCalendar::LoadCsv(path);
  ASSERT_FALSE(cal.ok());
  EXPECT_EQ(cal.status().message(),
            "broken-calendar.csv line 2: workday 2025-03-04 is already a weekday");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace daiban::common
