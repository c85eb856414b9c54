// Event encoding and validation: what a receiver accepts and the errors for what it refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sync/codec.h"
#include "sync/event.h"
#include "sync/protocol.h"
#include "tests/sync/test_net.h"

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

// The general decoder as it was before the in-place reader: a tree, then its fields.
common::Result<Event> GeneralDecode(std::string_view text) {
  auto j = common::ParseJson(text, "event");
  if (!j.ok()) return j.status();
  return EventFromJson(std::move(*j));
}

// "" if `a` and `b` are the same verdict (the same event, or the same refusal); else what differs.
std::string Differ(const common::Result<Event>& a, const common::Result<Event>& b) {
  if (a.ok() != b.ok()) return "one decodes, the other does not: " + (a.ok() ? b : a).status().ToString();
  if (!a.ok()) return a.status().ToString() == b.status().ToString() ? "" : a.status().ToString() + " vs " + b.status().ToString();
  const Event& x = *a;
  const Event& y = *b;
  if (x.id != y.id || x.hlc != y.hlc || x.case_id != y.case_id || x.region != y.region || x.origin != y.origin ||
      x.origin_region != y.origin_region || x.actor.user != y.actor.user || x.actor.role != y.actor.role ||
      x.actor.tier != y.actor.tier || x.kind != y.kind || x.parents != y.parents) {
    return "a field differs";
  }
  if (common::CanonicalJson(x.body) != common::CanonicalJson(y.body) || x.body != y.body) return "the body differs";
  if (x.canonical != y.canonical) return "the canonical bytes differ";
  return "";
}

std::string RandomText(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {"a", "张三", "\"", "\\", "/", "\n", "\x01", "\x1f", "\x7f", "😀",
                                                   "\xff", " ", "\"events\":[]", "}", "{", ","};
  std::string out;
  for (int i = static_cast<int>(rng() % 5); i > 0; --i) out += kPieces[rng() % kPieces.size()];
  return out;
}

Json RandomBody(std::mt19937_64& rng, int depth) {
  Json body = Json::object();
  for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
    switch (rng() % (depth > 2 ? 4 : 6)) {
      case 0: body[RandomText(rng)] = RandomText(rng); break;
      case 1: body[RandomText(rng)] = static_cast<int64_t>(rng()); break;
      case 2: body[RandomText(rng)] = rng() % 2 == 0 ? Json(nullptr) : Json(rng() % 2 == 0); break;
      case 3: body[RandomText(rng)] = static_cast<uint64_t>(rng()); break;
      case 4: body[RandomText(rng)] = Json::array({RandomText(rng), RandomBody(rng, depth + 1), -1}); break;
      default: body[RandomText(rng)] = RandomBody(rng, depth + 1);
    }
  }
  return body;
}

// The members of `j` written compactly in a random order (the writer sorts them).
std::string Shuffled(const Json& j, std::mt19937_64& rng) {
  std::vector<std::string> members;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string m;
    common::AppendCanonicalString(&m, it.key());
    m += ':' + common::CanonicalJson(*it);
    members.push_back(m);
  }
  std::shuffle(members.begin(), members.end(), rng);
  std::string out = "{";
  for (size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i];
  return out + "}";
}

// Texts an event may arrive as: its canonical bytes; the same with one change (white space,
// a byte, a cut, an escape the writer would not use, members out of order, something
// after it); an event with a wrong value (each of the checks above), written canonically.
std::string EventText(std::mt19937_64& rng) {
  Event e = SampleEvent();
  e.hlc = rng() % 2 == 0 ? e.hlc : rng();
  e.actor.user = RandomText(rng);
  e.body = RandomBody(rng, 0);
  if (rng() % 3 == 0) e.kind = std::string(rng() % 2 == 0 ? kKindEdit : kKindCreate);
  if (rng() % 4 == 0) e.parents.clear();
  Json j = EventToJson(e);
  switch (rng() % 24) {  // half of them changed
    case 0: j["hlc"] = -1; break;
    case 1: j["kind"] = "case.explode"; break;
    case 2: j["role"] = rng() % 2 == 0 ? "mayor" : "Agent"; break;
    case 3: j["case"] = "210902001002-20250124-1"; break;
    case 4: j["parents"] = {"b.0a1b2c3d4e5f.1", "a.0a1b2c3d4e5f.1"}; break;
    case 5: j["origin"] = "v210902001002"; break;
    case 6: j["body"] = Json::array(); break;
    case 7: j["extra"] = 1; break;
    case 8: j.erase("user"); break;
    case 9: j["id"] = 7; break;
    case 10: j["body"] = {{"text", std::string(kMaxEventBytes, 'x')}}; break;
    case 11: j["hlc"] = 1.5; break;
    default: break;
  }
  std::string t = common::CanonicalJson(j);
  switch (rng() % 14) {  // half of them changed
    case 0: t.insert(rng() % t.size(), std::string(1, " \n\t"[rng() % 3])); break;
    case 1: t[rng() % t.size()] = static_cast<char>(rng() & 0xFF); break;
    case 2: t.resize(rng() % t.size()); break;
    case 3: {
      size_t a = t.find('a', rng() % t.size());  // inside a string or a key, spelled \u0061
      if (a != std::string::npos) t.replace(a, 1, "\\u0061");
      break;
    }
    case 4: t += rng() % 2 == 0 ? "," : "}x"; break;
    case 5: t = Shuffled(j, rng); break;
    case 6: {
      size_t at = t.find("\\n");
      if (at != std::string::npos) t.replace(at, 2, "\\u000a");
      break;
    }
    default: break;
  }
  return t;
}

// The in-place reader (the decoders' fast path) must give exactly the general decoder's
// verdict, event and message on whatever it reads, and leave every other text to it.
TEST(EventTest, TheInPlaceReaderAgreesWithTheGeneralDecoderOnEveryText) {
  std::mt19937_64 rng(20261204);
  int read = 0, refused_in_place = 0, canonical_kept = 0, left = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string t = EventText(rng);
    const common::Result<Event> general = GeneralDecode(t);
    ASSERT_EQ(Differ(DecodeEvent(t), general), "") << "text #" << i;
    std::optional<EventPrefix> fast = ReadEventPrefix(t);
    if (!fast) {
      ++left;
      continue;
    }
    ASSERT_LE(fast->size, t.size()) << "text #" << i;
    const std::string_view read_text = std::string_view(t).substr(0, fast->size);
    ASSERT_EQ(Differ(fast->event, GeneralDecode(read_text)), "") << "text #" << i;
    if (fast->size != t.size()) continue;
    ++read;
    if (!fast->event.ok()) {
      ++refused_in_place;
      continue;
    }
    EXPECT_EQ(fast->id, fast->event->id);
    EXPECT_EQ(fast->case_id, fast->event->case_id);
    if (fast->event->canonical == t) ++canonical_kept;
    // A stored event keeps its bytes, whatever their form, and decodes to the same event.
    auto stored = DecodeStoredEvent(t);
    ASSERT_TRUE(stored.ok()) << "text #" << i;
    EXPECT_EQ(stored->canonical, t);
    stored->canonical = general->canonical;
    ASSERT_EQ(Differ(*stored, general), "") << "text #" << i;
  }
  // Each way is really taken (counts for this seed: see the test's history).
  std::printf("read in place %d (refused %d, canonical kept %d), left to the general decoder %d\n", read,
              refused_in_place, canonical_kept, left);
  EXPECT_GT(read, 4000);  // 5,464
  EXPECT_GT(refused_in_place, 1000);  // 1,946
  EXPECT_GT(canonical_kept, 2000);  // 3,048
  EXPECT_GT(left, 8000);  // 13,914
}

// A message text around `events`: as nodes write it, or with one change the frame reader
// must leave to the whole-message parse (white space, a repeated key, the member or its
// events of another type, members out of order, a float, an event that is not an object).
std::string MessageText(std::mt19937_64& rng, const std::string& member, const std::vector<std::string>& events) {
  std::string list;
  for (size_t i = 0; i < events.size(); ++i) list += (i ? "," : "") + events[i];
  std::string inner = "{\"base\":3,\"events\":[" + list + "],\"more\":true}";
  std::string before = "\"from\":\"v210902001001\",", after = ",\"v\":1";
  switch (rng() % 16) {  // about half of them changed
    case 0: inner = "{\"events\": [" + list + "]}"; break;
    case 1: inner = "{\"events\":[" + list + "],\"events\":[]}"; break;
    case 2: inner = "[" + list + "]"; break;
    case 3: inner = "{\"events\":{\"a\":[" + list + "]}}"; break;
    case 4: inner = "{\"events\":[" + list + (list.empty() ? "5" : ",5") + "]}"; break;
    case 5: before = "\"v\":1,"; after = ",\"from\":\"v210902001001\""; break;
    case 6: after = ",\"v\":1.5"; break;
    case 7: after = ",\"" + member + "\":{}"; break;
    default: break;
  }
  return "{" + before + "\"" + member + "\":" + inner + after + "}";
}

// DecodeFrameWithEvents must give what DecodeFrame and then EventFromJson per event give
// (the same refusal of the frame, the same message, the same event or refusal for each
// event, its id and case as sent), reading the events in place where the message is
// written as nodes write it.
TEST(CodecTest, TheFrameReaderAgreesWithTheWholeMessageParse) {
  std::mt19937_64 rng(20261205);
  int in_place = 0, parsed_whole = 0, frames_refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string member = rng() % 2 == 0 ? "push" : "pull";
    std::vector<std::string> events;
    for (int n = static_cast<int>(rng() % 6); n > 0; --n) {
      // Mostly texts a node writes (valid or not), some with a change of EventText's.
      events.push_back(rng() % 4 == 0 ? EventText(rng) : EncodeEvent(SampleEvent()));
      if (rng() % 3 == 0) {
        Json j = EventToJson(SampleEvent());
        j["role"] = "mayor";
        events.back() = common::CanonicalJson(j);
      }
    }
    const std::string frame = testing::RawFrame(MessageText(rng, member, events));
    const auto reference = DecodeFrame(frame);
    const auto got = DecodeFrameWithEvents(frame, member);
    ASSERT_EQ(got.ok(), reference.ok()) << "frame #" << i;
    if (!reference.ok()) {
      EXPECT_EQ(got.status().ToString(), reference.status().ToString()) << "frame #" << i;
      ++frames_refused;
      continue;
    }
    Json message = *reference;
    std::vector<FrameEvent> expected;
    if (message.contains(member) && message[member].is_object() && message[member].contains("events") &&
        message[member]["events"].is_array()) {
      for (Json& ej : message[member]["events"]) {
        FrameEvent fe{EventFromJson(ej), "", ""};
        if (ej.is_object() && ej.contains("id") && ej["id"].is_string()) fe.id = ej["id"].get<std::string>();
        if (ej.is_object() && ej.contains("case") && ej["case"].is_string()) fe.case_id = ej["case"].get<std::string>();
        expected.push_back(std::move(fe));
      }
      message[member]["events"] = Json::array();
    }
    ASSERT_EQ(got->message, message) << "frame #" << i;
    ASSERT_EQ(got->events.size(), expected.size()) << "frame #" << i;
    for (size_t k = 0; k < expected.size(); ++k) {
      ASSERT_EQ(Differ(got->events[k].event, expected[k].event), "") << "frame #" << i << " event " << k;
      EXPECT_EQ(got->events[k].id, expected[k].id) << "frame #" << i << " event " << k;
      EXPECT_EQ(got->events[k].case_id, expected[k].case_id) << "frame #" << i << " event " << k;
    }
    ++(got->read_in_place ? in_place : parsed_whole);
  }
  EXPECT_GT(in_place, 800);
  EXPECT_GT(parsed_whole, 800);
  EXPECT_GT(frames_refused, 50);

  // A frame as nodes write it, valid events and refused ones, is read in place (a value of
  // the wrong type, as "hlc":-1, is left to the whole parse, which names it).
  Json bad = EventToJson(SampleEvent());
  bad["role"] = "mayor";
  Json msg = {{"v", 1}, {"pull", {{"events", Json::array()}, {"more", false}}}};
  auto frame = EncodeFrameWithEvents(msg, {EncodeEvent(SampleEvent()), common::CanonicalJson(bad)});
  ASSERT_TRUE(frame.ok());
  auto got = DecodeFrameWithEvents(*frame, "pull");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->read_in_place);
  EXPECT_EQ(got->message, msg);
  ASSERT_EQ(got->events.size(), 2u);
  EXPECT_TRUE(got->events[0].event.ok());
  EXPECT_EQ(got->events[0].event->canonical, EncodeEvent(SampleEvent()));
  EXPECT_FALSE(got->events[1].event.ok());
  EXPECT_EQ(got->events[1].id, SampleEvent().id);
  // The other member's events are not this one's: left in the message, as parsed.
  auto other = DecodeFrameWithEvents(*frame, "push");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->events.empty());
  EXPECT_EQ(other->message, *DecodeFrame(*frame));
}

TEST(EventTest, AStoredEventThatDoesNotDecodeIsDataLoss) {
  Json j = EventToJson(SampleEvent());
  j["role"] = "mayor";
  for (const std::string& t : {common::CanonicalJson(j), std::string("{\"body\":{}"), std::string("[1]")}) {
    auto e = DecodeStoredEvent(t);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), common::StatusCode::kDataLoss) << t;
  }
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
