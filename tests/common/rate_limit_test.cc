#include "common/rate_limit.h"

#include <gtest/gtest.h>

namespace daiban::common {
namespace {

TEST(RateLimitTest, ABurstThenTheSteadyRatePerKey) {
  FakeClock clock;
  RateLimiter limit(&clock, 2, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limit.Allow("v1")) << i;
  EXPECT_FALSE(limit.Allow("v1"));
  EXPECT_TRUE(limit.Allow("v2"));  // another node is not slowed by v1
  clock.Advance(499);
  EXPECT_FALSE(limit.Allow("v1"));
  clock.Advance(1);  // 0.5 s at 2/s: one more
  EXPECT_TRUE(limit.Allow("v1"));
  EXPECT_FALSE(limit.Allow("v1"));
  clock.Advance(60000);  // refills only up to the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limit.Allow("v1")) << i;
  EXPECT_FALSE(limit.Allow("v1"));
}

TEST(RateLimitTest, TrackedKeysAreBounded) {
  FakeClock clock;
  RateLimiter limit(&clock, 1, 1, 3);
  for (const char* k : {"a", "b", "c"}) EXPECT_TRUE(limit.Allow(k));
  EXPECT_FALSE(limit.Allow("a"));
  clock.Advance(10);
  EXPECT_TRUE(limit.Allow("d"));  // forgets the longest idle key
  EXPECT_FALSE(limit.Allow("d"));
}

}  // namespace
}  // namespace daiban::common
