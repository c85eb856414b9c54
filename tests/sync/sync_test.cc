// Sync between real stores over an in-memory link: the protocol's behaviour case by case.
// The deterministic simulator (simulator_test.cc) checks the same properties at random.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/catalog.h"
#include "common/region.h"
#include "sync/codec.h"
#include "sync/merge.h"
#include "sync/protocol.h"
#include "tests/support/case_story.h"
#include "tests/sync/test_net.h"

namespace daiban::sync {
namespace {

using common::CaseAction;
using common::Json;
using common::Role;
using common::StatusCode;
using common::Tier;
using testing::MakeNode;
using testing::SampleCreateBody;
using testing::TestLink;
using testing::TestNode;

// Real codes from the shipped Fuxin tree: 阜新蒙古族自治县 (210921), 阜新镇 (210921100), 东梁镇 (210921102).
constexpr const char* kVillage = "210921100202";
constexpr const char* kVillage2 = "210921100203";
constexpr const char* kTownship = "210921100000";
constexpr const char* kTownship2 = "210921102000";
constexpr const char* kCounty = "210921000000";
constexpr const char* kCity = "210900000000";

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = MakeNode("hub", kCity, Tier::kCity, &clock_, "0000000000c1");
    county_ = MakeNode("c210921", kCounty, Tier::kCounty, &clock_, "0000000000c2");
    town_ = MakeNode("t210921100", kTownship, Tier::kTownship, &clock_, "0000000000c3");
    town2_ = MakeNode("t210921102", kTownship2, Tier::kTownship, &clock_, "0000000000c4");
    village_ = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock_, "0000000000c5");
    village2_ = MakeNode("v210921100203", kVillage2, Tier::kVillage, &clock_, "0000000000c6");
  }

  // Syncs child with parent until drained; fails the test on error.
  SyncReport Sync(TestNode* child, TestNode* parent) {
    TestLink link(parent, child->identity(), &rng_);
    Replicator r(child->replica.get());
    auto rep = r.SyncOnce(parent->id, &link);
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    last_link_exchanges_ = link.exchanges();
    last_link_bytes_ = link.bytes();
    return rep.ok() ? *rep : SyncReport{};
  }

  std::string Digest(TestNode* n, const std::string& case_id) {
    auto f = n->replica->store()->GetCase(case_id);
    return f.ok() ? f->digest : "missing: " + f.status().ToString();
  }
  Json State(TestNode* n, const std::string& case_id) {
    auto f = n->replica->store()->GetCase(case_id);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? f->state : Json();
  }

  std::string File(TestNode* village, const std::string& name = "张三") {
    auto e = village->replica->CreateCase(village->region, SampleCreateBody(name), "agent1", Role::kAgent);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto s = village->replica->Step(e->case_id, CaseAction::kSubmit, Json::object(), "agent1", Role::kAgent, calendar_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return e->case_id;
  }

  common::FakeClock clock_{1737705600000};  // 2025-01-24 08:00 UTC (16:00 CST), a Friday
  common::WorkCalendar calendar_;
  std::mt19937_64 rng_{42};
  std::unique_ptr<TestNode> hub_, county_, town_, town2_, village_, village2_;
  int64_t last_link_exchanges_ = 0, last_link_bytes_ = 0;
};

TEST_F(SyncTest, VillageCaseReachesTownshipAndAcceptanceComesBack) {
  std::string id = File(village_.get());
  SyncReport up = Sync(village_.get(), town_.get());
  EXPECT_EQ(up.pushed, 2);
  EXPECT_TRUE(up.complete);
  EXPECT_EQ(Digest(town_.get(), id), Digest(village_.get(), id));
  ASSERT_TRUE(town_->replica->Step(id, CaseAction::kAccept, Json::object(), "clerk1", Role::kClerk, calendar_).ok());
  SyncReport down = Sync(village_.get(), town_.get());
  EXPECT_EQ(down.pulled, 1);
  EXPECT_EQ(State(village_.get(), id)["status"], "accepted");
  EXPECT_EQ(State(village_.get(), id)["due_date"], "2025-02-21");  // 20 plain working days (empty calendar)
  EXPECT_EQ(Digest(town_.get(), id), Digest(village_.get(), id));
}

TEST_F(SyncTest, RelaysUpToTheHubAndAcknowledgesEndToEnd) {
  std::string id = File(village_.get());
  auto state = [&] { return *village_->replica->SyncStateOf(id); };
  EXPECT_EQ(state(), CaseSyncState::kLocalOnly);
  Sync(village_.get(), town_.get());
  EXPECT_EQ(state(), CaseSyncState::kAtParent);
  Sync(town_.get(), county_.get());
  Sync(county_.get(), hub_.get());
  EXPECT_EQ(Digest(hub_.get(), id), Digest(village_.get(), id));
  // The hub's acknowledgement flows back down hop by hop.
  Sync(county_.get(), hub_.get());
  Sync(town_.get(), county_.get());
  Sync(village_.get(), town_.get());
  EXPECT_EQ(state(), CaseSyncState::kAtHub);
}

TEST_F(SyncTest, NoOpRoundIsOneSmallExchange) {
  File(village_.get());
  Sync(village_.get(), town_.get());
  Sync(village_.get(), town_.get());
  SyncReport again = Sync(village_.get(), town_.get());
  EXPECT_EQ(again.rounds, 1);
  EXPECT_EQ(last_link_exchanges_, 1);
  EXPECT_LT(last_link_bytes_, 1024);  // request + reply, compressed; the benchmark goal is 2 KB
}

TEST_F(SyncTest, SiblingsNeverSeeEachOthersCases) {
  std::string a = File(village_.get(), "甲");
  std::string b = File(village2_.get(), "乙");
  Sync(village_.get(), town_.get());
  Sync(village2_.get(), town_.get());
  Sync(village_.get(), town_.get());
  EXPECT_TRUE(village_->replica->store()->GetCase(a).ok());
  EXPECT_EQ(village_->replica->store()->GetCase(b).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(village2_->replica->store()->GetCase(a).status().code(), StatusCode::kNotFound);
}

TEST_F(SyncTest, EventOutsideSendersJurisdictionIsRefusedAndQuarantinedRestApplied) {
  // township 2 writes on a case of township 1's village (possible only by forging)
  std::string good = File(town2_.get()->replica ? village2_.get() : village2_.get());
  (void)good;
  Event forged;
  forged.case_id = std::string(kVillage) + "-20250124-forged-1";
  forged.region = kVillage;
  forged.kind = "case.comment";
  forged.body = {{"text", "forged"}};
  forged.origin = town2_->id;
  forged.origin_region = kTownship2;
  forged.actor = {"clerk9", Role::kClerk, Tier::kTownship};
  forged.hlc = common::MakeHlc(clock_.NowMillis(), 0);
  forged.id = MakeEventId(town2_->id, town2_->replica->store()->incarnation(), 99);
  auto* store = town2_->replica->store();
  ASSERT_TRUE(store->BeginBatch().ok());
  ASSERT_TRUE(store->Insert(forged, "").ok());
  ASSERT_TRUE(store->CommitBatch().ok());
  auto legit = town2_->replica->CreateCase(kTownship2, SampleCreateBody("丙"), "clerk2", Role::kClerk);
  ASSERT_TRUE(legit.ok()) << legit.status().ToString();
  SyncReport r = Sync(town2_.get(), county_.get());
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(r.pushed, 1);
  EXPECT_FALSE(*county_->replica->store()->Contains(forged.id));
  EXPECT_TRUE(*county_->replica->store()->Contains(legit->id));
  auto q = store->QuarantineList();
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].id, forged.id);
  EXPECT_NE((*q)[0].reason.find("outside the jurisdiction"), std::string::npos) << (*q)[0].reason;
  // The queue is not stuck: nothing is pending and the next round is a no-op.
  EXPECT_EQ(r.pending, 0);
}

TEST_F(SyncTest, ConcurrentFieldEditIsAVisibleConflictUntilSettled) {
  std::string id = File(village_.get());
  Sync(village_.get(), town_.get());
  ASSERT_TRUE(village_->replica->Append(id, kVillage, kKindEdit, {{"fields", {{"applicant_phone", "13900000001"}}}},
                                        "agent1", Role::kAgent).ok());
  clock_.Advance(1000);
  ASSERT_TRUE(town_->replica->Append(id, kVillage, kKindEdit, {{"fields", {{"applicant_phone", "13900000002"}}}},
                                     "clerk1", Role::kClerk).ok());
  Sync(village_.get(), town_.get());
  Json s = State(village_.get(), id);
  EXPECT_EQ(Digest(village_.get(), id), Digest(town_.get(), id));
  ASSERT_EQ(s["conflicts"].size(), 1u);
  EXPECT_EQ(s["conflicts"][0]["field"], "applicant_phone");
  EXPECT_EQ(s["fields"]["applicant_phone"], "13900000002");  // later clock wins
  EXPECT_EQ(s["conflicts"][0]["candidates"].size(), 2u);
  // A clerk settles it; the settling edit has both heads as parents.
  ASSERT_TRUE(town_->replica->Append(id, kVillage, kKindEdit, {{"fields", {{"applicant_phone", "13900000001"}}}},
                                     "clerk1", Role::kClerk).ok());
  Sync(village_.get(), town_.get());
  EXPECT_TRUE(State(village_.get(), id)["conflicts"].empty()) << State(village_.get(), id).dump(1);
  EXPECT_EQ(State(village_.get(), id)["fields"]["applicant_phone"], "13900000001");
  EXPECT_EQ(Digest(village_.get(), id), Digest(town_.get(), id));
}

TEST_F(SyncTest, ConcurrentMaterialsAndCommentsMergeAsAUnion) {
  std::string id = File(village_.get());
  Sync(village_.get(), town_.get());
  // Both sides add materials and a comment without seeing each other.
  ASSERT_TRUE(village_->replica->Append(id, kVillage, kKindMaterials, {{"add", {"户口簿"}}}, "agent1", Role::kAgent).ok());
  ASSERT_TRUE(village_->replica->Append(id, kVillage, kKindComment, {{"text", "村里收到户口簿"}}, "agent1", Role::kAgent).ok());
  clock_.Advance(1000);
  ASSERT_TRUE(town_->replica->Append(id, kVillage, kKindMaterials, {{"add", {"结婚证", "户口簿"}}}, "clerk1", Role::kClerk).ok());
  ASSERT_TRUE(town_->replica->Append(id, kVillage, kKindComment, {{"text", "镇里补收结婚证"}}, "clerk1", Role::kClerk).ok());
  Sync(village_.get(), town_.get());
  Json s = State(village_.get(), id);
  EXPECT_EQ(Digest(village_.get(), id), Digest(town_.get(), id));
  std::set<std::string> materials = s["materials"].get<std::set<std::string>>();
  EXPECT_TRUE(materials.count("户口簿") && materials.count("结婚证")) << s["materials"].dump();
  EXPECT_EQ(s["comments"].size(), 2u) << s["comments"].dump();
  EXPECT_TRUE(s["conflicts"].empty()) << "set-like data never conflicts: " << s["conflicts"].dump();
}

TEST_F(SyncTest, DecisionStandsOverConcurrentWithdrawal) {
  std::string id = File(village_.get());
  Sync(village_.get(), town_.get());
  ASSERT_TRUE(town_->replica->Step(id, CaseAction::kAccept, Json::object(), "c", Role::kClerk, calendar_).ok());
  ASSERT_TRUE(town_->replica->Step(id, CaseAction::kForward, Json::object(), "c", Role::kClerk, calendar_).ok());
  Sync(village_.get(), town_.get());
  Sync(town_.get(), county_.get());
  clock_.Advance(5000);
  ASSERT_TRUE(county_->replica->Step(id, CaseAction::kDecide, {{"approved", true}}, "d", Role::kClerk, calendar_).ok());
  // The village withdraws later by the clock, without having seen the decision.
  clock_.Advance(5000);
  ASSERT_TRUE(village_->replica->Step(id, CaseAction::kWithdraw, {{"reason", "居民撤回"}}, "a", Role::kAgent, calendar_).ok());
  Sync(village_.get(), town_.get());
  Sync(town_.get(), county_.get());
  Sync(town_.get(), county_.get());
  Sync(village_.get(), town_.get());
  Json s = State(village_.get(), id);
  EXPECT_EQ(s["status"], "decided");
  ASSERT_EQ(s["superseded"].size(), 1u);
  EXPECT_EQ(s["superseded"][0]["action"], "withdraw");
  EXPECT_EQ(Digest(village_.get(), id), Digest(county_.get(), id));
}

TEST_F(SyncTest, GrandparentFailoverAndReturnLoseAndDuplicateNothing) {
  std::string a = File(village_.get());
  Sync(village_.get(), town_.get());
  // Township goes dark; the village syncs with the county directly.
  std::string b = File(village_.get(), "李四");
  Sync(village_.get(), county_.get());
  EXPECT_TRUE(county_->replica->store()->GetCase(b).ok());
  // The township comes back and relays; the village returns to it.
  Sync(town_.get(), county_.get());
  Sync(village_.get(), town_.get());
  for (TestNode* n : {village_.get(), town_.get(), county_.get()}) {
    EXPECT_EQ(*n->replica->store()->EventCount(), 4) << n->id;
    EXPECT_EQ(Digest(n, b), Digest(village_.get(), b)) << n->id;
    EXPECT_EQ(Digest(n, a), Digest(village_.get(), a)) << n->id;
  }
}

// ---- bad input to the receiving side: a clear error, nothing stored changes ----

class BadInputTest : public SyncTest {
 protected:
  void SetUp() override {
    SyncTest::SetUp();
    case_ = File(village_.get());
    Sync(village_.get(), town_.get());
    before_ = *town_->replica->store()->AllEventIds();
    digest_ = Digest(town_.get(), case_);
  }
  void ExpectUnchanged() {
    EXPECT_EQ(*town_->replica->store()->AllEventIds(), before_);
    EXPECT_EQ(Digest(town_.get(), case_), digest_);
  }
  HandleResult Send(const Json& msg) { return town_->service->Handle(village_->identity(), EncodeFrame(msg)); }
  // A well-formed request that pushes `events` on top of what the township recorded.
  Json Request(Json events = Json::array()) {
    Json record = LogPositionToJson(town_->replica->store()->GetPeer(village_->id)->received);
    return {{"v", kProtocolVersionMax}, {"type", "sync"}, {"from", village_->id},
            {"push", {{"base", record}, {"last", record}, {"events", events}}},
            {"pull", {{"cursor", {{"seq", 0}, {"chain", ""}}}, {"ack_cursor", 0}}}};
  }
  std::string Message(const HandleResult& r) {
    auto j = DecodeFrame(r.frame);
    return j.ok() ? j->value("message", "") : "undecodable";
  }
  std::string case_, digest_;
  std::vector<std::string> before_;
};

TEST_F(BadInputTest, TruncatedFrameIsRefusedWhole) {
  std::string frame = EncodeFrame(Request());
  auto r = town_->service->Handle(village_->identity(), frame.substr(0, frame.size() - 3));
  EXPECT_EQ(r.code, StatusCode::kInvalidArgument);
  EXPECT_NE(Message(r).find("truncated"), std::string::npos) << Message(r);
  ExpectUnchanged();
}

TEST_F(BadInputTest, GarbageAndMalformedJsonAreRefused) {
  EXPECT_EQ(town_->service->Handle(village_->identity(), "hello").code, StatusCode::kInvalidArgument);
  EXPECT_EQ(Send(Json::array({1, 2})).code, StatusCode::kInvalidArgument);
  Json no_push = Request();
  no_push.erase("push");
  auto r = Send(no_push);
  EXPECT_EQ(r.code, StatusCode::kInvalidArgument);
  EXPECT_NE(Message(r).find("push"), std::string::npos);
  ExpectUnchanged();
}

TEST_F(BadInputTest, UnknownVersionIsUnimplementedNotACrash) {
  Json m = Request();
  m["v"] = 99;
  auto r = Send(m);
  EXPECT_EQ(r.code, StatusCode::kUnimplemented);
  EXPECT_NE(Message(r).find("protocol version 99 is not supported"), std::string::npos) << Message(r);
  ExpectUnchanged();
}

TEST_F(BadInputTest, OversizedBatchIsRefusedWhole) {
  Json events = Json::array();
  auto any = EventToJson((*village_->replica->store()->CaseEvents(case_))[0]);
  for (size_t i = 0; i <= kMaxBatchEvents; ++i) events.push_back(any);
  auto r = Send(Request(events));
  EXPECT_EQ(r.code, StatusCode::kResourceExhausted);
  std::string huge = "DBZ1" + std::string(kMaxFrameBytes + 1, 'x');
  EXPECT_EQ(town_->service->Handle(village_->identity(), huge).code, StatusCode::kResourceExhausted);
  ExpectUnchanged();
}

TEST_F(BadInputTest, DuplicateIdWithDifferentBodyIsAnIntegrityErrorAndStoredEventStays) {
  auto events = *village_->replica->store()->CaseEvents(case_);
  Json altered = EventToJson(events[0]);
  altered["body"]["applicant_name"] = "王五";
  auto r = Send(Request(Json::array({altered})));
  ASSERT_EQ(r.code, StatusCode::kOk);
  auto reply = *DecodeFrame(r.frame);
  ASSERT_EQ(reply["push"]["refused"].size(), 1u);
  EXPECT_EQ(reply["push"]["refused"][0]["code"], "already_exists");
  EXPECT_NE(reply["push"]["refused"][0]["reason"].get<std::string>().find("different content"), std::string::npos);
  ExpectUnchanged();
}

TEST_F(BadInputTest, ForgedSenderAndNodesOutsideTheSubtreeAreRefused) {
  Json m = Request();
  m["from"] = "v210921100203";
  EXPECT_EQ(Send(m).code, StatusCode::kPermissionDenied);
  // a village of another township calls this township
  testing::TestNode* other = village2_.get();
  PeerIdentity stranger{"v210921102200", "210921102200", Tier::kVillage};
  Json m2 = Request();
  m2["from"] = stranger.node_id;
  auto r = town_->service->Handle(stranger, EncodeFrame(m2));
  EXPECT_EQ(r.code, StatusCode::kPermissionDenied);
  (void)other;
  ExpectUnchanged();
}

TEST_F(BadInputTest, MalformedEventInsideABatchIsRefusedAloneAndTheRestApplied) {
  auto e = village_->replica->Append(case_, kVillage, kKindComment, {{"text", "ok"}}, "agent1", Role::kAgent);
  ASSERT_TRUE(e.ok());
  Json bad = EventToJson(*e);
  bad["id"] = "not an id";
  auto r = Send(Request(Json::array({bad, EventToJson(*e)})));
  ASSERT_EQ(r.code, StatusCode::kOk);
  auto reply = *DecodeFrame(r.frame);
  EXPECT_EQ(reply["push"]["refused"].size(), 1u);
  EXPECT_EQ(reply["push"]["inserted"], 1);
  EXPECT_TRUE(*town_->replica->store()->Contains(e->id));
}

// ---- restore from backup ----

TEST(RestoreTest, ParentRestoredFromOldBackupGetsEverythingAgain) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "daiban_restore_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  common::FakeClock clock(1737705600000);
  common::WorkCalendar cal;
  std::mt19937_64 rng(1);
  auto village = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock, "00000000000a");
  std::string town_path = (dir / "town.db").string();
  std::vector<std::string> cases;
  {
    auto town = MakeNode("t210921100", kTownship, Tier::kTownship, &clock, "00000000000b", town_path);
    for (int i = 0; i < 3; ++i) {
      cases.push_back(village->replica->CreateCase(kVillage, SampleCreateBody(), "a", Role::kAgent)->case_id);
    }
    TestLink link(town.get(), village->identity(), &rng);
    Replicator r(village->replica.get());
    ASSERT_TRUE(r.SyncOnce(town->id, &link).ok());
  }
  fs::copy_file(town_path, dir / "backup.db");  // last week's copy: holds the first 3
  {
    auto town = MakeNode("t210921100", kTownship, Tier::kTownship, &clock, "00000000000c", town_path);
    for (int i = 0; i < 2; ++i) {
      cases.push_back(village->replica->CreateCase(kVillage, SampleCreateBody(), "a", Role::kAgent)->case_id);
    }
    TestLink link(town.get(), village->identity(), &rng);
    Replicator r(village->replica.get());
    ASSERT_TRUE(r.SyncOnce(town->id, &link).ok());
  }
  // The township's disk dies; it is restored from the old copy and opened anew.
  fs::remove(town_path);
  fs::remove(town_path + "-wal");
  fs::copy_file(dir / "backup.db", town_path);
  auto town = MakeNode("t210921100", kTownship, Tier::kTownship, &clock, "00000000000d", town_path);
  EXPECT_EQ(*town->replica->store()->EventCount(), 3);
  TestLink link(town.get(), village->identity(), &rng);
  Replicator r(village->replica.get());
  auto rep = r.SyncOnce(town->id, &link);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(*town->replica->store()->EventCount(), 5);
  for (const auto& c : cases) EXPECT_TRUE(town->replica->store()->GetCase(c).ok()) << c;
  // The restored node mints ids in a new incarnation: never one it minted before.
  auto e = town->replica->CreateCase(kTownship, SampleCreateBody(), "c", Role::kClerk);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ParseEventId(e->id)->incarnation, "00000000000d");
  fs::remove_all(dir);
}

// ---- what waits for the disk ----

// An idle sync (nothing to push, pull or acknowledge) writes only checkpoints that the
// next sync learns again, so neither end waits for an fsync; everything that moves an
// event, a refusal or an acknowledged position does. If the idle syncs' writes are lost
// (a power cut: modelled by putting back the files as of the last durable commit), the
// next sync still completes without resending or losing anything.
TEST(DurabilityTest, AnIdleSyncWaitsForNoDiskAndWhatMovesDoes) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("daiban_durability_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  common::FakeClock clock(1737705600000);
  std::mt19937_64 rng(1);
  const std::string village_path = (dir / "village.db").string();
  auto town = MakeNode("t210921100", kTownship, Tier::kTownship, &clock, "00000000000b",
                       (dir / "town.db").string(), true);
  auto village = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock, "00000000000a", village_path, true);
  auto sync = [&](TestNode* v) {
    TestLink link(town.get(), v->identity(), &rng);
    Replicator r(v->replica.get());
    auto rep = r.SyncOnce(town->id, &link);
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    return rep.ok() ? *rep : SyncReport{};
  };
  auto commits = [](TestNode* n) { return n->replica->store()->durable_commits(); };
  auto level = [](TestNode* n) {
    auto* q = *n->replica->store()->db()->Prepare("PRAGMA synchronous");
    EXPECT_TRUE(*q->Step());
    int64_t v = q->ColumnInt(0);
    q->Reset();
    return v;
  };

  common::WorkCalendar cal;
  std::string id = village->replica->CreateCase(kVillage, SampleCreateBody(), "agent1", Role::kAgent)->case_id;
  ASSERT_TRUE(village->replica->Step(id, CaseAction::kSubmit, Json::object(), "agent1", Role::kAgent, cal).ok());
  int64_t town0 = commits(town.get()), village0 = commits(village.get());
  EXPECT_EQ(sync(village.get()).pushed, 2);
  EXPECT_GT(commits(town.get()), town0) << "a push was acknowledged without a durable commit";
  EXPECT_GT(commits(village.get()), village0);
  sync(village.get());  // acknowledgements settle
  fs::copy_file(village_path, dir / "durable.db");
  fs::copy_file(village_path + "-wal", dir / "durable.db-wal");

  clock.Advance(60000);
  town0 = commits(town.get());
  village0 = commits(village.get());
  for (int i = 0; i < 3; ++i) {
    SyncReport idle = sync(village.get());
    EXPECT_TRUE(idle.complete);
    EXPECT_EQ(idle.pushed + idle.pulled, 0);
  }
  EXPECT_EQ(commits(town.get()), town0) << "an idle sync waited for the township's disk";
  EXPECT_EQ(commits(village.get()), village0) << "an idle sync waited for the village's disk";
  EXPECT_EQ(level(village.get()), 2) << "a lazy commit left the store at synchronous=NORMAL";
  EXPECT_EQ(level(town.get()), 2);
  EXPECT_EQ(village->replica->store()->GetPeer(town->id)->last_ok_ms, clock.NowMillis()) << "last_ok not kept";

  // The township's clerk accepts: the next sync pulls, and that waits for the village's disk.
  ASSERT_TRUE(town->replica->Step(id, CaseAction::kAccept, Json::object(), "clerk1", Role::kClerk, cal).ok());
  EXPECT_EQ(sync(village.get()).pulled, 1);
  EXPECT_GT(commits(village.get()), village0) << "a pulled event was stored without a durable commit";

  // A power cut loses every write since the last durable copy: the next sync completes,
  // the township holds the case once, the village gets the acceptance again.
  village.reset();
  fs::remove(village_path);
  fs::remove(village_path + "-wal");
  fs::remove(village_path + "-shm");
  fs::copy_file(dir / "durable.db", village_path);
  fs::copy_file(dir / "durable.db-wal", village_path + "-wal");
  village = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock, "00000000000c", village_path, true);
  SyncReport after = sync(village.get());
  EXPECT_TRUE(after.complete);
  EXPECT_EQ(after.pushed, 0);
  EXPECT_EQ(after.pulled, 1);
  EXPECT_EQ(after.restored, false);
  EXPECT_EQ(*town->replica->store()->EventCount(), 3);
  EXPECT_EQ(village->replica->store()->GetCase(id)->digest, town->replica->store()->GetCase(id)->digest);
  village.reset();
  town.reset();
  fs::remove_all(dir);
}

// ---- the event count ----

// The event count (the node's status page) is read from the subtree counters: it is the
// number of rows in the log, with master data, duplicates and a rolled-back batch.
TEST(EventStoreTest, EventCountIsTheNumberOfEventsInTheLog) {
  auto data = daiban::testing::LoadStoryData(DAIBAN_SHARED_DATA, std::string(DAIBAN_SOURCE_DIR) + "/config");
  ASSERT_TRUE(data.ok()) << data.status().message();
  daiban::testing::Generator gen(data->tree, data->catalog, data->calendar, 5);
  for (int i = 1; i <= 30; ++i) gen.MakeCase(i);
  StoreOptions so;
  so.path = ":memory:";
  so.node_id = "hub";
  so.region = "370600000000";
  so.tier = Tier::kCity;
  auto store = EventStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto rows = [&] {
    auto q = (*store)->db()->Prepare("SELECT COUNT(*) FROM events");
    EXPECT_TRUE(q.ok());
    int64_t n = *(*q)->Step() ? (*q)->ColumnInt(0) : -1;
    (*q)->Reset();
    return n;
  };
  EXPECT_EQ(*(*store)->EventCount(), 0);
  const auto& events = gen.events();
  ASSERT_TRUE((*store)->BeginBatch().ok());
  for (size_t i = 0; i < events.size() / 2; ++i) ASSERT_TRUE((*store)->Insert(events[i], "t").ok());
  Event m;  // master data: no case, no region
  m.id = "hub.00000000000c.1";
  m.origin = "hub";
  m.origin_region = "370600000000";
  m.actor = {"admin", common::Role::kAdmin, Tier::kCity};
  m.kind = "master.catalog";
  m.hlc = 1;
  ASSERT_TRUE((*store)->Insert(m, "t").ok());
  ASSERT_TRUE((*store)->CommitBatch().ok());
  EXPECT_EQ(*(*store)->EventCount(), static_cast<int64_t>(events.size() / 2) + 1);
  ASSERT_TRUE((*store)->BeginBatch().ok());  // rolled back: counts nothing
  ASSERT_TRUE((*store)->Insert(events.back(), "t").ok());
  (*store)->AbortBatch();
  ASSERT_TRUE((*store)->BeginBatch().ok());  // the rest, and every event again
  for (const auto& e : events) ASSERT_TRUE((*store)->Insert(e, "t").ok());
  ASSERT_TRUE((*store)->CommitBatch().ok());
  EXPECT_EQ(*(*store)->EventCount(), static_cast<int64_t>(events.size()) + 1);
  EXPECT_EQ(*(*store)->EventCount(), rows());
}

// ---- folding a stored case on ----

// A case's events arriving one batch at a time in the order they were made fold onto its
// stored state (sync/merge.h ExtendFold); one that does not extend the case folds the whole
// log; a store from before cases.fold_hlc folds each case from its log once. Every stored
// state is FoldCase of the case's events either way.
TEST(StoreFoldTest, StoredCasesAreFoldedOnWhenTheirEventsExtendThemAndFromTheLogElse) {
  namespace fs = std::filesystem;
  auto data = daiban::testing::LoadStoryData(DAIBAN_SHARED_DATA, std::string(DAIBAN_SOURCE_DIR) + "/config");
  ASSERT_TRUE(data.ok()) << data.status().message();
  daiban::testing::Generator gen(data->tree, data->catalog, data->calendar, 3);
  std::vector<std::vector<Event>> stories;
  size_t longest = 0;
  for (int i = 1; i <= 40; ++i) {
    gen.MakeCase(i);
    stories.push_back(gen.events());
    gen.events().clear();
    longest = std::max(longest, stories.back().size());
  }
  fs::path path = fs::temp_directory_path() / ("daiban_store_fold_" + std::to_string(::getpid()) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  StoreOptions so;
  so.path = path.string();
  so.node_id = "hub";
  so.region = "370600000000";
  so.tier = Tier::kCity;
  auto expect_folds = [&](EventStore* store, const std::string& what) {
    for (const auto& story : stories) {
      auto got = store->GetCase(story[0].case_id);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->canonical, FoldCase(story).canonical) << what << ": " << story[0].case_id;
    }
  };
  auto insert = [](EventStore* store, const std::vector<Event>& batch) {
    ASSERT_TRUE(store->BeginBatch().ok());
    for (const auto& e : batch) ASSERT_EQ(*store->Insert(e, "t"), InsertOutcome::kInserted) << e.id;
    ASSERT_TRUE(store->CommitBatch().ok());
  };
  {
    auto store = EventStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // Batch k holds every story's k-th event: each after the first extends its case.
    int64_t extending = 0;
    for (size_t k = 0; k < longest; ++k) {
      std::vector<Event> batch;
      for (const auto& story : stories) {
        if (k < story.size()) batch.push_back(story[k]);
      }
      extending += k > 0 ? static_cast<int64_t>(batch.size()) : 0;
      insert(store->get(), batch);
    }
    EXPECT_EQ((*store)->extended_folds(), extending);
    EXPECT_GT(extending, 100);
    expect_folds(store->get(), "in order");
    // A comment concurrent with the case's last event (it saw only the first) and one that
    // saw everything, in one batch: the log is folded.
    std::vector<Event>& first = stories[0];
    Event side = first.back();
    side.id = MakeEventId(side.origin, "000000000001", 900);
    side.kind = std::string(kKindComment);
    side.body = Json{{"text", "补充说明"}};
    side.parents = {first[0].id};
    Event after = side;
    after.id = MakeEventId(side.origin, "000000000001", 901);
    after.parents = {first.back().id};
    after.hlc = side.hlc + 1;
    int64_t before = (*store)->extended_folds();
    insert(store->get(), {side, after});
    EXPECT_EQ((*store)->extended_folds(), before) << "a concurrent event is folded from the log";
    first.push_back(side);
    first.push_back(after);
    expect_folds(store->get(), "after a concurrent event");
    // One that extends it again is folded on.
    Event settle = after;
    settle.id = MakeEventId(side.origin, "000000000001", 902);
    settle.parents = {after.id, side.id};
    std::sort(settle.parents.begin(), settle.parents.end());
    settle.hlc = after.hlc + 1;
    insert(store->get(), {settle});
    EXPECT_EQ((*store)->extended_folds(), before + 1);
    first.push_back(settle);
    expect_folds(store->get(), "after extending again");
  }
  {
    // A store from before the column: its cases' fold_hlc is not known.
    auto db = common::Db::Open(so.path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Exec("ALTER TABLE cases DROP COLUMN fold_hlc").ok());
  }
  auto store = EventStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<Event>& second = stories[1];
  for (int n = 0; n < 2; ++n) {
    Event e = second.back();
    e.id = MakeEventId(e.origin, "000000000001", 910 + n);
    e.kind = std::string(kKindComment);
    e.body = Json{{"text", "第" + std::to_string(n) + "次"}};
    e.parents = {second.back().id};
    e.hlc = second.back().hlc + 1;
    insert(store->get(), {e});
    second.push_back(e);
    EXPECT_EQ((*store)->extended_folds(), n) << "the first fold after the upgrade reads the log";
  }
  expect_folds(store->get(), "after the upgrade");
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
}

}  // namespace
}  // namespace daiban::sync
