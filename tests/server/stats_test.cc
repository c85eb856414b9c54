// The hub's statistics against ground truth: a year of synthetic cases over the real
// Yantai 烟台市 (3706) region tree, whose outcomes the generator decides (so the expected
// figures are counted from the generator's own records, not from the code under test),
// ingested as a shuffled and duplicated event stream. Every statistic must equal the
// ground truth, and a rebuild from the log must give the same tables row by row.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/case_machine.h"
#include "server/stats.h"
#include "tests/support/case_story.h"
#include "sync/event_store.h"
#include "sync/protocol.h"

namespace daiban::server {
namespace {

using testing::Generator;
using testing::Truth;

using common::CaseAction;
using common::Date;
using common::Json;
using common::Role;
using common::Tier;

class StatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto data = testing::LoadStoryData(DAIBAN_SHARED_DATA, std::string(DAIBAN_SOURCE_DIR) + "/config");
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    data_ = new testing::StoryData(std::move(data).value());
    tree_ = &data_->tree;
    catalog_ = &data_->catalog;
    calendar_ = &data_->calendar;
  }
  void SetUp() override {
    sync::StoreOptions so;
    so.path = ":memory:";
    so.node_id = "hub";
    so.region = "370600000000";
    so.tier = Tier::kCity;
    auto store = sync::EventStore::Open(so);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    stats_ = std::make_unique<Stats>(store_->db(), catalog_, calendar_, tree_);
    ASSERT_TRUE(stats_->Init().ok());
    store_->set_fold_listener(stats_.get());
  }
  // Inserts events in batches of 500.
  void Ingest(const std::vector<sync::Event>& events) {
    for (size_t i = 0; i < events.size(); i += 500) {
      ASSERT_TRUE(store_->BeginBatch().ok());
      for (size_t j = i; j < std::min(events.size(), i + 500); ++j) ASSERT_TRUE(store_->Insert(events[j], "t").ok());
      ASSERT_TRUE(store_->CommitBatch().ok());
    }
  }
  // The last case in id order: its id and stored state.
  std::pair<std::string, std::string> LastCase() {
    auto q = store_->db()->Prepare("SELECT case_id, state FROM cases ORDER BY case_id DESC LIMIT 1");
    EXPECT_TRUE(q.ok());
    std::pair<std::string, std::string> out;
    if (*(*q)->Step()) out = {(*q)->ColumnText(0), (*q)->ColumnText(1)};
    (*q)->Reset();
    return out;
  }
  void SetCaseState(const std::string& id, const std::string& text) {
    auto up = store_->db()->Prepare("UPDATE cases SET state = ? WHERE case_id = ?");
    ASSERT_TRUE(up.ok());
    (*up)->Bind(1, text).Bind(2, id);
    ASSERT_TRUE((*up)->Run().ok());
  }
  std::vector<std::string> DumpTables() {
    std::vector<std::string> rows;
    // Every non-zero count as "prefix|dim|day|metric|n".
    std::string days;
    for (const auto& m : StatMetrics()) {
      days += std::string(days.empty() ? "" : " UNION ALL ") + "SELECT s.prefix || '|' || s.dim || '|' || d.day || '|" +
              m + "|' || d." + m + " FROM stat_day d JOIN stat_series s ON s.id = d.series WHERE d." + m + " != 0";
    }
    for (const std::string& sql : {days + " ORDER BY 1", std::string("SELECT case_id || '|' || due_date FROM stat_open ORDER BY 1"),
                                   std::string("SELECT prefix || '|' || dim || '|' || due_date || '|' || n FROM stat_due "
                                               "WHERE n != 0 ORDER BY 1")}) {
      auto q = store_->db()->Prepare(sql);
      EXPECT_TRUE(q.ok());
      while (*(*q)->Step()) rows.push_back((*q)->ColumnText(0));
      (*q)->Reset();
    }
    return rows;
  }

  static testing::StoryData* data_;
  static common::RegionTree* tree_;
  static common::Catalog* catalog_;
  static common::WorkCalendar* calendar_;
  std::unique_ptr<sync::EventStore> store_;
  std::unique_ptr<Stats> stats_;
};
testing::StoryData* StatsTest::data_ = nullptr;
common::RegionTree* StatsTest::tree_ = nullptr;
common::Catalog* StatsTest::catalog_ = nullptr;
common::WorkCalendar* StatsTest::calendar_ = nullptr;

// Expected figures for the cases `in` selects, over [from, to], counted from the truth.
Json Expected(const std::vector<Truth>& truths, const std::function<bool(const Truth&)>& in, const std::string& from,
              const std::string& to, const std::string& today) {
  std::map<std::string, int64_t> m;
  auto within = [&](const std::string& d) { return !d.empty() && d >= from && d <= to; };
  int64_t overdue = 0;
  for (const auto& t : truths) {
    if (!in(t)) continue;
    if (within(t.submitted)) {
      ++m["received"];
      if (t.on_the_spot) ++m["on_the_spot"];
      if (t.proxy) ++m["proxy"];
    }
    if (within(t.accepted)) ++m["accepted"];
    if (within(t.rejected)) ++m["rejected"];
    if (within(t.supplement)) ++m["supplement_requested"];
    if (within(t.withdrawn)) ++m["withdrawn"];
    if (within(t.completed)) {
      ++m["completed"];
      if (t.completed <= t.due) ++m["completed_on_time"];
      m["days_to_complete"] += t.days;
    }
    if (within(t.evaluated)) {
      ++m["evaluated"];
      ++m["eval_" + std::to_string(t.evaluation)];
      if (t.evaluation >= 3) ++m["satisfied"];
    }
    if (t.open && t.due < today) ++overdue;
  }
  Json j = Json::object();
  for (const auto& k : StatMetrics()) j[k] = m[k];
  j["overdue_now"] = overdue;
  return j;
}

void ExpectFigures(const Json& got, const Json& want, const std::string& what) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    EXPECT_EQ(got.value(it.key(), int64_t{-1}), it.value().get<int64_t>()) << what << ": " << it.key();
  }
}

TEST_F(StatsTest, AYearOfYantaiCasesShuffledAndDuplicatedMatchesTheGroundTruth) {
  ASSERT_EQ(tree_->CountAtLevel(common::RegionLevel::kTownship), 159u);
  ASSERT_EQ(tree_->CountAtLevel(common::RegionLevel::kVillage), 6509u);
  Generator gen(*tree_, *catalog_, *calendar_, 20251);
  const int kCases = 3000;
  for (int i = 0; i < kCases; ++i) gen.MakeCase(i + 1);
  std::vector<sync::Event> stream = gen.events();
  for (size_t i = 0; i < gen.events().size(); i += 4) stream.push_back(gen.events()[i]);  // duplicates
  std::shuffle(stream.begin(), stream.end(), gen.rng());
  Ingest(stream);
  const auto& truths = gen.truths();
  const std::string today = "2025-11-20";
  Date today_date = *Date::Parse(today);

  auto check = [&](StatsQuery q, const std::function<bool(const Truth&)>& in, const std::string& what) {
    auto got = stats_->Query(q, today_date);
    ASSERT_TRUE(got.ok()) << what << ": " << got.status().ToString();
    ExpectFigures(*got, Expected(truths, in, q.from, q.to, today), what);
  };
  auto under = [](const std::string& region, const std::string& prefix) { return region.rfind(prefix, 0) == 0; };
  // The city, the whole year and one month.
  check({"370600000000", "", "", "", "2025-01-01", "2025-12-31"}, [](const Truth&) { return true; }, "city year");
  check({"370600000000", "", "", "", "2025-03-01", "2025-03-31"}, [](const Truth&) { return true; }, "city March");
  check({"370600000000", "", "", "", "1900-01-01", "2199-12-31"}, [](const Truth&) { return true; }, "city, every day");
  check({"370600000000", "", "", "", "2024-01-01", "2024-12-31"}, [](const Truth&) { return true; }, "city, a year before");
  // Every county, the year.
  for (const auto& county : tree_->Descendants(*common::RegionCode::Parse("370600000000"), common::RegionLevel::kCounty)) {
    std::string p(county.Prefix());
    check({county.str(), "", "", "", "2025-01-01", "2025-12-31"},
          [&](const Truth& t) { return under(t.region, p); }, "county " + county.str());
  }
  // Townships (every one), the second quarter; and the drill-down agrees with direct queries.
  for (const auto& town : tree_->Descendants(*common::RegionCode::Parse("370600000000"), common::RegionLevel::kTownship)) {
    std::string p(town.Prefix());
    check({town.str(), "", "", "", "2025-04-01", "2025-06-30"}, [&](const Truth& t) { return under(t.region, p); },
          "township " + town.str());
  }
  // Every item and every department, city-wide.
  std::set<std::string> departments;
  for (const auto& item : catalog_->items()) {
    departments.insert(item.department);
    check({"370600000000", item.code, "", "", "2025-01-01", "2025-12-31"},
          [&](const Truth& t) { return t.item == item.code; }, "item " + item.code);
  }
  for (const auto& d : departments) {
    check({"370600000000", "", d, "", "2025-01-01", "2025-12-31"},
          [&](const Truth& t) { return t.department == d; }, "department " + d);
  }
  // Villages with proxy cases, and their agents.
  int villages_checked = 0;
  std::set<std::string> seen;
  for (const auto& t : truths) {
    if (!t.proxy || seen.count(t.village) || villages_checked >= 40) continue;
    seen.insert(t.village);
    ++villages_checked;
    check({t.village, "", "", "", "2025-01-01", "2025-12-31"},
          [&](const Truth& x) { return x.region == t.village; }, "village " + t.village);
    check({t.village, "", "", t.agent, "2025-01-01", "2025-12-31"},
          [&](const Truth& x) { return x.region == t.village && x.agent == t.agent; }, "agent " + t.agent);
  }
  EXPECT_EQ(villages_checked, 40);
  // Derived rates are the ratios of the counts.
  auto city = *stats_->Query({"370600000000", "", "", "", "2025-01-01", "2025-12-31"}, today_date);
  ASSERT_GT(city["completed"].get<int64_t>(), 0);
  EXPECT_DOUBLE_EQ(city["on_time_rate"].get<double>(),
                   double(city["completed_on_time"].get<int64_t>()) / double(city["completed"].get<int64_t>()));
  EXPECT_GT(city["overdue_now"].get<int64_t>(), 0);
  // Warnings: every open case past or near its due date, oldest first.
  auto warnings = stats_->Warnings("370600000000", "", today_date, 100000);
  ASSERT_TRUE(warnings.ok());
  size_t expected_warnings = 0;
  for (const auto& t : truths)
    if (t.open && common::WarningFor(*Date::Parse(t.due), today_date, *calendar_) != common::Warning::kNone)
      ++expected_warnings;
  EXPECT_EQ(warnings->size(), expected_warnings);
  EXPECT_TRUE(std::is_sorted(warnings->begin(), warnings->end(),
                             [](const Json& a, const Json& b) { return a["due_date"] < b["due_date"]; }));
  // The trend: March day by day, every metric, days without activity left out.
  auto trend = stats_->Trend("370600000000", "2025-03-01", "2025-03-31");
  ASSERT_TRUE(trend.ok()) << trend.status().ToString();
  size_t active_days = 0;
  for (Date d = *Date::Parse("2025-03-01"); d <= *Date::Parse("2025-03-31"); d = d.AddDays(1)) {
    Json want = Expected(truths, [](const Truth&) { return true; }, d.ToString(), d.ToString(), today);
    want.erase("overdue_now");
    bool active = false;
    for (const auto& [k, v] : want.items()) active = active || v.get<int64_t>() != 0;
    if (!active) continue;
    ASSERT_LT(active_days, trend->size()) << d.ToString();
    const Json& got = (*trend)[active_days++];
    EXPECT_EQ(got["day"], d.ToString());
    ExpectFigures(got, want, "trend " + d.ToString());
  }
  EXPECT_EQ(trend->size(), active_days);
  EXPECT_GT(active_days, 15u);
  // A rebuild from the log gives the same tables, row by row.
  std::vector<std::string> incremental = DumpTables();
  ASSERT_TRUE(stats_->Rebuild().ok());
  EXPECT_EQ(DumpTables(), incremental);
  // A hub store from before the per-series day rows (one row per prefix, dimension, day and
  // metric) has its day rows dropped and counted again from the cases when the statistics open.
  ASSERT_TRUE(store_->db()
                  ->Exec("DROP TABLE stat_day; DROP TABLE stat_series; "
                         "CREATE TABLE stat_day(prefix TEXT NOT NULL, dim TEXT NOT NULL, day TEXT NOT NULL, "
                         "metric TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(prefix, dim, day, metric)) WITHOUT ROWID; "
                         "INSERT INTO stat_day VALUES('3706', '*', '2025-03-02', 'received', 99999)")
                  .ok());
  {
    // An upgrade that fails half-way (a case state that does not parse) leaves the old rows,
    // so the next start makes it again.
    const auto [id, state] = LastCase();
    ASSERT_FALSE(id.empty());
    SetCaseState(id, "{\"case\":");
    EXPECT_FALSE(stats_->Init().ok());
    auto old = store_->db()->Prepare("SELECT COUNT(*) FROM pragma_table_info('stat_day') WHERE name = 'metric'");
    ASSERT_TRUE(old.ok());
    ASSERT_TRUE(*(*old)->Step());
    EXPECT_EQ((*old)->ColumnInt(0), 1);
    (*old)->Reset();
    SetCaseState(id, state);
  }
  ASSERT_TRUE(stats_->Init().ok());
  EXPECT_EQ(DumpTables(), incremental);
  check({"370600000000", "", "", "", "2025-01-01", "2025-12-31"}, [](const Truth&) { return true; }, "city after the day rows' upgrade");
  // A hub store from before the per-due-date counts (stat_due empty, stat_open filled) gets
  // them counted once when the statistics open, and the same overdue figures.
  ASSERT_TRUE(store_->db()->Exec("DELETE FROM stat_due").ok());
  ASSERT_TRUE(stats_->Init().ok());
  EXPECT_EQ(DumpTables(), incremental);
  check({"370600000000", "", "", "", "2025-01-01", "2025-12-31"}, [](const Truth&) { return true; }, "city after upgrade");
}

// Fails the batch at its n-th fold, after handing the folds before it to the statistics.
class FailAtFold : public sync::EventStore::FoldListener {
 public:
  FailAtFold(Stats* stats, int n) : stats_(stats), n_(n) {}
  common::Status OnCaseFolded(const std::string& id, const Json& state) override {
    if (++folds_ == n_) return common::Internal("this fold fails on purpose");
    return stats_->OnCaseFolded(id, state);
  }
  common::Status Flush() override { return stats_->Flush(); }
  void Discard() override { stats_->Discard(); }

 private:
  Stats* stats_;
  int n_;
  int folds_ = 0;
};

// The statistics gather a batch's counts in memory and write them before its commit: a
// batch or a rebuild that is rolled back must leave none of them behind for the next one.
TEST_F(StatsTest, ARolledBackBatchOrRebuildLeavesNoCountBehind) {
  Generator gen(*tree_, *catalog_, *calendar_, 77);
  for (int i = 0; i < 400; ++i) gen.MakeCase(i + 1);
  std::vector<sync::Event> stream = gen.events();
  std::shuffle(stream.begin(), stream.end(), gen.rng());
  // Three parts: ingested, then a failed batch and the same again whole, then a failed
  // rebuild and the third part.
  auto part = [&](size_t from, size_t to) {
    return std::vector<sync::Event>(stream.begin() + static_cast<std::ptrdiff_t>(from * stream.size() / 4),
                                    stream.begin() + static_cast<std::ptrdiff_t>(to * stream.size() / 4));
  };
  auto expect_as_rebuilt = [&](const std::string& what) {
    std::vector<std::string> incremental = DumpTables();
    ASSERT_TRUE(stats_->Rebuild().ok());
    EXPECT_EQ(DumpTables(), incremental) << what;
  };
  Ingest(part(0, 2));
  const std::vector<std::string> first = DumpTables();
  ASSERT_FALSE(first.empty());

  // A batch whose 100th fold fails is rolled back, with the 99 folds' counts.
  FailAtFold failing(stats_.get(), 100);
  store_->set_fold_listener(&failing);
  ASSERT_TRUE(store_->BeginBatch().ok());
  for (const auto& e : part(2, 3)) ASSERT_TRUE(store_->Insert(e, "t").ok());
  common::Status failed = store_->CommitBatch();
  EXPECT_NE(failed.message().find("fails on purpose"), std::string::npos) << failed.ToString();
  EXPECT_EQ(DumpTables(), first);
  store_->set_fold_listener(stats_.get());
  Ingest(part(2, 3));
  expect_as_rebuilt("after the failed batch");
  const std::vector<std::string> second = DumpTables();
  EXPECT_NE(second, first);

  // A rebuild that meets an unreadable state is rolled back too (the last case in id order,
  // so every other case has been counted first).
  const auto [last_id, last_state] = LastCase();
  ASSERT_FALSE(last_id.empty());
  SetCaseState(last_id, "{\"case\":");
  EXPECT_FALSE(stats_->Rebuild().ok());
  SetCaseState(last_id, last_state);
  EXPECT_EQ(DumpTables(), second);
  Ingest(part(3, 4));
  expect_as_rebuilt("after the failed rebuild");
}

TEST_F(StatsTest, BadQueriesAreClearErrors) {
  Date today = *Date::Parse("2025-06-01");
  auto q = [&](StatsQuery s) { return stats_->Query(s, today).status(); };
  EXPECT_NE(q({"379900000000", "", "", "", "2025-01-01", "2025-12-31"}).message().find("not in this city"),
            std::string::npos);
  EXPECT_NE(q({"37061", "", "", "", "2025-01-01", "2025-12-31"}).message().find("region"), std::string::npos);
  EXPECT_NE(q({"370602000000", "", "", "someone@v1", "2025-01-01", "2025-12-31"}).message().find("agent: only with a village"),
            std::string::npos);
  EXPECT_NE(q({"370600000000", "XX-999", "", "", "2025-01-01", "2025-12-31"}).message().find("not in the catalog"),
            std::string::npos);
  EXPECT_NE(q({"370600000000", "", "不存在局", "", "2025-01-01", "2025-12-31"}).message().find("department"),
            std::string::npos);
  EXPECT_NE(q({"370600000000", "", "", "", "2025-12-31", "2025-01-01"}).message().find("before"), std::string::npos);
  EXPECT_NE(q({"370600000000", "", "", "", "2025-13-01", "2025-12-31"}).message().find("from"), std::string::npos);
}

}  // namespace
}  // namespace daiban::server
