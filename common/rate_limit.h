// Per-key request rate limits (token buckets), so one misbehaving node or address cannot
// crowd out the others. Thread-safe.
#ifndef DAIBAN_COMMON_RATE_LIMIT_H_
#define DAIBAN_COMMON_RATE_LIMIT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace daiban::common {

// Sync requests one node may make: 20 a second on average, bursts of 40. A node's sync
// loop makes one request per round, so only a broken or hostile node gets near this.
inline constexpr double kSyncRequestsPerSecond = 20;
inline constexpr double kSyncBurst = 40;
// Enrolment attempts from one address: 10 a minute, bursts of 10.
inline constexpr double kEnrolPerSecond = 10.0 / 60;
inline constexpr double kEnrolBurst = 10;

class RateLimiter {
 public:
  // Each key may make `burst` requests at once, refilled at `per_second`. At most
  // `max_keys` keys are tracked; beyond that the longest-idle ones are forgotten (they
  // start again with a full bucket). REQUIRES: clock outlives the limiter.
  RateLimiter(const Clock* clock, double per_second, double burst, size_t max_keys = 10000);

  // True if `key` may make one more request now (and counts it); false if it must wait.
  bool Allow(const std::string& key);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  const Clock* clock_;
  double per_second_, burst_;
  size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_RATE_LIMIT_H_
