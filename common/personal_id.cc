#include "common/personal_id.h"

#include <algorithm>
#include <array>
#include <string>

namespace daiban::common {
namespace {

constexpr std::size_t kIdLength = 18;
constexpr std::size_t kCreditCodeLength = 18;
constexpr std::size_t kMobileLength = 11;

// GB 11643-1999: weight of positions 1-17, and check character by (sum mod 11).
constexpr std::array<int, 17> kIdWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr std::string_view kIdCheckChars = "10X98765432";

// GB 32100-2015: the 31 characters in order of value, and weight 3^i mod 31 of position i+1.
constexpr std::string_view kCreditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kCreditWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                29, 25, 13, 8,  24, 10, 30, 28};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int DigitValue(char c) { return c - '0'; }

char Printable(char c) { return (c >= 0x20 && c <= 0x7e) ? c : '?'; }

// Appends s with each unprintable byte replaced by '?'.
void AppendPrintable(std::string* out, std::string_view s) {
  for (char c : s) out->push_back(Printable(c));
}

// Length below 6: all stars. Otherwise the first 3, stars, the last 2, capped at
// kMaxMaskLength characters in all.
std::string MaskGeneric(std::string_view s) {
  if (s.size() < 6) return std::string(s.size(), '*');
  std::string out;
  const std::size_t stars = std::min(s.size(), kMaxMaskLength) - 5;
  out.reserve(stars + 5);
  AppendPrintable(&out, s.substr(0, 3));
  out.append(stars, '*');
  AppendPrintable(&out, s.substr(s.size() - 2));
  return out;
}

// "field: rule (mask)"; the mask part is left out when empty.
Status Invalid(std::string_view field, std::string_view rule, const std::string& mask) {
  std::string m(field);
  m += ": ";
  m += rule;
  if (!mask.empty()) {
    m += " (";
    m += mask;
    m += ")";
  }
  return InvalidArgument(std::move(m));
}

int ParseDigits(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + DigitValue(c);
  return v;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

bool IsCalendarDate(int year, int month, int day) {
  static constexpr std::array<int, 12> kDaysInMonth = {31, 28, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  int days = kDaysInMonth[static_cast<std::size_t>(month - 1)];
  if (month == 2 && IsLeapYear(year)) days = 29;
  return day <= days;
}

// All rules of ValidateIdNumber except the future check. On success stores the birth
// date (yyyymmdd) in *birth_date.
Status CheckIdNumber(std::string_view id, std::string_view field, int* birth_date) {
  const std::string mask = MaskIdNumber(id);
  if (id.size() != kIdLength) {
    return Invalid(field, "must have 18 characters, got " + std::to_string(id.size()), mask);
  }
  for (std::size_t i = 0; i + 1 < kIdLength; ++i) {
    if (!IsDigit(id[i])) {
      return Invalid(field, "character " + std::to_string(i + 1) + " is not a digit (positions 1-17 are digits)",
                     mask);
    }
  }
  const char last = id[kIdLength - 1];
  if (last == 'x') {
    return Invalid(field, "last character must be an upper-case 'X', not a lower-case 'x'", mask);
  }
  if (!IsDigit(last) && last != 'X') {
    return Invalid(field, "last character (check character) must be a digit or 'X'", mask);
  }
  if (id[0] == '0') {
    return Invalid(field, "address code (digits 1-6) must not start with 0", mask);
  }
  const int province = ParseDigits(id.substr(0, 2));
  if (province < 11 || province > 91) {
    return Invalid(field, "province code (digits 1-2) must be between 11 and 91", mask);
  }
  const int year = ParseDigits(id.substr(6, 4));
  const int month = ParseDigits(id.substr(10, 2));
  const int day = ParseDigits(id.substr(12, 2));
  if (year < 1900 || year > 2100) {
    return Invalid(field, "birth year (digits 7-10) must be between 1900 and 2100", mask);
  }
  if (!IsCalendarDate(year, month, day)) {
    return Invalid(field, "birth date (digits 7-14) is not a real calendar date", mask);
  }
  int sum = 0;
  for (std::size_t i = 0; i + 1 < kIdLength; ++i) sum += DigitValue(id[i]) * kIdWeights[i];
  if (kIdCheckChars[static_cast<std::size_t>(sum % 11)] != last) {
    return Invalid(field, "check digit does not match", mask);
  }
  *birth_date = year * 10000 + month * 100 + day;
  return Status::Ok();
}

Status ValidateMobile(std::string_view phone, std::string_view field, const std::string& mask) {
  if (phone.size() != kMobileLength) {
    return Invalid(field, "mobile number must have 11 digits, got " + std::to_string(phone.size()) +
                              " characters", mask);
  }
  if (phone[1] < '3' || phone[1] > '9') {
    return Invalid(field, "mobile number must start with 13 to 19", mask);
  }
  return Status::Ok();
}

Status ValidateLandline(std::string_view phone, std::string_view field, const std::string& mask) {
  if (phone.size() >= 2 && phone[1] == '0') {
    return Invalid(field, "area code must not start with 00 (international numbers are not accepted)", mask);
  }
  const std::size_t dash = phone.find('-');
  if (dash == std::string_view::npos) {
    // "0" + 2-3 digit area code + 7-8 digit number.
    if (phone.size() < 10 || phone.size() > 12) {
      return Invalid(field, "landline without '-' must have 10 to 12 digits, got " +
                                std::to_string(phone.size()), mask);
    }
    return Status::Ok();
  }
  if (phone.find('-', dash + 1) != std::string_view::npos) {
    return Invalid(field, "landline has more than one '-'", mask);
  }
  if (dash < 3 || dash > 4) {
    return Invalid(field, "landline area code must be 0 and 2 to 3 digits before the '-'", mask);
  }
  const std::size_t local = phone.size() - dash - 1;
  if (local < 7 || local > 8) {
    return Invalid(field, "landline number after the '-' must have 7 or 8 digits", mask);
  }
  return Status::Ok();
}

}  // namespace

Status ValidateIdNumber(std::string_view id, std::string_view field) {
  int birth_date = 0;
  return CheckIdNumber(id, field, &birth_date);
}

Status ValidateIdNumber(std::string_view id, std::string_view field, int today_yyyymmdd) {
  int birth_date = 0;
  DAIBAN_RETURN_IF_ERROR(CheckIdNumber(id, field, &birth_date));
  if (birth_date > today_yyyymmdd) {
    return Invalid(field, "birth date (digits 7-14) is in the future", MaskIdNumber(id));
  }
  return Status::Ok();
}

std::string MaskIdNumber(std::string_view id) {
  if (id.size() != kIdLength) return MaskGeneric(id);
  std::string out;
  out.reserve(kIdLength);
  AppendPrintable(&out, id.substr(0, 6));
  out.append(8, '*');
  AppendPrintable(&out, id.substr(14));
  return out;
}

Result<int> BirthDateFromIdNumber(std::string_view id) {
  int birth_date = 0;
  DAIBAN_RETURN_IF_ERROR(CheckIdNumber(id, "id_number", &birth_date));
  return birth_date;
}

Status ValidateCreditCode(std::string_view code, std::string_view field) {
  if (code.size() != kCreditCodeLength) {
    return Invalid(field, "must have 18 characters, got " + std::to_string(code.size()), "");
  }
  int sum = 0;
  for (std::size_t i = 0; i < kCreditCodeLength; ++i) {
    const char c = code[i];
    const std::size_t value = kCreditAlphabet.find(c);
    if (value == std::string_view::npos) {
      std::string rule = "character " + std::to_string(i + 1);
      if (c >= 'a' && c <= 'z') {
        rule += " is a lower-case letter; credit codes use upper case";
      } else {
        rule += " is not allowed (only digits and upper-case letters other than I, O, Z, S, V)";
      }
      return Invalid(field, rule, "");
    }
    if (i + 1 < kCreditCodeLength) sum += static_cast<int>(value) * kCreditWeights[i];
  }
  const std::size_t check = static_cast<std::size_t>((31 - sum % 31) % 31);
  if (kCreditAlphabet[check] != code[kCreditCodeLength - 1]) {
    return Invalid(field, "check character (character 18) does not match", std::string(code));
  }
  return Status::Ok();
}

Status ValidatePhone(std::string_view phone, std::string_view field) {
  const std::string mask = MaskPhone(phone);
  if (phone.empty()) return Invalid(field, "is empty", "");
  const bool landline = phone[0] == '0';
  for (std::size_t i = 0; i < phone.size(); ++i) {
    if (!IsDigit(phone[i]) && !(landline && phone[i] == '-')) {
      return Invalid(field,
                     "character " + std::to_string(i + 1) +
                         (landline ? " is not a digit or '-'" : " is not a digit"),
                     mask);
    }
  }
  if (phone[0] == '1') return ValidateMobile(phone, field, mask);
  if (landline) return ValidateLandline(phone, field, mask);
  return Invalid(field, "must start with 1 (mobile) or 0 (landline area code)", mask);
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() == kMobileLength && phone[0] == '1' && std::all_of(phone.begin(), phone.end(), IsDigit)) {
    std::string out(phone.substr(0, 3));
    out += "****";
    out += phone.substr(7);
    return out;
  }
  return MaskGeneric(phone);
}

char IdNumberCheckChar(std::string_view first17) {
  int sum = 0;
  for (std::size_t i = 0; i < kIdWeights.size() && i < first17.size(); ++i) {
    sum += (first17[i] - '0') * kIdWeights[i];
  }
  return kIdCheckChars[static_cast<std::size_t>(sum % 11)];
}

std::vector<std::string> FindIdNumbers(std::string_view text) {
  std::vector<std::string> found;
  auto alnum = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  size_t i = 0;
  while (i < text.size()) {
    if (!alnum(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && alnum(text[j])) ++j;
    std::string_view run = text.substr(i, j - i);
    if (run.size() == 18 && ValidateIdNumber(run).ok()) found.push_back(MaskIdNumber(run));
    i = j;
  }
  return found;
}

}  // namespace daiban::common
