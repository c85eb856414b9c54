// Node certificates: the city's X.509 PKI for mutual TLS between nodes.
//
// ops/pki.sh (OpenSSL CLI) makes the city CA and the hub's server certificate. The hub
// holds the CA key and signs each node's certificate from a CSR the node made with its
// own key (the key never leaves the node). A node certificate binds, in its
// subjectAltName, the URI
//
//   urn:daiban:node:<node_id>:<tier>:<region>     e.g. urn:daiban:node:v210921100202:village:210921100202
//
// and its serial number is the hub registry's serial for that node (a renewal or a new
// enrolment gets the next serial, so the hub refuses the older certificate). The subject
// CN is the node id; DNS/IP subjectAltNames are the host names the node asked for in its
// CSR (what children dial when it serves them). Identity and jurisdiction are read from
// the URI of a certificate that verified against the city CA, never from a request.
//
// All PEM inputs are limited to 64 KiB. No error message contains key material.
#ifndef DAIBAN_COMMON_PKI_H_
#define DAIBAN_COMMON_PKI_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/credential.h"
#include "common/status.h"

typedef struct x509_st X509;  // <openssl/types.h>

namespace daiban::common {

inline constexpr std::string_view kNodeUriPrefix = "urn:daiban:node:";

// What a node certificate says, besides the identity fields of NodeCredential
// (node_id, region, tier, serial; issued_ms = notBefore in ms).
struct CertInfo {
  NodeCredential identity;
  int64_t not_before_s = 0;  // Unix seconds
  int64_t not_after_s = 0;
  std::vector<std::string> hosts;  // DNS and IP subjectAltNames
};

// A fresh EC P-256 private key as unencrypted PKCS#8 PEM. kInternal if OpenSSL fails.
Result<std::string> NewPrivateKeyPem();

// A PKCS#10 request signed by `key_pem`, CN = node_id, asking for `hosts` (DNS names or
// IPv4/IPv6 literals) as subjectAltNames. kInvalidArgument for a bad key, node id or host.
Result<std::string> MakeCsrPem(std::string_view key_pem, std::string_view node_id,
                               const std::vector<std::string>& hosts);

// The node id (CN) and hosts a CSR asks for, after checking its self-signature.
// kInvalidArgument "csr: ..." if it is not a PEM request, the signature does not verify,
// or it names no CN.
struct CsrRequest {
  std::string node_id;
  std::vector<std::string> hosts;
};
Result<CsrRequest> ReadCsr(std::string_view csr_pem);

// Reads a node certificate's contents (no chain or time check: see VerifyNodeCert).
// kInvalidArgument "certificate: ..." if it is not PEM or carries no node URI.
Result<CertInfo> ReadNodeCert(std::string_view cert_pem);
Result<CertInfo> ReadNodeCert(X509* cert);

// The city certificate authority: the CA certificate and its private key.
class CertAuthority {
 public:
  // kInvalidArgument naming which input is bad, or if the key does not match the
  // certificate or the certificate is not a CA.
  static Result<CertAuthority> FromPem(std::string_view ca_cert_pem, std::string_view ca_key_pem);

  // Signs the CSR's public key into a node certificate for `who` (node_id, region, tier,
  // serial), valid from not_before_s to not_after_s, with the CSR's hosts.
  // kInvalidArgument if the CSR is bad or names another node than who.node_id.
  Result<std::string> Issue(std::string_view csr_pem, const NodeCredential& who, int64_t not_before_s,
                            int64_t not_after_s) const;

  const std::string& ca_pem() const { return ca_pem_; }

 private:
  std::string ca_pem_;
  std::shared_ptr<X509> ca_;
  std::shared_ptr<EVP_PKEY> key_;
};

// Checks that `cert_pem` was issued by the CA in `ca_pem` and is valid at `now_s`;
// returns what it says. kPermissionDenied "certificate ...: <OpenSSL's reason>" (expired,
// not yet valid, unknown issuer, bad signature), kInvalidArgument for unreadable input.
Result<CertInfo> VerifyNodeCert(std::string_view ca_pem, std::string_view cert_pem, int64_t now_s);

// Proof of possession for a renewal: an ECDSA/Ed25519 signature with the node's current
// key over `data`, and its check against the public key of `cert_pem`.
Result<std::string> SignWithKey(std::string_view key_pem, std::string_view data);
bool VerifyWithCert(std::string_view cert_pem, std::string_view data, std::string_view sig);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_PKI_H_
