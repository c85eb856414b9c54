// Median, min and max of a benchmark's repetitions (tests/bench only).
#ifndef DAIBAN_TESTS_BENCH_SERIES_H_
#define DAIBAN_TESTS_BENCH_SERIES_H_

#include <algorithm>
#include <vector>

namespace daiban::bench {

struct Series {
  std::vector<double> v;
  double Median() const {
    auto s = v;
    std::sort(s.begin(), s.end());
    return s.empty() ? 0 : s[s.size() / 2];
  }
  double Min() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
  double Max() const { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
};

}  // namespace daiban::bench

#endif  // DAIBAN_TESTS_BENCH_SERIES_H_
