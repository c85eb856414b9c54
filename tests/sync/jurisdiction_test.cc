// Jurisdiction and admission at the receiving node, table by table, against real stores and
// the real SyncService: who may write an event on which case, who reads which case, and what
// a refused event leaves behind (nothing in the store, a row in the refusal audit).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sync/admit.h"
#include "sync/codec.h"
#include "sync/protocol.h"
#include "tests/sync/test_net.h"

namespace daiban::sync {
namespace {

using common::Json;
using common::Role;
using common::Tier;
using testing::MakeNode;
using testing::SampleCreateBody;
using testing::TestLink;
using testing::TestNode;

// Real codes of the Fuxin tree (shared/data/regions):
//   210921 阜新蒙古族自治县: 210921100 阜新镇 (villages 202 他本扎兰, 203 张家洼),
//                           210921102 东梁镇 (village 200 东梁)
//   210922 彰武县:          210922101 哈尔套镇 (village 202 富有)
struct NodeSpec {
  const char* key;
  const char* id;
  const char* region;
  Tier tier;
  const char* parent;  // key of its parent; "" for the hub
};
constexpr NodeSpec kNodes[] = {
    {"hub", "hub", "210900000000", Tier::kCity, ""},
    {"C1", "c210921", "210921000000", Tier::kCounty, "hub"},
    {"C2", "c210922", "210922000000", Tier::kCounty, "hub"},
    {"T1", "t210921100", "210921100000", Tier::kTownship, "C1"},
    {"T2", "t210921102", "210921102000", Tier::kTownship, "C1"},
    {"T4", "t210922101", "210922101000", Tier::kTownship, "C2"},
    {"V1", "v210921100202", "210921100202", Tier::kVillage, "T1"},
    {"V2", "v210921100203", "210921100203", Tier::kVillage, "T1"},
    {"V3", "v210921102200", "210921102200", Tier::kVillage, "T2"},
    {"V4", "v210922101202", "210922101202", Tier::kVillage, "T4"},
};

class Net {
 public:
  Net() {
    int i = 0;
    for (const auto& s : kNodes) {
      char inc[13];
      std::snprintf(inc, sizeof inc, "0000000000%02x", ++i);
      nodes_[s.key] = MakeNode(s.id, s.region, s.tier, &clock_, inc);
      parent_[s.key] = s.parent;
    }
  }
  TestNode* operator[](const std::string& key) { return nodes_.at(key).get(); }
  std::string ParentOf(const std::string& key) const { return parent_.at(key); }
  common::FakeClock* clock() { return &clock_; }

  // Syncs child with target until drained.
  SyncReport Sync(const std::string& child, const std::string& target) {
    TestLink link((*this)[target], (*this)[child]->identity(), &rng_);
    Replicator r((*this)[child]->replica.get());
    auto rep = r.SyncOnce((*this)[target]->id, &link);
    EXPECT_TRUE(rep.ok()) << child << " -> " << target << ": " << rep.status().ToString();
    return rep.ok() ? *rep : SyncReport{};
  }

 private:
  common::FakeClock clock_{1737705600000};  // 2025-01-24 16:00 CST
  std::mt19937_64 rng_{7};
  std::map<std::string, std::unique_ptr<TestNode>> nodes_;
  std::map<std::string, std::string> parent_;
};

std::string Region(const std::string& key) {
  for (const auto& s : kNodes) {
    if (key == s.key) return s.region;
  }
  return key;  // a literal region code
}

// ---- writes ----

// One pushed event and the receiver's verdict. The event is made "at" `origin` (default: the
// caller) and pushed by `caller` to `receiver` (default: the caller's parent) with the real
// Replicator; it is put straight into the caller's log, as a forger (or a relay) would.
struct WriteRow {
  const char* name;
  const char* caller;
  const char* case_region;  // a node key (its region) or a literal code
  bool allowed;
  const char* rule = "";  // words the refusal's reason must hold
  const char* kind = "case.comment";
  const char* action = "";        // case.step: the action
  const char* accept_level = "";  // case.create: the body's accept_level
  const char* origin = "";        // node key; "" = the caller
  int tier = -1;                  // the actor's claimed tier; -1 = the origin's real tier
  int role = -1;                  // -1: an agent at a village, a clerk elsewhere
  const char* receiver = "";      // node key; "" = the caller's parent
  bool made_here = false;         // id in the receiver's own current incarnation
};

std::ostream& operator<<(std::ostream& os, const WriteRow& r) { return os << r.name; }

constexpr int kClerk = static_cast<int>(Role::kClerk);
constexpr int kAgent = static_cast<int>(Role::kAgent);
constexpr int kTownshipTier = static_cast<int>(Tier::kTownship);
constexpr int kCountyTier = static_cast<int>(Tier::kCounty);

const WriteRow kWriteRows[] = {
    // Within the caller's subtree, or made above it and handed back.
    {.name = "VillageOnItsOwnCase", .caller = "V1", .case_region = "V1", .allowed = true},
    {.name = "TownshipOnItsOwnCase", .caller = "T1", .case_region = "T1", .allowed = true},
    {.name = "TownshipOnChildVillageCase", .caller = "T1", .case_region = "V1", .allowed = true},
    {.name = "CountyOnGrandchildVillageCase", .caller = "C1", .case_region = "V1", .allowed = true},
    {.name = "CountyRelaysAnEventMadeInItsSubtree",
     .caller = "C1",
     .case_region = "V1",
     .allowed = true,
     .origin = "V1"},
    {.name = "VillageRelaysItsTownshipsEventToTheCountyOnFailover",
     .caller = "V1",
     .case_region = "V1",
     .allowed = true,
     .origin = "T1",
     .receiver = "C1"},
    {.name = "VillageHandsTheCountysEventBackToItsTownship",
     .caller = "V1",
     .case_region = "V1",
     .allowed = true,
     .origin = "C1"},
    // Outside it.
    {.name = "VillageOnSiblingVillageCase",
     .caller = "V1",
     .case_region = "V2",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "VillageOnCousinVillageInAnotherTownship",
     .caller = "V1",
     .case_region = "V3",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "TownshipOnAnotherTownshipsCase",
     .caller = "T1",
     .case_region = "T2",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "TownshipOnAnotherTownshipsVillageCase",
     .caller = "T1",
     .case_region = "V3",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "TownshipOnAnotherCountysCase",
     .caller = "T1",
     .case_region = "V4",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "CountyOnAnotherCountysCase",
     .caller = "C1",
     .case_region = "V4",
     .allowed = false,
     .rule = "outside the jurisdiction"},
    {.name = "CountyRelaysAnEventFromOutsideItsSubtree",
     .caller = "C1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule origin line",
     .origin = "T4"},
    {.name = "CountyRelaysAnotherCountysEventOnThatCountysCase",
     .caller = "C1",
     .case_region = "V4",
     .allowed = false,
     .rule = "outside the jurisdiction",
     .origin = "T4"},
    {.name = "VillageRelaysASiblingsEventOnItsOwnCase",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule origin line",
     .origin = "V2"},
    {.name = "TownshipRelaysAVillageEventOnTheTownshipsCase",
     .caller = "T1",
     .case_region = "T1",
     .allowed = false,
     .rule = "rule origin covers",
     .origin = "V1"},
    // Roles and tiers: what the case machine lets each (tier, role) ever do.
    {.name = "VillageAgentSubmits",
     .caller = "V1",
     .case_region = "V1",
     .allowed = true,
     .kind = "case.step",
     .action = "submit"},
    {.name = "VillageAgentWithdraws",
     .caller = "V1",
     .case_region = "V1",
     .allowed = true,
     .kind = "case.step",
     .action = "withdraw"},
    {.name = "VillageAgentCompletes",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule step",
     .kind = "case.step",
     .action = "complete"},
    {.name = "VillageAgentAccepts",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule step",
     .kind = "case.step",
     .action = "accept"},
    {.name = "VillageAgentDecides",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule step",
     .kind = "case.step",
     .action = "decide"},
    {.name = "VillageClerkAccepts",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule step",
     .kind = "case.step",
     .action = "accept",
     .role = kClerk},
    {.name = "TownshipClerkAccepts",
     .caller = "T1",
     .case_region = "V1",
     .allowed = true,
     .kind = "case.step",
     .action = "accept"},
    {.name = "CountyClerkDecides",
     .caller = "C1",
     .case_region = "V1",
     .allowed = true,
     .kind = "case.step",
     .action = "decide"},
    {.name = "TownshipAgentDecides",
     .caller = "T1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule step",
     .kind = "case.step",
     .action = "decide",
     .role = kAgent},
    {.name = "VillageEventClaimsTownshipTier",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule tier",
     .kind = "case.step",
     .action = "accept",
     .tier = kTownshipTier,
     .role = kClerk},
    {.name = "TownshipEventClaimsCountyTier",
     .caller = "T1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule tier",
     .kind = "case.step",
     .action = "decide",
     .tier = kCountyTier},
    {.name = "UnknownStepAction",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "not a case step",
     .kind = "case.step",
     .action = "approve_all"},
    {.name = "SupervisorComments",
     .caller = "T1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule role",
     .role = static_cast<int>(Role::kSupervisor)},
    {.name = "AdminEditsACase",
     .caller = "C1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule role",
     .kind = "case.edit",
     .role = static_cast<int>(Role::kAdmin)},
    {.name = "SystemTakesAStep",
     .caller = "T1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule role",
     .kind = "case.step",
     .action = "accept",
     .role = static_cast<int>(Role::kSystem)},
    {.name = "VillageMakesMasterData",
     .caller = "V1",
     .case_region = "",
     .allowed = false,
     .rule = "only at the city hub",
     .kind = "master.catalog_item"},
    {.name = "VillageFilesAnItemTheTownshipAccepts",
     .caller = "V1",
     .case_region = "V1",
     .allowed = true,
     .kind = "case.create",
     .accept_level = "township"},
    {.name = "VillageFilesAnItemAVillageWouldAccept",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule create",
     .kind = "case.create",
     .accept_level = "village"},
    {.name = "CountyFilesAnItemTheTownshipAccepts",
     .caller = "C1",
     .case_region = "V1",
     .allowed = false,
     .rule = "rule create",
     .kind = "case.create",
     .accept_level = "township"},
    // An event in the receiver's own name and current run that the receiver never made.
    {.name = "ChildForgesAnEventOfTheReceiversCurrentRun",
     .caller = "V1",
     .case_region = "V1",
     .allowed = false,
     .rule = "never made it",
     .origin = "T1",
     .made_here = true},
};

class JurisdictionWriteTest : public ::testing::TestWithParam<WriteRow> {};

TEST_P(JurisdictionWriteTest, ReceiverAdmitsOrRefuses) {
  const WriteRow& row = GetParam();
  Net net;
  TestNode* caller = net[row.caller];
  const std::string receiver_key = *row.receiver ? row.receiver : net.ParentOf(row.caller);
  TestNode* receiver = net[receiver_key];
  TestNode* origin = *row.origin ? net[row.origin] : caller;

  Event e;
  e.kind = row.kind;
  if (e.kind.rfind(kKindMasterPrefix, 0) == 0) {
    e.body = {{"code", "X-1"}};  // case "" and region "": master data
  } else {
    e.region = Region(row.case_region);
    e.case_id = e.region + "-20250124-jtest-1";
  }
  e.origin = origin->id;
  e.origin_region = origin->region;
  const Role role = row.role >= 0                    ? static_cast<Role>(row.role)
                    : origin->tier == Tier::kVillage ? Role::kAgent
                                                     : Role::kClerk;
  e.actor = {"user1", role, row.tier >= 0 ? static_cast<Tier>(row.tier) : origin->tier};
  if (e.kind == kKindStep) {
    e.body = {{"action", row.action}, {"date", "2025-01-24"}};
  } else if (e.kind == kKindComment) {
    e.body = {{"text", "备注"}};
  } else if (e.kind == kKindEdit) {
    e.body = {{"fields", {{"note", "改"}}}};
  } else if (e.kind == kKindCreate) {
    e.body = SampleCreateBody();
    e.body["accept_level"] = row.accept_level;
  }
  e.hlc = common::MakeHlc(net.clock()->NowMillis(), 0);
  const std::string inc = row.made_here ? receiver->replica->store()->incarnation() : "00000000abcd";
  e.id = MakeEventId(e.origin, inc, 7);
  auto* cs = caller->replica->store();
  ASSERT_TRUE(cs->BeginBatch().ok());
  ASSERT_TRUE(cs->Insert(e, "").ok());
  ASSERT_TRUE(cs->CommitBatch().ok());

  auto* rs = receiver->replica->store();
  const int64_t events_before = *rs->EventCount();
  const std::vector<std::string> ids_before = *rs->AllEventIds();
  const size_t refusals_before = rs->Refusals()->size();
  SyncReport rep = net.Sync(row.caller, receiver_key);

  if (row.allowed) {
    EXPECT_EQ(rep.refused, 0) << "quarantined at the caller: " << cs->QuarantineList()->size();
    EXPECT_EQ(*rs->EventCount(), events_before + 1);
    EXPECT_TRUE(*rs->Contains(e.id));
    EXPECT_EQ(rs->Refusals()->size(), refusals_before);
    return;
  }
  // Refused: the receiving store is unchanged, the refusal is audited there and quarantined
  // at the caller, and the caller's queue is not stuck.
  EXPECT_EQ(rep.refused, 1);
  EXPECT_EQ(*rs->EventCount(), events_before);
  EXPECT_EQ(*rs->AllEventIds(), ids_before);
  auto audit = *rs->Refusals();
  ASSERT_EQ(audit.size(), refusals_before + 1);
  EXPECT_EQ(audit[0].event_id, e.id);
  EXPECT_EQ(audit[0].peer, caller->id);
  EXPECT_EQ(audit[0].case_id, e.case_id);
  EXPECT_EQ(audit[0].code,
            std::string(row.rule) == "not a case step" ? "invalid_argument" : "permission_denied");
  EXPECT_NE(audit[0].reason.find(row.rule), std::string::npos) << audit[0].reason;
  if (!e.is_master()) {
    EXPECT_NE(audit[0].reason.find(e.case_id), std::string::npos) << audit[0].reason;
  }
  auto q = *cs->QuarantineList();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].id, e.id);
  EXPECT_EQ(rep.pending, 0);
}

INSTANTIATE_TEST_SUITE_P(Jurisdiction, JurisdictionWriteTest, ::testing::ValuesIn(kWriteRows),
                         [](const ::testing::TestParamInfo<WriteRow>& i) {
                           return std::string(i.param.name) + (i.param.allowed ? "_Allowed" : "_Denied");
                         });

// ---- reads ----

struct ReadRow {
  const char* name;
  const char* caller;
  const char* case_owner;  // the node that filed the case (in its own region)
  bool visible;
};

std::ostream& operator<<(std::ostream& os, const ReadRow& r) { return os << r.name; }

const ReadRow kReadRows[] = {
    {"VillageReadsItsOwnCase", "V1", "V1", true},
    {"VillageReadsSiblingVillageCase", "V1", "V2", false},
    {"VillageReadsCousinVillageCase", "V1", "V3", false},
    {"VillageReadsItsTownshipsOwnCase", "V1", "T1", false},
    {"VillageReadsAnotherCountysCase", "V1", "V4", false},
    {"TownshipReadsItsOwnCase", "T1", "T1", true},
    {"TownshipReadsChildVillageCase", "T1", "V1", true},
    {"TownshipReadsAnotherTownshipsVillageCase", "T1", "V3", false},
    {"TownshipReadsAnotherCountysCase", "T1", "V4", false},
    {"CountyReadsGrandchildVillageCase", "C1", "V1", true},
    {"CountyReadsChildTownshipCase", "C1", "T1", true},
    {"CountyReadsAnotherCountysCase", "C1", "V4", false},
};

class JurisdictionReadTest : public ::testing::TestWithParam<ReadRow> {};

TEST_P(JurisdictionReadTest, PullHoldsOnlyTheCallersSubtree) {
  const ReadRow& row = GetParam();
  Net net;
  common::WorkCalendar calendar;
  // Every village and township T1 file a case; everything goes up to the hub.
  std::map<std::string, std::string> case_of;
  for (const char* owner : {"V1", "V2", "V3", "V4", "T1"}) {
    TestNode* n = net[owner];
    auto c =
        n->replica->CreateCase(n->region, SampleCreateBody(), n->tier == Tier::kVillage ? "agent1" : "clerk1",
                               n->tier == Tier::kVillage ? Role::kAgent : Role::kClerk);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    case_of[owner] = c->case_id;
  }
  for (const char* child : {"V1", "V2", "V3", "V4", "T1", "T2", "T4", "C1", "C2"})
    net.Sync(child, net.ParentOf(child));
  ASSERT_EQ(net["hub"]->replica->store()->CaseIds()->size(), 5u);

  // What the caller's parent hands it on a full pull from the start (everything it would
  // ever send, including what came from the caller).
  TestNode* caller = net[row.caller];
  TestNode* parent = net[net.ParentOf(row.caller)];
  Json request = {{"v", kProtocolVersionMax},
                  {"type", "sync"},
                  {"from", caller->id},
                  {"push",
                   {{"base", {{"seq", 0}, {"chain", ""}}},
                    {"last", {{"seq", 0}, {"chain", ""}}},
                    {"events", Json::array()}}},
                  {"pull", {{"cursor", {{"seq", 0}, {"chain", ""}}}, {"ack_cursor", 0}, {"full", true}}}};
  HandleResult r = parent->service->Handle(caller->identity(), EncodeFrame(request));
  ASSERT_EQ(r.code, common::StatusCode::kOk);
  Json reply = *DecodeFrame(r.frame);
  ASSERT_FALSE(reply["pull"]["more"].get<bool>());
  const std::string prefix = caller->replica->prefix();
  bool seen = false;
  for (const auto& ev : reply["pull"]["events"]) {
    const std::string region = ev["region"];
    EXPECT_TRUE(region.empty() || region.compare(0, prefix.size(), prefix) == 0)
        << row.caller << " was sent an event of case " << ev["case"] << " outside " << prefix;
    seen = seen || ev["case"] == case_of[row.case_owner];
  }
  EXPECT_EQ(seen, row.visible);
  // And after a real sync, the caller holds the case exactly when it is visible.
  net.Sync(row.caller, net.ParentOf(row.caller));
  EXPECT_EQ(caller->replica->store()->GetCase(case_of[row.case_owner]).ok(), row.visible);
}

INSTANTIATE_TEST_SUITE_P(Jurisdiction, JurisdictionReadTest, ::testing::ValuesIn(kReadRows),
                         [](const ::testing::TestParamInfo<ReadRow>& i) {
                           return std::string(i.param.name) + (i.param.visible ? "_Visible" : "_Hidden");
                         });

}  // namespace
}  // namespace daiban::sync
