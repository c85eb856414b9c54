// The only thing sync/ needs from a network: send a request frame to the parent and get
// the reply frame back. The programs implement it over HTTPS (node/); tests and the
// simulator implement it in memory, with faults.
#ifndef DAIBAN_SYNC_TRANSPORT_H_
#define DAIBAN_SYNC_TRANSPORT_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace daiban::sync {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request frame and returns the reply frame. kUnavailable when the peer
  // cannot be reached or the exchange was cut (the request may or may not have been
  // applied: the protocol makes a retry safe).
  virtual common::Result<std::string> RoundTrip(std::string_view request) = 0;
};

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_TRANSPORT_H_
