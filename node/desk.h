// The service desk: everything an agent or clerk does to cases at this node, as JSON in
// and JSON out, on top of sync::Replica. The HTTP API (node/http_api.h) and the CLI call
// only this; it knows nothing about HTTP.
//
// Errors are Status values whose message starts "<field>: " when one input field is at
// fault (the API turns that into {"error": {"field": ...}}). A call that fails changes
// nothing. Not thread-safe: the caller serialises every use of the replica.
#ifndef DAIBAN_NODE_DESK_H_
#define DAIBAN_NODE_DESK_H_

#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/json.h"
#include "common/region.h"
#include "common/status.h"
#include "common/users.h"
#include "sync/replica.h"

namespace daiban::node {

using common::User;
using common::UserBook;

// Which cases a list shows.
enum class CaseView {
  kQueue,      // every case of this node's subtree
  kInbox,      // cases waiting for this tier to act
  kWarnings,   // open cases with a yellow or red warning, oldest due first
  kConflicts,  // cases with unsettled field conflicts
};
common::Result<CaseView> ParseCaseView(std::string_view s);

class Desk {
 public:
  // REQUIRES: every pointer outlives the desk.
  Desk(sync::Replica* replica, const common::Catalog* catalog, const common::WorkCalendar* calendar,
       const common::RegionTree* regions)
      : replica_(replica), catalog_(catalog), calendar_(calendar), regions_(regions) {}

  // {"items": [...]}; proxy_only: only items a village agent may file.
  common::Json CatalogJson(bool proxy_only) const;

  // Files a case from {"item","applicant_name","applicant_id","applicant_phone",
  // "materials":[...],"note","submit":bool} and returns its detail. Checks every field
  // before anything is written.
  common::Result<common::Json> FileCase(const User& user, const common::Json& input);

  // A lifecycle step: {"action", "reason", "missing", "approved", "evaluation"}.
  common::Result<common::Json> TakeStep(const User& user, const std::string& case_id, const common::Json& input);
  // Materials received: {"add": [...]}, each a required material of the case's item.
  common::Result<common::Json> AddMaterials(const User& user, const std::string& case_id, const common::Json& input);
  // A comment: {"text"}.
  common::Result<common::Json> AddComment(const User& user, const std::string& case_id, const common::Json& input);
  // Settles a field conflict: {"field","value"}; the new edit's parents cover every side.
  common::Result<common::Json> Settle(const User& user, const std::string& case_id, const common::Json& input);

  // {"cases": [summary...]}. `q` matches a case id, a resident name (substring) or a
  // whole ID number; `status` a status name.
  common::Result<common::Json> List(const User& user, CaseView view, const std::string& q, const std::string& status);
  // {"case": detail} with the steps `user` may take now.
  common::Result<common::Json> Detail(const User& user, const std::string& case_id);
  // A print-friendly HTML receipt for the resident.
  common::Result<std::string> ReceiptHtml(const std::string& case_id);

 private:
  common::Result<common::Json> Summary(const std::string& case_id, const common::Json& state);
  common::Result<common::Json> Fold(const std::string& case_id);
  common::Status CheckCaseWriter(const User& user) const;

  sync::Replica* replica_;
  const common::Catalog* catalog_;
  const common::WorkCalendar* calendar_;
  const common::RegionTree* regions_;
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_DESK_H_
