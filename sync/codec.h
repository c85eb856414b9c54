// Framing of sync messages: kFrameMagic, then the zlib stream of the message's
// canonical JSON (sync/protocol.h, docs/PROTOCOL.md §2).
#ifndef DAIBAN_SYNC_CODEC_H_
#define DAIBAN_SYNC_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "sync/event.h"

namespace daiban::sync {

// Frames a message. Never fails for a JSON value.
std::string EncodeFrame(const common::Json& message);
// Frames `message` with `events` (each an event's canonical JSON, as stored) as the array
// of its one "events" key, which must hold [] in `message`: the stored bytes go into the
// frame as they are, not parsed into a DOM and written out again (that was most of a
// pushing child's time). The frame is the same as EncodeFrame of the whole message.
// kInternal if `message` has no single empty "events"; kDataLoss if an event is not a
// JSON object's text.
common::Result<std::string> EncodeFrameWithEvents(const common::Json& message,
                                                  const std::vector<std::string_view>& events);

// The same with each event's text taken from a stored row's `bytes` (sync::StoredEvent,
// kept out of this header so the codec does not depend on the store).
template <typename Rows>
common::Result<std::string> EncodeFrameWithRows(const common::Json& message, const Rows& rows) {
  std::vector<std::string_view> texts;
  texts.reserve(rows.size());
  for (const auto& r : rows) texts.push_back(r.bytes);
  return EncodeFrameWithEvents(message, texts);
}

// Unframes a message. Errors, each refusing the whole frame:
//   kResourceExhausted  frame over kMaxFrameBytes, or inflating past kMaxMessageBytes
//   kInvalidArgument    wrong magic; truncated or corrupt compressed data; malformed
//                       JSON; not a JSON object
common::Result<common::Json> DecodeFrame(std::string_view frame);

// One event of a decoded frame: decoded and checked (EventFromJson's rules and messages), or
// why not; and its "id" and "case" as sent, if they were strings, to name a refused one.
struct FrameEvent {
  common::Result<Event> event;
  std::string id;
  std::string case_id;
};
struct DecodedFrame {
  common::Json message;  // with `<member>.events`, where it was an array, left empty
  std::vector<FrameEvent> events;
  bool read_in_place = false;  // the events were read from the text (the fast way), not from a tree
};
// DecodeFrame, with the events of `member`.events ("push" in a request, "pull" in a reply)
// decoded one by one: where the message is written as nodes write it (compact), each event
// is read in place from the text and keeps the text as its canonical bytes (no JSON tree of
// the event, no second writing of it); otherwise the message is parsed whole as DecodeFrame
// does. The same errors as DecodeFrame; the same events and verdicts either way.
common::Result<DecodedFrame> DecodeFrameWithEvents(std::string_view frame, std::string_view member);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_CODEC_H_
