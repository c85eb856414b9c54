#include "server/stats.h"

#include <algorithm>
#include <array>

#include "common/case_machine.h"

namespace daiban::server {

using common::Json;
using common::Result;
using common::Status;

namespace {

// The metrics, in the order of stat_day's columns (each column is named after its metric).
constexpr std::array<std::string_view, kStatMetricCount> kMetrics = {
    "received", "on_the_spot", "proxy", "accepted", "rejected", "supplement_requested", "withdrawn",
    "completed", "completed_on_time", "days_to_complete", "evaluated", "eval_1", "eval_2", "eval_3", "eval_4",
    "eval_5", "satisfied"};

// The metric's column index; kStatMetricCount if it is none.
size_t MetricIndex(std::string_view metric) {
  return static_cast<size_t>(std::find(kMetrics.begin(), kMetrics.end(), metric) - kMetrics.begin());
}

// "a, b, c" of f(metric) for every metric.
template <typename F>
std::string EachMetric(F f) {
  std::string out;
  for (std::string_view m : kMetrics) {
    if (!out.empty()) out += ", ";
    out += f(std::string(m));
  }
  return out;
}

// One row per (day, series): day is days since 1970-01-01, a column per metric.
const std::string& DayTableSql() {
  static const std::string sql =
      "CREATE TABLE IF NOT EXISTS stat_day(series INTEGER NOT NULL, day INTEGER NOT NULL, " +
      EachMetric([](const std::string& m) { return m + " INTEGER NOT NULL DEFAULT 0"; }) +
      ", PRIMARY KEY(day, series)) WITHOUT ROWID;";
  return sql;
}
const std::string& DayUpsertSql() {
  static const std::string sql = [] {
    std::string values;
    for (size_t i = 0; i < kStatMetricCount; ++i) values += ", ?" + std::to_string(i + 3);
    return "INSERT INTO stat_day(series, day, " + EachMetric([](const std::string& m) { return m; }) +
           ") VALUES(?1, ?2" + values + ") ON CONFLICT(day, series) DO UPDATE SET " +
           EachMetric([](const std::string& m) { return m + " = " + m + " + excluded." + m; });
  }();
  return sql;
}

// The days ?2..?3 (days since 1970-01-01) as the table days(d), narrowed to the days stat_day
// has rows for: a query looks its series up on each, so a period far wider than the data
// costs no more than the data.
const std::string& DaysSql() {
  static const std::string sql =
      "WITH RECURSIVE days(d) AS (SELECT MAX(?2, (SELECT MIN(day) FROM stat_day)) WHERE MAX(?2, (SELECT MIN(day) "
      "FROM stat_day)) <= ?3 UNION ALL SELECT d + 1 FROM days WHERE d < MIN(?3, (SELECT MAX(day) FROM stat_day)))";
  return sql;
}

}  // namespace

const std::vector<std::string>& StatMetrics() {
  static const std::vector<std::string> m(kMetrics.begin(), kMetrics.end());
  return m;
}

namespace {

// "2109", "210921", "210921100", "210921100202": the prefixes a region counts under, from
// the city down to the region itself.
std::vector<std::pair<common::RegionLevel, std::string>> PrefixesOf(const std::string& region) {
  std::vector<std::pair<common::RegionLevel, std::string>> out;
  auto code = common::RegionCode::Parse(region);
  if (!code.ok()) return out;
  for (auto level : {common::RegionLevel::kCity, common::RegionLevel::kCounty, common::RegionLevel::kTownship,
                     common::RegionLevel::kVillage}) {
    if (static_cast<int>(level) > static_cast<int>(code->level())) break;
    out.emplace_back(level, std::string(code->AncestorAt(level).Prefix()));
  }
  return out;
}

// The dimensions a case counts under at one level: all items, its item and its department
// (above villages), or all and its agent (at its village).
std::vector<std::string> DimsOf(common::RegionLevel level, const std::string& item, const std::string& dept,
                                const std::string& agent) {
  std::vector<std::string> dims = {"*"};
  if (level == common::RegionLevel::kVillage) {
    if (!agent.empty()) dims.push_back("agent:" + agent);
  } else {
    dims.push_back("item:" + item);
    if (!dept.empty()) dims.push_back("dept:" + dept);
  }
  return dims;
}

std::string Str(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status Stats::Init() {
  series_.clear();  // read again from stat_series as it is now
  // A store from before the per-series day rows (stat_day keyed by prefix, dim, day and
  // metric): the day rows are dropped and every aggregate is counted again from the cases.
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * old_days,
                          db_->Prepare("SELECT 1 FROM pragma_table_info('stat_day') WHERE name = 'metric'"));
  DAIBAN_ASSIGN_OR_RETURN(bool old_schema, old_days->Step());
  old_days->Reset();
  if (!old_schema) DAIBAN_RETURN_IF_ERROR(db_->Exec(DayTableSql()));
  DAIBAN_RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS stat_series(id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, dim TEXT NOT NULL, "
      "  UNIQUE(prefix, dim));"
      "CREATE TABLE IF NOT EXISTS stat_case(case_id TEXT PRIMARY KEY, region TEXT NOT NULL, item TEXT NOT NULL, "
      "  agent TEXT NOT NULL, contrib TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS stat_open(case_id TEXT PRIMARY KEY, region TEXT NOT NULL, item TEXT NOT NULL, "
      "  item_name TEXT NOT NULL, department TEXT NOT NULL, due_date TEXT NOT NULL, agent TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS stat_open_due ON stat_open(due_date);"
      "CREATE TABLE IF NOT EXISTS stat_due(prefix TEXT NOT NULL, dim TEXT NOT NULL, due_date TEXT NOT NULL, "
      "  n INTEGER NOT NULL, PRIMARY KEY(prefix, dim, due_date)) WITHOUT ROWID;"));
  // A store from before stat_due existed: count its open cases once (one transaction).
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * need,
                          db_->Prepare("SELECT EXISTS(SELECT 1 FROM stat_open) AND NOT EXISTS(SELECT 1 FROM stat_due)"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, need->Step());
  bool fill = row && need->ColumnInt(0) != 0;
  need->Reset();
  if (old_schema) {  // in one transaction: an interrupted upgrade leaves the old rows, and is made again
    return InTransaction([&]() -> Status {
      DAIBAN_RETURN_IF_ERROR(db_->Exec("DROP TABLE stat_day"));
      DAIBAN_RETURN_IF_ERROR(db_->Exec(DayTableSql()));
      return RecountAll();
    });
  }
  if (!fill) return Status::Ok();
  return InTransaction([&]() -> Status {
    std::vector<std::array<std::string, 4>> open;
    DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("SELECT region, item, agent, due_date FROM stat_open"));
    while (true) {
      DAIBAN_ASSIGN_OR_RETURN(bool more, q->Step());
      if (!more) break;
      open.push_back({q->ColumnText(0), q->ColumnText(1), q->ColumnText(2), q->ColumnText(3)});
    }
    q->Reset();
    for (const auto& o : open) DAIBAN_RETURN_IF_ERROR(ApplyDue(o[0], o[1], o[2], o[3], +1));
    return Status::Ok();
  });
}

Status Stats::InTransaction(const std::function<Status()>& body) {
  common::Transaction tx(db_);
  Status s = tx.Begin();
  if (s.ok()) s = body();
  if (s.ok()) s = Flush();
  if (s.ok()) s = tx.Commit();
  if (!s.ok()) Discard();  // tx rolls back as it goes out of scope
  return s;
}

std::vector<Stats::Contribution> Stats::ContributionsOf(const Json& state) const {
  std::vector<Contribution> out;
  if (state.contains("incomplete")) return out;
  std::string submitted = Str(state, "submitted_on");
  if (!submitted.empty()) {
    out.push_back({submitted, "received", 1});
    if (Str(state, "item_kind") == common::ItemKindName(common::ItemKind::kOnTheSpot)) {
      out.push_back({submitted, "on_the_spot", 1});
    }
    if (Str(state, "filed_tier") == "village") out.push_back({submitted, "proxy", 1});
  }
  std::string accepted = Str(state, "accepted_on");
  if (!accepted.empty()) out.push_back({accepted, "accepted", 1});
  std::string completed = Str(state, "completed_on");
  if (!completed.empty()) {
    out.push_back({completed, "completed", 1});
    std::string due = Str(state, "due_date");
    if (due.empty() || completed <= due) out.push_back({completed, "completed_on_time", 1});
    auto from = common::Date::Parse(accepted.empty() ? submitted : accepted);
    auto to = common::Date::Parse(completed);
    if (from.ok() && to.ok()) {
      out.push_back({completed, "days_to_complete", std::max(0, calendar_->WorkingDaysBetween(*from, *to))});
    }
  }
  auto steps = state.find("steps");
  if (steps != state.end() && steps->is_array()) {
    for (const auto& s : *steps) {
      if (!s.value("applied", false)) continue;
      std::string action = Str(s, "action"), date = Str(s, "date");
      if (date.empty()) continue;
      if (action == "reject") out.push_back({date, "rejected", 1});
      if (action == "request_supplement") out.push_back({date, "supplement_requested", 1});
      if (action == "withdraw") out.push_back({date, "withdrawn", 1});
      if (action == "evaluate") {
        auto e = common::ParseEvaluation(Str(state, "evaluation"));
        if (!e.ok()) continue;
        int level = static_cast<int>(*e);
        out.push_back({date, "evaluated", 1});
        out.push_back({date, "eval_" + std::to_string(level), 1});
        if (common::IsSatisfied(*e)) out.push_back({date, "satisfied", 1});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Contribution& a, const Contribution& b) {
    return std::tie(a.day, a.metric, a.n) < std::tie(b.day, b.metric, b.n);
  });
  return out;
}

Status Stats::Apply(const std::string& region, const std::string& item, const std::string& agent,
                    const std::vector<Contribution>& cs, int sign) {
  if (cs.empty()) return Status::Ok();
  const common::ServiceItem* it = catalog_->Find(item);
  std::string dept = it ? it->department : "";
  for (const auto& c : cs) {
    auto day = common::Date::Parse(c.day);
    size_t metric = MetricIndex(c.metric);
    if (!day.ok() || metric == kStatMetricCount) continue;  // not a day (a forged date): counted nowhere
    for (const auto& [level, prefix] : PrefixesOf(region)) {
      for (const auto& dim : DimsOf(level, item, dept, agent)) {
        day_delta_[{prefix, dim, day->days()}][metric] += sign * c.n;
      }
    }
  }
  return FlushIfLarge();
}

Status Stats::ApplyDue(const std::string& region, const std::string& item, const std::string& agent,
                       const std::string& due, int sign) {
  const common::ServiceItem* it = catalog_->Find(item);
  std::string dept = it ? it->department : "";
  for (const auto& [level, prefix] : PrefixesOf(region)) {
    for (const auto& dim : DimsOf(level, item, dept, agent)) due_delta_[{prefix, dim, due}] += sign;
  }
  return FlushIfLarge();
}

Status Stats::FlushIfLarge() {
  return day_delta_.size() + due_delta_.size() < kMaxPendingRows ? Status::Ok() : Flush();
}

Status Stats::Flush() {
  if (!day_delta_.empty()) {
    for (const auto& [key, counts] : day_delta_) {
      if (counts == DayCounts{}) continue;  // the batch moved the row and moved it back
      const auto& [prefix, dim, day] = key;
      DAIBAN_ASSIGN_OR_RETURN(int64_t series, SeriesId(prefix, dim, true));
      DAIBAN_ASSIGN_OR_RETURN(common::Stmt * up, db_->Prepare(DayUpsertSql()));
      up->Bind(1, series).Bind(2, day);
      for (size_t i = 0; i < kStatMetricCount; ++i) up->Bind(static_cast<int>(i + 3), counts[i]);
      DAIBAN_RETURN_IF_ERROR(up->Run());
    }
    day_delta_.clear();
  }
  if (!due_delta_.empty()) {
    DAIBAN_ASSIGN_OR_RETURN(common::Stmt * up,
                            db_->Prepare("INSERT INTO stat_due(prefix, dim, due_date, n) VALUES(?, ?, ?, ?) "
                                         "ON CONFLICT(prefix, dim, due_date) DO UPDATE SET n = n + excluded.n"));
    for (const auto& [key, n] : due_delta_) {
      if (n == 0) continue;
      up->Bind(1, key[0]).Bind(2, key[1]).Bind(3, key[2]).Bind(4, n);
      DAIBAN_RETURN_IF_ERROR(up->Run());
    }
    due_delta_.clear();
  }
  return Status::Ok();
}

void Stats::Discard() {
  day_delta_.clear();
  due_delta_.clear();
  series_.clear();
}

Result<int64_t> Stats::SeriesId(const std::string& prefix, const std::string& dim, bool make) {
  auto key = std::make_pair(prefix, dim);
  if (auto it = series_.find(key); it != series_.end()) return it->second;
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * get, db_->Prepare("SELECT id FROM stat_series WHERE prefix = ? AND dim = ?"));
  get->Bind(1, prefix).Bind(2, dim);
  DAIBAN_ASSIGN_OR_RETURN(bool row, get->Step());
  int64_t id = row ? get->ColumnInt(0) : 0;
  get->Reset();
  if (!row && make) {
    DAIBAN_ASSIGN_OR_RETURN(common::Stmt * put, db_->Prepare("INSERT INTO stat_series(prefix, dim) VALUES(?, ?)"));
    put->Bind(1, prefix).Bind(2, dim);
    DAIBAN_RETURN_IF_ERROR(put->Run());
    id = db_->LastInsertRowId();
  }
  if (id != 0) series_.emplace(std::move(key), id);
  return id;
}

Status Stats::OnCaseFolded(const std::string& case_id, const Json& state) {
  std::vector<Contribution> now = ContributionsOf(state);
  std::string region = Str(state, "region"), item = Str(state, "item");
  std::string agent;
  if (auto c = state.find("created"); c != state.end() && c->is_object() && Str(state, "filed_tier") == "village") {
    agent = Str(*c, "user") + "@" + Str(*c, "origin");
  }
  // The previous contributions of this case.
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * get, db_->Prepare("SELECT region, item, agent, contrib FROM stat_case "
                                                           "WHERE case_id = ?"));
  get->Bind(1, case_id);
  DAIBAN_ASSIGN_OR_RETURN(bool had, get->Step());
  std::vector<Contribution> before;
  std::string old_region, old_item, old_agent;
  if (had) {
    old_region = get->ColumnText(0);
    old_item = get->ColumnText(1);
    old_agent = get->ColumnText(2);
    auto j = common::ParseJson(get->ColumnText(3));
    if (j.ok())
      for (const auto& c : *j) before.push_back({c[0].get<std::string>(), c[1].get<std::string>(), c[2].get<int64_t>()});
  }
  get->Reset();
  if (had && old_region == region && old_item == item && old_agent == agent) {
    // Only the difference moves (the usual case: one new step).
    std::vector<Contribution> removed, added;
    auto less = [](const Contribution& a, const Contribution& b) {
      return std::tie(a.day, a.metric, a.n) < std::tie(b.day, b.metric, b.n);
    };
    std::set_difference(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(removed), less);
    std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(added), less);
    DAIBAN_RETURN_IF_ERROR(Apply(region, item, agent, removed, -1));
    DAIBAN_RETURN_IF_ERROR(Apply(region, item, agent, added, +1));
  } else {
    DAIBAN_RETURN_IF_ERROR(Apply(old_region, old_item, old_agent, before, -1));
    DAIBAN_RETURN_IF_ERROR(Apply(region, item, agent, now, +1));
  }
  Json contrib = Json::array();
  for (const auto& c : now) contrib.push_back(Json::array({c.day, c.metric, c.n}));
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * put, db_->Prepare("INSERT OR REPLACE INTO stat_case VALUES(?, ?, ?, ?, ?)"));
  put->Bind(1, case_id).Bind(2, region).Bind(3, item).Bind(4, agent).Bind(5, contrib.dump());
  DAIBAN_RETURN_IF_ERROR(put->Run());
  // Open cases with a running clock, for the warnings list (stat_open) and "overdue now"
  // (stat_due: open cases per prefix, dimension and due date, so the count reads day rows).
  auto status = common::ParseCaseStatus(Str(state, "status"));
  std::string due = Str(state, "due_date");
  bool open = status.ok() && common::IsClockRunning(*status) && !due.empty();
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * was,
                          db_->Prepare("SELECT region, item, agent, due_date FROM stat_open WHERE case_id = ?"));
  was->Bind(1, case_id);
  DAIBAN_ASSIGN_OR_RETURN(bool was_open, was->Step());
  std::array<std::string, 4> before_open;
  if (was_open) before_open = {was->ColumnText(0), was->ColumnText(1), was->ColumnText(2), was->ColumnText(3)};
  was->Reset();
  const std::array<std::string, 4> now_open = {region, item, agent, due};
  if (was_open && (!open || before_open != now_open)) {
    DAIBAN_RETURN_IF_ERROR(ApplyDue(before_open[0], before_open[1], before_open[2], before_open[3], -1));
  }
  if (open) {
    if (!was_open || before_open != now_open) DAIBAN_RETURN_IF_ERROR(ApplyDue(region, item, agent, due, +1));
    DAIBAN_ASSIGN_OR_RETURN(common::Stmt * o, db_->Prepare("INSERT OR REPLACE INTO stat_open VALUES(?, ?, ?, ?, ?, ?, ?)"));
    o->Bind(1, case_id).Bind(2, region).Bind(3, item).Bind(4, Str(state, "item_name")).Bind(5, Str(state, "department"))
        .Bind(6, due).Bind(7, agent);
    return o->Run();
  }
  if (!was_open) return Status::Ok();
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * d, db_->Prepare("DELETE FROM stat_open WHERE case_id = ?"));
  d->Bind(1, case_id);
  return d->Run();
}

Status Stats::Rebuild() {
  return InTransaction([&] { return RecountAll(); });
}

Status Stats::RecountAll() {
  DAIBAN_RETURN_IF_ERROR(
      db_->Exec("DELETE FROM stat_day; DELETE FROM stat_case; DELETE FROM stat_open; DELETE FROM stat_due;"));
  std::vector<std::pair<std::string, std::string>> rows;
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare("SELECT case_id, state FROM cases ORDER BY case_id"));
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    rows.emplace_back(q->ColumnText(0), q->ColumnText(1));
  }
  q->Reset();
  for (const auto& [id, text] : rows) {
    DAIBAN_ASSIGN_OR_RETURN(Json state, common::ParseJson(text));
    DAIBAN_RETURN_IF_ERROR(OnCaseFolded(id, state));
  }
  return Status::Ok();
}

Result<Json> Stats::Sum(const std::string& prefix, const std::string& dim, common::Date from, common::Date to) {
  Json out = Json::object();
  for (const auto& m : StatMetrics()) out[m] = 0;
  DAIBAN_ASSIGN_OR_RETURN(int64_t series, SeriesId(prefix, dim, false));
  if (series == 0) return out;  // nothing ever counted under it
  static const std::string sql =
      DaysSql() + " SELECT " + EachMetric([](const std::string& m) { return "COALESCE(SUM(" + m + "), 0)"; }) +
      " FROM days, stat_day WHERE stat_day.day = days.d AND stat_day.series = ?1";
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare(sql));
  q->Bind(1, series).Bind(2, from.days()).Bind(3, to.days());
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  for (size_t i = 0; row && i < kStatMetricCount; ++i) out[std::string(kMetrics[i])] = q->ColumnInt(static_cast<int>(i));
  q->Reset();
  return out;
}

Result<Json> Stats::Query(const StatsQuery& q, common::Date today) {
  auto code = common::RegionCode::Parse(q.region);
  if (!code.ok()) return code.status().WithContext("region");
  auto region = regions_->Lookup(q.region);
  if (!region.ok()) return common::InvalidArgument("region: " + q.region + " is not in this city's region tree");
  auto from = common::Date::Parse(q.from);
  auto to = common::Date::Parse(q.to);
  if (!from.ok()) return from.status().WithContext("from");
  if (!to.ok()) return to.status().WithContext("to");
  if (*to < *from) return common::InvalidArgument("to: " + q.to + " is before from " + q.from);
  std::string dim = "*";
  int given = !q.item.empty() + !q.department.empty() + !q.agent.empty();
  if (given > 1) return common::InvalidArgument("item: give at most one of item, department and agent");
  if (!q.item.empty()) {
    if (!catalog_->Find(q.item)) return common::InvalidArgument("item: '" + q.item.substr(0, 40) + "' is not in the catalog");
    dim = "item:" + q.item;
  }
  if (!q.department.empty()) {
    bool known = false;
    for (const auto& i : catalog_->items()) known = known || i.department == q.department;
    if (!known) return common::InvalidArgument("department: '" + q.department.substr(0, 60) + "' has no items in the catalog");
    dim = "dept:" + q.department;
  }
  if (!q.agent.empty()) {
    if (code->level() != common::RegionLevel::kVillage) return common::InvalidArgument("agent: only with a village region");
    dim = "agent:" + q.agent;
  } else if (code->level() == common::RegionLevel::kVillage && dim != "*") {
    return common::InvalidArgument("item: per-item figures go down to townships; a village has totals and agents");
  }
  std::string prefix(code->Prefix());
  DAIBAN_ASSIGN_OR_RETURN(Json j, Sum(prefix, dim, *from, *to));
  auto rate = [](int64_t num, int64_t den) -> Json { return den > 0 ? Json(double(num) / double(den)) : Json(nullptr); };
  j["on_time_rate"] = rate(j["completed_on_time"], j["completed"]);
  j["on_the_spot_share"] = rate(j["on_the_spot"], j["received"]);
  j["avg_days_to_complete"] = rate(j["days_to_complete"], j["completed"]);
  j["satisfaction_rate"] = rate(j["satisfied"], j["evaluated"]);
  // Overdue now: open cases under the region and dimension whose due date has passed, summed
  // from the per-due-date counts (at most a few hundred rows, however many cases are open).
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * o, db_->Prepare("SELECT COALESCE(SUM(n), 0) FROM stat_due WHERE prefix = ? "
                                                         "AND dim = ? AND due_date < ?"));
  o->Bind(1, prefix).Bind(2, dim).Bind(3, today.ToString());
  DAIBAN_ASSIGN_OR_RETURN(bool row, o->Step());
  j["overdue_now"] = row ? o->ColumnInt(0) : 0;
  o->Reset();
  j["region"] = q.region;
  j["name"] = (*region)->name;
  j["level"] = std::string(common::RegionLevelName(code->level()));
  j["from"] = q.from;
  j["to"] = q.to;
  j["item"] = q.item;
  j["department"] = q.department;
  return j;
}

Result<Json> Stats::Children(const StatsQuery& q, common::Date today) {
  auto region = regions_->Lookup(q.region);
  if (!region.ok()) return common::InvalidArgument("region: " + q.region + " is not in this city's region tree");
  Json rows = Json::array();
  for (const auto& child : (*region)->children) {
    StatsQuery cq = q;
    cq.region = child.str();
    if (child.level() == common::RegionLevel::kVillage) cq.item = cq.department = "";
    DAIBAN_ASSIGN_OR_RETURN(Json r, Query(cq, today));
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<Json> Stats::Trend(const std::string& region, const std::string& from, const std::string& to) {
  auto code = common::RegionCode::Parse(region);
  if (!code.ok()) return code.status().WithContext("region");
  if (!regions_->Lookup(region).ok()) return common::InvalidArgument("region: " + region + " is not in this city's region tree");
  auto f = common::Date::Parse(from);
  auto t = common::Date::Parse(to);
  if (!f.ok()) return f.status().WithContext("from");
  if (!t.ok()) return t.status().WithContext("to");
  if (*t < *f) return common::InvalidArgument("to: " + to + " is before from " + from);
  Json days = Json::array();
  DAIBAN_ASSIGN_OR_RETURN(int64_t series, SeriesId(std::string(code->Prefix()), "*", false));
  if (series == 0) return days;
  static const std::string sql =
      DaysSql() + " SELECT day, " + EachMetric([](const std::string& m) { return m; }) +
      " FROM days, stat_day WHERE stat_day.day = days.d AND stat_day.series = ?1 ORDER BY day";
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare(sql));
  q->Bind(1, series).Bind(2, f->days()).Bind(3, t->days());
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    Json d = {{"day", common::Date::FromDays(q->ColumnInt(0)).ToString()}};
    bool any = false;
    for (size_t i = 0; i < kStatMetricCount; ++i) {
      int64_t n = q->ColumnInt(static_cast<int>(i + 1));
      any = any || n != 0;
      d[std::string(kMetrics[i])] = n;
    }
    if (any) days.push_back(std::move(d));  // a day whose counts all moved away again had no activity
  }
  q->Reset();
  return days;
}

Result<Json> Stats::Warnings(const std::string& region, const std::string& department, common::Date today,
                             size_t limit) {
  auto code = common::RegionCode::Parse(region);
  if (!code.ok()) return code.status().WithContext("region");
  std::string prefix(code->Prefix());
  // Yellow: at most one working day left; everything due by the next working day qualifies.
  std::string horizon = calendar_->AddWorkingDays(today, 1).ToString();
  std::string sql =
      "SELECT case_id, region, item, item_name, department, due_date FROM stat_open WHERE due_date <= ? AND "
      "substr(region, 1, ?) = ?";
  if (!department.empty()) sql += " AND department = ?";
  sql += " ORDER BY due_date, case_id LIMIT ?";
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db_->Prepare(sql));
  q->Bind(1, horizon);
  q->Bind(2, static_cast<int64_t>(prefix.size()));
  q->Bind(3, prefix);
  int next = 4;
  if (!department.empty()) q->Bind(next++, department);
  q->Bind(next, static_cast<int64_t>(limit));
  Json out = Json::array();
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    auto due = common::Date::Parse(q->ColumnText(5));
    common::Warning w = due.ok() ? common::WarningFor(*due, today, *calendar_) : common::Warning::kNone;
    if (w == common::Warning::kNone) continue;
    out.push_back({{"case", q->ColumnText(0)}, {"region", q->ColumnText(1)}, {"item", q->ColumnText(2)},
                   {"item_name", q->ColumnText(3)}, {"department", q->ColumnText(4)}, {"due_date", q->ColumnText(5)},
                   {"warning", std::string(common::WarningName(w))}});
  }
  q->Reset();
  return out;
}

}  // namespace daiban::server
