// Synthetic case stories with known outcomes, for the hub's statistics test and benchmark:
// each case is filed at a village (by an agent) or a township (walk-in), then withdrawn,
// rejected, supplemented, accepted, forwarded, decided, completed and evaluated on chosen
// working days, as the domain rules allow. The generator records what it decided (Truth)
// so expected figures are counted independently of the code under test.
#ifndef DAIBAN_TESTS_SUPPORT_CASE_STORY_H_
#define DAIBAN_TESTS_SUPPORT_CASE_STORY_H_

#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/calendar.h"
#include "common/case_machine.h"
#include "common/catalog.h"
#include "common/region.h"
#include "common/status.h"
#include "sync/event.h"
#include "sync/protocol.h"

namespace daiban::testing {

// What the stories are told over: the real Yantai 烟台市 (3706) region tree from the
// shared data (`shared_data`, e.g. ../shared/data) and the catalog and calendar the
// product ships in `config` (the clone's config/).
struct StoryData {
  common::RegionTree tree;
  common::Catalog catalog;
  common::WorkCalendar calendar;
};
inline common::Result<StoryData> LoadStoryData(const std::string& shared_data, const std::string& config) {
  DAIBAN_ASSIGN_OR_RETURN(common::RegionTree tree, common::RegionTree::LoadDir(shared_data + "/regions", "3706"));
  DAIBAN_ASSIGN_OR_RETURN(common::Catalog catalog, common::Catalog::LoadCsv(config + "/catalog/items.csv"));
  DAIBAN_ASSIGN_OR_RETURN(common::WorkCalendar calendar,
                          common::WorkCalendar::LoadCsv(config + "/calendar/cn-holidays-2025-2026.csv"));
  return StoryData{std::move(tree), std::move(catalog), std::move(calendar)};
}

using common::CaseAction;
using common::Date;
using common::Json;
using common::Role;
using common::Tier;

// What the generator decided for one case: the ground truth.
struct Truth {
  std::string case_id, region, village, item, department, agent;
  bool proxy = false, on_the_spot = false;
  std::string submitted, accepted, rejected, supplement, withdrawn, completed, due, evaluated;
  int evaluation = 0;  // 1..5, 0 = none
  int days = 0;        // working days from acceptance to completion
  bool open = false;   // clock running at the end
};

class Generator {
 public:
  // Cases in the villages under `root` (a 12-digit code).
  Generator(const common::RegionTree& tree, const common::Catalog& catalog, const common::WorkCalendar& calendar,
            uint64_t seed, const std::string& root = "370600000000")
      : tree_(tree), catalog_(catalog), calendar_(calendar), rng_(seed) {
    villages_ = tree.Descendants(*common::RegionCode::Parse(root), common::RegionLevel::kVillage);
  }

  void MakeCase(int n) {
    Truth t;
    const auto& village = villages_[Pick(villages_.size())];
    const common::ServiceItem& item = catalog_.items()[Pick(catalog_.items().size())];
    t.village = village.str();
    t.proxy = item.proxy_allowed && Pick(10) < 8;
    t.region = t.proxy ? t.village : village.AncestorAt(common::RegionLevel::kTownship).str();
    t.item = item.code;
    t.department = item.department;
    t.on_the_spot = item.kind == common::ItemKind::kOnTheSpot;
    Tier filed_tier = t.proxy ? Tier::kVillage : Tier::kTownship;
    std::string filer = t.proxy ? "agent" + std::to_string(Pick(3)) : "clerk";
    std::string filer_node = NodeFor(filed_tier, t.region);
    if (t.proxy) t.agent = filer + "@" + filer_node;
    Date day = calendar_.AddWorkingDays(*Date::Parse("2025-01-01"), static_cast<int>(Pick(240)));
    t.case_id = t.region + "-" + std::to_string(n);
    t.submitted = day.ToString();
    Json body = {{"item", item.code}, {"item_name", item.name}, {"department", item.department},
                 {"item_kind", common::ItemKindName(item.kind)}, {"promised_days", item.promised_days},
                 {"accept_level", common::TierName(item.accept_level)},
                 {"decide_level", common::TierName(item.decide_level)}, {"applicant_name", "张三"},
                 {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"}, {"note", ""},
                 {"materials_required", item.materials}, {"materials", Json::array()}};
    chain_.clear();
    Emit(t, filed_tier, Role::kAgent, filer, sync::kKindCreate, body, day);
    Step(t, filed_tier, filer, CaseAction::kSubmit, day);
    int path = static_cast<int>(Pick(100));
    if (path < 5) {  // withdrawn before anything happened
      day = Next(day, 1);
      t.withdrawn = day.ToString();
      Step(t, filed_tier, filer, CaseAction::kWithdraw, day, {{"reason", "居民撤回"}});
      truths_.push_back(t);
      return;
    }
    if (path < 12) {
      day = Next(day, 1);
      t.rejected = day.ToString();
      Step(t, item.accept_level, "clerk", CaseAction::kReject, day, {{"reason", "不符合条件"}});
      truths_.push_back(t);
      return;
    }
    if (path < 30) {
      day = Next(day, 1);
      t.supplement = day.ToString();
      Step(t, item.accept_level, "clerk", CaseAction::kRequestSupplement, day, {{"missing", {item.materials[0]}}});
      day = Next(day, 2);
      Step(t, filed_tier, filer, CaseAction::kSupplement, day);
    }
    day = Next(day, t.on_the_spot ? 0 : 1);
    t.accepted = day.ToString();
    t.due = common::DueDate(day, item.promised_days, calendar_).ToString();
    Step(t, item.accept_level, "clerk", CaseAction::kAccept, day, {{"due_date", t.due}});
    if (Pick(100) < 15 && !t.on_the_spot) {  // still open at the end of the run
      t.open = true;
      truths_.push_back(t);
      return;
    }
    Tier holder = item.accept_level;
    while (holder < item.decide_level) {
      Step(t, holder, "clerk", CaseAction::kForward, day);
      holder = common::NextTierUp(holder);
    }
    int spent = t.on_the_spot ? 0 : static_cast<int>(Pick(static_cast<uint64_t>(item.promised_days) + 6));
    Date done = calendar_.AddWorkingDays(day, spent);
    Step(t, holder, "clerk", CaseAction::kDecide, done, {{"approved", true}, {"reason", ""}});
    t.completed = done.ToString();
    t.days = calendar_.WorkingDaysBetween(day, done);
    Step(t, item.accept_level, "clerk", CaseAction::kComplete, done);
    if (Pick(10) < 7) {
      Date on = Next(done, static_cast<int>(Pick(3)));
      t.evaluation = 1 + static_cast<int>(Pick(5));
      t.evaluated = on.ToString();
      Step(t, filed_tier, filer, CaseAction::kEvaluate, on,
           {{"evaluation", common::EvaluationName(static_cast<common::Evaluation>(t.evaluation))}});
    }
    truths_.push_back(t);
  }

  std::vector<sync::Event>& events() { return events_; }
  const std::vector<Truth>& truths() const { return truths_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  Date Next(Date d, int working_days) { return calendar_.AddWorkingDays(d, working_days); }
  std::string NodeFor(Tier tier, const std::string& region) {
    auto code = *common::RegionCode::Parse(region);
    switch (tier) {
      case Tier::kVillage: return "v" + std::string(code.Prefix());
      case Tier::kTownship: return "t" + std::string(code.AncestorAt(common::RegionLevel::kTownship).Prefix());
      case Tier::kCounty: return "c" + std::string(code.AncestorAt(common::RegionLevel::kCounty).Prefix());
      case Tier::kCity: return "hub";
    }
    return "";
  }
  void Step(Truth& t, Tier tier, const std::string& user, CaseAction a, Date day, Json extra = Json::object()) {
    extra["action"] = std::string(common::CaseActionName(a));
    extra["date"] = day.ToString();
    Emit(t, tier, user == "clerk" ? Role::kClerk : Role::kAgent, user, sync::kKindStep, std::move(extra), day);
  }
  void Emit(const Truth& t, Tier tier, Role role, const std::string& user, std::string_view kind, Json body, Date day) {
    sync::Event e;
    e.origin = NodeFor(tier, t.region);
    common::RegionLevel level = tier == Tier::kVillage    ? common::RegionLevel::kVillage
                                : tier == Tier::kTownship ? common::RegionLevel::kTownship
                                : tier == Tier::kCounty   ? common::RegionLevel::kCounty
                                                          : common::RegionLevel::kCity;
    e.origin_region = common::RegionCode::Parse(t.region)->AncestorAt(level).str();
    e.id = sync::MakeEventId(e.origin, "000000000001", ++counters_[e.origin]);
    e.case_id = t.case_id;
    e.region = t.region;
    e.actor = {user, role, tier};
    e.kind = std::string(kind);
    e.body = std::move(body);
    // Hybrid clock: the day at 09:00 CST plus a step counter, increasing along the chain.
    int64_t ms = (day.days() * 86400 + 3600) * 1000 + static_cast<int64_t>(chain_.size());
    e.hlc = static_cast<sync::HlcTimestamp>(ms) << 16;
    if (!chain_.empty()) e.parents = {chain_.back()};
    chain_.push_back(e.id);
    events_.push_back(std::move(e));
  }

  const common::RegionTree& tree_;
  const common::Catalog& catalog_;
  const common::WorkCalendar& calendar_;
  std::mt19937_64 rng_;
  std::vector<common::RegionCode> villages_;
  std::map<std::string, int64_t> counters_;
  std::vector<std::string> chain_;
  std::vector<sync::Event> events_;
  std::vector<Truth> truths_;
};

}  // namespace daiban::testing

#endif  // DAIBAN_TESTS_SUPPORT_CASE_STORY_H_
