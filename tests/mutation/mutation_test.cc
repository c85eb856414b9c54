// Shows that the simulator can fail: with one merge rule broken on purpose (the mutant
// build of sync/, see sync/merge.h), some seed must report a violated property.
#include <gtest/gtest.h>

#include "sync/merge.h"
#include "tests/sync/simulator.h"

namespace daiban::sync::sim {
namespace {

const common::RegionTree& FuxinTree() {
  static const common::RegionTree tree =
      std::move(common::RegionTree::LoadDir(std::string(DAIBAN_SOURCE_DIR) + "/config/regions", "2109")).value();
  return tree;
}

// Runs seeds 1..max under `mutation`; returns the first failing seed and its first violation.
std::pair<uint64_t, std::string> FirstFailure(int mutation, uint64_t max_seeds) {
  g_mutation = mutation;
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    SimOptions o;
    o.seed = seed;
    SimResult r = RunSimulation(o, FuxinTree());
    if (!r.ok) {
      g_mutation = 0;
      return {seed, r.violations[0]};
    }
  }
  g_mutation = 0;
  return {0, ""};
}

TEST(MutationTest, WithoutAMutationTheSameSeedsPass) { EXPECT_EQ(FirstFailure(0, 100).first, 0u); }

TEST(MutationTest, FoldInArrivalOrderIsCaught) {
  auto [seed, violation] = FirstFailure(1, 300);
  EXPECT_NE(seed, 0u) << "the simulator did not notice folds in arrival order";
  std::printf("mutation 1 caught at seed %llu: %s\n", static_cast<unsigned long long>(seed), violation.c_str());
}

TEST(MutationTest, HiddenConflictsAreCaught) {
  auto [seed, violation] = FirstFailure(2, 300);
  EXPECT_NE(seed, 0u) << "the simulator did not notice hidden conflicts";
  std::printf("mutation 2 caught at seed %llu: %s\n", static_cast<unsigned long long>(seed), violation.c_str());
}

TEST(MutationTest, IgnoringAuthorityAmongConcurrentStepsIsCaught) {
  auto [seed, violation] = FirstFailure(3, 300);
  EXPECT_NE(seed, 0u) << "the simulator did not notice steps applied without authority";
  std::printf("mutation 3 caught at seed %llu: %s\n", static_cast<unsigned long long>(seed), violation.c_str());
}

}  // namespace
}  // namespace daiban::sync::sim
