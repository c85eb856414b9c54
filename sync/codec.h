// Framing of sync messages: kFrameMagic, then the zlib stream of the message's
// canonical JSON (sync/protocol.h, docs/PROTOCOL.md §2).
#ifndef DAIBAN_SYNC_CODEC_H_
#define DAIBAN_SYNC_CODEC_H_

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"

namespace daiban::sync {

// Frames a message. Never fails for a JSON value.
std::string EncodeFrame(const common::Json& message);

// Unframes a message. Errors, each refusing the whole frame:
//   kResourceExhausted  frame over kMaxFrameBytes, or inflating past kMaxMessageBytes
//   kInvalidArgument    wrong magic; truncated or corrupt compressed data; malformed
//                       JSON; not a JSON object
common::Result<common::Json> DecodeFrame(std::string_view frame);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_CODEC_H_
