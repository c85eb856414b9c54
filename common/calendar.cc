#include "common/calendar.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <unordered_map>
#include <utility>

#include "common/csv.h"

namespace daiban::common {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0 && a < 0) ? 1 : 0); }

// Number of Monday-to-Friday days d with -3 <= d <= x, where d counts days since
// 1970-01-01 and -3 is Monday 1969-12-29; negative when x < -3. Only differences
// of this function matter.
int64_t WeekdaysThrough(int64_t x) {
  const int64_t t = x + 4;  // days in [-3, x], i.e. in [0, t) counted from that Monday
  const int64_t weeks = FloorDiv(t, 7);
  return 5 * weeks + std::min<int64_t>(t - 7 * weeks, 5);
}

std::string LinePrefix(std::string_view label, int line) {
  return std::string(label) + " line " + std::to_string(line) + ": ";
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<WorkCalendar> WorkCalendar::FromCsvText(std::string_view text, std::string_view label) {
  DAIBAN_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, label));
  return FromTable(table, label);
}

Result<WorkCalendar> WorkCalendar::LoadCsv(const std::string& path) {
  DAIBAN_ASSIGN_OR_RETURN(CsvTable table, ReadCsvFile(path));
  return FromTable(table, BaseName(path));
}

Result<WorkCalendar> WorkCalendar::FromTable(const CsvTable& table, std::string_view label) {
  for (std::string_view column : {"date", "kind", "name"}) {
    if (table.Column(column) < 0) {
      return InvalidArgument(LinePrefix(label, 1) + "missing column '" + std::string(column) +
                             "' (expected date,kind,name)");
    }
  }
  const auto date_col = static_cast<size_t>(table.Column("date"));
  const auto kind_col = static_cast<size_t>(table.Column("kind"));
  const auto name_col = static_cast<size_t>(table.Column("name"));

  WorkCalendar calendar;
  calendar.exceptions_.reserve(table.rows.size());
  std::unordered_map<int64_t, int> line_of_day;
  line_of_day.reserve(table.rows.size());
  for (const CsvRow& row : table.rows) {
    const std::string prefix = LinePrefix(label, row.line);
    Result<Date> date = Date::Parse(row.fields[date_col]);
    if (!date.ok()) return InvalidArgument(prefix + date.status().message());

    const std::string& kind = row.fields[kind_col];
    bool working = false;
    if (kind == "holiday") {
      working = false;
    } else if (kind == "workday") {
      working = true;
    } else {
      std::string shown = kind.substr(0, 32);
      return InvalidArgument(prefix + "kind '" + shown + "' is not one of: holiday, workday");
    }

    auto [it, inserted] = line_of_day.emplace(date->days(), row.line);
    if (!inserted) {
      return InvalidArgument(prefix + "date " + date->ToString() + " is listed twice (lines " +
                             std::to_string(it->second) + " and " + std::to_string(row.line) + ")");
    }
    if (working && !date->IsWeekend()) {
      return InvalidArgument(prefix + "workday " + date->ToString() + " is already a weekday");
    }
    calendar.exceptions_.push_back(Exception{date->days(), working, row.fields[name_col]});
  }
  std::sort(calendar.exceptions_.begin(), calendar.exceptions_.end(),
            [](const Exception& a, const Exception& b) { return a.day < b.day; });
  calendar.RebuildIndex();
  return calendar;
}

Status WorkCalendar::Merge(const WorkCalendar& other) {
  std::vector<Exception> merged;
  merged.reserve(exceptions_.size() + other.exceptions_.size());
  auto a = exceptions_.begin();
  auto b = other.exceptions_.begin();
  while (a != exceptions_.end() || b != other.exceptions_.end()) {
    if (b == other.exceptions_.end() || (a != exceptions_.end() && a->day < b->day)) {
      merged.push_back(*a++);
    } else if (a == exceptions_.end() || b->day < a->day) {
      merged.push_back(*b++);
    } else {
      if (a->working != b->working) {
        return InvalidArgument("calendar merge: " + Date::FromDays(a->day).ToString() + " is a " +
                               (a->working ? "workday" : "holiday") +
                               " in the current calendar but a " +
                               (b->working ? "workday" : "holiday") + " in the new one");
      }
      merged.push_back(*a++);  // same kind: keep ours (and its name)
      ++b;
    }
  }
  exceptions_ = std::move(merged);
  RebuildIndex();
  return Status::Ok();
}

void WorkCalendar::RebuildIndex() {
  delta_prefix_.assign(exceptions_.size() + 1, 0);
  for (size_t i = 0; i < exceptions_.size(); ++i) {
    const bool weekend = Date::FromDays(exceptions_[i].day).IsWeekend();
    int64_t delta = 0;
    if (exceptions_[i].working && weekend) delta = 1;
    if (!exceptions_[i].working && !weekend) delta = -1;
    delta_prefix_[i + 1] = delta_prefix_[i] + delta;
  }
}

const WorkCalendar::Exception* WorkCalendar::Find(Date d) const {
  auto it = std::lower_bound(exceptions_.begin(), exceptions_.end(), d.days(),
                             [](const Exception& e, int64_t day) { return e.day < day; });
  return (it != exceptions_.end() && it->day == d.days()) ? &*it : nullptr;
}

bool WorkCalendar::IsWorkingDay(Date d) const {
  if (const Exception* e = Find(d)) return e->working;
  return !d.IsWeekend();
}

std::string_view WorkCalendar::ExceptionName(Date d) const {
  const Exception* e = Find(d);
  return e != nullptr ? std::string_view(e->name) : std::string_view();
}

int64_t WorkCalendar::CountWorkingDays(int64_t from, int64_t to) const {
  auto first_after = [this](int64_t day) {
    return static_cast<size_t>(
        std::upper_bound(exceptions_.begin(), exceptions_.end(), day,
                         [](int64_t x, const Exception& e) { return x < e.day; }) -
        exceptions_.begin());
  };
  const int64_t plain = WeekdaysThrough(to) - WeekdaysThrough(from);
  return plain + delta_prefix_[first_after(to)] - delta_prefix_[first_after(from)];
}

int WorkCalendar::WorkingDaysBetween(Date from, Date to) const {
  const int64_t n = from <= to ? CountWorkingDays(from.days(), to.days())
                               : -CountWorkingDays(to.days(), from.days());
  return static_cast<int>(
      std::clamp<int64_t>(n, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

Date WorkCalendar::AddWorkingDays(Date start, int n) const {
  if (n < 0) {
    std::cerr << "PANIC: WorkCalendar::AddWorkingDays called with n = " << n << " < 0\n";
    std::abort();
  }
  if (n == 0) return start;
  const int64_t s = start.days();
  // CountWorkingDays(s, s + k) grows by at most one per day, so the answer is the
  // smallest k with a count of at least n. Plain weeks give 5 per 7 days; holidays
  // may need more, so widen until the count is reached (exceptions are finite).
  int64_t lo = 0;  // count(s, s + lo) < n
  int64_t hi = int64_t{n} / 5 * 7 + 7;
  while (CountWorkingDays(s, s + hi) < n) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {  // invariant: count(s, s + lo) < n <= count(s, s + hi)
    const int64_t mid = lo + (hi - lo) / 2;
    if (CountWorkingDays(s, s + mid) >= n) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return start.AddDays(hi);
}

std::vector<int> WorkCalendar::YearsCovered() const {
  std::vector<int> years;
  for (const Exception& e : exceptions_) {
    const int y = Date::FromDays(e.day).year();
    if (years.empty() || years.back() != y) years.push_back(y);
  }
  return years;
}

bool WorkCalendar::Covers(int year) const {
  // Every exception was parsed, so a year outside Date's range has none.
  Result<Date> first = Date::FromYmd(year, 1, 1);
  if (!first.ok()) return false;
  const int64_t next =
      year < Date::kMaxYear ? Date::FromYmd(year + 1, 1, 1)->days() : first->days() + 366;
  auto it = std::lower_bound(exceptions_.begin(), exceptions_.end(), first->days(),
                             [](const Exception& e, int64_t day) { return e.day < day; });
  return it != exceptions_.end() && it->day < next;
}

}  // namespace daiban::common
