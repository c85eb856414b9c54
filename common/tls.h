// HTTPS with mutual TLS for sync between nodes (cpp-httplib over OpenSSL 3).
//
// A node that serves children (and the hub) runs one TLS listener for /sync; clients
// present the certificate the hub issued them (common/pki.h) and check the server's
// certificate and host name against the city CA. TLS 1.2 is the minimum.
#ifndef DAIBAN_COMMON_TLS_H_
#define DAIBAN_COMMON_TLS_H_

#include <functional>
#include <memory>
#include <string>

#include "common/pki.h"
#include "common/status.h"

namespace httplib {
class Server;
class Client;
struct Request;
}  // namespace httplib

namespace daiban::common {

// Paths of a node's TLS files (DATA/tls/ by default).
struct TlsFiles {
  std::string cert;  // this node's certificate (PEM)
  std::string key;   // its private key (PEM, mode 600)
  std::string ca;    // the city CA certificate (PEM)
};

// Asked about every client certificate that verified against the CA (revocation, the
// registry's current serial). A non-OK answer fails the handshake.
using CertCheck = std::function<Status(const NodeCredential&)>;

// An HTTPS server presenting `files.cert`, re-read when the file changes (a renewed
// certificate is used without a restart), and verifying client certificates against
// `files.ca`. With require_client_cert a handshake without one fails; otherwise it goes
// on and handlers see no identity (ClientCertOf says so). Any presented certificate that
// does not verify (expired, another CA, refused by `check`) fails the handshake.
// kInvalidArgument naming the file if the certificate, key or CA cannot be loaded.
Result<std::unique_ptr<httplib::Server>> MakeTlsServer(const TlsFiles& files, bool require_client_cert,
                                                       CertCheck check);

// The verified client certificate of a request on a MakeTlsServer listener.
// kPermissionDenied "no client certificate: ..." on a plain or certificate-less connection.
Result<CertInfo> ClientCertOf(const httplib::Request& req);

// Binds `server` to `host_port` ("host:port"); `setting` names the configuration key in
// errors. kInvalidArgument "<setting>: expected host:port", kUnavailable "cannot listen on
// ... (in use, or not this machine's address)".
Status BindListener(httplib::Server& server, const std::string& host_port, std::string_view setting);

// A client for an "https://host:port" URL presenting files.cert/key (both may be empty:
// no client certificate), verifying the server against files.ca and its host name.
std::unique_ptr<httplib::Client> MakeTlsClient(const std::string& url, const TlsFiles& files);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_TLS_H_
