// Hybrid logical clock (Kulkarni et al., 2014).
//
// A timestamp is a uint64: the upper 48 bits are Unix milliseconds, the lower 16 a
// logical counter. Timestamps from one HybridClock strictly increase, and after
// Observe(t) every later Now() is greater than t, so an event stamped after its
// author saw other events sorts after all of them. Comparing two timestamps as
// integers is the order the merge rules use (ties broken by origin node id).
#ifndef DAIBAN_COMMON_HLC_H_
#define DAIBAN_COMMON_HLC_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace daiban::common {

using HlcTimestamp = uint64_t;

inline int64_t HlcMillis(HlcTimestamp t) { return static_cast<int64_t>(t >> 16); }
inline uint32_t HlcLogical(HlcTimestamp t) { return static_cast<uint32_t>(t & 0xFFFF); }
inline HlcTimestamp MakeHlc(int64_t millis, uint32_t logical) {
  return (static_cast<uint64_t>(millis) << 16) | (logical & 0xFFFFu);
}
// "2025-01-24T08:00:00.000Z/3": for logs and pages.
std::string FormatHlc(HlcTimestamp t);

// Thread-safe.
class HybridClock {
 public:
  // REQUIRES: clock outlives this object.
  explicit HybridClock(const Clock* clock) : clock_(clock) {}

  // A new timestamp, greater than every one returned or observed before.
  HlcTimestamp Now();
  // Folds in a timestamp seen on another node's event.
  void Observe(HlcTimestamp remote);
  // The greatest timestamp issued or observed so far.
  HlcTimestamp Last() const;

 private:
  const Clock* clock_;
  mutable std::mutex mu_;
  HlcTimestamp last_ = 0;
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_HLC_H_
