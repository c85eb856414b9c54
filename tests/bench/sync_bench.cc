// Benchmark of the sync layer in one process (no network), against raw SQLite in the
// same run. Not a test: ./ops/bench.sh builds it in Release and writes the results to
// docs/BENCHMARKS.md.
//
//   sync_bench [--cases N] [--reps R] [--noop-big N] [--dir DIR]
//
// Measures, alternating A/B in each repetition:
//   raw    batched inserts of the same rows into a plain SQLite table, WAL, once with
//          synchronous=FULL and once with synchronous=NORMAL (the limit of this machine)
//   fsync  the rate of a 4 KiB pwrite + fdatasync loop on one file in DIR (2 s or 2,000
//          calls, whichever comes first): what one durable commit costs at least
//   apply  a parent applying a child's pushed batches (decode, validate, store, fold,
//          durable commit), time spent in the parent's handler
//   pull   a fresh node pulling the same events from that parent (whole round trips)
//   no-op  a sync round with nothing to do, with 10 and with N events stored at the parent
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "common/flags.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "sync/codec.h"
#include "sync/replica.h"
#include "sync/replicator.h"
#include "sync/sync_service.h"
#include "tests/bench/series.h"
#include "tests/support/case_gen.h"

namespace daiban::bench {
namespace {

using common::Tier;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

using Stats = Series;

[[noreturn]] void Die(const common::Status& s) {
  std::fprintf(stderr, "bench: %s\n", s.ToString().c_str());
  std::exit(1);
}
template <typename T>
T Must(common::Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(r).value();
}

std::unique_ptr<sync::Replica> OpenReplica(const std::string& path, const std::string& id,
                                           const std::string& region, Tier tier, bool full_sync,
                                           const common::Clock* clock) {
  sync::StoreOptions o;
  o.path = path;
  o.node_id = id;
  o.region = region;
  o.tier = tier;
  o.synchronous_full = full_sync;
  return std::make_unique<sync::Replica>(Must(sync::EventStore::Open(o)), clock);
}

// A link that hands frames to the parent's handler and times the handler alone.
class TimedLink : public sync::Transport {
 public:
  TimedLink(sync::SyncService* parent, sync::PeerIdentity child)
      : parent_(parent), child_(std::move(child)) {}
  common::Result<std::string> RoundTrip(std::string_view request) override {
    auto t0 = Clock::now();
    sync::HandleResult r = parent_->Handle(child_, request);
    handler_ += Clock::now() - t0;
    bytes_ += request.size() + r.frame.size();
    return r.frame;
  }
  Clock::duration handler_{};
  int64_t bytes_ = 0;

 private:
  sync::SyncService* parent_;
  sync::PeerIdentity child_;
};

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  const int64_t cases = Must(flags.GetInt("cases", 10000));
  const int64_t reps = Must(flags.GetInt("reps", 3));
  const int64_t noop_big = Must(flags.GetInt("noop-big", 1000000));
  namespace fs = std::filesystem;
  fs::path dir = flags.Get("dir", (fs::temp_directory_path() / "daiban_bench").string());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
  auto catalog = Must(common::Catalog::LoadCsv(config + "/catalog/items.csv"));
  auto tree = Must(common::RegionTree::LoadDir(config + "/regions", "2109"));
  auto township = *common::RegionCode::Parse("210921100");  // 阜新镇
  auto villages = tree.Descendants(township, common::RegionLevel::kVillage);
  common::SystemClock* clock = common::SystemClock::Get();
  testing::CaseGenerator gen(&catalog, 7);

  // The child: a township holding `cases` cases (create + submit) of its villages.
  std::fprintf(stderr, "generating %lld cases...\n", static_cast<long long>(cases));
  auto child =
      OpenReplica((dir / "child.db").string(), "t210921100", township.str(), Tier::kTownship, false, clock);
  {
    auto* store = child->store();
    if (auto st = store->BeginBatch(); !st.ok()) Die(st);
    for (int64_t i = 0; i < cases; ++i) {
      const std::string& v = villages[static_cast<size_t>(i) % villages.size()].str();
      sync::Event e;
      e.case_id = v + "-20250124-" + store->incarnation() + "-" + std::to_string(i + 1);
      e.region = v;
      e.origin = store->node_id();
      e.origin_region = store->region();
      e.actor = {"clerk1", common::Role::kClerk, Tier::kTownship};
      e.kind = "case.create";
      e.body = gen.CreateBody(v);
      e.hlc = child->hlc()->Now();
      e.id = sync::MakeEventId(e.origin, store->incarnation(), store->NextCounter());
      if (!store->Insert(e, "").ok()) Die(common::Internal("insert"));
      sync::Event s = e;
      s.kind = "case.step";
      s.body = {{"action", "submit"}, {"date", "2025-01-24"}};
      s.parents = {e.id};
      s.hlc = child->hlc()->Now();
      s.id = sync::MakeEventId(s.origin, store->incarnation(), store->NextCounter());
      if (!store->Insert(s, "").ok()) Die(common::Internal("insert"));
    }
    if (auto st = store->CommitBatch(); !st.ok()) Die(st);
  }
  const int64_t events = *child->store()->EventCount();
  std::vector<sync::StoredEvent> rows;
  {
    sync::LogPosition scanned;
    bool more = false;
    if (auto st = child->store()->ReadLog(0, "", true, "", 0, static_cast<size_t>(events), SIZE_MAX,
                                          static_cast<size_t>(events), &rows, &scanned, &more);
        !st.ok())
      Die(st);
  }
  // Closing the store checkpoints its WAL into child.db, which each repetition copies alone.
  // (Left open, a small store's events stayed in child.db-wal and the copies held none.)
  child.reset();
  size_t bytes_total = 0;
  for (const auto& r : rows) bytes_total += r.bytes.size();
  std::fprintf(stderr, "%lld events, %.0f bytes each on average\n", static_cast<long long>(events),
               static_cast<double>(bytes_total) / static_cast<double>(events));

  Stats raw_rate, raw_normal_rate, fsync_rate, apply_rate, ratio, pull_rate, push_wall_rate, wire_per_case;
  for (int64_t rep = 0; rep < reps; ++rep) {
    // The same rows into a plain table, WAL, synchronous=FULL (`full`) or NORMAL.
    auto run_raw = [&](bool full) {
      fs::path p = dir / ((full ? "raw" : "rawnormal") + std::to_string(rep) + ".db");
      common::DbOptions dbo;
      dbo.synchronous_full = full;  // false: PRAGMA synchronous=NORMAL (common/sqlite.cc)
      auto db = Must(common::Db::Open(p.string(), dbo));
      if (auto st = db->Exec(
              "CREATE TABLE raw(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, case_id TEXT NOT NULL, "
              "region TEXT NOT NULL, data TEXT NOT NULL); CREATE INDEX raw_case ON raw(case_id)");
          !st.ok())
        Die(st);
      auto t0 = Clock::now();
      for (size_t i = 0; i < rows.size(); i += sync::kDefaultBatchEvents) {
        if (auto st = db->Exec("BEGIN"); !st.ok()) Die(st);
        for (size_t j = i; j < std::min(rows.size(), i + sync::kDefaultBatchEvents); ++j) {
          auto* ins = Must(db->Prepare("INSERT INTO raw(id, case_id, region, data) VALUES(?, ?, ?, ?)"));
          ins->Bind(1, rows[j].id).Bind(2, rows[j].id).Bind(3, rows[j].region).Bind(4, rows[j].bytes);
          if (auto st = ins->Run(); !st.ok()) Die(st);
        }
        if (auto st = db->Exec("COMMIT"); !st.ok()) Die(st);
      }
      (full ? raw_rate : raw_normal_rate)
          .v.push_back(static_cast<double>(events) / Seconds(Clock::now() - t0));
      db.reset();
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
    };
    // fdatasync rate: 4 KiB rewritten at offset 0 and synced, 2 s or 2,000 calls.
    auto run_fsync = [&] {
      std::string p = (dir / "fsync.bin").string();
      int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
      if (fd < 0) Die(common::Internal("open " + p));
      std::string block(4096, 'x');
      int64_t calls = 0;
      auto t0 = Clock::now();
      while (calls < 2000 && Clock::now() - t0 < std::chrono::seconds(2)) {
        block[static_cast<size_t>(calls) % block.size()] = static_cast<char>('a' + calls % 26);
        if (::pwrite(fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()))
          Die(common::Internal("pwrite"));
        if (::fdatasync(fd) != 0) Die(common::Internal("fdatasync"));
        ++calls;
      }
      fsync_rate.v.push_back(static_cast<double>(calls) / Seconds(Clock::now() - t0));
      ::close(fd);
      fs::remove(p);
    };
    std::unique_ptr<sync::Replica> parent;
    auto run_apply = [&] {
      parent = OpenReplica((dir / ("parent" + std::to_string(rep) + ".db")).string(), "c210921",
                           "210921000000", Tier::kCounty, true, clock);
      sync::SyncService service(parent.get());
      TimedLink link(&service, {"t210921100", township.str(), Tier::kTownship});
      // A fresh child view of this parent: a copy of the child store per repetition.
      fs::path copy = dir / ("child" + std::to_string(rep) + ".db");
      fs::copy_file(dir / "child.db", copy);
      auto c = OpenReplica(copy.string(), "t210921100", township.str(), Tier::kTownship, true, clock);
      sync::Replicator r(c.get());
      auto t0 = Clock::now();
      auto report = Must(r.SyncOnce("c210921", &link));
      auto wall = Clock::now() - t0;
      if (report.pushed != events) Die(common::Internal("pushed " + std::to_string(report.pushed)));
      apply_rate.v.push_back(static_cast<double>(events) / Seconds(link.handler_));
      push_wall_rate.v.push_back(static_cast<double>(events) / Seconds(wall));
      wire_per_case.v.push_back(static_cast<double>(link.bytes_) / static_cast<double>(cases));
    };
    // A/B alternating: FULL, NORMAL, apply in even repetitions, the reverse in odd ones.
    if (rep % 2 == 0) {
      run_raw(true);
      run_raw(false);
      run_apply();
    } else {
      run_apply();
      run_raw(false);
      run_raw(true);
    }
    run_fsync();
    ratio.v.push_back(apply_rate.v.back() / raw_rate.v.back());
    // Pull: a new node for the same township (a replaced machine) pulls everything.
    {
      sync::SyncService service(parent.get());
      auto fresh = OpenReplica((dir / ("fresh" + std::to_string(rep) + ".db")).string(), "t210921100b",
                               township.str(), Tier::kTownship, true, clock);
      TimedLink link(&service, {"t210921100b", township.str(), Tier::kTownship});
      sync::Replicator r(fresh.get());
      auto t0 = Clock::now();
      auto report = Must(r.SyncOnce("c210921", &link));
      pull_rate.v.push_back(static_cast<double>(report.pulled) / Seconds(Clock::now() - t0));
    }
    std::fprintf(stderr,
                 "rep %lld: raw FULL %.0f/s, raw NORMAL %.0f/s, apply %.0f/s (%.0f%% of FULL), pull %.0f/s, "
                 "fdatasync %.0f/s\n",
                 static_cast<long long>(rep), raw_rate.v.back(), raw_normal_rate.v.back(),
                 apply_rate.v.back(), 100 * ratio.v.back(), pull_rate.v.back(), fsync_rate.v.back());
  }

  // No-op rounds with few and with many events stored at the parent.
  struct Noop {
    int64_t stored;
    Stats micros;
    int64_t bytes;
  };
  std::vector<Noop> noops;
  for (int64_t stored : {int64_t{10}, noop_big}) {
    fs::path p = dir / ("noop" + std::to_string(stored) + ".db");
    auto parent = OpenReplica(p.string(), "c210921", "210921000000", Tier::kCounty, false, clock);
    auto* store = parent->store();
    std::fprintf(stderr, "filling a parent with %lld events...\n", static_cast<long long>(stored));
    auto other = tree.Descendants(*common::RegionCode::Parse("210921102"), common::RegionLevel::kVillage);
    for (int64_t i = 0; i < stored;) {
      if (auto st = store->BeginBatch(); !st.ok()) Die(st);
      for (int64_t k = 0; k < 20000 && i < stored; ++k, ++i) {
        // All but the child's own ten live in another township: the no-op must not scan them.
        const std::string& v =
            i < 10 ? villages[0].str() : other[static_cast<size_t>(i) % other.size()].str();
        sync::Event e;
        e.case_id = v + "-20250124-" + store->incarnation() + "-" + std::to_string(i + 1);
        e.region = v;
        e.origin = store->node_id();
        e.origin_region = store->region();
        e.actor = {"clerk1", common::Role::kClerk, Tier::kCounty};
        e.kind = "case.comment";
        e.body = {{"text", "备注"}};
        e.hlc = parent->hlc()->Now();
        e.id = sync::MakeEventId(e.origin, store->incarnation(), store->NextCounter());
        if (!store->Insert(e, "").ok()) Die(common::Internal("insert"));
      }
      if (auto st = store->CommitBatch(); !st.ok()) Die(st);
    }
    sync::SyncService service(parent.get());
    auto c = OpenReplica((dir / ("noopchild" + std::to_string(stored) + ".db")).string(), "t210921100",
                         township.str(), Tier::kTownship, true, clock);
    TimedLink link(&service, {"t210921100", township.str(), Tier::kTownship});
    sync::Replicator r(c.get());
    Must(r.SyncOnce("c210921", &link));  // catch up once
    Must(r.SyncOnce("c210921", &link));  // acks settle
    Noop n{stored, {}, 0};
    for (int i = 0; i < 200; ++i) {
      int64_t before = link.bytes_;
      auto t0 = Clock::now();
      auto report = Must(r.SyncOnce("c210921", &link));
      n.micros.v.push_back(1e6 * Seconds(Clock::now() - t0));
      n.bytes = link.bytes_ - before;
      if (report.rounds != 1 || report.pushed || report.pulled) Die(common::Internal("not a no-op"));
    }
    noops.push_back(std::move(n));
  }

  std::printf("| measure | median | min | max |\n|---|---:|---:|---:|\n");
  auto row = [](const char* name, const Stats& s, const char* fmt) {
    std::printf("| %s | ", name);
    std::printf(fmt, s.Median());
    std::printf(" | ");
    std::printf(fmt, s.Min());
    std::printf(" | ");
    std::printf(fmt, s.Max());
    std::printf(" |\n");
  };
  row("raw SQLite batched insert, events/s (WAL, synchronous=FULL, 1,000 per transaction)", raw_rate, "%.0f");
  row("raw SQLite batched insert, events/s (WAL, synchronous=NORMAL, 1,000 per transaction)", raw_normal_rate,
      "%.0f");
  row("fdatasync rate, calls/s (4 KiB pwrite + fdatasync on one file, 2 s or 2,000 calls)", fsync_rate,
      "%.0f");
  row("parent applies pushed batches, events/s (handler time: decode, validate, store, fold, fsync)",
      apply_rate, "%.0f");
  row("apply / raw (same repetition)", ratio, "%.2f");
  row("push, whole rounds, events/s (child reads + encodes, parent applies)", push_wall_rate, "%.0f");
  row("bytes exchanged per case pushed (request + reply, compressed)", wire_per_case, "%.0f");
  row("fresh node pulls everything, events/s", pull_rate, "%.0f");
  for (const auto& n : noops) {
    char name[160];
    std::snprintf(name, sizeof name,
                  "no-op round, %lld events stored at the parent: microseconds (%lld bytes)",
                  static_cast<long long>(n.stored), static_cast<long long>(n.bytes));
    row(name, n.micros, "%.0f");
  }
  std::printf("\n%lld cases (%lld events, %.0f bytes each on average), %lld repetitions.\n",
              static_cast<long long>(cases), static_cast<long long>(events),
              static_cast<double>(bytes_total) / static_cast<double>(events), static_cast<long long>(reps));
  fs::remove_all(dir);
  return 0;
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
