// Time behind a small interface, so tests and the simulator can set it.
#ifndef DAIBAN_COMMON_CLOCK_H_
#define DAIBAN_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace daiban::common {

// Wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

// The machine's real clock (CLOCK_REALTIME). Thread-safe; a process-wide singleton.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  static SystemClock* Get();
};

// A clock a test moves by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1735689600000 /* 2025-01-01T00:00:00Z */) : now_(start_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

// A clock that reads another with a fixed offset (a node whose clock is days off).
class SkewedClock final : public Clock {
 public:
  SkewedClock(const Clock* base, int64_t offset_ms) : base_(base), offset_(offset_ms) {}
  int64_t NowMillis() const override { return base_->NowMillis() + offset_; }

 private:
  const Clock* base_;
  int64_t offset_;
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_CLOCK_H_
