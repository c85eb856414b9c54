// Runs the deterministic simulator over many seeds (sync/SPEC.md lists what it checks).
//
//   default              2,000 seeds in 20 shards (./ops/test.sh)
//   DAIBAN_SIM_SEEDS=N   N seeds (the soak: DAIBAN_SIM_SEEDS=100000)
//   DAIBAN_SIM_FIRST_SEED=S   start at seed S
//   DAIBAN_SIM_SEED=S    replay only seed S, printing every action
//   DAIBAN_SIM_SEEDS_SCALE=K  run 1/K of the seeds (the sanitizer build uses 10)
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/sync/simulator.h"

namespace daiban::sync::sim {
namespace {

constexpr int kShards = 20;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

const common::RegionTree& FuxinTree() {
  static const common::RegionTree tree = [] {
    auto t = common::RegionTree::LoadDir(std::string(DAIBAN_SOURCE_DIR) + "/config/regions", "2109");
    if (!t.ok()) {
      std::fprintf(stderr, "PANIC: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return std::move(t).value();
  }();
  return tree;
}

void RunSeed(uint64_t seed, bool verbose) {
  SimOptions o;
  o.seed = seed;
  o.verbose = verbose;
  SimResult r = RunSimulation(o, FuxinTree());
  if (!r.ok) {
    std::string msg = "seed " + std::to_string(seed) + " failed:\n";
    for (const auto& v : r.violations) msg += "  - " + v + "\n";
    msg += "replay: DAIBAN_SIM_SEED=" + std::to_string(seed) +
           " ./build/tests/sync_test --gtest_filter='Simulator.ReplayOneSeed'\n";
    FAIL() << msg;
  }
}

class SimulatorShard : public ::testing::TestWithParam<int> {};

TEST_P(SimulatorShard, PropertiesHoldOnEverySeed) {
  if (std::getenv("DAIBAN_SIM_SEED")) GTEST_SKIP() << "replaying one seed";
  int64_t total = EnvInt("DAIBAN_SIM_SEEDS", 2000) / std::max<int64_t>(1, EnvInt("DAIBAN_SIM_SEEDS_SCALE", 1));
  int64_t first = EnvInt("DAIBAN_SIM_FIRST_SEED", 1);
  for (int64_t s = first + GetParam(); s < first + total; s += kShards) {
    RunSeed(static_cast<uint64_t>(s), false);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimulatorShard, ::testing::Range(0, kShards));

TEST(Simulator, ReplayOneSeed) {
  int64_t seed = EnvInt("DAIBAN_SIM_SEED", 0);
  if (seed == 0) GTEST_SKIP() << "set DAIBAN_SIM_SEED to replay a seed";
  RunSeed(static_cast<uint64_t>(seed), true);
}

// The simulator does real work: a run makes events, syncs, crashes and restores.
TEST(Simulator, ARunExercisesTheFaults) {
  SimStats total;
  for (uint64_t s = 1; s <= 50; ++s) {
    SimOptions o;
    o.seed = s;
    SimResult r = RunSimulation(o, FuxinTree());
    ASSERT_TRUE(r.ok) << "seed " << s << ": " << r.violations[0];
    total.events += r.stats.events;
    total.failed_syncs += r.stats.failed_syncs;
    total.crashes += r.stats.crashes;
    total.restores += r.stats.restores;
    total.conflicts += r.stats.conflicts;
    total.superseded += r.stats.superseded;
    total.decision_races += r.stats.decision_races;
    total.lost_by_restore += r.stats.lost_by_restore;
    total.reparents += r.stats.reparents;
  }
  EXPECT_GT(total.events, 500);
  EXPECT_GT(total.failed_syncs, 20);
  EXPECT_GT(total.crashes, 10);
  EXPECT_GT(total.restores, 5);
  EXPECT_GT(total.conflicts, 3);
  EXPECT_GT(total.superseded, 0);
  EXPECT_GT(total.decision_races, 0);
  EXPECT_GT(total.reparents, 3);
  std::printf("50 seeds: %lld events, %lld failed syncs, %lld crashes, %lld restores, %lld conflicts, "
              "%lld superseded steps, %lld decision/withdrawal races\n",
              static_cast<long long>(total.events), static_cast<long long>(total.failed_syncs),
              static_cast<long long>(total.crashes), static_cast<long long>(total.restores),
              static_cast<long long>(total.conflicts), static_cast<long long>(total.superseded),
              static_cast<long long>(total.decision_races));
}

}  // namespace
}  // namespace daiban::sync::sim
