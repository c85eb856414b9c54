#include "sync/event.h"

#include <algorithm>
#include <charconv>

#include "sync/protocol.h"

namespace daiban::sync {

using common::InvalidArgument;
using common::Result;
using common::Status;

Status ValidateNodeId(std::string_view id) {
  if (id.empty() || id.size() > 40) return InvalidArgument("node id must be 1 to 40 characters");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return InvalidArgument("node id may hold only letters, digits, '_' and '-'");
  }
  return Status::Ok();
}

std::string MakeEventId(std::string_view origin, std::string_view incarnation, int64_t counter) {
  std::string id;
  id.reserve(origin.size() + incarnation.size() + 12);
  id.append(origin).append(".").append(incarnation).append(".").append(std::to_string(counter));
  return id;
}

Result<EventIdParts> ParseEventId(std::string_view id) {
  size_t a = id.find('.');
  size_t b = a == std::string_view::npos ? a : id.find('.', a + 1);
  if (b == std::string_view::npos) return InvalidArgument("event id '" + std::string(id.substr(0, 80)) + "' is not origin.incarnation.counter");
  EventIdParts p;
  p.origin = std::string(id.substr(0, a));
  p.incarnation = std::string(id.substr(a + 1, b - a - 1));
  std::string_view n = id.substr(b + 1);
  DAIBAN_RETURN_IF_ERROR(ValidateNodeId(p.origin).WithContext("event id"));
  bool hex = p.incarnation.size() == kIncarnationHexDigits &&
             std::all_of(p.incarnation.begin(), p.incarnation.end(),
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex) return InvalidArgument("event id: incarnation must be " + std::to_string(kIncarnationHexDigits) + " lower-case hex digits");
  auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), p.counter);
  if (ec != std::errc() || ptr != n.data() + n.size() || p.counter < 1 || n.empty() || n[0] == '0') {
    return InvalidArgument("event id: counter must be a whole number from 1");
  }
  return p;
}

Json EventToJson(const Event& e) {
  Json j = Json::object();
  j["id"] = e.id;
  j["hlc"] = e.hlc;
  j["case"] = e.case_id;
  j["region"] = e.region;
  j["origin"] = e.origin;
  j["origin_region"] = e.origin_region;
  j["user"] = e.actor.user;
  j["role"] = std::string(common::RoleName(e.actor.role));
  j["tier"] = std::string(common::TierName(e.actor.tier));
  j["kind"] = e.kind;
  j["body"] = e.body;
  j["parents"] = e.parents;
  return j;
}

namespace {

void AppendString(std::string* out, std::string_view key, std::string_view value) {
  *out += ",\"";
  *out += key;
  *out += "\":";
  common::AppendCanonicalString(out, value);
}

// CanonicalJson(EventToJson(e)), written without copying the body into a second DOM
// (the keys in their sorted order; every value written by the same serializer).
std::string CanonicalEventText(const Event& e) {
  std::string out;
  out.reserve(512);
  out += "{\"body\":";
  common::AppendCanonicalJson(&out, e.body);
  AppendString(&out, "case", e.case_id);
  out += ",\"hlc\":";
  out += std::to_string(e.hlc);
  AppendString(&out, "id", e.id);
  AppendString(&out, "kind", e.kind);
  AppendString(&out, "origin", e.origin);
  AppendString(&out, "origin_region", e.origin_region);
  out += ",\"parents\":[";
  for (size_t i = 0; i < e.parents.size(); ++i) {
    if (i) out += ',';
    common::AppendCanonicalString(&out, e.parents[i]);
  }
  out += ']';
  AppendString(&out, "region", e.region);
  AppendString(&out, "role", common::RoleName(e.actor.role));
  AppendString(&out, "tier", common::TierName(e.actor.tier));
  AppendString(&out, "user", e.actor.user);
  out += '}';
  return out;
}

}  // namespace

std::string EncodeEvent(const Event& e) { return e.canonical.empty() ? CanonicalEventText(e) : e.canonical; }

namespace {

bool IsDigits(std::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool KnownKind(std::string_view k) {
  return k == kKindCreate || k == kKindStep || k == kKindEdit || k == kKindMaterials || k == kKindComment ||
         (k.rfind(kKindMasterPrefix, 0) == 0 && k.size() > kKindMasterPrefix.size());
}

}  // namespace

namespace {

// The checks on an event's values once each is read with its type, in this order, by both
// decoders below (so both give the same message): `role` and `tier` as written.
Status CheckFields(Event* e, const std::string& role, const std::string& tier, const std::string& where) {
  DAIBAN_ASSIGN_OR_RETURN(EventIdParts id_parts, ParseEventId(e->id));
  DAIBAN_ASSIGN_OR_RETURN(e->actor.role, common::ParseRole(role));
  DAIBAN_ASSIGN_OR_RETURN(e->actor.tier, common::ParseTier(tier));
  if (!KnownKind(e->kind)) return InvalidArgument(where + ": unknown kind '" + e->kind.substr(0, 40) + "'");
  if (!std::is_sorted(e->parents.begin(), e->parents.end()) ||
      std::adjacent_find(e->parents.begin(), e->parents.end()) != e->parents.end()) {
    return InvalidArgument(where + ": parents must be sorted and unique");
  }
  if (id_parts.origin != e->origin) return InvalidArgument(where + ": id does not start with its origin node");
  if (!IsDigits(e->origin_region, 12)) return InvalidArgument(where + ": origin_region must be 12 digits");
  if (e->kind.rfind(kKindMasterPrefix, 0) == 0) {
    if (!e->case_id.empty() || !e->region.empty()) {
      return InvalidArgument(where + ": master-data events carry no case and no region");
    }
  } else {
    if (!IsDigits(e->region, 12)) return InvalidArgument(where + ": region must be 12 digits");
    if (e->case_id.size() < 14 || e->case_id.size() > 64 || e->case_id.compare(0, 12, e->region) != 0 ||
        e->case_id[12] != '-') {
      return InvalidArgument(where + ": case id must start with its region code and '-'");
    }
  }
  return Status::Ok();
}

std::string Where(const Event& e) { return "event " + e.id.substr(0, 80); }

// Reads the fields of `j` into an event; `body` is moved in by the caller.
Result<Event> ReadFields(const Json& j) {
  if (!j.is_object()) return InvalidArgument("event: must be a JSON object");
  Event e;
  DAIBAN_ASSIGN_OR_RETURN(e.id, common::GetString(j, "id", "event"));
  const std::string where = Where(e);
  auto hlc = j.find("hlc");
  if (hlc == j.end() || !hlc->is_number_unsigned()) return InvalidArgument(where + ": hlc must be a non-negative integer");
  e.hlc = hlc->get<uint64_t>();
  DAIBAN_ASSIGN_OR_RETURN(e.case_id, common::GetString(j, "case", where));
  DAIBAN_ASSIGN_OR_RETURN(e.region, common::GetString(j, "region", where));
  DAIBAN_ASSIGN_OR_RETURN(e.origin, common::GetString(j, "origin", where));
  DAIBAN_ASSIGN_OR_RETURN(e.origin_region, common::GetString(j, "origin_region", where));
  DAIBAN_ASSIGN_OR_RETURN(e.actor.user, common::GetString(j, "user", where));
  DAIBAN_ASSIGN_OR_RETURN(std::string role, common::GetString(j, "role", where));
  DAIBAN_ASSIGN_OR_RETURN(std::string tier, common::GetString(j, "tier", where));
  DAIBAN_ASSIGN_OR_RETURN(e.kind, common::GetString(j, "kind", where));
  auto body = j.find("body");
  if (body == j.end() || !body->is_object()) return InvalidArgument(where + ": body must be a JSON object");
  auto parents = j.find("parents");
  if (parents == j.end() || !parents->is_array()) return InvalidArgument(where + ": parents must be an array");
  for (const auto& p : *parents) {
    if (!p.is_string()) return InvalidArgument(where + ": parents must hold event ids");
    e.parents.push_back(p.get<std::string>());
  }
  if (j.size() != 12) return InvalidArgument(where + ": unexpected fields (an event has exactly 12)");
  DAIBAN_RETURN_IF_ERROR(CheckFields(&e, role, tier, where));
  return e;
}

// Sets the body, makes the canonical bytes once and checks their size.
Result<Event> Finish(Event e, Json body) {
  e.body = std::move(body);
  e.canonical = CanonicalEventText(e);
  if (e.canonical.size() > kMaxEventBytes) {
    return common::ResourceExhausted(Where(e) + ": event larger than " + std::to_string(kMaxEventBytes) + " bytes");
  }
  return e;
}

// Reads an event's members in place, in their canonical order; any surprise ends it.
class EventText {
 public:
  explicit EventText(std::string_view text) : text_(text) {}

  bool Literal(std::string_view s) {
    if (text_.substr(at_, s.size()) != s) return false;
    at_ += s.size();
    return true;
  }
  std::optional<Json> Member(std::string_view key) {
    if (!Literal(key)) return std::nullopt;
    auto v = common::FastParseJsonPrefix(text_.substr(at_));
    if (!v) return std::nullopt;
    at_ += v->size;
    canonical_ = canonical_ && v->canonical;
    return std::move(v->value);
  }
  bool String(std::string_view key, std::string* out) {
    std::optional<Json> v = Member(key);
    if (!v || !v->is_string()) return false;
    *out = std::move(v->get_ref<std::string&>());
    return true;
  }
  size_t at() const { return at_; }
  bool canonical() const { return canonical_; }

 private:
  std::string_view text_;
  size_t at_ = 0;
  bool canonical_ = true;
};

}  // namespace

std::optional<EventPrefix> ReadEventPrefix(std::string_view text) {
  EventText t(text);
  Event e;
  std::string role, tier;
  std::optional<Json> body = t.Member("{\"body\":");
  if (!body || !body->is_object() || !t.String(",\"case\":", &e.case_id)) return std::nullopt;
  std::optional<Json> hlc = t.Member(",\"hlc\":");
  if (!hlc || !hlc->is_number_unsigned()) return std::nullopt;
  e.hlc = hlc->get<uint64_t>();
  if (!t.String(",\"id\":", &e.id) || !t.String(",\"kind\":", &e.kind) || !t.String(",\"origin\":", &e.origin) ||
      !t.String(",\"origin_region\":", &e.origin_region)) {
    return std::nullopt;
  }
  std::optional<Json> parents = t.Member(",\"parents\":");
  if (!parents || !parents->is_array()) return std::nullopt;
  for (auto& p : *parents) {
    if (!p.is_string()) return std::nullopt;
    e.parents.push_back(std::move(p.get_ref<std::string&>()));
  }
  if (!t.String(",\"region\":", &e.region) || !t.String(",\"role\":", &role) || !t.String(",\"tier\":", &tier) ||
      !t.String(",\"user\":", &e.actor.user) || !t.Literal("}")) {
    return std::nullopt;
  }
  EventPrefix out{Status(common::StatusCode::kInternal, "unset"), t.at(), e.id, e.case_id};
  const std::string where = Where(e);
  if (Status s = CheckFields(&e, role, tier, where); !s.ok()) {
    out.event = s;
    return out;
  }
  e.body = std::move(*body);
  // Role and tier names are read back to their one spelling, so the text is the event's
  // canonical bytes exactly when each member's value was.
  if (t.canonical()) {
    e.canonical = std::string(text.substr(0, t.at()));
  } else {
    e.canonical = CanonicalEventText(e);
  }
  if (e.canonical.size() > kMaxEventBytes) {
    out.event = common::ResourceExhausted(where + ": event larger than " + std::to_string(kMaxEventBytes) + " bytes");
    return out;
  }
  out.event = std::move(e);
  return out;
}

Result<Event> EventFromJson(const Json& j) {
  DAIBAN_ASSIGN_OR_RETURN(Event e, ReadFields(j));
  return Finish(std::move(e), j["body"]);
}

Result<Event> EventFromJson(Json&& j) {
  DAIBAN_ASSIGN_OR_RETURN(Event e, ReadFields(j));
  return Finish(std::move(e), std::move(j["body"]));
}

Result<Event> DecodeEvent(std::string_view bytes) {
  if (std::optional<EventPrefix> fast = ReadEventPrefix(bytes); fast && fast->size == bytes.size()) {
    return std::move(fast->event);
  }
  DAIBAN_ASSIGN_OR_RETURN(Json j, common::ParseJson(bytes, "event"));
  return EventFromJson(std::move(j));
}

Result<Event> DecodeStoredEvent(std::string_view bytes) {
  if (std::optional<EventPrefix> fast = ReadEventPrefix(bytes); fast && fast->size == bytes.size()) {
    if (!fast->event.ok()) return common::DataLoss("stored event does not decode: " + fast->event.status().message());
    fast->event->canonical = std::string(bytes);  // as stored, whatever its form
    return std::move(fast->event);
  }
  auto j = common::ParseJson(bytes, "stored event");
  if (!j.ok()) return common::DataLoss(j.status().message());
  auto e = ReadFields(*j);
  if (!e.ok()) return common::DataLoss("stored event does not decode: " + e.status().message());
  e->body = std::move((*j)["body"]);
  e->canonical = std::string(bytes);
  return e;
}

bool EventOrderLess(const Event& a, const Event& b) {
  if (a.hlc != b.hlc) return a.hlc < b.hlc;
  if (a.origin != b.origin) return a.origin < b.origin;
  return a.id < b.id;
}

}  // namespace daiban::sync
