// Benchmark of the hub's ingest and statistics queries (not a test; ./ops/bench.sh hub).
//
//   hub_bench --cases N [--shared DIR]
//
// Generates N case stories over the real Yantai tree (tests/support/case_story.h), then,
// in one run on files in /tmp (WAL, synchronous=FULL, batches of 1,000 events):
//   raw     the same events' bytes inserted into a plain table
//   store   the event store without statistics
//   hub     the event store with the statistics listener (what the hub runs)
// and times city-, county- and township-level queries over a year (p50/p95 of 200 each).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/flags.h"
#include "server/stats.h"
#include "sync/event_store.h"
#include "tests/support/case_story.h"

namespace daiban::bench {
namespace {

using Clock = std::chrono::steady_clock;
double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "hub_bench: %s\n", why.c_str());
  std::exit(1);
}

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  int64_t cases = flags.GetInt("cases", 20000).value();
  std::string shared = flags.Get("shared", std::string(DAIBAN_SOURCE_DIR) + "/../shared/data");
  std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
  auto tree = common::RegionTree::LoadDir(shared + "/regions", "3706");
  auto catalog = common::Catalog::LoadCsv(config + "/catalog/items.csv");
  auto calendar = common::WorkCalendar::LoadCsv(config + "/calendar/cn-holidays-2025-2026.csv");
  if (!tree.ok() || !catalog.ok() || !calendar.ok()) Die("cannot load master data (is ../shared/data there?)");
  testing::Generator gen(*tree, *catalog, *calendar, 7);
  for (int64_t i = 0; i < cases; ++i) gen.MakeCase(static_cast<int>(i + 1));
  std::vector<sync::Event> events = gen.events();
  std::shuffle(events.begin(), events.end(), gen.rng());
  std::vector<std::string> bytes;
  for (const auto& e : events) bytes.push_back(sync::EncodeEvent(e));
  std::fprintf(stderr, "%lld cases, %zu events\n", static_cast<long long>(cases), events.size());
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "daiban_hub_bench";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // raw
  double raw_rate = 0;
  {
    auto db = common::Db::Open((dir / "raw.db").string());
    if (!db.ok()) Die(db.status().ToString());
    (void)(*db)->Exec("CREATE TABLE raw(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, case_id TEXT, data TEXT); "
                      "CREATE INDEX raw_case ON raw(case_id)");
    auto t0 = Clock::now();
    for (size_t i = 0; i < events.size(); i += 1000) {
      (void)(*db)->Exec("BEGIN");
      for (size_t j = i; j < std::min(events.size(), i + 1000); ++j) {
        auto* st = *(*db)->Prepare("INSERT INTO raw(id, case_id, data) VALUES(?, ?, ?)");
        if (!st->Bind(1, events[j].id).Bind(2, events[j].case_id).Bind(3, bytes[j]).Run().ok()) Die("raw insert");
      }
      (void)(*db)->Exec("COMMIT");
    }
    raw_rate = static_cast<double>(events.size()) / Secs(Clock::now() - t0);
  }
  auto ingest = [&](const std::string& name, bool with_stats, std::unique_ptr<sync::EventStore>* keep,
                    std::unique_ptr<server::Stats>* stats_out) {
    sync::StoreOptions so;
    so.path = (dir / (name + ".db")).string();
    so.node_id = "hub";
    so.region = "370600000000";
    so.tier = common::Tier::kCity;
    auto store = sync::EventStore::Open(so);
    if (!store.ok()) Die(store.status().ToString());
    std::unique_ptr<server::Stats> stats;
    if (with_stats) {
      stats = std::make_unique<server::Stats>((*store)->db(), &*catalog, &*calendar, &*tree);
      if (!stats->Init().ok()) Die("stats init");
      server::Stats* raw = stats.get();
      (*store)->set_fold_listener([raw](const std::string& id, const common::Json& s) { return raw->OnCaseFolded(id, s); });
    }
    auto t0 = Clock::now();
    for (size_t i = 0; i < events.size(); i += 1000) {
      if (!(*store)->BeginBatch().ok()) Die("begin");
      for (size_t j = i; j < std::min(events.size(), i + 1000); ++j)
        if (!(*store)->Insert(events[j], "t").ok()) Die("insert");
      if (auto s = (*store)->CommitBatch(); !s.ok()) Die(s.ToString());
    }
    double rate = static_cast<double>(events.size()) / Secs(Clock::now() - t0);
    if (keep) *keep = std::move(store).value();
    if (stats_out) *stats_out = std::move(stats);
    return rate;
  };
  double store_rate = ingest("store", false, nullptr, nullptr);
  std::unique_ptr<sync::EventStore> hub;
  std::unique_ptr<server::Stats> stats;
  double hub_rate = ingest("hub", true, &hub, &stats);

  common::Date today = *common::Date::Parse("2025-12-31");
  auto time_queries = [&](const std::vector<std::string>& regions) {
    std::vector<double> ms;
    for (int i = 0; i < 200; ++i) {
      server::StatsQuery q{regions[static_cast<size_t>(i) % regions.size()], "", "", "", "2025-01-01", "2025-12-31"};
      auto t0 = Clock::now();
      auto r = stats->Query(q, today);
      ms.push_back(1000 * Secs(Clock::now() - t0));
      if (!r.ok()) Die(r.status().ToString());
    }
    std::sort(ms.begin(), ms.end());
    return std::make_pair(ms[100], ms[190]);
  };
  std::vector<std::string> counties, townships;
  for (const auto& c : tree->Descendants(*common::RegionCode::Parse("370600000000"), common::RegionLevel::kCounty))
    counties.push_back(c.str());
  for (const auto& t : tree->Descendants(*common::RegionCode::Parse("370600000000"), common::RegionLevel::kTownship))
    townships.push_back(t.str());
  auto city_q = time_queries({"370600000000"});
  auto county_q = time_queries(counties);
  auto town_q = time_queries(townships);
  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| raw SQLite batched insert, events/s | %.0f |\n", raw_rate);
  std::printf("| event store, no statistics, events/s | %.0f |\n", store_rate);
  std::printf("| hub: event store + statistics, events/s | %.0f |\n", hub_rate);
  std::printf("| hub / raw | %.2f |\n", hub_rate / raw_rate);
  std::printf("| city-level year query, p50 / p95 ms | %.2f / %.2f |\n", city_q.first, city_q.second);
  std::printf("| county-level year query, p50 / p95 ms | %.2f / %.2f |\n", county_q.first, county_q.second);
  std::printf("| township-level year query, p50 / p95 ms | %.2f / %.2f |\n", town_q.first, town_q.second);
  std::printf("\n%lld cases (%zu events, shuffled) over the Yantai tree, a year of activity.\n",
              static_cast<long long>(cases), events.size());
  stats.reset();
  hub.reset();
  fs::remove_all(dir);
  return 0;
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
