#include "tests/sync/simulator.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "common/case_machine.h"
#include "sync/merge.h"
#include "sync/protocol.h"
#include "tests/sync/test_net.h"

namespace daiban::sync::sim {
namespace {

using common::CaseAction;
using common::Json;
using common::Role;
using common::Tier;
using testing::LinkFaults;
using testing::TestLink;
using testing::TestNode;

constexpr const char* kCounty = "210921";  // 阜新蒙古族自治县: 1 street office and many towns

struct SimNode {
  std::string id;
  std::string region;
  Tier tier = Tier::kVillage;
  int parent = -1;       // normal parent
  int grandparent = -1;  // fallback while the parent is down
  std::unique_ptr<common::SkewedClock> clock;
  std::unique_ptr<TestNode> node;
  LinkFaults faults;     // the link towards its parent and grandparent
  std::string backup;    // an earlier image of its store ("last week's copy")
};

// An item profile: (accept level, decide level, promised days, kind).
struct Item {
  const char* code;
  const char* accept;
  const char* decide;
  int days;
};
constexpr Item kItems[] = {{"MZ-001", "township", "county", 20},
                           {"MZ-003", "township", "township", 10},
                           {"HJ-001", "township", "township", 0},
                           {"CJ-002", "township", "city", 10}};
constexpr Item kCountyItem = {"GT-001", "county", "county", 10};
constexpr const char* kFields[] = {"applicant_name", "applicant_phone", "note", "applicant_id"};
constexpr const char* kEvaluations[] = {"very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
                                        "very_dissatisfied"};

class Sim {
 public:
  Sim(const SimOptions& o, const common::RegionTree& tree) : opt_(o), tree_(tree), rng_(o.seed) {}

  SimResult Run() {
    Build();
    for (int i = 0; i < opt_.steps && result_.violations.size() < 5; ++i) Step(i);
    Heal();
    Check();
    result_.ok = result_.violations.empty();
    return result_;
  }

 private:
  // ---- randomness ----
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))]; }
  std::string Incarnation() {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < kIncarnationHexDigits; ++i) s += kHex[Uniform(0, 15)];
    return s;
  }

  void Log(const std::string& line) {
    if (opt_.verbose) std::fprintf(stderr, "[sim %llu] %s\n", static_cast<unsigned long long>(opt_.seed), line.c_str());
  }
  void Violation(const std::string& v) {
    if (result_.violations.size() < 20) result_.violations.push_back(v);
  }

  // ---- topology ----
  void Build() {
    auto county = common::RegionCode::Parse(kCounty);
    auto towns = tree_.Descendants(*county, common::RegionLevel::kTownship);
    AddNode("hub", "210900000000", Tier::kCity, -1, -1, 0);
    AddNode("c210921", county->str(), Tier::kCounty, 0, -1, 0);
    // Pick townships and villages by the seed, so different seeds cover different codes.
    std::shuffle(towns.begin(), towns.end(), rng_);
    for (int t = 0; t < opt_.townships && t < static_cast<int>(towns.size()); ++t) {
      int ti = AddNode("t" + towns[static_cast<size_t>(t)].str().substr(0, 9), towns[static_cast<size_t>(t)].str(),
                       Tier::kTownship, 1, 0, SkewMs());
      auto villages = tree_.Descendants(towns[static_cast<size_t>(t)], common::RegionLevel::kVillage);
      std::shuffle(villages.begin(), villages.end(), rng_);
      for (int v = 0; v < opt_.villages_per_township && v < static_cast<int>(villages.size()); ++v) {
        AddNode("v" + villages[static_cast<size_t>(v)].str(), villages[static_cast<size_t>(v)].str(), Tier::kVillage, ti,
                1, SkewMs());
      }
    }
  }

  // Some nodes' clocks are days off.
  int64_t SkewMs() { return Chance(0.3) ? int64_t{Uniform(-72, 72)} * 3600 * 1000 : 0; }

  int AddNode(const std::string& id, const std::string& region, Tier tier, int parent, int grandparent, int64_t skew) {
    SimNode n;
    n.id = id;
    n.region = region;
    n.tier = tier;
    n.parent = parent;
    n.grandparent = grandparent;
    n.clock = std::make_unique<common::SkewedClock>(&clock_, skew);
    nodes_.push_back(std::move(n));
    Open(nodes_.back(), "");
    return static_cast<int>(nodes_.size()) - 1;
  }

  void Open(SimNode& n, const std::string& image) {
    n.node.reset();
    auto tn = std::make_unique<TestNode>();
    tn->id = n.id;
    tn->region = n.region;
    tn->tier = n.tier;
    StoreOptions o;
    o.path = ":memory:";
    o.node_id = n.id;
    o.region = n.region;
    o.tier = n.tier;
    o.incarnation = Incarnation();
    o.synchronous_full = false;
    o.image = image;
    auto store = EventStore::Open(o);
    if (!store.ok()) {
      Violation("cannot open store of " + n.id + ": " + store.status().ToString());
      std::abort();
    }
    tn->replica = std::make_unique<Replica>(std::move(store).value(), n.clock.get());
    tn->service = std::make_unique<SyncService>(tn->replica.get());
    n.node = std::move(tn);
  }

  // ---- the schedule ----
  void Step(int i) {
    clock_.Advance(Uniform(1, 600) * 1000);  // up to ten minutes pass
    if (Chance(0.02)) clock_.Advance(int64_t{Uniform(1, 4)} * 86400 * 1000);  // a few days
    SimNode& n = nodes_[static_cast<size_t>(Uniform(0, static_cast<int>(nodes_.size()) - 1))];
    int r = Uniform(0, 99);
    Log("step " + std::to_string(i) + " at " + n.id);
    if (r < 32) {
      CaseWork(n);
    } else if (r < 40) {
      Race();
    } else if (r < 80) {
      Sync(n, Chance(0.15));
    } else if (r < 88) {
      ChangeLink(n);
    } else if (r < 92) {
      Crash(n);
    } else if (r < 95) {
      n.backup = *n.node->replica->store()->Snapshot();
      Log("  backup of " + n.id);
    } else if (r < 96) {
      Reparent(n);
    } else {
      Restore(n);
    }
  }

  // Moves a village to another parent: from now on (healing included) it syncs with the
  // county, and its old township becomes its fallback.
  void Reparent(SimNode& n) {
    if (n.tier != Tier::kVillage || n.grandparent < 0) return;
    std::swap(n.parent, n.grandparent);
    ++result_.stats.reparents;
    Log("  " + n.id + " moved to parent " + nodes_[static_cast<size_t>(n.parent)].id);
  }

  void Record(const common::Result<Event>& e, const std::string& what) {
    if (!e.ok()) return;
    ++result_.stats.events;
    std::string hash = common::Sha256Hex(EncodeEvent(*e));
    auto [it, fresh] = ledger_.emplace(e->id, hash);
    if (!fresh) Violation("event id " + e->id + " was minted twice (" + what + ")");
    Log("  made " + e->id + " " + what);
  }

  Json CreateBody(const SimNode& n) {
    const Item& it = n.tier == Tier::kCounty ? kCountyItem : kItems[Uniform(0, 3)];
    return {{"item", it.code}, {"item_name", it.code}, {"department", "民政局"}, {"item_kind", it.days ? "承诺件" : "即办件"},
            {"promised_days", it.days}, {"accept_level", it.accept}, {"decide_level", it.decide},
            {"applicant_name", "居民" + std::to_string(Uniform(1, 999))}, {"applicant_id", "11010519491231002X"},
            {"applicant_phone", "138" + std::to_string(Uniform(10000000, 99999999))}, {"note", ""},
            {"materials_required", {"申请书", "居民身份证", "户口簿"}}, {"materials", {"申请书"}}};
  }

  void CaseWork(SimNode& n) {
    Replica* rep = n.node->replica.get();
    const Role role = n.tier == Tier::kVillage ? Role::kAgent : Role::kClerk;
    const std::string user = (role == Role::kAgent ? "agent-" : "clerk-") + n.id;
    int r = Uniform(0, 99);
    if (n.tier == Tier::kCity) {
      if (r < 30) {
        Record(rep->Append("", "", "master.catalog_item", {{"code", "X-" + std::to_string(Uniform(1, 99))}}, "admin",
                           Role::kAdmin),
               "master data");
      }
      return;
    }
    if (r < 30) {
      auto e = rep->CreateCase(n.region, CreateBody(n), user, role);
      if (!e.ok()) Violation("filing a case at " + n.id + " failed: " + e.status().ToString());
      Record(e, "create");
      if (e.ok() && Chance(0.8)) {
        Record(rep->Step(e->case_id, CaseAction::kSubmit, Json::object(), user, role, calendar_), "submit");
      }
      return;
    }
    auto ids = rep->store()->CaseIds();
    if (!ids.ok() || ids->empty()) return;
    const std::string case_id = Pick(*ids);
    auto fold = rep->store()->GetCase(case_id);
    if (!fold.ok()) return;
    if (r < 60) {
      auto facts = Replica::FactsOf(fold->state);
      if (!facts.ok()) return;
      auto allowed = common::AllowedActions(*facts, n.tier, role);
      if (allowed.empty() || Chance(0.1)) {
        // A step that is not allowed: refused with a clear error, nothing written.
        CaseAction a = common::AllCaseActions()[static_cast<size_t>(Uniform(0, 10))];
        if (std::find(allowed.begin(), allowed.end(), a) != allowed.end()) return;
        int64_t before = *rep->store()->EventCount();
        auto e = rep->Step(case_id, a, Json::object(), user, role, calendar_);
        if (e.ok()) Violation("step " + std::string(common::CaseActionName(a)) + " not allowed but taken at " + n.id);
        if (*rep->store()->EventCount() != before) Violation("a refused step changed the store at " + n.id);
        return;
      }
      // Mostly move cases forward, so that many reach a decision.
      std::vector<CaseAction> forward;
      for (CaseAction x : allowed) {
        if (x != CaseAction::kWithdraw && x != CaseAction::kReject) forward.push_back(x);
      }
      CaseAction a = forward.empty() || Chance(0.15) ? Pick(allowed) : Pick(forward);
      Json extra = Json::object();
      if (a == CaseAction::kRequestSupplement) extra["missing"] = {"居民身份证", "户口簿"};
      if (a == CaseAction::kReject || a == CaseAction::kWithdraw) extra["reason"] = "理由";
      if (a == CaseAction::kDecide) extra["approved"] = Chance(0.8);
      if (a == CaseAction::kEvaluate) extra["evaluation"] = kEvaluations[Uniform(0, 4)];
      auto e = rep->Step(case_id, a, extra, user, role, calendar_);
      if (!e.ok()) Violation("allowed step " + std::string(common::CaseActionName(a)) + " failed at " + n.id + ": " +
                             e.status().ToString());
      Record(e, std::string(common::CaseActionName(a)) + " " + case_id);
    } else if (r < 85) {
      // Most edits touch the note, so village and township often edit it concurrently.
      const char* field = Chance(0.6) ? "note" : kFields[Uniform(0, 3)];
      Record(rep->Append(case_id, fold->state["region"], kKindEdit,
                         {{"fields", {{field, n.id + "-" + std::to_string(Uniform(1, 99))}}}}, user, role),
             std::string("edit ") + field);
    } else if (r < 93) {
      Record(rep->Append(case_id, fold->state["region"], kKindMaterials, {{"add", {"户口簿"}}}, user, role), "materials");
    } else {
      Record(rep->Append(case_id, fold->state["region"], kKindComment, {{"text", "备注" + std::to_string(Uniform(1, 9))}},
                         user, role),
             "comment");
    }
  }

  // Two nodes act on the same case without syncing in between: a decision against a
  // withdrawal, or two edits of one field. The order and the clocks are random.
  void Race() {
    struct Candidate {
      SimNode* upper;
      SimNode* village;
      std::string case_id;
      bool decide;
    };
    std::vector<Candidate> found;
    for (auto& up : nodes_) {
      if (up.tier != Tier::kTownship && up.tier != Tier::kCounty) continue;
      auto ids = up.node->replica->store()->CaseIds();
      if (!ids.ok()) continue;
      for (const auto& id : *ids) {
        for (auto& v : nodes_) {
          if (v.tier != Tier::kVillage || id.compare(0, 12, v.region) != 0) continue;
          auto mine = v.node->replica->store()->GetCase(id);
          auto theirs = up.node->replica->store()->GetCase(id);
          if (!mine.ok() || !theirs.ok()) continue;
          auto vf = Replica::FactsOf(mine->state);
          auto uf = Replica::FactsOf(theirs->state);
          if (!vf.ok() || !uf.ok()) continue;
          auto va = common::AllowedActions(*vf, Tier::kVillage, Role::kAgent);
          auto ua = common::AllowedActions(*uf, up.tier, Role::kClerk);
          bool can_withdraw = std::find(va.begin(), va.end(), CaseAction::kWithdraw) != va.end();
          bool can_decide = std::find(ua.begin(), ua.end(), CaseAction::kDecide) != ua.end();
          if (can_withdraw && can_decide) found.push_back({&up, &v, id, true});
          if (found.size() < 3) found.push_back({&up, &v, id, false});
        }
      }
    }
    if (found.empty()) return;
    const Candidate& c = Pick(found);
    Replica* up = c.upper->node->replica.get();
    Replica* vil = c.village->node->replica.get();
    const std::string region = c.case_id.substr(0, 12);
    auto village_act = [&] {
      Record(c.decide ? vil->Step(c.case_id, CaseAction::kWithdraw, {{"reason", "居民撤回"}}, "agent", Role::kAgent, calendar_)
                      : vil->Append(c.case_id, region, kKindEdit, {{"fields", {{"note", "village"}}}}, "agent", Role::kAgent),
             "race at village");
    };
    auto upper_act = [&] {
      Record(c.decide ? up->Step(c.case_id, CaseAction::kDecide, {{"approved", true}}, "clerk", Role::kClerk, calendar_)
                      : up->Append(c.case_id, region, kKindEdit, {{"fields", {{"note", "upper"}}}}, "clerk", Role::kClerk),
             "race at " + c.upper->id);
    };
    bool village_first = Chance(0.5);
    if (village_first) village_act(); else upper_act();
    clock_.Advance(Uniform(0, 5000));
    if (village_first) upper_act(); else village_act();
    Log(std::string("  race on ") + c.case_id + (c.decide ? ": decide vs withdraw" : ": two edits"));
  }

  bool SyncWith(SimNode& n, int target, const LinkFaults& faults, size_t batch, int max_rounds, SyncReport* out) {
    SimNode& p = nodes_[static_cast<size_t>(target)];
    if (opt_.verbose) {
      auto mine = *n.node->replica->store()->GetPeer(p.id);
      auto theirs = *p.node->replica->store()->GetPeer(n.id);
      auto end = *n.node->replica->store()->End();
      Log("  before sync " + n.id + " -> " + p.id + ": my end " + std::to_string(end.seq) + "/" + end.chain.substr(0, 6) +
          ", pushed " + std::to_string(mine.pushed.seq) + "/" + mine.pushed.chain.substr(0, 6) + ", parent's record " +
          std::to_string(theirs.received.seq) + "/" + theirs.received.chain.substr(0, 6) + ", resend_until " +
          std::to_string(mine.resend_until) + (mine.pull_full ? ", pull_full" : "") + ", ack_cursor " +
          std::to_string(mine.ack_cursor));
    }
    TestLink link(p.node.get(), n.node->identity(), &rng_, faults);
    ReplicatorOptions ro;
    ro.batch_events = batch;
    ro.max_rounds = max_rounds;
    Replicator rep(n.node->replica.get(), ro);
    ++result_.stats.syncs;
    auto r = rep.SyncOnce(p.id, &link);
    if (!r.ok()) {
      ++result_.stats.failed_syncs;
      // A refusal other than a transport failure is a protocol bug here: every node is honest.
      auto code = r.status().code();
      if (code != common::StatusCode::kUnavailable && code != common::StatusCode::kInvalidArgument) {
        Violation("sync " + n.id + " -> " + p.id + " refused: " + r.status().ToString());
      }
      Log("  sync " + n.id + " -> " + p.id + " failed: " + r.status().ToString());
      return false;
    }
    if (out) *out = *r;
    Log("  sync " + n.id + " -> " + p.id + ": pushed " + std::to_string(r->pushed) + ", pulled " +
        std::to_string(r->pulled) + (r->rewinds ? ", rewinds " + std::to_string(r->rewinds) : "") +
        (r->resets ? ", resets " + std::to_string(r->resets) : "") + (r->restored ? ", found itself restored" : "") +
        (r->complete ? "" : ", incomplete") + ", rounds " + std::to_string(r->rounds) + ", parent's record now " +
        std::to_string(p.node->replica->store()->GetPeer(n.id)->received.seq));
    return true;
  }

  void Sync(SimNode& n, bool to_grandparent) {
    int target = to_grandparent && n.grandparent >= 0 ? n.grandparent : n.parent;
    if (target < 0) return;
    SyncWith(n, target, n.faults, static_cast<size_t>(Uniform(1, 8)), Uniform(1, 6), nullptr);
  }

  void ChangeLink(SimNode& n) {
    int r = Uniform(0, 2);
    n.faults = LinkFaults{};
    if (r == 1) n.faults.down = true;  // a partition
    if (r == 2) {                       // a bad link
      n.faults.drop_request = 0.15;
      n.faults.drop_reply = 0.15;
      n.faults.duplicate_request = 0.15;
      n.faults.truncate_request = 0.1;
      n.faults.truncate_reply = 0.1;
    }
    Log("  link of " + n.id + " now " + (r == 0 ? "clean" : r == 1 ? "down" : "lossy"));
  }

  void Crash(SimNode& n) {
    ++result_.stats.crashes;
    auto image = n.node->replica->store()->Snapshot();
    Open(n, *image);  // committed state survives; the new process has a new incarnation
    Log("  crash and restart of " + n.id);
  }

  void Restore(SimNode& n) {
    if (n.backup.empty()) return;
    ++result_.stats.restores;
    // Events only this node held, made after the backup, are lost with its disk: expected.
    auto now_ids = *n.node->replica->store()->AllEventIds();
    Open(n, n.backup);
    std::set<std::string> kept;
    auto kept_ids = *n.node->replica->store()->AllEventIds();
    for (const auto& id : kept_ids) kept.insert(id);
    for (const auto& id : now_ids) {
      if (kept.count(id)) continue;
      bool elsewhere = false;
      for (auto& o : nodes_) {
        if (&o != &n && *o.node->replica->store()->Contains(id)) elsewhere = true;
      }
      if (!elsewhere) {
        lost_.insert(id);
        ++result_.stats.lost_by_restore;
      }
    }
    Log("  restore of " + n.id + " from its backup");
  }

  // ---- heal and check ----
  void Heal() {
    for (auto& n : nodes_) n.faults = LinkFaults{};
    std::vector<size_t> up;  // villages, then townships, then the county
    for (Tier t : {Tier::kVillage, Tier::kTownship, Tier::kCounty}) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].tier == t) up.push_back(i);
      }
    }
    bool quiet = false;
    for (int pass = 0; pass < 12 && !quiet; ++pass) {
      quiet = true;
      std::vector<size_t> order = up;
      order.insert(order.end(), up.rbegin(), up.rend());
      for (size_t i : order) {
        SyncReport r;
        if (!SyncWith(nodes_[i], nodes_[i].parent, LinkFaults{}, kDefaultBatchEvents, 10000, &r)) {
          Violation("sync failed on a healed link: " + nodes_[i].id);
          return;
        }
        if (r.pushed || r.pulled || !r.complete) quiet = false;
      }
    }
    if (!quiet) Violation("no quiescence after 12 healed passes: a queue is stuck");
  }

  struct Row {
    std::string hash, region, case_id;
  };
  std::map<std::string, Row> Events(SimNode& n) {
    std::map<std::string, Row> out;
    auto q = n.node->replica->store()->db()->Prepare("SELECT id, hash, region, case_id FROM events");
    while (*(*q)->Step()) out[(*q)->ColumnText(0)] = {(*q)->ColumnText(1), (*q)->ColumnText(2), (*q)->ColumnText(3)};
    return out;
  }

  void Check() {
    std::map<std::string, std::string> global;  // id -> hash over all nodes
    std::vector<std::map<std::string, Row>> per_node;
    for (auto& n : nodes_) per_node.push_back(Events(n));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (const auto& [id, row] : per_node[i]) {
        auto [it, fresh] = global.emplace(id, row.hash);
        if (!fresh && it->second != row.hash) Violation("event " + id + " differs between nodes");
        if (!ledger_.count(id)) Violation("event " + id + " at " + nodes_[i].id + " was never made");
      }
    }
    // Every event made (and not lost with a restored disk) is at every node that covers it, and nowhere else.
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const std::string prefix = nodes_[i].node->replica->prefix();
      for (const auto& [id, hash] : ledger_) {
        if (lost_.count(id)) continue;
        auto g = global.find(id);
        if (g == global.end()) {
          if (i == 0) Violation("event " + id + " was lost: no node holds it");
          continue;
        }
        std::string region;  // the event's region, from any node that holds it
        for (auto& pn : per_node) {
          auto f = pn.find(id);
          if (f != pn.end()) region = f->second.region;
        }
        bool covers = region.empty() || region.compare(0, prefix.size(), prefix) == 0;
        bool has = per_node[i].count(id) > 0;
        if (covers && !has) {
          std::string where;
          for (size_t k = 0; k < nodes_.size(); ++k) {
            if (!per_node[k].count(id)) continue;
            auto q = nodes_[k].node->replica->store()->db()->Prepare("SELECT seq, source FROM events WHERE id = ?");
            (*q)->Bind(1, id);
            if (*(*q)->Step()) where += " " + nodes_[k].id + "@" + std::to_string((*q)->ColumnInt(0)) + "<-" + (*q)->ColumnText(1);
            (*q)->Reset();
          }
          Violation("event " + id + " missing at " + nodes_[i].id + " (held by" + where + ")");
        }
        if (!covers && has) Violation("event " + id + " at " + nodes_[i].id + " outside its jurisdiction");
      }
    }
    // Replicas agree; stored folds equal a fresh fold in another order; conflicts are visible.
    Replica* hub = nodes_[0].node->replica.get();
    const std::vector<std::string> hub_cases = *hub->store()->CaseIds();
    for (const auto& case_id : hub_cases) {
      auto hub_fold = hub->store()->GetCase(case_id);
      auto events = *hub->store()->CaseEvents(case_id);
      std::shuffle(events.begin(), events.end(), rng_);
      auto dup = events;
      dup.insert(dup.end(), events.begin(), events.begin() + static_cast<long>(events.size() / 2));
      if (FoldCase(dup).digest != hub_fold->digest) Violation("case " + case_id + ": fold depends on arrival order");
      for (auto& n : nodes_) {
        auto f = n.node->replica->store()->GetCase(case_id);
        if (f.ok() && f->digest != hub_fold->digest) Violation("case " + case_id + " differs at " + n.id);
      }
      CheckConflictsVisible(case_id, events, hub_fold->state);
      result_.stats.conflicts += static_cast<int64_t>(hub_fold->state["conflicts"].size());
      result_.stats.superseded += static_cast<int64_t>(hub_fold->state["superseded"].size());
    }
    // Nothing refused, nothing waiting, and villages' cases acknowledged by the hub.
    for (auto& n : nodes_) {
      auto q = *n.node->replica->store()->QuarantineList();
      if (!q.empty()) Violation(n.id + " has a quarantined event: " + q[0].reason);
      if (n.parent < 0) continue;
      auto peer = *n.node->replica->store()->GetPeer(nodes_[static_cast<size_t>(n.parent)].id);
      auto pending = *n.node->replica->store()->CountPending(peer.pushed.seq, nodes_[static_cast<size_t>(n.parent)].id);
      if (pending != 0) Violation(n.id + " still has " + std::to_string(pending) + " events waiting");
      if (n.tier != Tier::kVillage) continue;
      const std::vector<std::string> cases = *n.node->replica->store()->CaseIds();
      for (const auto& c : cases) {
        auto s = n.node->replica->SyncStateOf(c);
        if (s.ok() && *s != CaseSyncState::kAtHub) {
          std::string detail;
          const std::vector<Event> case_events = *n.node->replica->store()->CaseEvents(c);
          for (const auto& e : case_events) {
            if (e.origin != n.id) continue;
            std::string oi = e.id.substr(0, e.id.rfind('.'));
            detail += " " + e.id + ":";
            for (auto& o : nodes_) {
              auto v = o.node->replica->store()->GetVv(oi);
              if (v.ok() && (v->have || v->hub || v->up)) {
                detail += " " + o.id + "(have " + std::to_string(v->have) + " up " + std::to_string(v->up) + " hub " +
                          std::to_string(v->hub) + ")";
              }
            }
          }
          Violation("case " + c + " at " + n.id + " not acknowledged by the hub;" + detail);
        }
      }
    }
  }

  // An independent check of rule 2: a field with concurrent heads must be listed.
  void CheckConflictsVisible(const std::string& case_id, const std::vector<Event>& events, const Json& state) {
    std::map<std::string, const Event*> by_id;
    for (const auto& e : events) by_id[e.id] = &e;
    std::map<std::string, std::set<std::string>> anc;
    std::function<const std::set<std::string>&(const std::string&)> ancestors = [&](const std::string& id) -> const std::set<std::string>& {
      auto it = anc.find(id);
      if (it != anc.end()) return it->second;
      std::set<std::string> s;
      for (const auto& p : by_id[id]->parents) {
        if (!by_id.count(p)) continue;
        s.insert(p);
        const auto& pa = ancestors(p);
        s.insert(pa.begin(), pa.end());
      }
      return anc[id] = std::move(s);
    };
    // Rule 3: a decision is never undone by a concurrent withdrawal; the withdrawal is superseded.
    auto action_of = [](const Event& e) { return e.kind == kKindStep ? e.body.value("action", "") : std::string(); };
    for (const auto& d : events) {
      if (action_of(d) != "decide") continue;
      for (const auto& w : events) {
        if (action_of(w) != "withdraw" || ancestors(d.id).count(w.id) || ancestors(w.id).count(d.id)) continue;
        ++result_.stats.decision_races;
        bool superseded = false;
        for (const auto& x : state["superseded"]) superseded = superseded || x["event"] == w.id;
        if (state["status"] == "withdrawn" || !superseded) {
          Violation("case " + case_id + ": withdrawal " + w.id + " concurrent with decision " + d.id +
                    " was not superseded (status " + state["status"].get<std::string>() + ")");
        }
      }
    }
    for (const char* field : kFields) {
      std::vector<std::string> writes;
      for (const auto& e : events) {
        bool w = (e.kind == kKindCreate && e.body.contains(field)) ||
                 (e.kind == kKindEdit && e.body.contains("fields") && e.body["fields"].contains(field));
        if (w) writes.push_back(e.id);
      }
      size_t heads = 0;
      for (const auto& w : writes) {
        bool seen = false;
        for (const auto& o : writes) seen = seen || (o != w && ancestors(o).count(w));
        heads += seen ? 0 : 1;
      }
      size_t listed = 0;
      for (const auto& c : state["conflicts"]) {
        if (c["field"] == field) listed = c["candidates"].size();
      }
      if ((heads > 1 ? heads : 0) != listed) {
        Violation("case " + case_id + " field " + field + ": " + std::to_string(heads) + " concurrent heads, " +
                  std::to_string(listed) + " listed as a conflict");
      }
    }
  }

  SimOptions opt_;
  const common::RegionTree& tree_;
  std::mt19937_64 rng_;
  common::FakeClock clock_{1735689600000};
  common::WorkCalendar calendar_;
  std::vector<SimNode> nodes_;
  std::map<std::string, std::string> ledger_;
  std::set<std::string> lost_;
  SimResult result_;
};

}  // namespace

SimResult RunSimulation(const SimOptions& options, const common::RegionTree& tree) {
  Sim sim(options, tree);
  return sim.Run();
}

}  // namespace daiban::sync::sim
