#include "node/desk.h"

#include <algorithm>

#include "common/case_machine.h"
#include "common/personal_id.h"
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
  for (char& c : id_number)
    if (c == 'x') c = 'X';
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
               {"applicant_id", id_number},
               {"applicant_phone", phone},
               {"note", note},
               {"materials_required", it.materials},
               {"materials", materials}};
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
  DAIBAN_ASSIGN_OR_RETURN(std::string value, TextField(input, "value", kMaxTextBytes, true));
  if (field == "applicant_id") DAIBAN_RETURN_IF_ERROR(common::ValidateIdNumber(value, "value"));
  if (field == "applicant_phone") DAIBAN_RETURN_IF_ERROR(common::ValidatePhone(value, "value"));
  DAIBAN_RETURN_IF_ERROR(replica_->Append(case_id, state.value("region", ""), sync::kKindEdit,
                                          {{"fields", {{field, value}}}}, user.name, user.role).status());
  return Detail(user, case_id);
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
              {"applicant_id", common::MaskIdNumber(fields.value("applicant_id", ""))},
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
  std::vector<Json> rows;
  for (const auto& id : ids) {
    DAIBAN_ASSIGN_OR_RETURN(Json state, Fold(id));
    if (state.contains("incomplete")) continue;  // only later events have arrived so far
    if (!status.empty() && state.value("status", "") != status) continue;
    if (!q.empty()) {
      const Json& f = state["fields"];
      bool hit = id == q || id.find(q) != std::string::npos || f.value("applicant_name", "").find(q) != std::string::npos;
      std::string upper = q;
      for (char& c : upper)
        if (c == 'x') c = 'X';
      hit = hit || (upper.size() == 18 && f.value("applicant_id", "") == upper);
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
  // Whole ID and phone numbers only for the roles that work the case.
  if (user.role != common::Role::kAgent && user.role != common::Role::kClerk) {
    fields["applicant_id"] = common::MaskIdNumber(fields.value("applicant_id", ""));
    fields["applicant_phone"] = common::MaskPhone(fields.value("applicant_phone", ""));
  }
  d["fields"] = fields;
  for (const char* k : {"item_kind", "department", "promised_days", "materials_required", "materials",
                        "supplement_missing", "supplement_reason", "comments", "conflicts", "superseded",
                        "accepted_on", "completed_on", "delivered_on", "decision", "evaluation", "rejected_reason",
                        "withdrawn_reason", "holder_tier", "accept_level", "decide_level", "created"}) {
    if (state.contains(k)) d[k] = state[k];
  }
  std::vector<std::string> got = Strings(state["materials"]);
  Json missing = Json::array();
  for (const auto& m : Strings(state["materials_required"]))
    if (std::find(got.begin(), got.end(), m) == got.end()) missing.push_back(m);
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
  row("身份证号", common::MaskIdNumber(f.value("applicant_id", "")));
  row("联系电话", common::MaskPhone(f.value("applicant_phone", "")));
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

}  // namespace daiban::node
