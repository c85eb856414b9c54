#include "node/http_transport.h"

#include <httplib.h>

namespace daiban::node {

common::Result<std::string> HttpTransport::RoundTrip(std::string_view request) {
  if (lock_) lock_->unlock();
  const bool tls = url_.rfind("https://", 0) == 0;
  auto client = tls ? common::MakeTlsClient(url_, tls_, resume_) : std::make_unique<httplib::Client>(url_);
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(timeout_s_, 0);
  client->set_write_timeout(timeout_s_, 0);
  httplib::Headers headers = {{kNodeHeader, node_id_}};
  if (!tls) headers.emplace("Authorization", "Bearer " + credential_);
  auto res = client->Post(kSyncPath, headers, std::string(request), "application/octet-stream");
  if (lock_) lock_->lock();
  // After anything but a sync reply, the next exchange starts with a full handshake.
  if (resume_ && (!res || res->status != 200)) resume_->Forget();
  if (!res) {
    std::string why = httplib::to_string(res.error());
    if (res.error() == httplib::Error::SSLServerVerification) {
      why += " (the parent's certificate is not from this city's CA, or not for this host)";
    } else if (res.error() == httplib::Error::SSLConnection) {
      why += " (TLS handshake refused: is this node's certificate expired, revoked or from another CA?)";
    }
    return common::Unavailable("cannot reach " + url_ + ": " + why);
  }
  bytes_sent_ += static_cast<int64_t>(request.size());
  bytes_received_ += static_cast<int64_t>(res->body.size());
  if (res->body.rfind("DBZ1", 0) != 0) {
    return common::Unavailable(url_ + " answered HTTP " + std::to_string(res->status) +
                               " without a sync reply (is it a Daiban node?)");
  }
  return std::move(res->body);
}

}  // namespace daiban::node
