// An event: one immutable change, the unit of replication.
//
// A case is a fold of its events (sync/merge.h). Events are made offline by their
// origin node and never change afterwards; the same id always means the same bytes.
#ifndef DAIBAN_SYNC_EVENT_H_
#define DAIBAN_SYNC_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/hlc.h"
#include "common/json.h"
#include "common/status.h"
#include "common/tier.h"

namespace daiban::sync {

using common::HlcTimestamp;
using common::Json;

// Who made a change.
struct Actor {
  std::string user;                         // login name at the origin node
  common::Role role = common::Role::kAgent;
  common::Tier tier = common::Tier::kVillage;  // tier of the origin node
};

struct Event {
  // "<origin>.<incarnation>.<counter>": origin node id, the 12-hex-digit incarnation of
  // that node's store (new every time it is opened, so a node restored from a backup
  // never mints an id again), and a counter from 1 within the incarnation.
  std::string id;
  HlcTimestamp hlc = 0;        // greater than every parent's
  std::string case_id;         // "" for master data
  std::string region;          // 12-digit region code the case belongs to; "" for master data
  std::string origin;          // node id that made it
  std::string origin_region;   // that node's region code (12 digits)
  Actor actor;
  std::string kind;            // sync/protocol.h kKind*
  Json body = Json::object();  // kind-specific
  std::vector<std::string> parents;  // the case's head events the author had seen; sorted

  // EncodeEvent(*this), filled in by the decoders so the bytes are made once. Empty when
  // unknown. REQUIRES: cleared by whoever changes a field after decoding.
  std::string canonical;

  bool is_master() const { return case_id.empty(); }
};

// The canonical JSON of an event (sorted keys); what is stored, hashed and sent.
Json EventToJson(const Event& e);
std::string EncodeEvent(const Event& e);

// Decodes and validates an event. Errors are kInvalidArgument naming the field:
// missing or mistyped fields, malformed id, unknown kind, a case id that does not
// start with its region code, a master event with a case id, parents not sorted or
// repeated, an oversized body.
common::Result<Event> EventFromJson(const Json& j);
// As above, moving the body out of `j` (cheaper for large batches).
common::Result<Event> EventFromJson(Json&& j);
common::Result<Event> DecodeEvent(std::string_view bytes);
// Decodes an event this node stored itself (already validated when it was stored):
// only the parsing, none of the checks. kDataLoss if it does not parse.
common::Result<Event> DecodeStoredEvent(std::string_view bytes);

// The decoders' fast path: an event's object read in place from the start of `text` when it
// is written as the nodes write events (compact, the 12 members in byte order, each of its
// type); nullopt for any other text, which the general decoder then reads, and whose verdict
// stands. `event` is decoded and checked as EventFromJson would (with its message if
// refused), with `canonical` set to the text itself when the text is canonical. `size`: the
// bytes the object took; `id` and `case_id` as read, to name a refused event.
struct EventPrefix {
  common::Result<Event> event;
  size_t size = 0;
  std::string id, case_id;
};
std::optional<EventPrefix> ReadEventPrefix(std::string_view text);

// Splits an event id into origin, incarnation and counter. kInvalidArgument if malformed.
struct EventIdParts {
  std::string origin;
  std::string incarnation;
  int64_t counter = 0;
};
common::Result<EventIdParts> ParseEventId(std::string_view id);
std::string MakeEventId(std::string_view origin, std::string_view incarnation, int64_t counter);

// A node id: 1-40 characters of [A-Za-z0-9_-].
common::Status ValidateNodeId(std::string_view id);

// The total order used to break ties everywhere: hlc, then origin, then id.
bool EventOrderLess(const Event& a, const Event& b);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_EVENT_H_
