#include "common/tls.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <mutex>

namespace daiban::common {

namespace {

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The server's own certificate and key, re-read when the certificate file changes, and
// the check on clients' certificates. Shared by the SSL_CTX callbacks.
struct ServerTlsState {
  TlsFiles files;
  CertCheck check;
  std::mutex mu;
  int64_t loaded_mtime_ns = -1;
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;

  // Loads (or reloads, if the file changed) the certificate and key. REQUIRES: mu held.
  Status LoadLocked() {
    int64_t mtime = MtimeNs(files.cert);
    if (cert && mtime == loaded_mtime_ns) return Status::Ok();
    FILE* cf = std::fopen(files.cert.c_str(), "r");
    if (!cf) return InvalidArgument("tls: cannot read certificate " + files.cert);
    std::shared_ptr<X509> c(PEM_read_X509(cf, nullptr, nullptr, nullptr), X509_free);
    std::fclose(cf);
    FILE* kf = std::fopen(files.key.c_str(), "r");
    if (!kf) return InvalidArgument("tls: cannot read key " + files.key);
    std::shared_ptr<EVP_PKEY> k(PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr), EVP_PKEY_free);
    std::fclose(kf);
    if (!c || !k || X509_check_private_key(c.get(), k.get()) != 1) {
      ERR_clear_error();
      // During a renewal the certificate and key files are replaced one after the other:
      // keep serving with the pair already loaded.
      if (cert) return Status::Ok();
      return InvalidArgument("tls: " + files.cert + " and " + files.key + " are not a matching certificate and key");
    }
    cert = std::move(c);
    key = std::move(k);
    loaded_mtime_ns = mtime;
    return Status::Ok();
  }
};

int StateIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

ServerTlsState* StateOf(const SSL* ssl) {
  return static_cast<ServerTlsState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), StateIndex()));
}

// Sets this connection's certificate from the (possibly renewed) files.
int CertCallback(SSL* ssl, void* arg) {
  auto* state = static_cast<ServerTlsState*>(arg);
  std::lock_guard<std::mutex> lock(state->mu);
  if (!state->LoadLocked().ok()) return 0;
  return SSL_use_certificate(ssl, state->cert.get()) == 1 && SSL_use_PrivateKey(ssl, state->key.get()) == 1 ? 1 : 0;
}

// After OpenSSL's own chain and time checks: the leaf must carry a node identity that the
// caller's check (registry, revocation) accepts.
int VerifyCallback(int preverify_ok, X509_STORE_CTX* ctx) {
  if (!preverify_ok) return 0;
  if (X509_STORE_CTX_get_error_depth(ctx) != 0) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  ServerTlsState* state = ssl ? StateOf(ssl) : nullptr;
  auto info = ReadNodeCert(X509_STORE_CTX_get_current_cert(ctx));
  if (!info.ok()) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (state && state->check && !state->check(info->identity).ok()) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
    return 0;
  }
  return 1;
}

// Each side sends its own certificate only, not the city CA's: every peer has the CA
// certificate already (it is what the peer verifies against), so sending it only costs
// ~500 bytes a handshake in each direction. Node certificates are issued by the city CA
// directly (common/pki.h): there is no intermediate to send.
void TrimHandshake(SSL_CTX* ctx) { SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN); }

class TlsServer : public httplib::SSLServer {
 public:
  TlsServer(std::shared_ptr<ServerTlsState> state, bool require)
      : httplib::SSLServer([state, require](SSL_CTX& ctx) { return Setup(&ctx, state.get(), require); }),
        state_(std::move(state)) {}

 private:
  static bool Setup(SSL_CTX* ctx, ServerTlsState* state, bool require) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return false;
    if (SSL_CTX_load_verify_locations(ctx, state->files.ca.c_str(), nullptr) != 1) return false;
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(state->files.ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_ex_data(ctx, StateIndex(), state);
    SSL_CTX_set_cert_cb(ctx, CertCallback, state);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), VerifyCallback);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    TrimHandshake(ctx);
    // Session resumption with stateful tickets: the server keeps each session (and the
    // client certificate it verified) in memory and sends one ticket holding only the
    // session's id, not a stateless ticket (~780 bytes: the encrypted session with the
    // client's certificate). A resumed session skips VerifyCallback, so ClientCertOf checks
    // the certificate's expiry and the CertCheck again on it.
    static const unsigned char kSessionContext[] = "daiban-sync";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);  // TLS 1.3: stateful tickets; TLS 1.2: session ids
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, 4096);  // the oldest go first; a township has tens of children
    SSL_CTX_set_timeout(ctx, 3600);
    return true;
  }
  std::shared_ptr<ServerTlsState> state_;  // outlives the SSL_CTX that points to it
};

}  // namespace

Result<std::unique_ptr<httplib::Server>> MakeTlsServer(const TlsFiles& files, bool require_client_cert,
                                                       CertCheck check) {
  auto state = std::make_shared<ServerTlsState>();
  state->files = files;
  state->check = std::move(check);
  {
    std::lock_guard<std::mutex> lock(state->mu);
    DAIBAN_RETURN_IF_ERROR(state->LoadLocked());
  }
  FILE* caf = std::fopen(files.ca.c_str(), "r");
  if (!caf) return InvalidArgument("tls: cannot read the city CA certificate " + files.ca);
  std::fclose(caf);
  auto server = std::make_unique<TlsServer>(state, require_client_cert);
  if (!server->is_valid()) {
    ERR_clear_error();
    return InvalidArgument("tls: OpenSSL could not set up the server with CA " + files.ca);
  }
  return std::unique_ptr<httplib::Server>(std::move(server));
}

Result<CertInfo> ClientCertOf(const httplib::Request& req) {
  const SSL* ssl = req.ssl;
  X509* cert = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
    return PermissionDenied("no client certificate: sync needs the node's certificate from enrolment "
                            "(daiban-node init --enrol-code)");
  }
  auto info = ReadNodeCert(cert);
  if (!info.ok()) return PermissionDenied(info.status().message());
  if (SSL_session_reused(ssl) == 1) {
    // Verified at an earlier handshake of this session line: is it still good now?
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
      return PermissionDenied("certificate expired: node " + info->identity.node_id +
                              " must renew (daiban-node renews before each sync while a third of its life is left)");
    }
    ServerTlsState* state = StateOf(ssl);
    if (state && state->check) {
      if (Status st = state->check(info->identity); !st.ok()) return PermissionDenied(st.message());
    }
  }
  return info;
}

Status BindListener(httplib::Server& server, const std::string& host_port, std::string_view setting) {
  size_t colon = host_port.rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(host_port.c_str() + colon + 1);
  if (port <= 0) return InvalidArgument(std::string(setting) + ": expected host:port");
  // Replies go out as soon as they are written: with Nagle's algorithm a reply's second
  // small write waits for the client's delayed ACK (about 40 ms on every keep-alive request).
  server.set_tcp_nodelay(true);
  if (!server.bind_to_port(host_port.substr(0, colon).c_str(), port)) {
    return Unavailable("cannot listen on " + host_port + " (in use, or not this machine's address)");
  }
  return Status::Ok();
}

TlsResumption::~TlsResumption() { SSL_SESSION_free(session_); }

void TlsResumption::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  SSL_SESSION_free(session_);
  session_ = nullptr;
}

bool TlsResumption::has_session() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_ != nullptr;
}

int64_t TlsResumption::full_handshakes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return full_;
}

int64_t TlsResumption::resumed_handshakes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resumed_;
}

void TlsResumption::Count(bool resumed) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(resumed ? resumed_ : full_);
}

void TlsResumption::Bind(const std::string& url, const std::string& cert_path) {
  int64_t mtime = MtimeNs(cert_path);
  std::lock_guard<std::mutex> lock(mu_);
  if (url == url_ && cert_path == cert_path_ && mtime == cert_mtime_ns_) return;
  SSL_SESSION_free(session_);  // another server, or this node's certificate was renewed
  session_ = nullptr;
  url_ = url;
  cert_path_ = cert_path;
  cert_mtime_ns_ = mtime;
}

void TlsResumption::Keep(SSL_SESSION* session, bool resumed) {
  std::lock_guard<std::mutex> lock(mu_);
  SSL_SESSION_free(session_);
  session_ = session;
  if (!resumed) full_at_s_ = static_cast<int64_t>(std::time(nullptr));
}

SSL_SESSION* TlsResumption::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  SSL_SESSION* s = session_;
  session_ = nullptr;
  if (s && static_cast<int64_t>(std::time(nullptr)) - full_at_s_ >= max_full_age_s_) {
    SSL_SESSION_free(s);  // time for a full handshake: both certificates verified afresh
    return nullptr;
  }
  return s;
}

namespace {

int ResumptionIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsResumption* ResumptionOf(const SSL* ssl) {
  return static_cast<TlsResumption*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ResumptionIndex()));
}

// The server's ticket arrived (with the reply): keep it for the next connection.
int KeepSession(SSL* ssl, SSL_SESSION* session) {
  TlsResumption* resume = ResumptionOf(ssl);
  if (!resume) return 0;
  resume->Keep(session, SSL_session_reused(ssl) == 1);
  return 1;  // the reference is now resume's
}

// cpp-httplib makes the SSL and connects in one call, with no hook between: the session
// is set when OpenSSL starts the handshake, before the ClientHello is written.
void OfferSession(const SSL* ssl, int where, int /*ret*/) {
  TlsResumption* resume = SSL_is_server(ssl) ? nullptr : ResumptionOf(ssl);
  if (!resume) return;
  if ((where & SSL_CB_HANDSHAKE_DONE) != 0) resume->Count(SSL_session_reused(ssl) == 1);
  if ((where & SSL_CB_HANDSHAKE_START) == 0 || !SSL_in_before(ssl)) return;
  SSL_SESSION* session = resume->Take();
  if (!session) return;
  SSL_set_session(const_cast<SSL*>(ssl), session);  // OpenSSL passes the connection as const here
  SSL_SESSION_free(session);
}

}  // namespace

std::unique_ptr<httplib::Client> MakeTlsClient(const std::string& url, const TlsFiles& files, TlsResumption* resume) {
  auto client = files.cert.empty() ? std::make_unique<httplib::Client>(url)
                                   : std::make_unique<httplib::Client>(url, files.cert, files.key);
  client->set_ca_cert_path(files.ca);
  client->enable_server_certificate_verification(true);
  client->set_tcp_nodelay(true);  // a request's last segment goes out at once (see BindListener)
  if (SSL_CTX* ctx = client->ssl_context()) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    TrimHandshake(ctx);
    if (resume) {
      resume->Bind(url, files.cert);
      SSL_CTX_set_ex_data(ctx, ResumptionIndex(), resume);
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(ctx, KeepSession);
      SSL_CTX_set_info_callback(ctx, OfferSession);
    }
  }
  return client;
}

}  // namespace daiban::common
