// The working-day calendar: which days count toward a service item's time limit.
//
// A working day is Monday to Friday, except days listed as `holiday` (法定节假日),
// plus weekend days listed as `workday` (调休上班). The exceptions come from a CSV
// file (config/calendar/*.csv, columns date,kind,name) that the hub updates when the
// State Council publishes a new year (see shared/data/calendar/README.md). A year
// with no exception rows is still computed, as plain Monday to Friday: callers
// should check Covers() and warn that the schedule may not be published yet.
//
// A WorkCalendar is a value: copyable, and safe to read from many threads at once
// as long as nobody calls Merge on it at the same time.
#ifndef DAIBAN_COMMON_CALENDAR_H_
#define DAIBAN_COMMON_CALENDAR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/status.h"

namespace daiban::common {

struct CsvTable;

class WorkCalendar {
 public:
  WorkCalendar() = default;  // no exceptions: plain Monday to Friday

  // Builds a calendar from CSV text with columns date,kind,name (any order; extra
  // columns are ignored). `kind` is `holiday` or `workday`; `name` may be empty.
  // All or nothing: on any error no calendar is returned. Every error is
  // kInvalidArgument and its message starts with "<label> line <N>: ":
  //   - a missing column (line 1) or a malformed CSV line;
  //   - a date that is not a real YYYY-MM-DD in Date's year range;
  //   - a kind other than `holiday` / `workday`;
  //   - the same date twice, even with the same kind (the message names both lines);
  //   - a `workday` row on a Monday..Friday ("workday 2025-03-04 is already a
  //     weekday"). A `holiday` row on a weekend is accepted and changes nothing.
  static Result<WorkCalendar> FromCsvText(std::string_view text, std::string_view label);
  // Reads `path` and calls FromCsvText with the file's base name as the label.
  // kNotFound if the file cannot be opened.
  static Result<WorkCalendar> LoadCsv(const std::string& path);

  // Adds the exceptions of `other` (e.g. a newly published year). A date listed in
  // both with the same kind is kept once. kInvalidArgument if a date is listed in
  // both with different kinds; then this calendar is left unchanged.
  Status Merge(const WorkCalendar& other);

  bool IsWorkingDay(Date d) const;

  // The n-th working day after `start` (start itself never counts, working or not).
  // n == 0 returns start. REQUIRES: n >= 0 (stops the process otherwise).
  // Takes O(log(n) * log(exceptions)) time.
  Date AddWorkingDays(Date start, int n) const;

  // The number of working days in (from, to]; minus the number in (to, from] when
  // to < from; 0 when they are equal. For n >= 0,
  // WorkingDaysBetween(s, AddWorkingDays(s, n)) == n. Takes O(log(exceptions)) time.
  int WorkingDaysBetween(Date from, Date to) const;

  // Sorted years with at least one exception row (to warn when a year is not
  // published yet).
  std::vector<int> YearsCovered() const;
  bool Covers(int year) const;
  // Number of exception rows (holiday and workday), after de-duplication by Merge.
  size_t exception_count() const { return exceptions_.size(); }

  // The `name` column of the exception on `d` (e.g. "春节"), or "" if none. The view
  // is valid until this calendar is changed or destroyed.
  std::string_view ExceptionName(Date d) const;

 private:
  struct Exception {
    int64_t day;
    bool working;  // true: `workday` row; false: `holiday` row
    std::string name;
  };

  static Result<WorkCalendar> FromTable(const CsvTable& table, std::string_view label);
  const Exception* Find(Date d) const;
  // Recomputes delta_prefix_ from exceptions_.
  void RebuildIndex();
  // Working days in (from, to]. REQUIRES: from <= to.
  int64_t CountWorkingDays(int64_t from, int64_t to) const;

  std::vector<Exception> exceptions_;  // sorted by day, one per day
  // delta_prefix_[i]: how many working days exceptions_[0..i) add to plain
  // Monday-to-Friday (a workday on a weekend +1, a holiday on a weekday -1).
  std::vector<int64_t> delta_prefix_ = {0};
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CALENDAR_H_
