// The hub's statistics (DESIGN §6), kept incrementally as events arrive.
//
// Each case is reduced to its *contributions*: (day, metric) pairs such as
// ("2025-03-04", received) or ("2025-03-20", completed_on_time), derived from its folded
// state alone. When a case is refolded (sync::EventStore fold listener, inside the batch's
// transaction) the stats subtract the case's previous contributions and add the new ones,
// so arrival order and duplicates never double-count, and `Rebuild` from the log gives the
// same numbers. Contributions are summed per (region prefix at every level, dimension, day),
// dimension being all items, one item, or one department (and, at village level, one
// agent), so a query adds up at most a year of day rows and never scans cases.
#ifndef DAIBAN_SERVER_STATS_H_
#define DAIBAN_SERVER_STATS_H_

#include <array>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/json.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "sync/event_store.h"

namespace daiban::server {

// The counted metrics, each counted on its own day.
//   received             submitted (first submit), on the submit date
//   on_the_spot          received, item kind 即办件
//   proxy                received, filed by a village agent
//   accepted, rejected, supplement_requested, withdrawn      on the step's date
//   completed            on the completion date
//   completed_on_time    completed on or before the due date (or on the spot)
//   days_to_complete     working days from acceptance (else submission) to completion (a sum)
//   evaluated, eval_1 .. eval_5, satisfied (eval >= 3)       on the evaluation date
const std::vector<std::string>& StatMetrics();
inline constexpr size_t kStatMetricCount = 17;

struct StatsQuery {
  std::string region;      // 12-digit code of any level within the city
  std::string item;        // "" = all items
  std::string department;  // "" = all departments (item and department are exclusive)
  std::string agent;       // "" = all; only with a village region: "user@node"
  std::string from, to;    // inclusive dates "YYYY-MM-DD"
};

// The day and due-date counts a batch moves are gathered in memory, one delta per row,
// and written in key order at Flush (before the batch's commit), so a row many cases of
// the batch touch is written once.
class Stats : public sync::EventStore::FoldListener {
 public:
  // REQUIRES: db, catalog, calendar and regions outlive the object.
  Stats(common::Db* db, const common::Catalog* catalog, const common::WorkCalendar* calendar,
        const common::RegionTree* regions)
      : db_(db), catalog_(catalog), calendar_(calendar), regions_(regions) {}

  // Creates the tables if missing.
  common::Status Init();

  // The fold listener: brings the case's contributions to `state`. REQUIRES: inside a
  // transaction (the event store's batch), and Flush before it commits.
  common::Status OnCaseFolded(const std::string& case_id, const common::Json& state) override;
  // Writes the gathered day and due-date deltas. REQUIRES: inside the same transaction.
  common::Status Flush() override;
  // Drops the gathered deltas (their transaction was rolled back).
  void Discard() override;

  // Drops every aggregate and recomputes from the folded cases in `cases` (the event
  // store's table). One transaction.
  common::Status Rebuild();

  // {"region","name","level","from","to","item","department", counts of every metric,
  //  "on_time_rate","on_the_spot_share","avg_days_to_complete","satisfaction_rate",
  //  "overdue_now"} — rates as numbers in [0,1] or null when the base is 0.
  // kInvalidArgument for an unknown region, item or department, a bad date or from > to.
  common::Result<common::Json> Query(const StatsQuery& q, common::Date today);

  // The same figures for each child region of q.region (drill-down), in code order.
  common::Result<common::Json> Children(const StatsQuery& q, common::Date today);

  // Per day within [from, to], every metric: [{"day", "<metric>": n, ...}], days with no
  // activity left out. Same checks as Query on region and dates.
  common::Result<common::Json> Trend(const std::string& region, const std::string& from, const std::string& to);

  // Open cases with a yellow or red warning under `region`, oldest due first:
  // [{"case","region","item","item_name","department","due_date","warning"}].
  common::Result<common::Json> Warnings(const std::string& region, const std::string& department,
                                        common::Date today, size_t limit);

 private:
  // The (day, metric, n) contributions and the open-case row of a folded state.
  struct Contribution {
    std::string day;
    std::string metric;
    int64_t n;
  };
  std::vector<Contribution> ContributionsOf(const common::Json& state) const;
  common::Status Apply(const std::string& region, const std::string& item, const std::string& agent,
                       const std::vector<Contribution>& cs, int sign);
  // Adds sign to the open-case count of (region, item, agent) due on `due`, at every prefix
  // and dimension it counts under.
  common::Status ApplyDue(const std::string& region, const std::string& item, const std::string& agent,
                          const std::string& due, int sign);
  // Flush once the gathered deltas reach kMaxPendingRows rows (a bound on memory; Rebuild
  // folds every case in one transaction).
  static constexpr size_t kMaxPendingRows = 100000;
  common::Status FlushIfLarge();
  // Runs `body` in a transaction of its own and flushes before the commit; on failure
  // the transaction is rolled back and the deltas are dropped.
  common::Status InTransaction(const std::function<common::Status()>& body);
  // Rebuild's work, inside the caller's transaction.
  common::Status RecountAll();
  common::Result<common::Json> Sum(const std::string& prefix, const std::string& dim, common::Date from,
                                   common::Date to);

  // The id of the (prefix, dim) series in stat_series; with `make`, one is made if there
  // is none, else 0 stands for none.
  common::Result<int64_t> SeriesId(const std::string& prefix, const std::string& dim, bool make);
  // The stat_day row of a series and day: every metric's count, in StatMetrics() order.
  using DayCounts = std::array<int64_t, kStatMetricCount>;

  // Deltas not yet written: per (prefix, dim, day) the metrics' deltas, per (prefix, dim,
  // due_date) the open cases'.
  std::map<std::tuple<std::string, std::string, int64_t>, DayCounts> day_delta_;
  std::map<std::array<std::string, 3>, int64_t> due_delta_;
  // Known series ids (dropped on Discard: a rolled-back batch may have made some).
  std::map<std::pair<std::string, std::string>, int64_t> series_;

  common::Db* db_;
  const common::Catalog* catalog_;
  const common::WorkCalendar* calendar_;
  const common::RegionTree* regions_;
};

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_STATS_H_
