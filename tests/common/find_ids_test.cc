// FindIdNumbers: what scan-pii and the test suite's log check rely on.
#include <gtest/gtest.h>

#include "common/personal_id.h"

namespace daiban::common {
namespace {

TEST(FindIdNumbersTest, FindsWholeValidNumbersOnlyAndReturnsThemMasked) {
  std::string id = "11010519491231002" + std::string(1, IdNumberCheckChar("11010519491231002"));
  std::string text = "filed for " + id + " at 10:00; masked 110105********002X; bad 110105194912310021; "
                     "hash a" + id + "b; phone 13800138000";
  auto found = FindIdNumbers(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], MaskIdNumber(id));
  EXPECT_EQ(found[0].find(id), std::string::npos);
  EXPECT_TRUE(FindIdNumbers("").empty());
  EXPECT_EQ(FindIdNumbers(id + "," + id).size(), 2u);
}

}  // namespace
}  // namespace daiban::common
