// The admission rules' own tables (sync/admit.h), the refusal audit and history alerts of
// the event store, and the parent's detection of a child whose log history changed.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

#include "common/case_machine.h"
#include "sync/admit.h"
#include "sync/codec.h"
#include "tests/sync/test_net.h"

namespace daiban::sync {
namespace {

using common::CaseAction;
using common::CaseFacts;
using common::CaseStatus;
using common::Json;
using common::Role;
using common::Tier;
using testing::MakeNode;
using testing::SampleCreateBody;
using testing::TestLink;
using testing::TestNode;

const Tier kAllTiers[] = {Tier::kVillage, Tier::kTownship, Tier::kCounty, Tier::kCity};
const Role kAllRoles[] = {Role::kAgent, Role::kClerk, Role::kSupervisor, Role::kAdmin, Role::kSystem};

// ---- CouldEverTakeStep agrees with the case machine ----

TEST(AdmitTest, WhatAVillageAgentCanNeverDo) {
  for (CaseAction a : {CaseAction::kAccept, CaseAction::kReject, CaseAction::kRequestSupplement,
                       CaseAction::kForward, CaseAction::kDecide, CaseAction::kComplete}) {
    EXPECT_FALSE(CouldEverTakeStep(a, Tier::kVillage, Role::kAgent)) << common::CaseActionName(a);
    EXPECT_FALSE(CouldEverTakeStep(a, Tier::kVillage, Role::kClerk)) << common::CaseActionName(a);
  }
  for (CaseAction a : {CaseAction::kSubmit, CaseAction::kSupplement, CaseAction::kDeliver,
                       CaseAction::kEvaluate, CaseAction::kWithdraw}) {
    EXPECT_TRUE(CouldEverTakeStep(a, Tier::kVillage, Role::kAgent)) << common::CaseActionName(a);
  }
  for (CaseAction a : {CaseAction::kAccept, CaseAction::kReject, CaseAction::kRequestSupplement,
                       CaseAction::kForward, CaseAction::kDecide, CaseAction::kComplete}) {
    EXPECT_TRUE(CouldEverTakeStep(a, Tier::kTownship, Role::kClerk)) << common::CaseActionName(a);
    EXPECT_FALSE(CouldEverTakeStep(a, Tier::kTownship, Role::kAgent)) << common::CaseActionName(a);
  }
  EXPECT_TRUE(CouldEverTakeStep(CaseAction::kDecide, Tier::kCity, Role::kClerk));
  EXPECT_FALSE(
      CouldEverTakeStep(CaseAction::kForward, Tier::kCity, Role::kClerk));  // nothing is above the city
  // Evaluation is the resident's word, given at or below the accepting tier.
  EXPECT_TRUE(CouldEverTakeStep(CaseAction::kEvaluate, Tier::kCounty, Role::kClerk));
  for (Role r : {Role::kSupervisor, Role::kAdmin, Role::kSystem}) {
    for (Tier t : kAllTiers) {
      for (CaseAction a : common::AllCaseActions())
        EXPECT_FALSE(CouldEverTakeStep(a, t, r)) << common::RoleName(r);
    }
  }
}

// The whole table, as docs/PROTOCOL.md §4.11 states it.
TEST(AdmitTest, TheTableAsDocumented) {
  const std::set<CaseAction> anyone = {CaseAction::kSubmit, CaseAction::kSupplement, CaseAction::kDeliver,
                                       CaseAction::kEvaluate, CaseAction::kWithdraw};
  const std::set<CaseAction> clerks_above_village = {CaseAction::kAccept, CaseAction::kReject,
                                                     CaseAction::kRequestSupplement, CaseAction::kDecide,
                                                     CaseAction::kComplete};
  for (CaseAction a : common::AllCaseActions()) {
    for (Tier t : kAllTiers) {
      for (Role r : kAllRoles) {
        const bool person = r == Role::kAgent || r == Role::kClerk;
        bool want = person && anyone.count(a);
        if (r == Role::kClerk && t != Tier::kVillage && clerks_above_village.count(a)) want = true;
        if (r == Role::kClerk && a == CaseAction::kForward && (t == Tier::kTownship || t == Tier::kCounty)) {
          want = true;
        }
        EXPECT_EQ(CouldEverTakeStep(a, t, r), want)
            << common::CaseActionName(a) << " by " << common::RoleName(r) << " at " << common::TierName(t);
      }
    }
  }
}

// Every step the case machine allows in any state a random walk reaches from a lawful filing
// is in the table, and every entry of the table is allowed by the machine in some state with
// catalog-valid levels (an independent brute force over all facts, reachable or not).
TEST(AdmitTest, TableAgreesWithTheCaseMachine) {
  std::set<std::tuple<CaseAction, Tier, Role>> brute;
  for (CaseStatus s : common::AllCaseStatuses()) {
    for (Tier filed : kAllTiers) {
      for (Tier holder : kAllTiers) {
        for (Tier accept : {Tier::kTownship, Tier::kCounty, Tier::kCity}) {
          for (Tier decide : kAllTiers) {
            if (decide < accept || filed > accept) continue;
            for (bool supp : {false, true}) {
              CaseFacts f{s, filed, holder, accept, decide, supp};
              for (CaseAction a : common::AllCaseActions()) {
                for (Tier t : kAllTiers) {
                  for (Role r : kAllRoles) {
                    if (common::CheckStep(f, a, t, r).ok()) brute.insert({a, t, r});
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  for (CaseAction a : common::AllCaseActions()) {
    for (Tier t : kAllTiers) {
      for (Role r : kAllRoles) {
        if (CouldEverTakeStep(a, t, r)) {
          EXPECT_TRUE(brute.count({a, t, r}))
              << common::CaseActionName(a) << " " << common::TierName(t) << " " << common::RoleName(r);
        }
      }
    }
  }
  std::mt19937_64 rng(11);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int walk = 0; walk < 2000; ++walk) {
    CaseFacts f;
    f.accept_level = kAllTiers[1 + pick(3)];
    f.decide_level = kAllTiers[static_cast<int>(f.accept_level) + pick(4 - static_cast<int>(f.accept_level))];
    f.filed_tier = kAllTiers[pick(static_cast<int>(f.accept_level) + 1)];
    f.holder_tier = f.filed_tier;
    for (int step = 0; step < 12; ++step) {
      std::vector<std::tuple<CaseAction, Tier, Role>> can;
      for (Tier t : kAllTiers) {
        for (Role r : kAllRoles) {
          for (CaseAction a : common::AllowedActions(f, t, r)) {
            EXPECT_TRUE(CouldEverTakeStep(a, t, r))
                << common::CaseActionName(a) << " by " << common::RoleName(r) << " at " << common::TierName(t)
                << " from " << common::CaseStatusName(f.status);
            can.push_back({a, t, r});
          }
        }
      }
      if (can.empty()) break;
      auto [a, t, r] = can[static_cast<size_t>(pick(static_cast<int>(can.size())))];
      f = common::ApplyStep(f, a, t);
    }
  }
}

TEST(AdmitTest, TierOfRegionFollowsTheCodesLevel) {
  EXPECT_EQ(*TierOfRegion("210921100202"), Tier::kVillage);
  EXPECT_EQ(*TierOfRegion("210921100000"), Tier::kTownship);
  EXPECT_EQ(*TierOfRegion("210921000000"), Tier::kCounty);
  EXPECT_EQ(*TierOfRegion("210900000000"), Tier::kCity);
  EXPECT_EQ(TierOfRegion("210000000000").status().code(),
            common::StatusCode::kInvalidArgument);  // a province
  EXPECT_EQ(TierOfRegion("210000001000").status().code(), common::StatusCode::kInvalidArgument);  // no county
  EXPECT_EQ(TierOfRegion("2109").status().code(), common::StatusCode::kInvalidArgument);
}

TEST(AdmitTest, AReasonNamesTheCaseAndTheRuleNeverPersonalData) {
  Event e;
  e.id = "v210921100202.00000000000a.1";
  e.case_id = "210921100202-20250124-00000000000a-1";
  e.region = "210921100202";
  e.origin = "v210921100202";
  e.origin_region = "210921100202";
  e.actor = {"agent1", Role::kAgent, Tier::kVillage};
  e.kind = kKindStep;
  e.body = {{"action", "decide"}, {"approved", true}, {"applicant_id", "11010519491231002X"}};
  common::Status s = AdmitPushedEvent({"v210921100202", "210921100202", Tier::kVillage}, e);
  EXPECT_EQ(s.code(), common::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find(e.case_id), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rule step"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("11010519491231002X"), std::string::npos) << s.message();
  // The same event from a township clerk on the case's township is admitted.
  e.origin = "t210921100";
  e.origin_region = "210921100000";
  e.id = "t210921100.00000000000b.1";
  e.actor = {"clerk1", Role::kClerk, Tier::kTownship};
  EXPECT_TRUE(AdmitPushedEvent({"v210921100202", "210921100202", Tier::kVillage}, e).ok());
  // Master data from the hub, handed back by any node below it, by an admin.
  Event m;
  m.id = "hub.00000000000c.1";
  m.origin = "hub";
  m.origin_region = "210900000000";
  m.actor = {"admin", Role::kAdmin, Tier::kCity};
  m.kind = "master.catalog";
  EXPECT_TRUE(AdmitPushedEvent({"v210921100202", "210921100202", Tier::kVillage}, m).ok());
  m.actor.role = Role::kClerk;
  EXPECT_EQ(AdmitPushedEvent({"v210921100202", "210921100202", Tier::kVillage}, m).code(),
            common::StatusCode::kPermissionDenied);
}

// ---- the audit tables ----

TEST(EventStoreAuditTest, RefusalsKeepTheNewestTenThousandNewestFirst) {
  common::FakeClock clock(1737705600000);
  auto n = MakeNode("t210921100", "210921100000", Tier::kTownship, &clock);
  auto* store = n->replica->store();
  ASSERT_TRUE(store->BeginBatch().ok());
  for (size_t i = 0; i < kMaxAuditRows + 5; ++i) {
    ASSERT_TRUE(store
                    ->RecordRefusal({static_cast<int64_t>(i), "v210921100202",
                                     "v.00000000000a." + std::to_string(i + 1), "210921100202-20250124-x-1",
                                     "permission_denied", "case …: rule step"})
                    .ok());
  }
  ASSERT_TRUE(store->CommitBatch().ok());
  auto all = store->Refusals();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), kMaxAuditRows);
  EXPECT_EQ(all->front().at_ms, static_cast<int64_t>(kMaxAuditRows + 4));  // newest first
  EXPECT_EQ(all->back().at_ms, 5);                                         // the oldest five are gone
  auto three = store->Refusals(3);
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[2].event_id, "v.00000000000a." + std::to_string(kMaxAuditRows + 3));
  // Outside a batch it is durable on its own, and survives a reopen of the image.
  ASSERT_TRUE(store->RecordRefusal({1, "p", "e", "c", "permission_denied", "r"}).ok());
  auto image = store->Snapshot();
  ASSERT_TRUE(image.ok());
  StoreOptions o;
  o.node_id = "t210921100";
  o.region = "210921100000";
  o.tier = Tier::kTownship;
  o.image = *image;
  auto reopened = EventStore::Open(o);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Refusals(1)->front().event_id, "e");
}

TEST(EventStoreAuditTest, AlertsAreBoundedAndARepeatIsNotRecordedTwice) {
  common::FakeClock clock(1737705600000);
  auto n = MakeNode("t210921100", "210921100000", Tier::kTownship, &clock);
  auto* store = n->replica->store();
  ASSERT_TRUE(store->RecordAlert({1, "v1", "history_rewritten", 5, "x"}).ok());
  ASSERT_TRUE(store->RecordAlert({2, "v1", "history_rewritten", 5, "x"}).ok());  // the same again
  ASSERT_TRUE(store->RecordAlert({3, "v2", "history_rewritten", 5, "x"}).ok());
  ASSERT_TRUE(store->RecordAlert({4, "v1", "history_differs", 5, "y"}).ok());
  auto a = *store->Alerts();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].kind, "history_differs");
  EXPECT_EQ(a[2].at_ms, 1);
  ASSERT_TRUE(store->BeginBatch().ok());
  for (size_t i = 0; i < kMaxAuditRows; ++i) {
    ASSERT_TRUE(store->RecordAlert({10, "v3", "history_rewritten", static_cast<int64_t>(i + 1), ""}).ok());
  }
  ASSERT_TRUE(store->CommitBatch().ok());
  EXPECT_EQ(store->Alerts()->size(), kMaxAuditRows);
  EXPECT_EQ(store->Alerts()->back().node, "v3");
}

// ---- history alerts at the parent ----

class SyncHistoryTest : public ::testing::Test {
 protected:
  SyncReport Sync(TestNode* child, TestNode* parent) {
    TestLink link(parent, child->identity(), &rng_);
    Replicator r(child->replica.get());
    auto rep = r.SyncOnce(parent->id, &link);
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    return rep.ok() ? *rep : SyncReport{};
  }
  std::unique_ptr<TestNode> Reopen(TestNode* n, const std::string& image, const std::string& incarnation) {
    auto out = std::make_unique<TestNode>();
    out->id = n->id;
    out->region = n->region;
    out->tier = n->tier;
    StoreOptions o;
    o.node_id = n->id;
    o.region = n->region;
    o.tier = n->tier;
    o.incarnation = incarnation;
    o.synchronous_full = false;
    o.image = image;
    auto store = EventStore::Open(o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    out->replica = std::make_unique<Replica>(std::move(store).value(), &clock_);
    out->service = std::make_unique<SyncService>(out->replica.get());
    return out;
  }
  void File(TestNode* v, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(v->replica->CreateCase(v->region, SampleCreateBody(), "agent1", Role::kAgent).ok());
    }
  }
  std::vector<std::string> Kinds(TestNode* parent) {
    std::vector<std::string> out;
    const std::vector<HistoryAlert> alerts = *parent->replica->store()->Alerts();
    for (const auto& a : alerts) out.push_back(a.kind);
    return out;
  }

  common::FakeClock clock_{1737705600000};
  std::mt19937_64 rng_{3};
  std::unique_ptr<TestNode> town_ =
      MakeNode("t210921100", "210921100000", Tier::kTownship, &clock_, "0000000000b1");
  std::unique_ptr<TestNode> village_ =
      MakeNode("v210921100202", "210921100202", Tier::kVillage, &clock_, "0000000000a1");
};

// A child that rewrote its log (here: dropped one of its events and recomputed the chain and
// its checkpoint, as a tamperer with the store would) is reported, and the safe behaviour
// stays: the push is rewound, the child resends, and nothing the parent held is lost.
TEST_F(SyncHistoryTest, ChildThatRewroteItsHistoryIsReportedAndNothingIsLost) {
  File(village_.get(), 3);
  Sync(village_.get(), town_.get());
  const LogPosition recorded = town_->replica->store()->GetPeer(village_->id)->received;
  ASSERT_EQ(recorded.seq, 3);
  // The rewritten log: the same first event, a new second and third, so seq 3 has another
  // chain; the forger's push checkpoint points at its own seq 3.
  auto forged = MakeNode("v210921100202", "210921100202", Tier::kVillage, &clock_, "0000000000a2");
  {
    auto* fs = forged->replica->store();
    ASSERT_TRUE(fs->BeginBatch().ok());
    std::vector<StoredEvent> rows;
    LogPosition scanned;
    bool more = false;
    ASSERT_TRUE(village_->replica->store()
                    ->ReadLog(0, "", true, "", 0, 10, 1 << 20, 100, &rows, &scanned, &more)
                    .ok());
    ASSERT_TRUE(fs->Insert(*DecodeEvent(rows[0].bytes), "").ok());
    ASSERT_TRUE(fs->CommitBatch().ok());
  }
  File(forged.get(), 2);
  PeerState p = *forged->replica->store()->GetPeer(town_->id);
  p.pushed = *forged->replica->store()->End();
  ASSERT_EQ(p.pushed.seq, 3);
  ASSERT_NE(p.pushed.chain, recorded.chain);
  ASSERT_TRUE(forged->replica->store()->PutPeer(p).ok());
  const int64_t held = *town_->replica->store()->EventCount();

  SyncReport r = Sync(forged.get(), town_.get());
  EXPECT_GE(r.rewinds, 1);
  auto alerts = *town_->replica->store()->Alerts();
  ASSERT_FALSE(alerts.empty());
  EXPECT_EQ(alerts.back().kind, "history_rewritten");
  EXPECT_EQ(alerts.back().node, village_->id);
  EXPECT_EQ(alerts.back().seq, 3);
  EXPECT_NE(alerts.back().detail.find("rewritten"), std::string::npos) << alerts.back().detail;
  // The child then resends from the start (saying it was restored): recorded as well.
  EXPECT_EQ(Kinds(town_.get()), (std::vector<std::string>{"history_differs", "history_rewritten"}));
  // Nothing the parent held is lost; the child's new events arrived.
  EXPECT_EQ(*town_->replica->store()->EventCount(), held + 2);
  EXPECT_TRUE(town_->replica->store()->VerifyChain().ok());
}

// A child restored from its own old backup is not reported as tampering: it announces the
// restore (restart with a full pull) and the parent records "history differs".
TEST_F(SyncHistoryTest, RestoredChildIsHistoryDiffersNotRewritten) {
  File(village_.get(), 2);
  Sync(village_.get(), town_.get());
  std::string backup = *village_->replica->store()->Snapshot();
  File(village_.get(), 2);
  Sync(village_.get(), town_.get());
  // The village's disk dies; it comes back from the backup and files one more case.
  auto restored = Reopen(village_.get(), backup, "0000000000a3");
  File(restored.get(), 1);
  SyncReport r = Sync(restored.get(), town_.get());
  EXPECT_TRUE(r.restored);
  EXPECT_EQ(Kinds(town_.get()), (std::vector<std::string>{"history_differs"}));
  EXPECT_EQ(town_->replica->store()->Alerts()->front().seq, 4);  // the township had its log up to seq 4
  EXPECT_EQ(*restored->replica->store()->EventCount(), 5);       // everything came back
  EXPECT_EQ(*town_->replica->store()->EventCount(), 5);
}

// A restored parent raises no alert: its children resend without claiming a restore of their own.
TEST_F(SyncHistoryTest, RestoredParentRaisesNoAlert) {
  File(village_.get(), 2);
  Sync(village_.get(), town_.get());
  std::string backup = *town_->replica->store()->Snapshot();
  File(village_.get(), 2);
  Sync(village_.get(), town_.get());
  auto restored = Reopen(town_.get(), backup, "0000000000b2");
  SyncReport r = Sync(village_.get(), restored.get());
  EXPECT_GE(r.rewinds + r.resets, 1);
  EXPECT_TRUE(restored->replica->store()->Alerts()->empty());
  EXPECT_EQ(*restored->replica->store()->EventCount(), 4);
}

// An ordinary lost reply (the child's base is behind the record, same history) is no alert.
TEST_F(SyncHistoryTest, LostReplyIsNoAlert) {
  File(village_.get(), 2);
  Sync(village_.get(), town_.get());
  TestLink lossy(town_.get(), village_->identity(), &rng_);
  lossy.faults().drop_reply = 1.0;
  File(village_.get(), 1);
  Replicator rep(village_->replica.get());
  EXPECT_FALSE(rep.SyncOnce(town_->id, &lossy).ok());  // applied, reply lost
  Sync(village_.get(), town_.get());
  EXPECT_TRUE(town_->replica->store()->Alerts()->empty());
  EXPECT_EQ(*town_->replica->store()->EventCount(), 3);
}

}  // namespace
}  // namespace daiban::sync
