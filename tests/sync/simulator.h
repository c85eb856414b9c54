// The deterministic simulator: a county of the real Fuxin tree (its townships, some
// villages, and the hub) in one process, driven by a seeded random schedule of case
// work, syncs over faulty links, partitions, crashes, restores from old backups and
// syncs with a grandparent. After the schedule it heals everything, syncs to
// quiescence and checks the replication properties (sync/SPEC.md).
//
// Everything is a function of the seed: the same seed replays the same run.
#ifndef DAIBAN_TESTS_SYNC_SIMULATOR_H_
#define DAIBAN_TESTS_SYNC_SIMULATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/region.h"

namespace daiban::sync::sim {

struct SimOptions {
  uint64_t seed = 1;
  int townships = 3;              // townships of the county taking part
  int villages_per_township = 2;  // villages under each
  int steps = 120;                // scheduled actions before healing
  bool verbose = false;           // print every action (for replaying a seed)
};

struct SimStats {
  int64_t events = 0;           // events made
  int64_t lost_by_restore = 0;  // made, never sent, then lost with a node's disk (expected)
  int64_t syncs = 0;            // sync calls (including failed ones)
  int64_t failed_syncs = 0;
  int64_t conflicts = 0;        // field conflicts seen on cases at the end
  int64_t superseded = 0;       // superseded steps seen at the end
  int64_t decision_races = 0;   // a decision and a withdrawal made concurrently
  int64_t crashes = 0;
  int64_t restores = 0;
  int64_t reparents = 0;        // villages moved to another parent
};

struct SimResult {
  bool ok = true;
  std::vector<std::string> violations;  // each a property that did not hold, in words
  SimStats stats;
};

// REQUIRES: tree holds the Fuxin (2109) tree.
SimResult RunSimulation(const SimOptions& options, const common::RegionTree& tree);

}  // namespace daiban::sync::sim

#endif  // DAIBAN_TESTS_SYNC_SIMULATOR_H_
