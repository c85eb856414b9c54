// Protocol details: checkpoints, rewinds, a new parent node, the hash chain, digests, framing.
#include <gtest/gtest.h>

#include "sync/codec.h"
#include "sync/protocol.h"
#include "tests/sync/test_net.h"

namespace daiban::sync {
namespace {

using common::Json;
using common::Role;
using common::StatusCode;
using common::Tier;
using testing::MakeNode;
using testing::SampleCreateBody;
using testing::TestLink;
using testing::TestNode;

constexpr const char* kVillage = "210921100202";
constexpr const char* kTownship = "210921100000";
constexpr const char* kCounty = "210921000000";

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    county_ = MakeNode("c210921", kCounty, Tier::kCounty, &clock_);
    town_ = MakeNode("t210921100", kTownship, Tier::kTownship, &clock_);
    village_ = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock_);
  }
  SyncReport Sync(TestNode* child, TestNode* parent, ReplicatorOptions o = {}) {
    TestLink link(parent, child->identity(), &rng_);
    Replicator r(child->replica.get(), o);
    auto rep = r.SyncOnce(parent->id, &link);
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    return rep.ok() ? *rep : SyncReport{};
  }
  std::string File(int n = 1) {
    std::string last;
    for (int i = 0; i < n; ++i) {
      last = village_->replica->CreateCase(kVillage, SampleCreateBody(), "agent", Role::kAgent)->case_id;
    }
    return last;
  }
  common::FakeClock clock_{1737705600000};
  std::mt19937_64 rng_{3};
  std::unique_ptr<TestNode> county_, town_, village_;
};

TEST_F(ProtocolTest, PushOnTopOfAnotherPositionIsRewoundNotApplied) {
  File(2);
  Sync(village_.get(), town_.get());
  auto record = town_->replica->store()->GetPeer(village_->id)->received;
  auto e = village_->replica->Append(File(), kVillage, kKindComment, {{"text", "x"}}, "agent", Role::kAgent);
  ASSERT_TRUE(e.ok());
  Json stale_base = {{"seq", 1}, {"chain", "not-the-chain"}};
  Json req = {{"v", 1}, {"type", "sync"}, {"from", village_->id},
              {"push", {{"base", stale_base}, {"last", stale_base}, {"events", Json::array({EventToJson(*e)})}}},
              {"pull", {{"cursor", {{"seq", 0}, {"chain", ""}}}, {"ack_cursor", 0}}}};
  auto r = town_->service->Handle(village_->identity(), EncodeFrame(req));
  ASSERT_EQ(r.code, StatusCode::kOk);
  auto reply = *DecodeFrame(r.frame);
  EXPECT_EQ(reply["push"]["result"], "rewind");
  EXPECT_EQ(reply["push"]["received"], LogPositionToJson(record));
  EXPECT_FALSE(*town_->replica->store()->Contains(e->id));
  // The village's next real sync resumes from the township's record and delivers it.
  SyncReport rep = Sync(village_.get(), town_.get());
  EXPECT_TRUE(*town_->replica->store()->Contains(e->id));
  EXPECT_EQ(rep.pending, 0);
}

TEST_F(ProtocolTest, ANewNodeForTheSameTownshipGetsEverythingFromBothSides) {
  File(3);
  Sync(village_.get(), town_.get());
  Sync(town_.get(), county_.get());
  // The township's machine is replaced: a new node id, an empty store, same region.
  auto replacement = MakeNode("t210921100-new", kTownship, Tier::kTownship, &clock_);
  Sync(replacement.get(), county_.get());
  Sync(village_.get(), replacement.get());
  EXPECT_EQ(*replacement->replica->store()->EventCount(), *village_->replica->store()->EventCount());
  auto q = village_->replica->store()->QuarantineList();
  EXPECT_TRUE(q->empty());
}

TEST_F(ProtocolTest, PullIsBatchedAndResumes) {
  File(25);
  Sync(village_.get(), town_.get());
  auto fresh = MakeNode("v210921100202", kVillage, Tier::kVillage, &clock_);
  SyncServiceOptions so;
  so.max_pull_events = 4;
  SyncService small(town_->replica.get(), so);
  int rounds = 0;
  Replicator r(fresh->replica.get());
  // A link whose parent answers with batches of at most 4 events.
  class SmallLink : public Transport {
   public:
    SmallLink(SyncService* s, PeerIdentity p, int* rounds) : s_(s), p_(std::move(p)), rounds_(rounds) {}
    common::Result<std::string> RoundTrip(std::string_view req) override {
      ++*rounds_;
      auto h = s_->Handle(p_, req);
      auto j = DecodeFrame(h.frame);
      EXPECT_LE((*j)["pull"]["events"].size(), 4u);
      return h.frame;
    }
    SyncService* s_;
    PeerIdentity p_;
    int* rounds_;
  } link(&small, fresh->identity(), &rounds);
  auto rep = r.SyncOnce(town_->id, &link);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->pulled, 25);
  EXPECT_GE(rounds, 7);
}

// Each request tells the parent what still waits (status.pending). It is counted once a sync,
// then carried less what each push delivered; a round that ends otherwise counts again.
TEST_F(ProtocolTest, EachRequestReportsWhatStillWaitsToGoUp) {
  File(12);
  const int64_t total = *village_->replica->store()->EventCount();
  class Recording : public Transport {
   public:
    Recording(TestNode* parent, PeerIdentity child, std::mt19937_64* rng) : link_(parent, std::move(child), rng) {}
    common::Result<std::string> RoundTrip(std::string_view req) override {
      auto j = DecodeFrame(req);
      EXPECT_TRUE(j.ok());
      if (j.ok()) {
        pending.push_back((*j)["status"]["pending"].get<int64_t>());
        sent.push_back(static_cast<int64_t>((*j)["push"]["events"].size()));
      }
      return link_.RoundTrip(req);
    }
    TestLink link_;
    std::vector<int64_t> pending, sent;
  } link(town_.get(), village_->identity(), &rng_);
  ReplicatorOptions o;
  o.batch_events = 5;
  Replicator r(village_->replica.get(), o);
  auto rep = r.SyncOnce(town_->id, &link);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->pending, 0);
  ASSERT_EQ(static_cast<int64_t>(link.pending.size()), (total + 4) / 5);  // 5 a push
  int64_t left = total;
  for (size_t i = 0; i < link.pending.size(); ++i) {
    EXPECT_EQ(link.pending[i], left) << "round " << i;
    left -= link.sent[i];
  }
  EXPECT_EQ(left, 0);

  // A push the parent rewinds: the next round counts again from the checkpoint it gets back.
  File(1);
  auto* peer_store = village_->replica->store();
  auto peer = *peer_store->GetPeer(town_->id);
  LogPosition pushed = peer.pushed;
  peer.pushed = LogPosition{};  // as if the village had lost its checkpoint: it sends it all
  ASSERT_TRUE(peer_store->BeginBatch().ok());
  ASSERT_TRUE(peer_store->PutPeer(peer).ok());
  ASSERT_TRUE(peer_store->CommitBatch().ok());
  link.pending.clear();
  link.sent.clear();
  Replicator again(village_->replica.get(), o);
  rep = again.SyncOnce(town_->id, &link);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_GE(link.pending.size(), 2u);
  EXPECT_EQ(link.pending[0], total + 1);  // everything, counted from seq 0
  EXPECT_EQ(link.pending[1], 1);          // rewound to the township's record: counted again
  EXPECT_EQ(rep->pending, 0);
  EXPECT_GT(peer_store->GetPeer(town_->id)->pushed.seq, pushed.seq);
}

TEST_F(ProtocolTest, HashChainVerifiesAndNamesTheFirstAlteredRow) {
  File(5);
  auto* store = village_->replica->store();
  EXPECT_TRUE(store->VerifyChain().ok());
  // Someone edits a stored event behind the software's back.
  ASSERT_TRUE(store->db()->Exec("UPDATE events SET data = replace(data, '张三', '李四') WHERE seq = 3").ok());
  auto s = store->VerifyChain();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("at seq 3"), std::string::npos) << s.message();
}

TEST_F(ProtocolTest, TiersAgreeOnTheDigestOfASubtreeWithoutMovingData) {
  File(4);
  Sync(village_.get(), town_.get());
  Sync(town_.get(), county_.get());
  auto v = *village_->replica->store()->SubtreeDigest(kVillage);
  EXPECT_EQ(v, *town_->replica->store()->SubtreeDigest(kVillage));
  EXPECT_EQ(v, *county_->replica->store()->SubtreeDigest(kVillage));
  EXPECT_EQ(v.substr(0, 2), "4:");
  File(1);  // a case the township has not seen yet
  EXPECT_NE(*village_->replica->store()->SubtreeDigest(kVillage), *town_->replica->store()->SubtreeDigest(kVillage));
}

TEST(CodecTest, RoundTripAndEveryMalformedFrame) {
  Json msg = {{"v", 1}, {"type", "sync"}, {"text", "阜新"}};
  std::string f = EncodeFrame(msg);
  EXPECT_EQ(*DecodeFrame(f), msg);
  EXPECT_EQ(DecodeFrame("DBZ2" + f.substr(4)).status().code(), StatusCode::kInvalidArgument);
  auto trailing = DecodeFrame(f + "x");
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);
  for (size_t cut = 4; cut < f.size(); ++cut) {
    EXPECT_FALSE(DecodeFrame(f.substr(0, cut)).ok()) << cut;
  }
  std::string flipped = f;
  flipped[f.size() / 2] ^= 0x55;
  EXPECT_FALSE(DecodeFrame(flipped).ok());
  // Not an object.
  EXPECT_FALSE(DecodeFrame(EncodeFrame(Json::array({1}))).ok());
}

// Stored events go into a frame as their bytes; the frame must be exactly the one the
// whole message would make, whatever the strings around them hold.
TEST(CodecTest, EventsSplicedAsStoredMakeTheSameFrameAsTheWholeMessage) {
  Event e;
  e.id = "v210921100202.0000000000a1.1";
  e.case_id = "210921100202-20250124-0000000000a1-1";
  e.region = kVillage;
  e.origin = "v210921100202";
  e.origin_region = kVillage;
  e.actor = {"agent1", Role::kAgent, Tier::kVillage};
  e.kind = "case.create";
  e.body = SampleCreateBody("张\"三 \"events\":[]");  // quotes and the slot's text inside a string
  e.hlc = common::MakeHlc(1737705600000, 0);
  Event s = e;
  s.id = "v210921100202.0000000000a1.2";
  s.kind = "case.step";
  s.body = {{"action", "submit"}, {"date", "2025-01-24"}};
  s.parents = {e.id};
  const std::string a = EncodeEvent(e), b = EncodeEvent(s);
  Json msg = {{"v", 1}, {"from", "x \"events\":[] y"}, {"push", {{"base", 0}, {"events", Json::array()}}}};
  Json whole = msg;
  whole["push"]["events"] = Json::array({*common::ParseJson(a, "a"), *common::ParseJson(b, "b")});
  auto spliced = EncodeFrameWithEvents(msg, {a, b});
  ASSERT_TRUE(spliced.ok()) << spliced.status().ToString();
  EXPECT_EQ(*spliced, EncodeFrame(whole));
  EXPECT_EQ(*DecodeFrame(*spliced), whole);
  EXPECT_EQ(*EncodeFrameWithEvents(msg, {}), EncodeFrame(msg));

  // A message without the slot, or with two, is a programming error, not a wrong frame.
  EXPECT_EQ(EncodeFrameWithEvents({{"v", 1}}, {a}).status().code(), StatusCode::kInternal);
  Json two = {{"a", {{"events", Json::array()}}}, {"b", {{"events", Json::array()}}}};
  EXPECT_EQ(EncodeFrameWithEvents(two, {a}).status().code(), StatusCode::kInternal);
  // A stored row that is not an object's text is refused, not sent.
  EXPECT_EQ(EncodeFrameWithEvents(msg, {a, "[1]"}).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(EncodeFrameWithEvents(msg, {a, ""}).status().code(), StatusCode::kDataLoss);
}

TEST(CodecTest, ACompressionBombIsStoppedAtTheLimit) {
  std::string zeros(kMaxMessageBytes + 1024, ' ');
  auto r = DecodeFrame(testing::RawFrame(zeros, 9));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace daiban::sync
