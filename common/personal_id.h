// Checks and masks for the identifiers a case carries: the resident ID number
// (居民身份证号码, GB 11643-1999), the unified social credit code of an organisation
// (统一社会信用代码, GB 32100-2015) and a mainland phone number.
//
// Every Validate* function is pure and thread-safe. It returns OK or kInvalidArgument
// whose message starts with `field: `, names the rule that failed, and never contains a
// whole ID number or phone number: where it shows the input at all it shows the mask
// from MaskIdNumber / MaskPhone, e.g.
//   "id_number: check digit does not match (110105********0021)".
// Credit codes identify organisations and are public; messages may echo them.
//
// Every Mask* function accepts arbitrary bytes. Its result is printable ASCII: any shown
// byte outside 0x20..0x7E is replaced by '?'. The result is at most kMaxMaskLength
// characters long.
#ifndef DAIBAN_COMMON_PERSONAL_ID_H_
#define DAIBAN_COMMON_PERSONAL_ID_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace daiban::common {

// Upper bound on the length of a mask (and so on what a message shows of an input).
inline constexpr std::size_t kMaxMaskLength = 64;

// ---------------------------------------------------------------------------
// Resident ID number.

// Checks, in this order, that `id`
//   1. has 18 characters;
//   2. has digits in positions 1-17;
//   3. ends in a digit or an upper-case 'X' (a lower-case 'x' is rejected with a
//      message asking for 'X': callers normalise on purpose, not by accident);
//   4. has an address code (positions 1-6) that does not start with 0 and whose
//      province part (positions 1-2) is between 11 and 91;
//   5. has a birth date (positions 7-14, yyyymmdd) that is a real Gregorian date
//      with 1900 <= year <= 2100;
//   6. has the check character of GB 11643-1999 (ISO 7064 MOD 11-2) in position 18.
// Returns OK or kInvalidArgument naming `field` and the first rule broken.
Status ValidateIdNumber(std::string_view id, std::string_view field = "id_number");

// As above, and also rejects a birth date after `today_yyyymmdd` (born today is fine).
// REQUIRES: today_yyyymmdd is a date written as yyyymmdd, e.g. 20240131.
Status ValidateIdNumber(std::string_view id, std::string_view field, int today_yyyymmdd);

// 18 characters: the first 6, eight '*', the last 4 ("110105********0021").
// Length below 6: that many '*'. Any other length: the first 3, '*' for the rest, the
// last 2 ("110************21" for 17 characters); never more of the input than that.
std::string MaskIdNumber(std::string_view id);

// The GB 11643 check character for the first 17 characters of an ID number.
// REQUIRES: first17 is 17 ASCII digits. (For generating test and demo data.)
char IdNumberCheckChar(std::string_view first17);

// The birth date in `id` as yyyymmdd (e.g. 19491231), or the error of
// ValidateIdNumber(id) (field "id_number") if `id` is not a valid ID number.
Result<int> BirthDateFromIdNumber(std::string_view id);

// Every whole, valid ID number in `text` (18 characters standing alone: not part of a
// longer run of letters or digits), masked, in order of appearance. For checking that
// logs and exports never carry one (daiban-node scan-pii, the test suite).
std::vector<std::string> FindIdNumbers(std::string_view text);

// ---------------------------------------------------------------------------
// Unified social credit code.

// Checks that `code` has 18 characters, each from "0123456789ABCDEFGHJKLMNPQRTUWXY"
// (upper case; never I, O, Z, S or V), and that character 18 is the GB 32100-2015
// check character of the first 17. Does not check the registration authority,
// organisation type or address code parts, nor the embedded organisation code.
// Returns OK or kInvalidArgument naming `field` and the first rule broken (with the
// 1-based position of a bad character).
Status ValidateCreditCode(std::string_view code, std::string_view field = "credit_code");

// ---------------------------------------------------------------------------
// Phone number.

// Accepts either
//   a mobile number: 11 digits, "1" then 3-9 then 9 digits ("13812341234"); or
//   a landline: "0", a 2-3 digit area code not starting with 0, an optional '-',
//   then 7-8 digits ("0418-2812345", "01012345678").
// No spaces, '+86' or extensions. Returns OK or kInvalidArgument naming `field` and
// the rule broken.
Status ValidatePhone(std::string_view phone, std::string_view field = "phone");

// 11 digits starting with '1': the first 3, "****", the last 4 ("138****1234").
// Otherwise as MaskIdNumber for a length other than 18: below 6 characters all '*',
// else the first 3, '*' between, the last 2 ("041*******45").
std::string MaskPhone(std::string_view phone);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_PERSONAL_ID_H_
