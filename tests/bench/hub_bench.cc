// Benchmark of the hub's ingest and statistics queries (not a test; ./ops/bench.sh hub).
//
//   hub_bench [--cases N] [--reps R] [--query-cases N1,N2,...] [--pool P] [--direct D]
//             [--remap 0|1] [--dir DIR] [--shared DIR] [--keep 0|1] [--order shuffled|time]
//
// 1. Ingest. Generates N case stories over the real Yantai tree (tests/support/case_story.h),
//    shuffled (the worst case: every batch touches cases and days all over the year) or with
//    --order time in the order they happened (by hybrid clock: what a hub sees when nodes
//    sync daily), then in each of R repetitions (files in /tmp, WAL, synchronous=FULL, batches
//    of 1,000 events), in the order raw, store, hub (even repetitions) or hub, store, raw
//    (odd ones):
//      raw     the same events' bytes inserted into a plain table
//      store   the event store without statistics
//      hub     the event store with the statistics listener (what the hub runs)
//    and times city-, county- and township-level queries over a year on the last hub
//    store (p50/p95 of 200 each). With --keep 1 that store stays in DIR (hub<R-1>.db), to
//    look into (e.g. sqlite3's dbstat); DIR is emptied at the next run.
// 2. Queries at size. For each size in --query-cases (default 1000000,10000000; 0 = none),
//    a fresh statistics database is filled without the event log: P case stories (default
//    200,000) are generated and folded once with sync::FoldCase (the event store's fold),
//    and their folded states are handed to server::Stats::OnCaseFolded (the hub's fold
//    listener) until the size is reached, re-fed under new case ids and a random village
//    (see FillStats). Then p50/p95 of 200 city- and 200 county-level year queries, and of
//    the overdue-now count alone (the part of a query that reads open cases).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/flags.h"
#include "server/stats.h"
#include "tests/bench/series.h"
#include "sync/event_store.h"
#include "sync/merge.h"
#include "tests/support/case_story.h"

namespace daiban::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "hub_bench: %s\n", why.c_str());
  std::exit(1);
}
void Check(const common::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}


// p50 and p95 of a sample in milliseconds.
struct Percentiles {
  double p50 = 0, p95 = 0;
};
Percentiles Of(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 95 / 100]};
}

// Resident memory of this process, MB.
double RssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

int64_t FileBytes(const fs::path& p) {
  int64_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    auto n = fs::file_size(p.string() + suffix, ec);
    if (!ec) total += static_cast<int64_t>(n);
  }
  return total;
}

void RemoveDb(const fs::path& p) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
}

using MasterData = testing::StoryData;

// ---- 1. ingest: raw vs store vs hub, alternating ----

struct IngestResult {
  Series raw, store, hub, ratio;
  Percentiles city, county, township;
  size_t events = 0;
};

IngestResult RunIngest(const MasterData& md, int64_t cases, int64_t reps, const fs::path& dir, bool keep_store,
                       bool in_time_order) {
  testing::Generator gen(md.tree, md.catalog, md.calendar, 7);
  for (int64_t i = 0; i < cases; ++i) gen.MakeCase(static_cast<int>(i + 1));
  std::vector<sync::Event> events = gen.events();
  std::shuffle(events.begin(), events.end(), gen.rng());
  if (in_time_order) {
    std::stable_sort(events.begin(), events.end(),
                     [](const sync::Event& a, const sync::Event& b) { return a.hlc < b.hlc; });
  }
  std::vector<std::string> bytes;
  for (const auto& e : events) bytes.push_back(sync::EncodeEvent(e));
  std::fprintf(stderr, "ingest: %lld cases, %zu events\n", static_cast<long long>(cases), events.size());
  IngestResult out;
  out.events = events.size();
  const double n = static_cast<double>(events.size());

  auto run_raw = [&](int64_t rep) {
    fs::path p = dir / ("raw" + std::to_string(rep) + ".db");
    auto db = common::Db::Open(p.string());
    if (!db.ok()) Die(db.status().ToString());
    Check((*db)->Exec("CREATE TABLE raw(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, case_id TEXT, data TEXT); "
                      "CREATE INDEX raw_case ON raw(case_id)"),
          "raw schema");
    auto t0 = Clock::now();
    for (size_t i = 0; i < events.size(); i += 1000) {
      Check((*db)->Exec("BEGIN"), "raw begin");
      for (size_t j = i; j < std::min(events.size(), i + 1000); ++j) {
        auto* st = *(*db)->Prepare("INSERT INTO raw(id, case_id, data) VALUES(?, ?, ?)");
        Check(st->Bind(1, events[j].id).Bind(2, events[j].case_id).Bind(3, bytes[j]).Run(), "raw insert");
      }
      Check((*db)->Exec("COMMIT"), "raw commit");
    }
    out.raw.v.push_back(n / Secs(Clock::now() - t0));
    db->reset();
    RemoveDb(p);
  };
  // The event store, with the statistics listener if `stats_out`; the store is kept in
  // *keep (for the queries) or closed and deleted.
  auto run_store = [&](const std::string& name, std::unique_ptr<sync::EventStore>* keep,
                       std::unique_ptr<server::Stats>* stats_out) {
    sync::StoreOptions so;
    so.path = (dir / (name + ".db")).string();
    so.node_id = "hub";
    so.region = "370600000000";
    so.tier = common::Tier::kCity;
    auto store = sync::EventStore::Open(so);
    if (!store.ok()) Die(store.status().ToString());
    std::unique_ptr<server::Stats> stats;
    if (stats_out) {
      stats = std::make_unique<server::Stats>((*store)->db(), &md.catalog, &md.calendar, &md.tree);
      Check(stats->Init(), "stats init");
      (*store)->set_fold_listener(stats.get());
    }
    auto t0 = Clock::now();
    for (size_t i = 0; i < events.size(); i += 1000) {
      Check((*store)->BeginBatch(), "begin");
      for (size_t j = i; j < std::min(events.size(), i + 1000); ++j)
        if (!(*store)->Insert(events[j], "t").ok()) Die("insert");
      Check((*store)->CommitBatch(), "commit");
    }
    double rate = n / Secs(Clock::now() - t0);
    if (keep) {
      *keep = std::move(store).value();
      if (stats_out) *stats_out = std::move(stats);
    } else {
      stats.reset();
      store->reset();
      RemoveDb(so.path);
    }
    return rate;
  };

  std::unique_ptr<sync::EventStore> hub;
  std::unique_ptr<server::Stats> stats;
  for (int64_t rep = 0; rep < reps; ++rep) {
    // Keep only the last repetition's hub store (for the queries below).
    stats.reset();
    hub.reset();
    for (int64_t k = 0; k < rep; ++k) RemoveDb(dir / ("hub" + std::to_string(k) + ".db"));
    std::string hub_name = "hub" + std::to_string(rep);
    std::string store_name = "store" + std::to_string(rep);
    if (rep % 2 == 0) {
      run_raw(rep);
      out.store.v.push_back(run_store(store_name, nullptr, nullptr));
      out.hub.v.push_back(run_store(hub_name, &hub, &stats));
    } else {
      out.hub.v.push_back(run_store(hub_name, &hub, &stats));
      out.store.v.push_back(run_store(store_name, nullptr, nullptr));
      run_raw(rep);
    }
    out.ratio.v.push_back(out.hub.v.back() / out.raw.v.back());
    std::fprintf(stderr, "rep %lld: raw %.0f/s, store %.0f/s, hub %.0f/s (hub/raw %.2f)\n",
                 static_cast<long long>(rep), out.raw.v.back(), out.store.v.back(), out.hub.v.back(),
                 out.ratio.v.back());
  }

  common::Date today = *common::Date::Parse("2025-12-31");
  auto time_queries = [&](const std::vector<std::string>& regions) {
    std::vector<double> ms;
    for (int i = 0; i < 200; ++i) {
      server::StatsQuery q{
          regions[static_cast<size_t>(i) % regions.size()], "", "", "", "2025-01-01", "2025-12-31"};
      auto t0 = Clock::now();
      auto r = stats->Query(q, today);
      ms.push_back(1000 * Secs(Clock::now() - t0));
      if (!r.ok()) Die(r.status().ToString());
    }
    return Of(std::move(ms));
  };
  std::vector<std::string> counties, townships;
  auto city = *common::RegionCode::Parse("370600000000");
  for (const auto& c : md.tree.Descendants(city, common::RegionLevel::kCounty)) counties.push_back(c.str());
  for (const auto& t : md.tree.Descendants(city, common::RegionLevel::kTownship))
    townships.push_back(t.str());
  out.city = time_queries({"370600000000"});
  out.county = time_queries(counties);
  out.township = time_queries(townships);
  stats.reset();
  hub.reset();
  if (!keep_store) RemoveDb(dir / ("hub" + std::to_string(reps - 1) + ".db"));
  return out;
}

// ---- 2. queries at size: a statistics database filled through the fold listener ----

// The folded states of `pool` generated case stories (sync::FoldCase over each case's
// events, as the event store folds a case whose events have all arrived).
std::vector<common::Json> FoldPool(const MasterData& md, int64_t pool) {
  testing::Generator gen(md.tree, md.catalog, md.calendar, 11);
  std::vector<common::Json> states;
  states.reserve(static_cast<size_t>(pool));
  for (int64_t i = 0; i < pool; ++i) {
    gen.MakeCase(static_cast<int>(i + 1));  // appends the case's events, all of them, in order
    states.push_back(sync::FoldCase(std::move(gen.events())).state);
    gen.events().clear();
  }
  return states;
}

struct SizeResult {
  int64_t cases = 0;
  double fill_rate = 0;   // cases/s
  double fill_secs = 0;   // the OnCaseFolded part
  int64_t fed = 0;        // cases fed through OnCaseFolded
  double copy_secs = 0;   // the SQL copy part
  int64_t db_bytes = 0;   // stats database on disk after the fill (checkpointed)
  int64_t open_rows = 0;  // rows in stat_open (cases with a running clock)
  int64_t day_rows = 0;   // rows in stat_day
  Percentiles city, county, city_overdue, county_overdue;
};

// Fills a fresh statistics database at `path` with `cases` cases and times queries on it.
// Case k is pool[k % P] under a new case id; with `remap` (--remap 1), from the second pass
// over the pool on, also in a village drawn at random from the tree (a walk-in case moves to
// that village's township, and its creator's node with it). Dates, item and story stay the
// pool case's. Without remap the day rows (stat_day) hold only the pool's keys, so they stop
// growing after the first pass; stat_case and stat_open grow with every case. Each state
// goes once through Stats::OnCaseFolded, in transactions of 20,000 cases. The fill is setup,
// not a measure of the hub: it runs with synchronous=OFF and a 512 MB page cache; the
// queries run on a fresh connection with the defaults the hub uses (WAL, synchronous=FULL).
SizeResult FillAndQuery(const MasterData& md, std::vector<common::Json>& pool, int64_t cases, int64_t direct,
                        bool remap, const fs::path& path) {
  SizeResult r;
  // Through OnCaseFolded: `fed` cases; the rest by copying them `copies` times in SQL.
  const int64_t copies = remap ? 1 : std::max<int64_t>(1, cases / std::min(cases, direct));
  const int64_t fed = cases / copies;
  r.cases = fed * copies;
  r.fed = fed;
  RemoveDb(path);
  auto villages =
      md.tree.Descendants(*common::RegionCode::Parse("370600000000"), common::RegionLevel::kVillage);
  std::mt19937_64 rng(static_cast<uint64_t>(cases));
  {
    auto db = common::Db::Open(path.string());
    if (!db.ok()) Die(db.status().ToString());
    Check((*db)->Exec("PRAGMA synchronous=OFF; PRAGMA cache_size=-524288"), "fill pragmas");
    server::Stats stats(db->get(), &md.catalog, &md.calendar, &md.tree);
    Check(stats.Init(), "stats init");
    const size_t p = pool.size();
    auto t0 = Clock::now();
    auto last_report = t0;
    for (int64_t k = 0; k < fed;) {
      Check((*db)->Exec("BEGIN"), "fill begin");
      for (int64_t end = std::min(fed, k + 20000); k < end; ++k) {
        common::Json& s = pool[static_cast<size_t>(k) % p];
        if (remap && k >= static_cast<int64_t>(p)) {
          const common::RegionCode& v =
              villages[std::uniform_int_distribution<size_t>(0, villages.size() - 1)(rng)];
          bool proxy = s.value("filed_tier", "") == "village";
          common::RegionCode at = proxy ? v : v.AncestorAt(common::RegionLevel::kTownship);
          s["region"] = at.str();
          if (s.contains("created")) s["created"]["origin"] = (proxy ? "v" : "t") + std::string(at.Prefix());
        }
        std::string id = s.value("region", "") + "-f" + std::to_string(k + 1);  // region first, as real ids
        s["case"] = id;
        Check(stats.OnCaseFolded(id, s), "OnCaseFolded");
      }
      Check(stats.Flush(), "fill flush");
      Check((*db)->Exec("COMMIT"), "fill commit");
      if (Secs(Clock::now() - last_report) > 30) {
        last_report = Clock::now();
        double secs = Secs(last_report - t0);
        std::fprintf(stderr, "  %lld cases in %.0f s (%.0f/s), RSS %.0f MB\n", static_cast<long long>(k),
                     secs, static_cast<double>(k) / secs, RssMb());
      }
    }
    r.fill_secs = Secs(Clock::now() - t0);
    r.fill_rate = static_cast<double>(fed) / r.fill_secs;
    if (copies > 1) {
      // What copies - 1 more passes over the same states under new ids would leave: every
      // day row's counts and due-date row's n times `copies`, every stat_case and stat_open row again
      // under new ids.
      auto t1 = Clock::now();
      std::string m = std::to_string(copies);
      std::string days;
      for (const auto& metric : server::StatMetrics()) {
        days += (days.empty() ? "" : ", ") + metric + " = " + metric + " * " + m;
      }
      Check((*db)->Exec(
                "BEGIN; UPDATE stat_day SET " + days + "; UPDATE stat_due SET n = n * " + m +
                ";"
                "CREATE TEMP TABLE copy_no(i INTEGER PRIMARY KEY);"
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " +
                m +
                " - 1) "
                "INSERT INTO copy_no SELECT i FROM c;"
                "INSERT INTO stat_case SELECT s.case_id || '-c' || c.i, s.region, s.item, s.agent, s.contrib "
                "  FROM copy_no c, stat_case s ORDER BY c.i, s.case_id;"
                "INSERT INTO stat_open SELECT o.case_id || '-c' || c.i, o.region, o.item, o.item_name, "
                "  o.department, o.due_date, o.agent FROM copy_no c, stat_open o ORDER BY c.i, o.case_id;"
                "COMMIT"),
            "copy");
      r.copy_secs = Secs(Clock::now() - t1);
      std::fprintf(stderr, "  copied %lld times in SQL in %.0f s\n", static_cast<long long>(copies),
                   r.copy_secs);
    }
    Check((*db)->Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  }
  r.db_bytes = FileBytes(path);

  auto db = common::Db::Open(path.string());  // the hub's defaults
  if (!db.ok()) Die(db.status().ToString());
  server::Stats stats(db->get(), &md.catalog, &md.calendar, &md.tree);
  Check(stats.Init(), "stats init");
  for (auto [table, out] : {std::pair{"stat_open", &r.open_rows}, std::pair{"stat_day", &r.day_rows}}) {
    auto* q = *(*db)->Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    *out = *q->Step() ? q->ColumnInt(0) : 0;
    q->Reset();
  }
  common::Date today = *common::Date::Parse("2025-12-31");
  auto city = *common::RegionCode::Parse("370600000000");
  std::vector<std::string> counties;
  for (const auto& c : md.tree.Descendants(city, common::RegionLevel::kCounty)) counties.push_back(c.str());
  auto time_queries = [&](const std::vector<std::string>& regions) {
    std::vector<double> ms;
    // 200 queries, or as many as fit in 60 s (at least 20): a query that scans grows with size.
    auto start = Clock::now();
    for (int i = 0; i < 200 && (i < 20 || Clock::now() - start < std::chrono::seconds(60)); ++i) {
      server::StatsQuery q{
          regions[static_cast<size_t>(i) % regions.size()], "", "", "", "2025-01-01", "2025-12-31"};
      auto t0 = Clock::now();
      auto res = stats.Query(q, today);
      ms.push_back(1000 * Secs(Clock::now() - t0));
      if (!res.ok()) Die(res.status().ToString());
    }
    return Of(std::move(ms));
  };
  // The overdue-now count alone: the same SQL as Stats::Query runs for it.
  auto time_overdue = [&](const std::vector<std::string>& regions) {
    std::vector<double> ms;
    // 200 queries, or as many as fit in 60 s (at least 20): a query that scans grows with size.
    auto start = Clock::now();
    for (int i = 0; i < 200 && (i < 20 || Clock::now() - start < std::chrono::seconds(60)); ++i) {
      std::string prefix(
          common::RegionCode::Parse(regions[static_cast<size_t>(i) % regions.size()])->Prefix());
      auto t0 = Clock::now();
      auto* q = *(*db)->Prepare(
          "SELECT COALESCE(SUM(n), 0) FROM stat_due WHERE prefix = ? AND dim = '*' AND due_date < ?");
      q->Bind(1, prefix).Bind(2, today.ToString());
      if (!q->Step().ok()) Die("overdue query");
      q->Reset();
      ms.push_back(1000 * Secs(Clock::now() - t0));
    }
    return Of(std::move(ms));
  };
  r.city = time_queries({"370600000000"});
  r.county = time_queries(counties);
  r.city_overdue = time_overdue({"370600000000"});
  r.county_overdue = time_overdue(counties);
  return r;
}

std::vector<int64_t> ParseSizes(const std::string& list) {
  std::vector<int64_t> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    long long n = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || n < 0) Die("--query-cases: '" + item + "' is not a number of cases");
    if (n > 0) out.push_back(n);
  }
  return out;
}

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  int64_t cases = flags.GetInt("cases", 20000).value();
  int64_t reps = std::max<int64_t>(1, flags.GetInt("reps", 3).value());
  int64_t pool_size = std::max<int64_t>(1, flags.GetInt("pool", 200000).value());
  bool remap = flags.GetInt("remap", 0).value() != 0;
  int64_t direct = std::max<int64_t>(1, flags.GetInt("direct", 200000).value());
  std::vector<int64_t> sizes = ParseSizes(flags.Get("query-cases", "1000000,10000000"));
  std::string shared = flags.Get("shared", std::string(DAIBAN_SOURCE_DIR) + "/../shared/data");
  std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
  auto loaded = testing::LoadStoryData(shared, config);
  if (!loaded.ok()) Die("cannot load master data (is ../shared/data there?): " + loaded.status().ToString());
  MasterData md = std::move(loaded).value();
  fs::path dir = flags.Get("dir", (fs::temp_directory_path() / "daiban_hub_bench").string());
  fs::remove_all(dir);
  fs::create_directories(dir);

  const bool keep = flags.GetInt("keep", 0).value() != 0;
  const std::string order = flags.Get("order", "shuffled");
  if (order != "shuffled" && order != "time") Die("--order: shuffled or time, not " + order);
  IngestResult in = RunIngest(md, cases, reps, dir, keep, order == "time");

  std::vector<SizeResult> at_size;
  if (!sizes.empty()) {
    auto t0 = Clock::now();
    std::vector<common::Json> pool =
        FoldPool(md, std::min(pool_size, *std::max_element(sizes.begin(), sizes.end())));
    std::fprintf(stderr, "folded a pool of %zu cases in %.1f s, RSS %.0f MB\n", pool.size(),
                 Secs(Clock::now() - t0), RssMb());
    for (int64_t n : sizes) {
      std::fprintf(stderr, "filling a statistics database with %lld cases...\n", static_cast<long long>(n));
      fs::path p = dir / ("stats" + std::to_string(n) + ".db");
      at_size.push_back(FillAndQuery(md, pool, n, direct, remap, p));
      const SizeResult& r = at_size.back();
      std::fprintf(stderr, "  %lld cases: %.0f s (%.0f/s), %.0f MB, city p95 %.2f ms, county p95 %.2f ms\n",
                   static_cast<long long>(n), r.fill_secs, r.fill_rate, static_cast<double>(r.db_bytes) / 1e6,
                   r.city.p95, r.county.p95);
      RemoveDb(p);
    }
  }

  std::printf("| measure | median | min | max |\n|---|---:|---:|---:|\n");
  auto row = [](const char* name, const Series& s, const char* fmt) {
    std::printf("| %s | ", name);
    std::printf(fmt, s.Median());
    std::printf(" | ");
    std::printf(fmt, s.Min());
    std::printf(" | ");
    std::printf(fmt, s.Max());
    std::printf(" |\n");
  };
  row("raw SQLite batched insert, events/s", in.raw, "%.0f");
  row("event store, no statistics, events/s", in.store, "%.0f");
  row("hub: event store + statistics, events/s", in.hub, "%.0f");
  row("hub / raw (same repetition)", in.ratio, "%.2f");
  std::printf(
      "\n%lld cases (%zu events, %s) over the Yantai tree, a year of activity; WAL, synchronous=FULL,\n"
      "1,000 events per transaction; %lld repetitions, raw/store/hub in alternating order.\n",
      static_cast<long long>(cases), in.events, order == "time" ? "in the order they happened" : "shuffled",
      static_cast<long long>(reps));
  std::printf("\n| year query on that hub store (%lld cases) | p50 ms | p95 ms |\n|---|---:|---:|\n",
              static_cast<long long>(cases));
  std::printf("| city level | %.2f | %.2f |\n", in.city.p50, in.city.p95);
  std::printf("| county level | %.2f | %.2f |\n", in.county.p50, in.county.p95);
  std::printf("| township level | %.2f | %.2f |\n", in.township.p50, in.township.p95);
  if (!at_size.empty()) {
    std::printf(
        "\n| cases | through OnCaseFolded: cases, cases/s | copied in SQL, s | stats DB, MB | day rows | "
        "open cases "
        "| city p50 / p95 ms | county p50 / p95 ms | overdue-now count alone, city p50 / p95 ms | same, "
        "county |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : at_size) {
      std::printf(
          "| %lld | %lld, %.0f | %.0f | %.0f | %lld | %lld | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f "
          "/ %.2f |\n",
          static_cast<long long>(r.cases), static_cast<long long>(r.fed), r.fill_rate, r.copy_secs,
          static_cast<double>(r.db_bytes) / 1e6, static_cast<long long>(r.day_rows),
          static_cast<long long>(r.open_rows), r.city.p50, r.city.p95, r.county.p50, r.county.p95,
          r.city_overdue.p50, r.city_overdue.p95, r.county_overdue.p50, r.county_overdue.p95);
    }
    std::printf(
        "\nStatistics databases filled without the event log: %lld generated case stories (a year, the "
        "Yantai tree)\n"
        "folded once each with sync::FoldCase; their final states handed to server::Stats::OnCaseFolded (the "
        "hub's\n"
        "fold listener, one call per case; the hub calls it again on every refold) under new case ids%s, up "
        "to\n"
        "%lld cases; the rest are copies made in SQL of what was fed (day rows' n multiplied, stat_case and\n"
        "stat_open rows repeated under new ids) -- the same tables further passes over the same states "
        "would\n"
        "leave. Fill: transactions of 20,000 cases, synchronous=OFF, 512 MB page cache (setup, not the "
        "hub's\n"
        "ingest). Queries: a fresh connection with the hub's defaults, warm OS cache, 200 each (or 60 s, at "
        "least 20) over\n"
        "2025-01-01..2025-12-31 on 2025-12-31; a query includes the overdue-now count, also timed alone.\n",
        static_cast<long long>(std::min(pool_size, *std::max_element(sizes.begin(), sizes.end()))),
        remap ? " and random villages" : " in the same regions", static_cast<long long>(direct));
  }
  if (!keep) fs::remove_all(dir);
  return 0;
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
