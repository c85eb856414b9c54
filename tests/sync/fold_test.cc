// FoldCase writes a case's canonical state directly (sync/merge.cc); these tests check its
// bytes against the same rules stated as a JSON tree (tests/sync/fold_reference.cc), on
// random case histories that reach every rule and every odd body, and on real stories.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/case_machine.h"
#include "common/catalog.h"
#include "common/calendar.h"
#include "common/region.h"
#include "sync/merge.h"
#include "sync/protocol.h"
#include "tests/support/case_story.h"
#include "tests/sync/fold_reference.h"

namespace daiban::sync {
namespace {

using common::Json;

// Random histories of one case: a DAG of events with random parents (so concurrent
// branches, field conflicts and settling edits), every kind, valid and invalid actions,
// every tier and role, and bodies with members of the wrong type or missing.
class HistoryGen {
 public:
  explicit HistoryGen(uint64_t seed) : rng_(seed) {}

  std::vector<Event> Make() {
    std::vector<Event> events;
    lifecycle_ = Chance(60);
    facts_ = common::CaseFacts();
    has_main_ = false;
    const int count = 1 + static_cast<int>(Pick(14));
    for (int k = 0; k < count; ++k) events.push_back(MakeEvent(events, k));
    std::vector<Event> input = events;
    for (size_t r = Pick(3); r > 0; --r) input.push_back(events[Pick(events.size())]);  // repeats
    std::shuffle(input.begin(), input.end(), rng_);
    return input;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

  // Text with what the writer must escape or pass through: quotes, backslashes, control
  // characters, Chinese, and a four-byte character.
  std::string Text() {
    static const char* kPieces[] = {"张三", "李\"四\"", "a\\b", "\n\t", "\x01", "note", "𠀀", "", "王五 ", "/"};
    std::string s;
    for (size_t i = Pick(4) + 1; i > 0; --i) s += kPieces[Pick(std::size(kPieces))];
    return s;
  }

  // A value of the wrong type now and then.
  Json Value() {
    if (Chance(85)) return Text();
    switch (Pick(4)) {
      case 0: return 7;
      case 1: return Json::array({"x"});
      case 2: return true;
      default: return nullptr;
    }
  }

  Json StringList() {
    if (Chance(10)) return "not a list";
    Json a = Json::array();
    static const char* kMaterials[] = {"身份证", "户口簿", "申请表", "照片"};
    for (size_t i = Pick(4); i > 0; --i) a.push_back(Chance(90) ? Json(kMaterials[Pick(4)]) : Json(3));
    return a;
  }

  Json Fields() {
    Json f = Json::object();
    for (const char* k : {"applicant_id", "applicant_name", "applicant_phone", "note"}) {
      if (Chance(40)) f[k] = Value();
    }
    for (const char* k : {"applicant_id_hash", "applicant_id_masked", "applicant_phone_hash", "applicant_phone_masked"}) {
      if (Chance(30)) f[k] = Value();
    }
    return f;
  }

  Json Body(const std::string& kind) {
    Json b = Json::object();
    if (kind == kKindCreate) {
      b = Fields();
      for (const char* k : {"item", "item_name", "department", "item_kind"}) {
        if (Chance(90)) b[k] = Value();
      }
      if (Chance(90)) b["promised_days"] = Chance(90) ? Json(static_cast<int64_t>(Pick(60))) : Json("20");
      static const char* kTiers[] = {"village", "township", "county", "city", "moon"};
      if (Chance(80)) b["accept_level"] = kTiers[Pick(5)];
      if (Chance(60)) b["decide_level"] = kTiers[Pick(5)];
      if (Chance(80)) b["materials_required"] = StringList();
      if (Chance(50)) b["materials"] = StringList();
    } else if (kind == kKindStep) {
      if (Chance(95)) {
        b["action"] = Chance(92) ? Json(common::CaseActionName(static_cast<common::CaseAction>(Pick(11))))
                                 : Json(Chance(50) ? "bogus" : "");
      }
      static const char* kDates[] = {"2025-03-03", "2025-03-10", "2025-04-01"};
      if (Chance(90)) b["date"] = kDates[Pick(3)];
      if (Chance(50)) b["due_date"] = kDates[Pick(3)];
      if (Chance(50)) b["reason"] = Value();
      if (Chance(40)) b["missing"] = StringList();
      if (Chance(40)) b["approved"] = Chance(80) ? Json(Chance(50)) : Json("yes");
      if (Chance(30)) b["evaluation"] = Value();
    } else if (kind == kKindEdit) {
      b["fields"] = Chance(90) ? Fields() : Json("not an object");
    } else if (kind == kKindMaterials) {
      b["add"] = StringList();
    } else if (kind == kKindComment) {
      if (Chance(90)) b["text"] = Value();
    }
    return b;
  }

  // A step that the case's main line allows from where it is, by a tier and role that may
  // take it, so that histories also run the whole lifecycle (decisions, evaluations)
  // beside their random branches. False if nobody may take a step now.
  bool LifecycleStep(Event* e) {
    for (int tries = 0; tries < 20; ++tries) {
      auto tier = static_cast<common::Tier>(Pick(4));
      auto role = static_cast<common::Role>(Pick(3));
      auto allowed = common::AllowedActions(facts_, tier, role);
      if (!Chance(5)) {  // a withdrawal ends the line: rarely
        allowed.erase(std::remove(allowed.begin(), allowed.end(), common::CaseAction::kWithdraw), allowed.end());
      }
      if (allowed.empty()) continue;
      common::CaseAction action = allowed[Pick(allowed.size())];
      facts_ = common::ApplyStep(facts_, action, tier);
      e->actor.tier = tier;
      e->actor.role = role;
      e->kind = std::string(kKindStep);
      e->body = Body(e->kind);
      e->body["action"] = common::CaseActionName(action);
      return true;
    }
    return false;
  }

  Event MakeEvent(const std::vector<Event>& before, int k) {
    Event e;
    static const char* kOrigins[] = {"v1", "v2", "t1", "c1", "hub"};
    e.origin = kOrigins[Pick(5)];
    e.id = e.origin + ".00000000000" + std::to_string(k % 10) + "." + std::to_string(k + 1);
    e.case_id = "210902001001-7";
    e.region = "210902001001";
    e.origin_region = "210902001001";
    e.actor.user = Chance(90) ? "user" + std::to_string(Pick(3)) : "李\"四\"";
    e.actor.role = static_cast<common::Role>(Pick(4));
    e.actor.tier = static_cast<common::Tier>(Pick(4));
    // Parents: some of the events before (none for a root), so branches run concurrently.
    HlcTimestamp hlc = 1;
    for (const auto& p : before) {
      if (Chance(before.size() > 4 ? 25 : 50)) {
        e.parents.push_back(p.id);
        hlc = std::max(hlc, p.hlc + 1);
      }
    }
    std::sort(e.parents.begin(), e.parents.end());
    e.hlc = hlc + Pick(3) * (uint64_t{1} << 16);  // equal clocks on branches now and then
    static const std::string kKinds[] = {std::string(kKindCreate), std::string(kKindStep), std::string(kKindEdit),
                                         std::string(kKindMaterials), std::string(kKindComment), "case.other"};
    e.kind = k == 0 && Chance(90) ? kKinds[0] : kKinds[Chance(8) ? 0 : 1 + Pick(5)];
    e.body = Body(e.kind);
    if (lifecycle_ && k == 0) {  // the main line's create: a village agent files for the township
      e.kind = std::string(kKindCreate);
      e.body = Body(e.kind);
      e.body["accept_level"] = "township";
      e.body["decide_level"] = Chance(50) ? "township" : "county";
      e.actor.tier = common::Tier::kVillage;
      e.actor.role = common::Role::kAgent;
      facts_.decide_level = e.body["decide_level"] == "county" ? common::Tier::kCounty : common::Tier::kTownship;
      main_hlc_ = e.hlc;
      main_id_ = e.id;
      has_main_ = true;
    } else if (lifecycle_ && has_main_ && Chance(60) && LifecycleStep(&e)) {  // extends the main line
      if (std::find(e.parents.begin(), e.parents.end(), main_id_) == e.parents.end()) {
        e.parents.push_back(main_id_);
        std::sort(e.parents.begin(), e.parents.end());
      }
      e.hlc = std::max(e.hlc, main_hlc_ + 1);
      main_hlc_ = e.hlc;
      main_id_ = e.id;
    }
    return e;
  }

  std::mt19937_64 rng_;
  bool lifecycle_ = false;
  common::CaseFacts facts_;
  bool has_main_ = false;  // the main line has its create
  HlcTimestamp main_hlc_ = 0;
  std::string main_id_;
};

void ExpectSameFold(std::vector<Event> events, const std::string& what) {
  const std::string expected = common::NlohmannCanonicalJson(testing::ReferenceFoldState(events));
  CaseFold text = FoldCase(events, FoldOutput::kTextOnly);
  ASSERT_EQ(text.canonical, expected) << what;
  EXPECT_EQ(text.digest, common::Sha256Hex(expected)) << what;
  EXPECT_TRUE(text.state.is_null()) << what;
  Json reference = Json::parse(expected);
  EXPECT_EQ(text.region, reference.value("region", "")) << what;
  EXPECT_EQ(text.status, reference.value("status", "")) << what;
  CaseFold full = FoldCase(std::move(events));
  EXPECT_EQ(full.canonical, expected) << what;
  EXPECT_EQ(full.state, reference) << what;
}

TEST(FoldTest, WritesTheReferenceStateBytesOnRandomHistories) {
  HistoryGen gen(20261204);
  int conflicts = 0, superseded = 0, decided = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<Event> events = gen.Make();
    Json state = testing::ReferenceFoldState(events);
    conflicts += !state["conflicts"].empty();
    superseded += !state["superseded"].empty();
    decided += state.contains("decision");
    ExpectSameFold(std::move(events), "random history " + std::to_string(i));
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The histories must reach the rules, or the comparison proves little.
  std::printf("of 3000 histories: %d with a field conflict, %d with a superseded event, %d decided\n", conflicts,
              superseded, decided);
  EXPECT_GT(conflicts, 300);
  EXPECT_GT(superseded, 1000);
  EXPECT_GT(decided, 100);
}

TEST(FoldTest, WritesTheReferenceStateBytesOnRealStories) {
  auto tree = common::RegionTree::LoadDir(std::string(DAIBAN_SHARED_DATA) + "/regions", "3706");
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  auto catalog = common::Catalog::LoadCsv(std::string(DAIBAN_SOURCE_DIR) + "/config/catalog/items.csv");
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  auto calendar =
      common::WorkCalendar::LoadCsv(std::string(DAIBAN_SOURCE_DIR) + "/config/calendar/cn-holidays-2025-2026.csv");
  ASSERT_TRUE(calendar.ok()) << calendar.status().message();
  daiban::testing::Generator gen(*tree, *catalog, *calendar, 7);
  for (int i = 1; i <= 300; ++i) {
    gen.MakeCase(i);
    ExpectSameFold(gen.events(), "story " + std::to_string(i));
    gen.events().clear();
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(FoldTest, NoEventsFoldToAnEmptyIncompleteState) {
  ExpectSameFold({}, "no events");
  CaseFold f = FoldCase({});
  EXPECT_EQ(f.state["incomplete"], "the case.create event has not arrived yet");
  EXPECT_EQ(f.state["fields"], Json::object());
}

}  // namespace
}  // namespace daiban::sync
