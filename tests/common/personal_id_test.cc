#include "common/personal_id.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace daiban::common {
namespace {

// Check characters below were computed by hand or by a separate script, not only by the
// code under test.
constexpr std::string_view kValidId = "11010519491231002X";       // check char X
constexpr std::string_view kBadCheckId = "110105194912310021";    // should end in X
constexpr std::string_view kValidLeapId = "110105200002290013";   // born 2000-02-29
constexpr std::string_view kValidDigitId = "440304199003070018";  // check char 8

// --- ValidateIdNumber -------------------------------------------------------

TEST(IdNumberTest, CheckDigitX_Valid) {
  EXPECT_TRUE(ValidateIdNumber(kValidId).ok());
  EXPECT_TRUE(ValidateIdNumber(kValidDigitId).ok());
}

TEST(IdNumberTest, WrongCheckDigit_Rejected) {
  Status s = ValidateIdNumber(kBadCheckId);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "id_number: check digit does not match (110105********0021)");
}

TEST(IdNumberTest, EveryOtherCheckChar_Rejected) {
  std::string id(kValidId);
  for (char c : std::string_view("0123456789")) {
    id.back() = c;
    EXPECT_FALSE(ValidateIdNumber(id).ok()) << c;
  }
}

TEST(IdNumberTest, FieldNameInMessage) {
  Status s = ValidateIdNumber(kBadCheckId, "applicant.id_number");
  EXPECT_EQ(s.message().rfind("applicant.id_number: ", 0), 0u) << s.message();
}

TEST(IdNumberTest, BadLength_Rejected) {
  for (std::string_view id : {std::string_view(""), kValidId.substr(0, 17),
                              std::string_view("11010519491231002X1")}) {
    Status s = ValidateIdNumber(id);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("must have 18 characters, got " + std::to_string(id.size())),
              std::string::npos)
        << s.message();
  }
}

TEST(IdNumberTest, LetterInBody_Rejected) {
  Status s = ValidateIdNumber("1101051949A231002X");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("character 11 is not a digit"), std::string::npos) << s.message();
}

TEST(IdNumberTest, LowercaseX_RejectedWithHint) {
  Status s = ValidateIdNumber("11010519491231002x");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("upper-case 'X'"), std::string::npos) << s.message();
}

TEST(IdNumberTest, BadLastCharacter_Rejected) {
  Status s = ValidateIdNumber("11010519491231002Y");
  EXPECT_NE(s.message().find("must be a digit or 'X'"), std::string::npos) << s.message();
}

TEST(IdNumberTest, AddressCodeStartingWithZero_Rejected) {
  Status s = ValidateIdNumber("010105194912310025");
  EXPECT_NE(s.message().find("address code"), std::string::npos) << s.message();
}

TEST(IdNumberTest, ProvinceOutOfRange_Rejected) {
  EXPECT_NE(ValidateIdNumber("100105194912310020").message().find("province"), std::string::npos);
  EXPECT_NE(ValidateIdNumber("920105194912310020").message().find("province"), std::string::npos);
}

// An ID whose body is `body17` with the correct check character appended.
std::string WithCheckChar(std::string_view body17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) sum += (body17[i] - '0') * kWeights[i];
  std::string id(body17);
  id.push_back("10X98765432"[sum % 11]);
  return id;
}

TEST(IdNumberTest, WithCheckCharHelper_MatchesKnownIds) {
  EXPECT_EQ(WithCheckChar(kValidId.substr(0, 17)), kValidId);
  EXPECT_EQ(WithCheckChar(kValidLeapId.substr(0, 17)), kValidLeapId);
}

TEST(IdNumberTest, ImpossibleDates_Rejected) {
  // The check character is right, so only the date can be at fault.
  for (std::string_view date : {"19490230", "19000229", "19491301", "19490100", "19490132",
                                "19490431", "19490001"}) {
    std::string id = WithCheckChar("110105" + std::string(date) + "002");
    Status s = ValidateIdNumber(id);
    EXPECT_NE(s.message().find("not a real calendar date"), std::string::npos)
        << date << ": " << s.message();
  }
}

TEST(IdNumberTest, LeapDays_Valid) {
  EXPECT_TRUE(ValidateIdNumber(kValidLeapId).ok());  // 2000 is a leap year
  EXPECT_TRUE(ValidateIdNumber(WithCheckChar("11010519960229002")).ok());
  EXPECT_FALSE(ValidateIdNumber(WithCheckChar("11010519970229002")).ok());
}

TEST(IdNumberTest, YearOutOfRange_Rejected) {
  for (std::string_view body : {"11010518991231002", "11010521010101002"}) {
    Status s = ValidateIdNumber(WithCheckChar(body));
    EXPECT_NE(s.message().find("between 1900 and 2100"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(ValidateIdNumber(WithCheckChar("11010519000101002")).ok());
  EXPECT_TRUE(ValidateIdNumber(WithCheckChar("11010521001231002")).ok());
}

TEST(IdNumberTest, FutureBirthDate_RejectedWithToday) {
  const std::string id = WithCheckChar("11010520240315002");
  EXPECT_TRUE(ValidateIdNumber(id).ok());
  EXPECT_TRUE(ValidateIdNumber(id, "id_number", 20240315).ok());  // born today
  EXPECT_TRUE(ValidateIdNumber(id, "id_number", 20250101).ok());
  Status s = ValidateIdNumber(id, "id_number", 20240314);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("in the future"), std::string::npos) << s.message();
}

TEST(IdNumberTest, TodayOverload_StillAppliesOtherRules) {
  EXPECT_FALSE(ValidateIdNumber(kBadCheckId, "id_number", 20240101).ok());
  EXPECT_TRUE(ValidateIdNumber(kValidId, "id_number", 20240101).ok());
}

TEST(IdNumberTest, BirthDateFromIdNumber_Valid) {
  Result<int> date = BirthDateFromIdNumber(kValidId);
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(*date, 19491231);
  EXPECT_EQ(*BirthDateFromIdNumber(kValidLeapId), 20000229);
}

TEST(IdNumberTest, BirthDateFromIdNumber_InvalidIdIsError) {
  Result<int> date = BirthDateFromIdNumber(kBadCheckId);
  ASSERT_FALSE(date.ok());
  EXPECT_EQ(date.status().code(), StatusCode::kInvalidArgument);
}

TEST(IdNumberTest, ErrorMessages_NeverContainWholeId) {
  const std::vector<std::string> bad_ids = {
      std::string(kBadCheckId),
      "11010519491231002x",
      "11010519491231002Y",
      "1101051949A231002X",
      "010105194912310025",
      "920105194912310020",
      WithCheckChar("11010519490230002"),
      WithCheckChar("11010518991231002"),
      "11010519491231002",
      "11010519491231002X1",
      "110105194912310021110105194912310021",
      "12345",
      "1234567",
  };
  for (const std::string& id : bad_ids) {
    Status s = ValidateIdNumber(id);
    ASSERT_FALSE(s.ok()) << id;
    EXPECT_EQ(s.message().find(id), std::string::npos) << s.message();
    EXPECT_EQ(s.ToString().find(id), std::string::npos) << s.ToString();
  }
  const std::string future = WithCheckChar("11010520240315002");
  Status s = ValidateIdNumber(future, "id_number", 20200101);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find(future), std::string::npos) << s.message();
  // Nor the birth date, which the mask hides.
  EXPECT_EQ(s.message().find("20240315"), std::string::npos) << s.message();
}

// --- MaskIdNumber ------------------------------------------------------------

TEST(IdNumberMaskTest, EighteenChars_First6Last4) {
  EXPECT_EQ(MaskIdNumber(kBadCheckId), "110105********0021");
  EXPECT_EQ(MaskIdNumber(kValidId), "110105********002X");
}

TEST(IdNumberMaskTest, OtherLengths_AtMostFirst3Last2) {
  EXPECT_EQ(MaskIdNumber("11010519491231002"), "110************02");
  EXPECT_EQ(MaskIdNumber("11010519491231002X1"), "110**************X1");
  EXPECT_EQ(MaskIdNumber("123456"), "123*56");
}

TEST(IdNumberMaskTest, ShortInput_AllStars) {
  EXPECT_EQ(MaskIdNumber(""), "");
  EXPECT_EQ(MaskIdNumber("1"), "*");
  EXPECT_EQ(MaskIdNumber("12345"), "*****");
}

TEST(IdNumberMaskTest, ArbitraryBytes_PrintableAndBounded) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= bytes.size(); ++len) {
    const std::string in = bytes.substr(bytes.size() - len);  // ends in 0xFF
    for (const std::string& m : {MaskIdNumber(in), MaskPhone(in)}) {
      EXPECT_LE(m.size(), kMaxMaskLength);
      for (char c : m) EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << static_cast<int>(c);
    }
  }
  EXPECT_EQ(MaskIdNumber(std::string("\x01\x02\x03\x04\x05\x06") + "12345678" + "\xe4\xb8\xad\xff"),
            "??????********????");
  EXPECT_EQ(MaskIdNumber(std::string(1000, '7')).size(), kMaxMaskLength);
  EXPECT_FALSE(ValidateIdNumber(bytes).ok());
}

// --- ValidateCreditCode --------------------------------------------------------

TEST(CreditCodeTest, RealCodes_Valid) {
  // Public codes; check characters verified by hand (the first) and by a separate script.
  for (std::string_view code : {"91350100M000100Y43",    // commonly cited sample
                                "914403001922038216",    // Huawei Technologies Co., Ltd.
                                "9144030071526726XG",    // Tencent Technology (Shenzhen)
                                "91440300708461136T",    // Shenzhen Tencent Computer Systems
                                "91330100716105852F"}) {
    Status s = ValidateCreditCode(code);
    EXPECT_TRUE(s.ok()) << code << ": " << s.message();
  }
}

TEST(CreditCodeTest, WrongCheckChar_Rejected) {
  Status s = ValidateCreditCode("91350100M000100Y44");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("credit_code: check character"), std::string::npos) << s.message();
  EXPECT_FALSE(ValidateCreditCode("914403001922038215").ok());
  EXPECT_FALSE(ValidateCreditCode("9144030071526726XH").ok());
}

TEST(CreditCodeTest, ForbiddenLetters_EachRejectedWithPosition) {
  for (char c : std::string_view("IOZSV")) {
    std::string code = "91350100M000100Y43";
    code[8] = c;  // position 9
    Status s = ValidateCreditCode(code);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("character 9 is not allowed"), std::string::npos) << c << ": " << s.message();
  }
}

TEST(CreditCodeTest, LowerCase_Rejected) {
  Status s = ValidateCreditCode("91350100m000100Y43");
  EXPECT_NE(s.message().find("character 9 is a lower-case letter"), std::string::npos) << s.message();
}

TEST(CreditCodeTest, OtherBadCharacters_Rejected) {
  EXPECT_FALSE(ValidateCreditCode("91350100-000100Y43").ok());
  EXPECT_FALSE(ValidateCreditCode(std::string("91350100\0" "000100Y43", 18)).ok());
  EXPECT_FALSE(ValidateCreditCode("91350100M000100Y4\xff").ok());
}

TEST(CreditCodeTest, BadLength_Rejected) {
  for (std::string_view code : {"", "91350100M000100Y4", "91350100M000100Y433"}) {
    Status s = ValidateCreditCode(code, "org.credit_code");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("org.credit_code: must have 18 characters"), std::string::npos)
        << s.message();
  }
}

// --- ValidatePhone / MaskPhone -----------------------------------------------------

TEST(PhoneTest, Mobile_Valid) {
  for (std::string_view p : {"13812341234", "19912345678", "15000000000"}) {
    EXPECT_TRUE(ValidatePhone(p).ok()) << p;
  }
}

TEST(PhoneTest, Landline_Valid) {
  for (std::string_view p : {"0418-2812345", "010-12345678", "0418-28123456", "021-1234567",
                             "04182812345", "01012345678", "0211234567"}) {
    Status s = ValidatePhone(p);
    EXPECT_TRUE(s.ok()) << p << ": " << s.message();
  }
}

TEST(PhoneTest, Invalid_Rejected) {
  for (std::string_view p : {"", "12812341234", "1381234123", "138123412345", "1381234123a",
                             "138-1234-1234", "23812341234", "+8613812341234", "138 1234 1234",
                             "0418-281234", "0418-281234567", "04-12345678", "04181-2812345",
                             "0418--2812345", "0418-281-2345", "0010-12345678", "041828123",
                             "0418281234567", "-4182812345"}) {
    Status s = ValidatePhone(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << p;
    EXPECT_EQ(s.message().rfind("phone: ", 0), 0u) << s.message();
    if (p.size() > 5) {
      EXPECT_EQ(s.message().find(p), std::string::npos) << s.message();
    }
  }
}

TEST(PhoneTest, SecondDigit_ClearMessage) {
  Status s = ValidatePhone("12812341234", "contact.phone");
  EXPECT_EQ(s.message(), "contact.phone: mobile number must start with 13 to 19 (128****1234)");
}

TEST(PhoneTest, Masks) {
  EXPECT_EQ(MaskPhone("13812341234"), "138****1234");
  EXPECT_EQ(MaskPhone("0418-2812345"), "041*******45");
  EXPECT_EQ(MaskPhone("1381234123"), "138*****23");
  EXPECT_EQ(MaskPhone("12345"), "*****");
  EXPECT_EQ(MaskPhone(""), "");
}

}  // namespace
}  // namespace daiban::common

namespace daiban::common {
namespace {
TEST(IdNumberTest, CheckCharGeneratesValidNumbers) {
  EXPECT_EQ(IdNumberCheckChar("11010519491231002"), 'X');
  std::string id = "21092119800101123";
  id += IdNumberCheckChar(id);
  EXPECT_TRUE(ValidateIdNumber(id).ok());
  id.back() = id.back() == '0' ? '1' : '0';
  EXPECT_FALSE(ValidateIdNumber(id).ok());
}
}  // namespace
}  // namespace daiban::common
