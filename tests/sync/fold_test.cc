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
#include "sync/replica.h"
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

  // An event that extends `events` (sync/merge.h ExtendFold): every event so far among its
  // parents and a clock above all of theirs. Of any kind but a create; a step is one the
  // case allows from where it is (`facts`, if known) about half of the time.
  // A field in conflict (`conflicted`, if any) is written over, settling it, often.
  Event Extend(const std::vector<Event>& events, const common::CaseFacts* facts,
               const std::string& conflicted = "") {
    const int k = static_cast<int>(events.size()) + 100;
    Event e = MakeEvent(events, k);
    while (e.kind == kKindCreate) e = MakeEvent(events, k);
    e.parents.clear();
    HlcTimestamp hlc = 0;
    for (const auto& p : events) {
      e.parents.push_back(p.id);
      hlc = std::max(hlc, p.hlc);
    }
    std::sort(e.parents.begin(), e.parents.end());
    e.parents.erase(std::unique(e.parents.begin(), e.parents.end()), e.parents.end());
    e.hlc = hlc + 1 + Pick(3);
    if (facts && Chance(50)) {
      auto tier = static_cast<common::Tier>(Pick(4));
      auto role = static_cast<common::Role>(Pick(3));
      auto allowed = common::AllowedActions(*facts, tier, role);
      if (!allowed.empty()) {
        e.kind = std::string(kKindStep);
        e.actor.tier = tier;
        e.actor.role = role;
        e.body = Body(e.kind);
        e.body["action"] = common::CaseActionName(allowed[Pick(allowed.size())]);
      }
    } else if (!conflicted.empty() && Chance(60)) {
      e.kind = std::string(kKindEdit);
      e.body = Body(e.kind);
      e.body["fields"] = Json::object({{conflicted, Text()}});
    }
    return e;
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
  auto data = daiban::testing::LoadStoryData(DAIBAN_SHARED_DATA, std::string(DAIBAN_SOURCE_DIR) + "/config");
  ASSERT_TRUE(data.ok()) << data.status().message();
  daiban::testing::Generator gen(data->tree, data->catalog, data->calendar, 7);
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

// The distinct events of `events`.
std::vector<Event> Distinct(std::vector<Event> events) {
  std::sort(events.begin(), events.end(), EventOrderLess);
  events.erase(std::unique(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.id == b.id; }),
               events.end());
  return events;
}

// ExtendFold(FoldCase(before), added) is FoldCase(before + added) in every output, or nothing.
// Returns whether it gave a fold.
bool ExpectSameExtension(const std::vector<Event>& before, const std::vector<Event>& added, const std::string& what) {
  CaseFold prior = FoldCase(before, FoldOutput::kTextOnly);
  std::optional<CaseFold> got = ExtendFold(prior.canonical, prior.max_hlc, added, FoldOutput::kTextOnly);
  if (!got) return false;
  std::vector<Event> all = before;
  all.insert(all.end(), added.begin(), added.end());
  CaseFold full = FoldCase(all);
  EXPECT_EQ(got->canonical, full.canonical) << what;
  EXPECT_EQ(got->digest, full.digest) << what;
  EXPECT_EQ(got->region, full.region) << what;
  EXPECT_EQ(got->status, full.status) << what;
  EXPECT_EQ(got->max_hlc, full.max_hlc) << what;
  EXPECT_TRUE(got->state.is_null()) << what;
  std::optional<CaseFold> tree = ExtendFold(prior.canonical, prior.max_hlc, added);
  EXPECT_TRUE(tree.has_value()) << what;
  if (tree) {
    EXPECT_EQ(tree->state, full.state) << what;
  }
  return true;
}

TEST(FoldTest, ExtendingAFoldEqualsFoldingEveryEventOnRandomHistories) {
  HistoryGen gen(20261205);
  int extended = 0, settled = 0, stepped = 0, superseded = 0, refused_in_arrival_order = 0, taken_in_arrival_order = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string what = "random history " + std::to_string(i);
    std::vector<Event> history = Distinct(gen.Make());
    // 1. Events made to extend it, one to four, folded on one at a time and all at once.
    std::vector<Event> chain;
    for (size_t n = 1 + i % 4; n > 0; --n) {
      std::vector<Event> so_far = history;
      so_far.insert(so_far.end(), chain.begin(), chain.end());
      CaseFold fold = FoldCase(so_far);
      auto facts = Replica::FactsOf(fold.state);
      std::string conflicted = fold.state["conflicts"].empty() ? "" : fold.state["conflicts"][0].value("field", "");
      chain.push_back(gen.Extend(so_far, facts.ok() ? &*facts : nullptr, conflicted));
    }
    const bool has_create = !FoldCase(history).state.contains("incomplete");
    std::vector<Event> so_far = history;
    for (const Event& e : chain) {
      CaseFold before = FoldCase(so_far, FoldOutput::kTextOnly);
      bool got = ExpectSameExtension(so_far, {e}, what);
      if (::testing::Test::HasFailure()) return;
      // Every such event extends a case that has its create.
      EXPECT_EQ(got, has_create) << what;
      if (got) {
        ++extended;
        Json b = Json::parse(before.canonical);
        std::vector<Event> next = so_far;
        next.push_back(e);
        Json a = FoldCase(next).state;
        settled += a["conflicts"].size() < b["conflicts"].size();
        stepped += a["steps"].size() > b["steps"].size() && a["status"] != b["status"];
        superseded += a["superseded"].size() > b["superseded"].size();
      }
      so_far.push_back(e);
    }
    EXPECT_EQ(ExpectSameExtension(history, chain, what + " (the chain at once)"), has_create) << what;
    // 2. The history's own events in arrival order: whenever one is folded on, it agrees.
    std::vector<Event> arrival = history;
    std::shuffle(arrival.begin(), arrival.end(), std::mt19937_64(i));
    for (size_t k = 1; k < arrival.size(); ++k) {
      std::vector<Event> before(arrival.begin(), arrival.begin() + static_cast<std::ptrdiff_t>(k));
      bool got = ExpectSameExtension(before, {arrival[k]}, what + " arrival " + std::to_string(k));
      taken_in_arrival_order += got;
      refused_in_arrival_order += !got;
      if (::testing::Test::HasFailure()) return;
    }
  }
  std::printf("extended %d times (%d settling a conflict, %d moving the status, %d superseded); in arrival order "
              "%d taken, %d left to the full fold\n",
              extended, settled, stepped, superseded, taken_in_arrival_order, refused_in_arrival_order);
  EXPECT_GT(extended, 2000);
  EXPECT_GT(settled, 50);
  EXPECT_GT(stepped, 300);
  EXPECT_GT(superseded, 300);
  EXPECT_GT(refused_in_arrival_order, 1000);
}

TEST(FoldTest, ExtendingAFoldEqualsFoldingEveryEventOnRealStories) {
  auto data = daiban::testing::LoadStoryData(DAIBAN_SHARED_DATA, std::string(DAIBAN_SOURCE_DIR) + "/config");
  ASSERT_TRUE(data.ok()) << data.status().message();
  daiban::testing::Generator gen(data->tree, data->catalog, data->calendar, 11);
  for (int i = 1; i <= 300; ++i) {
    gen.MakeCase(i);
    // A story's steps happen one after another: each one after the create extends the case.
    std::vector<Event> story = Distinct(gen.events());
    gen.events().clear();
    for (size_t k = 1; k < story.size(); ++k) {
      std::vector<Event> before(story.begin(), story.begin() + static_cast<std::ptrdiff_t>(k));
      EXPECT_TRUE(ExpectSameExtension(before, {story[k]}, "story " + std::to_string(i) + " step " + std::to_string(k)));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(FoldTest, OnlyAnEventThatExtendsTheCaseIsFoldedOn) {
  HistoryGen gen(5);
  std::vector<Event> history;
  while (history.empty() || FoldCase(history).state.contains("incomplete")) history = Distinct(gen.Make());
  CaseFold prior = FoldCase(history, FoldOutput::kTextOnly);
  Event e = gen.Extend(history, nullptr);
  ASSERT_TRUE(ExtendFold(prior.canonical, prior.max_hlc, {e}).has_value());

  Event create = e;
  create.kind = std::string(kKindCreate);
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {create})) << "a second create";
  Event early = e;
  early.hlc = prior.max_hlc;
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {early})) << "a clock not above every event's";
  Event blind = e;
  blind.parents.clear();
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {blind})) << "no parents";
  Json heads = Json::parse(prior.canonical)["heads"];
  Event partial = e;
  partial.parents.erase(std::find(partial.parents.begin(), partial.parents.end(), heads[0].get<std::string>()));
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {partial})) << "a head unseen";
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {})) << "nothing added";
  EXPECT_FALSE(ExtendFold("{not json", prior.max_hlc, {e})) << "a state that does not parse";
  EXPECT_FALSE(ExtendFold("[]", prior.max_hlc, {e})) << "a state that is not an object";
  Json no_status = Json::parse(prior.canonical);
  no_status.erase("status");
  EXPECT_FALSE(ExtendFold(common::CanonicalJson(no_status), prior.max_hlc, {e})) << "a state without its status";
  CaseFold incomplete = FoldCase({}, FoldOutput::kTextOnly);
  EXPECT_FALSE(ExtendFold(incomplete.canonical, 0, {e})) << "a case still waiting for its create";
  // Two in the wrong order are refused: the second one given does not extend the first.
  Event second = gen.Extend([&] {
    std::vector<Event> v = history;
    v.push_back(e);
    return v;
  }(), nullptr);
  EXPECT_TRUE(ExtendFold(prior.canonical, prior.max_hlc, {second, e}).has_value()) << "taken in rule-1 order";
  second.parents.erase(std::find(second.parents.begin(), second.parents.end(), e.id));
  EXPECT_FALSE(ExtendFold(prior.canonical, prior.max_hlc, {second, e})) << "concurrent with each other";
}

}  // namespace
}  // namespace daiban::sync
