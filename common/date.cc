#include "common/date.h"

#include <ostream>

namespace daiban::common {
namespace {

// Floor division and modulo for a positive divisor.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0 && a < 0) ? 1 : 0); }
int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return r < 0 ? r + b : r;
}

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct Ymd {
  int64_t year;
  int month;
  int day;
};

// Inverse of DaysFromCivil (H. Hinnant's civil_from_days).
Ymd CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;                             // [1, 31]
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;                                // [1, 12]
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return Ymd{y, static_cast<int>(m), static_cast<int>(d)};
}

// Quotes user input in an error message, cut short so a message stays readable.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 32;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int Digits(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

void AppendPadded(std::string* out, int64_t v, int width) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) *out += '-';
  for (int i = static_cast<int>(digits.size()); i < width; ++i) *out += '0';
  *out += digits;
}

constexpr const char* kMonthNames[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};

}  // namespace

bool Date::IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int Date::DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  if (m == 2 && IsLeapYear(y)) return 29;
  return kDays[m - 1];
}

Result<Date> Date::FromYmd(int y, int m, int d) {
  if (y < kMinYear || y > kMaxYear) {
    return InvalidArgument("year " + std::to_string(y) + " is out of range " +
                           std::to_string(kMinYear) + ".." + std::to_string(kMaxYear));
  }
  if (m < 1 || m > 12) {
    return InvalidArgument("month " + std::to_string(m) + " is out of range 1..12");
  }
  const int last = DaysInMonth(y, m);
  if (d < 1 || d > last) {
    return InvalidArgument("day " + std::to_string(d) + " does not exist: " + kMonthNames[m - 1] +
                           " " + std::to_string(y) + " has " + std::to_string(last) + " days");
  }
  return Date(DaysFromCivil(y, m, d));
}

Result<Date> Date::Parse(std::string_view iso) {
  if (iso.empty()) return InvalidArgument("empty date, expected YYYY-MM-DD");
  bool shape_ok = iso.size() == 10 && iso[4] == '-' && iso[7] == '-';
  for (size_t i = 0; shape_ok && i < iso.size(); ++i) {
    if (i != 4 && i != 7 && !IsDigit(iso[i])) shape_ok = false;
  }
  if (!shape_ok) return InvalidArgument("date " + Quote(iso) + " is not in the form YYYY-MM-DD");
  Result<Date> date =
      FromYmd(Digits(iso.substr(0, 4)), Digits(iso.substr(5, 2)), Digits(iso.substr(8, 2)));
  if (!date.ok()) return date.status().WithContext("date " + Quote(iso));
  return date;
}

int Date::year() const { return static_cast<int>(CivilFromDays(days_).year); }
int Date::month() const { return CivilFromDays(days_).month; }
int Date::day() const { return CivilFromDays(days_).day; }

int Date::weekday() const {
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(FloorMod(days_ + 3, 7)) + 1;
}

std::string Date::ToString() const {
  const Ymd ymd = CivilFromDays(days_);
  std::string out;
  out.reserve(10);
  AppendPadded(&out, ymd.year, 4);
  out += '-';
  AppendPadded(&out, ymd.month, 2);
  out += '-';
  AppendPadded(&out, ymd.day, 2);
  return out;
}

std::ostream& operator<<(std::ostream& os, Date d) { return os << d.ToString(); }

Date DateFromUnixMillisCst(int64_t unix_ms) {
  constexpr int64_t kMillisPerDay = 24LL * 60 * 60 * 1000;
  constexpr int64_t kCstOffsetMillis = 8LL * 60 * 60 * 1000;
  // Split before adding the offset so that no value near INT64_MAX overflows.
  const int64_t day = FloorDiv(unix_ms, kMillisPerDay);
  const int64_t ms_of_day = FloorMod(unix_ms, kMillisPerDay);
  return Date::FromDays(day + (ms_of_day + kCstOffsetMillis) / kMillisPerDay);
}

}  // namespace daiban::common
