// Node certificates (common/pki.h) and mutual TLS (common/tls.h), with a CA made by the
// real ops/pki.sh.
#include "common/pki.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/tls.h"

namespace daiban::common {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// A refused TLS connection must fail the request, not kill the test with SIGPIPE.
const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int64_t Now() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// A city CA and hub certificate made by ops/pki.sh in a fresh directory.
fs::path MakeCity(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("daiban_pki_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string script = std::string(DAIBAN_SOURCE_DIR) + "/ops/pki.sh";
  std::string cmd = script + " ca " + dir.string() + " >/dev/null && " + script + " hub " + dir.string() +
                    " --region 210900000000 >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

CertAuthority LoadCa(const fs::path& dir) {
  auto ca = CertAuthority::FromPem(Slurp(dir / "ca.crt"), Slurp(dir / "ca.key"));
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return ca.ok() ? *ca : CertAuthority();
}

NodeCredential Village(int64_t serial = 7) {
  return {"v210921100202", "210921100202", Tier::kVillage, 0, serial};
}

// Writes a node key and a certificate issued by `ca` into dir/<stem>.key and .crt.
void IssueNode(const CertAuthority& ca, const fs::path& dir, const std::string& stem, const NodeCredential& who,
               int64_t not_before, int64_t not_after) {
  auto key = NewPrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsrPem(*key, who.node_id, {"127.0.0.1"});
  ASSERT_TRUE(csr.ok()) << csr.status().ToString();
  auto cert = ca.Issue(*csr, who, not_before, not_after);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  Spit(dir / (stem + ".key"), *key);
  Spit(dir / (stem + ".crt"), *cert);
}

TEST(PkiTest, IssuedCertificateCarriesTheIdentityAndVerifiesAgainstItsCaOnly) {
  fs::path city = MakeCity("a"), other = MakeCity("b");
  CertAuthority ca = LoadCa(city);
  auto key = NewPrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsrPem(*key, "t210921100", {"127.0.0.1", "town.example"});
  ASSERT_TRUE(csr.ok());
  auto req = ReadCsr(*csr);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->node_id, "t210921100");
  EXPECT_EQ(req->hosts, (std::vector<std::string>{"127.0.0.1", "town.example"}));

  NodeCredential who{"t210921100", "210921100000", Tier::kTownship, 0, 42};
  auto cert = ca.Issue(*csr, who, Now() - 60, Now() + 3600);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  auto info = VerifyNodeCert(Slurp(city / "ca.crt"), *cert, Now());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->identity.node_id, "t210921100");
  EXPECT_EQ(info->identity.region, "210921100000");
  EXPECT_EQ(info->identity.tier, Tier::kTownship);
  EXPECT_EQ(info->identity.serial, 42);
  EXPECT_EQ(info->hosts, (std::vector<std::string>{"127.0.0.1", "town.example"}));

  auto expired = VerifyNodeCert(Slurp(city / "ca.crt"), *cert, Now() + 7200);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos) << expired.status().message();
  auto foreign = VerifyNodeCert(Slurp(other / "ca.crt"), *cert, Now());
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("issuer"), std::string::npos) << foreign.status().message();
  // The hub's certificate from ops/pki.sh carries the hub's identity too.
  auto hub = VerifyNodeCert(Slurp(city / "ca.crt"), Slurp(city / "hub.crt"), Now());
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  EXPECT_EQ(hub->identity.node_id, "hub");
  EXPECT_EQ(hub->identity.tier, Tier::kCity);
  fs::remove_all(city);
  fs::remove_all(other);
}

TEST(PkiTest, BadRequestsAreRefusedWithClearErrors) {
  fs::path city = MakeCity("c");
  CertAuthority ca = LoadCa(city);
  auto key = NewPrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsrPem(*key, "v210921100202", {});
  ASSERT_TRUE(csr.ok());
  // A CSR for another node than the enrolment names.
  auto wrong = ca.Issue(*csr, {"v210921100203", "210921100203", Tier::kVillage, 0, 1}, Now(), Now() + 60);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("asks for node 'v210921100202'"), std::string::npos);
  // A CSR altered after signing.
  std::string tampered = *csr;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ReadCsr(tampered).ok());
  EXPECT_FALSE(ReadCsr("not a csr").ok());
  EXPECT_FALSE(ReadCsr(std::string(70000, 'x')).ok());
  // Host names that would inject other names into the certificate.
  EXPECT_FALSE(MakeCsrPem(*key, "v1", {"a,URI:urn:daiban:node:hub:city:210900000000"}).ok());
  // The CA key must match the CA certificate.
  fs::path other = MakeCity("d");
  auto mismatched = CertAuthority::FromPem(Slurp(city / "ca.crt"), Slurp(other / "ca.key"));
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not match"), std::string::npos);
  // A node certificate is not a CA.
  EXPECT_FALSE(CertAuthority::FromPem(Slurp(city / "hub.crt"), Slurp(city / "hub.key")).ok());
  fs::remove_all(city);
  fs::remove_all(other);
}

TEST(PkiTest, ProofOfPossessionVerifiesOnlyWithTheCertificatesKey) {
  fs::path city = MakeCity("e");
  CertAuthority ca = LoadCa(city);
  IssueNode(ca, city, "node", Village(), Now() - 60, Now() + 3600);
  auto sig = SignWithKey(Slurp(city / "node.key"), "renew me");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(VerifyWithCert(Slurp(city / "node.crt"), "renew me", *sig));
  EXPECT_FALSE(VerifyWithCert(Slurp(city / "node.crt"), "renew you", *sig));
  EXPECT_FALSE(VerifyWithCert(Slurp(city / "hub.crt"), "renew me", *sig));
  fs::remove_all(city);
}

// A TLS server on loopback answering GET /who with the client certificate's node id.
class TlsServerTest : public ::testing::Test {
 protected:
  void Start(bool require, CertCheck check = nullptr) {
    city_ = MakeCity("tls");
    ca_ = LoadCa(city_);
    auto server = MakeTlsServer({(city_ / "hub.crt").string(), (city_ / "hub.key").string(), (city_ / "ca.crt").string()},
                                require, std::move(check));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    Route();
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 200 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void Route() {
    server_->Get("/who", [](const httplib::Request& req, httplib::Response& res) {
      auto who = ClientCertOf(req);
      res.status = who.ok() ? 200 : 403;
      res.set_content(who.ok() ? who->identity.node_id : who.status().message(), "text/plain");
    });
    server_->Get("/session", [](const httplib::Request& req, httplib::Response& res) {
      auto who = ClientCertOf(req);
      res.status = who.ok() ? 200 : 403;
      std::string how = req.ssl && SSL_session_reused(req.ssl) == 1 ? "resumed " : "full ";
      res.set_content(how + (who.ok() ? who->identity.node_id + " " + std::to_string(who->identity.serial)
                                      : who.status().message()),
                      "text/plain");
    });
    server_->Get("/sent", [](const httplib::Request& req, httplib::Response& res) {
      // On the server side the peer's chain excludes its leaf: what the client sent besides it.
      STACK_OF(X509)* chain = req.ssl ? SSL_get_peer_cert_chain(req.ssl) : nullptr;
      res.set_content(std::to_string(chain ? sk_X509_num(chain) : -1), "text/plain");
    });
  }
  void TearDown() override {
    Stop();
    fs::remove_all(city_);
  }
  void Stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  // The same server started again on the same port: it has forgotten every session.
  void Restart(bool require) {
    Stop();
    auto server = MakeTlsServer({(city_ / "hub.crt").string(), (city_ / "hub.key").string(), (city_ / "ca.crt").string()},
                                require, nullptr);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    Route();
    ASSERT_TRUE(server_->bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 200 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // GET /who as the node whose files are dir/<stem>.crt/.key ("" = no client certificate).
  httplib::Result Who(const std::string& stem, const fs::path& ca_dir = {}) {
    TlsFiles files{stem.empty() ? "" : (city_ / (stem + ".crt")).string(),
                   stem.empty() ? "" : (city_ / (stem + ".key")).string(),
                   ((ca_dir.empty() ? city_ : ca_dir) / "ca.crt").string()};
    auto client = MakeTlsClient("https://127.0.0.1:" + std::to_string(port_), files);
    client->set_connection_timeout(5, 0);
    return client->Get("/who");
  }

  // GET /session as dir/<stem>.crt through `resume`: "full|resumed <node> <serial>" or 403.
  std::string Session(const std::string& stem, TlsResumption* resume) {
    TlsFiles files{(city_ / (stem + ".crt")).string(), (city_ / (stem + ".key")).string(), (city_ / "ca.crt").string()};
    auto client = MakeTlsClient("https://127.0.0.1:" + std::to_string(port_), files, resume);
    client->set_connection_timeout(5, 0);
    auto r = client->Get("/session");
    if (!r) return "no reply: " + httplib::to_string(r.error());
    return (r->status == 200 ? "" : std::to_string(r->status) + " ") + r->body;
  }

  fs::path city_;
  CertAuthority ca_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(TlsServerTest, AValidCertificateIdentifiesTheNode) {
  Start(true);
  IssueNode(ca_, city_, "good", Village(), Now() - 60, Now() + 3600);
  auto r = Who("good");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "v210921100202");
}

TEST_F(TlsServerTest, NoExpiredOrForeignCertificateGetsThrough) {
  Start(true);
  IssueNode(ca_, city_, "expired", Village(), Now() - 7200, Now() - 3600);
  EXPECT_FALSE(Who("expired")) << "an expired certificate was accepted";
  EXPECT_FALSE(Who("")) << "a handshake without a certificate was accepted";
  fs::path other = MakeCity("foreign");
  CertAuthority foreign = LoadCa(other);
  IssueNode(foreign, city_, "foreign", Village(), Now() - 60, Now() + 3600);
  EXPECT_FALSE(Who("foreign")) << "a certificate from another CA was accepted";
  fs::remove_all(other);
}

TEST_F(TlsServerTest, OptionalClientCertificateLeavesHandlersWithoutIdentity) {
  Start(false);
  auto r = Who("");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("no client certificate"), std::string::npos);
  // A certificate that is presented must still verify.
  IssueNode(ca_, city_, "expired", Village(), Now() - 7200, Now() - 3600);
  EXPECT_FALSE(Who("expired"));
}

TEST_F(TlsServerTest, TheCheckRefusesRevokedSerials) {
  Start(true, [](const NodeCredential& c) {
    return c.serial == 7 ? PermissionDenied("revoked") : Status::Ok();
  });
  IssueNode(ca_, city_, "revoked", Village(7), Now() - 60, Now() + 3600);
  IssueNode(ca_, city_, "current", Village(8), Now() - 60, Now() + 3600);
  EXPECT_FALSE(Who("revoked"));
  auto r = Who("current");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
}

TEST_F(TlsServerTest, TheClientRefusesAServerFromAnotherCity) {
  Start(true);
  IssueNode(ca_, city_, "good", Village(), Now() - 60, Now() + 3600);
  fs::path other = MakeCity("otherca");
  EXPECT_FALSE(Who("good", other)) << "the client trusted a server its CA did not sign";
  fs::remove_all(other);
}

// A resumed session sends no certificate, so the server checks on each request what the
// full handshake checked: the certificate's validity and the CertCheck (revocation).
TEST_F(TlsServerTest, TheNextConnectionResumesAndIsStillCheckedForRevocation) {
  std::atomic<bool> revoked{false};
  Start(true, [&revoked](const NodeCredential& c) {
    return revoked && c.serial == 3 ? PermissionDenied("node retired") : Status::Ok();
  });
  IssueNode(ca_, city_, "good", Village(3), Now() - 60, Now() + 3600);
  TlsResumption resume;
  EXPECT_EQ(Session("good", &resume), "full v210921100202 3");
  EXPECT_TRUE(resume.has_session()) << "the server's ticket was not kept";
  EXPECT_EQ(Session("good", &resume), "resumed v210921100202 3");
  EXPECT_EQ(Session("good", &resume), "resumed v210921100202 3") << "a resumed handshake brings the next ticket";
  EXPECT_EQ(Session("good", nullptr), "full v210921100202 3") << "a client without resumption resumed";
  revoked = true;
  EXPECT_EQ(resume.full_handshakes(), 1);
  EXPECT_EQ(resume.resumed_handshakes(), 2);
  EXPECT_EQ(Session("good", &resume), "403 resumed node retired");
  resume.Forget();
  EXPECT_FALSE(resume.has_session());
  EXPECT_NE(Session("good", &resume).find("no reply"), std::string::npos) << "the full handshake let a retired node in";
}

TEST_F(TlsServerTest, ARenewedCertificateOrAnOldSessionLineMakesAFullHandshake) {
  Start(true);
  IssueNode(ca_, city_, "node", Village(4), Now() - 60, Now() + 3600);
  TlsResumption resume;
  EXPECT_EQ(Session("node", &resume), "full v210921100202 4");
  // Renewal writes the certificate file anew: the old session (serial 4) is not offered.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a different mtime
  IssueNode(ca_, city_, "node", Village(5), Now() - 60, Now() + 3600);
  EXPECT_EQ(Session("node", &resume), "full v210921100202 5");
  EXPECT_EQ(Session("node", &resume), "resumed v210921100202 5");
  // A server that restarted has forgotten the session the client offers: a full handshake.
  Restart(true);
  EXPECT_EQ(Session("node", &resume), "full v210921100202 5");
  EXPECT_EQ(Session("node", &resume), "resumed v210921100202 5");
  // With no age allowed, every handshake is a full one.
  TlsResumption never(/*max_full_age_s=*/0);
  EXPECT_EQ(Session("node", &never), "full v210921100202 5");
  EXPECT_EQ(Session("node", &never), "full v210921100202 5");
}

TEST_F(TlsServerTest, AResumedSessionDoesNotOutliveItsCertificate) {
  Start(true);
  IssueNode(ca_, city_, "short", Village(6), Now() - 60, Now() + 2);
  TlsResumption resume;
  EXPECT_EQ(Session("short", &resume), "full v210921100202 6");
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  std::string got = Session("short", &resume);
  EXPECT_EQ(got.rfind("403 resumed certificate expired", 0), 0u) << got;
}

// What a handshake costs on the wire is mostly certificates and tickets (docs/BENCHMARKS.md:
// a no-op sync went from 5.65 KB to 3.06 KB without them). Each side sends its own
// certificate only, and the server's one ticket is the session's id, not the session.
int g_sessions_offered = 0;
size_t g_ticket_bytes = 0;

TEST_F(TlsServerTest, EachSideSendsOnlyItsOwnCertificateAndTheTicketIsSmall) {
  Start(true);
  IssueNode(ca_, city_, "good", Village(), Now() - 60, Now() + 3600);
  // The product's client: the server sees the client's leaf and nothing else.
  auto sent = Who("good");
  ASSERT_TRUE(sent) << httplib::to_string(sent.error());
  TlsFiles files{(city_ / "good.crt").string(), (city_ / "good.key").string(), (city_ / "ca.crt").string()};
  auto client = MakeTlsClient("https://127.0.0.1:" + std::to_string(port_), files);
  auto r = client->Get("/sent");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->body, "0") << "the client sent the CA certificate along with its own";

  // A plain OpenSSL client that would take tickets: it sees one certificate from the server
  // and is offered no session.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_TRUE(ctx);
  ASSERT_EQ(SSL_CTX_use_certificate_file(ctx.get(), files.cert.c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr), 1);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  g_sessions_offered = 0;
  SSL_CTX_sess_set_new_cb(ctx.get(), [](SSL*, SSL_SESSION* s) {
    ++g_sessions_offered;
    const unsigned char* ticket = nullptr;
    SSL_SESSION_get0_ticket(s, &ticket, &g_ticket_bytes);
    return 0;
  });
  BIO* bio = BIO_new_ssl_connect(ctx.get());
  ASSERT_TRUE(bio);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> own(bio, BIO_free_all);
  std::string target = "127.0.0.1:" + std::to_string(port_);
  BIO_set_conn_hostname(bio, target.c_str());
  ASSERT_EQ(BIO_do_handshake(bio), 1);
  SSL* ssl = nullptr;
  BIO_get_ssl(bio, &ssl);
  ASSERT_TRUE(ssl);
  EXPECT_EQ(SSL_get_verify_result(ssl), X509_V_OK);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);  // client side: includes the leaf
  ASSERT_TRUE(chain);
  EXPECT_EQ(sk_X509_num(chain), 1) << "the server sent the CA certificate along with its own";
  const std::string get = "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(BIO_write(bio, get.data(), static_cast<int>(get.size())), static_cast<int>(get.size()));
  std::string reply;
  char buf[4096];
  for (int n; (n = BIO_read(bio, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  EXPECT_NE(reply.find("v210921100202"), std::string::npos) << reply.substr(0, 200);
  EXPECT_EQ(g_sessions_offered, 1) << "the server should issue one ticket a handshake";
  EXPECT_GT(g_ticket_bytes, 0u);
  EXPECT_LE(g_ticket_bytes, 64u) << "a stateless ticket (the encrypted session, ~780 bytes with the client certificate)";
}

}  // namespace
}  // namespace daiban::common
