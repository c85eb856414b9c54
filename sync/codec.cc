#include "sync/codec.h"

#include <zlib.h>

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

common::Result<common::Json> DecodeFrame(std::string_view frame) {
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
  DAIBAN_ASSIGN_OR_RETURN(common::Json j, common::ParseJson(out, "sync message"));
  if (!j.is_object()) return common::InvalidArgument("sync message must be a JSON object");
  return j;
}

}  // namespace daiban::sync
