// The service desk: everything an agent or clerk does to cases at this node, as JSON in
// and JSON out, on top of sync::Replica. The HTTP API (node/http_api.h) and the CLI call
// only this; it knows nothing about HTTP.
//
// Errors are Status values whose message starts "<field>: " when one input field is at
// fault (the API turns that into {"error": {"field": ...}}). A call that fails changes
// nothing (Reveal's audit row excepted). Not thread-safe: the caller serialises every use
// of the replica.
//
// Personal fields (DESIGN.md §5). With a FieldCipher, applicant_id and applicant_phone
// are written encrypted (common/field_crypto.h, context = the field name), each with
// companions in the same object (case.create body or case.edit "fields"):
//   applicant_id         enc1.<alg>.<key id>.<data>
//   applicant_id_hash    h1.<hex>: SearchHash of the upper-case ID number
//   applicant_id_masked  MaskIdNumber of it ("110105********002X")
//   applicant_phone      enc1....
//   applicant_phone_masked  MaskPhone of it ("138****8000")
// Lists, details, conflicts and receipts then show only masks; a whole value is shown
// only by Reveal, which records every attempt in the node's unmask_audit table. Values
// written before encryption (plain) are still read, masked, found and revealed.
// Without a cipher (legacy; old tests only) values are stored plain and a detail shows
// them whole to agents and clerks.
#ifndef DAIBAN_NODE_DESK_H_
#define DAIBAN_NODE_DESK_H_

#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/field_crypto.h"
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

// The fields Reveal shows whole, and who may see each:
//   applicant_id     clerk (checks identity, accepts, decides)
//   applicant_phone  clerk, agent (the village agent follows up and hands results back)
// Supervisors and admins see masks only: they read statistics and the unmask audit,
// and do not contact residents.
bool MayReveal(common::Role role, std::string_view field);

class Desk {
 public:
  // REQUIRES: every pointer outlives the desk. `cipher` may be null (legacy plain
  // storage); if set, it must hold the city's data key (cipher->valid()).
  Desk(sync::Replica* replica, const common::Catalog* catalog, const common::WorkCalendar* calendar,
       const common::RegionTree* regions, const common::FieldCipher* cipher = nullptr)
      : replica_(replica), catalog_(catalog), calendar_(calendar), regions_(regions), cipher_(cipher) {}

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
  // Corrects a field (agents and clerks): {"field","value"}, field one of applicant_name,
  // applicant_id, applicant_phone, note; ID numbers and phones are checked. Made at two
  // nodes while they cannot sync, two corrections become a conflict a clerk settles.
  common::Result<common::Json> EditField(const User& user, const std::string& case_id, const common::Json& input);

  // {"cases": [summary...]}. `q` matches a case id, a resident name (substring) or a
  // whole ID number; `status` a status name.
  common::Result<common::Json> List(const User& user, CaseView view, const std::string& q, const std::string& status);
  // {"case": detail} with the steps `user` may take now.
  common::Result<common::Json> Detail(const User& user, const std::string& case_id);
  // A print-friendly HTML receipt for the resident (ID and phone masked).
  common::Result<std::string> ReceiptHtml(const std::string& case_id);

  // The whole value of `field` ("applicant_id" or "applicant_phone") of a case:
  // {"case": id, "field": field, "value": "..."}. Every call that names one of those
  // fields adds a row to unmask_audit (allowed or not, shown or not) before it returns;
  // if that row cannot be written nothing is shown and the storage error is returned.
  // Errors: kInvalidArgument "field: ..." (another field; not audited),
  // kPermissionDenied (MayReveal is false), kNotFound (no such case, or no value),
  // kFailedPrecondition (encrypted under another data key: the cipher's message names
  // both key ids; or encrypted and this desk has no cipher), kDataLoss (the stored
  // value does not authenticate). Never writes an event.
  common::Result<common::Json> Reveal(const User& user, const std::string& case_id, const std::string& field);

  // The newest `limit` (1..1000) unmask_audit rows, newest first:
  // {"entries": [{"seq","at_ms","user","role","case","field","allowed","outcome"}...]},
  // outcome one of "shown", "refused", "not found", "error: <status code name>".
  // Only supervisors and admins read it (kPermissionDenied otherwise).
  common::Result<common::Json> UnmaskAudit(const User& user, int64_t limit);

 private:
  common::Result<common::Json> Summary(const std::string& case_id, const common::Json& state);
  common::Result<common::Json> Fold(const std::string& case_id);
  common::Status CheckCaseWriter(const User& user) const;
  common::Result<common::Json> WriteField(const User& user, const std::string& case_id, const common::Json& state,
                                          const std::string& field, const common::Json& input);

  // Sets `field` (and with a cipher its companions) in `out` from a checked plain value.
  common::Status PutPersonal(common::Json* out, const std::string& field, const std::string& value) const;
  // The mask to show for a stored value of a personal field (plain or token). `masked`
  // is the companion written with it, if the caller has it.
  std::string MaskStored(const std::string& field, const std::string& stored, const common::Json* masked) const;
  // Whether a case's folded fields hold the ID number `upper` (hash `hash`, "" if none).
  bool IdMatches(const common::Json& fields, const std::string& upper, const std::string& hash) const;
  // Writes one unmask_audit row (creating the table on first use).
  common::Status Audit(const User& user, const std::string& case_id, const std::string& field, bool allowed,
                       const std::string& outcome);

  sync::Replica* replica_;
  const common::Catalog* catalog_;
  const common::WorkCalendar* calendar_;
  const common::RegionTree* regions_;
  const common::FieldCipher* cipher_;  // null: legacy plain storage
  bool audit_ready_ = false;           // unmask_audit exists
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_DESK_H_
