// Event encoding and validation: what a receiver accepts and the errors for what it refuses.
#include <gtest/gtest.h>

#include "sync/event.h"
#include "sync/protocol.h"

namespace daiban::sync {
namespace {

Event SampleEvent() {
  Event e;
  e.id = MakeEventId("v210902001001", "0a1b2c3d4e5f", 7);
  e.hlc = common::MakeHlc(1737705600000, 0);
  e.case_id = "210902001001-20250124-0007-0a1b";
  e.region = "210902001001";
  e.origin = "v210902001001";
  e.origin_region = "210902001001";
  e.actor = {"agent1", common::Role::kAgent, common::Tier::kVillage};
  e.kind = std::string(kKindComment);
  e.body = {{"text", "居民已来电"}};
  e.parents = {"v210902001001.0a1b2c3d4e5f.1", "v210902001001.0a1b2c3d4e5f.2"};
  return e;
}

TEST(EventTest, EncodeDecodeRoundTripIsByteIdentical) {
  Event e = SampleEvent();
  std::string bytes = EncodeEvent(e);
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(EncodeEvent(*d), bytes);
  EXPECT_EQ(d->actor.role, common::Role::kAgent);
}

// EncodeEvent writes the canonical text field by field; it must be exactly the canonical
// JSON of the whole event object (nlohmann's own writer), for any strings (quotes, controls,
// invalid UTF-8, CJK).
TEST(EventTest, CanonicalBytesAreTheCanonicalJsonOfTheWholeEvent) {
  std::vector<Event> events;
  events.push_back(SampleEvent());
  Event odd = SampleEvent();
  odd.body = {{"text", std::string("引号\"反斜杠\\换行\n\x01\xff")}, {"n", -3}, {"x", 1.5}, {"list", {1, "a", nullptr}}};
  odd.actor.user = "用户\"1";
  odd.parents.clear();
  odd.hlc = common::MakeHlc(4102444800000, 65535);
  events.push_back(odd);
  Event master = SampleEvent();
  master.kind = "master.catalog";
  master.case_id.clear();
  master.region.clear();
  master.body = Json::object();
  events.push_back(master);
  for (const auto& e : events) {
    EXPECT_EQ(EncodeEvent(e), common::NlohmannCanonicalJson(EventToJson(e))) << e.kind;
  }
}

TEST(EventTest, IdParts) {
  auto p = ParseEventId("t210902001.deadbeef0001.42");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->origin, "t210902001");
  EXPECT_EQ(p->incarnation, "deadbeef0001");
  EXPECT_EQ(p->counter, 42);
  for (const char* bad : {"", "a.b", "a.deadbeef0001.0", "a.deadbeef0001.01", "a.DEADBEEF0001.1", "a b.deadbeef0001.1",
                          "a.deadbeef.1", "a.deadbeef0001.x"}) {
    EXPECT_FALSE(ParseEventId(bad).ok()) << bad;
  }
}

// Each malformed event gets a specific error naming the problem.
TEST(EventTest, MalformedEventsAreRefusedWithSpecificErrors) {
  struct Case {
    const char* what;
    std::function<void(Json&)> mutate;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"missing id", [](Json& j) { j.erase("id"); }, "event.id: missing"},
      {"hlc negative", [](Json& j) { j["hlc"] = -1; }, "hlc must be a non-negative integer"},
      {"unknown kind", [](Json& j) { j["kind"] = "case.explode"; }, "unknown kind"},
      {"unknown role", [](Json& j) { j["role"] = "mayor"; }, "role"},
      {"case id of another region", [](Json& j) { j["case"] = "210902001002-20250124-1"; }, "case id must start with its region"},
      {"short region", [](Json& j) { j["region"] = "2109"; }, "region must be 12 digits"},
      {"origin mismatch", [](Json& j) { j["origin"] = "v210902001002"; }, "id does not start with its origin"},
      {"parents unsorted", [](Json& j) { j["parents"] = {"b.0a1b2c3d4e5f.1", "a.0a1b2c3d4e5f.1"}; }, "sorted and unique"},
      {"body not object", [](Json& j) { j["body"] = "x"; }, "body must be a JSON object"},
      {"extra field", [](Json& j) { j["extra"] = 1; }, "unexpected fields"},
      {"master with case", [](Json& j) { j["kind"] = "master.catalog"; }, "master-data events carry no case"},
      {"oversized", [](Json& j) { j["body"] = {{"text", std::string(kMaxEventBytes, 'x')}}; }, "larger than"},
  };
  for (auto& c : cases) {
    Json j = EventToJson(SampleEvent());
    c.mutate(j);
    auto r = EventFromJson(j);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.what << ": " << r.status().message();
  }
  EXPECT_FALSE(DecodeEvent("{\"id\":").ok());
  EXPECT_FALSE(DecodeEvent("[1,2]").ok());
}

TEST(EventTest, TotalOrderIsHlcThenOriginThenId) {
  Event a = SampleEvent(), b = SampleEvent();
  b.hlc = a.hlc + 1;
  EXPECT_TRUE(EventOrderLess(a, b));
  b.hlc = a.hlc;
  b.origin = "z";
  EXPECT_TRUE(EventOrderLess(a, b));
  EXPECT_FALSE(EventOrderLess(b, a));
}

}  // namespace
}  // namespace daiban::sync
