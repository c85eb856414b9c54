// HTTPS with mutual TLS for sync between nodes (cpp-httplib over OpenSSL 3).
//
// A node that serves children (and the hub) runs one TLS listener for /sync; clients
// present the certificate the hub issued them (common/pki.h) and check the server's
// certificate and host name against the city CA. TLS 1.2 is the minimum.
#ifndef DAIBAN_COMMON_TLS_H_
#define DAIBAN_COMMON_TLS_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/pki.h"
#include "common/status.h"

struct ssl_session_st;  // OpenSSL's SSL_SESSION

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

// The verified client certificate of a request on a MakeTlsServer listener. On a resumed
// session (no certificate was verified in this handshake) it is checked again: still
// within its validity, and accepted by the server's CertCheck.
// kPermissionDenied "no client certificate: ..." on a plain or certificate-less connection;
// "certificate expired ..." or the check's own refusal on a resumed one.
Result<CertInfo> ClientCertOf(const httplib::Request& req);

// Binds `server` to `host_port` ("host:port"); `setting` names the configuration key in
// errors. kInvalidArgument "<setting>: expected host:port", kUnavailable "cannot listen on
// ... (in use, or not this machine's address)".
Status BindListener(httplib::Server& server, const std::string& host_port, std::string_view setting);

// A client's last TLS session with its server, kept so that the next connection resumes it
// (TLS 1.3 with a pre-shared key from the server's one small ticket): neither side sends its
// certificate again, which is most of a no-op sync's bytes (docs/BENCHMARKS.md). A session
// is used once; each resumed handshake brings the next. Nothing is offered, so the next
// handshake is a full one (both certificates verified again), when:
//  - it is another server (URL), or this node's certificate file changed (renewed);
//  - the last full handshake is max_full_age_s old or older;
//  - Forget() was called (the caller does after a failed exchange).
// The server checks revocation and expiry on resumed sessions too (ClientCertOf).
// Thread-safe; in memory only.
class TlsResumption {
 public:
  explicit TlsResumption(int64_t max_full_age_s = 3600) : max_full_age_s_(max_full_age_s) {}
  ~TlsResumption();
  TlsResumption(const TlsResumption&) = delete;
  TlsResumption& operator=(const TlsResumption&) = delete;

  void Forget();
  bool has_session() const;
  // Handshakes made by clients using this, by kind.
  int64_t full_handshakes() const;
  int64_t resumed_handshakes() const;

  // For MakeTlsClient's OpenSSL callbacks.
  void Keep(ssl_session_st* session, bool resumed);  // takes the reference
  ssl_session_st* Take();                             // the caller owns the reference; may be null
  void Count(bool resumed);
  void Bind(const std::string& url, const std::string& cert_path);

 private:
  const int64_t max_full_age_s_;
  mutable std::mutex mu_;
  std::string url_, cert_path_;
  int64_t cert_mtime_ns_ = -1;
  int64_t full_at_s_ = 0;  // when the last full handshake of this session line was made
  int64_t full_ = 0, resumed_ = 0;
  ssl_session_st* session_ = nullptr;
};

// A client for an "https://host:port" URL presenting files.cert/key (both may be empty:
// no client certificate), verifying the server against files.ca and its host name. With
// `resume` (which must outlive the client), it resumes the session `resume` holds and keeps
// the one the server gives.
std::unique_ptr<httplib::Client> MakeTlsClient(const std::string& url, const TlsFiles& files,
                                               TlsResumption* resume = nullptr);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_TLS_H_
