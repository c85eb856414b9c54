// sync::Transport over HTTP(S): one POST /sync per round, the frame as the body, this
// node's identity in the headers. The caller's store lock is released while the request
// is in flight, so local work and children's syncs go on during a slow exchange.
#ifndef DAIBAN_NODE_HTTP_TRANSPORT_H_
#define DAIBAN_NODE_HTTP_TRANSPORT_H_

#include <mutex>
#include <string>

#include "common/tls.h"
#include "sync/transport.h"

namespace daiban::node {

// Header names of a sync request.
inline constexpr const char* kNodeHeader = "X-Daiban-Node";
inline constexpr const char* kSyncPath = "/sync";

class HttpTransport : public sync::Transport {
 public:
  // `timeout_s` bounds each wait for the parent's bytes (a stalled or black-holed link
  // fails after that long instead of holding the sync forever). `lock` (may be null) is held by the caller and released during each exchange. An
  // https:// url uses `tls` (this node's certificate and the city CA); an http:// url
  // (insecure_plain_sync) sends `credential` as a bearer token.
  // `resume` (may be null; must outlive the transport) carries the TLS session from one
  // exchange to the next, and is forgotten after a failed one.
  HttpTransport(std::string url, std::string node_id, std::string credential, std::unique_lock<std::mutex>* lock,
                common::TlsFiles tls = {}, int timeout_s = 120, common::TlsResumption* resume = nullptr)
      : url_(std::move(url)), node_id_(std::move(node_id)), credential_(std::move(credential)), lock_(lock),
        tls_(std::move(tls)), timeout_s_(timeout_s), resume_(resume) {}

  // kUnavailable "cannot reach URL: <why>" when the link is down or cut; a refused request
  // (4xx/5xx) returns the reply frame, which carries the error for the replicator.
  common::Result<std::string> RoundTrip(std::string_view request) override;

  int64_t bytes_sent() const { return bytes_sent_; }
  int64_t bytes_received() const { return bytes_received_; }

 private:
  std::string url_;
  std::string node_id_;
  std::string credential_;
  std::unique_lock<std::mutex>* lock_;
  common::TlsFiles tls_;
  int timeout_s_;
  common::TlsResumption* resume_;
  int64_t bytes_sent_ = 0;
  int64_t bytes_received_ = 0;
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_HTTP_TRANSPORT_H_
