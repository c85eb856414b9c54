#include "node/http_transport.h"

#include <httplib.h>

namespace daiban::node {

common::Result<std::string> HttpTransport::RoundTrip(std::string_view request) {
  if (lock_) lock_->unlock();
  httplib::Client client(url_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(120, 0);
  client.set_write_timeout(120, 0);
  httplib::Headers headers = {{kNodeHeader, node_id_}, {"Authorization", "Bearer " + credential_}};
  auto res = client.Post(kSyncPath, headers, std::string(request), "application/octet-stream");
  if (lock_) lock_->lock();
  if (!res) return common::Unavailable("cannot reach " + url_ + ": " + httplib::to_string(res.error()));
  bytes_sent_ += static_cast<int64_t>(request.size());
  bytes_received_ += static_cast<int64_t>(res->body.size());
  if (res->body.rfind("DBZ1", 0) != 0) {
    return common::Unavailable(url_ + " answered HTTP " + std::to_string(res->status) +
                               " without a sync reply (is it a Daiban node?)");
  }
  return std::move(res->body);
}

}  // namespace daiban::node
