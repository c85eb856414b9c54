// Civil dates for deadlines and working-day arithmetic.
//
// A Date is a day of the proleptic Gregorian calendar with no time zone: a plain
// count of days since 1970-01-01. It is a cheap value type (one int64_t), totally
// ordered, and safe to copy and share between threads.
#ifndef DAIBAN_COMMON_DATE_H_
#define DAIBAN_COMMON_DATE_H_

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "common/status.h"

namespace daiban::common {

class Date {
 public:
  // Years accepted by Parse and FromYmd. Arithmetic (AddDays, FromDays) may leave
  // this range; such dates still convert and print, but cannot be parsed back.
  static constexpr int kMinYear = 1900;
  static constexpr int kMaxYear = 2199;

  Date() = default;  // 1970-01-01

  // Parses strictly "YYYY-MM-DD" (four-digit year, two-digit month and day, ASCII
  // digits, nothing before or after) naming a real day with year in
  // kMinYear..kMaxYear. Errors are kInvalidArgument and say what is wrong.
  static Result<Date> Parse(std::string_view iso);
  // The day y-m-d. kInvalidArgument unless it is a real day with year in
  // kMinYear..kMaxYear.
  static Result<Date> FromYmd(int y, int m, int d);
  // The date `days_since_epoch` days after 1970-01-01 (negative: before).
  // REQUIRES: |days_since_epoch| < 2^40 (about three billion years).
  static Date FromDays(int64_t days_since_epoch) { return Date(days_since_epoch); }

  // Number of days in month `m` (1..12) of year `y`; 0 if `m` is out of range.
  static int DaysInMonth(int y, int m);
  static bool IsLeapYear(int y);

  // Days since 1970-01-01 (negative before it).
  int64_t days() const { return days_; }
  int year() const;
  int month() const;  // 1..12
  int day() const;    // 1..31
  // ISO weekday: 1 = Monday ... 7 = Sunday.
  int weekday() const;
  // True on Saturday and Sunday.
  bool IsWeekend() const { return weekday() >= 6; }

  // "YYYY-MM-DD" (the year zero-padded to four digits when in 0..9999).
  std::string ToString() const;

  // The date `n` days later (earlier when n < 0).
  Date AddDays(int64_t n) const { return Date(days_ + n); }

  friend auto operator<=>(const Date&, const Date&) = default;  // compares days()

 private:
  explicit Date(int64_t days) : days_(days) {}

  int64_t days_ = 0;
};

// Writes ToString(); lets test frameworks print dates.
std::ostream& operator<<(std::ostream& os, Date d);

// The date in China Standard Time (UTC+8, no daylight saving) at the Unix time
// `unix_ms` (milliseconds since 1970-01-01T00:00:00Z; negative values are before it).
Date DateFromUnixMillisCst(int64_t unix_ms);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_DATE_H_
