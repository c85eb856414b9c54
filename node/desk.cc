#include "node/desk.h"

#include <algorithm>

#include "common/case_machine.h"
#include "common/field_crypto.h"
#include "common/personal_id.h"
#include "sync/merge.h"
#include "sync/protocol.h"

namespace daiban::node {

using common::Json;
using common::Result;
using common::Status;

namespace {

constexpr size_t kMaxNameBytes = 60;    // 20 Chinese characters
constexpr size_t kMaxTextBytes = 1500;  // notes, reasons, comments: about 500 Chinese characters

// input[key] as a string; "" when absent. kInvalidArgument "<key>: must be text" otherwise.
Result<std::string> TextField(const Json& input, const char* key, size_t max_bytes, bool required) {
  auto it = input.find(key);
  if (it == input.end() || it->is_null()) {
    if (required) return common::InvalidArgument(std::string(key) + ": required");
    return std::string();
  }
  if (!it->is_string()) return common::InvalidArgument(std::string(key) + ": must be text");
  std::string v = it->get<std::string>();
  size_t b = v.find_first_not_of(" \t\r\n");
  size_t e = v.find_last_not_of(" \t\r\n");
  v = b == std::string::npos ? "" : v.substr(b, e - b + 1);
  if (required && v.empty()) return common::InvalidArgument(std::string(key) + ": required");
  if (v.size() > max_bytes) {
    return common::InvalidArgument(std::string(key) + ": too long (at most " + std::to_string(max_bytes / 3) +
                                   " Chinese characters)");
  }
  return v;
}

// input[key] as a list of materials, each one of `allowed`.
Result<std::vector<std::string>> MaterialList(const Json& input, const char* key, const std::vector<std::string>& allowed,
                                              bool required) {
  auto it = input.find(key);
  std::vector<std::string> out;
  if (it == input.end() || it->is_null()) {
    if (required) return common::InvalidArgument(std::string(key) + ": list at least one material");
    return out;
  }
  if (!it->is_array()) return common::InvalidArgument(std::string(key) + ": must be a list of materials");
  for (const auto& m : *it) {
    if (!m.is_string()) return common::InvalidArgument(std::string(key) + ": must be a list of materials");
    std::string name = m.get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return common::InvalidArgument(std::string(key) + ": '" + name.substr(0, 60) +
                                     "' is not a required material of this item");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  if (required && out.empty()) return common::InvalidArgument(std::string(key) + ": list at least one material");
  return out;
}

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& s : j)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

constexpr const char* kPersonalFields[] = {"applicant_id", "applicant_phone"};
constexpr const char* kIdHash = "applicant_id_hash";

bool IsPersonal(std::string_view field) { return field == "applicant_id" || field == "applicant_phone"; }

std::string MaskedKey(const std::string& field) { return field + "_masked"; }

std::string MaskPlain(std::string_view field, std::string_view plain) {
  return field == "applicant_id" ? common::MaskIdNumber(plain) : common::MaskPhone(plain);
}

// obj[key] if it is a string, else null.
const Json* StringAt(const Json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? &*it : nullptr;
}

// An ID number as it is stored and searched: trimmed by the caller, 'x' made 'X'.
std::string NormaliseId(std::string id) {
  for (char& c : id)
    if (c == 'x') c = 'X';
  return id;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Result<CaseView> ParseCaseView(std::string_view s) {
  if (s.empty() || s == "queue") return CaseView::kQueue;
  if (s == "inbox") return CaseView::kInbox;
  if (s == "warnings") return CaseView::kWarnings;
  if (s == "conflicts") return CaseView::kConflicts;
  return common::InvalidArgument("view: '" + std::string(s.substr(0, 40)) +
                                 "' is not one of queue, inbox, warnings, conflicts");
}

bool MayReveal(common::Role role, std::string_view field) {
  if (field == "applicant_id") return role == common::Role::kClerk;
  if (field == "applicant_phone") return role == common::Role::kClerk || role == common::Role::kAgent;
  return false;
}

Json Desk::CatalogJson(bool proxy_only) const {
  Json items = Json::array();
  for (const auto& item : catalog_->items()) {
    if (proxy_only && !item.proxy_allowed) continue;
    char fee[32];
    std::snprintf(fee, sizeof fee, "%lld.%02lld", static_cast<long long>(item.fee_fen / 100),
                  static_cast<long long>(item.fee_fen % 100));
    items.push_back({{"code", item.code}, {"name", item.name}, {"department", item.department},
                     {"kind", common::ItemKindName(item.kind)}, {"promised_days", item.promised_days},
                     {"legal_days", item.legal_days}, {"proxy_allowed", item.proxy_allowed},
                     {"accept_level", common::TierName(item.accept_level)},
                     {"decide_level", common::TierName(item.decide_level)}, {"fee_yuan", fee},
                     {"materials", item.materials}});
  }
  return {{"items", items}};
}

Status Desk::CheckCaseWriter(const User& user) const {
  if (user.role != common::Role::kAgent && user.role != common::Role::kClerk) {
    return common::PermissionDenied("only agents and clerks work on cases; you are signed in as " +
                                    std::string(common::RoleName(user.role)));
  }
  return Status::Ok();
}

Result<Json> Desk::FileCase(const User& user, const Json& input) {
  DAIBAN_RETURN_IF_ERROR(CheckCaseWriter(user));
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(std::string code, TextField(input, "item", 40, true));
  auto item = catalog_->Lookup(code);
  if (!item.ok()) return common::InvalidArgument("item: " + item.status().message());
  const common::ServiceItem& it = **item;
  if (replica_->tier() == common::Tier::kVillage && !it.proxy_allowed) {
    return common::InvalidArgument("item: " + it.name + " may not be filed by a village agent (代办); the resident applies at the centre");
  }
  if (static_cast<int>(it.accept_level) < static_cast<int>(replica_->tier())) {
    return common::InvalidArgument("item: " + it.name + " is accepted at the " +
                                   std::string(common::TierName(it.accept_level)) + " tier, below this node");
  }
  DAIBAN_ASSIGN_OR_RETURN(std::string name, TextField(input, "applicant_name", kMaxNameBytes, true));
  DAIBAN_ASSIGN_OR_RETURN(std::string id_number, TextField(input, "applicant_id", 40, true));
  id_number = NormaliseId(std::move(id_number));
  {
    common::Date today = replica_->Today();
    int yyyymmdd = std::stoi(today.ToString().substr(0, 4) + today.ToString().substr(5, 2) + today.ToString().substr(8, 2));
    DAIBAN_RETURN_IF_ERROR(common::ValidateIdNumber(id_number, "applicant_id", yyyymmdd));  // no birth in the future
  }
  DAIBAN_ASSIGN_OR_RETURN(std::string phone, TextField(input, "applicant_phone", 40, true));
  DAIBAN_RETURN_IF_ERROR(common::ValidatePhone(phone, "applicant_phone"));
  DAIBAN_ASSIGN_OR_RETURN(auto materials, MaterialList(input, "materials", it.materials, false));
  DAIBAN_ASSIGN_OR_RETURN(std::string note, TextField(input, "note", kMaxTextBytes, false));
  bool submit = true;
  if (auto s = input.find("submit"); s != input.end()) {
    if (!s->is_boolean()) return common::InvalidArgument("submit: must be true or false");
    submit = s->get<bool>();
  }
  Json body = {{"item", it.code},
               {"item_name", it.name},
               {"department", it.department},
               {"item_kind", common::ItemKindName(it.kind)},
               {"promised_days", it.promised_days},
               {"accept_level", common::TierName(it.accept_level)},
               {"decide_level", common::TierName(it.decide_level)},
               {"applicant_name", name},
               {"note", note},
               {"materials_required", it.materials},
               {"materials", materials}};
  DAIBAN_RETURN_IF_ERROR(PutPersonal(&body, "applicant_id", id_number));
  DAIBAN_RETURN_IF_ERROR(PutPersonal(&body, "applicant_phone", phone));
  DAIBAN_ASSIGN_OR_RETURN(sync::Event created,
                          replica_->CreateCase(replica_->store()->region(), std::move(body), user.name, user.role));
  if (submit) {
    // A fresh draft may always be submitted by its filer; checked again by Step.
    DAIBAN_RETURN_IF_ERROR(replica_->Step(created.case_id, common::CaseAction::kSubmit, Json::object(), user.name,
                                          user.role, *calendar_).status());
  }
  return Detail(user, created.case_id);
}

Result<Json> Desk::Fold(const std::string& case_id) {
  auto fold = replica_->store()->GetCase(case_id);
  if (!fold.ok()) {
    if (fold.status().code() == common::StatusCode::kNotFound) {
      return common::NotFound("case " + case_id.substr(0, 80) + " is not at this node");
    }
    return fold.status();
  }
  return fold->state;
}

Result<Json> Desk::TakeStep(const User& user, const std::string& case_id, const Json& input) {
  DAIBAN_RETURN_IF_ERROR(CheckCaseWriter(user));
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(std::string action_name, TextField(input, "action", 40, true));
  auto action = common::ParseCaseAction(action_name);
  if (!action.ok()) return common::InvalidArgument("action: " + action.status().message());
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  Json extra = Json::object();
  using common::CaseAction;
  switch (*action) {
    case CaseAction::kReject:
    case CaseAction::kWithdraw: {
      DAIBAN_ASSIGN_OR_RETURN(std::string reason, TextField(input, "reason", kMaxTextBytes, true));
      extra["reason"] = reason;
      break;
    }
    case CaseAction::kRequestSupplement: {
      DAIBAN_ASSIGN_OR_RETURN(auto missing,
                              MaterialList(input, "missing", Strings(state["materials_required"]), true));
      DAIBAN_ASSIGN_OR_RETURN(std::string reason, TextField(input, "reason", kMaxTextBytes, false));
      extra["missing"] = missing;
      extra["reason"] = reason;
      break;
    }
    case CaseAction::kDecide: {
      auto ap = input.find("approved");
      if (ap == input.end() || !ap->is_boolean()) return common::InvalidArgument("approved: required, true or false");
      DAIBAN_ASSIGN_OR_RETURN(std::string reason, TextField(input, "reason", kMaxTextBytes, !ap->get<bool>()));
      extra["approved"] = ap->get<bool>();
      extra["reason"] = reason;
      break;
    }
    case CaseAction::kEvaluate: {
      auto ev = input.find("evaluation");
      std::string name;
      if (ev != input.end() && ev->is_number_integer()) {
        int64_t n = ev->get<int64_t>();
        if (n < 1 || n > 5) return common::InvalidArgument("evaluation: 1 (非常不满意) to 5 (非常满意)");
        name = common::EvaluationName(static_cast<common::Evaluation>(n));
      } else if (ev != input.end() && ev->is_string()) {
        auto e = common::ParseEvaluation(ev->get<std::string>());
        if (!e.ok()) return e.status();
        name = common::EvaluationName(*e);
      } else {
        return common::InvalidArgument("evaluation: required, 1 (非常不满意) to 5 (非常满意)");
      }
      extra["evaluation"] = name;
      break;
    }
    default: {
      DAIBAN_ASSIGN_OR_RETURN(std::string reason, TextField(input, "reason", kMaxTextBytes, false));
      if (!reason.empty()) extra["reason"] = reason;
    }
  }
  DAIBAN_RETURN_IF_ERROR(replica_->Step(case_id, *action, std::move(extra), user.name, user.role, *calendar_).status());
  return Detail(user, case_id);
}

Result<Json> Desk::AddMaterials(const User& user, const std::string& case_id, const Json& input) {
  DAIBAN_RETURN_IF_ERROR(CheckCaseWriter(user));
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  DAIBAN_ASSIGN_OR_RETURN(auto add, MaterialList(input, "add", Strings(state["materials_required"]), true));
  DAIBAN_RETURN_IF_ERROR(replica_->Append(case_id, state.value("region", ""), sync::kKindMaterials, {{"add", add}},
                                          user.name, user.role).status());
  return Detail(user, case_id);
}

Result<Json> Desk::AddComment(const User& user, const std::string& case_id, const Json& input) {
  DAIBAN_RETURN_IF_ERROR(CheckCaseWriter(user));
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  DAIBAN_ASSIGN_OR_RETURN(std::string text, TextField(input, "text", kMaxTextBytes, true));
  DAIBAN_RETURN_IF_ERROR(replica_->Append(case_id, state.value("region", ""), sync::kKindComment, {{"text", text}},
                                          user.name, user.role).status());
  return Detail(user, case_id);
}

Result<Json> Desk::Settle(const User& user, const std::string& case_id, const Json& input) {
  if (user.role != common::Role::kClerk) return common::PermissionDenied("only a clerk settles conflicts");
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  DAIBAN_ASSIGN_OR_RETURN(std::string field, TextField(input, "field", 40, true));
  bool conflicted = false;
  for (const auto& c : state["conflicts"]) conflicted = conflicted || c.value("field", "") == field;
  if (!conflicted) return common::FailedPrecondition("field: " + field.substr(0, 40) + " has no conflict to settle");
  return WriteField(user, case_id, state, field, input);
}

Result<Json> Desk::EditField(const User& user, const std::string& case_id, const Json& input) {
  DAIBAN_RETURN_IF_ERROR(CheckCaseWriter(user));
  if (!input.is_object()) return common::InvalidArgument("the request must be a JSON object");
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  DAIBAN_ASSIGN_OR_RETURN(std::string field, TextField(input, "field", 40, true));
  const auto& editable = sync::EditableFields();
  if (std::find(editable.begin(), editable.end(), field) == editable.end()) {
    return common::InvalidArgument("field: " + field.substr(0, 40) +
                                   " cannot be corrected (only applicant_name, applicant_id, applicant_phone, note)");
  }
  return WriteField(user, case_id, state, field, input);
}

// Checks {"value"} for `field` and appends the case.edit; its parents are every write of
// the field this node has seen, so it settles any conflict it can see.
Result<Json> Desk::WriteField(const User& user, const std::string& case_id, const Json& state,
                              const std::string& field, const Json& input) {
  DAIBAN_ASSIGN_OR_RETURN(std::string value, TextField(input, "value", kMaxTextBytes, true));
  if (field == "applicant_id") DAIBAN_RETURN_IF_ERROR(common::ValidateIdNumber(value, "value"));
  if (field == "applicant_phone") DAIBAN_RETURN_IF_ERROR(common::ValidatePhone(value, "value"));
  if (field == "applicant_name" && value.size() > kMaxNameBytes) {
    return common::InvalidArgument("value: a name is at most " + std::to_string(kMaxNameBytes) + " bytes");
  }
  Json fields = Json::object();
  if (IsPersonal(field)) {
    DAIBAN_RETURN_IF_ERROR(PutPersonal(&fields, field, value));
  } else {
    fields[field] = value;
  }
  DAIBAN_RETURN_IF_ERROR(replica_->Append(case_id, state.value("region", ""), sync::kKindEdit,
                                          {{"fields", std::move(fields)}}, user.name, user.role).status());
  return Detail(user, case_id);
}

Status Desk::PutPersonal(Json* out, const std::string& field, const std::string& value) const {
  if (cipher_ == nullptr) {
    (*out)[field] = value;
    return Status::Ok();
  }
  DAIBAN_ASSIGN_OR_RETURN(std::string token, cipher_->Encrypt(value, field));
  (*out)[field] = std::move(token);
  (*out)[MaskedKey(field)] = MaskPlain(field, value);
  if (field == "applicant_id") {
    DAIBAN_ASSIGN_OR_RETURN(std::string hash, cipher_->SearchHash(value));
    (*out)[kIdHash] = std::move(hash);
  }
  return Status::Ok();
}

std::string Desk::MaskStored(const std::string& field, const std::string& stored, const Json* masked) const {
  if (!common::FieldCipher::IsEncrypted(stored)) return MaskPlain(field, stored);  // plain (legacy) value
  // The companion written with this very value: sync folds it beside its field.
  if (masked != nullptr && masked->is_string()) return masked->get<std::string>();
  std::string_view key_id = common::FieldCipher::TokenKeyId(stored);
  if (cipher_ == nullptr || key_id != cipher_->KeyId()) {
    return "(data key " + std::string(key_id) + " is not at this node)";
  }
  auto plain = cipher_->Decrypt(stored, field);
  return plain.ok() ? MaskPlain(field, *plain) : "(damaged: does not decrypt)";
}

bool Desk::IdMatches(const Json& fields, const std::string& upper, const std::string& hash) const {
  std::string stored = fields.value("applicant_id", "");
  if (!common::FieldCipher::IsEncrypted(stored)) return stored == upper;
  if (const Json* h = StringAt(fields, kIdHash)) return !hash.empty() && h->get<std::string>() == hash;
  if (cipher_ == nullptr) return false;
  auto plain = cipher_->Decrypt(stored, "applicant_id");
  return plain.ok() && *plain == upper;
}

Result<Json> Desk::Summary(const std::string& case_id, const Json& state) {
  const Json& fields = state["fields"];
  std::string status = state.value("status", "draft");
  auto st = common::ParseCaseStatus(status);
  std::string due = state.value("due_date", "");
  std::string warning = "none";
  if (!due.empty() && st.ok() && common::IsClockRunning(*st)) {
    auto d = common::Date::Parse(due);
    if (d.ok()) warning = std::string(common::WarningName(common::WarningFor(*d, replica_->Today(), *calendar_)));
  }
  DAIBAN_ASSIGN_OR_RETURN(sync::CaseSyncState sync_state, replica_->SyncStateOf(case_id));
  return Json{{"id", case_id},
              {"item", state.value("item", "")},
              {"item_name", state.value("item_name", "")},
              {"applicant_name", fields.value("applicant_name", "")},
              {"applicant_id", MaskStored("applicant_id", fields.value("applicant_id", ""),
                                          StringAt(fields, MaskedKey("applicant_id")))},
              {"status", status},
              {"status_label", st.ok() ? std::string(common::CaseStatusLabel(*st)) : status},
              {"due_date", due},
              {"warning", warning},
              {"sync", std::string(sync::CaseSyncStateName(sync_state))},
              {"region", state.value("region", "")},
              {"filed", state.value("submitted_on", "")},
              {"conflicts", state["conflicts"].size()}};
}

Result<Json> Desk::List(const User& user, CaseView view, const std::string& q, const std::string& status) {
  (void)user;
  if (!status.empty() && !common::ParseCaseStatus(status).ok()) {
    return common::InvalidArgument("status: " + common::ParseCaseStatus(status).status().message());
  }
  DAIBAN_ASSIGN_OR_RETURN(std::vector<std::string> ids, replica_->store()->CaseIds());
  // A whole ID number is looked up by its search hash (or compared with a plain value).
  std::string q_upper = NormaliseId(q);
  std::string q_hash;
  if (cipher_ != nullptr && q_upper.size() == 18) {
    DAIBAN_ASSIGN_OR_RETURN(q_hash, cipher_->SearchHash(q_upper));
  }
  std::vector<Json> rows;
  for (const auto& id : ids) {
    DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(id));
    if (state.contains("incomplete")) continue;  // only later events have arrived so far
    if (!status.empty() && state.value("status", "") != status) continue;
    if (!q.empty()) {
      const Json& f = state["fields"];
      bool hit = id == q || id.find(q) != std::string::npos || f.value("applicant_name", "").find(q) != std::string::npos;
      hit = hit || (q_upper.size() == 18 && IdMatches(f, q_upper, q_hash));
      if (!hit) continue;
    }
    if (view == CaseView::kConflicts && state["conflicts"].empty()) continue;
    if (view == CaseView::kInbox) {
      auto facts = sync::Replica::FactsOf(state);
      if (!facts.ok()) continue;
      bool acts = false;
      for (auto a : common::AllowedActions(*facts, replica_->tier(), user.role)) {
        acts = acts || a != common::CaseAction::kWithdraw;
      }
      if (!acts) continue;
    }
    DAIBAN_ASSIGN_OR_RETURN(Json row, Summary(id, state));
    if (view == CaseView::kWarnings && row["warning"] == "none") continue;
    row["_hlc"] = state["created"].value("hlc", int64_t{0});
    rows.push_back(std::move(row));
  }
  if (view == CaseView::kWarnings) {
    std::sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) {
      return a["due_date"].get<std::string>() < b["due_date"].get<std::string>();
    });
  } else {
    std::sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) { return a["_hlc"] > b["_hlc"]; });
  }
  Json out = Json::array();
  for (auto& r : rows) {
    r.erase("_hlc");
    out.push_back(std::move(r));
  }
  return Json{{"cases", out}};
}

Result<Json> Desk::Detail(const User& user, const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  DAIBAN_ASSIGN_OR_RETURN(Json d, Summary(case_id, state));
  Json fields = state["fields"];
  // With a cipher, masks for everyone (Reveal shows a whole value); without one (legacy),
  // whole ID and phone numbers for the roles that work the case.
  bool mask = cipher_ != nullptr || (user.role != common::Role::kAgent && user.role != common::Role::kClerk);
  Json conflicts = state["conflicts"];
  if (mask) {
    for (const char* k : kPersonalFields) {
      std::string field = k;
      if (fields.contains(field))
        fields[field] = MaskStored(field, fields.value(field, ""), StringAt(fields, MaskedKey(field)));
      fields.erase(MaskedKey(field));
    }
    fields.erase(kIdHash);
    for (auto& c : conflicts) {
      std::string field = c.value("field", "");
      if (!IsPersonal(field) || !c.contains("candidates")) continue;
      for (auto& cand : c["candidates"]) {
        cand["value"] = MaskStored(field, cand.value("value", ""), StringAt(cand, "masked"));
        cand.erase("masked");
      }
    }
  }
  d["fields"] = fields;
  Json revealable = Json::array();
  for (const char* k : kPersonalFields)
    if (MayReveal(user.role, k)) revealable.push_back(k);
  d["revealable"] = revealable;
  for (const char* k : {"item_kind", "department", "promised_days", "materials_required", "materials",
                        "supplement_missing", "supplement_reason", "comments", "superseded",
                        "accepted_on", "completed_on", "delivered_on", "decision", "evaluation", "rejected_reason",
                        "withdrawn_reason", "holder_tier", "accept_level", "decide_level", "created"}) {
    if (state.contains(k)) d[k] = state[k];
  }
  std::vector<std::string> got = Strings(state["materials"]);
  Json missing = Json::array();
  for (const auto& m : Strings(state["materials_required"]))
    if (std::find(got.begin(), got.end(), m) == got.end()) missing.push_back(m);
  if (state.contains("conflicts")) d["conflicts"] = conflicts;
  d["missing"] = missing;
  d["history"] = state["steps"];
  Json allowed = Json::array();
  if (user.role == common::Role::kAgent || user.role == common::Role::kClerk) {
    auto facts = sync::Replica::FactsOf(state);
    if (facts.ok())
      for (auto a : common::AllowedActions(*facts, replica_->tier(), user.role))
        allowed.push_back(common::CaseActionName(a));
  }
  d["allowed"] = allowed;
  return Json{{"case", d}};
}

Result<std::string> Desk::ReceiptHtml(const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(case_id));
  const Json& f = state["fields"];
  std::string region_name = state.value("region", "");
  if (auto r = regions_->Lookup(region_name); r.ok()) {
    auto code = common::RegionCode::Parse(region_name);
    if (code.ok()) region_name = regions_->PathName(*code);
  }
  std::string html =
      "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>办件回执</title>"
      "<style>body{font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em}"
      "table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;padding:.4em;text-align:left}"
      "@media print{button{display:none}}</style></head><body>"
      "<h1>政务服务代办回执</h1><table>";
  auto row = [&](const std::string& k, const std::string& v) {
    html += "<tr><th>" + HtmlEscape(k) + "</th><td>" + HtmlEscape(v) + "</td></tr>";
  };
  row("办件编号", case_id);
  row("办理事项", state.value("item_name", "") + "（" + state.value("item", "") + "）");
  row("承办部门", state.value("department", ""));
  row("申请人", f.value("applicant_name", ""));
  row("身份证号",
      MaskStored("applicant_id", f.value("applicant_id", ""), StringAt(f, MaskedKey("applicant_id"))));
  row("联系电话", MaskStored("applicant_phone", f.value("applicant_phone", ""),
                             StringAt(f, MaskedKey("applicant_phone"))));
  row("代办点", region_name);
  row("提交日期", state.value("submitted_on", "（尚未提交）"));
  std::string materials;
  for (const auto& m : Strings(state["materials"])) materials += (materials.empty() ? "" : "、") + m;
  row("已收材料", materials.empty() ? "（无）" : materials);
  int64_t days = state.value("promised_days", int64_t{0});
  row("承诺时限", days == 0 ? "即办" : std::to_string(days) + " 个工作日（自受理之日起）");
  if (!state.value("due_date", "").empty()) row("办结期限", state.value("due_date", ""));
  html += "</table><p>凭此回执查询办理进度。</p><button onclick=\"window.print()\">打印</button></body></html>";
  return html;
}

Status Desk::Audit(const User& user, const std::string& case_id, const std::string& field, bool allowed,
                   const std::string& outcome) {
  common::Db* db = replica_->store()->db();
  if (!audit_ready_) {
    // Who saw (or asked to see) a whole ID or phone number. Never holds a value.
    DAIBAN_RETURN_IF_ERROR(db->Exec(
        "CREATE TABLE IF NOT EXISTS unmask_audit("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at_ms INTEGER NOT NULL,"    // Unix milliseconds, the node's clock
        " user TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " case_id TEXT NOT NULL,"
        " field TEXT NOT NULL,"       // applicant_id | applicant_phone
        " allowed INTEGER NOT NULL,"  // 1 if the role may see the field
        " outcome TEXT NOT NULL)"));  // shown | refused | not found | error: <code>
    audit_ready_ = true;
  }
  DAIBAN_ASSIGN_OR_RETURN(
      common::Stmt * ins,
      db->Prepare("INSERT INTO unmask_audit(at_ms, user, role, case_id, field, allowed, outcome) "
                  "VALUES(?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, replica_->clock()->NowMillis())
      .Bind(2, user.name)
      .Bind(3, common::RoleName(user.role))
      .Bind(4, std::string_view(case_id).substr(0, 80))
      .Bind(5, field)
      .Bind(6, int64_t{allowed ? 1 : 0})
      .Bind(7, outcome);
  return ins->Run();
}

Result<Json> Desk::Reveal(const User& user, const std::string& case_id, const std::string& field) {
  if (!IsPersonal(field)) {
    return common::InvalidArgument("field: '" + field.substr(0, 40) + "' is not applicant_id or applicant_phone");
  }
  const bool allowed = MayReveal(user.role, field);
  if (!allowed) {
    DAIBAN_RETURN_IF_ERROR(Audit(user, case_id, field, false, "refused"));
    std::string what = field == "applicant_id" ? "the whole ID number" : "the whole phone number";
    std::string who = field == "applicant_id" ? "only a clerk sees " : "only agents and clerks see ";
    return common::PermissionDenied(who + what + "; you are signed in as " + std::string(common::RoleName(user.role)));
  }
  // Every way this can end is audited before it returns.
  auto fail = [&](const Status& s) -> Result<Json> {
    std::string outcome = s.code() == common::StatusCode::kNotFound
                              ? "not found"
                              : "error: " + std::string(common::StatusCodeName(s.code()));
    DAIBAN_RETURN_IF_ERROR(Audit(user, case_id, field, true, outcome));
    return s;
  };
  Result<Json> state = Fold(case_id);
  if (!state.ok()) return fail(state.status());
  const Json* stored = StringAt((*state)["fields"], field);
  if (stored == nullptr || stored->get<std::string>().empty()) {
    return fail(common::NotFound(field + ": case " + case_id.substr(0, 80) + " has no value"));
  }
  std::string value = stored->get<std::string>();
  if (common::FieldCipher::IsEncrypted(value)) {
    if (cipher_ == nullptr) {
      return fail(common::FailedPrecondition(field + ": the value is encrypted and this node has no data key"));
    }
    Result<std::string> plain = cipher_->Decrypt(value, field);
    if (!plain.ok()) return fail(plain.status());
    value = std::move(*plain);
  }
  DAIBAN_RETURN_IF_ERROR(Audit(user, case_id, field, true, "shown"));
  return Json{{"case", case_id}, {"field", field}, {"value", value}};
}

Result<Json> Desk::UnmaskAudit(const User& user, int64_t limit) {
  if (user.role != common::Role::kSupervisor && user.role != common::Role::kAdmin) {
    return common::PermissionDenied("only supervisors and admins read the unmask audit; you are signed in as " +
                                    std::string(common::RoleName(user.role)));
  }
  if (limit < 1 || limit > 1000) return common::InvalidArgument("limit: 1 to 1000");
  common::Db* db = replica_->store()->db();
  Json entries = Json::array();
  // No table yet: nobody has asked to see a whole value.
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * exists,
                          db->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'unmask_audit'"));
  DAIBAN_ASSIGN_OR_RETURN(bool has_table, exists->Step());
  exists->Reset();
  if (!has_table) return Json{{"entries", entries}};
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q,
                          db->Prepare("SELECT seq, at_ms, user, role, case_id, field, allowed, outcome "
                                      "FROM unmask_audit ORDER BY seq DESC LIMIT ?"));
  q->Bind(1, limit);
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    entries.push_back({{"seq", q->ColumnInt(0)},
                       {"at_ms", q->ColumnInt(1)},
                       {"user", q->ColumnText(2)},
                       {"role", q->ColumnText(3)},
                       {"case", q->ColumnText(4)},
                       {"field", q->ColumnText(5)},
                       {"allowed", q->ColumnInt(6) != 0},
                       {"outcome", q->ColumnText(7)}});
  }
  q->Reset();
  return Json{{"entries", entries}};
}

}  // namespace daiban::node
