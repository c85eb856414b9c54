#include "common/hlc.h"

#include <cstdio>
#include <ctime>

namespace daiban::common {

std::string FormatHlc(HlcTimestamp t) {
  int64_t ms = HlcMillis(t);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ/%u", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000), HlcLogical(t));
  return buf;
}

HlcTimestamp HybridClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  HlcTimestamp physical = MakeHlc(clock_->NowMillis(), 0);
  last_ = physical > last_ ? physical : last_ + 1;
  return last_;
}

void HybridClock::Observe(HlcTimestamp remote) {
  std::lock_guard<std::mutex> lock(mu_);
  if (remote > last_) last_ = remote;
}

HlcTimestamp HybridClock::Last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace daiban::common
