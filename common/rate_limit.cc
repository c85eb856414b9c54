#include "common/rate_limit.h"

#include <algorithm>

namespace daiban::common {

RateLimiter::RateLimiter(const Clock* clock, double per_second, double burst, size_t max_keys)
    : clock_(clock), per_second_(per_second), burst_(burst), max_keys_(max_keys) {}

bool RateLimiter::Allow(const std::string& key) {
  const int64_t now = clock_->NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      auto idle = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at_ms < b.second.at_ms; });
      buckets_.erase(idle);
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  double elapsed_s = static_cast<double>(std::max<int64_t>(0, now - b.at_ms)) / 1000.0;
  b.tokens = std::min(burst_, b.tokens + elapsed_s * per_second_);
  b.at_ms = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace daiban::common
