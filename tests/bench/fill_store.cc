// Bench setup, not a test: adds cases of a township's other villages to a stopped node's
// store, as if those villages had pushed them, so that a real process can be measured
// holding a million events (filing them through the API would take about an hour).
//
//   fill_store --store DATA/node.db --events N [--township 210921100] [--except 210921100202]
//
// Each case is a case.create by the village's agent (catalog item, valid ID number, the
// generator of tests/support/case_gen.h) and its case.submit, made by that village's node
// (origin v<village>, its own incarnation), in batches of 20,000 events (10,000 cases) through the real
// EventStore (hash chain, fold, version vectors, subtree digests). The village named by
// --except gets none: a no-op sync of that village must not have to look at them.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "common/catalog.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/hlc.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "sync/event_store.h"
#include "tests/support/case_gen.h"

namespace daiban::bench {
namespace {

[[noreturn]] void Die(const common::Status& s) {
  std::fprintf(stderr, "fill_store: %s\n", s.ToString().c_str());
  std::exit(1);
}
template <typename T>
T Must(common::Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(r).value();
}

// The store's own node id and region, from its meta table.
std::string Meta(const std::string& path, const std::string& key) {
  auto db = Must(common::Db::Open(path, common::DbOptions{}));
  auto* q = Must(db->Prepare("SELECT value FROM meta WHERE key = ?"));
  q->Bind(1, key);
  if (!Must(q->Step())) Die(common::InvalidArgument(path + ": no " + key + " in meta (not a Daiban store?)"));
  std::string v = q->ColumnText(0);
  q->Reset();
  return v;
}

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  const std::string path = flags.Get("store", "");
  const int64_t events = Must(flags.GetInt("events", 1000000));
  const std::string township_code = flags.Get("township", "210921100");
  const std::string except = flags.Get("except", "210921100202");
  if (path.empty() || !std::filesystem::exists(path)) Die(common::InvalidArgument("--store: no such file"));
  const std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
  auto catalog = Must(common::Catalog::LoadCsv(config + "/catalog/items.csv"));
  auto tree = Must(common::RegionTree::LoadDir(config + "/regions", township_code.substr(0, 4)));
  auto township = Must(common::RegionCode::Parse(township_code));
  std::vector<std::string> villages;
  for (const auto& v : tree.Descendants(township, common::RegionLevel::kVillage)) {
    if (v.str() != except) villages.push_back(v.str());
  }
  if (villages.empty()) Die(common::InvalidArgument("--township: no other villages"));

  sync::StoreOptions o;
  o.path = path;
  o.node_id = Meta(path, "node_id");
  o.region = Meta(path, "region");
  o.tier = common::Tier::kTownship;
  o.synchronous_full = false;  // setup: one fsync per batch is not what is measured
  auto store = Must(sync::EventStore::Open(o));
  common::HybridClock hlc(common::SystemClock::Get());
  testing::CaseGenerator gen(&catalog, 11);
  std::map<std::string, std::pair<std::string, int64_t>> origins;  // village -> (incarnation, counter)
  for (size_t i = 0; i < villages.size(); ++i) {
    char inc[32];
    std::snprintf(inc, sizeof inc, "f%011zx", i);
    origins[villages[i]] = {inc, 0};
  }
  std::fprintf(stderr, "fill_store: %lld events into %s (%s), %zu villages\n", static_cast<long long>(events),
               path.c_str(), o.node_id.c_str(), villages.size());
  int64_t made = 0;
  int64_t next_report = 100000;
  for (int64_t c = 0; made < events;) {
    if (auto st = store->BeginBatch(); !st.ok()) Die(st);
    for (int k = 0; k < 10000 && made < events; ++k, ++c) {
      const std::string& v = villages[static_cast<size_t>(c) % villages.size()];
      auto& [inc, counter] = origins[v];
      sync::Event e;
      e.origin = "v" + v;
      e.origin_region = v;
      e.case_id = v + "-20250124-" + inc + "-" + std::to_string(c + 1);
      e.region = v;
      e.actor = {"agent1", common::Role::kAgent, common::Tier::kVillage};
      e.kind = "case.create";
      e.body = gen.CreateBody(v);
      e.hlc = hlc.Now();
      e.id = sync::MakeEventId(e.origin, inc, ++counter);
      if (auto r = store->Insert(e, e.origin); !r.ok()) Die(r.status());
      ++made;
      if (made == events) break;
      sync::Event s = e;
      s.kind = "case.step";
      s.body = {{"action", "submit"}, {"date", "2025-01-24"}};
      s.parents = {e.id};
      s.hlc = hlc.Now();
      s.id = sync::MakeEventId(s.origin, inc, ++counter);
      if (auto r = store->Insert(s, s.origin); !r.ok()) Die(r.status());
      ++made;
    }
    if (auto st = store->CommitBatch(); !st.ok()) Die(st);
    if (made >= next_report) {
      std::fprintf(stderr, "fill_store: %lld events\n", static_cast<long long>(made));
      next_report += 100000;
    }
  }
  std::fprintf(stderr, "fill_store: done, %lld events stored in all\n",
               static_cast<long long>(Must(store->EventCount())));
  return 0;
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
