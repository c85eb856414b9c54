#include "sync/codec.h"

#include <zlib.h>

#include <optional>

#include "sync/protocol.h"

namespace daiban::sync {

namespace {

std::string Compress(std::string_view body) {
  uLongf bound = compressBound(static_cast<uLong>(body.size()));
  std::string out(kFrameMagic);
  out.resize(kFrameMagic.size() + bound);
  uLongf len = bound;
  // Level 6: zlib's default; most of the gain at a fraction of level 9's time.
  int rc = compress2(reinterpret_cast<Bytef*>(&out[kFrameMagic.size()]), &len,
                     reinterpret_cast<const Bytef*>(body.data()), static_cast<uLong>(body.size()), 6);
  if (rc != Z_OK) {
    // Only Z_MEM_ERROR is possible with a correct bound: out of memory.
    std::abort();
  }
  out.resize(kFrameMagic.size() + len);
  return out;
}

}  // namespace

std::string EncodeFrame(const common::Json& message) { return Compress(common::CanonicalJson(message)); }

common::Result<std::string> EncodeFrameWithEvents(const common::Json& message,
                                                  const std::vector<std::string_view>& events) {
  std::string text = common::CanonicalJson(message);
  // Keys are written sorted and every quote inside a string is escaped, so `"events":[]`
  // appears once for each empty "events" member and nowhere else.
  static constexpr std::string_view kSlot = "\"events\":[]";
  size_t at = text.find(kSlot);
  if (at == std::string::npos || text.find(kSlot, at + 1) != std::string::npos) {
    return common::Internal("sync message: no single empty \"events\" to fill");
  }
  const size_t open = at + kSlot.size() - 1;  // just before the closing bracket
  size_t bytes = text.size();
  for (auto e : events) bytes += e.size() + 1;
  std::string out;
  out.reserve(bytes);
  out.append(text, 0, open);
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].size() < 2 || events[i].front() != '{' || events[i].back() != '}') {
      return common::DataLoss("stored event #" + std::to_string(i + 1) + " of the batch is not a JSON object");
    }
    if (i) out += ',';
    out += events[i];
  }
  out.append(text, open, std::string::npos);
  return Compress(out);
}

namespace {

common::Result<std::string> Inflate(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return common::ResourceExhausted("sync message of " + std::to_string(frame.size()) + " bytes is over the " +
                                     std::to_string(kMaxFrameBytes) + "-byte limit; send smaller batches");
  }
  if (frame.substr(0, kFrameMagic.size()) != kFrameMagic) {
    return common::InvalidArgument("not a Daiban sync message (wrong magic bytes)");
  }
  frame.remove_prefix(kFrameMagic.size());
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return common::Internal("zlib inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(frame.data()));
  zs.avail_in = static_cast<uInt>(frame.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > kMaxMessageBytes) {
      inflateEnd(&zs);
      return common::ResourceExhausted("sync message inflates past the " + std::to_string(kMaxMessageBytes) +
                                       "-byte limit");
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    if (rc == Z_BUF_ERROR) rc = Z_OK;
  }
  bool complete = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!complete) {
    return common::InvalidArgument(rc == Z_STREAM_END ? "sync message has trailing bytes after its end"
                                                      : "sync message is truncated or corrupt (compressed data incomplete)");
  }
  return out;
}

common::Result<common::Json> ParseMessage(std::string_view text) {
  DAIBAN_ASSIGN_OR_RETURN(common::Json j, common::ParseJson(text, "sync message"));
  if (!j.is_object()) return common::InvalidArgument("sync message must be a JSON object");
  return j;
}

// Walks a compact JSON object in place: `{"key":value,...}`, calling `member(key, at)` at
// each value, which reads it and moves `at` past it (false: give up).
template <typename Member>
bool WalkObject(std::string_view text, size_t* at, Member member) {
  if (text.substr(*at, 1) != "{") return false;
  ++*at;
  if (text.substr(*at, 1) == "}") {
    ++*at;
    return true;
  }
  for (;;) {
    auto key = common::FastParseJsonPrefix(text.substr(*at));
    if (!key || !key->value.is_string()) return false;
    *at += key->size;
    if (text.substr(*at, 1) != ":") return false;
    ++*at;
    if (!member(key->value.get_ref<const std::string&>(), at)) return false;
    if (text.substr(*at, 1) == "}") {
      ++*at;
      return true;
    }
    if (text.substr(*at, 1) != ",") return false;
    ++*at;
  }
}

bool ReadValue(std::string_view text, size_t* at, common::Json* out) {
  auto v = common::FastParseJsonPrefix(text.substr(*at));
  if (!v) return false;
  *at += v->size;
  *out = std::move(v->value);
  return true;
}

// The array at text[*pos] ('['), each element read in place as an event into *out.
bool ReadEventsInPlace(std::string_view text, size_t* pos, std::vector<FrameEvent>* out) {
  ++*pos;
  if (text.substr(*pos, 1) == "]") {
    ++*pos;
    return true;
  }
  for (;;) {
    std::optional<EventPrefix> e = ReadEventPrefix(text.substr(*pos));
    if (!e) return false;
    *pos += e->size;
    out->push_back({std::move(e->event), std::move(e->id), std::move(e->case_id)});
    if (text.substr(*pos, 1) == "]") {
      ++*pos;
      return true;
    }
    if (text.substr(*pos, 1) != ",") return false;
    ++*pos;
  }
}

// The object at text[*pos] ('{') into *value, its "events" array (if an array) read in
// place into *events and left empty in *value.
bool ReadMemberWithEvents(std::string_view text, size_t* pos, Json* value, std::vector<FrameEvent>* events) {
  *value = Json::object();
  auto& inner = value->get_ref<Json::object_t&>();
  return WalkObject(text, pos, [&](const std::string& key, size_t* p) {
    if (inner.count(key) != 0) return false;
    if (key != "events" || text.substr(*p, 1) != "[") return ReadValue(text, p, &inner[key]);
    inner[key] = Json::array();
    return ReadEventsInPlace(text, p, events);
  });
}

// The fast way: the events of `member`.events read one by one in place (sync/event.h's
// ReadEventPrefix), the rest of the message parsed value by value. nullopt for any text it
// does not expect (white space, a repeated key, an event it cannot read that way), which
// then is parsed whole, as before.
std::optional<DecodedFrame> SplitFrame(std::string_view text, std::string_view member) {
  if (common::JsonNestingDepth(text) > common::kMaxJsonDepth) return std::nullopt;  // ParseJson's refusal
  DecodedFrame out;
  out.message = Json::object();
  auto& message = out.message.get_ref<Json::object_t&>();
  size_t at = 0;
  bool ok = WalkObject(text, &at, [&](const std::string& key, size_t* pos) {
    if (message.count(key) != 0) return false;
    if (key != member || text.substr(*pos, 1) != "{") return ReadValue(text, pos, &message[key]);
    return ReadMemberWithEvents(text, pos, &message[key], &out.events);
  });
  if (!ok || at != text.size()) return std::nullopt;
  out.read_in_place = true;
  return out;
}

}  // namespace

common::Result<common::Json> DecodeFrame(std::string_view frame) {
  DAIBAN_ASSIGN_OR_RETURN(std::string text, Inflate(frame));
  return ParseMessage(text);
}

common::Result<DecodedFrame> DecodeFrameWithEvents(std::string_view frame, std::string_view member) {
  DAIBAN_ASSIGN_OR_RETURN(std::string text, Inflate(frame));
  if (std::optional<DecodedFrame> fast = SplitFrame(text, member)) return std::move(*fast);
  DecodedFrame out;
  DAIBAN_ASSIGN_OR_RETURN(out.message, ParseMessage(text));
  auto& message = out.message.get_ref<Json::object_t&>();
  auto m = message.find(std::string(member));
  if (m == message.end() || !m->second.is_object()) return out;
  auto& inner = m->second.get_ref<Json::object_t&>();
  auto events = inner.find("events");
  if (events == inner.end() || !events->second.is_array()) return out;
  for (Json& ej : events->second.get_ref<Json::array_t&>()) {
    FrameEvent fe{common::Status(common::StatusCode::kInternal, "unset"), "", ""};
    if (ej.is_object()) {
      if (auto id = ej.find("id"); id != ej.end() && id->is_string()) fe.id = id->get<std::string>();
      if (auto c = ej.find("case"); c != ej.end() && c->is_string()) fe.case_id = c->get<std::string>();
    }
    fe.event = EventFromJson(std::move(ej));
    out.events.push_back(std::move(fe));
  }
  events->second = Json::array();
  return out;
}

}  // namespace daiban::sync
