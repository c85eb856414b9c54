// City-scale benchmark: the whole Yantai 烟台市 tree in one process (not a test).
//
//   city_bench [--cases N] [--days D] [--seed S] [--dir DIR] [--threads T]
//              [--offline P] [--keep 1]
//
// Nodes: the hub (370600000000), the 13 counties/districts, 159 townships and 6,509
// villages, each a real sync::Replica over its own SQLite file in DIR (WAL,
// synchronous=FULL, the product's settings), each child syncing with its parent through a
// real sync::Replicator -> sync::SyncService over an in-memory Transport (as the simulator's
// links, without faults). Townships and counties report what they heard from below
// (Replicator::set_seen with SyncService::SeenJson, as daiban-node does). The hub's store
// has the statistics fold listener (server::Stats), as daiban-hub wires it.
//
// File descriptors: a WAL database holds three (database, -wal, -shm), so 6,682 open stores
// need about 20,050, just over this machine's hard RLIMIT_NOFILE of 20,000 (which even root
// cannot raise here). The soft limit is raised to the hard one; the hub, counties and
// townships stay open, as many villages as fit stay open for the whole run, and the rest
// ("transient" villages, the last ones in tree order) are opened for their day's work and
// sync and closed after it — a restart of that village's node every day: a new store
// incarnation each time, as when a village machine is switched off at night.
//
// Cases: N stories from testing::Generator (tests/support/case_story.h) over the Yantai tree.
// Each story step is *re-made through the Replica API* at the node of the tier that takes it
// (agents' filings and evaluations at the village, walk-in filings and township steps at the
// township, county and city decisions at the county and the hub): Replica::CreateCase for the
// filing and Replica::Step for every step — the product's path, with CheckStep against the
// case's state at that node, fresh ids and clocks, parents from the case's heads and one
// durable commit (synchronous=FULL) per event, as a person's action commits in daiban-node.
// The generator's own ids and clocks are not used. Each node's wall clock reads 09:00 CST of
// the story's date while a step is taken there, so the event bodies carry the generator's
// dates and due dates (Step computes due_date itself from the calendar) and the hub's
// statistics can be checked against the generator's Truth records.
//
// Time: the stories' dates (a year and a little more) are mapped linearly onto D simulated
// days. On each day a step that is due is taken only once its node holds the case's previous
// event (a clerk cannot accept what has not arrived), so offline villages delay stories. A
// day: every village works, then (if online) syncs with its township; every township works,
// then syncs with its county; every county works, then syncs with the hub; then the hub works.
// A village not offline starts an offline period of 1-5 days with probability P per day
// (--offline, default 0.05; seeded); offline villages keep working and do not sync.
// After day D everyone is online: days go on until every story step has been taken (drain
// days), then up and down sweeps over every link until nothing moves (at most 12).
//
// Threads: the subtrees of the counties are independent except at the hub, so T worker
// threads (default 2) take counties one at a time; the hub's SyncService and store are used
// under one mutex (a county's sync with the hub), and the hub's own steps run after the
// workers finish the day.
//
// Checks (exit 1 on any mismatch): every event made is at the hub exactly once (sorted id
// sets compared); every node's subtree digest (EventStore::SubtreeDigest) equals the hub's
// for its prefix and every case it holds has the hub's digest; nothing waits to go up,
// nothing is quarantined or refused; the hub's statistics (server::Stats::Query over the
// whole period) equal counts made from the generator's truths for the city and each county:
// received, proxy, on_the_spot, accepted, rejected, supplement_requested, withdrawn,
// completed, completed_on_time, days_to_complete, evaluated, eval_1..5, satisfied.
//
// Output: a markdown table on stdout; progress on stderr.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/flags.h"
#include "server/stats.h"
#include "sync/event_store.h"
#include "sync/replica.h"
#include "sync/replicator.h"
#include "sync/sync_service.h"
#include "tests/support/case_story.h"

namespace daiban::bench {
namespace {

using common::CaseAction;
using common::Json;
using common::Role;
using common::Tier;
using SteadyClock = std::chrono::steady_clock;

double Secs(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
int64_t Nanos(SteadyClock::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "city_bench: %s\n", why.c_str());
  std::exit(1);
}
template <typename T>
T Must(common::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.status().ToString());
  return std::move(r).value();
}
void Must(const common::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

double PeakRssMb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// A node's wall clock. While a person takes a step at the node it reads 09:00 CST of the
// story's date; otherwise it keeps the last value (sync bookkeeping reads it too).
class StoryClock final : public common::Clock {
 public:
  int64_t NowMillis() const override { return ms_.load(); }
  void SetDay(int64_t days_since_epoch) { ms_.store((days_since_epoch * 86400 + 3600) * 1000); }

 private:
  std::atomic<int64_t> ms_{1735693200000};  // 2025-01-01 09:00 CST
};

// One story step to take: where, on which simulated day, what.
struct Step {
  int32_t node = 0;   // index into nodes
  int32_t kase = 0;   // index into cases
  int32_t day = 0;    // simulated day on which it is due
  int32_t date = 0;   // the story's date (days since the epoch)
  int8_t action = -1;  // a CaseAction, or -1 for the filing
  Role role = Role::kAgent;
  std::string user;
  Json extra;  // step fields beyond action, date and due_date (reason, missing, approved, evaluation)
};

struct Case {
  int32_t first = 0;  // its steps are steps[first, first + count)
  int32_t count = 0;
  int32_t made = 0;   // steps taken so far
  int32_t last_node = -1;
  std::string region;
  std::string id;          // the case id minted at filing
  std::string last_event;  // id of the latest event made on it
  Json body;               // the filing's fields, until filed
};

// Time spent, summed over threads (nanoseconds).
struct Timers {
  std::atomic<int64_t> make[4]{};     // taking steps, by tier of the node
  std::atomic<int64_t> handler[4]{};  // SyncService::Handle, by tier of the parent
  std::atomic<int64_t> sync[4]{};     // whole SyncOnce calls, by tier of the child
  std::atomic<int64_t> hub_wait{};    // waiting for the hub's mutex
};

struct Node {
  int index = 0;
  std::string id, region;
  Tier tier = Tier::kVillage;
  int parent = -1;
  std::vector<int> children;
  StoryClock clock;
  std::unique_ptr<sync::Replica> replica;
  std::unique_ptr<sync::SyncService> service;
  // Steps due later here (min-heap on day) and steps due that wait for their case's
  // previous event to arrive.
  std::vector<std::pair<int32_t, int32_t>> future;
  std::vector<int32_t> ready;
  int offline_until = 0;  // villages: offline while day < offline_until
  bool transient = false;  // villages: opened only while used (see the header comment)
  sync::StoreOptions options;
  std::vector<std::string> made;  // ids of the events made here (the ledger)
  sync::PeerIdentity identity() const { return {id, region, tier}; }
};

// The in-memory link: hands each frame to the parent's handler.
class Link final : public sync::Transport {
 public:
  Link(Node* parent, sync::PeerIdentity child, Timers* timers) : parent_(parent), child_(std::move(child)), timers_(timers) {}
  common::Result<std::string> RoundTrip(std::string_view request) override {
    auto t0 = SteadyClock::now();
    sync::HandleResult r = parent_->service->Handle(child_, request);
    timers_->handler[static_cast<int>(parent_->tier)] += Nanos(SteadyClock::now() - t0);
    bytes_ += static_cast<int64_t>(request.size() + r.frame.size());
    return r.frame;
  }
  int64_t bytes() const { return bytes_; }

 private:
  Node* parent_;
  sync::PeerIdentity child_;
  Timers* timers_;
  int64_t bytes_ = 0;
};

struct SyncTotals {
  std::atomic<int64_t> calls{}, rounds{}, pushed{}, pulled{}, bytes{};
};

const std::vector<std::string> kCheckedMetrics = {
    "received",  "proxy",    "on_the_spot",       "accepted",         "rejected", "supplement_requested",
    "withdrawn", "completed", "completed_on_time", "days_to_complete", "evaluated", "eval_1",
    "eval_2",    "eval_3",   "eval_4",            "eval_5",           "satisfied"};

class CityBench {
 public:
  CityBench(int64_t cases, int days, uint64_t seed, std::string dir, int threads, double offline)
      : cases_n_(cases), days_(days), seed_(seed), dir_(std::move(dir)), threads_(threads), offline_p_(offline),
        rng_(seed ^ 0x5eed0ff1eULL) {}

  int Run(bool keep) {
    fd_limit_ = RaiseFileLimit();
    LoadMasterData();
    auto t0 = SteadyClock::now();
    Generate();
    gen_secs_ = Secs(SteadyClock::now() - t0);
    rss_after_gen_ = PeakRssMb();
    std::fprintf(stderr, "generated %lld cases, %zu steps in %.1f s (peak RSS %.0f MB)\n",
                 static_cast<long long>(cases_n_), steps_.size(), gen_secs_, rss_after_gen_);
    t0 = SteadyClock::now();
    Build();
    build_secs_ = Secs(SteadyClock::now() - t0);
    std::fprintf(stderr, "opened %zu nodes in %.1f s\n", nodes_.size(), build_secs_);

    auto run0 = SteadyClock::now();
    for (int d = 0; d < days_; ++d) {
      Day(d, /*all_online=*/false);
      if (d % 10 == 9 || d == days_ - 1) Progress(d, run0);
    }
    auto last_day = SteadyClock::now();
    int d = days_;
    while (made_.load() < static_cast<int64_t>(steps_.size())) {
      if (d >= days_ + 60) Die("stories still unfinished 60 days after the last day: a queue is stuck");
      Day(d++, /*all_online=*/true);
    }
    drain_days_ = d - days_;
    auto drained = SteadyClock::now();
    std::fprintf(stderr, "all %zu steps taken after %d drain days (%.1f s); sweeping to quiescence\n", steps_.size(),
                 drain_days_, Secs(drained - last_day));
    Quiesce(d);
    auto end = SteadyClock::now();
    days_secs_ = Secs(last_day - run0);
    drain_secs_ = Secs(drained - last_day);
    quiesce_secs_ = Secs(end - drained);
    total_secs_ = Secs(end - run0);

    t0 = SteadyClock::now();
    Check();
    check_secs_ = Secs(SteadyClock::now() - t0);
    peak_rss_ = PeakRssMb();
    disk_mb_ = DiskMb();
    Report();
    nodes_.clear();
    if (!keep) std::filesystem::remove_all(dir_);
    return failures_.empty() ? 0 : 1;
  }

 private:
  // ---- set-up ----
  // Raises the soft descriptor limit as far as allowed; returns it.
  static int64_t RaiseFileLimit() {
    struct rlimit rl {};
    getrlimit(RLIMIT_NOFILE, &rl);
    const rlim_t want = 65536;
    if (rl.rlim_cur < want) {
      struct rlimit up = rl;
      up.rlim_cur = up.rlim_max = std::max<rlim_t>(want, rl.rlim_max);
      if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
        up = rl;
        up.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &up);
      }
      getrlimit(RLIMIT_NOFILE, &rl);
    }
    return static_cast<int64_t>(rl.rlim_cur);
  }

  void Open(Node& n) {
    auto store = Must(sync::EventStore::Open(n.options), "open " + n.options.path);
    if (n.tier == Tier::kCity) {
      stats_ = std::make_unique<server::Stats>(store->db(), &catalog_, &calendar_, &tree_);
      Must(stats_->Init(), "stats init");
      store->set_fold_listener(stats_.get());
    }
    n.replica = std::make_unique<sync::Replica>(std::move(store), &n.clock);
    if (!n.children.empty()) n.service = std::make_unique<sync::SyncService>(n.replica.get());
  }
  void OpenIfTransient(Node& n) {
    if (n.transient) {
      auto t0 = SteadyClock::now();
      Open(n);
      reopen_ns_ += Nanos(SteadyClock::now() - t0);
      ++reopens_;
    }
  }
  void CloseIfTransient(Node& n) {
    if (n.transient) {
      auto t0 = SteadyClock::now();
      n.replica.reset();
      reopen_ns_ += Nanos(SteadyClock::now() - t0);
    }
  }

  void LoadMasterData() {
    const std::string shared = std::string(DAIBAN_SOURCE_DIR) + "/../shared/data";
    const std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
    tree_ = Must(common::RegionTree::LoadDir(shared + "/regions", "3706"), "region tree (is ../shared/data there?)");
    catalog_ = Must(common::Catalog::LoadCsv(config + "/catalog/items.csv"), "catalog");
    calendar_ = Must(common::WorkCalendar::LoadCsv(config + "/calendar/cn-holidays-2025-2026.csv"), "calendar");
  }

  // The generator's node names (tests/support/case_story.h): v<12>, t<9>, c<6>, hub.
  static std::string NodeIdOf(const common::RegionCode& code, Tier tier) {
    if (tier == Tier::kCity) return "hub";
    std::string id(1, tier == Tier::kVillage ? 'v' : tier == Tier::kTownship ? 't' : 'c');
    id.append(code.Prefix());
    return id;
  }

  int AddNode(const common::RegionCode& code, Tier tier, int parent) {
    auto n = std::make_unique<Node>();
    n->index = static_cast<int>(nodes_.size());
    n->id = NodeIdOf(code, tier);
    n->region = code.str();
    n->tier = tier;
    n->parent = parent;
    if (parent >= 0) nodes_[static_cast<size_t>(parent)]->children.push_back(n->index);
    by_id_[n->id] = n->index;
    nodes_.push_back(std::move(n));
    return nodes_.back()->index;
  }

  void Topology() {
    auto city = *common::RegionCode::Parse("370600000000");
    AddNode(city, Tier::kCity, -1);
    for (const auto& c : tree_.Descendants(city, common::RegionLevel::kCounty)) {
      int ci = AddNode(c, Tier::kCounty, 0);
      counties_.push_back(ci);
      for (const auto& t : tree_.Descendants(c, common::RegionLevel::kTownship)) {
        int ti = AddNode(t, Tier::kTownship, ci);
        for (const auto& v : tree_.Descendants(t, common::RegionLevel::kVillage)) AddNode(v, Tier::kVillage, ti);
      }
    }
  }

  // The stories, turned into steps to take at nodes.
  void Generate() {
    Topology();
    testing::Generator gen(tree_, catalog_, calendar_, seed_);
    int64_t min_day = INT64_MAX, max_day = 0;
    std::vector<int64_t> dates;
    for (int64_t i = 0; i < cases_n_; ++i) {
      gen.MakeCase(static_cast<int>(i + 1));
      std::vector<sync::Event>& evs = gen.events();
      Case c;
      c.first = static_cast<int32_t>(steps_.size());
      c.count = static_cast<int32_t>(evs.size());
      c.region = evs.front().region;
      for (auto& e : evs) {
        Step s;
        auto it = by_id_.find(e.origin);
        if (it == by_id_.end()) Die("the generator made an event at unknown node " + e.origin);
        s.node = it->second;
        s.kase = static_cast<int32_t>(cases_.size());
        s.user = e.actor.user;
        s.role = nodes_[static_cast<size_t>(s.node)]->tier == Tier::kVillage ? Role::kAgent : Role::kClerk;
        int64_t day = static_cast<int64_t>(e.hlc >> 16) / 86400000;  // the generator's clock: the day at 09:00 CST
        if (e.kind == sync::kKindCreate) {
          c.body = std::move(e.body);
        } else {
          s.action = static_cast<int8_t>(
              Must(common::ParseCaseAction(e.body.value("action", "")), "generator step " + e.body.dump()));
          auto date = Must(common::Date::Parse(e.body.value("date", "")), "generator step date");
          day = date.days();
          s.extra = std::move(e.body);
          s.extra.erase("action");
          s.extra.erase("date");
          s.extra.erase("due_date");  // Step computes it from the calendar
          if (s.extra.empty()) s.extra = Json::object();
        }
        s.date = static_cast<int32_t>(day);
        min_day = std::min(min_day, day);
        max_day = std::max(max_day, day);
        steps_.push_back(std::move(s));
      }
      evs.clear();
      cases_.push_back(std::move(c));
    }
    first_date_ = common::Date::FromDays(min_day);
    last_date_ = common::Date::FromDays(max_day);
    // Story dates onto simulated days, linearly; steps within a case keep their order.
    const int64_t span = max_day - min_day + 1;
    for (auto& s : steps_) s.day = static_cast<int32_t>((s.date - min_day) * days_ / span);
    for (size_t k = 0; k < cases_.size(); ++k) Schedule(cases_[k].first);
    Expect(gen.truths());
  }

  // Ground truth for the statistics, counted from the generator's records alone.
  void Expect(const std::vector<testing::Truth>& truths) {
    for (const auto& t : truths) {
      std::map<std::string, int64_t> m;
      m["received"] = 1;
      m["proxy"] = t.proxy;
      m["on_the_spot"] = t.on_the_spot;
      m["accepted"] = !t.accepted.empty();
      m["rejected"] = !t.rejected.empty();
      m["supplement_requested"] = !t.supplement.empty();
      m["withdrawn"] = !t.withdrawn.empty();
      if (!t.completed.empty()) {
        m["completed"] = 1;
        m["completed_on_time"] = t.on_the_spot || t.completed <= t.due;
        m["days_to_complete"] = t.days;
      }
      if (t.evaluation > 0) {
        m["evaluated"] = 1;
        m["eval_" + std::to_string(t.evaluation)] = 1;
        m["satisfied"] = t.evaluation >= 3;
      }
      const std::string county = t.region.substr(0, 6) + "000000";
      for (const auto& [k, v] : m) {
        expected_["370600000000"][k] += v;
        expected_[county][k] += v;
      }
    }
  }

  void Build() {
    namespace fs = std::filesystem;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Descriptors: 3 per open store, a reserve for the process, and one transient village
    // per thread at a time.
    int64_t villages = 0, others = 0;
    for (auto& n : nodes_) (n->tier == Tier::kVillage ? villages : others) += 1;
    const int64_t pinned = std::min(villages, (fd_limit_ - 3 * others - 200) / 3 - threads_);
    if (pinned < 0) Die("RLIMIT_NOFILE " + std::to_string(fd_limit_) + " is too low for the towns and counties");
    int64_t seen = 0;
    for (auto& n : nodes_) {
      if (n->tier == Tier::kVillage && seen++ >= pinned) {
        n->transient = true;
        ++transient_;
      }
      sync::StoreOptions& o = n->options;
      o.path = dir_ + "/" + n->id + ".db";
      o.node_id = n->id;
      o.region = n->region;
      o.tier = n->tier;
      o.synchronous_full = true;
      Open(*n);  // creates the file
      if (n->transient) n->replica.reset();
    }
    // Largest subtrees first, so the last county a thread takes is a small one.
    std::sort(counties_.begin(), counties_.end(), [&](int a, int b) { return SubtreeSize(a) > SubtreeSize(b); });
  }

  size_t SubtreeSize(int n) const {
    size_t s = 1;
    for (int c : nodes_[static_cast<size_t>(n)]->children) s += SubtreeSize(c);
    return s;
  }

  // ---- the story steps ----
  // Puts step `i` on its node's list. Only the hub's list is shared between threads.
  void Schedule(int32_t i) {
    Node& n = *nodes_[static_cast<size_t>(steps_[static_cast<size_t>(i)].node)];
    std::unique_lock<std::mutex> lock(hub_list_mu_, std::defer_lock);
    if (n.tier == Tier::kCity) lock.lock();
    n.future.emplace_back(steps_[static_cast<size_t>(i)].day, i);
    std::push_heap(n.future.begin(), n.future.end(), std::greater<>());
  }

  // Takes step `i` at `n` if `n` holds the case's previous event. False if it must wait.
  bool Take(Node& n, int32_t i) {
    Step& s = steps_[static_cast<size_t>(i)];
    Case& c = cases_[static_cast<size_t>(s.kase)];
    sync::Replica* rep = n.replica.get();
    if (c.made > 0 && c.last_node != n.index) {
      if (!Must(rep->store()->Contains(c.last_event), "contains")) return false;
    }
    auto t0 = SteadyClock::now();
    n.clock.SetDay(s.date);
    common::Result<sync::Event> e =
        s.action < 0 ? rep->CreateCase(c.region, std::move(c.body), s.user, s.role)
                     : rep->Step(c.id, static_cast<CaseAction>(s.action), s.extra, s.user, s.role, calendar_);
    timers_.make[static_cast<int>(n.tier)] += Nanos(SteadyClock::now() - t0);
    if (!e.ok()) {
      Die("step " + std::to_string(c.made + 1) + " of case " + c.id + " (" +
          (s.action < 0 ? std::string("file") : std::string(common::CaseActionName(static_cast<CaseAction>(s.action)))) +
          ") refused at " + n.id + ": " + e.status().ToString());
    }
    if (s.action < 0) c.id = e->case_id;
    c.last_event = e->id;
    c.last_node = n.index;
    n.made.push_back(e->id);
    ++made_;
    if (++c.made < c.count) Schedule(c.first + c.made);
    s.extra = Json();
    return true;
  }

  // Takes every step due at `n` by `day` whose previous event is here.
  void Work(Node& n, int day) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(hub_list_mu_, std::defer_lock);
        if (n.tier == Tier::kCity) lock.lock();
        while (!n.future.empty() && n.future.front().first <= day) {
          std::pop_heap(n.future.begin(), n.future.end(), std::greater<>());
          n.ready.push_back(n.future.back().second);
          n.future.pop_back();
        }
      }
      if (n.ready.empty()) return;
      std::vector<int32_t> todo;
      todo.swap(n.ready);
      bool any = false;
      for (int32_t i : todo) {
        if (Take(n, i)) {
          any = true;
        } else {
          n.ready.push_back(i);
        }
      }
      if (!any) return;
    }
  }

  // ---- sync ----
  // One SyncOnce of `child` with its parent. Returns whether anything moved.
  bool Sync(Node& child) {
    Node& parent = *nodes_[static_cast<size_t>(child.parent)];
    Link link(&parent, child.identity(), &timers_);
    sync::Replicator r(child.replica.get());
    if (child.service) {
      sync::SyncService* svc = child.service.get();
      r.set_seen([svc] { return svc->SeenJson(); });
    }
    auto t0 = SteadyClock::now();
    auto rep = r.SyncOnce(parent.id, &link);
    timers_.sync[static_cast<int>(child.tier)] += Nanos(SteadyClock::now() - t0);
    if (!rep.ok()) Die("sync " + child.id + " -> " + parent.id + ": " + rep.status().ToString());
    if (!rep->complete) Die("sync " + child.id + " -> " + parent.id + " did not drain in one SyncOnce");
    if (rep->refused) Die("sync " + child.id + " -> " + parent.id + ": " + std::to_string(rep->refused) + " events refused");
    totals_.calls += 1;
    totals_.rounds += rep->rounds;
    totals_.pushed += rep->pushed;
    totals_.pulled += rep->pulled;
    totals_.bytes += link.bytes();
    return rep->pushed || rep->pulled;
  }

  bool SyncWithHub(Node& county) {
    auto t0 = SteadyClock::now();
    std::lock_guard<std::mutex> lock(hub_mu_);
    timers_.hub_wait += Nanos(SteadyClock::now() - t0);
    return Sync(county);
  }

  // One day in the subtree of county `ci`.
  void CountyDay(int ci, int day, bool all_online) {
    Node& county = *nodes_[static_cast<size_t>(ci)];
    for (int ti : county.children) {
      Node& town = *nodes_[static_cast<size_t>(ti)];
      for (int vi : town.children) {
        Node& v = *nodes_[static_cast<size_t>(vi)];
        OpenIfTransient(v);
        Work(v, day);
        if (all_online || day >= v.offline_until) Sync(v);
        CloseIfTransient(v);
      }
      Work(town, day);
      Sync(town);
    }
    Work(county, day);
    SyncWithHub(county);
  }

  // Runs fn(county index) for every county on the worker threads.
  template <typename Fn>
  void ForCounties(Fn fn) {
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t k; (k = next.fetch_add(1)) < counties_.size();) fn(counties_[k]);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads_; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
  }

  void Day(int day, bool all_online) {
    if (!all_online) {
      for (auto& n : nodes_) {
        if (n->tier != Tier::kVillage) continue;
        if (day >= n->offline_until && std::uniform_real_distribution<double>(0, 1)(rng_) < offline_p_) {
          n->offline_until = day + std::uniform_int_distribution<int>(1, 5)(rng_);
        }
        if (day < n->offline_until) ++village_days_offline_;
        ++village_days_;
      }
    }
    ForCounties([&](int ci) { CountyDay(ci, day, all_online); });
    Work(*nodes_[0], day);
  }

  // Up and down sweeps over every link until a whole pass moves nothing.
  void Quiesce(int day) {
    for (int pass = 0; pass < 12; ++pass) {
      std::atomic<bool> moved{false};
      ForCounties([&](int ci) {
        Node& county = *nodes_[static_cast<size_t>(ci)];
        bool m = false;
        auto village = [&](int vi) {
          Node& v = *nodes_[static_cast<size_t>(vi)];
          OpenIfTransient(v);
          m |= Sync(v);
          CloseIfTransient(v);
        };
        for (int ti : county.children) {
          for (int vi : nodes_[static_cast<size_t>(ti)]->children) village(vi);
          m |= Sync(*nodes_[static_cast<size_t>(ti)]);
        }
        m |= SyncWithHub(county);
        m |= SyncWithHub(county);
        for (int ti : county.children) {
          m |= Sync(*nodes_[static_cast<size_t>(ti)]);
          for (int vi : nodes_[static_cast<size_t>(ti)]->children) village(vi);
        }
        if (m) moved = true;
      });
      Work(*nodes_[0], day);
      quiesce_passes_ = pass + 1;
      std::fprintf(stderr, "quiescence pass %d: %s\n", pass + 1, moved ? "events moved" : "nothing moved");
      if (!moved) return;
    }
    Fail("no quiescence after 12 passes: a queue is stuck");
  }

  void Progress(int day, SteadyClock::time_point run0) {
    double s = Secs(SteadyClock::now() - run0);
    std::fprintf(stderr, "day %d/%d: %lld of %zu steps taken, %lld events stored by sync, %.1f s (%.0f steps/s), RSS peak %.0f MB\n",
                 day + 1, days_, static_cast<long long>(made_.load()), steps_.size(),
                 static_cast<long long>(totals_.pushed + totals_.pulled), s, static_cast<double>(made_.load()) / s,
                 PeakRssMb());
  }

  // ---- checks ----
  void Fail(const std::string& what) {
    if (failures_.size() < 50) failures_.push_back(what);
    std::fprintf(stderr, "MISMATCH: %s\n", what.c_str());
  }

  void Check() {
    sync::EventStore* hub = nodes_[0]->replica->store();
    // 1. Every event made is at the hub exactly once, and nothing else is.
    std::vector<std::string> ledger;
    for (auto& n : nodes_) ledger.insert(ledger.end(), n->made.begin(), n->made.end());
    std::sort(ledger.begin(), ledger.end());
    if (std::adjacent_find(ledger.begin(), ledger.end()) != ledger.end()) Fail("an event id was minted twice");
    std::vector<std::string> at_hub;
    {
      auto q = Must(hub->db()->Prepare("SELECT id FROM events ORDER BY id"), "hub ids");
      while (Must(q->Step(), "hub ids")) at_hub.push_back(q->ColumnText(0));
      q->Reset();
    }
    hub_events_ = static_cast<int64_t>(at_hub.size());
    if (std::adjacent_find(at_hub.begin(), at_hub.end()) != at_hub.end()) Fail("an event is stored twice at the hub");
    std::vector<std::string> missing, extra;
    std::set_difference(ledger.begin(), ledger.end(), at_hub.begin(), at_hub.end(), std::back_inserter(missing));
    std::set_difference(at_hub.begin(), at_hub.end(), ledger.begin(), ledger.end(), std::back_inserter(extra));
    if (!missing.empty()) Fail(std::to_string(missing.size()) + " events made are not at the hub, e.g. " + missing[0]);
    if (!extra.empty()) Fail(std::to_string(extra.size()) + " events at the hub were never made, e.g. " + extra[0]);
    if (ledger.size() != steps_.size()) Fail("made " + std::to_string(ledger.size()) + " events for " + std::to_string(steps_.size()) + " steps");
    // 2. Every replica agrees with the hub: subtree digests and case digests.
    std::unordered_map<std::string, std::string> hub_cases;
    {
      auto q = Must(hub->db()->Prepare("SELECT case_id, digest FROM cases"), "hub cases");
      while (Must(q->Step(), "hub cases")) hub_cases[q->ColumnText(0)] = q->ColumnText(1);
      q->Reset();
    }
    if (hub_cases.size() != cases_.size()) Fail(std::to_string(hub_cases.size()) + " cases at the hub, " + std::to_string(cases_.size()) + " made");
    for (auto& n : nodes_) {
      OpenIfTransient(*n);
      sync::EventStore* s = n->replica->store();
      const std::string& prefix = n->replica->prefix();
      copies_ += Must(s->EventCount(), "count");
      if (n->tier != Tier::kCity) {
        auto mine = Must(s->SubtreeDigest(prefix), "digest");
        auto theirs = Must(hub->SubtreeDigest(prefix), "digest");
        if (mine != theirs) Fail(n->id + " subtree digest " + mine + ", hub has " + theirs + " for " + prefix);
        ++digests_checked_;
        auto q = Must(s->db()->Prepare("SELECT case_id, digest FROM cases"), "cases");
        while (Must(q->Step(), "cases")) {
          auto it = hub_cases.find(q->ColumnText(0));
          if (it == hub_cases.end() || it->second != q->ColumnText(1)) Fail("case " + q->ColumnText(0) + " differs at " + n->id);
          ++case_copies_checked_;
        }
        q->Reset();
        auto peer = Must(s->GetPeer(nodes_[static_cast<size_t>(n->parent)]->id), "peer");
        auto pending = Must(s->CountPending(peer.pushed.seq, nodes_[static_cast<size_t>(n->parent)]->id), "pending");
        if (pending != 0) Fail(n->id + " still has " + std::to_string(pending) + " events waiting to go up");
      }
      if (!Must(s->QuarantineList(), "quarantine").empty()) Fail(n->id + " has quarantined events");
      if (!Must(s->Refusals(1), "refusals").empty()) Fail(n->id + " refused pushed events");
      CloseIfTransient(*n);
    }
    // 3. The hub's statistics against the generator's truths.
    common::Date today = last_date_;
    for (const auto& [region, want] : expected_) {
      server::StatsQuery q{region, "", "", "", first_date_.ToString(), last_date_.ToString()};
      Json got = Must(stats_->Query(q, today), "stats query " + region);
      for (const auto& metric : kCheckedMetrics) {
        auto w = want.count(metric) ? want.at(metric) : int64_t{0};
        int64_t g = got.value(metric, int64_t{-1});
        ++stats_checked_;
        if (g != w) Fail("stats " + region + " " + metric + ": hub " + std::to_string(g) + ", truth " + std::to_string(w));
      }
    }
  }

  double DiskMb() const {
    uintmax_t total = 0;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir_)) {
      if (f.is_regular_file()) total += f.file_size();
    }
    return static_cast<double>(total) / (1024.0 * 1024.0);
  }

  // ---- report ----
  void Report() {
    int counts[4] = {0, 0, 0, 0};
    for (auto& n : nodes_) ++counts[static_cast<int>(n->tier)];
    const double made = static_cast<double>(steps_.size());
    auto ts = [](const std::atomic<int64_t>& ns) { return static_cast<double>(ns.load()) / 1e9; };
    const int V = static_cast<int>(Tier::kVillage), T = static_cast<int>(Tier::kTownship),
              C = static_cast<int>(Tier::kCounty), H = static_cast<int>(Tier::kCity);
    std::printf("| measure | value |\n|---|---:|\n");
    std::printf("| cases | %lld |\n", static_cast<long long>(cases_n_));
    std::printf("| events made (one per story step, each a durable commit at its node) | %.0f |\n", made);
    std::printf("| nodes (hub / counties / townships / villages), one SQLite file each | %zu (%d / %d / %d / %d) |\n",
                nodes_.size(), counts[H], counts[C], counts[T], counts[V]);
    std::printf("| simulated days (stories %s .. %s) + drain days | %d + %d |\n", first_date_.ToString().c_str(),
                last_date_.ToString().c_str(), days_, drain_days_);
    std::printf("| village-days offline | %.1f%% |\n",
                village_days_ ? 100.0 * static_cast<double>(village_days_offline_) / static_cast<double>(village_days_) : 0.0);
    std::printf("| worker threads | %d |\n", threads_);
    std::printf("| RLIMIT_NOFILE; villages opened and closed each day they work (reopenings, s) | %lld; %lld (%lld, %.1f s) |\n",
                static_cast<long long>(fd_limit_), static_cast<long long>(transient_), static_cast<long long>(reopens_.load()),
                static_cast<double>(reopen_ns_.load()) / 1e9);
    std::printf("| SyncOnce calls / exchanges | %lld / %lld |\n", static_cast<long long>(totals_.calls.load()),
                static_cast<long long>(totals_.rounds.load()));
    std::printf("| bytes exchanged (request + reply, compressed), MB | %.1f |\n", static_cast<double>(totals_.bytes.load()) / 1048576.0);
    std::printf("| wall time: generate stories, s | %.1f |\n", gen_secs_);
    std::printf("| wall time: open %zu stores, s | %.1f |\n", nodes_.size(), build_secs_);
    std::printf("| wall time: the %d days, s | %.1f |\n", days_, days_secs_);
    std::printf("| wall time: last day to full convergence (drain days %.1f s + %d sweeps %.1f s), s | %.1f |\n",
                drain_secs_, quiesce_passes_, quiesce_secs_, drain_secs_ + quiesce_secs_);
    std::printf("| wall time: total (days + convergence), s | %.1f |\n", total_secs_);
    std::printf("| events applied (each event at each node holding it) | %lld |\n", static_cast<long long>(copies_));
    std::printf("| events applied per second (over total wall time) | %.0f |\n", static_cast<double>(copies_) / total_secs_);
    std::printf("| of which stored new by sync (pushed + pulled), per second | %.0f |\n",
                static_cast<double>(totals_.pushed.load() + totals_.pulled.load()) / total_secs_);
    std::printf("| story steps taken per second | %.0f |\n", made / total_secs_);
    std::printf("| thread-s taking steps: village / township / county / hub | %.1f / %.1f / %.1f / %.1f |\n",
                ts(timers_.make[V]), ts(timers_.make[T]), ts(timers_.make[C]), ts(timers_.make[H]));
    std::printf("| thread-s in parents' handlers: township / county / hub | %.1f / %.1f / %.1f |\n",
                ts(timers_.handler[T]), ts(timers_.handler[C]), ts(timers_.handler[H]));
    std::printf("| thread-s in SyncOnce (child side, incl. handler): village / township / county | %.1f / %.1f / %.1f |\n",
                ts(timers_.sync[V]), ts(timers_.sync[T]), ts(timers_.sync[C]));
    std::printf("| thread-s waiting for the hub | %.1f |\n", ts(timers_.hub_wait));
    std::printf("| events at the hub | %lld |\n", static_cast<long long>(hub_events_));
    std::printf("| hub ingest, events/s of its handler time | %.0f |\n",
                static_cast<double>(hub_events_) / std::max(1e-9, ts(timers_.handler[H])));
    std::printf("| peak RSS (ru_maxrss), MB; after generating stories | %.0f; %.0f |\n", peak_rss_, rss_after_gen_);
    std::printf("| disk used in DIR, MB | %.0f |\n", disk_mb_);
    std::printf("| checks: hub ids vs ledger, %lld subtree digests, %lld case copies, %lld stat figures | %s |\n",
                static_cast<long long>(digests_checked_), static_cast<long long>(case_copies_checked_),
                static_cast<long long>(stats_checked_), failures_.empty() ? "ok" : "MISMATCH");
    std::printf("| check time, s | %.1f |\n", check_secs_);
    std::printf("\nEvery commit synchronous=FULL (WAL); stores opened with the product's defaults; "
                "%lld of %zu stores open for the whole run, the other villages opened for each day's work (descriptor limit).\n",
                static_cast<long long>(static_cast<int64_t>(nodes_.size()) - transient_), nodes_.size());
    for (const auto& f : failures_) std::printf("- MISMATCH: %s\n", f.c_str());
  }

  const int64_t cases_n_;
  const int days_;
  const uint64_t seed_;
  const std::string dir_;
  const int threads_;
  const double offline_p_;
  std::mt19937_64 rng_;

  common::RegionTree tree_;
  common::Catalog catalog_;
  common::WorkCalendar calendar_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, int> by_id_;
  std::vector<int> counties_;
  std::unique_ptr<server::Stats> stats_;
  std::vector<Step> steps_;
  std::vector<Case> cases_;
  common::Date first_date_, last_date_;
  std::map<std::string, std::map<std::string, int64_t>> expected_;

  std::mutex hub_mu_;       // the hub's replica, store and service
  std::mutex hub_list_mu_;  // the hub's list of steps
  std::atomic<int64_t> made_{0};
  Timers timers_;
  SyncTotals totals_;
  int64_t village_days_ = 0, village_days_offline_ = 0;
  int drain_days_ = 0, quiesce_passes_ = 0;
  double gen_secs_ = 0, build_secs_ = 0, days_secs_ = 0, drain_secs_ = 0, quiesce_secs_ = 0, total_secs_ = 0;
  double check_secs_ = 0, rss_after_gen_ = 0, peak_rss_ = 0, disk_mb_ = 0;
  int64_t copies_ = 0, hub_events_ = 0, digests_checked_ = 0, case_copies_checked_ = 0, stats_checked_ = 0;
  std::vector<std::string> failures_;
  int64_t fd_limit_ = 0, transient_ = 0;
  std::atomic<int64_t> reopens_{0}, reopen_ns_{0};
};

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  if (auto s = flags.CheckKnown({"cases", "days", "seed", "dir", "threads", "offline", "keep"}); !s.ok()) Die(s.ToString());
  const int64_t cases = Must(flags.GetInt("cases", 2000000), "--cases");
  const int64_t days = Must(flags.GetInt("days", 365), "--days");
  const int64_t seed = Must(flags.GetInt("seed", 7), "--seed");
  const int64_t threads = Must(flags.GetInt("threads", 2), "--threads");
  const int64_t keep = Must(flags.GetInt("keep", 0), "--keep");
  const std::string dir = flags.Get("dir", (std::filesystem::temp_directory_path() / "daiban_city_bench").string());
  const double offline = std::stod(flags.Get("offline", "0.05"));
  if (cases < 1 || days < 1 || threads < 1 || threads > 64) Die("need --cases >= 1, --days >= 1, 1 <= --threads <= 64");
  CityBench bench(cases, static_cast<int>(days), static_cast<uint64_t>(seed), dir, static_cast<int>(threads), offline);
  return bench.Run(keep != 0);
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
